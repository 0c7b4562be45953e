"""The embedded mode's sink: the in-process bus → MemoryEventStream → Consumer → a real chDB store,
every event stored exactly once."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from movierecs.adapters.memory import MemoryEventBus, MemoryEventStream
from movierecs.composition import interaction_store, memory_sink
from movierecs.events import Event
from movierecs.ports import EventStream
from movierecs.settings import Settings


def likes(n: int, start: int = 1) -> list[Event]:
    return [Event(user_id=u, item_id=u % 50 + 1, type="like") for u in range(start, start + n)]


def join_store_closers() -> None:
    """The consumer closes its store in a daemon thread; chDB opens one folder per process."""
    for thread in threading.enumerate():
        if "_close_quietly" in thread.name:
            thread.join(10)


async def test_read_waits_for_events_without_busy_looping_and_tracks_lag() -> None:
    bus = MemoryEventBus()
    await bus.start()
    memory = MemoryEventStream(bus)
    stream: EventStream = memory  # the port's shape
    begun = time.monotonic()
    assert await stream.read(10, 0.2) == []
    assert time.monotonic() - begun >= 0.19  # waited the whole timeout
    events = likes(3)
    reader = asyncio.create_task(stream.read(2, 5.0))
    await asyncio.sleep(0.05)
    begun = time.monotonic()
    await bus.publish(events)
    records = await reader
    assert time.monotonic() - begun < 1.0  # woken by the publish, not by the timeout
    assert [(r.partition, r.offset, r.key) for r in records] == [(0, 0, b"1"), (0, 1, b"2")]
    assert records[0].value == events[0].to_json()
    assert records[0].timestamp == int(events[0].ts.timestamp() * 1000)
    assert stream.lag() == {0: 1}
    assert [r.offset for r in await stream.read(10, 0.1)] == [2]
    assert stream.lag() == {0: 0}
    await stream.commit(records)
    assert memory.committed == 2
    await bus.stop()


async def test_memory_sink_stores_the_in_process_bus_exactly_once(tmp_path: Path) -> None:
    url = f"chdb://{tmp_path / 'interactions.chdb'}"
    settings = Settings(home=tmp_path, interactions_url=url, event_bus_url="memory://", log_json=False)
    bus = MemoryEventBus()
    await bus.start()
    first, second = likes(1200), likes(300, start=5000)
    await bus.publish(first)
    sink = memory_sink(bus, settings)
    task = asyncio.create_task(sink.run())
    try:
        await bus.publish(second)
        await bus.publish(first[:100])  # a client retried: same event_ids
        async with asyncio.timeout(60):
            while sink.metrics.events._value.get() < 1600:
                await asyncio.sleep(0.05)
        assert sink.state == "running"
        assert sink.metrics.lag.labels("0")._value.get() == 0
    finally:
        sink.request_stop()
        await asyncio.wait_for(task, 30)
        await bus.stop()
    assert sink.state == "stopped"
    assert isinstance(sink.stream, MemoryEventStream)
    assert sink.stream.committed == 1600
    join_store_closers()
    store = interaction_store(url)
    try:
        ids = [str(x) for x in store.extract()["event_id"].tolist()]
    finally:
        store.close()
    assert len(ids) == len(set(ids)) == 1500  # the retried 100 are deduplicated on event_id
    assert set(ids) == {str(e.event_id) for e in first + second}
