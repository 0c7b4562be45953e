"""In-process bus for the embedded mode: publish appends to a bounded log, tailers replay it, and
:class:`MemoryEventStream` feeds it to the consumer (the embedded sink into the interaction store)."""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from movierecs.events import Event, Forget, Rejection
from movierecs.exceptions import BusUnavailableError

if TYPE_CHECKING:
    from movierecs.ports import StreamRecord

log = logging.getLogger(__name__)

#: The ``topic`` of records read from the in-process bus.
MEMORY_TOPIC = "memory"


class MemoryEventBus:
    """Every tailer sees every event (like API replicas tailing all Kafka partitions).

    Like Kafka's record timestamps, the log remembers when each event was published: :meth:`tail`
    starts at the first event published at or after ``since``, whatever time the event itself says.
    """

    def __init__(self, max_events: int = 100_000, clock: Callable[[], float] = time.time) -> None:
        # the log only has to outlive its readers' lag (the replica's tail and the embedded sink
        # read it as it grows): 1M events held ~0.8 GB of Event objects in the API process
        self._log: list[Event | Forget] = []
        self._published: list[float] = []  # unix seconds, parallel to _log (non-decreasing)
        self._max = max_events
        self._offset = 0  # absolute offset of _log[0]
        self._changed = asyncio.Condition()
        self._running = False
        self._clock = clock

    async def start(self) -> None:
        self._running = True

    async def stop(self) -> None:
        self._running = False
        async with self._changed:
            self._changed.notify_all()

    async def forget(self, user_id: int) -> None:
        """Publish a viewer's tombstone (every tailer and the embedded sink see it)."""
        await self.publish([Forget(user_id)])

    async def publish(self, events: Sequence[Event | Forget]) -> None:
        if not self._running:
            raise BusUnavailableError("the in-process event bus is stopped")
        async with self._changed:
            now = self._clock()
            self._log.extend(events)
            self._published.extend([now] * len(events))
            if len(self._log) > self._max:
                drop = len(self._log) - self._max
                del self._log[:drop]
                del self._published[:drop]
                self._offset += drop
            self._changed.notify_all()

    async def tail(self, since: datetime) -> AsyncIterator[Event | Forget]:
        """Every event published at or after ``since``, then new ones, until the bus stops."""
        position = self._offset + bisect.bisect_left(self._published, since.timestamp())
        while self._running:
            async with self._changed:
                position = max(position, self._offset)
                if position - self._offset >= len(self._log):
                    await self._changed.wait()
                batch = self._log[position - self._offset :]
                position += len(batch)
            for event in batch:
                yield event


@dataclass(frozen=True, slots=True)
class MemoryRecord:
    """One event of the in-process log as a :class:`~movierecs.ports.StreamRecord` (one partition)."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None


def _record(offset: int, item: Event | Forget, published: float) -> MemoryRecord:
    """A Kafka-shaped record: an event's JSON, or a tombstone (key = the viewer, no value)."""
    if isinstance(item, Forget):
        return MemoryRecord(MEMORY_TOPIC, 0, offset, int(published * 1000), str(item.user_id).encode(), None)
    return MemoryRecord(MEMORY_TOPIC, 0, offset, int(item.ts.timestamp() * 1000), item.kafka_key(), item.to_json())


class MemoryEventStream:
    """:class:`~movierecs.ports.EventStream` over a :class:`MemoryEventBus`, from the start of its log.

    Commits are remembered in memory only: the embedded process holds the bus, so a restart starts
    from an empty log anyway. There is no dead-letter topic in process: invalid records (which the
    API never publishes) are logged, counted in ``dead_lettered`` and dropped.
    """

    def __init__(self, bus: MemoryEventBus) -> None:
        self.bus = bus
        self.position = bus._offset  # absolute offset of the next event to read
        self.committed = bus._offset
        self.dead_lettered = 0

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def read(self, max_records: int, timeout_s: float) -> Sequence[StreamRecord]:
        """Up to ``max_records`` events after the last read; waits up to ``timeout_s`` for one."""
        bus = self.bus
        async with bus._changed:
            if self.position - bus._offset >= len(bus._log):
                try:
                    await asyncio.wait_for(bus._changed.wait(), timeout=timeout_s)
                except TimeoutError:
                    return []
            if self.position < bus._offset:
                log.warning("the in-process bus dropped %d events before they were stored", bus._offset - self.position)
                self.position = bus._offset
            start = self.position - bus._offset
            events = bus._log[start : start + max(max_records, 0)]
            published = bus._published[start : start + max(max_records, 0)]
            first = self.position
            self.position += len(events)
        return [_record(first + i, event, at) for i, (event, at) in enumerate(zip(events, published, strict=True))]

    async def hold(self) -> None:
        pass  # nothing is fetched between reads, and there is no group to stay in

    async def release(self) -> None:
        pass

    async def commit(self, records: Sequence[StreamRecord]) -> None:
        for record in records:
            self.committed = max(self.committed, record.offset + 1)

    async def dead_letter(self, rejected: Sequence[tuple[StreamRecord, Rejection]]) -> None:
        self.dead_lettered += len(rejected)
        log.warning(
            "no dead-letter topic in process: dropped %d invalid record(s); first: %s",
            len(rejected),
            rejected[0][1].error[:200] if rejected else "",
        )

    def lag(self) -> dict[int, int]:
        return {0: max(0, self.bus._offset + len(self.bus._log) - self.position)}
