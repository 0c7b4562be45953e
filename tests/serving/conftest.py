"""API test fixtures: one ml-100k bundle trained per session, a fresh in-process app per test.

Settings are always built explicitly (never from the environment: `scripts/test.sh` exports the
local stack's server URLs before pytest), with the embedded catalog in a temp folder, the in-process
event bus and no embedded interaction sink.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from fastapi import FastAPI
from fastapi.testclient import TestClient
from serving_helpers import ADMIN_TOKEN, AppFactory

from movierecs.composition import build_api
from movierecs.models.bundle import Bundle, load_bundle
from movierecs.settings import Settings


@pytest.fixture(scope="session")
def bundle_dir(ml100k_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle trained once on ml-100k (about 2 s)."""
    from movierecs.data import load_dataset
    from movierecs.evaluation.protocol import EvalProtocol
    from movierecs.models.hybrid import HybridConfig
    from movierecs.training.pipeline import run_training

    out = tmp_path_factory.mktemp("bundle") / "bundle"
    raw = load_dataset("ml-100k", ml100k_dir)
    run_training(raw, HybridConfig(), EvalProtocol(), output_dir=out, dataset_name="ml-100k", with_plots=False)
    return out


@pytest.fixture(scope="session")
def bundle(bundle_dir: Path) -> Bundle:
    return load_bundle(bundle_dir)


@pytest.fixture(scope="session")
def seen_items(ml100k_dir: Path) -> dict[int, set[int]]:
    """Items each ml-100k user rated, read straight from u.data (independent of the model)."""
    seen: dict[int, set[int]] = {}
    for line in (ml100k_dir / "ml-100k" / "u.data").read_text().splitlines():
        user, item, *_ = line.split("\t")
        seen.setdefault(int(user), set()).add(int(item))
    return seen


@pytest.fixture(scope="session")
def catalog_items(ml100k_dir: Path) -> set[int]:
    return {
        int(line.split("|", 1)[0])
        for line in (ml100k_dir / "ml-100k" / "u.item").read_text(encoding="latin-1").splitlines()
        if line
    }


def make_settings(home: Path, bundle_dir: Path, **overrides: Any) -> Settings:
    home.mkdir(parents=True, exist_ok=True)
    values: dict[str, Any] = {
        "home": home,
        "data_dir": home / "data",
        "event_bus_url": "memory://",
        "interactions_url": f"chdb://{home / 'interactions.chdb'}",
        "catalog_url": f"sqlite:///{home / 'catalog.sqlite'}",
        "mlflow_tracking_uri": f"sqlite:///{home / 'mlflow.db'}",
        "mlflow_registry_uri": f"sqlite:///{home / 'mlflow.db'}",
        "admin_token": ADMIN_TOKEN,
        "model_uri": str(bundle_dir),
        "embedded_sink": False,
        "log_json": False,
        "allow_local_models": True,  # the admin tests reload bundle folders (the demo allows them too)
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_app(tmp_path: Path, bundle_dir: Path, bundle: Bundle) -> AppFactory:
    """Build an app over the session bundle; keyword arguments override Settings fields."""

    def factory(**overrides: Any) -> FastAPI:
        return build_api(make_settings(tmp_path / "home", bundle_dir, **overrides), bundle=bundle)

    return factory


@pytest.fixture
def app(make_app: AppFactory) -> FastAPI:
    return make_app()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client with the app's lifespan running; server errors become 500 responses, not exceptions."""
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
