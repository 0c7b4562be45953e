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


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty MOVIERECS_HOME; registry, catalog and stores default into it."""
    monkeypatch.setenv("MOVIERECS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"
