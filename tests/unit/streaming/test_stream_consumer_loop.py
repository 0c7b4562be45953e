"""The consumer loop against in-memory fakes of Kafka and the store: write THEN commit, retries with
fetching paused, dead letters, graceful shutdown. The real broker and ClickHouse are exercised in
tests/integration/test_kafka_*.py."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import TopicPartition

from movierecs.events import Event
from movierecs.exceptions import StoreUnavailableError, UnsupportedUrlError
from movierecs.settings import Settings
from movierecs.streaming.consumer import Consumer
from movierecs.streaming.handlers import Backoff, BatchPolicy

TOPIC = "movierecs.interactions"
TS = datetime(2024, 5, 1, tzinfo=UTC)


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = b"1"
    timestamp: int = 1_700_000_000_000


@dataclass
class FakeKafkaConsumer:
    """Serves pre-loaded records per partition; logs commits, pauses and resumes in ``calls``."""

    logs: dict[int, list[bytes | None]]
    calls: list[tuple[str, Any]]
    positions: dict[int, int] = field(default_factory=dict)
    paused: set[TopicPartition] = field(default_factory=set)
    committed: dict[int, int] = field(default_factory=dict)

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition(TOPIC, p) for p in self.logs}

    def highwater(self, tp: TopicPartition) -> int:
        return len(self.logs[tp.partition])

    def pause(self, *tps: TopicPartition) -> None:
        self.paused |= set(tps)
        self.calls.append(("pause", sorted(tp.partition for tp in tps)))

    def resume(self, *tps: TopicPartition) -> None:
        self.paused -= set(tps)
        self.calls.append(("resume", sorted(tp.partition for tp in tps)))

    async def getmany(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[TopicPartition, list]:
        out: dict[TopicPartition, list] = {}
        budget = max_records or 10**9
        for p, log in self.logs.items():
            tp = TopicPartition(TOPIC, p)
            if tp in self.paused:
                continue
            start = self.positions.get(p, 0)
            chunk = log[start : start + budget]
            if chunk:
                out[tp] = [Record(TOPIC, p, start + i, v) for i, v in enumerate(chunk)]
                self.positions[p] = start + len(chunk)
                budget -= len(chunk)
        if not out:
            await asyncio.sleep(min(timeout_ms, 20) / 1000)
        return out

    async def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        for tp, meta in offsets.items():
            self.committed[tp.partition] = meta.offset
        self.calls.append(("commit", {tp.partition: m.offset for tp, m in offsets.items()}))

    async def stop(self) -> None:
        self.calls.append(("stop", None))


@dataclass
class FakeProducer:
    sent: list[tuple[str, bytes | None, dict[str, bytes]]] = field(default_factory=list)

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   headers: list[tuple[str, bytes]] | None = None) -> asyncio.Future[None]:  # fmt: skip
        self.sent.append((topic, value, dict(headers or [])))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    async def stop(self) -> None:
        pass


@dataclass
class FlakyStore:
    """Fails the first ``failures`` writes, then stores events; logs writes in ``calls``."""

    calls: list[tuple[str, Any]]
    failures: int = 0
    rows: list[Event] = field(default_factory=list)

    def migrate(self) -> None:
        pass

    def write(self, events: Sequence[Event]) -> int:
        if self.failures > 0:
            self.failures -= 1
            self.calls.append(("write_failed", len(events)))
            raise StoreUnavailableError("ClickHouse is down")
        self.rows.extend(events)
        self.calls.append(("write", len(events)))
        return len(events)

    def close(self) -> None:
        pass


def event_bytes(n: int, start: int = 1) -> list[bytes | None]:
    return [Event(user_id=i, item_id=1, type="like", ts=TS).to_json() for i in range(start, start + n)]


def make_consumer(logs: dict[int, list[bytes | None]], store: FlakyStore, calls: list[tuple[str, Any]],
                  batch: int = 100) -> tuple[Consumer, FakeKafkaConsumer, FakeProducer]:  # fmt: skip
    settings = Settings(event_bus_url="kafka://127.0.0.1:1", interactions_url="clickhouse://x:1/db")
    consumer = Consumer(settings, policy=BatchPolicy(batch, 0.05), backoff=Backoff(0.01, 2.0, 0.05),
                        store_factory=lambda _url: store, shutdown_grace_s=0.3)  # fmt: skip
    kafka, producer = FakeKafkaConsumer(logs, calls), FakeProducer()

    async def connect() -> None:
        consumer._consumer, consumer._producer = kafka, producer  # type: ignore[assignment]

    consumer._connect = connect  # type: ignore[method-assign]
    return consumer, kafka, producer


async def run_until(consumer: Consumer, done: Any, timeout: float = 5.0) -> None:
    task = asyncio.create_task(consumer.run())
    async with asyncio.timeout(timeout):
        while not done():
            await asyncio.sleep(0.01)
    consumer.request_stop()
    await asyncio.wait_for(task, timeout)


async def test_events_are_written_before_their_offsets_are_committed() -> None:
    calls: list[tuple[str, Any]] = []
    store = FlakyStore(calls)
    consumer, kafka, _ = make_consumer({0: event_bytes(250), 1: event_bytes(30, 1000)}, store, calls)
    await run_until(consumer, lambda: kafka.committed == {0: 250, 1: 30})
    assert len({e.event_id for e in store.rows}) == 280
    written = 0
    for name, arg in calls:  # every commit covers only records already written
        if name == "write":
            written += arg
        if name == "commit":
            assert sum(arg.values()) <= written or written == 280
    assert consumer.metrics.events._value.get() == 280
    assert calls[-1] == ("stop", None)


async def test_store_outage_retries_with_fetching_paused_and_loses_nothing() -> None:
    calls: list[tuple[str, Any]] = []
    store = FlakyStore(calls, failures=6)
    consumer, kafka, _ = make_consumer({0: event_bytes(50)}, store, calls, batch=20)
    await run_until(consumer, lambda: kafka.committed.get(0) == 50)
    assert len({e.event_id for e in store.rows}) == 50
    first_failure = calls.index(("write_failed", 20))
    first_success = next(i for i, c in enumerate(calls) if c[0] == "write")
    between = calls[first_failure:first_success]
    assert not any(name == "commit" for name, _ in between)  # nothing committed while down
    assert ("pause", [0]) in between  # fetching paused while retrying
    assert consumer.metrics.retries._value.get() == 6


async def test_invalid_records_go_to_the_dlq_and_do_not_block_the_partition() -> None:
    calls: list[tuple[str, Any]] = []
    store = FlakyStore(calls)
    log = [*event_bytes(3), b"{not json", b'{"user_id": 1}', None, *event_bytes(2, 100)]
    consumer, kafka, producer = make_consumer({0: log}, store, calls)
    await run_until(consumer, lambda: kafka.committed.get(0) == len(log))
    assert len(store.rows) == 5
    assert [(t, h["movierecs.reason"], h["movierecs.source.offset"]) for t, _, h in producer.sent] == [
        ("movierecs.interactions.dlq", b"bad_json", b"3"),
        ("movierecs.interactions.dlq", b"schema", b"4"),
        ("movierecs.interactions.dlq", b"empty", b"5"),
    ]
    assert producer.sent[0][1] == b"{not json"  # the original bytes
    samples = {s.labels["reason"]: s.value for s in consumer.metrics.dlq.collect()[0].samples
               if s.name.endswith("_total")}  # fmt: skip
    assert samples == {"bad_json": 1.0, "schema": 1.0, "empty": 1.0}


async def test_stop_commits_what_was_written() -> None:
    calls: list[tuple[str, Any]] = []
    store = FlakyStore(calls)
    consumer, kafka, _ = make_consumer({0: event_bytes(10)}, store, calls, batch=1000)
    await run_until(consumer, lambda: bool(kafka.positions.get(0)))  # stop while the batch is young
    assert kafka.committed == {0: 10}
    assert len(store.rows) == 10


async def test_store_down_at_shutdown_exits_without_committing() -> None:
    calls: list[tuple[str, Any]] = []
    store = FlakyStore(calls, failures=10**6)
    consumer, kafka, _ = make_consumer({0: event_bytes(10)}, store, calls, batch=5)
    await run_until(consumer, lambda: any(c[0] == "write_failed" for c in calls))
    assert kafka.committed == {}
    assert store.rows == []
    assert consumer.state == "stopped"


async def test_lag_gauge_per_partition() -> None:
    calls: list[tuple[str, Any]] = []
    store = FlakyStore(calls)
    consumer, kafka, _ = make_consumer({0: event_bytes(5), 1: []}, store, calls)
    await run_until(consumer, lambda: kafka.committed.get(0) == 5)
    assert consumer.metrics.lag.labels("0")._value.get() == 0


def test_consumer_refuses_a_memory_bus() -> None:
    with pytest.raises(UnsupportedUrlError, match="kafka://"):
        Consumer(Settings(event_bus_url="memory://"))
