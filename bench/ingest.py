"""Ingestion benchmark: API→Kafka publish rate, Kafka→ClickHouse drain rate, end-to-end latency.

Runs against the local stack (``make stack-up; set -a; . .stack/env; set +a``) or any Kafka +
ClickHouse given by flags. Every run uses a fresh topic and ClickHouse database (dropped at the end).

    .venv/bin/python bench/ingest.py [--events 200000] [--publish-events 100000]
        [--latency-rate 2000] [--latency-seconds 5] [--bootstrap host:port] [--clickhouse URL]

1. API→Kafka: ``KafkaEventBus.publish`` of batches of 1000 events (what ``POST /v1/events`` does after
   validation: serialise, produce with acks=all, await every acknowledgement), 1 and 4 concurrent
   publishers.
2. Kafka→ClickHouse: ``--events`` pre-produced events drained by the consumer service (decode and
   validate each, columnar insert, then commit), events/s from the first write to the last (the
   group join before it is reported separately).
3. End to end: events published at ``--latency-rate``/s while the consumer runs; per event, the time
   from publish to (a) a replica's ``tail`` yielding it and (b) its ClickHouse insert returning.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import orjson

from movierecs.adapters.kafka import KafkaEventBus, producer_config
from movierecs.composition import event_stream, interaction_store
from movierecs.events import Event
from movierecs.ports import InteractionStore
from movierecs.settings import Settings
from movierecs.streaming.consumer import Consumer
from movierecs.streaming.handlers import BatchPolicy


def make_events(n: int, start: int = 0) -> list[Event]:
    return [Event(user_id=i % 50_000 + 1, item_id=i % 1_600 + 1, type="like") for i in range(start, start + n)]


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class TimedStore:
    """Wraps the real store; records when each event's insert returned (for latency)."""

    def __init__(self, inner: InteractionStore, stamps: dict[uuid.UUID, float]) -> None:
        self.inner, self.stamps = inner, stamps

    def migrate(self) -> None:
        self.inner.migrate()

    def write(self, events: Sequence[Event]) -> int:
        n = self.inner.write(events)
        now = time.time()
        for e in events:
            self.stamps.setdefault(e.event_id, now)
        return n

    def extract(self, until: datetime | None = None, since: datetime | None = None) -> Any:
        return self.inner.extract(until, since)

    def count(self) -> int:
        return self.inner.count()

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:  # any other port method: the real store's
        return getattr(self.inner, name)


