"""In-process EventBus for the embedded mode: publish appends to a bounded log, tailers replay it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from movierecs.events import Event
from movierecs.exceptions import BusUnavailableError


class MemoryEventBus:
    """Every tailer sees every event (like API replicas tailing all Kafka partitions)."""

    def __init__(self, max_events: int = 1_000_000) -> None:
        self._log: list[Event] = []
        self._max = max_events
        self._offset = 0  # absolute offset of _log[0]
        self._changed = asyncio.Condition()
        self._running = False

    async def start(self) -> None:
        self._running = True

    async def stop(self) -> None:
        self._running = False
        async with self._changed:
            self._changed.notify_all()

    async def publish(self, events: Sequence[Event]) -> None:
        if not self._running:
            raise BusUnavailableError("the in-process event bus is stopped")
        async with self._changed:
            self._log.extend(events)
            if len(self._log) > self._max:
                drop = len(self._log) - self._max
                del self._log[:drop]
                self._offset += drop
            self._changed.notify_all()

    async def tail(self, since: datetime) -> AsyncIterator[Event]:
        position = self._offset
        while self._running:
            async with self._changed:
                position = max(position, self._offset)
                if position - self._offset >= len(self._log):
                    await self._changed.wait()
                batch = self._log[position - self._offset :]
                position += len(batch)
            for event in batch:
                if event.ts >= since:
                    yield event
