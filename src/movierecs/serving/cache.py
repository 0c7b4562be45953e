"""Rendered recommendation lists per viewer, so a repeated request costs a dictionary lookup.

An entry is dropped on the viewer's next event or demographics change, everything on reload; an
entry also remembers the model it was computed with and never answers for another.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from movierecs.serving.live import Live

CacheKey = tuple[Any, ...]


@dataclass(frozen=True)
class CachedList:
    live: Live
    body: bytes
    strategy: str
    item_ids: np.ndarray


class ResponseCache:
    """Per-viewer rendered bodies: at most ``max_users`` viewers (least recently written dropped) and
    ``per_user`` lists each (parameter combinations; the oldest dropped)."""

    def __init__(self, max_users: int = 50_000, per_user: int = 8) -> None:
        self._entries: OrderedDict[int, dict[CacheKey, CachedList]] = OrderedDict()
        self.max_users, self.per_user = max_users, per_user

    def get(self, user_id: int, key: CacheKey, live: Live) -> CachedList | None:
        """The viewer's entry for ``key`` if it was computed with ``live``."""
        entry = self._entries.get(user_id, {}).get(key)
        return entry if entry is not None and entry.live is live else None

    def put(self, user_id: int, key: CacheKey, entry: CachedList) -> None:
        if not self.max_users:
            return
        lists = self._entries.setdefault(user_id, {})
        lists.pop(key, None)
        lists[key] = entry
        if len(lists) > self.per_user:
            del lists[next(iter(lists))]
        self._entries.move_to_end(user_id)
        if len(self._entries) > self.max_users:
            self._entries.popitem(last=False)

    def forget(self, user_id: int) -> None:
        """Drop a viewer's entries (they sent an event, or their demographics changed)."""
        self._entries.pop(user_id, None)

    def clear(self) -> None:
        self._entries.clear()

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._entries

    def __len__(self) -> int:
        return len(self._entries)
