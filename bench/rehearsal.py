"""Fault rehearsal on the local stack: the consumer SIGKILLed while events flow, ClickHouse paused.

    scripts/stack.sh up; set -a; . .stack/env; set +a
    python bench/rehearsal.py [--events 30000] [--kills 4] [--pause-s 10] [--json PATH]

A fresh topic and ClickHouse database (dropped at the end). ``--events`` likes are published in
batches of 1000 (0.15 s apart, as the API would) while `movierecs consume` runs as a process;
it is SIGKILLed (no shutdown: the batch in hand is lost uncommitted) each time the store passes
another 1/(kills+1) of the events, and restarted. Once, ClickHouse is paused (SIGSTOP, then SIGCONT
after ``--pause-s``; the stack's server is shared, so it is paused rather than killed). Then it
counts what is stored: rows, distinct event ids, ids missing, and rows of the training extract.
Markdown on stdout; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from harness import CACHE, ROOT, machine_line, table, write_json

from movierecs.adapters.kafka import KafkaEventBus
from movierecs.composition import interaction_store
from movierecs.events import Event


def consumer(env: dict[str, str], group: str, log: Path) -> subprocess.Popen[bytes]:
    args = ["consume", "--group", group, "--batch-size", "1000", "--batch-wait-ms", "100", "--metrics-port", "0"]
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "movierecs.cli", *args], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )


def clickhouse_pid() -> int | None:
    pid_file = ROOT / ".stack" / "pids" / "clickhouse.pid"
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(pid_file.read_text().split()[0])
        if b"clickhouse" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    return None


async def run(args: argparse.Namespace) -> dict[str, float]:
    bus_url, store_url = os.environ["MOVIERECS_EVENT_BUS_URL"], os.environ["MOVIERECS_INTERACTIONS_URL"]
    tag = uuid.uuid4().hex[:8]
    topic, db = f"bench.rehearsal.{tag}", f"bench_rehearsal_{tag}"
    url = f"clickhouse://{urlsplit(store_url).netloc}/{db}"
    env = {
        **os.environ,
        "MOVIERECS_INTERACTIONS_URL": url,
        "MOVIERECS_KAFKA_TOPIC": topic,
        "MOVIERECS_KAFKA_DLQ_TOPIC": topic + ".dlq",
        "MOVIERECS_LOG_JSON": "false",
        "PYTHONUNBUFFERED": "1",
    }
    store = interaction_store(url)
    store.migrate()
    bus = KafkaEventBus(bus_url.removeprefix("kafka://"), topic, 3)
    await bus.start()
    published: list[str] = []
    batches = args.events // 1000

    async def produce() -> None:
        for i in range(batches):
            events = [
                Event(user_id=u % 5000 + 1, item_id=u % 1600 + 1, type="like") for u in range(i * 1000, (i + 1) * 1000)
            ]
            await bus.publish(events)
            published.extend(str(e.event_id) for e in events)
            await asyncio.sleep(0.15)

    async def until(n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while await asyncio.to_thread(store.count) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{n} events not stored within {timeout:.0f} s")
            await asyncio.sleep(0.1)

    CACHE.mkdir(exist_ok=True)
    log = CACHE / f"rehearsal-{tag}.log"
    group = f"bench-rehearsal-{tag}"
    started = time.perf_counter()
    producer = asyncio.create_task(produce())
    proc = consumer(env, group, log)
    kills = paused = 0
    try:
        step = args.events // (args.kills + 1)
        for k in range(1, args.kills + 1):
            await until(k * step, 120)
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            kills += 1
            if k == 1 and args.pause_s and (pid := clickhouse_pid()) is not None:
                os.kill(pid, signal.SIGSTOP)
                try:
                    await asyncio.sleep(args.pause_s)
                finally:
                    os.kill(pid, signal.SIGCONT)
                paused = 1
            proc = consumer(env, group, log)
        await producer
        await until(args.events, 180)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        elapsed = time.perf_counter() - started
        from clickhouse_driver import Client

        parts = urlsplit(url)
        client = Client(host=parts.hostname, port=parts.port or 9000)
        rows, distinct = client.execute(f"SELECT count(), uniqExact(event_id) FROM {db}.interactions")[0]
        extract = store.extract()
        ids = {str(x) for x in extract["event_id"].tolist()}
        missing = len(set(published) - ids)
    finally:
        if proc.poll() is None:
            proc.kill()
        producer.cancel()
        await bus.stop()
        store.close()
        with contextlib.suppress(Exception):
            from clickhouse_driver import Client

            parts = urlsplit(url)
            Client(host=parts.hostname, port=parts.port or 9000).execute(f"DROP DATABASE IF EXISTS {db}")
    return {
        "published": float(len(published)),
        "kills": float(kills),
        "paused": float(paused),
        "rows": float(rows),
        "distinct": float(distinct),
        "missing": float(missing),
        "extract_rows": float(len(extract)),
        "extract_distinct": float(len(ids)),
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--kills", type=int, default=4)
    parser.add_argument("--pause-s", type=float, default=10.0)
    parser.add_argument("--json")
    args = parser.parse_args()
    if not os.environ.get("MOVIERECS_EVENT_BUS_URL", "").startswith("kafka://"):
        sys.exit("needs the local stack: scripts/stack.sh up; set -a; . .stack/env; set +a")
    r = asyncio.run(run(args))
    print("## Fault rehearsal: consumer SIGKILLed, ClickHouse paused\n")
    print(machine_line("nothing pinned") + "\n")
    print(
        table(
            [
                "published",
                "consumer SIGKILLs",
                "ClickHouse paused",
                "rows stored",
                "distinct ids stored",
                "missing",
                "training extract rows (distinct)",
                "seconds",
            ],
            [
                [
                    f"{r['published']:,.0f}",
                    f"{r['kills']:.0f}",
                    f"{r['paused']:.0f}× {args.pause_s:g} s",
                    f"{r['rows']:,.0f}",
                    f"{r['distinct']:,.0f}",
                    f"{r['missing']:,.0f}",
                    f"{r['extract_rows']:,.0f} ({r['extract_distinct']:,.0f})",
                    f"{r['seconds']:.0f}",
                ]
            ],
        )
    )
    print(
        "\n(rows stored may exceed distinct ids: a killed consumer's uncommitted batch is written again; "
        "the table's FINAL/dedup and the extract count each event once)"
    )
    write_json(args.json, r)


if __name__ == "__main__":
    main()
