"""Request ids and JSON access logs carry request_id, user_id and model_version."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient


def test_request_id_is_echoed_and_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="movierecs.access"):
        response = client.get("/v1/recommendations/1?k=3", headers={"X-Request-ID": "req-42"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    records = [r for r in caplog.records if r.name == "movierecs.access"]
    assert records, "no access log line"
    line = records[-1]
    assert (line.request_id, line.user_id, line.status) == ("req-42", 1, 200)  # type: ignore[attr-defined]
    assert line.model_version == response.json()["model_version"]  # type: ignore[attr-defined]


def test_a_request_id_is_generated_when_absent(client: TestClient) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert first and second and first != second
