"""SQLite catalog (``sqlite:///relative/path`` or ``sqlite:////absolute/path``; ``sqlite://`` = in memory).

The embedded twin of :class:`~movierecs.adapters.postgres.PostgresCatalog`: same tables, ``genres``
stored as JSON text. The async methods run their queries in a worker thread (``sqlite3`` blocks, and
the API calls the catalog on its event loop); the file is opened in WAL mode so that a
``movierecs load`` and a running API can share it.

This module also holds the row shaping both catalogs share (frames in, records out and back).
"""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from movierecs.exceptions import StoreUnavailableError, UnsupportedUrlError

ITEM_COLUMNS = ("item_id", "title", "year", "genres")
USER_COLUMNS = ("user_id", "age", "gender", "occupation")


# ---------------------------------------------------------------- row shaping shared by both catalogs
def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _opt_int(value: Any) -> int | None:
    return None if _missing(value) else int(value)


def _opt_str(value: Any) -> str | None:
    return None if _missing(value) else str(value)


def genres_list(value: Any) -> list[str]:
    """A list of genre names from a list/tuple/array, a ``|``-separated string, or nothing."""
    if isinstance(value, str):
        return [g for g in value.split("|") if g]
    if isinstance(value, list | tuple | np.ndarray | pd.Series):
        return [str(g) for g in value if not _missing(g) and str(g)]
    return []


def _column(frame: pd.DataFrame, name: str) -> Iterable[Any]:
    return frame[name] if name in frame.columns else [None] * len(frame)


def item_records(items: pd.DataFrame) -> list[tuple[int, str, int | None, list[str]]]:
    """``(item_id, title, year, genres)`` per item, last row winning for a repeated ``item_id``."""
    if "item_id" not in items.columns:
        raise ValueError("items frame needs an item_id column (and title, year, genres)")
    out: dict[int, tuple[int, str, int | None, list[str]]] = {}
    for item_id, title, year, genres in zip(
        items["item_id"],
        _column(items, "title"),
        _column(items, "year"),
        _column(items, "genres"),
        strict=True,
    ):
        out[int(item_id)] = (int(item_id), _opt_str(title) or "", _opt_int(year), genres_list(genres))
    return list(out.values())


def user_records(users: pd.DataFrame) -> list[tuple[int, int | None, str | None, str | None]]:
    """``(user_id, age, gender, occupation)`` per user, last row winning for a repeated ``user_id``."""
    if "user_id" not in users.columns:
        raise ValueError("users frame needs a user_id column (and age, gender, occupation)")
    out: dict[int, tuple[int, int | None, str | None, str | None]] = {}
    for user_id, age, gender, occupation in zip(
        users["user_id"],
        _column(users, "age"),
        _column(users, "gender"),
        _column(users, "occupation"),
        strict=True,
    ):
        out[int(user_id)] = (int(user_id), _opt_int(age), _opt_str(gender), _opt_str(occupation))
    return list(out.values())


def items_frame(rows: Sequence[tuple[Any, Any, Any, list[str]]]) -> pd.DataFrame:
    """``item_id`` int64, ``title`` str, ``year`` nullable Int64, ``genres`` list[str]."""
    return pd.DataFrame(
        {
            "item_id": pd.Series([r[0] for r in rows], dtype="int64"),
            "title": pd.Series([r[1] for r in rows], dtype=object),
            "year": pd.Series([r[2] for r in rows], dtype="Int64"),
            "genres": pd.Series([list(r[3]) for r in rows], dtype=object),
        }
    )


def users_frame(rows: Sequence[tuple[Any, Any, Any, Any]]) -> pd.DataFrame:
    """``user_id`` int64, ``age`` nullable Int64, ``gender`` and ``occupation`` str or None."""
    return pd.DataFrame(
        {
            "user_id": pd.Series([r[0] for r in rows], dtype="int64"),
            "age": pd.Series([r[1] for r in rows], dtype="Int64"),
            "gender": pd.Series([r[2] for r in rows], dtype=object),
            "occupation": pd.Series([r[3] for r in rows], dtype=object),
        }
    )


def user_dict(age: Any, gender: Any, occupation: Any) -> dict[str, object]:
    return {"age": _opt_int(age), "gender": _opt_str(gender), "occupation": _opt_str(occupation)}


# ---------------------------------------------------------------- SQLite catalog
MIGRATIONS = (
    """CREATE TABLE IF NOT EXISTS items (
        item_id INTEGER PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        year INTEGER NULL,
        genres TEXT NOT NULL DEFAULT '[]'
    )""",
    """CREATE TABLE IF NOT EXISTS users (
        user_id INTEGER PRIMARY KEY,
        age INTEGER NULL,
        gender TEXT NULL,
        occupation TEXT NULL
    )""",
)

