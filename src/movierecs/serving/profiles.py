"""Viewers' demographics (age, gender, occupation), which pick a cold viewer's popularity segment.

Read from the catalog, else from the served model's training data; cached per viewer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Container
from typing import Any

from movierecs.ports import Catalog
from movierecs.serving.live import LiveModels

log = logging.getLogger(__name__)


class Profiles:
    """Demographics by viewer id, read through a cache.

    Parameters
    ----------
    catalog
        Where demographics are read and written; None: only the model's training data.
    models
        The champion's training demographics are the fallback.
    on_change
        Called with a viewer id whose demographics were set (drops what was cached for them).
    max_cached
        The cache is emptied when it holds more viewers than this.
    """

    def __init__(
        self,
        catalog: Catalog | None,
        models: LiveModels,
        on_change: Callable[[int], None] = lambda _user_id: None,
        max_cached: int = 100_000,
        forgotten: Container[int] = frozenset(),
    ) -> None:
        self.forgotten = forgotten  # no catalog read and no training fallback for these viewers
        self.catalog, self.models, self.on_change = catalog, models, on_change
        self._cached: dict[int, dict[str, Any] | None] = {}
        self._max_cached = max_cached

    async def get(self, user_id: int) -> dict[str, Any] | None:
        """The viewer's demographics, or None; a failed catalog read is logged and not cached."""
        if user_id in self._cached:
            return self._cached[user_id]
        if user_id in self.forgotten:
            return None
        profile = None
        if self.catalog is not None:
            try:
                profile = await self.catalog.get_user(user_id)
            except Exception:
                log.exception("catalog lookup failed for a viewer profile")
                return None
        if profile is None:
            profile = self.models.live.bundle.model.popular.profiles.get(user_id)
        if len(self._cached) > self._max_cached:
            self._cached.clear()
        self._cached[user_id] = dict(profile) if profile else None
        return self._cached[user_id]

    def forget(self, user_id: int) -> None:
        """Drop the cached demographics (the catalog row is deleted by the caller)."""
        self._cached.pop(user_id, None)

    async def put(self, user_id: int, profile: dict[str, Any]) -> None:
        """Write the viewer's demographics to the catalog (raises if it is unreachable) and the cache."""
        if self.catalog is not None:
            await self.catalog.put_user(user_id, profile.get("age"), profile.get("gender"), profile.get("occupation"))
        self._cached[user_id] = profile
        self.on_change(user_id)
