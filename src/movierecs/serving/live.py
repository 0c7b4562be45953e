"""The served models: the champion, an optional A/B challenger, and their atomic swap on reload.

A request reads one :class:`Live` (a bundle and what is derived from it) and finishes on it even
if a reload swaps the reference meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from movierecs.domain.ab import CHALLENGER, CHAMPION, arm_for
from movierecs.models.bundle import Bundle
from movierecs.serving.metrics import ApiMetrics


@dataclass(frozen=True)
class Live:
    """What one request reads: a bundle and its derived lookups, swapped as a unit."""

    bundle: Bundle
    version: str
    watermark: datetime | None

    @classmethod
    def of(cls, bundle: Bundle) -> Live:
        return cls(bundle, bundle.version, _watermark(bundle))


def _watermark(bundle: Bundle) -> datetime | None:
    if not bundle.watermark:
        return None
    ts = pd.Timestamp(bundle.watermark)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()


class LiveModels:
    """The champion (``live``) and the A/B challenger; each viewer's arm is stable (a salted hash).

    Parameters
    ----------
    bundle
        The champion.
    metrics
        Its ``movierecs_model_*`` series are set on start and on every reload.
    challenger, challenger_percent, ab_salt
        The challenger serves ``challenger_percent`` % of viewers (none when it is None).
    """

    def __init__(
        self,
        bundle: Bundle,
        metrics: ApiMetrics,
        challenger: Bundle | None = None,
        challenger_percent: float = 0.0,
        ab_salt: str = "movierecs",
    ) -> None:
        self.metrics = metrics
        self.live = Live.of(bundle)
        self.challenger = Live.of(challenger) if challenger is not None else None
        self.challenger_percent, self.ab_salt = challenger_percent, ab_salt
        self._lock = asyncio.Lock()
        metrics.set_model(self.live.version, bundle.meta)

    def for_viewer(self, user_id: int) -> tuple[Live, str]:
        """The model serving this viewer and its A/B arm."""
        if self.challenger is None:
            return self.live, CHAMPION
        arm = arm_for(user_id, self.challenger_percent, self.ab_salt)
        return (self.challenger, arm) if arm == CHALLENGER else (self.live, arm)

    @property
    def watermark(self) -> datetime | None:
        """Events after the oldest served model's watermark are kept for fold-in (None: keep all)."""
        marks = [live.watermark for live in (self.live, self.challenger) if live is not None]
        return None if any(m is None for m in marks) else min(m for m in marks if m is not None)

    async def reload(
        self,
        load: Callable[[], Bundle],
        load_challenger: Callable[[], Bundle | None] | None = None,
        on_swap: Callable[[], None] | None = None,
    ) -> tuple[str, str]:
        """Load bundles off the event loop (the loaders validate and raise), then swap.

        ``on_swap`` runs right after the swap, before any other request is served (it drops what
        was derived from the previous models). Returns (new version, previous version); a
        challenger loader returning None keeps the current challenger.
        """
        async with self._lock:
            bundle = await asyncio.to_thread(load)
            challenger = await asyncio.to_thread(load_challenger) if load_challenger else None
            previous = self.live.version
            self.live = Live.of(bundle)
            if challenger is not None:
                self.challenger = Live.of(challenger)
            if on_swap is not None:
                on_swap()
            self.metrics.set_model(self.live.version, bundle.meta)
            return self.live.version, previous
