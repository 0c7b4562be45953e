"""KafkaEventStream without a broker: aiokafka's consumer and producer replaced by fakes. Holding
pauses every partition and buffers what was in flight, commits skip revoked partitions and fail as
BusUnavailableError, dead letters carry the original bytes and the reason. The real broker is
exercised by tests/integration/test_kafka_pipeline.py."""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError
from stream_records import Record

from movierecs.adapters.kafka_stream import KafkaEventStream
from movierecs.events import Rejection, RejectReason
from movierecs.exceptions import BusUnavailableError
from movierecs.ports import EventStream

TOPIC, DLQ = "movierecs.interactions", "movierecs.interactions.dlq"


def tp(p: int) -> TopicPartition:
    return TopicPartition(TOPIC, p)


@dataclass
class FakeAIOKafkaConsumer:
    """Per partition a log; ``in_flight`` is what a zero-timeout poll returns (then empties)."""

    logs: dict[int, int]  # partition -> highwater
    calls: list[tuple[str, Any]] = field(default_factory=list)
    paused: set[TopicPartition] = field(default_factory=set)
    in_flight: dict[TopicPartition, list[Record]] = field(default_factory=dict)
    ends: dict[TopicPartition, int] = field(default_factory=dict)
    commit_error: Exception | None = None

    def assignment(self) -> set[TopicPartition]:
        return {tp(p) for p in self.logs}

    def highwater(self, partition: TopicPartition) -> int | None:
        return None if partition in self.paused else self.logs[partition.partition]

    def pause(self, *tps: TopicPartition) -> None:
        self.paused |= set(tps)
        self.calls.append(("pause", sorted(t.partition for t in tps)))

    def resume(self, *tps: TopicPartition) -> None:
        self.paused -= set(tps)
        self.calls.append(("resume", sorted(t.partition for t in tps)))

    async def getmany(self, timeout_ms: int = 0, max_records: int | None = None) -> dict[TopicPartition, list[Record]]:
        self.calls.append(("getmany", timeout_ms))
        out, self.in_flight = self.in_flight, {}
        return out

    async def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        self.calls.append(("end_offsets", sorted(t.partition for t in tps)))
        return {t: self.ends.get(t, 0) for t in tps}

    async def commit(self, offsets: dict[TopicPartition, Any]) -> None:
        if self.commit_error is not None:
            raise self.commit_error
        self.calls.append(("commit", {t.partition: meta.offset for t, meta in offsets.items()}))

    async def stop(self) -> None:
        self.calls.append(("stop", None))


@dataclass
class FakeProducer:
    sent: list[tuple[str, bytes | None, bytes | None, dict[str, bytes]]] = field(default_factory=list)

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   headers: list[tuple[str, bytes]] | None = None) -> asyncio.Future[None]:  # fmt: skip
        self.sent.append((topic, value, key, dict(headers or [])))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    async def stop(self) -> None:
        pass


def started(kafka: FakeAIOKafkaConsumer) -> tuple[KafkaEventStream, FakeProducer]:
    stream = KafkaEventStream("127.0.0.1:1", TOPIC, group_id="g", dlq_topic=DLQ)
    producer = FakeProducer()
    stream._consumer, stream._producer = kafka, producer  # type: ignore[assignment]
    return stream, producer


def test_it_is_an_event_stream() -> None:
    stream: EventStream = KafkaEventStream("127.0.0.1:1", TOPIC, group_id="g")
    assert stream.lag() == {}  # not started: no partitions


async def test_hold_pauses_every_partition_and_buffers_what_was_in_flight() -> None:
    kafka = FakeAIOKafkaConsumer({0: 10, 1: 4})
    stream, _ = started(kafka)
    kafka.in_flight = {tp(1): [Record(TOPIC, 1, 2, b"x"), Record(TOPIC, 1, 3, b"y")]}
    await stream.hold()
    await stream.hold()
    assert kafka.paused == {tp(0), tp(1)}
    assert [c for c in kafka.calls if c[0] == "pause"] == [("pause", [0, 1])]  # paused once
    assert [c for c in kafka.calls if c[0] == "getmany"] == [("getmany", 0), ("getmany", 0)]  # polls: group kept
    await stream.release()
    assert not kafka.paused
    assert ("resume", [0, 1]) in kafka.calls
    first = await stream.read(1, 0.5)  # the buffered records come first, at once, bounded
    assert [(r.partition, r.offset) for r in first] == [(1, 2)]
    assert [(r.partition, r.offset) for r in await stream.read(10, 0.5)] == [(1, 3)]
    assert kafka.calls[-1][0] == "resume"  # no fetch was needed for them


async def test_lag_from_highwaters_and_while_held_from_end_offsets() -> None:
    kafka = FakeAIOKafkaConsumer({0: 10, 1: 4})
    stream, _ = started(kafka)
    kafka.in_flight = {tp(0): [Record(TOPIC, 0, o, b"x") for o in range(6)], tp(1): [Record(TOPIC, 1, 0, b"x")]}
    await stream.read(100, 0.1)
    assert stream.lag() == {0: 4, 1: 3}
    kafka.ends = {tp(0): 25, tp(1): 4}
    await stream.hold()  # paused partitions report no highwater: the ends are asked for
    assert ("end_offsets", [0, 1]) in kafka.calls
    assert stream.lag() == {0: 19, 1: 3}
    await stream.hold()
    assert sum(c[0] == "end_offsets" for c in kafka.calls) == 1  # at most every END_OFFSETS_EVERY_S


async def test_commit_skips_revoked_partitions_and_fails_as_bus_unavailable() -> None:
    kafka = FakeAIOKafkaConsumer({0: 10})
    stream, _ = started(kafka)
    records = [Record(TOPIC, 0, 4, b"x"), Record(TOPIC, 0, 7, b"x"), Record(TOPIC, 2, 9, b"x")]
    await stream.commit(records)
    assert kafka.calls[-1] == ("commit", {0: 8})  # partition 2 was revoked: its new owner re-reads it
    await stream.commit([Record(TOPIC, 2, 9, b"x")])
    assert kafka.calls[-1] == ("commit", {0: 8})  # nothing assigned: nothing committed
    kafka.commit_error = CommitFailedError("rebalance")
    with pytest.raises(BusUnavailableError, match="commit"):
        await stream.commit(records)


async def test_dead_letters_carry_the_original_bytes_key_and_reason() -> None:
    stream, producer = started(FakeAIOKafkaConsumer({0: 10}))
    bad = Record(TOPIC, 0, 3, b"{not json", key=b"42")
    await stream.dead_letter([(bad, Rejection(RejectReason.bad_json, "invalid JSON: ..."))])
    [(topic, value, key, headers)] = producer.sent
    assert (topic, value, key) == (DLQ, b"{not json", b"42")
    assert headers["movierecs.reason"] == b"bad_json"
    assert headers["movierecs.error"] == b"invalid JSON: ..."
    assert headers["movierecs.source.topic"] == TOPIC.encode()
    assert headers["movierecs.source.partition"] == b"0"
    assert headers["movierecs.source.offset"] == b"3"
    assert headers["movierecs.source.timestamp"] == b"1700000000000"


async def test_start_raises_bus_unavailable_when_the_broker_is_down() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    stream = KafkaEventStream(f"127.0.0.1:{port}", TOPIC, group_id="g")
    begun = time.monotonic()
    with pytest.raises(BusUnavailableError):
        await stream.start()
    assert time.monotonic() - begun < 15
    with pytest.raises(BusUnavailableError, match="not started"):
        await stream.read(10, 0.1)
    await stream.stop()  # harmless when not started