async def bench_publish(bootstrap: str, n: int, concurrency: int) -> float:
    topic = f"bench.publish.{uuid.uuid4().hex[:8]}"
    bus = KafkaEventBus(bootstrap, topic, 3)
    await bus.start()
    batches = [make_events(1000, i * 1000) for i in range(n // 1000)]
    await bus.publish(batches[0])  # warm up: connection, metadata
    queue: asyncio.Queue[list[Event]] = asyncio.Queue()
    for b in batches[1:]:
        queue.put_nowait(b)

    async def worker() -> None:
        while not queue.empty():
            await bus.publish(queue.get_nowait())

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await bus.stop()
    return (len(batches) - 1) * 1000 / elapsed


async def bench_api(api_url: str, n: int, concurrency: int) -> float:
    """POST /v1/events with 1000 events per request to a running API (parse, validate, publish)."""
    import httpx

    bodies = [orjson.dumps([e.model_dump(mode="json") for e in make_events(1000, i * 1000)]) for i in range(n // 1000)]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    async with httpx.AsyncClient(base_url=api_url, timeout=30) as client:
        r = await client.post("/v1/events", content=bodies[0], headers={"Content-Type": "application/json"})
        r.raise_for_status()
        for body in bodies[1:]:
            queue.put_nowait(body)

        async def worker() -> None:
            while not queue.empty():
                resp = await client.post("/v1/events", content=queue.get_nowait(),
                                         headers={"Content-Type": "application/json"})  # fmt: skip
                resp.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return (len(bodies) - 1) * 1000 / (time.perf_counter() - started)


async def preproduce(bootstrap: str, topic: str, n: int) -> float:
    """Fill ``topic`` with ``n`` events as fast as possible (raw producer, pre-serialised values)."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(**producer_config(bootstrap, request_timeout_s=30, linger_ms=5))
    await producer.start()
    started = time.perf_counter()
    try:
        for chunk in range(0, n, 10_000):
            events = make_events(min(10_000, n - chunk), chunk)
            futures = [await producer.send(topic, value=e.to_json(), key=e.kafka_key()) for e in events]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return n / (time.perf_counter() - started)


async def bench_drain(settings: Settings, n: int, batch_size: int) -> dict[str, float]:
    bootstrap = settings.event_bus_url.removeprefix("kafka://")
    bus = KafkaEventBus(bootstrap, settings.kafka_topic, settings.kafka_partitions, dlq_topic=settings.kafka_dlq_topic)
    await bus.start()  # creates the topics
    await bus.stop()
    produce_rate = await preproduce(bootstrap, settings.kafka_topic, n)
    writes: list[float] = []

    def factory() -> InteractionStore:
        store = interaction_store(settings.interactions)
        original = store.write

        def write(events: Sequence[Event]) -> int:
            out = original(events)
            writes.append(time.perf_counter())
            return out

        store.write = write  # type: ignore[method-assign]
        return store

    consumer = Consumer(event_stream(settings, f"bench-{uuid.uuid4().hex[:8]}"), factory,
                        policy=BatchPolicy(batch_size, 0.5))  # fmt: skip
    started = time.perf_counter()
    task = asyncio.create_task(consumer.run())
    while consumer.metrics.events._value.get() < n:
        await asyncio.sleep(0.02)
        if task.done():
            task.result()
    done = time.perf_counter()
    first_write = writes[0]
    consumer.request_stop()
    await task
    batches = len(writes)
    # events/s from the end of the first write to the end of the last (steady state, no join time)
    steady = (n - n / batches) / (done - first_write) if batches > 1 else float("nan")
    return {"produce_rate": produce_rate, "join_s": first_write - started, "total_s": done - started,
            "drain_rate": n / (done - started), "steady_rate": steady, "batches": batches}  # fmt: skip


async def bench_latency(settings: Settings, rate: int, seconds: float) -> dict[str, list[float]]:
    bootstrap = settings.event_bus_url.removeprefix("kafka://")
    stamps: dict[uuid.UUID, float] = {}
    consumer = Consumer(
        event_stream(settings, f"bench-lat-{uuid.uuid4().hex[:8]}"),
        lambda: TimedStore(interaction_store(settings.interactions), stamps),
        policy=BatchPolicy(10_000, 0.1),
    )
    task = asyncio.create_task(consumer.run())
    bus = KafkaEventBus(bootstrap, settings.kafka_topic, settings.kafka_partitions)
    await bus.start()
    replica = KafkaEventBus(bootstrap, settings.kafka_topic, settings.kafka_partitions)
    seen: dict[uuid.UUID, float] = {}

    async def tail() -> None:
        async for event in replica.tail(datetime.now(UTC)):
            seen.setdefault(event.event_id, time.time())

    tailer = asyncio.create_task(tail())
    # warm up until the consumer joined and the tail is positioned
    probe = make_events(1)
    await asyncio.sleep(0.5)
    await bus.publish(probe)
    while probe[0].event_id not in stamps or probe[0].event_id not in seen:
        await asyncio.sleep(0.05)
    sent: dict[uuid.UUID, float] = {}
    per_request = max(1, rate // 50)  # 50 requests/s
    deadline = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < deadline:
        tick = time.perf_counter()
        events = make_events(per_request, 1 + i)
        i += per_request
        now = time.time()
        await bus.publish(events)
        for e in events:
            sent[e.event_id] = now
        await asyncio.sleep(max(0.0, 0.02 - (time.perf_counter() - tick)))
    end = time.monotonic() + 30
    while (any(k not in stamps for k in sent) or any(k not in seen for k in sent)) and time.monotonic() < end:
        await asyncio.sleep(0.05)
    tailer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await tailer
    await replica.stop()
    await bus.stop()
    consumer.request_stop()
    await task
    return {
        "tail": [seen[k] - t for k, t in sent.items() if k in seen],
        "store": [stamps[k] - t for k, t in sent.items() if k in stamps],
        "sent": [float(len(sent))],
    }


def drop_database(url: str) -> None:
    from clickhouse_driver import Client

    parts = urlsplit(url)
    with contextlib.suppress(Exception):
        Client(host=parts.hostname, port=parts.port or 9000).execute(f"DROP DATABASE IF EXISTS {parts.path.strip('/')}")


async def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default=os.environ.get("MOVIERECS_EVENT_BUS_URL", "").removeprefix("kafka://"))
    parser.add_argument("--clickhouse", default=os.environ.get("MOVIERECS_INTERACTIONS_URL", ""))
    parser.add_argument("--events", type=int, default=200_000, help="events drained Kafka→ClickHouse")
    parser.add_argument("--batch-size", type=int, default=10_000, help="consumer batch size")
    parser.add_argument("--publish-events", type=int, default=100_000, help="events published API→Kafka")
    parser.add_argument("--api-url", default="", help="also POST /v1/events to this running API (item ids 1..1600)")
    parser.add_argument("--latency-rate", type=int, default=2_000, help="events/s during the latency run")
    parser.add_argument("--latency-seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    if not args.bootstrap or not args.clickhouse.startswith("clickhouse://"):
        sys.exit(
            "needs Kafka and ClickHouse: make stack-up; set -a; . .stack/env; set +a (or --bootstrap/--clickhouse)"
        )

    tag = uuid.uuid4().hex[:8]
    netloc = urlsplit(args.clickhouse).netloc
    settings = Settings(event_bus_url=f"kafka://{args.bootstrap}", interactions_url=f"clickhouse://{netloc}/bench_{tag}",
                        kafka_topic=f"bench.ingest.{tag}", kafka_dlq_topic=f"bench.ingest.{tag}.dlq",
                        kafka_partitions=3)  # fmt: skip
    print(f"# ingest benchmark  (cpus={os.cpu_count()}, kafka={args.bootstrap}, clickhouse={netloc})")
    try:
        print("\n## API→Kafka (KafkaEventBus.publish, batches of 1000, acks=all)")
        for concurrency in (1, 4):
            rate = await bench_publish(args.bootstrap, args.publish_events, concurrency)
            print(f"  publishers={concurrency}: {rate:>10,.0f} events/s")
        if args.api_url:
            print(f"\n## API→Kafka over HTTP (POST {args.api_url}/v1/events, 1000 events per request)")
            for concurrency in (1, 4):
                rate = await bench_api(args.api_url, args.publish_events, concurrency)
                print(f"  clients={concurrency}: {rate:>10,.0f} events/s")

        print(
            f"\n## Kafka→ClickHouse (consumer service, {args.events:,} pre-produced events, batch {args.batch_size:,})"
        )
        drain = await bench_drain(settings, args.events, args.batch_size)
        print(f"  pre-produce (raw producer):   {drain['produce_rate']:>10,.0f} events/s")
        print(f"  group join + first write:     {drain['join_s']:>10.2f} s")
        print(f"  drain incl. join:             {drain['drain_rate']:>10,.0f} events/s ({drain['total_s']:.1f} s)")
        print(
            f"  drain steady (after 1st batch): {drain['steady_rate']:>8,.0f} events/s ({drain['batches']:.0f} batches)"
        )
        store = interaction_store(settings.interactions)
        stored = store.count()
        store.close()
        print(f"  stored distinct: {stored:,} of {args.events:,}")

        lat_settings = settings.model_copy(update={"kafka_topic": f"bench.lat.{tag}",
                                                   "kafka_dlq_topic": f"bench.lat.{tag}.dlq"})  # fmt: skip
        print(f"\n## End to end ({args.latency_rate:,} events/s for {args.latency_seconds:.0f} s, 50 publishes/s)")
        lat = await bench_latency(lat_settings, args.latency_rate, args.latency_seconds)
        for name, label in (("tail", "publish → replica tail (fold-in)"), ("store", "publish → ClickHouse insert")):
            values = [v * 1000 for v in lat[name]]
            print(f"  {label:<34} p50 {pct(values, 0.5):7.1f} ms  p95 {pct(values, 0.95):7.1f} ms  "
                  f"p99 {pct(values, 0.99):7.1f} ms  max {max(values):7.1f} ms  (n={len(values):,} "
                  f"of {lat['sent'][0]:,.0f}, mean {statistics.fmean(values):.1f})")  # fmt: skip
    finally:
        drop_database(settings.interactions)


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main())
