"""PostgreSQL catalog (``postgresql://user[:password]@host:port/db``) on asyncpg.

Tables (DESIGN.md §3, Stores): ``items(item_id BIGINT PK, title TEXT, year INT NULL, genres TEXT[])``
and ``users(user_id BIGINT PK, age INT NULL, gender TEXT NULL, occupation TEXT NULL)``, created
idempotently by :meth:`PostgresCatalog.migrate`. Bulk upserts COPY into a temporary table, then
``INSERT ... ON CONFLICT DO UPDATE`` (one round trip per batch, whatever its size). The password
comes from the URL or, when it has none, from ``password`` (``PGPASSWORD`` through Settings); messages
name the server as ``host:port/db``, never with the password.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import unquote, urlsplit

import pandas as pd
from pydantic import SecretStr

from movierecs.adapters.sqlite import item_records, items_frame, user_dict, user_records, users_frame
from movierecs.exceptions import StoreUnavailableError, UnsupportedUrlError
from movierecs.urls import redact

MIGRATIONS = (
    """CREATE TABLE IF NOT EXISTS items (
        item_id BIGINT PRIMARY KEY,
        title TEXT NOT NULL DEFAULT '',
        year INT NULL,
        genres TEXT[] NOT NULL DEFAULT '{}'
    )""",
    """CREATE TABLE IF NOT EXISTS users (
        user_id BIGINT PRIMARY KEY,
        age INT NULL,
        gender TEXT NULL,
        occupation TEXT NULL
    )""",
)

UPSERT_ITEMS = """INSERT INTO items (item_id, title, year, genres)
SELECT item_id, title, year, genres FROM _items_in
ON CONFLICT (item_id) DO UPDATE SET title = EXCLUDED.title, year = EXCLUDED.year, genres = EXCLUDED.genres"""

UPSERT_USERS = """INSERT INTO users (user_id, age, gender, occupation)
SELECT user_id, age, gender, occupation FROM _users_in
ON CONFLICT (user_id) DO UPDATE
SET age = EXCLUDED.age, gender = EXCLUDED.gender, occupation = EXCLUDED.occupation"""

PUT_USER = """INSERT INTO users (user_id, age, gender, occupation) VALUES ($1, $2, $3, $4)
ON CONFLICT (user_id) DO UPDATE
SET age = EXCLUDED.age, gender = EXCLUDED.gender, occupation = EXCLUDED.occupation"""


class PostgresCatalog:
    """:class:`~movierecs.ports.Catalog` on PostgreSQL (a small asyncpg pool, created lazily)."""

    def __init__(
        self,
        url: str,
        *,
        password: SecretStr | str | None = None,
        min_size: int = 1,
        max_size: int = 4,
        timeout: float = 10.0,
    ):
        if not url.startswith(("postgresql://", "postgres://")):
            raise UnsupportedUrlError(f"not a postgresql:// URL: {redact(url)!r}")
        self.url = redact(url)  # what may be shown; the DSN stays private
        self._dsn = url
        self._password = password.get_secret_value() if isinstance(password, SecretStr) else password
        if urlsplit(url).password:  # the URL's own password wins (asyncpg would prefer the argument)
            self._password = None
        self._min_size = min_size
        self._max_size = max_size
        self._timeout = timeout
        self._pool: Any = None
        self._pool_lock: asyncio.Lock | None = None

    def _where(self) -> str:
        return self.url.rsplit("@", 1)[-1]  # never echo a password

    def _clean(self, exc: BaseException) -> str:
        """The exception's text with the password masked (drivers may echo their arguments)."""
        text = redact(str(exc))
        for secret in (self._password, unquote(urlsplit(self._dsn).password or "")):
            if secret:
                text = text.replace(secret, "***")
        return text

    async def _get_pool(self) -> Any:
        if self._pool is not None:
            return self._pool
        if self._pool_lock is None:
            self._pool_lock = asyncio.Lock()
        async with self._pool_lock:
            if self._pool is None:
                import asyncpg

                try:
                    # asyncpg takes the URL's password first, then this one (None: libpq's PGPASSWORD)
                    self._pool = await asyncpg.create_pool(
                        self._dsn,
                        password=self._password,
                        min_size=self._min_size,
                        max_size=self._max_size,
                        timeout=self._timeout,
                    )
                except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
                    raise StoreUnavailableError(
                        f"PostgreSQL at {self._where()} refused the credentials ({exc.__class__.__name__}); "
                        "set the password in PGPASSWORD (or the user in MOVIERECS_CATALOG_URL)"
                    ) from exc
                except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                    raise StoreUnavailableError(
                        f"PostgreSQL at {self._where()} is unreachable ({exc.__class__.__name__}: {self._clean(exc)}); "
                        "start it (make stack-up) or fix MOVIERECS_CATALOG_URL"
                    ) from exc
        return self._pool

    async def _run(self, fn: Any) -> Any:
        """Run ``fn(connection)`` on a pooled connection; a lost server becomes StoreUnavailableError."""
        import asyncpg

        pool = await self._get_pool()
        try:
            async with pool.acquire() as conn:
                return await fn(conn)
        except (TimeoutError, OSError, asyncpg.exceptions.ConnectionDoesNotExistError) as exc:
            raise StoreUnavailableError(
                f"PostgreSQL at {self._where()} failed ({exc.__class__.__name__}: {self._clean(exc)})"
            ) from exc

    # ------------------------------------------------------------------ port
    async def migrate(self) -> None:
        async def go(conn: Any) -> None:
            async with conn.transaction():
                # Serialise concurrent migrations (API replicas starting together).
                await conn.execute("SELECT pg_advisory_xact_lock(7263541)")
                for ddl in MIGRATIONS:
                    await conn.execute(ddl)

        await self._run(go)

    async def upsert_items(self, items: pd.DataFrame) -> int:
        records = item_records(items)
        if not records:
            return 0

        async def go(conn: Any) -> None:
            async with conn.transaction():
                await conn.execute(
                    "CREATE TEMP TABLE _items_in (item_id BIGINT, title TEXT, year INT, genres TEXT[]) ON COMMIT DROP"
                )
                await conn.copy_records_to_table("_items_in", records=records)
                await conn.execute(UPSERT_ITEMS)

        await self._run(go)
        return len(records)

    async def upsert_users(self, users: pd.DataFrame) -> int:
        records = user_records(users)
        if not records:
            return 0

        async def go(conn: Any) -> None:
            async with conn.transaction():
                await conn.execute(
                    "CREATE TEMP TABLE _users_in (user_id BIGINT, age INT, gender TEXT, occupation TEXT) ON COMMIT DROP"
                )
                await conn.copy_records_to_table("_users_in", records=records)
                await conn.execute(UPSERT_USERS)

        await self._run(go)
        return len(records)

    async def put_user(self, user_id: int, age: int | None, gender: str | None, occupation: str | None) -> None:
        (record,) = user_records(
            pd.DataFrame([{"user_id": user_id, "age": age, "gender": gender, "occupation": occupation}])
        )

        async def go(conn: Any) -> None:
            await conn.execute(PUT_USER, *record)

        await self._run(go)

    async def delete_user(self, user_id: int) -> bool:
        async def go(conn: Any) -> str:
            status: str = await conn.execute("DELETE FROM users WHERE user_id = $1", user_id)
            return status

        return str(await self._run(go)).strip() != "DELETE 0"

    async def items(self) -> pd.DataFrame:
        async def go(conn: Any) -> list[Any]:
            rows: list[Any] = await conn.fetch("SELECT item_id, title, year, genres FROM items ORDER BY item_id")
            return rows

        rows = await self._run(go)
        return items_frame([(r[0], r[1], r[2], list(r[3] or [])) for r in rows])

    async def users(self) -> pd.DataFrame:
        async def go(conn: Any) -> list[Any]:
            rows: list[Any] = await conn.fetch("SELECT user_id, age, gender, occupation FROM users ORDER BY user_id")
            return rows

        rows = await self._run(go)
        return users_frame([tuple(r) for r in rows])

    async def get_user(self, user_id: int) -> dict[str, object] | None:
        async def go(conn: Any) -> Any:
            return await conn.fetchrow("SELECT age, gender, occupation FROM users WHERE user_id = $1", user_id)

        row = await self._run(go)
        return None if row is None else user_dict(row[0], row[1], row[2])

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


__all__ = ["PostgresCatalog"]
