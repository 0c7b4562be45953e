"""The in-process bus's tail starts by publish time (like Kafka's record timestamps), not by the
time an event says it happened: a replica tailing "from ten minutes ago" still sees a like that a
client dated last week, and never sees what was published before."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from movierecs.adapters.memory import MemoryEventBus
from movierecs.events import Event

T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def _tail(bus: MemoryEventBus, since: datetime, n: int) -> list[int]:
    got: list[int] = []

    async def collect() -> None:
        async for event in bus.tail(since):
            got.append(event.item_id)
            if len(got) == n:
                return

    await asyncio.wait_for(collect(), timeout=2)
    return got


async def test_tail_starts_at_the_first_event_published_since() -> None:
    clock = [T0.timestamp()]
    bus = MemoryEventBus(clock=lambda: clock[0])
    await bus.start()
    last_week = T0 - timedelta(days=7)
    await bus.publish([Event(user_id=1, item_id=1, type="like", ts=last_week)])  # published at T0
    clock[0] += 60
    await bus.publish([Event(user_id=1, item_id=2, type="like", ts=last_week)])  # published at T0 + 1 min
    assert await _tail(bus, T0 - timedelta(minutes=10), 2) == [1, 2]  # old event times do not matter
    assert await _tail(bus, T0 + timedelta(seconds=30), 1) == [2]
    later = asyncio.create_task(_tail(bus, T0 + timedelta(minutes=5), 1))
    await asyncio.sleep(0.05)
    clock[0] += 600
    await bus.publish([Event(user_id=1, item_id=3, type="like", ts=last_week)])
    assert await later == [3]  # nothing before since, then what is published next
    await bus.stop()


async def test_truncation_keeps_publish_times_aligned() -> None:
    clock = [T0.timestamp()]
    bus = MemoryEventBus(max_events=3, clock=lambda: clock[0])
    await bus.start()
    for item in range(1, 7):
        clock[0] += 1
        await bus.publish([Event(user_id=1, item_id=item, type="like", ts=T0)])
    assert await _tail(bus, T0 + timedelta(seconds=5), 2) == [5, 6]
    assert await _tail(bus, T0, 3) == [4, 5, 6]
    await bus.stop()
