"""Request ids, and JSON access log lines with request_id, user_id and model_version."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient


def _access(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "movierecs.access"]


def test_request_id_is_echoed_and_logged(make_app, caplog: pytest.LogCaptureFixture) -> None:
    # slow_request_ms=0: every request counts as slow, so even a fast GET is logged
    with TestClient(make_app(slow_request_ms=0)) as client, caplog.at_level(logging.INFO, "movierecs.access"):
        response = client.get("/v1/recommendations/1?k=3", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    line = _access(caplog)[-1]
    assert (line.request_id, line.user_id, line.status) == ("req-42", 1, 200)  # type: ignore[attr-defined]
    assert line.model_version == response.json()["model_version"]  # type: ignore[attr-defined]


def test_fast_reads_are_not_logged_but_errors_and_writes_are(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, "movierecs.access"):
        assert client.get("/v1/recommendations/1?k=3").status_code == 200
        assert not _access(caplog)
        assert client.get("/v1/recommendations/0").status_code == 422
        assert client.post("/v1/events", json={"user_id": 7, "item_id": 50, "type": "like"}).status_code == 202
    assert [(r.method, r.status) for r in _access(caplog)] == [("GET", 422), ("POST", 202)]  # type: ignore[attr-defined]


def test_a_request_id_is_generated_when_absent(client: TestClient) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert first
    assert second
    assert first != second
