"""Every per-viewer structure of the API has a cap: online events, folded-in routes, rendered lists,
shown titles, demographics. Driven with far more viewers than the caps (the RSS of one process at
1M viewers and 1M events is measured by bench/, not asserted here)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from movierecs.domain.weighting import Weighting
from movierecs.events import Event, EventType
from movierecs.models.bundle import Bundle
from movierecs.serving.cache import CachedList, ResponseCache
from movierecs.serving.feed import Feed
from movierecs.serving.live import LiveModels
from movierecs.serving.metrics import ApiMetrics
from movierecs.serving.online import OnlineState, StoredViewers
from movierecs.serving.titles import Titles
from movierecs.serving.tracking import ServedTracker

WATERMARK = datetime(1998, 4, 23, tzinfo=UTC)
TS = WATERMARK + timedelta(days=1)


def _event(user: int, item: int, minutes: int = 0, kind: EventType = EventType.like) -> Event:
    return Event(user_id=user, item_id=item, type=kind, ts=TS + timedelta(minutes=minutes))


def test_online_state_holds_at_most_max_users_and_remembers_whom_it_dropped() -> None:
    online = OnlineState(max_users=100)
    evicted: list[int] = []
    online.on_evict = evicted.append
    for user in range(1, 1001):
        assert online.apply(_event(user, 50), WATERMARK)
    assert len(online) == 100
    assert online.evicted == 900
    assert evicted[:3] == [1, 2, 3]  # least recently changed first
    assert all(u in online.stored for u in (1, 500, 900))
    assert 1000 not in online.stored  # still held: nothing to read back
    assert online.needs_store(1)
    assert not online.needs_store(1000)
    assert not online.needs_store(5000)  # never seen: nothing stored either


def test_titles_per_viewer_are_capped_oldest_first() -> None:
    online = OnlineState(max_events_per_user=10)
    for item in range(1, 31):
        online.apply(_event(7, item, minutes=item), WATERMARK)
    items, _ = online.history(7, Weighting())
    assert sorted(items.tolist()) == list(range(21, 31))


def test_remembered_event_ids_are_capped() -> None:
    online = OnlineState(max_event_ids=50)
    events = [_event(1, i) for i in range(1, 201)]
    for e in events:
        online.apply(e, WATERMARK)
    assert len(online._seen_ids) == 50
    assert not online.apply(events[-1], WATERMARK)  # a recent duplicate is still recognised


def _stored_frame(rows: list[tuple[int, str, float, datetime]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(len(rows))],
            "user_id": 7,
            "item_id": [r[0] for r in rows],
            "type": [r[1] for r in rows],
            "value": np.array([r[2] for r in rows], dtype=np.float32),
            "ts": pd.to_datetime([r[3].replace(tzinfo=None) for r in rows]),
        }
    )


def test_merging_stored_events_completes_a_viewer_and_keeps_the_latest_per_title() -> None:
    online = OnlineState()
    online.stored.replace([7])
    online.apply(_event(7, 10, minutes=30, kind=EventType.dislike), WATERMARK)  # from the tail
    assert online.needs_store(7)  # the tail brought something, the store may hold more
    frame = _stored_frame(
        [
            (10, "like", float("nan"), TS),  # older than the tail's dislike: loses
            (11, "rating", 4.0, TS),
            (12, "impression", float("nan"), TS),  # no preference: skipped
            (13, "like", float("nan"), WATERMARK - timedelta(days=1)),  # before the watermark: skipped
        ]
    )
    assert online.merge_stored(7, frame, WATERMARK)
    assert not online.needs_store(7)
    items, weights = online.history(7, Weighting(scheme="rating"))
    by_item = dict(zip(items.tolist(), weights.tolist(), strict=True))
    assert set(by_item) == {10, 11}
    assert by_item[10] < 0  # the dislike won
    assert by_item[11] == 4.0
    assert not online.merge_stored(7, frame, WATERMARK)  # merging again changes nothing


def test_a_viewer_read_with_nothing_stored_is_not_read_again() -> None:
    online = OnlineState()
    online.stored.everyone = True  # the index is unknown: every viewer may have events
    assert online.needs_store(42)
    assert not online.merge_stored(42, _stored_frame([]), WATERMARK)
    assert not online.needs_store(42)
    assert not online.has(42)


def test_stored_viewers_merge_recent_additions_into_the_sorted_array() -> None:
    ids = StoredViewers(merge_every=100)
    ids.replace(range(0, 1000, 2))
    for user in range(1, 1001, 2):
        ids.add(user)
    assert len(ids._recent) < 100  # merged along the way
    assert len(ids) == 1000
    assert all(u in ids for u in range(1000))
    assert 1001 not in ids
    ids.add(5000)
    ids.replace([1])  # a new list keeps the viewers dropped from memory meanwhile
    assert 5000 in ids


def test_response_cache_caps_viewers_and_lists_per_viewer(bundle: Bundle) -> None:
    models = LiveModels(bundle, ApiMetrics())
    cache = ResponseCache(max_users=10, per_user=3)
    entry = CachedList(models.live, b"{}", "ials", np.empty(0, dtype=np.int64))
    for user in range(100):
        for k in range(1, 6):
            cache.put(user, (k,), entry)
    assert len(cache) == 10
    assert cache.get(99, (5,), models.live) is entry
    assert cache.get(99, (1,), models.live) is None  # the oldest parameter combination was dropped
    assert sum(len(v) for v in cache._entries.values()) == 30


def test_shown_titles_are_capped_per_viewer_and_in_viewers() -> None:
    tracker = ServedTracker(ApiMetrics(), max_viewers=5, max_items=20)
    for user in range(50):
        for start in range(0, 100, 10):
            tracker.served(user, "ials", np.arange(start, start + 10), "1", "champion")
    assert len(tracker._shown) == 5
    assert all(len(shown) == 20 for shown in tracker._shown.values())
    assert sorted(tracker._shown[49]) == list(range(80, 100))  # the latest shown kept


@pytest.mark.parametrize("max_routes", [0, 25])
def test_folded_in_routes_are_capped(bundle: Bundle, max_routes: int) -> None:
    metrics = ApiMetrics()
    feed = Feed(LiveModels(bundle, metrics), Titles(bundle), metrics, max_routes=max_routes)
    for user in range(800_000, 800_200):
        feed.apply_event(_event(user, 50))
        feed.recommendations_json(feed.plan(user), 10, (), True, None)
    assert len(feed._routes) == max_routes
    assert len(feed.cache) == 200  # under the cache's own cap (50,000)
