"""The real-time pipeline over real servers: API → Kafka → consumer → ClickHouse, with faults.

Run by `make test` (scripts/test.sh exports the local stack's MOVIERECS_EVENT_BUS_URL=kafka://... and
MOVIERECS_INTERACTIONS_URL=clickhouse://... from .stack/env); skipped when they are not set. Each
test has its own topic, consumer group and ClickHouse database, so tests sharing the stack's servers
do not see each other's events. The ClickHouse pause test sends SIGSTOP/SIGCONT to the stack's
server (pid from .stack/pids/clickhouse.pid).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from movierecs.adapters.kafka import KafkaEventBus
from movierecs.composition import event_stream, interaction_store
from movierecs.events import Event
from movierecs.ports import InteractionStore
from movierecs.settings import Settings
from movierecs.streaming.consumer import Consumer
from movierecs.streaming.handlers import Backoff, BatchPolicy

REPO = Path(__file__).resolve().parents[2]
BUS_URL = os.environ.get("MOVIERECS_EVENT_BUS_URL", "")
STORE_URL = os.environ.get("MOVIERECS_INTERACTIONS_URL", "")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not (BUS_URL.startswith("kafka://") and STORE_URL.startswith("clickhouse://")),
        reason="MOVIERECS_EVENT_BUS_URL=kafka://... and MOVIERECS_INTERACTIONS_URL=clickhouse://... not set: "
        "start the local stack (make stack-up; set -a; . .stack/env; set +a) — `make test` does both",
    ),
]
NEW_VIEWER = 900_123
LIKED = 172  # an ml-100k title


# ---- fixtures ------------------------------------------------------------------------------------
@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """Settings over the stack's servers with a fresh topic pair and ClickHouse database."""
    tag = uuid.uuid4().hex[:10]
    db = f"test_pipeline_{tag}"
    netloc = urlsplit(STORE_URL).netloc
    home = tmp_path / "home"
    home.mkdir()
    yield Settings(
        home=home,
        event_bus_url=BUS_URL,
        interactions_url=f"clickhouse://{netloc}/{db}",
        catalog_url=f"sqlite:///{home / 'catalog.sqlite'}",
        kafka_topic=f"test.pipeline.{tag}",
        kafka_dlq_topic=f"test.pipeline.{tag}.dlq",
        kafka_partitions=3,
        embedded_sink=False,
        log_json=False,
    )
    from clickhouse_driver import Client

    parts = urlsplit(STORE_URL)
    with contextlib.suppress(Exception):
        Client(host=parts.hostname, port=parts.port or 9000, connect_timeout=5).execute(f"DROP DATABASE IF EXISTS {db}")


def store_of(settings: Settings) -> InteractionStore:
    return interaction_store(settings.interactions, settings.clickhouse_password)  # the stack's app user


@pytest.fixture
def store(settings: Settings) -> Iterator[InteractionStore]:
    s = store_of(settings)
    s.migrate()
    yield s
    s.close()


@contextlib.asynccontextmanager
async def running_consumer(settings: Settings, **kwargs: Any) -> AsyncIterator[Consumer]:
    """An in-process consumer (own group) for the test's topic; stopped gracefully at exit."""
    kwargs.setdefault("policy", BatchPolicy(2000, 0.1))
    kwargs.setdefault("backoff", Backoff(0.1, 2.0, 1.0))
    stream = event_stream(settings, group_id=f"test-{uuid.uuid4().hex[:8]}")
    consumer = Consumer(stream, lambda: store_of(settings), **kwargs)
    task = asyncio.create_task(consumer.run())
    try:
        yield consumer
    finally:
        consumer.request_stop()
        await asyncio.wait_for(task, 30)


