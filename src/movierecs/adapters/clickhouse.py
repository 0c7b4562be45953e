"""ClickHouse server store (``clickhouse://[user[:password]@]host[:port]/db``), native protocol.

The password comes from the URL or, when the URL has none, from ``password`` (``CLICKHOUSE_PASSWORD``
through Settings); messages name the server as ``user@host:port``, never with the password.

Talks to any ClickHouse from Debian's 18.16 on through ``clickhouse-driver`` (clickhouse-connect
cannot talk to 18.16). Inserts are columnar native blocks (``INSERT ... VALUES`` + data, never
inline values: those hang against 18.16); reads come back as NumPy columns.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd
from pydantic import SecretStr

from movierecs.adapters import sql_interactions as sql
from movierecs.events import Event
from movierecs.exceptions import StoreUnavailableError, UnsupportedUrlError
from movierecs.urls import redact

DEFAULT_PORT = 9000
DEFAULT_DATABASE = "movierecs"
# UNKNOWN_USER, WRONG_PASSWORD, REQUIRED_PASSWORD, IP_ADDRESS_NOT_ALLOWED, AUTHENTICATION_FAILED
AUTH_ERROR_CODES = frozenset({192, 193, 194, 195, 516})


def parse_clickhouse_url(url: str) -> dict[str, Any]:
    """``clickhouse://user:pw@host:port/db`` -> connection keywords (``database`` separately)."""
    parts = urlsplit(url)
    if parts.scheme != "clickhouse":
        raise UnsupportedUrlError(f"not a clickhouse:// URL: {redact(url)!r}")
    if not parts.hostname:
        raise UnsupportedUrlError(f"clickhouse URL needs a host: {redact(url)!r} (clickhouse://host:port/db)")
    database = parts.path.strip("/") or DEFAULT_DATABASE
    return {
        "host": parts.hostname,
        "port": parts.port or DEFAULT_PORT,
        "user": unquote(parts.username) if parts.username else "default",
        "password": unquote(parts.password) if parts.password else "",
        "database": sql.check_identifier(database),
    }


class ClickHouseInteractionStore:
    """:class:`~movierecs.ports.InteractionStore` on a ClickHouse server."""

    def __init__(
        self,
        url: str,
        *,
        password: SecretStr | str | None = None,
        connect_timeout: float = 5.0,
        send_receive_timeout: float = 300.0,
    ):
        self.url = redact(url)  # what may be shown; the password stays in _conf
        conf = parse_clickhouse_url(url)
        self.database: str = conf.pop("database")
        if not conf["password"] and password is not None:
            conf["password"] = password.get_secret_value() if isinstance(password, SecretStr) else password
        self._conf = conf
        self._connect_timeout = connect_timeout
        self._send_receive_timeout = send_receive_timeout
        self._client: Any = None
        self._lock = threading.Lock()  # a clickhouse-driver Client is not thread-safe

    # ------------------------------------------------------------------ plumbing
    def _get_client(self) -> Any:
        if self._client is None:
            from clickhouse_driver import Client

            # Connect to `default`: our database may not exist before migrate(); queries name it.
            self._client = Client(
                **self._conf,
                database="default",
                connect_timeout=self._connect_timeout,
                send_receive_timeout=self._send_receive_timeout,
                sync_request_timeout=self._connect_timeout,
                compression=False,
                settings={"insert_block_size": 1_048_576},
            )
        return self._client

    def _run(self, query: str, data: Any = None, **kwargs: Any) -> Any:
        from clickhouse_driver import errors

        with self._lock:
            client = self._get_client()
            try:
                if data is None:
                    return client.execute(query, **kwargs)
                return client.execute(query, data, **kwargs)
            except (errors.NetworkError, errors.SocketTimeoutError, EOFError, OSError) as exc:
                client.disconnect()
                raise StoreUnavailableError(
                    f"ClickHouse at {self._where()} is unreachable ({exc.__class__.__name__}: {self._clean(exc)}); "
                    "start it (make stack-up) or fix MOVIERECS_INTERACTIONS_URL"
                ) from exc
            except errors.ServerException as exc:
                if exc.code not in AUTH_ERROR_CODES:
                    raise
                client.disconnect()
                raise StoreUnavailableError(
                    f"ClickHouse at {self._where()} refused the credentials (code {exc.code}); set the password "
                    "in CLICKHOUSE_PASSWORD (or the user in MOVIERECS_INTERACTIONS_URL)"
                ) from exc

    def _where(self) -> str:
        return f"{self._conf['user']}@{self._conf['host']}:{self._conf['port']}"

    def _clean(self, exc: BaseException) -> str:
        """The exception's text with the password masked (drivers may echo their arguments)."""
        text, password = str(exc), self._conf["password"]
        return text.replace(password, "***") if password else text

    # ------------------------------------------------------------------ port
    def migrate(self) -> None:
        self._run(sql.create_database(self.database))
        self._run(sql.create_table(self.database))
        self._run(sql.create_forgotten(self.database))

    def write(self, events: Sequence[Event]) -> int:
        if not events:
            return 0
        columns = sql.event_columns(events, int(time.time()))
        self._run(sql.insert_prefix(self.database) + " VALUES", columns, columnar=True, types_check=False)
        return len(events)

    def extract(self, until: datetime | None = None, since: datetime | None = None) -> pd.DataFrame:
        cols = self._run(sql.extract(self.database, until, since), columnar=True, settings={"use_numpy": True})
        if not cols:  # no rows: the driver returns an empty list, not empty columns
            cols = [[] for _ in sql.EXTRACT_COLUMNS]
        return sql.frame_from_columns(*cols)

    def user_events(self, user_id: int, since: datetime | None = None) -> pd.DataFrame:
        cols = self._run(sql.user_events(self.database, user_id, since), columnar=True, settings={"use_numpy": True})
        return sql.frame_from_columns(*(cols or [[] for _ in sql.EXTRACT_COLUMNS]))

    def active_users(self, since: datetime) -> np.ndarray:
        cols = self._run(sql.active_users(self.database, since), columnar=True, settings={"use_numpy": True})
        return np.unique(np.asarray(cols[0], dtype=np.int64)) if cols else np.empty(0, dtype=np.int64)

    def forget_user(self, user_id: int, at: datetime) -> None:
        marker = [[int(user_id)], [sql.unix_seconds(at)]]
        self._run(sql.insert_forgotten_prefix(self.database) + " VALUES", marker, columnar=True, types_check=False)
        self._run(sql.delete_user(self.database, user_id))

    def forgotten_users(self) -> np.ndarray:
        rows = self._run(sql.forgotten(self.database))
        return np.unique(np.asarray([r[0] for r in rows], dtype=np.int64))

    def count(self) -> int:
        return int(self._run(sql.count(self.database))[0][0])

    def max_ts(self) -> datetime | None:
        """Latest stored event time (naive UTC), ``None`` when empty."""
        seconds = int(self._run(sql.max_ts(self.database))[0][0])
        return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None) if seconds else None

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.disconnect()
                self._client = None


__all__ = ["ClickHouseInteractionStore", "parse_clickhouse_url"]
