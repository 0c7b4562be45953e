"""Ports: the narrow interfaces the core talks to. Adapters live in :mod:`movierecs.adapters`.

Backends are chosen by URL scheme in :mod:`movierecs.adapters.factory`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Protocol

import pandas as pd

from movierecs.events import Event


class InteractionStore(Protocol):
    """Append-only, idempotent (on ``event_id``) store of interaction events.

    ``extract`` returns a deduplicated frame with columns
    ``event_id, user_id, item_id, type, value, ts`` (``ts`` naive UTC), bounded by a watermark.
    """

    def migrate(self) -> None: ...

    def write(self, events: Sequence[Event]) -> int: ...

    def extract(self, until: datetime | None = None, since: datetime | None = None) -> pd.DataFrame: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


class Catalog(Protocol):
    """Titles and viewers' demographics (async: the API calls it on its event loop)."""

    async def migrate(self) -> None: ...

    async def upsert_items(self, items: pd.DataFrame) -> int: ...

    async def upsert_users(self, users: pd.DataFrame) -> int: ...

    async def items(self) -> pd.DataFrame: ...

    async def users(self) -> pd.DataFrame: ...

    async def get_user(self, user_id: int) -> dict[str, object] | None: ...

    async def put_user(self, user_id: int, age: int | None, gender: str | None, occupation: str | None) -> None: ...

    async def close(self) -> None: ...


class EventBus(Protocol):
    """Carries events from the API to the consumer and to every API replica.

    ``publish`` returns only once the bus acknowledged every event, else raises
    :class:`~movierecs.exceptions.BusUnavailableError` (never a silent drop). ``tail`` yields every
    event published since ``since`` (all partitions, no consumer group): each replica sees every like.
    """

    async def start(self) -> None: ...

    async def publish(self, events: Sequence[Event]) -> None: ...

    def tail(self, since: datetime) -> AsyncIterator[Event]: ...

    async def stop(self) -> None: ...
