"""Bad input is a 4xx with a {"detail": ...} body, never a 500 (DESIGN.md §3)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

LIKE = {"user_id": 5, "item_id": 1, "type": "like"}


def assert_error(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    body: dict[str, Any] = r.json()
    assert body.get("detail"), body
    return body


@pytest.mark.parametrize("user_id", ["0", "-1", "abc", str(2**64), "1.5", "1e3"])
def test_bad_user_id(client: TestClient, user_id: str) -> None:
    assert_error(client.get(f"/v1/recommendations/{user_id}"), 422)
    assert_error(client.put(f"/v1/users/{user_id}", json={"age": 30}), 422)


@pytest.mark.parametrize("item_id", ["0", "-1", "abc", str(2**64)])
def test_bad_item_id(client: TestClient, item_id: str) -> None:
    assert_error(client.get(f"/v1/items/{item_id}/similar"), 422)


@pytest.mark.parametrize("k", ["0", "101", "-5", "ten", ""])
def test_bad_k(client: TestClient, k: str) -> None:
    assert_error(client.get("/v1/recommendations/1", params={"k": k}), 422)
    assert_error(client.get("/v1/items/1/similar", params={"k": k}), 422)


def test_bad_exclude_seen(client: TestClient) -> None:
    assert_error(client.get("/v1/recommendations/1", params={"exclude_seen": "maybe"}), 422)


@pytest.mark.parametrize("user_id", [1, 900_002])
def test_unknown_genre_lists_valid_ones(client: TestClient, user_id: int) -> None:
    body = assert_error(client.get(f"/v1/recommendations/{user_id}", params={"genres": "Comedy,Telenovela"}), 422)
    assert "Telenovela" in str(body["detail"])
    for genre in ("Comedy", "Drama", "Sci-Fi", "Western"):
        assert genre in str(body["detail"]), "the 422 must list the valid genres"
    assert "Comedy" in body.get("valid_genres", [])


@pytest.mark.parametrize("raw", [b"{bad", b"", b"[", b'{"user_id": 5,', b"\xff\xfe", b"null", b"42", b'"like"'])
def test_malformed_event_body(client: TestClient, raw: bytes) -> None:
    assert_error(client.post("/v1/events", content=raw, headers={"Content-Type": "application/json"}), 422)


def test_batch_over_1000_is_413(client: TestClient) -> None:
    assert_error(client.post("/v1/events", json=[LIKE] * 1001), 413)
    ok = client.post("/v1/events", json=[LIKE] * 1000)
    assert ok.status_code == 202, ok.text
    assert ok.json()["accepted"] == 1000


@pytest.mark.parametrize(
    ("event", "why"),
    [
        ({**LIKE, "item_id": 999_999}, "unknown item"),
        ({"user_id": 5, "item_id": 1, "type": "rating"}, "rating without value"),
        ({**LIKE, "type": "love"}, "bad event type"),
        ({**LIKE, "mood": "happy"}, "extra field"),
        ({"item_id": 1, "type": "like"}, "missing user_id"),
        ({**LIKE, "user_id": 0}, "user_id 0"),
        ({**LIKE, "user_id": -1}, "negative user_id"),
        ({**LIKE, "user_id": "abc"}, "string user_id"),
        ({**LIKE, "user_id": 2**64}, "user_id over int64"),
        ({**LIKE, "item_id": 0}, "item_id 0"),
        ({**LIKE, "event_id": "not-a-uuid"}, "bad event_id"),
        ({**LIKE, "ts": "yesterday"}, "bad ts"),
        ({**LIKE, "ts": "1900-01-01T00:00:00Z"}, "ts before 1970"),
        ({**LIKE, "ts": "9999-12-31T23:59:59-14:00"}, "ts past datetime range in UTC"),
        ({**LIKE, "ts": "0001-01-01T00:00:00+01:00"}, "ts before datetime range in UTC"),
        ({**LIKE, "value": "high"}, "non-numeric value"),
        ([], "empty list"),
        ([LIKE, {**LIKE, "item_id": 999_999}], "one unknown item in a batch"),
        ([LIKE, {**LIKE, "type": "love"}], "one bad event in a batch"),
        ([LIKE, 7], "a number in a batch"),
    ],
)
def test_bad_event(client: TestClient, event: Any, why: str) -> None:
    assert_error(client.post("/v1/events", json=event), 422)


def test_rejected_batch_is_not_applied(client: TestClient) -> None:
    """A batch with one bad event is refused as a whole: the good one must not change the list."""
    user = 800_100
    before = client.get(f"/v1/recommendations/{user}").json()
    top = before["items"][0]["item_id"]
    assert_error(
        client.post("/v1/events", json=[{**LIKE, "user_id": user, "item_id": top}, {**LIKE, "item_id": 999_999}]), 422
    )
    after = client.get(f"/v1/recommendations/{user}").json()
    assert after["strategy"] == "popular"
    assert after["items"] == before["items"]


@pytest.mark.parametrize(
    "body", [{"age": 0}, {"age": 500}, {"age": "old"}, {"gender": "x" * 100}, {"shoe_size": 42}, [1, 2]]
)
def test_bad_demographics(client: TestClient, body: Any) -> None:
    assert_error(client.put("/v1/users/77", json=body), 422)


def test_bad_demographics_malformed_json(client: TestClient) -> None:
    assert_error(client.put("/v1/users/77", content=b"{nope", headers={"Content-Type": "application/json"}), 422)


def test_unknown_route_and_method(client: TestClient) -> None:
    assert_error(client.get("/v1/nope"), 404)
    assert_error(client.delete("/v1/recommendations/1"), 405)
