"""Shared fixtures: paths to the MovieLens test data and an isolated MOVIERECS_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """MovieLens copies for tests: ``$MOVIERECS_TEST_DATA`` or ``../shared/data`` next to the repo."""
    return Path(os.environ.get("MOVIERECS_TEST_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def ml100k_dir() -> Path:
    path = shared_data_dir()
    if not (path / "ml-100k" / "u.data").is_file():
        pytest.fail(f"MovieLens 100K not found under {path}; set MOVIERECS_TEST_DATA")
    return path


STACK_VARIABLES = (
    "MOVIERECS_EVENT_BUS_URL",
    "MOVIERECS_INTERACTIONS_URL",
    "MOVIERECS_CATALOG_URL",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty MOVIERECS_HOME in embedded mode: registry, catalog and stores default into it.

    `make test` exports the local stack's URLs (.stack/env) to the whole suite; tests that ask for
    ``home`` must not talk to those servers, so their variables are removed here.
    """
    for name in STACK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MOVIERECS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
