"""Settings: environment names fixed by DESIGN.md §3 and the embedded defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from movierecs.settings import Settings

ENV = ("MOVIERECS_DATA_DIR", "MOVIERECS_HOME", "MOVIERECS_ADMIN_TOKEN", "MOVIERECS_INTERACTIONS_URL",
       "MOVIERECS_CATALOG_URL", "MOVIERECS_EVENT_BUS_URL", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI",
       "MOVIERECS_MLFLOW_TRACKING_URI", "MOVIERECS_MLFLOW_REGISTRY_URI", "MOVIERECS_MODEL_URI")  # fmt: skip


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_contract_env_names_are_read(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("MOVIERECS_DATA_DIR", str(tmp_path / "data"))
    clean_env.setenv("MOVIERECS_ADMIN_TOKEN", "s3cret")
    clean_env.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    clean_env.setenv("MOVIERECS_INTERACTIONS_URL", "clickhouse://ch:9000/movierecs")
    clean_env.setenv("MOVIERECS_CATALOG_URL", "postgresql://pg/movierecs")
    clean_env.setenv("MOVIERECS_EVENT_BUS_URL", "kafka://kafka:9092")
    s = Settings()
    assert s.resolved_data_dir() == tmp_path / "data"
    assert s.admin_token is not None
    assert s.admin_token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(s)
    assert s.tracking_uri == "http://mlflow:5000"
    assert s.registry_uri == "http://mlflow:5000"  # defaults to the tracking URI
    assert s.interactions == "clickhouse://ch:9000/movierecs"
    assert s.catalog == "postgresql://pg/movierecs"
    assert s.event_bus_url == "kafka://kafka:9092"


def test_registry_uri_can_differ(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MLFLOW_TRACKING_URI", "http://a")
    clean_env.setenv("MLFLOW_REGISTRY_URI", "http://b")
    s = Settings()
    assert (s.tracking_uri, s.registry_uri) == ("http://a", "http://b")


def test_embedded_defaults_live_in_home(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("MOVIERECS_HOME", str(tmp_path))
    s = Settings()
    assert s.admin_token is None
    assert s.tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert s.registry_uri == s.tracking_uri
    assert s.interactions == f"chdb://{tmp_path / 'interactions.chdb'}"
    assert s.catalog == f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    assert s.event_bus_url == "memory://"
    assert s.served_model_uri == "models:/movierecs@champion"
    assert s.artifacts_dir == tmp_path / "artifacts"


def test_home_default_is_expanded(clean_env: pytest.MonkeyPatch) -> None:
    s = Settings()
    assert s.resolved_home() == Path("~/.movierecs").expanduser()
    assert "~" not in s.tracking_uri


def test_settings_are_frozen_and_validated(clean_env: pytest.MonkeyPatch) -> None:
    s = Settings()
    with pytest.raises(ValidationError, match="frozen"):
        s.model_name = "other"  # type: ignore[misc]
    clean_env.setenv("MOVIERECS_NUM_THREADS", "-1")
    with pytest.raises(ValidationError, match="num_threads"):
        Settings()
