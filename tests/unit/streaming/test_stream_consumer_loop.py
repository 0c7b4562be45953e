"""The consumer loop against in-memory fakes of the event stream and the store: write THEN commit,
retries with the stream held, dead letters, commit failures, graceful shutdown. The Kafka adapter is
unit-tested in test_kafka_event_stream.py; the real broker and ClickHouse in
tests/integration/test_kafka_*.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from stream_records import Record

from movierecs.events import Event, Rejection
from movierecs.exceptions import BusUnavailableError, StoreUnavailableError
from movierecs.ports import EventStream, StreamRecord
from movierecs.streaming.consumer import Consumer, run_consumer
from movierecs.streaming.handlers import Backoff, BatchPolicy, next_offsets

TOPIC = "movierecs.interactions"
TS = datetime(2024, 5, 1, tzinfo=UTC)
Calls = list[tuple[str, Any]]


@dataclass
class FakeStream:
    """Serves pre-loaded records per partition; logs reads, holds, commits... in ``calls``.

    ``fail_start``/``fail_commits``/``fail_dead_letters``: how many of those calls raise first."""

    logs: dict[int, list[bytes | None]]
    calls: Calls
    fail_start: int = 0
    fail_commits: int = 0
    fail_dead_letters: int = 0
    positions: dict[int, int] = field(default_factory=dict)
    committed: dict[int, int] = field(default_factory=dict)
    dead: list[tuple[StreamRecord, Rejection]] = field(default_factory=list)
    held: bool = False

    async def start(self) -> None:
        if self.fail_start > 0:
            self.fail_start -= 1
            self.calls.append(("start_failed", None))
            raise BusUnavailableError("Kafka at 127.0.0.1:1 is unreachable")
        self.calls.append(("start", None))

    async def read(self, max_records: int, timeout_s: float) -> Sequence[StreamRecord]:
        assert not self.held, "read while the stream is held"
        out: list[StreamRecord] = []
        for p, log in self.logs.items():
            start = self.positions.get(p, 0)
            chunk = log[start : start + max_records - len(out)]
            # a null value with a viewer key would be a tombstone: the empty records here carry no key
            out += [Record(TOPIC, p, start + i, v, key=b"1" if v else None) for i, v in enumerate(chunk)]
            self.positions[p] = start + len(chunk)
        if out:
            self.calls.append(("read", len(out)))
        else:
            await asyncio.sleep(min(timeout_s, 0.02))
        return out

    async def hold(self) -> None:
        if not self.held:
            self.calls.append(("hold", None))
        self.held = True

    async def release(self) -> None:
        self.held = False
        self.calls.append(("release", None))

    async def commit(self, records: Sequence[StreamRecord]) -> None:
        offsets = {p: o for (_, p), o in next_offsets(records).items()}
        if self.fail_commits > 0:
            self.fail_commits -= 1
            self.calls.append(("commit_failed", offsets))
            raise BusUnavailableError("offset commit failed: rebalance in progress")
        self.committed.update(offsets)
        self.calls.append(("commit", offsets))

    async def dead_letter(self, rejected: Sequence[tuple[StreamRecord, Rejection]]) -> None:
        if self.fail_dead_letters > 0:
            self.fail_dead_letters -= 1
            self.calls.append(("dead_letter_failed", len(rejected)))
            raise BusUnavailableError("the dead-letter topic did not acknowledge")
        self.dead += rejected
        self.calls.append(("dead_letter", len(rejected)))

    def lag(self) -> dict[int, int]:
        return {p: len(log) - self.positions.get(p, 0) for p, log in self.logs.items()}

    async def stop(self) -> None:
        self.calls.append(("stop", None))


@dataclass
class FlakyStore:
    """Fails the first ``failures`` writes, then stores events; logs writes in ``calls``."""

    calls: Calls
    failures: int = 0
    delay_s: float = 0.0
    rows: list[Event] = field(default_factory=list)

    def migrate(self) -> None:
        pass

    def write(self, events: Sequence[Event]) -> int:
        time.sleep(self.delay_s)
        if self.failures > 0:
            self.failures -= 1
            self.calls.append(("write_failed", len(events)))
            raise StoreUnavailableError("ClickHouse is down")
        self.rows.extend(events)
        self.calls.append(("write", len(events)))
        return len(events)

    def close(self) -> None:
        pass


def test_the_fake_is_an_event_stream() -> None:
    stream: EventStream = FakeStream({}, [])  # mypy checks the port's shape
    assert stream.lag() == {}


def event_bytes(n: int, start: int = 1) -> list[bytes | None]:
    return [Event(user_id=i, item_id=1, type="like", ts=TS).to_json() for i in range(start, start + n)]


def make_consumer(stream: FakeStream, store: FlakyStore, batch: int = 100, grace: float = 0.3) -> Consumer:
    return Consumer(stream, lambda: store, policy=BatchPolicy(batch, 0.05), backoff=Backoff(0.01, 2.0, 0.05),
                    shutdown_grace_s=grace)  # fmt: skip


async def run_until(consumer: Consumer, done: Callable[[], bool], timeout: float = 5.0) -> None:
    task = asyncio.create_task(consumer.run())
    async with asyncio.timeout(timeout):
        while not done():
            await asyncio.sleep(0.01)
    consumer.request_stop()
    await asyncio.wait_for(task, timeout)


def names(calls: Calls) -> list[str]:
    return [name for name, _ in calls]


async def test_events_are_written_before_their_offsets_are_committed() -> None:
    calls: Calls = []
    store = FlakyStore(calls)
    stream = FakeStream({0: event_bytes(250), 1: event_bytes(30, 1000)}, calls)
    consumer = make_consumer(stream, store)
    await run_until(consumer, lambda: stream.committed == {0: 250, 1: 30})
    assert len({e.event_id for e in store.rows}) == 280
    written = 0
    for name, arg in calls:  # every commit covers only records already written
        if name == "write":
            written += arg
        if name == "commit":
            assert sum(arg.values()) <= written or written == 280
    assert consumer.metrics.events._value.get() == 280
    assert calls[-1] == ("stop", None)
    assert consumer.state == "stopped"


async def test_pipelined_by_one_batch_the_next_is_written_only_after_the_previous_commit() -> None:
    calls: Calls = []
    store = FlakyStore(calls, delay_s=0.05)
    stream = FakeStream({0: event_bytes(60)}, calls)
    consumer = make_consumer(stream, store, batch=20)
    await run_until(consumer, lambda: stream.committed.get(0) == 60)
    order = [c for c in names(calls) if c in ("read", "write", "commit")]
    assert order.count("write") == order.count("commit") == 3
    writes = [i for i, c in enumerate(order) if c == "write"]
    commits = [i for i, c in enumerate(order) if c == "commit"]
    assert all(w < c for w, c in zip(writes, commits, strict=True))
    assert all(c < w for c, w in zip(commits, writes[1:], strict=False))  # N committed before N+1 written
    assert order.index("read", 1) < writes[0]  # batch 2 was read while batch 1 was being written


async def test_store_outage_retries_with_the_stream_held_and_loses_nothing() -> None:
    calls: Calls = []
    store = FlakyStore(calls, failures=6)
    stream = FakeStream({0: event_bytes(50)}, calls)
    consumer = make_consumer(stream, store, batch=20)
    await run_until(consumer, lambda: stream.committed.get(0) == 50)
    assert len({e.event_id for e in store.rows}) == 50
    first_failure = calls.index(("write_failed", 20))
    first_success = names(calls).index("write")
    between = names(calls)[first_failure:first_success]
    assert "commit" not in between  # nothing committed while down
    assert "hold" in between  # fetching paused (group membership kept) while retrying
    assert "release" in names(calls)[first_success:]
    assert not stream.held
    assert consumer.metrics.retries._value.get() == 6


async def test_invalid_records_are_dead_lettered_and_do_not_block_the_partition() -> None:
    calls: Calls = []
    store = FlakyStore(calls)
    log = [*event_bytes(3), b"{not json", b'{"user_id": 1}', None, *event_bytes(2, 100)]
    stream = FakeStream({0: log}, calls, fail_dead_letters=2)
    consumer = make_consumer(stream, store)
    await run_until(consumer, lambda: stream.committed.get(0) == len(log))
    assert len(store.rows) == 5
    assert [(r.offset, r.value, why.reason.value) for r, why in stream.dead] == [
        (3, b"{not json", "bad_json"),
        (4, b'{"user_id": 1}', "schema"),
        (5, None, "empty"),
    ]
    assert names(calls).index("dead_letter") < names(calls).index("commit")  # set aside, THEN committed
    assert consumer.metrics.retries._value.get() == 2  # the dead-letter produce was retried
    samples = {s.labels["reason"]: s.value for s in consumer.metrics.dlq.collect()[0].samples
               if s.name.endswith("_total")}  # fmt: skip
    assert samples == {"bad_json": 1.0, "schema": 1.0, "empty": 1.0}


async def test_stop_commits_what_was_written() -> None:
    calls: Calls = []
    store = FlakyStore(calls)
    stream = FakeStream({0: event_bytes(10)}, calls)
    consumer = make_consumer(stream, store, batch=1000)
    await run_until(consumer, lambda: bool(stream.positions.get(0)))  # stop while the batch is young
    assert stream.committed == {0: 10}
    assert len(store.rows) == 10
    assert calls[-1] == ("stop", None)


async def test_store_down_at_shutdown_exits_after_the_grace_without_committing() -> None:
    calls: Calls = []
    store = FlakyStore(calls, failures=10**6)
    stream = FakeStream({0: event_bytes(10)}, calls)
    consumer = make_consumer(stream, store, batch=5, grace=0.3)
    task = asyncio.create_task(consumer.run())
    async with asyncio.timeout(5):
        while "write_failed" not in names(calls):
            await asyncio.sleep(0.01)
    assert consumer.state == "retrying store write"
    stopped_at = time.monotonic()
    consumer.request_stop()
    await asyncio.wait_for(task, 5)
    assert time.monotonic() - stopped_at >= 0.3  # still retried during the grace
    assert stream.committed == {}
    assert store.rows == []
    assert consumer.state == "stopped"
    assert calls[-1] == ("stop", None)


async def test_a_commit_failure_while_running_is_covered_by_the_next_commit() -> None:
    calls: Calls = []
    store = FlakyStore(calls)
    stream = FakeStream({0: event_bytes(40)}, calls, fail_commits=1)
    consumer = make_consumer(stream, store, batch=20)
    await run_until(consumer, lambda: stream.committed.get(0) == 40)
    commits = [(n, arg) for n, arg in calls if n.startswith("commit")]
    assert commits == [("commit_failed", {0: 20}), ("commit", {0: 40})]  # not retried: the next covers it
    assert len(store.rows) == 40
    samples = {s.labels["result"]: s.value for s in consumer.metrics.commits.collect()[0].samples
               if s.name.endswith("_total")}  # fmt: skip
    assert samples == {"ok": 1.0, "failed": 1.0}


async def test_a_commit_failure_while_stopping_is_retried() -> None:
    calls: Calls = []
    store = FlakyStore(calls, delay_s=0.1)
    stream = FakeStream({0: event_bytes(10)}, calls, fail_commits=2)
    consumer = make_consumer(stream, store, batch=10)
    await run_until(consumer, lambda: "read" in names(calls))  # stop while the batch is being written
    assert [n for n in names(calls) if n.startswith("commit")] == ["commit_failed", "commit_failed", "commit"]
    assert stream.committed == {0: 10}


async def test_waits_for_the_bus_at_start_then_consumes() -> None:
    calls: Calls = []
    store = FlakyStore(calls)
    stream = FakeStream({0: event_bytes(5)}, calls, fail_start=3)
    consumer = make_consumer(stream, store)
    states: set[str] = set()

    def done() -> bool:
        states.add(consumer.state)
        return stream.committed.get(0) == 5

    await run_until(consumer, done)
    assert names(calls)[:4] == ["start_failed"] * 3 + ["start"]
    assert "waiting_for_kafka" in states
    assert consumer.health()[0]


async def test_stop_while_waiting_for_the_bus_exits_at_once() -> None:
    calls: Calls = []
    stream = FakeStream({0: event_bytes(5)}, calls, fail_start=10**6)
    consumer = Consumer(stream, lambda: FlakyStore(calls), backoff=Backoff(10.0, 2.0, 10.0))
    task = asyncio.create_task(consumer.run())
    async with asyncio.timeout(5):
        while consumer.state != "waiting_for_kafka":
            await asyncio.sleep(0.01)
    consumer.request_stop()
    await asyncio.wait_for(task, 2)  # did not sleep out the 10 s backoff
    assert consumer.state == "stopped"
    assert "read" not in names(calls)


async def test_lag_gauge_per_partition() -> None:
    calls: Calls = []
    store = FlakyStore(calls)
    stream = FakeStream({0: event_bytes(5), 1: []}, calls)
    consumer = make_consumer(stream, store)
    await run_until(consumer, lambda: stream.committed.get(0) == 5)
    assert consumer.metrics.lag.labels("0")._value.get() == 0
    assert consumer.metrics.lag.labels("1")._value.get() == 0


async def test_run_consumer_returns_once_stopped() -> None:
    calls: Calls = []
    stream = FakeStream({0: event_bytes(5)}, calls)
    consumer = make_consumer(stream, FlakyStore(calls))
    task = asyncio.create_task(run_consumer(consumer, metrics_port=-1, install_signal_handlers=False))
    async with asyncio.timeout(5):
        while stream.committed.get(0) != 5:
            await asyncio.sleep(0.01)
    consumer.request_stop()
    await asyncio.wait_for(task, 5)
    assert consumer.state == "stopped"
