"""A like is never lost by eviction or restart: what memory lacks is read back from the interaction
store (embedded mode: the in-process bus, the embedded sink and chDB, all real). The same over Kafka
and ClickHouse across two replicas is in tests/integration/test_kafka_pipeline.py."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serving_helpers import WARM_USER, AppFactory, item_ids, recs

from movierecs.serving.runtime import Runtime

NEW_VIEWER = 700_001
LIKED = 50  # Star Wars: a title everybody knows, with factors


def _like(client: TestClient, user_id: int, item_id: int = LIKED) -> None:
    r = client.post("/v1/events", json={"user_id": user_id, "item_id": item_id, "type": "like"})
    assert r.status_code == 202, r.text


def _runtime(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def _wait_stored(client: TestClient, n: int, timeout: float = 20.0) -> None:
    """Until the embedded sink has written ``n`` events to chDB (it batches for up to 0.2 s)."""
    sink = _runtime(client).ports.sink
    assert sink is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sink.metrics.events._value.get() >= n:  # type: ignore[attr-defined]
            return
        time.sleep(0.05)
    raise AssertionError(f"the embedded sink did not store {n} events in {timeout}s")


def _reads(client: TestClient, result: str = "ok") -> float:
    value: float = _runtime(client).metrics.store_reads.labels(result)._value.get()
    return value


def test_a_like_survives_an_api_restart(make_app: AppFactory) -> None:
    with TestClient(make_app(embedded_sink=True)) as first:
        assert recs(first, NEW_VIEWER)["strategy"] == "popular"
        _like(first, NEW_VIEWER)
        liked = recs(first, NEW_VIEWER)
        assert liked["strategy"] == "ials_online"
        _wait_stored(first, 1)
    # a new process on the same home: the in-process bus starts empty, the like is only in chDB
    with TestClient(make_app(embedded_sink=True)) as second:
        assert NEW_VIEWER in _runtime(second).feed.online.stored  # read at start-up
        again = recs(second, NEW_VIEWER)
        assert again["strategy"] == "ials_online"
        assert item_ids(again) == item_ids(liked)
        assert _reads(second) == 1
        recs(second, NEW_VIEWER)
        assert _reads(second) == 1  # read once, then held in memory


def test_an_evicted_viewers_likes_are_read_back(make_app: AppFactory) -> None:
    with TestClient(make_app(embedded_sink=True, online_max_viewers=2)) as client:
        _like(client, NEW_VIEWER)
        liked = item_ids(recs(client, NEW_VIEWER))
        for other in (NEW_VIEWER + 1, NEW_VIEWER + 2):  # two more viewers push the first out of memory
            _like(client, other, 172)
        online = _runtime(client).feed.online
        assert not online.has(NEW_VIEWER)
        assert online.evicted == 1
        _wait_stored(client, 3)
        back = recs(client, NEW_VIEWER)
        assert back["strategy"] == "ials_online"
        assert item_ids(back) == liked
        assert _reads(client) == 1
        metrics = client.get("/metrics").text
        assert "movierecs_online_evictions_total 2.0" in metrics  # the third like evicted the second viewer


def test_without_store_reads_an_evicted_viewer_falls_back_to_the_model(make_app: AppFactory) -> None:
    """The behaviour the store reads fix, kept as a setting: memory alone forgets evicted viewers."""
    with TestClient(make_app(embedded_sink=True, online_max_viewers=1, viewer_store_reads=False)) as client:
        _like(client, NEW_VIEWER)
        _like(client, NEW_VIEWER + 1, 172)
        assert recs(client, NEW_VIEWER)["strategy"] == "popular"


def test_a_viewer_with_nothing_stored_costs_no_store_read(make_app: AppFactory) -> None:
    with TestClient(make_app(embedded_sink=True)) as client:
        for user in (WARM_USER, NEW_VIEWER, NEW_VIEWER + 5):
            recs(client, user)
        assert _reads(client) == 0


def test_an_unreachable_store_serves_from_memory(make_app: AppFactory) -> None:
    bad = "clickhouse://127.0.0.1:9/none"  # nothing listens on the discard port
    with TestClient(make_app(interactions_url=bad, store_read_timeout_ms=200)) as client:
        assert _runtime(client).feed.online.stored.everyone  # the index could not be read
        body = recs(client, NEW_VIEWER)
        assert body["strategy"] == "popular"
        assert _reads(client, "error") + _reads(client, "timeout") == 1
        recs(client, NEW_VIEWER + 1)  # within the cool-down: no second attempt
        assert _reads(client, "error") + _reads(client, "timeout") == 1
        _like(client, NEW_VIEWER)
        assert recs(client, NEW_VIEWER)["strategy"] == "ials_online"


@pytest.mark.parametrize("window_s", [0.0, 600.0])
def test_the_tail_starts_shortly_before_start_up_not_at_the_watermark(make_app: AppFactory, window_s: float) -> None:
    with TestClient(make_app(tail_window_s=window_s)) as client:
        runtime = _runtime(client)
        now = datetime(2030, 1, 1, tzinfo=UTC)
        assert runtime.tail_start(now) == now - timedelta(seconds=window_s)
        watermark = runtime.models.watermark
        assert watermark is not None
        assert runtime.tail_start(watermark) == watermark  # never before the watermark


def test_without_a_store_the_tail_replays_from_the_watermark(make_app: AppFactory) -> None:
    with TestClient(make_app(viewer_store_reads=False)) as client:
        runtime = _runtime(client)
        assert runtime.tail_start(datetime(2030, 1, 1, tzinfo=UTC)) == runtime.models.watermark


def test_genre_filters_in_any_order_or_case_share_one_cache_entry(client: TestClient) -> None:
    first = recs(client, WARM_USER, genres="Drama,comedy")
    second = recs(client, WARM_USER, genres=" Comedy,drama,DRAMA")
    assert item_ids(first) == item_ids(second)
    metrics: Any = _runtime(client).metrics
    assert metrics.response_cache.labels("hit")._value.get() == 1
    assert metrics.response_cache.labels("miss")._value.get() == 1
