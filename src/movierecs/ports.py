"""Ports: the narrow interfaces the core talks to. Adapters live in :mod:`movierecs.adapters`.

Backends are chosen by URL scheme in :mod:`movierecs.composition`, the one place where Settings
become adapters. Each port is either sync or async as a whole: the ones called on an event loop
(:class:`Catalog`, :class:`EventBus`, :class:`EventStream`) are async and never block it; the ones
that do batch work (:class:`InteractionStore`, :class:`ModelRegistry`) are sync, and async callers
run them in a worker thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from movierecs.events import Event, Forget, Rejection


class InteractionStore(Protocol):
    """Append-only, idempotent (on ``event_id``) store of interaction events.

    ``extract`` returns a deduplicated frame with columns
    ``event_id, user_id, item_id, type, value, ts`` (``ts`` naive UTC), bounded by a watermark;
    ``user_events`` the same frame for one viewer (a point read: the sort key starts with
    ``user_id``); ``active_users`` the sorted distinct viewers with an event after ``since``.
    ``forget_user`` deletes a viewer's events and records that they were forgotten: every read
    (extract, user_events, active_users, count) leaves them out from then on, even if a replayed
    topic writes their old events again; ``forgotten_users`` lists them.
    """

    def migrate(self) -> None: ...

    def write(self, events: Sequence[Event]) -> int: ...

    def extract(self, until: datetime | None = None, since: datetime | None = None) -> pd.DataFrame: ...

    def user_events(self, user_id: int, since: datetime | None = None) -> pd.DataFrame: ...

    def active_users(self, since: datetime) -> np.ndarray: ...

    def forget_user(self, user_id: int, at: datetime) -> None: ...

    def forgotten_users(self) -> np.ndarray: ...

    def count(self) -> int: ...

    def close(self) -> None: ...


class Catalog(Protocol):
    """Titles and viewers' demographics (async: the API calls it on its event loop; an adapter over
    a blocking driver runs it in a worker thread)."""

    async def migrate(self) -> None: ...

    async def upsert_items(self, items: pd.DataFrame) -> int: ...

    async def upsert_users(self, users: pd.DataFrame) -> int: ...

    async def items(self) -> pd.DataFrame: ...

    async def users(self) -> pd.DataFrame: ...

    async def get_user(self, user_id: int) -> dict[str, object] | None: ...

    async def put_user(self, user_id: int, age: int | None, gender: str | None, occupation: str | None) -> None: ...

    async def delete_user(self, user_id: int) -> bool: ...

    async def close(self) -> None: ...


class EventBus(Protocol):
    """Carries events from the API to the consumer and to every API replica.

    ``publish`` returns only once the bus acknowledged every event, else raises
    :class:`~movierecs.exceptions.BusUnavailableError` (never a silent drop). ``forget`` publishes a
    viewer's tombstone the same way. ``tail`` yields every event and tombstone (:class:`Forget`)
    published since ``since`` (all partitions, no consumer group): each replica sees every like.
    """

    async def start(self) -> None: ...

    async def publish(self, events: Sequence[Event]) -> None: ...

    async def forget(self, user_id: int) -> None: ...

    def tail(self, since: datetime) -> AsyncIterator[Event | Forget]: ...

    async def stop(self) -> None: ...


class StreamRecord(Protocol):
    """One record of an :class:`EventStream` (aiokafka's ConsumerRecord fits)."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def timestamp(self) -> int: ...

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...


class EventStream(Protocol):
    """A consumer group's view of the event log: read batches, commit after a successful write.

    At least once: after a crash, reading resumes at the last commit. ``start`` raises
    :class:`~movierecs.exceptions.BusUnavailableError` when the bus cannot be reached (the
    consumer retries with backoff) and leaves nothing running then. ``read`` returns at most
    ``max_records`` records, waiting at most ``timeout_s`` for any (never a busy loop).
    ``hold`` is called again and again (about every 0.1 s) while a batch is being written and
    that takes long (e.g. the store is down): the stream fetches nothing new but keeps its group
    membership, buffers anything that arrives for the next ``read`` and keeps ``lag`` fresh;
    ``release`` ends that. ``commit`` stores the offsets after ``records`` (per partition, the
    highest + 1) and raises BusUnavailableError when that failed (the records are redelivered).
    ``dead_letter`` returns once every rejected record was set aside with its reason; any error
    it raises makes the consumer retry. ``lag`` is, per partition, how many records lie past the
    read position.
    """

    async def start(self) -> None: ...

    async def read(self, max_records: int, timeout_s: float) -> Sequence[StreamRecord]: ...

    async def hold(self) -> None: ...

    async def release(self) -> None: ...

    async def commit(self, records: Sequence[StreamRecord]) -> None: ...

    async def dead_letter(self, rejected: Sequence[tuple[StreamRecord, Rejection]]) -> None: ...

    def lag(self) -> dict[int, int]: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class RegisteredVersion:
    """A model version in the registry: its run's metrics and the version's tags."""

    version: str
    run_id: str
    metrics: dict[str, float]
    tags: dict[str, str]


@dataclass(frozen=True)
class TrainingData:
    """The data a run was fit on, logged as the run's dataset input (runs are searchable by ``digest``).

    ``digest`` is the interactions' fingerprint; ``source`` where they came from (a folder, a file,
    a store URL without credentials); ``profile`` counts and the watermark; ``sample`` a few rows,
    for the schema only.
    """

    name: str
    digest: str
    source: str
    profile: Mapping[str, Any]
    sample: pd.DataFrame


@dataclass(frozen=True)
class AliasMove:
    """One move of an alias, as the registry recorded it (newest last in :meth:`ModelRegistry.alias_history`)."""

    alias: str
    version: str
    previous: str | None
    reason: str
    at: str  # ISO-8601 UTC


class ModelRegistry(Protocol):
    """Versions of one registered model, their runs, and aliases (``champion``...) with their history.

    ``log_training`` logs a run (``artifacts``: extra folders, e.g. the hold-out bundle the gate
    scores; ``dataset``: the training data as the run's dataset input) and registers the bundle;
    ``annotate`` adds metrics, tags and small files (text, or bytes such as a PNG; e.g.
    ``gate/decision.json``) to an existing version's run; ``set_alias`` records every move with its
    reason, newest last in ``alias_history``.
    """

    def log_training(
        self,
        bundle_dir: Path,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        plots: Mapping[str, Path] | None = None,
        tags: Mapping[str, str] | None = None,
        register: bool = True,
        artifacts: Mapping[str, Path] | None = None,
        dataset: TrainingData | None = None,
    ) -> RegisteredVersion: ...

    def version_for_alias(self, alias: str) -> RegisteredVersion | None: ...

    def get_version(self, version: str) -> RegisteredVersion: ...

    def latest_version(self) -> RegisteredVersion | None: ...

    def set_alias(self, alias: str, version: str, reason: str = "") -> None: ...

    def alias_history(self, alias: str) -> list[AliasMove]: ...

    def annotate(
        self, version: str, metrics: Mapping[str, float], tags: Mapping[str, str], files: Mapping[str, str | bytes]
    ) -> None: ...

    def download(self, uri: str, dest: Path | None = None) -> tuple[Path, str | None]: ...
