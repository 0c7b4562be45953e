"""Contract of :class:`movierecs.ports.Catalog`, run against every backend.

- ``sqlite``: embedded, always (a file per test).
- ``postgres``: the local stack's server, from ``MOVIERECS_CATALOG_URL`` (``scripts/test.sh`` sources
  ``.stack/env``); each test gets its own schema (``search_path`` in the URL), dropped at teardown.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

from movierecs.composition import catalog as make_catalog
from movierecs.exceptions import StoreUnavailableError, UnsupportedUrlError
from movierecs.ports import Catalog


def _server_url() -> str | None:
    url = os.environ.get("MOVIERECS_CATALOG_URL", "")
    return url if url.startswith(("postgresql://", "postgres://")) else None


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=pytest.mark.skipif(
                _server_url() is None,
                reason="MOVIERECS_CATALOG_URL=postgresql://... not set: start the local stack "
                "(make stack-up; set -a; . .stack/env; set +a) — `make test` does both",
            ),
        ),
    ]
)
async def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'catalog.sqlite'}"
        return
    import asyncpg

    base = _server_url()
    assert base is not None
    schema = f"contract_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(base)
    await conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}{'&' if '?' in base else '?'}search_path={schema}"
    finally:
        await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        await conn.close()


@pytest.fixture
async def catalog(catalog_url: str) -> AsyncIterator[Catalog]:
    c = make_catalog(catalog_url)
    await c.migrate()
    yield c
    await c.close()


def _items() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [1, 2, 3, 4],
            "title": ["Toy Story (1995)", "GoldenEye (1995)", "Unknown", "Heat (1995)"],
            "year": pd.array([1995, 1995, None, 1995], dtype="Int64"),
            "genres": [["Animation", "Children's", "Comedy"], ["Action", "Thriller"], [], "Action|Crime"],
        }
    )


async def test_migrate_is_idempotent(catalog: Catalog) -> None:
    await catalog.migrate()
    await catalog.migrate()
    assert len(await catalog.items()) == 0
    assert await catalog.get_user(1) is None


async def test_items_upsert_twice_does_not_duplicate(catalog: Catalog) -> None:
    assert await catalog.upsert_items(_items()) == 4
    changed = _items().iloc[[1]].assign(title="GoldenEye (remastered)")
    assert await catalog.upsert_items(_items()) == 4
    await catalog.upsert_items(changed)
    items = await catalog.items()
    assert list(items["item_id"]) == [1, 2, 3, 4]
    assert items.set_index("item_id").loc[2, "title"] == "GoldenEye (remastered)"
    assert list(items.columns) == ["item_id", "title", "year", "genres"]


async def test_genres_and_year_round_trip(catalog: Catalog) -> None:
    await catalog.upsert_items(_items())
    items = (await catalog.items()).set_index("item_id")
    assert items.loc[1, "genres"] == ["Animation", "Children's", "Comedy"]
    assert items.loc[3, "genres"] == []
    assert items.loc[4, "genres"] == ["Action", "Crime"]  # a '|'-separated string is split
    assert all(isinstance(g, list) for g in items["genres"])
    assert items.loc[1, "year"] == 1995
    assert pd.isna(items.loc[3, "year"])


async def test_repeated_ids_in_one_batch_keep_the_last(catalog: Catalog) -> None:
    frame = pd.concat([_items(), _items().iloc[[0]].assign(title="Toy Story (again)")])
    await catalog.upsert_items(frame)
    items = (await catalog.items()).set_index("item_id")
    assert len(items) == 4
    assert items.loc[1, "title"] == "Toy Story (again)"


async def test_put_and_get_user(catalog: Catalog) -> None:
    assert await catalog.get_user(42) is None
    await catalog.put_user(42, 31, "F", "writer")
    assert await catalog.get_user(42) == {"age": 31, "gender": "F", "occupation": "writer"}
    await catalog.put_user(42, 32, None, "editor")  # upsert, not a second row
    assert await catalog.get_user(42) == {"age": 32, "gender": None, "occupation": "editor"}
    users = await catalog.users()
    assert list(users["user_id"]) == [42]


async def test_delete_user(catalog: Catalog) -> None:
    await catalog.put_user(42, 31, "F", "writer")
    await catalog.put_user(43, 20, "M", None)
    assert await catalog.delete_user(42)
    assert await catalog.get_user(42) is None
    assert await catalog.get_user(43) is not None
    assert not await catalog.delete_user(42)  # nothing left to delete


async def test_users_upsert_twice_does_not_duplicate(catalog: Catalog) -> None:
    users = pd.DataFrame(
        {
            "user_id": [1, 2, 3],
            "age": pd.array([24, None, 53], dtype="Int64"),
            "gender": ["M", "F", None],
            "occupation": ["technician", "other", "writer"],
        }
    )
    assert await catalog.upsert_users(users) == 3
    assert await catalog.upsert_users(users.assign(occupation="student")) == 3
    stored = await catalog.users()
    assert list(stored["user_id"]) == [1, 2, 3]
    assert list(stored["occupation"]) == ["student"] * 3
    assert await catalog.get_user(2) == {"age": None, "gender": "F", "occupation": "student"}
    assert await catalog.get_user(1) == {"age": 24, "gender": "M", "occupation": "student"}


async def test_empty_upserts(catalog: Catalog) -> None:
    assert await catalog.upsert_items(_items().iloc[:0]) == 0
    assert await catalog.upsert_users(pd.DataFrame({"user_id": pd.Series(dtype="int64")})) == 0


def test_unknown_scheme_is_refused() -> None:
    for url in ("mysql://localhost/x", "catalog.sqlite", "mongodb://localhost"):
        with pytest.raises(UnsupportedUrlError):
            make_catalog(url)


async def test_unreachable_server_raises_store_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    catalog = make_catalog(f"postgresql://movierecs@127.0.0.1:{port}/movierecs")
    with pytest.raises(StoreUnavailableError, match="unreachable"):
        await catalog.migrate()
    await catalog.close()


# ---- credentials (#15): the stack's PostgreSQL checks the app role's password -------------------
SECRET = "Sup3r-S3cret-pw"


def _assert_hidden(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, f"a password leaked into: {text!r}"


async def test_an_unreachable_server_never_shows_the_password(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for url, password in (
        (f"postgresql://movierecs:{SECRET}@127.0.0.1:{port}/movierecs", None),
        (f"postgresql://movierecs@127.0.0.1:{port}/movierecs?sslmode=disable", SECRET),
    ):
        catalog = make_catalog(url, password)
        _assert_hidden(catalog.url, SECRET)  # type: ignore[attr-defined]
        with pytest.raises(StoreUnavailableError, match="unreachable") as caught:
            await catalog.migrate()
        await catalog.close()
        logging.getLogger("movierecs.test").exception("catalog down: %s", caught.value)
        _assert_hidden(str(caught.value) + repr(caught.value) + caplog.text, SECRET)
    with pytest.raises(UnsupportedUrlError) as bad:
        make_catalog(f"mysql://movierecs:{SECRET}@db/movierecs")
    _assert_hidden(str(bad.value), SECRET)


def _app_role() -> tuple[str, str]:
    base = _server_url()
    password = os.environ.get("PGPASSWORD", "")
    if base is None or not password:
        pytest.skip("the local stack's PostgreSQL (with its app password in PGPASSWORD) is not configured")
    return base, password


async def test_the_password_comes_from_the_argument_when_the_url_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    base, password = _app_role()
    monkeypatch.delenv("PGPASSWORD")  # only the argument (Settings' PGPASSWORD) may authenticate
    catalog = make_catalog(base, password)
    try:
        await catalog.migrate()
        assert isinstance(await catalog.get_user(-1), type(None))
    finally:
        await catalog.close()


@pytest.mark.parametrize("how", ["no password", "wrong password in the URL", "wrong argument"])
async def test_the_server_refuses_missing_or_wrong_credentials(
    how: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    base, password = _app_role()
    monkeypatch.delenv("PGPASSWORD")
    parts = urlsplit(base)
    url, argument = {
        "no password": (base, None),
        "wrong password in the URL": (
            f"postgresql://{parts.username}:{SECRET}@{parts.netloc.split('@')[-1]}/movierecs",
            None,
        ),
        "wrong argument": (base, SECRET),
    }[how]
    catalog = make_catalog(url, argument)
    with pytest.raises(StoreUnavailableError) as caught:
        await catalog.migrate()
    await catalog.close()
    assert "refused the credentials" in str(caught.value)
    assert "PGPASSWORD" in str(caught.value)
    logging.getLogger("movierecs.test").exception("catalog down: %s", caught.value)
    _assert_hidden(str(caught.value) + caplog.text, SECRET, password)
