"""Contract of :class:`movierecs.ports.InteractionStore`, run against every backend.

- ``chdb``: embedded, always (a fresh folder per test; chDB allows one open folder per process, so each
  store is closed at teardown).
- ``clickhouse``: the local stack's server (Debian's 18.16), from ``MOVIERECS_INTERACTIONS_URL``
  (``scripts/test.sh`` sources ``.stack/env``); a fresh database per test, dropped at teardown.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest

from movierecs.composition import interaction_store as make_interaction_store
from movierecs.events import Event, EventType
from movierecs.exceptions import StoreUnavailableError, UnsupportedUrlError
from movierecs.ports import InteractionStore

T0 = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


def _server_url() -> str | None:
    url = os.environ.get("MOVIERECS_INTERACTIONS_URL", "")
    return url if url.startswith("clickhouse://") else None


@pytest.fixture(
    params=[
        "chdb",
        pytest.param(
            "clickhouse",
            marks=pytest.mark.skipif(
                _server_url() is None,
                reason="MOVIERECS_INTERACTIONS_URL=clickhouse://... not set: start the local stack "
                "(make stack-up; set -a; . .stack/env; set +a) — `make test` does both",
            ),
        ),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "chdb":
        yield f"chdb://{tmp_path / 'interactions.chdb'}"
        return
    from clickhouse_driver import Client

    base = _server_url()
    assert base is not None
    parts = urlsplit(base)
    db = f"contract_{uuid.uuid4().hex[:12]}"
    yield f"clickhouse://{parts.netloc}/{db}"
    client = Client(host=parts.hostname, port=parts.port or 9000)
    client.execute(f"DROP DATABASE IF EXISTS {db}")
    client.disconnect()


@pytest.fixture
def store(store_url: str) -> Iterator[InteractionStore]:
    s = make_interaction_store(store_url, os.environ.get("CLICKHOUSE_PASSWORD"))  # the stack's app user
    s.migrate()
    yield s
    s.close()


def _events(n: int, start: datetime = T0, users: int = 7) -> list[Event]:
    out = []
    for i in range(n):
        kind = [EventType.like, EventType.rating, EventType.watch, EventType.dislike][i % 4]
        out.append(
            Event(
                user_id=1 + i % users,
                item_id=100 + i,
                type=kind,
                value=float(1 + i % 5) if kind is EventType.rating else None,
                ts=start + timedelta(minutes=i),
            )
        )
    return out


def test_migrate_is_idempotent(store: InteractionStore) -> None:
    store.migrate()
    store.migrate()
    assert store.count() == 0
    frame = store.extract()
    assert list(frame.columns) == ["event_id", "user_id", "item_id", "type", "value", "ts"]
    assert len(frame) == 0


def test_write_then_extract_round_trips(store: InteractionStore) -> None:
    events = _events(40)
    assert store.write(events) == 40
    frame = store.extract().sort_values("item_id").reset_index(drop=True)
    assert len(frame) == 40
    assert str(frame["ts"].dtype) == "datetime64[ns]"  # naive UTC
    assert frame["user_id"].dtype == "int64"
    assert frame["item_id"].dtype == "int64"
    for row, event in zip(frame.itertuples(index=False), events, strict=True):
        assert row.event_id == str(event.event_id)
        assert (row.user_id, row.item_id, row.type) == (event.user_id, event.item_id, event.type.value)
        assert row.ts == pd.Timestamp(event.ts.replace(tzinfo=None))
        if event.value is None:
            assert math.isnan(row.value)  # no value (e.g. a like) reads back as NaN
        else:
            assert row.value == pytest.approx(event.value)


def test_timestamps_are_stored_in_utc(store: InteractionStore) -> None:
    plus2 = timezone(timedelta(hours=2))
    event = Event(user_id=1, item_id=2, type=EventType.like, ts=datetime(2024, 5, 1, 14, 30, tzinfo=plus2))
    store.write([event])
    (ts,) = store.extract()["ts"]
    assert ts == pd.Timestamp("2024-05-01 12:30:00")


def test_early_and_late_timestamps(store: InteractionStore) -> None:
    # MovieLens 100K is from 1997-98 (9-digit unix times); the Event bounds are 1970-01-02..2105-12-31.
    times = [
        datetime(1970, 1, 2, tzinfo=UTC),
        datetime(1997, 9, 20, 3, 5, 10, tzinfo=UTC),
        datetime(2105, 12, 31, tzinfo=UTC),
    ]
    store.write([Event(user_id=1, item_id=i + 1, type=EventType.watch, ts=ts) for i, ts in enumerate(times)])
    got = sorted(store.extract()["ts"])
    assert got == [pd.Timestamp(t.replace(tzinfo=None)) for t in times]


def test_duplicates_by_event_id_are_stored_once(store: InteractionStore) -> None:
    events = _events(30)
    store.write(events)
    store.write(events[:10])  # a redelivered batch (at-least-once consumer)
    store.write(events[5:15] + events[5:15])  # duplicates inside one batch too
    assert store.count() == 30
    frame = store.extract()
    assert len(frame) == 30
    assert frame["event_id"].is_unique
    assert set(frame["event_id"]) == {str(e.event_id) for e in events}


def test_extract_is_bounded_by_the_watermark(store: InteractionStore) -> None:
    events = _events(20)  # one a minute from T0
    store.write(events)
    until = T0 + timedelta(minutes=9)
    upto = store.extract(until=until)
    assert len(upto) == 10  # ts <= until: the event exactly at the watermark is included
    assert upto["ts"].max() == pd.Timestamp(until.replace(tzinfo=None))
    window = store.extract(until=until, since=T0 + timedelta(minutes=4))
    assert sorted(window["item_id"]) == [e.item_id for e in events[5:10]]  # since < ts <= until
    naive_until = (T0 + timedelta(minutes=2)).replace(tzinfo=None)  # naive means UTC
    assert len(store.extract(until=naive_until)) == 3
    assert len(store.extract(since=T0 + timedelta(minutes=17))) == 2


def test_user_events_is_one_viewers_deduplicated_events_after_since(store: InteractionStore) -> None:
    events = _events(70, users=7)  # viewer 1 gets events 0, 7, 14, ...
    store.write(events)
    store.write(events[:14])  # redelivered
    mine = store.user_events(1)
    assert sorted(mine["item_id"]) == [e.item_id for e in events if e.user_id == 1]
    assert mine["event_id"].is_unique
    assert list(mine.columns) == list(store.extract().columns)
    assert mine.dtypes.equals(store.extract().dtypes)
    since = T0 + timedelta(minutes=35)
    later = store.user_events(1, since=since)
    assert sorted(later["item_id"]) == [e.item_id for e in events if e.user_id == 1 and e.ts > since]
    assert store.user_events(999).empty


def test_active_users_are_the_distinct_viewers_after_since(store: InteractionStore) -> None:
    assert store.active_users(T0).tolist() == []
    store.write(_events(40, users=7))
    assert store.active_users(T0 - timedelta(minutes=1)).tolist() == list(range(1, 8))
    # minutes 35..39 are left after since: items 135..139 belong to viewers 1 + i % 7
    assert store.active_users(T0 + timedelta(minutes=34)).tolist() == sorted({1 + i % 7 for i in range(35, 40)})


def _raw_rows(store: InteractionStore, user_id: int) -> int:
    """Rows of a viewer in the table itself, past the port's filter (adapter internals, on purpose)."""
    query = f"SELECT count() FROM {store.database}.interactions WHERE user_id = {user_id}"  # type: ignore[attr-defined]
    if hasattr(store, "_query"):  # chDB
        return int(str(store._query(query)).strip())
    return int(store._run(query)[0][0])  # type: ignore[attr-defined]


