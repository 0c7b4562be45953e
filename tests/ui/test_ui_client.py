"""The UI's API client and launcher, without servers (httpx.MockTransport)."""

from __future__ import annotations

import json
import sys

import httpx
import pytest

from movierecs.ui.client import (
    ApiClient,
    ApiResponseError,
    ApiTimeoutError,
    ApiUnavailableError,
    Item,
    ModelInfo,
)
from movierecs.ui.launch import APP_PATH, ui_command


def client_for(handler: object) -> ApiClient:
    return ApiClient("http://api.test/", transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


def test_recommendations_parsed_and_query_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={
            "user_id": 5, "model_version": "3", "strategy": "ials",
            "items": [{"item_id": 50, "score": 0.9, "title": "Star Wars (1977)", "year": 1977,
                       "genres": ["Sci-Fi"], "reason": "because you liked Alien (1979)"}],
        })  # fmt: skip

    recs = client_for(handler).recommendations(5, k=3, genres=["Comedy", "Drama"], exclude_seen=False)
    assert recs.strategy == "ials"
    assert recs.model_version == "3"
    assert recs.items[0].item_id == 50
    assert recs.items[0].label == "Star Wars (1977)"  # year not repeated
    assert seen[0].url.path == "/v1/recommendations/5"
    assert dict(seen[0].url.params) == {"k": "3", "exclude_seen": "false", "genres": "Comedy,Drama"}


def test_event_and_user_payloads() -> None:
    bodies: list[tuple[str, str, dict[str, object]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append((request.method, request.url.path, json.loads(request.content)))
        if request.method == "POST":
            return httpx.Response(202, json={"accepted": 1, "event_ids": ["e1"]})
        return httpx.Response(200, json={"user_id": 7, "age": 30})

    api = client_for(handler)
    assert api.send_event(7, 50, "like") == ["e1"]
    api.put_user(7, 30, "F", "writer")
    assert bodies[0] == ("POST", "/v1/events", {"user_id": 7, "item_id": 50, "type": "like"})
    assert bodies[1] == ("PUT", "/v1/users/7", {"age": 30, "gender": "F", "occupation": "writer"})


def test_error_status_becomes_response_error_with_detail() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"detail": "unknown item_id(s): 99999"})

    with pytest.raises(ApiResponseError, match=r"422.*unknown item_id") as info:
        client_for(handler).send_event(1, 99999, "like")
    assert info.value.status_code == 422


def test_validation_error_list_is_readable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json={"detail": [{"loc": ["query", "k"], "msg": "too big"}]})

    with pytest.raises(ApiResponseError, match=r"query\.k: too big"):
        client_for(handler).recommendations(1, k=1000)


def test_connection_refused_and_timeout_are_named() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(ApiUnavailableError, match=r"Cannot reach the API at http://api\.test"):
        client_for(refused).genres()
    with pytest.raises(ApiTimeoutError, match="did not answer within 2 s"):
        client_for(slow).model_info()


def test_non_json_body_is_a_response_error() -> None:
    with pytest.raises(ApiResponseError, match="not JSON"):
        client_for(lambda r: httpx.Response(200, text="<html>")).genres()


def test_search_similar_and_stats() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/items":
            return httpx.Response(200, json={"items": [{"item_id": 1, "title": "Toy Story", "year": 1995,
                                                        "genres": ["Animation"]}]})  # fmt: skip
        if request.url.path == "/v1/items/1/similar":
            return httpx.Response(200, json={"item_id": 1, "model_version": "2", "items": [
                {"item_id": 2, "score": 0.5, "title": "GoldenEye (1995)", "year": 1995, "genres": [],
                 "reason": "similar to Toy Story"}]})  # fmt: skip
        return httpx.Response(200, json={"counts": {"ials": 3, "popular": 1}})

    api = client_for(handler)
    assert api.search_items("toy") == [Item(1, "Toy Story", 1995, ("Animation",))]
    assert api.search_items("toy")[0].label == "Toy Story (1995)"
    assert [i.item_id for i in api.similar(1).items] == [2]
    assert api.strategy_counts() == {"ials": 3, "popular": 1}


def test_metric_table_pairs_model_with_baseline() -> None:
    info = ModelInfo(model_version="1", metrics={
        "n_users": 943, "ndcg_at_10": 0.18, "warm.ndcg_at_10": 0.13, "warm.n_users": 650,
        "baseline.ndcg_at_10": 0.10, "baseline.warm.ndcg_at_10": 0.07, "novelty_at_10": 2.1,
    })  # fmt: skip
    assert info.metric_table() == [
        {"metric": "ndcg_at_10", "model": 0.18, "baseline": 0.10},
        {"metric": "warm.ndcg_at_10", "model": 0.13, "baseline": 0.07},
        {"metric": "novelty_at_10", "model": 2.1, "baseline": None},
    ]


def test_ui_command_runs_streamlit_headless() -> None:
    cmd = ui_command("0.0.0.0", 8601)
    assert cmd[:5] == [sys.executable, "-m", "streamlit", "run", str(APP_PATH)]
    assert APP_PATH.is_file()
    flags = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert flags["--server.address"] == "0.0.0.0"
    assert flags["--server.port"] == "8601"
    assert flags["--server.headless"] == "true"
    assert flags["--browser.gatherUsageStats"] == "false"
