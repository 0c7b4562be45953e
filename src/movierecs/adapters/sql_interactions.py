"""The ONE definition of the ``interactions`` table and its queries (DESIGN.md §3, Stores).

Both :class:`~movierecs.adapters.clickhouse.ClickHouseInteractionStore` (server, Debian's 18.16) and
:class:`~movierecs.adapters.chdb.ChdbInteractionStore` (chDB, a modern embedded ClickHouse) run this
exact text; only the insert transport differs (native columnar blocks vs a TSV stream). The dialect
is therefore the old common subset: no DateTime64, LowCardinality, Map, Bool, TTL, CODEC, window
functions, CTEs or server-side query parameters; literals are rendered here from typed values
(ints, validated identifiers), never from free text.

Deduplication (contract: idempotent on ``event_id``): ``ReplacingMergeTree(ingested_at)`` ordered
by ``(user_id, item_id, event_id)`` collapses rows with the same sorting key, keeping the latest
ingestion; reads use ``FINAL`` so that not yet merged duplicates are collapsed too. An ``event_id``
always carries the same user and item (it is assigned once, at the API, and redelivered unchanged),
so equal ``event_id`` means equal sorting key; the user-first order keeps per-user reads and
compression good. ``value`` is ``NaN`` when the event has none (e.g. a like).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pandas as pd

from movierecs.events import Event

TABLE: Final = "interactions"
#: Viewers who asked to be forgotten (DELETE /v1/users/{id}) and when; their events are deleted and
#: excluded from every read, even if a replayed topic writes them again.
FORGOTTEN: Final = "forgotten_users"

#: Column order of every insert (both transports).
INSERT_COLUMNS: Final = ("event_id", "user_id", "item_id", "type", "value", "ts", "ingested_at")

#: Columns of :meth:`InteractionStore.extract` (``ts`` is converted from unix seconds by the adapter).
EXTRACT_COLUMNS: Final = ("event_id", "user_id", "item_id", "type", "value", "ts")

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def check_identifier(name: str) -> str:
    """A database name as it may appear in SQL text (no quoting games: letters, digits, ``_``)."""
    if not _IDENT.match(name):
        raise ValueError(f"invalid database name {name!r}: use letters, digits and '_' only")
    return name


def create_database(db: str) -> str:
    return f"CREATE DATABASE IF NOT EXISTS {check_identifier(db)}"


def create_table(db: str) -> str:
    return f"""CREATE TABLE IF NOT EXISTS {check_identifier(db)}.{TABLE}
(
    event_id UUID,
    user_id UInt64,
    item_id UInt64,
    type String,
    value Float32,
    ts DateTime,
    ingested_at DateTime
)
ENGINE = ReplacingMergeTree(ingested_at)
ORDER BY (user_id, item_id, event_id)"""


def create_forgotten(db: str) -> str:
    return f"""CREATE TABLE IF NOT EXISTS {check_identifier(db)}.{FORGOTTEN}
