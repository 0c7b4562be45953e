"""The right to be forgotten (DELETE /v1/users/{id}), embedded: the in-process bus carries the
tombstone, the embedded sink and the API delete from chDB, the catalog row goes, and the viewer is
served as a new one. Over Kafka + ClickHouse and two replicas: tests/integration/test_kafka_pipeline.py."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from serving_helpers import WARM_USER, AppFactory, item_ids, recs

from movierecs.serving.runtime import Runtime

LIKED = 50


def _runtime(client: TestClient) -> Runtime:
    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    return runtime


def _stored(client: TestClient, user_id: int) -> int:
    store = _runtime(client).ports.store
    assert store is not None
    return len(store.user_events(user_id))


def _until(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_forgotten_warm_viewer_is_gone_everywhere_and_gets_cold_start(make_app: AppFactory) -> None:
    with TestClient(make_app(embedded_sink=True)) as client:
        assert recs(client, WARM_USER)["strategy"] == "ials"  # trained on: the model has their vector
        assert client.put(f"/v1/users/{WARM_USER}", json={"age": 30, "gender": "F", "occupation": "writer"}).is_success
        assert client.post("/v1/events", json={"user_id": WARM_USER, "item_id": LIKED, "type": "like"}).is_success
        _until(lambda: _stored(client, WARM_USER) == 1)
        assert recs(client, WARM_USER)["strategy"] == "ials_online"

        r = client.delete(f"/v1/users/{WARM_USER}")
        assert r.status_code == 202, r.text
        assert r.json() == {"user_id": WARM_USER, "forgotten": True}
        assert client.get(f"/v1/users/{WARM_USER}").status_code == 404  # demographics gone
        after = recs(client, WARM_USER)
        assert after["strategy"] == "popular"  # neither the trained vector nor training demographics
        assert item_ids(after) == item_ids(recs(client, 10**9))  # the same list as a brand-new viewer
        assert _stored(client, WARM_USER) == 0
        assert WARM_USER in _runtime(client).ports.store.forgotten_users().tolist()  # type: ignore[union-attr]

        # they may come back as a new viewer: new events count, the old ones stay gone
        client.post("/v1/events", json={"user_id": WARM_USER, "item_id": 172, "type": "like"})
        assert recs(client, WARM_USER)["strategy"] == "ials_online"

    with TestClient(make_app(embedded_sink=True)) as restarted:  # a restart remembers who was forgotten
        assert recs(restarted, WARM_USER)["strategy"] == "popular"
        assert restarted.get(f"/v1/users/{WARM_USER}").status_code == 404


def test_forget_is_refused_with_503_when_the_bus_is_down(client: TestClient) -> None:
    from movierecs.exceptions import BusUnavailableError

    async def down(_user_id: int) -> None:
        raise BusUnavailableError("down")

    _runtime(client).ports.bus.forget = down  # type: ignore[method-assign]
    r = client.delete(f"/v1/users/{WARM_USER}")
    assert r.status_code == 503
    assert r.headers["retry-after"] == "5"
    assert recs(client, WARM_USER)["strategy"] == "ials"  # nothing was done


def test_the_training_extract_leaves_forgotten_viewers_out(make_app: AppFactory, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with TestClient(make_app(embedded_sink=True)) as client:
        for user in (800_001, 800_002):
            client.post("/v1/events", json={"user_id": user, "item_id": LIKED, "type": "like"})
        _until(lambda: _stored(client, 800_001) == 1 and _stored(client, 800_002) == 1)
        assert client.delete("/v1/users/800001").status_code == 202
        store = _runtime(client).ports.store
        assert store is not None
        users = set(store.extract()["user_id"].tolist())
        assert 800_002 in users
        assert 800_001 not in users
