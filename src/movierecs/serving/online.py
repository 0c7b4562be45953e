"""Viewers' events since the model's training watermark, for instant fold-in.

Keyed by external ids so a reloaded model (new item map) reuses them; deduplicated by event_id so
the API's own write-through and the bus tail never count an event twice.

Memory is bounded: at most ``max_users`` viewers are held (least recently changed dropped first),
``max_events_per_user`` titles each (the oldest dropped) and ``max_event_ids`` remembered ids. A
viewer who is not held, or held only with what the tail brought, may have more events in the
interaction store: :class:`StoredViewers` lists who (the viewers active since the watermark when the
replica started, plus every viewer dropped from memory since), at 8 bytes a viewer, and
:meth:`OnlineState.needs_store` tells the caller to read that viewer's events from the store and
:meth:`OnlineState.merge_stored` them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from movierecs.domain.weighting import Weighting, apply_weighting
from movierecs.events import Event

#: (type, value, ts) of a viewer's latest event on one title.
Entry = tuple[str, float | None, datetime]


class StoredViewers:
    """A set of viewer ids at 8 bytes each: a sorted array plus a small set of recent additions.

    Examples
    --------
    >>> ids = StoredViewers(merge_every=2)
    >>> ids.replace([5, 3, 5])
    >>> ids.add(9); ids.add(1); ids.add(7)
    >>> [i in ids for i in (1, 3, 4, 5, 7, 9)], len(ids)
    ([True, True, False, True, True, True], 5)
    """

    def __init__(self, merge_every: int = 65_536) -> None:
        self._sorted = np.empty(0, dtype=np.int64)
        self._recent: set[int] = set()
        self._merge_every = merge_every
        self.everyone = False  # True while the list is unknown: every viewer may have stored events

    def replace(self, user_ids: Iterable[int]) -> None:
        """Set the list (ids added meanwhile are kept: they were dropped from memory, so they count)."""
        self._sorted = np.union1d(np.fromiter(user_ids, dtype=np.int64), np.fromiter(self._recent, dtype=np.int64))
        self._recent.clear()

    def add(self, user_id: int) -> None:
        self._recent.add(user_id)
        if len(self._recent) >= self._merge_every:
            self._sorted = np.union1d(self._sorted, np.fromiter(self._recent, dtype=np.int64, count=len(self._recent)))
            self._recent.clear()

    def __contains__(self, user_id: object) -> bool:
        if self.everyone or user_id in self._recent:
            return True
        if not isinstance(user_id, int | np.integer):
            return False
        i = int(np.searchsorted(self._sorted, user_id))
        return i < len(self._sorted) and int(self._sorted[i]) == user_id

    def __len__(self) -> int:
        return len(np.union1d(self._sorted, np.fromiter(self._recent, dtype=np.int64, count=len(self._recent))))


@dataclass
class _Viewer:
    items: dict[int, Entry] = field(default_factory=dict)
    complete: bool = True  # False: the store may hold events that are not in ``items``


class OnlineState:
    """Per-viewer recent events; bounded in viewers (LRU), titles per viewer and remembered ids."""

    def __init__(self, max_users: int = 200_000, max_event_ids: int = 200_000, max_events_per_user: int = 500) -> None:
        self._viewers: OrderedDict[int, _Viewer] = OrderedDict()
        # ids of recently applied events: a duplicate (the API's own write-through, then the bus tail)
        # arrives within seconds, so a window of recent ids is enough
        self._seen_ids: OrderedDict[int, None] = OrderedDict()
        self._max_users, self._max_ids, self._max_items = max_users, max_event_ids, max_events_per_user
        self.stored = StoredViewers()
        self.evicted = 0
        self.on_evict: Callable[[int], None] = lambda _user_id: None
        self.version = 0  # bumps on every applied change (one per new event_id)

    # ---- changes -------------------------------------------------------------------------------
    def apply(self, event: Event, watermark: datetime | None) -> bool:
        """Record an event; False if it was already applied or is older than the watermark."""
        key = event.event_id.int  # an int, not a 36-character string: a third of the memory
        if key in self._seen_ids or (watermark is not None and event.ts <= watermark):
            return False
        self._seen_ids[key] = None
        if len(self._seen_ids) > self._max_ids:
            self._seen_ids.popitem(last=False)
        if event.type.value == "impression":
            return False
        viewer = self._viewers.get(event.user_id)
        if viewer is None:
            viewer = self._viewers[event.user_id] = _Viewer(complete=event.user_id not in self.stored)
        self._put(viewer, event.item_id, (event.type.value, event.value, event.ts))
        self._touch(event.user_id)
        self.version += 1
        return True

    def needs_store(self, user_id: int) -> bool:
        """True when the interaction store may hold events of this viewer that are not in memory."""
        viewer = self._viewers.get(user_id)
        if viewer is not None and viewer.complete:
            return False
        return user_id in self.stored

    def merge_stored(self, user_id: int, frame: pd.DataFrame, watermark: datetime | None) -> bool:
        """Merge the viewer's events read from the store (``InteractionStore.user_events`` frame);
        the viewer is complete afterwards. True when anything changed."""
        viewer = self._viewers.get(user_id)
        created = viewer is None
        if viewer is None:
            viewer = _Viewer()
        changed = False
        mark = pd.Timestamp(watermark).tz_convert(None) if watermark is not None else None
        for item, kind, value, ts in zip(
            frame["item_id"].tolist(), frame["type"].tolist(), frame["value"].tolist(), frame["ts"], strict=True
        ):
            if kind == "impression" or (mark is not None and ts <= mark):
                continue
            when = ts.tz_localize("UTC").to_pydatetime()
            value = None if value != value else float(value)  # NaN: an event without a value
            changed |= self._put(viewer, int(item), (str(kind), value, when))
        viewer.complete = True
        if created:  # held even when empty: "read, nothing there" is not read again until evicted
            self._viewers[user_id] = viewer
        if created or changed:
            self._touch(user_id)
            self.version += 1
        return changed

    def forget(self, user_id: int) -> bool:
        """Drop everything held about a viewer (they asked to be forgotten); True if anything was."""
        self.version += 1
        return self._viewers.pop(user_id, None) is not None

    def forget_before(self, watermark: datetime) -> None:
        """Drop events a newly loaded model was trained on."""
        for user_id in list(self._viewers):
            viewer = self._viewers[user_id]
            viewer.items = {i: v for i, v in viewer.items.items() if v[2] > watermark}
            if not viewer.items:
                del self._viewers[user_id]
        self.version += 1

    # ---- reads ---------------------------------------------------------------------------------
    def has(self, user_id: int) -> bool:
        """True when the viewer has events since the watermark in memory."""
        viewer = self._viewers.get(user_id)
        return viewer is not None and bool(viewer.items)

    def history(self, user_id: int, weighting: Weighting) -> tuple[np.ndarray, np.ndarray]:
        """(external item ids, weights) of the viewer's recent events under the model's weighting."""
        viewer = self._viewers.get(user_id)
        if viewer is None or not viewer.items:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        items = viewer.items
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

    def __len__(self) -> int:
        """Viewers held (including those read from the store with nothing since the watermark)."""
        return len(self._viewers)

    # ---- bounds --------------------------------------------------------------------------------
    def _put(self, viewer: _Viewer, item: int, entry: Entry) -> bool:
        """The latest event per title wins; at most ``max_events_per_user`` titles (oldest dropped)."""
        previous = viewer.items.get(item)
        if previous is not None and (previous[2] > entry[2] or previous == entry):
            return False
        viewer.items[item] = entry
        if len(viewer.items) > self._max_items:
            oldest = min(viewer.items, key=lambda i: viewer.items[i][2])
            del viewer.items[oldest]
        return True

    def _touch(self, user_id: int) -> None:
        self._viewers.move_to_end(user_id)
        while len(self._viewers) > self._max_users:
            evicted, _ = self._viewers.popitem(last=False)
            self.stored.add(evicted)  # their events are in the store: read them back when they return
            self.evicted += 1
            self.on_evict(evicted)
