"""URLs in messages never carry a password; the store passwords come from their own variables (#15)."""

from __future__ import annotations

import pytest

from movierecs.settings import Settings
from movierecs.urls import redact


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("clickhouse://app:s3cret@ch:9000/movierecs", "clickhouse://app:***@ch:9000/movierecs"),
        ("postgresql://app:s3cret@pg:5432/db?sslmode=require", "postgresql://app:***@pg:5432/db?sslmode=require"),
        ("postgresql://app:pa/s@s3cret@pg/db", "postgresql://app:***@pg/db"),  # "/" and "@" in the password
        (
            "postgresql://app@pg/db?password=s3cret&sslmode=require",
            "postgresql://app@pg/db?password=***&sslmode=require",
        ),
        ("clickhouse://ch:9000/movierecs", "clickhouse://ch:9000/movierecs"),
        ("postgresql://app@pg:5432/db", "postgresql://app@pg:5432/db"),
        ("chdb:///tmp/x", "chdb:///tmp/x"),
        ("not a url", "not a url"),
    ],
)
def test_redact_masks_every_password(url: str, shown: str) -> None:
    assert redact(url) == shown
    assert "s3cret" not in redact(url)


def test_store_passwords_are_read_from_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLICKHOUSE_PASSWORD", "ch-pw")
    monkeypatch.setenv("PGPASSWORD", "pg-pw")
    settings = Settings()
    assert settings.clickhouse_password is not None
    assert settings.postgres_password is not None
    assert settings.clickhouse_password.get_secret_value() == "ch-pw"
    assert settings.postgres_password.get_secret_value() == "pg-pw"
    assert "ch-pw" not in repr(settings)
    assert "pg-pw" not in repr(settings)


def test_store_passwords_default_to_none(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CLICKHOUSE_PASSWORD", "PGPASSWORD", "MOVIERECS_CLICKHOUSE_PASSWORD", "MOVIERECS_POSTGRES_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.clickhouse_password is None
    assert settings.postgres_password is None


def test_the_password_argument_reaches_the_adapters_only_when_the_url_has_none() -> None:
    from movierecs.adapters.clickhouse import ClickHouseInteractionStore
    from movierecs.adapters.postgres import PostgresCatalog

    store = ClickHouseInteractionStore("clickhouse://app@ch:9000/db", password="from-env")
    assert store._conf["password"] == "from-env"
    store = ClickHouseInteractionStore("clickhouse://app:in-url@ch:9000/db", password="from-env")
    assert store._conf["password"] == "in-url"
    assert "in-url" not in store.url
    catalog = PostgresCatalog("postgresql://app@pg/db", password="from-env")
    assert catalog._password == "from-env"
    catalog = PostgresCatalog("postgresql://app:in-url@pg/db", password="from-env")
    assert catalog._password is None  # asyncpg uses the URL's
    assert "in-url" not in catalog.url
