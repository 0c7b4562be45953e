"""Serving benchmark on realistic traffic: throughput next to /healthz, open-loop latency, like → change.

    python bench/serve.py --model BUNDLE_DIR [--duration 10] [--connections 32] [--requests 300000]
        [--population 1000000] [--like-samples 100] [--json PATH]

Starts `movierecs serve` (one uvicorn worker, embedded in-process bus, sink off, pinned to core 0)
once with the response cache off (MOVIERECS_RESPONSE_CACHE_USERS=0) and once on (the default
size), and in each run, with the generator on core 1:

1. closed loop: /healthz (the floor every other figure is compared with), then
   /v1/recommendations over the traffic below, in order; the ratio is the headline;
2. open loop at 25%, 50% and 75% of that run's recommendations maximum, latency timed from each
   request's *scheduled* send (no coordinated omission);
3. like → change (cache-on run): a viewer's list is read, a title ranked 26th (outside the
   10 shown, never the top pick) is liked, and the list is read again until the 10 titles other
   than the liked one changed order or score; a control pair of reads without a like shows the
   comparison does not fire on its own.

Traffic: ``--requests`` paths over ``--population`` viewer ids (every viewer the model knows, the
rest unknown to it), Zipf repeats (exponent 0.9), 20% of requests for unknown viewers, 15% with a
genres filter of 1-3 genres in random order and case. It prints the distinct ids sent, the repeat
rate and the response-cache hit rate (from the API's movierecs_response_cache_* counters when it
has them, otherwise simulated from the id sequence and the cache size, and labelled so).
Markdown on stdout; nothing is asserted.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from harness import (
    GENERATOR,
    Traffic,
    cache_counters,
    closed,
    closed_loop,
    http,
    machine_line,
    make_traffic,
    open_loop,
    pin_client,
    serve_env,
    simulate_cache,
    start_server,
    table,
    write_json,
)

CACHE_ON = 50_000


def model_facts(model: str) -> tuple[np.ndarray, list[str], int]:
    from movierecs.models.bundle import load_bundle

    bundle = load_bundle(Path(model))
    return np.asarray(bundle.model.users.external), list(bundle.model.genre_names), len(bundle.model.items)


def read_list(base: str, user: int, k: int) -> list[tuple[int, float]]:
    status, body = http("GET", f"{base}/v1/recommendations/{user}?k={k}")
    if status != 200:
        raise RuntimeError(f"GET {user}: {status} {body[:200]!r}")
    return [(x["item_id"], x["score"]) for x in orjson.loads(body)["items"]]


def like_to_change(read_base: str, write_base: str, users: list[int], timeout: float = 5.0) -> dict[str, Any]:
    """Seconds from POSTing a like of the viewer's 26th title (on ``write_base``) until their top 10,
    read from ``read_base`` and without the liked title, differs in order or scores."""
    samples: list[float] = []
    missed = control_changed = 0
    for user in users:
        ranked = read_list(read_base, user, 50)
        again = read_list(read_base, user, 10)
        control_changed += again != ranked[:10]
        liked = ranked[25][0]
        before = [x for x in ranked[:10] if x[0] != liked]
        t0 = time.perf_counter()
        status, body = http(
            "POST", f"{write_base}/v1/events", orjson.dumps({"user_id": user, "item_id": liked, "type": "like"})
        )
        if status != 202:
            raise RuntimeError(f"POST like: {status} {body[:200]!r}")
        while True:
            after = [x for x in read_list(read_base, user, 10) if x[0] != liked]
            if after != before:
                samples.append(time.perf_counter() - t0)
                break
            if time.perf_counter() - t0 > timeout:
                missed += 1
                break
            time.sleep(0.001)
    ms = np.array(samples) * 1000 if samples else np.array([np.nan])
    return {
        "samples": len(samples),
        "missed": missed,
        "control_changed": control_changed,
        "p50": float(np.percentile(ms, 50)),
        "p95": float(np.percentile(ms, 95)),
        "max": float(np.max(ms)),
    }


def like_users(known: np.ndarray, n: int, seed: int = 3) -> list[int]:
    """80% viewers the model knows, 20% new ones (ids no traffic uses)."""
    rng = np.random.default_rng(seed)
    n_new = n // 5
    old = rng.choice(known, size=n - n_new, replace=False).tolist()
    return old + list(range(90_000_000 + seed * 10_000, 90_000_000 + seed * 10_000 + n_new))


def run_config(
    model: str, label: str, cache_users: int, traffic: Traffic, args: argparse.Namespace, known: np.ndarray
) -> dict[str, Any]:
    env = serve_env({"MOVIERECS_RESPONSE_CACHE_USERS": str(cache_users)})
    server = start_server(model, env)
    out: dict[str, Any] = {"label": label, "cache_users": cache_users, "startup_s": server.startup_s}
    try:
        healthz = closed(server.base, server.port, args.duration, args.connections, None)
        if not cache_users:  # the generators' own ceiling, against the floor endpoint
            raw = closed_loop(server.port, ["/healthz"], args.duration, args.connections)
            probe = open_loop(server.port, ["/healthz"], 0.75 * healthz.rps, args.open_seconds)
            out["generators"] = {"wrk": healthz.__dict__, "raw_closed": raw.__dict__, "raw_open": probe.row()}
        m0 = server.metrics()
        recs = closed(server.base, server.port, args.duration, args.connections, traffic.paths)
        m1 = server.metrics()
        sent = min(recs.requests, len(traffic.paths))
        traffic_stats = traffic.describe(sent)
        counters0, counters1 = cache_counters(m0), cache_counters(m1)
        if counters1 is not None:  # a labelled counter has no sample before its first increment
            counters0 = counters0 or (0.0, 0.0)
            hits, misses = counters1[0] - counters0[0], counters1[1] - counters0[1]
            hit_rate, hit_source = hits / max(1.0, hits + misses), "movierecs_response_cache_* counters"
        else:
            hit_rate = simulate_cache(traffic, sent, 0, cache_users, normalised=False)
            hit_rate_norm = simulate_cache(traffic, sent, 0, cache_users, normalised=True)
            hit_source = f"simulated (no counter; normalised keys would give {hit_rate_norm:.1%})"
        out |= {
            "healthz": healthz.__dict__,
            "recs": recs.__dict__,
            "traffic": traffic_stats,
            "hit_rate": hit_rate,
            "hit_source": hit_source,
        }
        offset = sent
        rows = []
        for share in (0.25, 0.5, 0.75):
            rate = recs.rps * share
            res = open_loop(server.port, traffic.paths[offset:] + traffic.paths[:offset], rate, args.open_seconds)
            offset = (offset + len(res.latencies_ms)) % len(traffic.paths)
            rows.append({"share": share, **res.row()})
        out["open"] = rows
        if args.like_samples and cache_users:
            out["like"] = like_to_change(server.base, server.base, like_users(known, args.like_samples))
        out["rss_kb"] = server.rss()
    finally:
        server.stop()
    out["server_warnings"] = server.warnings()
    out["server_log"] = str(server.log)
    return out


def report(model: str, n_items: int, traffic: Traffic, results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(f"## Serving: {Path(model).parent.name}/{Path(model).name} ({n_items:,} titles)\n")
    print(args.machine)
    print(
        f"generator: {GENERATOR} ({args.connections} connections, closed loop, {args.duration:g} s per row); "
        f"open loop: raw asyncio client, 64 connections, {args.open_seconds:g} s per rate, "
        "timed from the scheduled send\n"
    )
    rows = []
    for r in results:
        h, rec, t = r["healthz"], r["recs"], r["traffic"]
        rows.append(
            [
                r["label"],
                "/healthz (floor)",
                f"{h['rps']:,.0f}",
                "100%",
                "-",
                "-",
                "-",
                f"{h['client_cpu']:.0%}",
                h["errors"],
            ]
        )
        rows.append(
            [
                r["label"],
                "/v1/recommendations",
                f"{rec['rps']:,.0f}",
                f"**{rec['rps'] / h['rps']:.0%}**",
                f"{t['distinct']:,.0f} of {t['requests']:,.0f}",
                f"{t['repeat_rate']:.1%}",
                f"{r['hit_rate']:.1%} ({r['hit_source']})",
                f"{rec['client_cpu']:.0%}",
                rec["errors"],
            ]
        )
    print(
        table(
            [
                "cache",
                "endpoint",
                "req/s",
                "vs /healthz",
                "distinct ids / requests",
                "repeat rate",
                "cache hit rate",
                "generator CPU",
                "errors",
            ],
            rows,
        )
    )
    print(
        f"\npopulation: {traffic.population:,} viewer ids ({traffic.known_share:.0%} of requests for known viewers, "
        f"Zipf exponent {traffic.exponent}); 15% of requests carry a genres filter in mixed order and case\n"
    )
    rows = []
    for r in results:
        for o in r["open"]:
            rows.append(
                [
                    r["label"],
                    f"{o['share']:.0%} of max",
                    f"{o['rate']:,.0f}",
                    f"{o['achieved']:,.0f}",
                    f"{o['p50']:.2f}",
                    f"{o['p95']:.2f}",
                    f"**{o['p99']:.2f}**",
                    f"{o['max']:.1f}",
                    o["errors"],
                ]
            )
    print(table(["cache", "rate", "req/s due", "req/s done", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors"], rows))
    for r in results:
        if "like" in r:
            lk = r["like"]
            print(
                f"\nlike → change, embedded (one process, {r['label']}): {lk['samples']} samples "
                f"(80% known viewers, 20% new; liked title ranked 26th), p50 {lk['p50']:.1f} ms, "
                f"**p95 {lk['p95']:.1f} ms**, max {lk['max']:.1f} ms; missed (no change within 5 s): "
                f"{lk['missed']}; control (two reads, no like) changed: {lk['control_changed']}"
            )
    for r in results:
        if "generators" in r:
            g = r["generators"]
            print(
                f"\ngenerator ceiling (/healthz, cache-off server): wrk {g['wrk']['rps']:,.0f} req/s using "
                f"{g['wrk']['client_cpu']:.0%} of its core; "
                f"raw asyncio closed loop {g['raw_closed']['rps']:,.0f} req/s "
                f"using {g['raw_closed']['client_cpu']:.0%}; "
                f"raw asyncio open loop at {g['raw_open']['rate']:,.0f} req/s "
                f"done {g['raw_open']['achieved']:,.0f} req/s, p50 {g['raw_open']['p50']:.2f} ms, "
                f"p99 {g['raw_open']['p99']:.2f} ms"
            )
    for r in results:
        print(f"\n{r['label']}: server warnings logged: {r['server_warnings']} ({r['server_log']})")
        print(
            f"{r['label']}: start-up to /readyz {r['startup_s']:.1f} s; RSS after the run "
            f"{r['rss_kb'].get('VmRSS', 0) / 1024:,.0f} MB (peak {r['rss_kb'].get('VmHWM', 0) / 1024:,.0f} MB)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="bundle folder")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per closed-loop row")
    parser.add_argument("--open-seconds", type=float, default=10.0, help="seconds per open-loop rate")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--requests", type=int, default=300_000, help="length of the request sequence")
    parser.add_argument("--population", type=int, default=1_000_000, help="distinct viewer ids traffic draws from")
    parser.add_argument("--like-samples", type=int, default=100)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    pin_client()
    args.machine = machine_line()
    model = str(Path(args.model).resolve())
    known, genres, n_items = model_facts(model)
    traffic = make_traffic(known, genres, args.requests, population=args.population)
    results = [run_config(model, label, size, traffic, args, known) for label, size in (("off", 0), ("on", CACHE_ON))]
    report(model, n_items, traffic, results, args)
    write_json(args.json, {"model": model, "results": results})


if __name__ == "__main__":
    main()
