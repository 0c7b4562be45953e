"""Memory of one API process after many distinct viewers and events: RSS from /proc/PID/status.

    python bench/memory.py --model BUNDLE_DIR [--viewers 1000000] [--events 1000000] [--json PATH]

One `movierecs serve` (embedded in-process bus, sink off, response cache at its default size,
pinned to core 0). ``--events`` events (like/watch/click, 1000 per POST /v1/events, viewers drawn
with Zipf repeats from the same id population as the requests, titles by popularity rank) are
posted first, then one GET /v1/recommendations for each of ``--viewers`` distinct viewer ids (every
viewer the model knows, the rest unknown; 15% with a genres filter). VmRSS and VmHWM are read
after start-up, after the events and after the viewers, next to the online-state and cache gauges
the API exports. Markdown on stdout; nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from harness import closed_loop, http, machine_line, pin_client, serve_env, start_server, table, write_json

TYPES = ("like", "watch", "click")


def gauges(metrics: dict[str, float]) -> str:
    keep = [
        f"{k}={v:,.0f}"
        for k, v in metrics.items()
        if any(w in k for w in ("online_users", "response_cache", "viewers", "cache_entries")) and "_created" not in k
    ]
    return "; ".join(keep) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--viewers", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--json")
    args = parser.parse_args()
    pin_client()
    machine = machine_line()
    from movierecs.models.bundle import load_bundle

    model = str(Path(args.model).resolve())
    bundle = load_bundle(Path(model))
    known = np.asarray(bundle.model.users.external)
    items = np.asarray(bundle.model.items.external)
    genres = list(bundle.model.genre_names)
    del bundle
    rng = np.random.default_rng(5)
    unknown = 50_000_000 + np.arange(max(0, args.viewers - len(known)))
    viewers = np.concatenate([known[: args.viewers], unknown])
    rng.shuffle(viewers)

    server = start_server(model, serve_env())
    rows: list[list[Any]] = []
    out: dict[str, Any] = {"model": model, "viewers": len(viewers), "events": args.events}
    try:
        rss = server.rss()
        rows.append(
            [
                "after start-up",
                f"{rss['VmRSS'] / 1024:,.0f}",
                f"{rss['VmHWM'] / 1024:,.0f}",
                "-",
                gauges(server.metrics()),
            ]
        )
        out["start"] = rss
        ranks = np.arange(1, len(viewers) + 1, dtype=np.float64) ** -0.9
        who = viewers[rng.choice(len(viewers), size=args.events, p=ranks / ranks.sum())]
        irank = np.arange(1, len(items) + 1, dtype=np.float64) ** -1.0
        what = items[rng.choice(len(items), size=args.events, p=irank / irank.sum())]
        kinds = rng.integers(0, len(TYPES), size=args.events)
        tick = time.perf_counter()
        rejected = 0
        for lo in range(0, args.events, 1000):
            body = orjson.dumps(
                [
                    {"user_id": int(u), "item_id": int(i), "type": TYPES[t]}
                    for u, i, t in zip(who[lo : lo + 1000], what[lo : lo + 1000], kinds[lo : lo + 1000], strict=True)
                ]
            )
            status, _ = http("POST", server.base + "/v1/events", body, timeout=60)
            rejected += status != 202
        events_s = time.perf_counter() - tick
        rss = server.rss()
        rows.append(
            [
                f"after {args.events:,} events ({len(np.unique(who)):,} viewers), {events_s:.0f} s, "
                f"{args.events / events_s:,.0f} events/s, {rejected} batches refused",
                f"{rss['VmRSS'] / 1024:,.0f}",
                f"{rss['VmHWM'] / 1024:,.0f}",
                "-",
                gauges(server.metrics()),
            ]
        )
        out["after_events"] = rss | {"seconds": events_s, "rejected_batches": rejected}
        paths = []
        for j, u in enumerate(viewers.tolist()):
            q = f"&genres={genres[j % len(genres)].lower()},{genres[(j * 7) % len(genres)]}" if j % 7 == 0 else ""
            paths.append(f"/v1/recommendations/{u}?k=10{q}".replace(" ", "%20").replace("'", "%27"))
        tick = time.perf_counter()
        res = closed_loop(server.port, paths, 24 * 3600, args.connections, once=True)
        viewers_s = time.perf_counter() - tick
        rss = server.rss()
        rows.append(
            [
                f"after {res.requests:,} distinct viewers, {viewers_s:.0f} s, {res.rps:,.0f} req/s",
                f"{rss['VmRSS'] / 1024:,.0f}",
                f"{rss['VmHWM'] / 1024:,.0f}",
                res.errors,
                gauges(server.metrics()),
            ]
        )
        out["after_viewers"] = rss | {"seconds": viewers_s, "errors": res.errors}
    finally:
        server.stop()
    print(f"## Memory: one API process, {Path(model).parent.name}/{Path(model).name}\n")
    print(machine + "\n")
    print(table(["stage", "VmRSS MB", "VmHWM MB", "errors", "API gauges"], rows))
    print(f"\nserver warnings logged: {server.warnings()} ({server.log})")
    write_json(args.json, out)


if __name__ == "__main__":
    main()
