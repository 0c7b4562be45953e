"""KafkaEventBus over a real Kafka-protocol broker (the local stack's Tansu).

Run by `make test` (scripts/test.sh exports MOVIERECS_EVENT_BUS_URL=kafka://... from .stack/env);
skipped when that variable is not a kafka:// URL. Every test uses its own topic, so tests (and
people) sharing one broker do not see each other's events.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from movierecs.adapters.kafka import KafkaEventBus
from movierecs.events import Event
from movierecs.exceptions import BusUnavailableError

pytestmark = [pytest.mark.integration]
REPO = Path(__file__).resolve().parents[2]
BUS_URL = os.environ.get("MOVIERECS_EVENT_BUS_URL", "")
needs_kafka = pytest.mark.skipif(
    not BUS_URL.startswith("kafka://"),
    reason="MOVIERECS_EVENT_BUS_URL=kafka://... not set: start the local stack "
    "(make stack-up; set -a; . .stack/env; set +a) — `make test` does both",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def like(user_id: int, item_id: int = 50) -> Event:
    return Event(user_id=user_id, item_id=item_id, type="like")


@pytest.fixture
def bootstrap() -> str:
    return BUS_URL.removeprefix("kafka://")


@pytest.fixture
def topic() -> str:
    return f"test.bus.{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def bus(bootstrap: str, topic: str) -> AsyncIterator[KafkaEventBus]:
    b = KafkaEventBus(bootstrap, topic, 3)
    await b.start()
    yield b
    await b.stop()


async def collect(stream: AsyncIterator[Event], want: set[uuid.UUID], timeout: float = 10.0) -> list[Event]:
    """Events from ``stream`` until every id in ``want`` was seen (or fail after ``timeout``)."""
    seen: list[Event] = []
    try:
        async with asyncio.timeout(timeout):
            async for event in stream:
                seen.append(event)
                if want <= {e.event_id for e in seen}:
                    break
    except TimeoutError:
        missing = want - {e.event_id for e in seen}
        pytest.fail(f"tail did not deliver {len(missing)} of {len(want)} events within {timeout}s")
    return seen


@needs_kafka
async def test_replica_tailing_from_a_watermark_sees_likes_of_another(bus: KafkaEventBus, bootstrap: str,
                                                                      topic: str) -> None:  # fmt: skip
    before = [like(1), like(2)]
    await bus.publish(before)
    await asyncio.sleep(0.05)
    watermark = datetime.now(UTC)
    await asyncio.sleep(0.05)
    after = [like(u) for u in range(10, 40)]  # keys spread over every partition
    await bus.publish(after)

    replica = KafkaEventBus(bootstrap, topic, 3)  # another API replica: own bus, no consumer group
    await replica.start()
    try:
        seen = await collect(replica.tail(watermark), {e.event_id for e in after})
        assert {e.event_id for e in seen} == {e.event_id for e in after}  # nothing from before the watermark
        assert seen[0] == next(e for e in after if e.event_id == seen[0].event_id)  # decoded intact
    finally:
        await replica.stop()


@needs_kafka
async def test_tail_from_now_delivers_only_new_events(bus: KafkaEventBus, bootstrap: str, topic: str) -> None:
    history = [like(u) for u in range(1, 50)]  # no record at/after `since`: the tail starts at the end
    await bus.publish(history)
    await asyncio.sleep(0.05)
    replica = KafkaEventBus(bootstrap, topic, 3)
    await replica.start()
    seen: list[Event] = []

    async def tail() -> None:
        async for event in replica.tail(datetime.now(UTC)):
            seen.append(event)

    tailer = asyncio.create_task(tail())
    try:
        await asyncio.sleep(1.0)  # positioned
        fresh = [like(7), like(8), like(9)]
        await bus.publish(fresh)
        async with asyncio.timeout(10):
            while len(seen) < len(fresh):
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        assert {e.event_id for e in seen} == {e.event_id for e in fresh}
    finally:
        tailer.cancel()
        await replica.stop()


@needs_kafka
async def test_tail_skips_undecodable_records(bus: KafkaEventBus, bootstrap: str, topic: str) -> None:
    from aiokafka import AIOKafkaProducer

    since = datetime.now(UTC)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b"{not an event", key=b"5")
    finally:
        await producer.stop()
    good = like(5)
    await bus.publish([good])
    seen = await collect(bus.tail(since), {good.event_id})
    assert [e.event_id for e in seen] == [good.event_id]


async def test_publish_raises_bus_unavailable_when_the_broker_is_down() -> None:
    port = free_port()  # nothing listens there
    bus = KafkaEventBus(f"127.0.0.1:{port}", "t", 3, request_timeout_s=2.0)
    started = time.monotonic()
    await bus.start()  # must not raise nor hang: the API starts and answers 503
    assert time.monotonic() - started < 5
    started = time.monotonic()
    with pytest.raises(BusUnavailableError, match=r"unreachable|producer"):
        await bus.publish([like(1)])
    assert time.monotonic() - started < 5
    await bus.stop()


# ---- a private broker we may kill: publish fails fast while down, tail survives the restart --------
def tansu_binary() -> str | None:
    found = os.environ.get("MOVIERECS_TANSU") or str(REPO / ".tools" / "tansu" / "tansu")
    return found if Path(found).is_file() else shutil.which("tansu")


class PrivateBroker:
    def __init__(self, binary: str, port: int, log: Path) -> None:
        self.binary, self.port, self.log = binary, port, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([self.binary, "broker", "--listener-url", url, "--advertised-listener-url",
                                          url, "--storage-engine", "memory://tansu/"],
                                         stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"tansu did not listen on {self.port}; see {self.log}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    binary = tansu_binary()
    if binary is None:
        pytest.skip("no tansu binary (scripts/stack.sh installs it to .tools/tansu/tansu; or set MOVIERECS_TANSU)")
    broker = PrivateBroker(binary, free_port(), tmp_path / "tansu.log")
    broker.start()
    yield broker
    broker.kill()


async def test_broker_restart_publish_fails_fast_then_recovers_and_tail_survives(
    private_broker: PrivateBroker,
) -> None:
    bus = KafkaEventBus(f"127.0.0.1:{private_broker.port}", "restart", 2, request_timeout_s=2.0)
    await bus.start()
    first = like(1)
    await bus.publish([first])
    seen: list[Event] = []

    async def tail() -> None:
        async for event in bus.tail(datetime.now(UTC) - timedelta(minutes=1)):
            seen.append(event)

    tailer = asyncio.create_task(tail())
    try:
        async with asyncio.timeout(10):
            while first not in seen:
                await asyncio.sleep(0.05)
        private_broker.kill()
        started = time.monotonic()
        with pytest.raises(BusUnavailableError):
            await bus.publish([like(2)])
        assert time.monotonic() - started < 5  # the API answers 503 quickly
        private_broker.start()  # memory storage: a new, empty broker
        after = like(3)
        async with asyncio.timeout(20):
            while True:
                try:
                    await bus.publish([after])
                    break
                except BusUnavailableError:
                    await asyncio.sleep(0.5)
            while after not in seen:  # the tail reconnected and found the recreated topic
                await asyncio.sleep(0.05)
        assert not tailer.done()
    finally:
        tailer.cancel()
        await bus.stop()