async def wait_for(condition: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if await asyncio.to_thread(condition):
            return
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(every)


def likes(n: int, start: int = 1) -> list[Event]:
    return [Event(user_id=u % 5000 + 1, item_id=u % 1600 + 1, type="like") for u in range(start, start + n)]


def stored_ids(store: InteractionStore) -> list[str]:
    return [str(x) for x in store.extract()["event_id"].tolist()]


# ---- API -> Kafka -> consumer -> ClickHouse; every replica sees the like -------------------------
@pytest.fixture(scope="module")
def bundle(ml100k_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A model trained once on ml-100k for the in-process API replicas."""
    from movierecs.data import load_dataset
    from movierecs.evaluation.protocol import EvalProtocol
    from movierecs.models.bundle import load_bundle
    from movierecs.models.hybrid import HybridConfig
    from movierecs.training.pipeline import run_training

    out = tmp_path_factory.mktemp("bundle") / "bundle"
    raw = load_dataset("ml-100k", ml100k_dir)
    run_training(raw, HybridConfig(), EvalProtocol(), output_dir=out, dataset_name="ml-100k", with_plots=False)
    return load_bundle(out)


@contextlib.asynccontextmanager
async def api_replica(settings: Settings, bundle: Any) -> AsyncIterator[Any]:
    """One API replica in process (its lifespan runs: Kafka producer + tail), as an httpx client."""
    import httpx

    from movierecs.composition import build_api

    app = build_api(settings, bundle=bundle)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as client:
            yield client


async def test_like_via_api_is_stored_once_and_reaches_every_replica(
    settings: Settings, store: InteractionStore, bundle: Any
) -> None:
    event_id = str(uuid.uuid4())
    body = {"event_id": event_id, "user_id": NEW_VIEWER, "item_id": LIKED, "type": "like"}
    async with api_replica(settings, bundle) as a, api_replica(settings, bundle) as b, running_consumer(settings):
        before = (await b.get(f"/v1/recommendations/{NEW_VIEWER}")).json()
        assert before["strategy"] == "popular"
        r = await a.post("/v1/events", json=body)
        assert r.status_code == 202, r.text
        assert r.json()["event_ids"] == [event_id]
        r = await b.post("/v1/events", json=body)  # the client retried through another replica
        assert r.status_code == 202, r.text

        async def replica_b_folded_it_in() -> bool:
            return (await b.get(f"/v1/recommendations/{NEW_VIEWER}")).json()["strategy"] == "ials_online"

        deadline = time.monotonic() + 10
        while not await replica_b_folded_it_in():
            assert time.monotonic() < deadline, "replica B never saw the like published through replica A"
            await asyncio.sleep(0.1)
        await wait_for(lambda: event_id in stored_ids(store), 30, "the like to reach ClickHouse")
        await asyncio.sleep(0.5)  # both deliveries are written by now (one batch window)
    frame = store.extract()
    assert frame["event_id"].astype(str).tolist() == [event_id]  # stored once after dedup
    row = frame.iloc[0]
    assert (int(row["user_id"]), int(row["item_id"]), row["type"]) == (NEW_VIEWER, LIKED, "like")


# ---- scale-out and eviction: a replica that never saw the like reads it from ClickHouse ---------
async def test_a_replica_started_after_the_like_reads_it_from_clickhouse(
    settings: Settings, store: InteractionStore, bundle: Any
) -> None:
    """Replica B starts after the like was stored and tails the bus only from its own start
    (``tail_window_s=0``): the like reaches B's list through one point read of ClickHouse."""
    body = {"user_id": NEW_VIEWER, "item_id": LIKED, "type": "like"}
    async with api_replica(settings, bundle) as a, running_consumer(settings):
        r = await a.post("/v1/events", json=body)
        assert r.status_code == 202, r.text
        on_a = (await a.get(f"/v1/recommendations/{NEW_VIEWER}")).json()
        assert on_a["strategy"] == "ials_online"
        await wait_for(lambda: len(stored_ids(store)) == 1, 30, "the like to reach ClickHouse")
    late = settings.model_copy(update={"tail_window_s": 0.0})
    async with api_replica(late, bundle) as b:
        on_b = (await b.get(f"/v1/recommendations/{NEW_VIEWER}")).json()
        assert on_b["strategy"] == "ials_online"
        assert [i["item_id"] for i in on_b["items"]] == [i["item_id"] for i in on_a["items"]]
        metrics = (await b.get("/metrics")).text
        assert 'movierecs_viewer_store_reads_total{result="ok"} 1.0' in metrics
    without = late.model_copy(update={"viewer_store_reads": False, "tail_window_s": 0.0})
    async with api_replica(without, bundle) as c:  # the same replica without store reads replays from the watermark
        deadline = time.monotonic() + 10
        while (await c.get(f"/v1/recommendations/{NEW_VIEWER}")).json()["strategy"] != "ials_online":
            assert time.monotonic() < deadline, "the full replay from the watermark never delivered the like"
            await asyncio.sleep(0.1)


async def test_an_evicted_viewer_is_read_back_from_clickhouse(
    settings: Settings, store: InteractionStore, bundle: Any
) -> None:
    small = settings.model_copy(update={"online_max_viewers": 1})
    async with api_replica(small, bundle) as a, running_consumer(small):
        assert (
            await a.post("/v1/events", json={"user_id": NEW_VIEWER, "item_id": LIKED, "type": "like"})
        ).status_code == 202
        liked = [i["item_id"] for i in (await a.get(f"/v1/recommendations/{NEW_VIEWER}")).json()["items"]]
        other = {"user_id": NEW_VIEWER + 1, "item_id": 50, "type": "like"}
        assert (await a.post("/v1/events", json=other)).status_code == 202  # pushes the first viewer out
        await wait_for(lambda: len(stored_ids(store)) == 2, 30, "both likes to reach ClickHouse")
        back = (await a.get(f"/v1/recommendations/{NEW_VIEWER}")).json()
        assert back["strategy"] == "ials_online"
        assert [i["item_id"] for i in back["items"]] == liked


# ---- the right to be forgotten across replicas: a tombstone on the topic --------------------------
async def test_a_viewer_forgotten_on_one_replica_is_forgotten_on_every_replica_and_in_clickhouse(
    settings: Settings, store: InteractionStore, bundle: Any
) -> None:
    like = {"user_id": NEW_VIEWER, "item_id": LIKED, "type": "like"}
    async with api_replica(settings, bundle) as a, api_replica(settings, bundle) as b, running_consumer(settings) as c:
        assert (await a.post("/v1/events", json=like)).status_code == 202
        await wait_for(lambda: len(stored_ids(store)) == 1, 30, "the like to reach ClickHouse")

        async def strategy_on_b() -> str:
            return str((await b.get(f"/v1/recommendations/{NEW_VIEWER}")).json()["strategy"])

        deadline = time.monotonic() + 10
        while await strategy_on_b() != "ials_online":
            assert time.monotonic() < deadline, "replica B never saw the like"
            await asyncio.sleep(0.1)
        r = await a.delete(f"/v1/users/{NEW_VIEWER}")
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 10
        while await strategy_on_b() != "popular":
            assert time.monotonic() < deadline, "replica B never saw the tombstone"
            await asyncio.sleep(0.1)
        assert store.user_events(NEW_VIEWER).empty
        assert NEW_VIEWER in store.forgotten_users().tolist()
        assert sum(s.value for s in c.metrics.dlq.collect()[0].samples) == 0  # a tombstone is not invalid


# ---- invalid records -> DLQ with the reason; valid neighbours still stored -----------------------
async def test_invalid_records_go_to_the_dlq_with_a_reason(settings: Settings, store: InteractionStore) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    bootstrap = BUS_URL.removeprefix("kafka://")
    bus = KafkaEventBus(bootstrap, settings.kafka_topic, 3, dlq_topic=settings.kafka_dlq_topic)
    await bus.start()
    good = likes(5)
    await bus.publish(good[:2])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    bad = {b"{not json": "bad_json", b'{"user_id": 1, "item_id": 2, "type": "purchase"}': "schema"}
    try:
        for raw in bad:
            await producer.send_and_wait(settings.kafka_topic, raw, key=b"1")
    finally:
        await producer.stop()
    await bus.publish(good[2:])
    await bus.stop()

    async with running_consumer(settings) as consumer:
        await wait_for(lambda: store.count() >= len(good), 30, "the valid events to be stored")
        await wait_for(lambda: sum(s.value for s in consumer.metrics.dlq.collect()[0].samples
                                   if s.name.endswith("_total")) >= 2, 10, "dead letters")  # fmt: skip
    assert sorted(stored_ids(store)) == sorted(str(e.event_id) for e in good)

    dlq = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest")
    await dlq.start()
    try:
        dlq.assign([TopicPartition(settings.kafka_dlq_topic, p) for p in range(3)])
        records: list[Any] = []
        async with asyncio.timeout(10):
            while len(records) < len(bad):
                for batch in (await dlq.getmany(timeout_ms=500)).values():
                    records.extend(batch)
    finally:
        await dlq.stop()
    got = {r.value: dict(r.headers) for r in records}
    assert set(got) == set(bad)
    for raw, reason in bad.items():
        headers = got[raw]
        assert headers["movierecs.reason"].decode() == reason
        assert headers["movierecs.error"]
        assert headers["movierecs.source.topic"].decode() == settings.kafka_topic
        assert int(headers["movierecs.source.offset"]) >= 0


# ---- consumer SIGKILLed mid-stream and restarted: every event stored exactly once ---------------
def start_consumer_process(settings: Settings, group: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MOVIERECS_EVENT_BUS_URL": settings.event_bus_url,
        "MOVIERECS_INTERACTIONS_URL": settings.interactions,
        "MOVIERECS_KAFKA_TOPIC": settings.kafka_topic,
        "MOVIERECS_KAFKA_DLQ_TOPIC": settings.kafka_dlq_topic,
        "MOVIERECS_LOG_JSON": "false",
        "PYTHONUNBUFFERED": "1",
    }
    args = ["consume", "--group", group, "--batch-size", "1000", "--batch-wait-ms", "100", "--metrics-port", "0"]
    with log.open("ab") as out:  # the process entry: `movierecs consume`
        return subprocess.Popen([sys.executable, "-m", "movierecs.cli", *args], env=env, cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip


async def test_consumer_sigkilled_mid_stream_stores_every_event_exactly_once(
    settings: Settings, store: InteractionStore, tmp_path: Path
) -> None:
    n_batches, batch = 24, 1000
    bus = KafkaEventBus(BUS_URL.removeprefix("kafka://"), settings.kafka_topic, 3)
    await bus.start()
    published: list[str] = []

    async def produce() -> None:  # the API publishing while the consumer crashes
        for i in range(n_batches):
            events = likes(batch, start=i * batch)
            await bus.publish(events)
            published.extend(str(e.event_id) for e in events)
            await asyncio.sleep(0.15)

    group, log = f"test-kill-{uuid.uuid4().hex[:8]}", tmp_path / "consumer.log"
    producer = asyncio.create_task(produce())
    proc = start_consumer_process(settings, group, log)
    try:
        for kill_at in (3000, 9000):
            await wait_for(lambda k=kill_at: store.count() >= k, 45, f"{kill_at} stored events")
            proc.send_signal(signal.SIGKILL)  # no shutdown: the batch in hand is lost uncommitted
            proc.wait(10)
            proc = start_consumer_process(settings, group, log)
        await producer
        total = n_batches * batch
        await wait_for(lambda: store.count() >= total, 60, f"all {total} events stored")
        proc.send_signal(signal.SIGTERM)  # graceful: commits what was written
        assert proc.wait(30) == 0
    except BaseException:
        print(log.read_text()[-4000:])
        raise
    finally:
        if proc.poll() is None:
            proc.kill()
        producer.cancel()
        await bus.stop()
    ids = stored_ids(store)
    assert len(ids) == len(set(ids)) == len(published)  # none lost, none double-counted
    assert set(ids) == set(published)


# ---- ClickHouse stops answering for 10 s mid-stream: the consumer waits, resumes, loses nothing --
def clickhouse_pid() -> int:
    stack = Path(os.environ.get("MOVIERECS_STACK_DIR", REPO / ".stack"))
    if not stack.is_absolute():
        stack = REPO / stack
    pid_file = stack / "pids" / "clickhouse.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        pytest.skip(f"no running ClickHouse from the local stack ({pid_file}); run make stack-up")
    if b"clickhouse" not in cmdline:
        pytest.skip(f"{pid_file} does not name a ClickHouse server")
    return pid


async def test_clickhouse_paused_consumer_waits_and_resumes_without_loss(
    settings: Settings, store: InteractionStore
) -> None:
    pid = clickhouse_pid()
    bus = KafkaEventBus(BUS_URL.removeprefix("kafka://"), settings.kafka_topic, 3)
    await bus.start()
    published: list[str] = []
    stop_producing = asyncio.Event()

    async def produce() -> None:
        start = 0
        while not stop_producing.is_set():
            events = likes(200, start=start)
            start += 200
            await bus.publish(events)
            published.extend(str(e.event_id) for e in events)
            await asyncio.sleep(0.1)

    max_lag = 0.0
    producer = asyncio.create_task(produce())
    try:
        async with running_consumer(settings, io_timeout_s=3.0) as consumer:
            await wait_for(lambda: store.count() > 0, 30, "the first events stored")
            os.kill(pid, signal.SIGSTOP)
            try:
                paused_until = time.monotonic() + 10
                while time.monotonic() < paused_until:
                    await asyncio.sleep(0.5)
                    max_lag = max(max_lag, sum(s.value for s in consumer.metrics.lag.collect()[0].samples))
            finally:
                os.kill(pid, signal.SIGCONT)
            await asyncio.sleep(1.0)
            stop_producing.set()
            await producer
            await wait_for(lambda: store.count() >= len(published), 60, "every event stored after the pause")
            retries = consumer.metrics.retries._value.get()
    finally:
        stop_producing.set()
        producer.cancel()
        await bus.stop()
    assert retries >= 1  # writes timed out while the server was stopped, and were retried
    assert max_lag > 0  # the consumer fell behind while waiting (nothing was skipped)
    ids = stored_ids(store)
    assert len(ids) == len(set(ids)) == len(published)
    assert set(ids) == set(published)


# ---- Kafka down: the API still starts, and answers 503 + Retry-After (never a silent drop) -------
async def test_api_answers_503_while_kafka_is_down(settings: Settings, bundle: Any) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    down = settings.model_copy(update={"event_bus_url": f"kafka://127.0.0.1:{port}"})
    started = time.monotonic()
    async with api_replica(down, bundle) as api:
        assert time.monotonic() - started < 10  # started despite the broker being down
        assert (await api.get("/healthz")).status_code == 200
        started = time.monotonic()
        r = await api.post("/v1/events", json={"user_id": NEW_VIEWER, "item_id": LIKED, "type": "like"})
        assert r.status_code == 503, r.text
        assert r.headers["Retry-After"]
        assert time.monotonic() - started < 8
        assert (await api.get(f"/v1/recommendations/{NEW_VIEWER}")).json()["strategy"] == "popular"  # not folded in
