"""Instant feedback: events fold into the viewer's next list (DESIGN.md §3 POST /v1/events)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from serving_helpers import WARM_USER, item_ids, recs

from movierecs.exceptions import BusUnavailableError

NEW_VIEWER = 800_001


def post(client: TestClient, payload: Any) -> dict[str, Any]:
    r = client.post("/v1/events", json=payload)
    assert r.status_code == 202, r.text
    body: dict[str, Any] = r.json()
    return body


def test_new_viewer_like_gives_online_list(client: TestClient) -> None:
    popular = recs(client, NEW_VIEWER, k=20)
    assert popular["strategy"] == "popular"
    liked = 172  # The Empire Strikes Back: popular, so it is in the popular list
    assert liked in item_ids(popular)
    body = post(client, {"user_id": NEW_VIEWER, "item_id": liked, "type": "like"})
    assert body["accepted"] == 1
    after = recs(client, NEW_VIEWER, k=20)
    assert after["strategy"] == "ials_online"
    assert liked not in item_ids(after)
    assert item_ids(after) != [i for i in item_ids(popular) if i != liked][:20]
    assert set(item_ids(after)) != set(item_ids(popular))


def test_warm_viewer_like_removes_top_item(client: TestClient) -> None:
    before = item_ids(recs(client, WARM_USER, k=10))
    top = before[0]
    started = time.perf_counter()
    post(client, {"user_id": WARM_USER, "item_id": top, "type": "like"})
    after_body = recs(client, WARM_USER, k=10)
    assert time.perf_counter() - started < 1.0, "like -> changed list took over 1 s"
    after = item_ids(after_body)
    assert after_body["strategy"] == "ials_online"
    assert top not in after
    assert after != before
    assert len(after) == 10


def test_rating_of_four_counts_as_positive(client: TestClient) -> None:
    before = item_ids(recs(client, NEW_VIEWER + 1))
    post(client, {"user_id": NEW_VIEWER + 1, "item_id": before[0], "type": "rating", "value": 4.5})
    after = recs(client, NEW_VIEWER + 1)
    assert after["strategy"] == "ials_online"
    assert before[0] not in item_ids(after)


def test_batch_of_events(client: TestClient) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    batch = [
        {"event_id": ids[0], "user_id": NEW_VIEWER + 2, "item_id": 1, "type": "like"},
        {"event_id": ids[1], "user_id": NEW_VIEWER + 2, "item_id": 50, "type": "watch"},
        {"user_id": NEW_VIEWER + 3, "item_id": 181, "type": "rating", "value": 5, "ts": "2024-01-01T00:00:00Z"},
    ]
    body = post(client, batch)
    assert body["accepted"] == 3
    assert len(body["event_ids"]) == 3
    assert body["event_ids"][:2] == ids[:2]
    uuid.UUID(body["event_ids"][2])  # assigned by the API when absent
    after = recs(client, NEW_VIEWER + 2, k=50)
    assert after["strategy"] == "ials_online"
    assert not {1, 50} & set(item_ids(after))


def test_single_event_gets_an_id(client: TestClient) -> None:
    body = post(client, {"user_id": NEW_VIEWER + 4, "item_id": 1, "type": "click"})
    assert body["accepted"] == 1
    assert len(body["event_ids"]) == 1
    uuid.UUID(body["event_ids"][0])


def _history(app: FastAPI, user_id: int) -> list[int]:
    feed = app.state.runtime.feed
    items, _weights = feed.online.history(user_id, feed.models.live.bundle.model.config.weighting)
    return sorted(items.tolist())


def test_duplicate_event_id_applied_once(app: FastAPI) -> None:
    user = NEW_VIEWER + 5
    event_id = str(uuid.uuid4())
    with TestClient(app) as client:
        online = app.state.runtime.feed.online
        start = online.version
        first = post(client, {"event_id": event_id, "user_id": user, "item_id": 1, "type": "like"})
        assert first["event_ids"] == [event_id]
        time.sleep(0.3)  # let the bus tail see it too: it must not apply it a second time
        assert online.version == start + 1
        # A retry under the same id, even with another payload, is the same event: not applied again.
        again = post(client, {"event_id": event_id, "user_id": user, "item_id": 50, "type": "like"})
        assert again["event_ids"] == [event_id]
        time.sleep(0.3)
        assert online.version == start + 1
        assert _history(app, user) == [1]
        assert 50 in item_ids(recs(client, user, k=100))
        post(client, {"user_id": user, "item_id": 50, "type": "like"})
        assert _history(app, user) == [1, 50]


def test_bus_unavailable_is_503_with_retry_after(app: FastAPI) -> None:
    """Nothing is accepted (nor folded in) when the bus does not acknowledge: 503 + Retry-After."""
    user = NEW_VIEWER + 6
    with TestClient(app) as client:
        before = recs(client, user)
        bus = app.state.runtime.bus

        async def refuse(_events: object) -> None:
            raise BusUnavailableError("broker down")

        original = bus.publish
        bus.publish = refuse
        try:
            r = client.post(
                "/v1/events", json={"user_id": user, "item_id": before["items"][0]["item_id"], "type": "like"}
            )
        finally:
            bus.publish = original
        assert r.status_code == 503, r.text
        assert int(r.headers["Retry-After"]) > 0
        assert r.json()["detail"]
        after = recs(client, user)
        assert after["strategy"] == "popular"
        assert after["items"] == before["items"]


def test_demographics_unknown_viewer_is_404(client: TestClient) -> None:
    r = client.get("/v1/users/900009")
    assert r.status_code == 404
    assert r.json()["detail"]
