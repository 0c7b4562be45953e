"""Strategies, response shape, filters and similar titles (DESIGN.md §3, HTTP API v1)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from serving_helpers import COLD_USER, WARM_USER, item_ids, recs

ITEM_KEYS = {"item_id", "score", "title", "year", "genres", "reason"}


def assert_shape(body: dict[str, Any], user_id: int, k: int, catalog: set[int]) -> None:
    assert set(body) == {"user_id", "model_version", "strategy", "items"}
    assert body["user_id"] == user_id
    assert isinstance(body["model_version"], str)
    assert body["model_version"]
    assert len(body["items"]) == k
    for item in body["items"]:
        assert set(item) == ITEM_KEYS
        assert isinstance(item["item_id"], int)
        assert item["item_id"] in catalog
        assert isinstance(item["score"], float)
        assert isinstance(item["title"], str)
        assert item["title"]
        assert item["year"] is None or isinstance(item["year"], int)
        assert isinstance(item["genres"], list)
        assert all(isinstance(g, str) for g in item["genres"])
        assert isinstance(item["reason"], str)
        assert item["reason"]
    ids = item_ids(body)
    assert len(set(ids)) == len(ids), "duplicate items in one list"
    scores = [i["score"] for i in body["items"]]
    assert scores == sorted(scores, reverse=True), "items are not ranked by score"


def test_warm_viewer_gets_ials(client: TestClient, catalog_items: set[int]) -> None:
    body = recs(client, WARM_USER)
    assert body["strategy"] == "ials"
    assert_shape(body, WARM_USER, 10, catalog_items)


def test_unknown_viewer_gets_popular(client: TestClient, catalog_items: set[int]) -> None:
    body = recs(client, COLD_USER, k=7)
    assert body["strategy"] == "popular"
    assert_shape(body, COLD_USER, 7, catalog_items)


def test_demographics_give_segment_popularity(client: TestClient, catalog_items: set[int]) -> None:
    user = COLD_USER + 1
    assert recs(client, user)["strategy"] == "popular"
    r = client.put(f"/v1/users/{user}", json={"age": 24, "gender": "F", "occupation": "student"})
    assert r.status_code == 200, r.text
    assert r.json() == {"user_id": user, "age": 24, "gender": "F", "occupation": "student"}
    body = recs(client, user)
    assert body["strategy"] == "popular_segment"
    assert_shape(body, user, 10, catalog_items)
    got = client.get(f"/v1/users/{user}")
    assert got.status_code == 200
    assert got.json()["occupation"] == "student"


@pytest.mark.parametrize("k", [1, 3, 100])
def test_k_is_respected(client: TestClient, k: int) -> None:
    assert len(recs(client, WARM_USER, k=k)["items"]) == k
    assert len(recs(client, COLD_USER, k=k)["items"]) == k


def test_exclude_seen(client: TestClient, seen_items: dict[int, set[int]]) -> None:
    seen = seen_items[WARM_USER]
    excluded = item_ids(recs(client, WARM_USER, k=100))
    assert not seen & set(excluded), "exclude_seen=true returned items the viewer already rated"
    assert recs(client, WARM_USER, k=100, exclude_seen="true")["items"] == recs(client, WARM_USER, k=100)["items"]
    included = item_ids(recs(client, WARM_USER, k=100, exclude_seen="false"))
    assert seen & set(included), "exclude_seen=false never returned a training item of a heavy viewer"


@pytest.mark.parametrize("user_id", [WARM_USER, COLD_USER])
@pytest.mark.parametrize(
    ("genres", "wanted"),
    [("Comedy", {"Comedy"}), ("horror", {"Horror"}), ("Film-Noir,Western", {"Film-Noir", "Western"})],
)
def test_genre_filter(client: TestClient, user_id: int, genres: str, wanted: set[str]) -> None:
    body = recs(client, user_id, k=20, genres=genres)
    assert len(body["items"]) > 0
    for item in body["items"]:
        assert wanted & set(item["genres"]), f"{item} has none of {wanted}"


def test_similar_titles(client: TestClient, catalog_items: set[int]) -> None:
    r = client.get("/v1/items/50/similar", params={"k": 8})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["item_id"] == 50
    assert isinstance(body["model_version"], str)
    ids = [i["item_id"] for i in body["items"]]
    assert 0 < len(ids) <= 8
    assert 50 not in ids
    assert len(set(ids)) == len(ids)
    for item in body["items"]:
        assert set(item) == ITEM_KEYS
        assert item["item_id"] in catalog_items


def test_similar_unknown_item_is_404(client: TestClient) -> None:
    r = client.get("/v1/items/999999/similar")
    assert r.status_code == 404
    assert "detail" in r.json()


def test_warm_lists_are_personal(client: TestClient) -> None:
    """Two warm viewers with different tastes get different lists (the model is not a constant)."""
    assert item_ids(recs(client, WARM_USER)) != item_ids(recs(client, 2))
