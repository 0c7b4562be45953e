"""Per-event costs of the ingestion path: decoding a bus record, and a columnar insert.

    python bench/store.py [--decode 200000] [--events 200000] [--chdb-batch 50000] [--clickhouse URL]

1. decode: ``movierecs.events.decode`` (JSON parse + validation into an Event) of ``--decode``
   records as the API's publish writes them, on one core; µs per record (best of 3).
2. columnar insert: one ``InteractionStore.write`` of ``--events`` events into ClickHouse (the
   stack's server, a fresh database dropped afterwards; skipped without MOVIERECS_INTERACTIONS_URL
   or --clickhouse) and ``--events`` events into chDB (embedded, a temp folder) in batches of
   ``--chdb-batch``; events/s and µs per event.
Markdown on stdout; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import tempfile
import time
import uuid
from urllib.parse import urlsplit

from harness import machine_line, pin_client, table, write_json

from movierecs.composition import interaction_store
from movierecs.events import Event, decode


def events(n: int) -> list[Event]:
    return [Event(user_id=i % 50_000 + 1, item_id=i % 1_600 + 1, type="like") for i in range(n)]


def bench_decode(n: int) -> float:
    records = [e.to_json() for e in events(n)]
    best = float("inf")
    for _ in range(3):
        tick = time.perf_counter()
        for r in records:
            decode(r)
        best = min(best, time.perf_counter() - tick)
    return best / n * 1e6


def bench_write(url: str, evs: list[Event], batch: int) -> float:
    store = interaction_store(url)
    store.migrate()
    try:
        tick = time.perf_counter()
        for lo in range(0, len(evs), batch):
            store.write(evs[lo : lo + batch])
        elapsed = time.perf_counter() - tick
        assert store.count() >= len(evs)
    finally:
        store.close()
    return len(evs) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decode", type=int, default=200_000)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--chdb-batch", type=int, default=50_000)
    parser.add_argument("--clickhouse", default=os.environ.get("MOVIERECS_INTERACTIONS_URL", ""))
    parser.add_argument("--json")
    args = parser.parse_args()
    pin_client()
    rows, out = [], {}
    us = bench_decode(args.decode)
    out["decode_us"] = us
    rows.append(
        [f"decode + validate one bus record ({args.decode:,} records, best of 3)", f"{1e6 / us:,.0f}/s", f"{us:.2f}"]
    )
    evs = events(args.events)
    if args.clickhouse.startswith("clickhouse://"):
        from clickhouse_driver import Client

        parts = urlsplit(args.clickhouse)
        db = f"bench_store_{uuid.uuid4().hex[:8]}"
        try:
            rate = bench_write(f"clickhouse://{parts.netloc}/{db}", evs, len(evs))
        finally:
            with contextlib.suppress(Exception):
                Client(host=parts.hostname, port=parts.port or 9000).execute(f"DROP DATABASE IF EXISTS {db}")
        out["clickhouse_rate"] = rate
        rows.append(
            [
                f"ClickHouse server ({parts.netloc}), one write of {len(evs):,} events",
                f"{rate:,.0f}/s",
                f"{1e6 / rate:.2f}",
            ]
        )
    with tempfile.TemporaryDirectory(prefix="bench-chdb-") as tmp:
        rate = bench_write(f"chdb://{tmp}/interactions.chdb", evs, args.chdb_batch)
    out["chdb_rate"] = rate
    rows.append(
        [
            f"chDB (embedded), {len(evs):,} events in batches of {args.chdb_batch:,}",
            f"{rate:,.0f}/s",
            f"{1e6 / rate:.2f}",
        ]
    )
    print("## Ingestion: per-event costs\n")
    print(machine_line("this process pinned to core 1") + "\n")
    print(table(["measure", "rate", "µs per event"], rows))
    write_json(args.json, out)


if __name__ == "__main__":
    main()
