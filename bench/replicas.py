"""Replicas on the local stack: like on replica A → changed list on replica B, and start-up time
with many events since the model's watermark.

    scripts/stack.sh up; set -a; . .stack/env; set +a
    python bench/replicas.py --model BUNDLE_DIR [--like-samples 100] [--startup-events 5000000] [--json PATH]

Every run uses a fresh Kafka topic and ClickHouse database on the stack (dropped at the end), so
it neither sees nor disturbs anyone else's events; the catalog is each replica's own SQLite file.

1. like → change across replicas: two `movierecs serve` processes (A on core 0, B on core 1) tail
   the same topic. For each sample a viewer's list is read from B, the title ranked 26th (outside
   the 10 shown, never the top pick) is liked on A, and B is polled until the 10 titles other than
   the liked one changed order or score (5 s timeout, counted as missed).
2. start-up: ``--startup-events`` events (after the watermark: they are stamped now) are put on the
   topic *and* in the interaction store, the last one a like of a probe viewer; then a replica is
   started and timed from process start to /readyz 200, and to the first list of the probe viewer
   that reflects the like. The floor is the same replica on an empty topic and store.
Markdown on stdout; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from harness import machine_line, serve_env, start_server, table, write_json
from serve import like_to_change, like_users, read_list

PROBE_USER = 77_000_001


def stack_env(topic: str, database: str) -> dict[str, str]:
    bus = os.environ.get("MOVIERECS_EVENT_BUS_URL", "")
    store = os.environ.get("MOVIERECS_INTERACTIONS_URL", "")
    if not bus.startswith("kafka://") or not store.startswith("clickhouse://"):
        sys.exit("needs the local stack: scripts/stack.sh up; set -a; . .stack/env; set +a")
    env = serve_env(embedded=False)
    env.pop("MOVIERECS_CATALOG_URL", None)
    return env | {
        "MOVIERECS_KAFKA_TOPIC": topic,
        "MOVIERECS_KAFKA_DLQ_TOPIC": topic + ".dlq",
        "MOVIERECS_INTERACTIONS_URL": f"clickhouse://{urlsplit(store).netloc}/{database}",
    }


def migrate(url: str) -> None:
    from movierecs.composition import interaction_store

    store = interaction_store(url)
    store.migrate()
    store.close()


def drop(url: str, topic: str) -> None:
    from clickhouse_driver import Client

    parts = urlsplit(url)
    with contextlib.suppress(Exception):
        Client(host=parts.hostname, port=parts.port or 9000).execute(f"DROP DATABASE IF EXISTS {parts.path.strip('/')}")

    async def delete_topic() -> None:
        from aiokafka.admin import AIOKafkaAdminClient

        admin = AIOKafkaAdminClient(bootstrap_servers=os.environ["MOVIERECS_EVENT_BUS_URL"].removeprefix("kafka://"))
        await admin.start()
        try:
            await admin.delete_topics([topic, topic + ".dlq"])
        finally:
            await admin.close()

    with contextlib.suppress(Exception):
        asyncio.run(delete_topic())


def bench_like(model: str, env: dict[str, str], samples: int) -> dict[str, Any]:
    from movierecs.models.bundle import load_bundle

    known = np.asarray(load_bundle(Path(model)).model.users.external)
    a = start_server(model, env, cpu=0)
    b = start_server(model, env, cpu=1)
    try:
        # the bus works end to end before timing: a like on A shows on B
        users = like_users(known, samples, seed=4)
        warm = like_to_change(b.base, a.base, [int(known[-1])], timeout=30)
        result = like_to_change(b.base, a.base, users)
        result["warmup_ms"] = warm["p50"]
    finally:
        a.stop()
        b.stop()
    result["warnings"] = a.warnings() + b.warnings()
    return result


async def fill(env: dict[str, str], n: int, items: np.ndarray, probe_item: int) -> dict[str, float]:
    """``n`` events on the topic and in the store, stamped now; the last one the probe's like."""
    from aiokafka import AIOKafkaProducer

    from movierecs.adapters.kafka import KafkaEventBus, producer_config
    from movierecs.composition import interaction_store
    from movierecs.events import Event

    bootstrap = env["MOVIERECS_EVENT_BUS_URL"].removeprefix("kafka://")
    topic = env["MOVIERECS_KAFKA_TOPIC"]
    bus = KafkaEventBus(bootstrap, topic, int(env.get("MOVIERECS_KAFKA_PARTITIONS", "3")))
    await bus.start()  # creates the topic as the API would
    await bus.stop()
    store = interaction_store(env["MOVIERECS_INTERACTIONS_URL"])
    producer = AIOKafkaProducer(**producer_config(bootstrap, request_timeout_s=60, linger_ms=20))
    await producer.start()
    rng = np.random.default_rng(9)
    kafka_s = store_s = 0.0
    try:
        for lo in range(0, n, 100_000):
            size = min(100_000, n - lo)
            users = rng.integers(1, 1_000_000, size=size)
            its = items[rng.integers(0, len(items), size=size)]
            events = [Event(user_id=int(u), item_id=int(i), type="watch") for u, i in zip(users, its, strict=True)]
            if lo + size >= n:
                events[-1] = Event(user_id=PROBE_USER, item_id=probe_item, type="like")
            tick = time.perf_counter()
            futures = [await producer.send(topic, value=e.to_json(), key=e.kafka_key()) for e in events]
            await asyncio.gather(*futures)
            kafka_s += time.perf_counter() - tick
            tick = time.perf_counter()
            await asyncio.to_thread(store.write, events)
            store_s += time.perf_counter() - tick
    finally:
        await producer.stop()
        store.close()
    return {"kafka_rate": n / kafka_s, "store_rate": n / store_s}


