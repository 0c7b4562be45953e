"""Observability test fixtures: the series MovieRecs exposes, collected once per session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from observability_helpers import exposed_series


@pytest.fixture(scope="session")
def series(tmp_path_factory: pytest.TempPathFactory) -> frozenset[str]:
    """Every series name the API, consumer and operator expose (plus Prometheus' ``up``)."""
    return exposed_series(tmp_path_factory.mktemp("metrics-home"))
