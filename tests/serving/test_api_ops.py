"""Probes, Prometheus metrics, OpenAPI and docs."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from serving_helpers import AUTH, WARM_USER

CONTRACT_ROUTES = {
    ("get", "/v1/recommendations/{user_id}"),
    ("get", "/v1/items/{item_id}/similar"),
    ("post", "/v1/events"),
    ("put", "/v1/users/{user_id}"),
    ("post", "/v1/admin/reload"),
    ("get", "/healthz"),
    ("get", "/readyz"),
}


def test_healthz(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ready"] is True
    assert body["checks"]["model"] is True
    assert body["checks"]["event_bus"] is True
    assert all(body["checks"].values())


def _sample(text: str, name: str, **labels: str) -> float:
    """Value of the first sample of ``name`` whose labels include ``labels``."""
    for line in text.splitlines():
        match = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            return float(match.group(2))
    raise AssertionError(f"no sample {name} {labels} in /metrics")


def test_metrics(client: TestClient) -> None:
    client.get(f"/v1/recommendations/{WARM_USER}")
    client.get("/v1/recommendations/900001")
    assert client.post("/v1/events", json={"user_id": 800_500, "item_id": 1, "type": "like"}).status_code == 202
    assert client.post("/v1/events", json={"user_id": 800_500, "item_id": 999_999, "type": "like"}).status_code == 422
    client.get("/v1/recommendations/800500")
    assert client.post("/v1/admin/reload", headers=AUTH).status_code == 200
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    for name in (
        "movierecs_recommendations_total",
        "movierecs_foldin_seconds",
        "movierecs_model_info",
        "movierecs_reloads_total",
        "movierecs_events_total",
        "http_request_duration_seconds",
    ):
        assert name in text, f"{name} missing from /metrics"
    assert _sample(text, "movierecs_recommendations_total", strategy="ials", model_version="local") == 1
    assert _sample(text, "movierecs_recommendations_total", strategy="popular") == 1
    assert _sample(text, "movierecs_recommendations_total", strategy="ials_online") == 1
    assert _sample(text, "movierecs_foldin_seconds_count") >= 1
    assert _sample(text, "movierecs_model_info", model_version="local", dataset="ml-100k") == 1
    assert _sample(text, "movierecs_reloads_total", result="success") == 1
    assert _sample(text, "movierecs_events_total", type="like", result="accepted") == 1
    assert _sample(text, "movierecs_events_total", type="like", result="rejected") == 1
    assert _sample(text, "http_request_duration_seconds_count", handler="/v1/recommendations/{user_id}") >= 3


def test_openapi_lists_the_contract(client: TestClient) -> None:
    r = client.get("/openapi.json")
    assert r.status_code == 200
    spec = r.json()
    routes = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    missing = CONTRACT_ROUTES - routes
    assert not missing, f"routes of DESIGN.md §3 missing from the OpenAPI schema: {missing}"
    events = spec["paths"]["/v1/events"]["post"]
    assert "202" in events["responses"]
    assert {"413", "422", "503"} <= set(events["responses"])
    reload = spec["paths"]["/v1/admin/reload"]["post"]
    assert {"401", "403", "409"} <= set(reload["responses"])
    assert reload.get("security"), "the reload route must declare its bearer token"
    rec_params = {p["name"]: p for p in spec["paths"]["/v1/recommendations/{user_id}"]["get"]["parameters"]}
    assert {"user_id", "k", "genres", "exclude_seen"} <= set(rec_params)
    assert rec_params["k"]["schema"]["minimum"] == 1
    assert rec_params["k"]["schema"]["maximum"] == 100


def test_docs(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200
    assert "swagger" in r.text.lower()
    assert "/openapi.json" in r.text


def test_metrics_expose_the_training_time_of_the_served_model(client: TestClient, bundle) -> None:
    text = client.get("/metrics").text
    stages = bundle.meta["training_seconds"]
    assert set(stages) >= {"fit", "evaluate"}
    for stage, seconds in stages.items():
        line = next(
            x for x in text.splitlines() if x.startswith(f'movierecs_model_training_seconds{{stage="{stage}"}}')
        )
        assert float(line.split()[-1]) == pytest.approx(seconds)