def time_start(
    model: str, env: dict[str, str], probe_item: int | None, base_list: list[tuple[int, float]]
) -> dict[str, Any]:
    server = start_server(model, env, cpu=0, timeout=1800)
    out: dict[str, Any] = {"readyz_s": server.startup_s}
    started = time.perf_counter() - server.startup_s
    try:
        if probe_item is None:
            out["probe_list"] = read_list(server.base, PROBE_USER, 10)
        else:
            deadline = time.perf_counter() + 600
            while time.perf_counter() < deadline:
                now = [x for x in read_list(server.base, PROBE_USER, 10) if x[0] != probe_item]
                if now != [x for x in base_list if x[0] != probe_item]:
                    out["probe_s"] = time.perf_counter() - started
                    break
                time.sleep(0.05)
            else:
                out["probe_s"] = float("nan")
        out["rss_mb"] = server.rss()["VmRSS"] / 1024
        out["metrics"] = {k: v for k, v in server.metrics().items() if "online" in k or "tail" in k}
    finally:
        server.stop()
    out["warnings"] = server.warnings()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--like-samples", type=int, default=100)
    parser.add_argument("--startup-events", type=int, default=5_000_000)
    parser.add_argument("--json")
    args = parser.parse_args()
    model = str(Path(args.model).resolve())
    tag = uuid.uuid4().hex[:8]
    out: dict[str, Any] = {"model": model}
    print(f"## Replicas on the local stack: {Path(model).parent.name}/{Path(model).name}\n")
    print(machine_line("replica A pinned to core 0, B to core 1, the client unpinned") + "\n")

    env = stack_env(f"bench.like.{tag}", f"bench_like_{tag}")
    migrate(env["MOVIERECS_INTERACTIONS_URL"])
    try:
        if args.like_samples:
            lk = bench_like(model, env, args.like_samples)
            out["like"] = lk
            print(
                f"like on A → changed list on B (Kafka, two replicas): {lk['samples']} samples (80% known viewers, "
                f"20% new; liked title ranked 26th), p50 {lk['p50']:.1f} ms, **p95 {lk['p95']:.1f} ms**, "
                f"max {lk['max']:.1f} ms; missed (no change within 5 s): {lk['missed']}; control (two reads, "
                f"no like) changed: {lk['control_changed']}; server warnings: {lk['warnings']}\n"
            )
    finally:
        drop(env["MOVIERECS_INTERACTIONS_URL"], env["MOVIERECS_KAFKA_TOPIC"])

    if args.startup_events:
        from movierecs.models.bundle import load_bundle

        items = np.asarray(load_bundle(Path(model)).model.items.external)
        rows = []
        base: list[tuple[int, float]] = []
        for label, n in (
            ("empty topic and store (floor)", 0),
            (f"{args.startup_events:,} events since the watermark", args.startup_events),
        ):
            env = stack_env(f"bench.start.{tag}.{n}", f"bench_start_{tag}_{n}")
            migrate(env["MOVIERECS_INTERACTIONS_URL"])
            try:
                fill_stats = {"kafka_rate": float("nan"), "store_rate": float("nan")}
                probe_item = None
                if n:  # the probe's list before its like is the floor replica's list for it
                    probe_item = int(items[len(items) // 2])
                    fill_stats = asyncio.run(fill(env, n, items, probe_item))
                res = time_start(model, env, probe_item, base)
                base = res.pop("probe_list", base)
                rows.append(
                    [
                        label,
                        f"{res['readyz_s']:.1f}",
                        f"{res['probe_s']:.1f}" if "probe_s" in res else "-",
                        f"{res['rss_mb']:,.0f}",
                        f"{fill_stats['kafka_rate']:,.0f} / {fill_stats['store_rate']:,.0f}",
                        res["warnings"],
                    ]
                )
                out[f"startup_{n}"] = res | fill_stats
            finally:
                drop(env["MOVIERECS_INTERACTIONS_URL"], env["MOVIERECS_KAFKA_TOPIC"])
        print(
            table(
                [
                    "replica start",
                    "process start → /readyz 200 (s)",
                    "→ probe viewer's like reflected (s)",
                    "RSS MB",
                    "fill rate Kafka / store (events/s)",
                    "server warnings",
                ],
                rows,
            )
        )
        print(
            f"\n(probe: viewer {PROBE_USER}, whose only event is a like, the last of the events; its list must "
            f"differ from the popular list a viewer without events gets, minus the liked title)"
        )
    write_json(args.json, out)


if __name__ == "__main__":
    main()
