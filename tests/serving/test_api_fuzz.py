"""Schemathesis against the app's own OpenAPI schema: no 5xx on any route, errors carry ``detail``."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from serving_helpers import AppFactory

from movierecs.composition import build_api
from movierecs.settings import Settings


class _CurrentApp:
    """The ASGI app schemathesis calls: forwards to the app the ``fuzz_app`` fixture built for this test.

    The schema is loaded at import (``schemathesis.pytest.from_fixture`` fails on pytest 9: it writes
    ``node._nodeid``); the OpenAPI document does not depend on the model, so a bundle-less app gives it.
    Schemathesis runs the current app's lifespan on its first request and ends it with the test.
    """

    app: FastAPI | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        assert self.app is not None, "fuzz_app fixture not active"
        await self.app(scope, receive, send)


_current = _CurrentApp()
_spec = build_api(Settings(home=Path(tempfile.gettempdir()) / "movierecs-fuzz-spec", admin_token="x")).openapi()
schema = schemathesis.openapi.from_dict(_spec)
schema.app = _current


@pytest.fixture(autouse=True)
def fuzz_app(make_app: AppFactory) -> Iterator[FastAPI]:
    # an unguessable admin token: fuzzed reload requests are all refused before touching the model
    _current.app = make_app(admin_token=secrets.token_hex(16))
    yield _current.app
    _current.app = None


def _detail_on_client_errors(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx is JSON with a non-empty ``detail`` (DESIGN.md §3)."""
    if 400 <= response.status_code < 500 and response.status_code != 405:
        body = response.json()
        if not (isinstance(body, dict) and body.get("detail")):
            raise AssertionError(f"{response.status_code} without a detail: {response.text[:200]}")
    return None


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case: Any) -> None:
    response = case.call()
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} {case.query} {case.body!r} -> "
        f"{response.status_code} {response.text[:300]}"
    )
    case.validate_response(response, checks=[not_a_server_error], additional_checks=[_detail_on_client_errors])
