"""What was shown to whom, and clicks on it: impressions and clicks per model version and A/B arm.

In process memory (one replica's view): a like, click or watch counts as a click when that replica
showed the item to the viewer in the last 24 hours.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from movierecs.events import Event
from movierecs.serving.metrics import ApiMetrics

CLICK_WINDOW = timedelta(hours=24)
CLICK_TYPES = frozenset({"like", "click", "watch"})


class ServedTracker:
    """Counts served lists (per strategy), impressions and the clicks they earned.

    Parameters
    ----------
    metrics
        ``movierecs_recommendations``, ``movierecs_impressions`` and ``movierecs_clicks`` go here.
    max_viewers
        Viewers whose shown items are remembered (least recently served forgotten first).
    max_items
        Titles remembered per viewer (the longest ago shown forgotten first).
    clock
        The time an impression is recorded at.
    """

    def __init__(
        self,
        metrics: ApiMetrics,
        max_viewers: int = 100_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        max_items: int = 200,
    ) -> None:
        self._max_items = max_items
        self.metrics = metrics
        self.strategy_counts: Counter[str] = Counter()
        self._shown: OrderedDict[int, dict[int, tuple[str, str, datetime]]] = OrderedDict()
        self._max_viewers = max_viewers
        self._clock = clock

    def served(self, user_id: int, strategy: str, item_ids: np.ndarray, version: str, arm: str) -> None:
        """A list was sent to the viewer (computed or from the cache)."""
        self.strategy_counts[strategy] += 1
        self.metrics.recommendations.labels(strategy, version).inc()
        now = self._clock()
        shown = self._shown.setdefault(user_id, {})
        for item in item_ids.tolist():
            shown.pop(item, None)  # re-inserted: the dict stays ordered by when each title was shown
            shown[item] = (version, arm, now)
        while len(shown) > self._max_items:
            del shown[next(iter(shown))]
        self._shown.move_to_end(user_id)
        if len(self._shown) > self._max_viewers:
            self._shown.popitem(last=False)
        self.metrics.impressions.labels(version, arm).inc(len(item_ids))

    def forget(self, user_id: int) -> None:
        """Drop what was shown to a viewer (they asked to be forgotten)."""
        self._shown.pop(user_id, None)

    def interacted(self, event: Event) -> None:
        """Count a click for the version and arm that showed the item (once per impression)."""
        if event.type.value not in CLICK_TYPES:
            return
        shown = self._shown.get(event.user_id, {}).pop(event.item_id, None)
        if shown and event.ts - shown[2] <= CLICK_WINDOW:
            self.metrics.clicks.labels(shown[0], shown[1]).inc()