UPSERT_ITEM = """INSERT INTO items (item_id, title, year, genres) VALUES (?, ?, ?, ?)
ON CONFLICT (item_id) DO UPDATE SET title = excluded.title, year = excluded.year, genres = excluded.genres"""

UPSERT_USER = """INSERT INTO users (user_id, age, gender, occupation) VALUES (?, ?, ?, ?)
ON CONFLICT (user_id) DO UPDATE
SET age = excluded.age, gender = excluded.gender, occupation = excluded.occupation"""


def parse_sqlite_url(url: str) -> str:
    """``sqlite:///rel.db`` -> ``rel.db``; ``sqlite:////abs.db`` -> ``/abs.db``; ``sqlite://`` -> memory."""
    if not url.startswith("sqlite://"):
        raise UnsupportedUrlError(f"not a sqlite:// URL: {url!r}")
    rest = url[len("sqlite://") :]
    if rest in ("", "/", "/:memory:"):
        return ":memory:"
    if not rest.startswith("/"):
        raise UnsupportedUrlError(f"sqlite URL must be sqlite:///relative or sqlite:////absolute: {url!r}")
    return rest[1:]


class SqliteCatalog:
    """:class:`~movierecs.ports.Catalog` in a SQLite file (stdlib ``sqlite3``)."""

    def __init__(self, url: str):
        self.url = url
        self.path = parse_sqlite_url(url)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                if self.path != ":memory:":
                    Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(
                    str(Path(self.path).expanduser()) if self.path != ":memory:" else self.path,
                    timeout=30.0,
                    check_same_thread=False,
                    isolation_level=None,  # explicit BEGIN/COMMIT below
                )
                if self.path != ":memory:":
                    conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            except (sqlite3.Error, OSError) as exc:
                raise StoreUnavailableError(f"cannot open the SQLite catalog {self.path}: {exc}") from exc
            self._conn = conn
        return self._conn

    def _write_many(self, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(statement, rows)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _fetch(self, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._connection().execute(query, params).fetchall()

    # ------------------------------------------------------------------ port
    def _migrate(self) -> None:
        with self._lock:
            conn = self._connection()
            for ddl in MIGRATIONS:
                conn.execute(ddl)

    async def migrate(self) -> None:
        await asyncio.to_thread(self._migrate)

    async def upsert_items(self, items: pd.DataFrame) -> int:
        records = item_records(items)
        await asyncio.to_thread(self._write_many, UPSERT_ITEM, [(i, t, y, json.dumps(g)) for i, t, y, g in records])
        return len(records)

    async def upsert_users(self, users: pd.DataFrame) -> int:
        records = user_records(users)
        await asyncio.to_thread(self._write_many, UPSERT_USER, records)
        return len(records)

    async def put_user(self, user_id: int, age: int | None, gender: str | None, occupation: str | None) -> None:
        (record,) = user_records(
            pd.DataFrame([{"user_id": user_id, "age": age, "gender": gender, "occupation": occupation}])
        )
        await asyncio.to_thread(self._write_many, UPSERT_USER, [record])

    def _delete_user(self, user_id: int) -> bool:
        with self._lock:
            return self._connection().execute("DELETE FROM users WHERE user_id = ?", (int(user_id),)).rowcount > 0

    async def delete_user(self, user_id: int) -> bool:
        return await asyncio.to_thread(self._delete_user, user_id)

    async def items(self) -> pd.DataFrame:
        rows = await asyncio.to_thread(self._fetch, "SELECT item_id, title, year, genres FROM items ORDER BY item_id")
        return items_frame([(i, t, y, json.loads(g) if g else []) for i, t, y, g in rows])

    async def users(self) -> pd.DataFrame:
        query = "SELECT user_id, age, gender, occupation FROM users ORDER BY user_id"
        return users_frame(await asyncio.to_thread(self._fetch, query))

    async def get_user(self, user_id: int) -> dict[str, object] | None:
        query = "SELECT age, gender, occupation FROM users WHERE user_id = ?"
        rows = await asyncio.to_thread(self._fetch, query, (int(user_id),))
        return user_dict(*rows[0]) if rows else None

    def _close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    async def close(self) -> None:
        await asyncio.to_thread(self._close)


__all__ = ["SqliteCatalog", "item_records", "items_frame", "user_records", "users_frame"]