(
    user_id UInt64,
    forgotten_at DateTime
)
ENGINE = ReplacingMergeTree(forgotten_at)
ORDER BY user_id"""


def insert_forgotten_prefix(db: str) -> str:
    """``INSERT INTO db.forgotten_users (user_id, forgotten_at)``: the marker row goes in as data
    (a native block or a TSV line), like every insert here (inline VALUES hang 18.16)."""
    return f"INSERT INTO {check_identifier(db)}.{FORGOTTEN} (user_id, forgotten_at)"


def delete_user(db: str, user_id: int) -> str:
    """The deletion: a mutation, applied in the background by the server (reads filter meanwhile)."""
    return f"ALTER TABLE {check_identifier(db)}.{TABLE} DELETE WHERE user_id = {int(user_id)}"


def forgotten(db: str) -> str:
    return f"SELECT DISTINCT user_id FROM {check_identifier(db)}.{FORGOTTEN}"


def _not_forgotten(db: str) -> str:
    return f"user_id NOT IN (SELECT user_id FROM {check_identifier(db)}.{FORGOTTEN})"


def insert_prefix(db: str) -> str:
    """``INSERT INTO db.interactions (cols)``: clickhouse-driver appends ``VALUES`` + a columnar block,
    chDB a ``FORMAT TabSeparated`` stream."""
    return f"INSERT INTO {check_identifier(db)}.{TABLE} ({', '.join(INSERT_COLUMNS)})"


def unix_seconds(ts: datetime) -> int:
    """Seconds since the epoch; a naive datetime is taken as UTC (the store's convention)."""
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    return int(ts.timestamp())


def _watermark(until: datetime | None, since: datetime | None, db: str) -> str:
    # toDateTime(<int>) is timezone independent; ints are rendered by us, never user text.
    conds = [_not_forgotten(db)]
    if until is not None:
        conds.append(f"ts <= toDateTime({unix_seconds(until)})")
    if since is not None:
        conds.append(f"ts > toDateTime({unix_seconds(since)})")
    return "WHERE " + " AND ".join(conds)


def extract(db: str, until: datetime | None = None, since: datetime | None = None) -> str:
    """Deduplicated events with ``since < ts <= until`` (either bound optional); ``ts`` as unix
    seconds (``ts_unix``) and ``event_id`` as text, so both engines return the same plain types."""
    return (
        "SELECT toString(event_id) AS event_id, user_id, item_id, type, value, "
        f"toUInt32(ts) AS ts_unix FROM {check_identifier(db)}.{TABLE} FINAL {_watermark(until, since, db)}"
    ).rstrip()


def user_events(db: str, user_id: int, since: datetime | None = None) -> str:
    """One viewer's deduplicated events after ``since``: a point read on the sort key's first column."""
    conds = [f"user_id = {int(user_id)}", _not_forgotten(db)]
    if since is not None:
        conds.append(f"ts > toDateTime({unix_seconds(since)})")
    return (
        "SELECT toString(event_id) AS event_id, user_id, item_id, type, value, "
        f"toUInt32(ts) AS ts_unix FROM {check_identifier(db)}.{TABLE} FINAL WHERE {' AND '.join(conds)}"
    )


def active_users(db: str, since: datetime) -> str:
    """Distinct viewers with an event after ``since`` (duplicates don't matter here: no FINAL)."""
    return (
        f"SELECT DISTINCT user_id FROM {check_identifier(db)}.{TABLE} "
        f"WHERE ts > toDateTime({unix_seconds(since)}) AND {_not_forgotten(db)}"
    )


def count(db: str) -> str:
    """Number of distinct events (after deduplication), forgotten viewers' excluded."""
    return f"SELECT count() FROM {check_identifier(db)}.{TABLE} FINAL WHERE {_not_forgotten(db)}"


def max_ts(db: str) -> str:
    """Latest event time (unix seconds; 0 when empty): a natural next watermark."""
    return f"SELECT toUInt32(max(ts)) FROM {check_identifier(db)}.{TABLE}"


# ---------------------------------------------------------------- shapes shared by both transports
def event_columns(events: Sequence[Event], ingested_at: int) -> list[list[Any]]:
    """Columns in :data:`sql.INSERT_COLUMNS` order; times as unix seconds, missing values as NaN."""
    nan = math.nan
    return [
        [e.event_id for e in events],
        [e.user_id for e in events],
        [e.item_id for e in events],
        [e.type.value for e in events],
        [nan if e.value is None else e.value for e in events],
        [int(e.ts.timestamp()) for e in events],
        [ingested_at] * len(events),
    ]


def frame_from_columns(event_id: Any, user_id: Any, item_id: Any, type_: Any, value: Any, ts_unix: Any) -> pd.DataFrame:
    """The :meth:`extract` frame, same dtypes whatever engine produced the columns."""
    return pd.DataFrame(
        {
            "event_id": pd.Series(event_id, dtype=object),
            "user_id": pd.Series(user_id, dtype=np.int64),
            "item_id": pd.Series(item_id, dtype=np.int64),
            "type": pd.Series(type_, dtype=object),
            "value": pd.Series(value, dtype=np.float32),
            "ts": pd.to_datetime(pd.Series(ts_unix, dtype=np.int64), unit="s"),
        }
    )
