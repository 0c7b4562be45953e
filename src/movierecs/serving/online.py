"""Viewers' events since the model's training watermark, for instant fold-in.

Keyed by external ids so a reloaded model (new item map) reuses them; deduplicated by event_id so
the API's own write-through and the bus tail never count an event twice.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

import numpy as np
import pandas as pd

from movierecs.domain.weighting import Weighting, apply_weighting
from movierecs.events import Event


class OnlineState:
    """Per-viewer recent events; bounded in viewers (LRU) and in remembered event ids."""

    def __init__(self, max_users: int = 200_000, max_event_ids: int = 1_000_000) -> None:
        self._events: OrderedDict[int, dict[int, tuple[str, float | None, datetime]]] = OrderedDict()
        self._seen_ids: OrderedDict[str, None] = OrderedDict()
        self._max_users, self._max_ids = max_users, max_event_ids
        self.version = 0  # bumps on every applied change (one per new event_id)

    def apply(self, event: Event, watermark: datetime | None) -> bool:
        """Record an event; False if it was already applied or is older than the watermark."""
        key = str(event.event_id)
        if key in self._seen_ids or (watermark is not None and event.ts <= watermark):
            return False
        self._seen_ids[key] = None
        if len(self._seen_ids) > self._max_ids:
            self._seen_ids.popitem(last=False)
        if event.type.value == "impression":
            return False
        items = self._events.setdefault(event.user_id, {})
        previous = items.get(event.item_id)
        if previous is None or previous[2] <= event.ts:
            items[event.item_id] = (event.type.value, event.value, event.ts)
        self._events.move_to_end(event.user_id)
        if len(self._events) > self._max_users:
            self._events.popitem(last=False)
        self.version += 1
        return True

    def has(self, user_id: int) -> bool:
        return user_id in self._events

    def history(self, user_id: int, weighting: Weighting) -> tuple[np.ndarray, np.ndarray]:
        """(external item ids, weights) of the viewer's recent events under the model's weighting."""
        items = self._events.get(user_id)
        if not items:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        frame = pd.DataFrame(
            {
                "user_id": user_id,
                "item_id": list(items),
                "type": [v[0] for v in items.values()],
                "value": [np.nan if v[1] is None else v[1] for v in items.values()],
                "datetime": [v[2] for v in items.values()],
            }
        )
        weighted = apply_weighting(frame, weighting)
        return weighted["item_id"].to_numpy(np.int64), weighted["weight"].to_numpy(np.float32)

    def forget_before(self, watermark: datetime) -> None:
        """Drop events a newly loaded model was trained on."""
        for user_id in list(self._events):
            kept = {i: v for i, v in self._events[user_id].items() if v[2] > watermark}
            if kept:
                self._events[user_id] = kept
            else:
                del self._events[user_id]
        self.version += 1

    def __len__(self) -> int:
        return len(self._events)
