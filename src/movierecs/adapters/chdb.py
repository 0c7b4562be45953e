"""Embedded interaction store on chDB (``chdb:///path/to/dir[?database=name]``): ClickHouse in-process.

Same DDL and queries as the server (:mod:`movierecs.adapters.sql_interactions`); inserts stream
TabSeparated text through ``send_insert`` (one parse in C++, no per-row Python calls into chDB).

chDB constraints (every user of the embedded mode must know them):

- one process = one chDB folder at a time: while a connection to folder A is open in a process,
  opening folder B fails (``EmbeddedServer already initialized with path ...``). Several stores on
  the SAME folder in one process are fine (they share the embedded server);
- a folder is locked by the process that opened it (``status`` file): a second process cannot
  open it until the first closes it. The API, the consumer and ``movierecs load`` therefore cannot
  hold the same embedded store at the same time; use the local stack (ClickHouse) for that.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import numpy as np
import pandas as pd

from movierecs.adapters import sql_interactions as sql
from movierecs.events import Event
from movierecs.exceptions import StoreUnavailableError, UnsupportedUrlError

DEFAULT_DATABASE = "movierecs"


def parse_chdb_url(url: str) -> tuple[Path, str]:
    """``chdb:///abs/dir`` or ``chdb://relative/dir``, optional ``?database=name`` -> (folder, database)."""
    if not url.startswith("chdb://"):
        raise UnsupportedUrlError(f"not a chdb:// URL: {url!r}")
    rest = url[len("chdb://") :]
    path, _, query = rest.partition("?")
    if not path:
        raise UnsupportedUrlError(f"chdb URL needs a folder: {url!r} (chdb:///path/to/dir)")
    database = parse_qs(query).get("database", [DEFAULT_DATABASE])[0]
    return Path(unquote(path)).expanduser(), sql.check_identifier(database)


def _tsv_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def events_tsv(events: Sequence[Event], ingested_at: int) -> str:
    """Rows in :data:`sql.INSERT_COLUMNS` order as TabSeparated text (``nan`` for a missing value).

    Times are unix seconds padded to 10 digits: ClickHouse reads a DateTime as a unix timestamp only
    when it has exactly 10 digits (a 1990s ts has 9), and never through the session time zone."""
    out = StringIO()
    write = out.write
    for e in events:
        value = "nan" if e.value is None or math.isnan(e.value) else repr(float(e.value))
        write(
            f"{e.event_id}\t{e.user_id}\t{e.item_id}\t{_tsv_text(e.type.value)}\t{value}\t"
            f"{int(e.ts.timestamp()):010d}\t{ingested_at:010d}\n"
        )
    return out.getvalue()


class ChdbInteractionStore:
    """:class:`~movierecs.ports.InteractionStore` embedded in the process (chDB), files in a folder."""

    def __init__(self, url: str):
        self.url = url
        self.path, self.database = parse_chdb_url(url)
        self._conn: Any = None
        self._lock = threading.Lock()  # one statement at a time (a streaming insert blocks the connection)

    # ------------------------------------------------------------------ plumbing
    def _connection(self) -> Any:
        if self._conn is None:
            import chdb

            self.path.mkdir(parents=True, exist_ok=True)
            try:
                self._conn = chdb.connect(str(self.path.resolve()))
            except Exception as exc:  # chDB raises RuntimeError with ClickHouse's message
                raise StoreUnavailableError(
                    f"cannot open the embedded interaction store at {self.path}: {exc}. chDB allows one "
                    "folder per process and one process per folder; close the other user or use the "
                    "local stack (make stack-up)"
                ) from exc
        return self._conn

    def _query(self, query: str, fmt: str = "CSV") -> Any:
        with self._lock:
            return self._connection().query(query, fmt)

    # ------------------------------------------------------------------ port
    def migrate(self) -> None:
        self._query(sql.create_database(self.database))
        self._query(sql.create_table(self.database))
        self._query(sql.create_forgotten(self.database))

    def write(self, events: Sequence[Event]) -> int:
        if not events:
            return 0
        data = events_tsv(events, int(time.time()))
        with self._lock:
            conn = self._connection()
            if hasattr(conn, "send_insert"):  # chDB >= 4: streaming insert, no SQL text parsing of the data
                with conn.send_insert(sql.insert_prefix(self.database), "TabSeparated") as inserter:
                    inserter.append(data)
                    inserter.finish()
            else:  # older chDB: the data travels in the query text
                conn.query(f"{sql.insert_prefix(self.database)} FORMAT TabSeparated\n{data}")
        return len(events)

    def extract(self, until: datetime | None = None, since: datetime | None = None) -> pd.DataFrame:
        return self._frame(self._query(sql.extract(self.database, until, since), "DataFrame"))

    @staticmethod
    def _frame(frame: pd.DataFrame | None) -> pd.DataFrame:
        if frame is None or len(frame) == 0:
            return sql.frame_from_columns([], [], [], [], [], [])
        return sql.frame_from_columns(
            frame["event_id"], frame["user_id"], frame["item_id"], frame["type"], frame["value"], frame["ts_unix"]
        )

    def user_events(self, user_id: int, since: datetime | None = None) -> pd.DataFrame:
        return self._frame(self._query(sql.user_events(self.database, user_id, since), "DataFrame"))

    def active_users(self, since: datetime) -> np.ndarray:
        frame = self._query(sql.active_users(self.database, since), "DataFrame")
        if frame is None or len(frame) == 0:
            return np.empty(0, dtype=np.int64)
        return np.unique(frame["user_id"].to_numpy(dtype=np.int64))

    def forget_user(self, user_id: int, at: datetime) -> None:
        row = f"{int(user_id)}\t{sql.unix_seconds(at):010d}\n"
        self._query(f"{sql.insert_forgotten_prefix(self.database)} FORMAT TabSeparated\n{row}")
        self._query(sql.delete_user(self.database, user_id))

    def forgotten_users(self) -> np.ndarray:
        frame = self._query(sql.forgotten(self.database), "DataFrame")
        if frame is None or len(frame) == 0:
            return np.empty(0, dtype=np.int64)
        return np.unique(frame["user_id"].to_numpy(dtype=np.int64))

    def count(self) -> int:
        return int(str(self._query(sql.count(self.database))).strip() or 0)

    def max_ts(self) -> datetime | None:
        """Latest stored event time (naive UTC), ``None`` when empty."""
        seconds = int(str(self._query(sql.max_ts(self.database))).strip() or 0)
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None) if seconds else None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


__all__ = ["ChdbInteractionStore", "events_tsv", "parse_chdb_url"]
