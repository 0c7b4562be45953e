"""Pure parts of the consumer: sort a batch, dead-letter envelopes, offsets, batching, backoff, lag.

No I/O and no clock here: time is a parameter, so every rule is unit-tested without a broker. Records
are decoded by the one event codec, :func:`movierecs.events.decode`.

Examples
--------
>>> from types import SimpleNamespace as Rec
>>> batch = [Rec(topic="t", partition=0, offset=7, key=b"1", timestamp=0,
...              value=b'{"user_id": 1, "item_id": 2, "type": "like"}'),
...          Rec(topic="t", partition=0, offset=8, key=b"1", timestamp=0, value=b"{oops"),
...          Rec(topic="t", partition=0, offset=9, key=b"5", timestamp=0, value=None)]  # a tombstone
>>> split = split_batch(batch)
>>> len(split.events), [r.reason.value for _, r in split.rejected], split.forgotten
(1, ['bad_json'], [(5, 0)])
>>> next_offsets(batch)
{('t', 0): 10}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from movierecs.events import Event, Rejection, decode, tombstone_user
from movierecs.ports import StreamRecord


def dlq_headers(record: StreamRecord, rejection: Rejection) -> list[tuple[str, bytes]]:
    """Headers of a dead-letter record; its value is the original bytes, its key the original key."""
    return [
        ("movierecs.reason", rejection.reason.value.encode()),
        ("movierecs.error", rejection.error.encode()),
        ("movierecs.source.topic", record.topic.encode()),
        ("movierecs.source.partition", str(record.partition).encode()),
        ("movierecs.source.offset", str(record.offset).encode()),
        ("movierecs.source.timestamp", str(record.timestamp).encode()),
    ]


@dataclass(slots=True)
class Split:
    """A batch of records sorted into events to store, viewers to forget (tombstones, with the
    record's time in ms) and records to dead-letter."""

    events: list[Event]
    rejected: list[tuple[StreamRecord, Rejection]]
    forgotten: list[tuple[int, int]] = field(default_factory=list)


def split_batch(records: Iterable[StreamRecord]) -> Split:
    events: list[Event] = []
    rejected: list[tuple[StreamRecord, Rejection]] = []
    forgotten: list[tuple[int, int]] = []
    for record in records:
        user_id = tombstone_user(record.key, record.value)
        if user_id is not None:
            forgotten.append((user_id, record.timestamp))
            continue
        decoded = decode(record.value)
        if isinstance(decoded, Rejection):
            rejected.append((record, decoded))
        else:
            events.append(decoded)
    return Split(events, rejected, forgotten)


def next_offsets(records: Iterable[StreamRecord]) -> dict[tuple[str, int], int]:
    """Offsets to commit once ``records`` are handled: per partition, the highest offset + 1."""
    out: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        if record.offset + 1 > out.get(key, -1):
            out[key] = record.offset + 1
    return out


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    """Flush when ``max_size`` records are collected or the oldest one waited ``max_wait_s``."""

    max_size: int = 10_000
    max_wait_s: float = 0.5

    def __post_init__(self) -> None:
        if self.max_size < 1 or self.max_wait_s < 0:
            raise ValueError("max_size must be >= 1 and max_wait_s >= 0")

    def full(self, size: int) -> bool:
        return size >= self.max_size

    def due(self, size: int, first_at: float | None, now: float) -> bool:
        """Whether a batch of ``size`` records whose first arrived at ``first_at`` must flush now."""
        if size == 0 or first_at is None:
            return False
        return self.full(size) or now - first_at >= self.max_wait_s

    def wait_s(self, size: int, first_at: float | None, now: float, idle_s: float = 0.5) -> float:
        """How long the next fetch may block: the batch's remaining time, or ``idle_s`` when empty."""
        if size == 0 or first_at is None:
            return idle_s
        return max(0.0, self.max_wait_s - (now - first_at))


@dataclass(frozen=True, slots=True)
class Backoff:
    """Capped exponential backoff: ``initial_s * factor**attempt``, at most ``max_s``."""

    initial_s: float = 0.2
    factor: float = 2.0
    max_s: float = 5.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_s, self.initial_s * self.factor ** max(attempt, 0)))


def lag(highwaters: dict[int, int | None], positions: dict[int, int]) -> dict[int, int]:
    """Per partition, records behind the end: ``highwater - position`` (never negative)."""
    return {p: max(0, hw - positions[p]) for p, hw in highwaters.items() if hw is not None and p in positions}