def _until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """ALTER TABLE ... DELETE is a mutation: the server applies it in the background."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the deletion did not complete"
        time.sleep(0.1)


def test_a_forgotten_viewer_is_deleted_and_left_out_of_every_read(store: InteractionStore) -> None:
    events = _events(70, users=7)
    store.write(events)
    store.forget_user(3, T0 + timedelta(days=1))
    theirs = {str(e.event_id) for e in events if e.user_id == 3}
    assert store.forgotten_users().tolist() == [3]
    assert store.user_events(3).empty
    assert not theirs & set(store.extract()["event_id"])
    assert 3 not in store.active_users(T0 - timedelta(days=1)).tolist()
    assert store.count() == 60
    store.write([e for e in events if e.user_id == 3])  # a replayed topic writes them again
    assert store.user_events(3).empty
    assert store.count() == 60
    # the first rows are deleted, not only hidden (the re-written ones stay hidden by the marker)
    store.forget_user(3, T0 + timedelta(days=2))
    _until(lambda: _raw_rows(store, 3) == 0)
    assert sorted(store.extract()["user_id"].unique()) == [1, 2, 4, 5, 6, 7]


def test_count_and_empty_write(store: InteractionStore) -> None:
    assert store.write([]) == 0
    assert store.count() == 0
    store.write(_events(5))
    store.write(_events(3, start=T0 + timedelta(days=1)))
    assert store.count() == 8


def test_large_batch(store: InteractionStore) -> None:
    events = _events(20_000, users=500)
    assert store.write(events) == 20_000
    assert store.count() == 20_000
    frame = store.extract(until=T0 + timedelta(minutes=9_999))
    assert len(frame) == 10_000


def test_unknown_scheme_is_refused() -> None:
    for url in ("mysql://localhost/x", "interactions.db", "duckdb:///tmp/x"):
        with pytest.raises(UnsupportedUrlError):
            make_interaction_store(url)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_server_raises_store_unavailable() -> None:
    store = make_interaction_store(f"clickhouse://127.0.0.1:{_closed_port()}/movierecs")
    with pytest.raises(StoreUnavailableError, match=r"unreachable"):
        store.migrate()
    with pytest.raises(StoreUnavailableError):
        store.write(_events(1))
    store.close()


# ---- credentials (#15): the stack's ClickHouse authenticates its app user -------------------------
SECRET = "Sup3r-S3cret-pw"
needs_server = pytest.mark.skipif(_server_url() is None, reason="the local stack's ClickHouse is not configured")


def _assert_hidden(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, f"a password leaked into: {text!r}"


def test_an_unreachable_server_never_shows_the_password(caplog: pytest.LogCaptureFixture) -> None:
    url = f"clickhouse://movierecs:{SECRET}@127.0.0.1:{_closed_port()}/movierecs"
    store = make_interaction_store(url, "Other-S3cret")
    _assert_hidden(store.url, SECRET)  # type: ignore[attr-defined]
    with pytest.raises(StoreUnavailableError, match=r"unreachable") as caught:
        store.migrate()
    logging.getLogger("movierecs.test").exception("store down: %s", caught.value)
    _assert_hidden(str(caught.value) + repr(caught.value) + caplog.text, SECRET, "Other-S3cret")
    assert "movierecs@127.0.0.1" in str(caught.value)
    with pytest.raises(UnsupportedUrlError) as bad:
        make_interaction_store(f"clickhouse://movierecs:{SECRET}@/movierecs")  # no host
    _assert_hidden(str(bad.value), SECRET)


@needs_server
def test_the_password_comes_from_the_argument_when_the_url_has_none() -> None:
    base = _server_url()
    assert base is not None
    parts = urlsplit(base)
    password = os.environ.get("CLICKHOUSE_PASSWORD")
    if not parts.username or not password:
        pytest.skip("this stack's ClickHouse has no app user (scripts/stack.sh down; up)")
    store = make_interaction_store(base, password)
    try:
        store.migrate()  # the stack's own database: idempotent
        assert store.count() >= 0
    finally:
        store.close()
    assert password not in store.url  # type: ignore[attr-defined]


@needs_server
@pytest.mark.parametrize("how", ["no password", "wrong password in the URL", "wrong argument"])
def test_the_server_refuses_missing_or_wrong_credentials(how: str, caplog: pytest.LogCaptureFixture) -> None:
    base = _server_url()
    assert base is not None
    parts = urlsplit(base)
    if not parts.username or not os.environ.get("CLICKHOUSE_PASSWORD"):
        pytest.skip("this stack's ClickHouse has no app user (scripts/stack.sh down; up)")
    host = f"{parts.hostname}:{parts.port}"
    url, password = {
        "no password": (base, None),
        "wrong password in the URL": (f"clickhouse://{parts.username}:{SECRET}@{host}/movierecs", None),
        "wrong argument": (base, SECRET),
    }[how]
    store = make_interaction_store(url, password)
    with pytest.raises(StoreUnavailableError, match="refused the credentials") as caught:
        store.migrate()
    store.close()
    logging.getLogger("movierecs.test").exception("store down: %s", caught.value)
    _assert_hidden(str(caught.value) + caplog.text, SECRET, os.environ["CLICKHOUSE_PASSWORD"])
    assert "CLICKHOUSE_PASSWORD" in str(caught.value)
