"""The composition root: URL scheme -> adapter, errors that name the setting and never a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from movierecs import composition
from movierecs.exceptions import UnsupportedUrlError
from movierecs.settings import Settings


def test_unknown_schemes_name_the_setting_and_hide_the_password() -> None:
    with pytest.raises(UnsupportedUrlError, match="MOVIERECS_INTERACTIONS_URL") as store:
        composition.interaction_store("mysql://app:s3cret@db:3306/x")
    with pytest.raises(UnsupportedUrlError, match="MOVIERECS_CATALOG_URL") as catalog:
        composition.catalog("mysql://app:s3cret@db:3306/x")
    for caught in (store, catalog):
        assert "s3cret" not in str(caught.value)
        assert "app:***@db:3306" in str(caught.value)


def test_embedded_settings_give_embedded_adapters(home: Path) -> None:
    settings = Settings()
    assert type(composition.event_bus(settings)).__name__ == "MemoryEventBus"
    assert type(composition.catalog(settings.catalog)).__name__ == "SqliteCatalog"
    assert type(composition.interaction_store(settings.interactions)).__name__ == "ChdbInteractionStore"
    with pytest.raises(UnsupportedUrlError, match="kafka://"):
        composition.event_stream(settings, "group")  # the consumer service needs Kafka


def test_training_ports_read_a_dataset_or_refuse_two_sources(home: Path, tmp_path: Path, ml100k_dir: Path) -> None:
    ports = composition.training_ports(Settings(data_dir=ml100k_dir))
    raw = ports.read_data(dataset="ml-100k")
    assert len(raw.interactions) == 100_000
    with pytest.raises(Exception, match="not both"):
        ports.read_data(dataset="ml-100k", interactions=tmp_path / "x.csv")


def test_an_empty_store_is_a_clear_error(home: Path) -> None:
    ports = composition.training_ports(Settings())
    with pytest.raises(Exception, match="holds no interactions"):
        ports.read_data()
