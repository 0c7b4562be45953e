"""`movierecs load` is idempotent, and `movierecs train` without a source extracts from the stores.

Runs on the embedded stores (chDB + SQLite) always, and on ClickHouse + PostgreSQL when the local
stack's URLs are in the environment (`make test` exports them).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

from movierecs.cli import app
from movierecs.composition import catalog as make_catalog
from movierecs.composition import interaction_store as make_interaction_store

BASE_ID = 9_100_000  # far from MovieLens ids: the stack's catalog is shared with other tests
# read at import: the `home` fixture removes the stack's URLs from the environment of each test
STACK = {k: os.environ.get(k, "") for k in ("MOVIERECS_INTERACTIONS_URL", "MOVIERECS_CATALOG_URL")}


def _write_fixture(folder: Path, n_users: int = 40, n_items: int = 30) -> int:
    rows = ["user_id,item_id,timestamp,rating"]
    for u in range(n_users):
        for j in range(12):
            item = (u * 7 + j * 3) % n_items
            rows.append(f"{BASE_ID + u},{BASE_ID + item},{1_600_000_000 + u * 1000 + j},{1 + (u + j) % 5}")
    (folder / "ratings.csv").write_text("\n".join(rows) + "\n")
    items = ["item_id,title,year,genres"] + [
        f"{BASE_ID + i},Film {i} ({1990 + i % 20}),{1990 + i % 20},{'Comedy' if i % 2 else 'Drama|Crime'}"
        for i in range(n_items)
    ]
    (folder / "items.csv").write_text("\n".join(items) + "\n")
    users = ["user_id,age,gender,occupation"] + [f"{BASE_ID + u},{20 + u},{'MF'[u % 2]},writer" for u in range(n_users)]
    (folder / "users.csv").write_text("\n".join(users) + "\n")
    return len(rows) - 1


def _backends() -> list[pytest.param]:
    params = [pytest.param("embedded", id="chdb+sqlite")]
    if STACK["MOVIERECS_INTERACTIONS_URL"].startswith("clickhouse://") and STACK["MOVIERECS_CATALOG_URL"].startswith(
        "postgresql://"
    ):
        params.append(pytest.param("stack", id="clickhouse+postgresql"))
    return params


@pytest.mark.parametrize("backend", _backends())
def test_load_twice_stores_once_and_train_reads_the_store(
    backend: str, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = STACK
    if backend == "stack":
        base, _, _ = stack["MOVIERECS_INTERACTIONS_URL"].rpartition("/")
        interactions = f"{base}/load_{uuid.uuid4().hex[:8]}"  # a database of its own
        catalog = stack["MOVIERECS_CATALOG_URL"]
        monkeypatch.setenv("MOVIERECS_INTERACTIONS_URL", interactions)
        monkeypatch.setenv("MOVIERECS_CATALOG_URL", catalog)
    else:
        interactions = f"chdb://{home / 'interactions.chdb'}"
        catalog = f"sqlite:///{home / 'catalog.sqlite'}"
    n = _write_fixture(tmp_path)
    runner = CliRunner()
    args = [
        "load",
        "--interactions",
        str(tmp_path / "ratings.csv"),
        "--items",
        str(tmp_path / "items.csv"),
        "--users",
        str(tmp_path / "users.csv"),
    ]
    for _ in range(2):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output

    store = make_interaction_store(interactions, os.environ.get("CLICKHOUSE_PASSWORD"))
    try:
        assert store.count() == n
        frame = store.extract()
    finally:
        store.close()
    assert len(frame) == n
    assert frame["event_id"].nunique() == n

    async def catalog_rows() -> tuple[int, dict[str, object] | None]:
        cat = make_catalog(catalog)
        try:
            items = await cat.items()
            return int((items["item_id"] >= BASE_ID).sum()), await cat.get_user(BASE_ID + 3)
        finally:
            await cat.close()

    n_items, user = asyncio.run(catalog_rows())
    assert n_items == 30
    assert user is not None
    assert user["age"] == 23

    out = tmp_path / "bundle"
    result = runner.invoke(app, ["train", "--no-register", "--no-auto-tune", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["recommend", "--model", str(out), "--user", str(BASE_ID + 1), "-k", "3"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "user_id,item_id,rank,score"
    assert len(lines) == 4
    assert all(int(line.split(",")[1]) >= BASE_ID for line in lines[1:])
