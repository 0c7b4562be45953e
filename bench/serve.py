"""Serving benchmark: throughput and latency of /v1/recommendations next to a trivial endpoint,
and the like -> changed-recommendations latency.

    python bench/serve.py --model BUNDLE_DIR [--duration 10] [--rate 200]

Starts `movierecs serve` on a free port (one uvicorn worker), then:
1. closed-loop throughput (wrk if installed, else an asyncio client) for /healthz (trivial),
   warm users, cold users;
2. open-loop latency at a fixed rate (p50/p95/p99) for warm users;
3. like -> changed recommendations: POST a like, then poll the viewer's list until it changed.
Prints a markdown table; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

WARM_USERS = range(1, 944)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(model: str, port: int, extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "MOVIERECS_LOG_LEVEL": "WARNING",
        "MOVIERECS_EVENT_BUS_URL": "memory://",
        "MOVIERECS_EMBEDDED_SINK": "false",
        "MOVIERECS_HOME": tempfile.mkdtemp(prefix="bench-home-"),
        **(extra_env or {}),
    }
    for key in ("MOVIERECS_CATALOG_URL", "MOVIERECS_INTERACTIONS_URL"):
        env.pop(key, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "movierecs.cli", "serve", "--model", model, "--port", str(port)], env=env
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("server did not become ready")


def wrk(url: str, duration: int, lua: str | None) -> float:
    cmd = ["wrk", "-t1", "-c16", f"-d{duration}s", url]
    if lua:
        path = Path(tempfile.mkdtemp(prefix="bench-wrk-")) / "users.lua"
        path.write_text(lua)
        cmd[1:1] = ["-s", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(out)


async def closed_loop(base: str, paths: list[str], duration: float, concurrency: int = 16) -> float:
    done = 0
    stop = time.perf_counter() + duration
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                await client.get(random.choice(paths))
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - start)


async def open_loop(base: str, paths: list[str], rate: float, duration: float) -> list[float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, timeout=5, limits=httpx.Limits(max_connections=64)) as client:

        async def one(path: str) -> None:
            t0 = time.perf_counter()
            r = await client.get(path)
            r.raise_for_status()
            latencies.append(time.perf_counter() - t0)

        tasks = []
        start = time.perf_counter()
        n = int(rate * duration)
        for i in range(n):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(random.choice(paths))))
        await asyncio.gather(*tasks)
    return latencies


def freshness(base: str, n: int) -> list[float]:
    """Seconds from POSTing a like until the viewer's next list differs and excludes the item."""
    out = []
    with httpx.Client(base_url=base, timeout=5) as client:
        for i in range(n):
            user = 900_000 + i if i % 2 else random.choice(WARM_USERS)
            before = client.get(f"/v1/recommendations/{user}?k=10").json()
            item = before["items"][0]["item_id"]
            t0 = time.perf_counter()
            client.post("/v1/events", json={"user_id": user, "item_id": item, "type": "like"}).raise_for_status()
            while True:
                after = client.get(f"/v1/recommendations/{user}?k=10").json()
                ids = [x["item_id"] for x in after["items"]]
                if item not in ids and ids != [x["item_id"] for x in before["items"]]:
                    break
            out.append(time.perf_counter() - t0)
    return out


def pct(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000


def throughput(base: str, duration: int) -> list[tuple[str, float]]:
    warm = [f"/v1/recommendations/{u}?k=10" for u in WARM_USERS]
    cold = [f"/v1/recommendations/{u}?k=10" for u in range(100_000, 101_000)]
    lua = (
        "math.randomseed(os.time())\nrequest = function()\n"
        '  return wrk.format("GET", "/v1/recommendations/" .. {} .. "?k=10")\nend\n'
    )
    rows = []
    for name, paths, script in (
        ("/healthz (trivial)", ["/healthz"], None),
        ("recommendations, warm users", warm, lua.format("math.random(1, 943)")),
        ("recommendations, cold users", cold, lua.format("math.random(100000, 101000)")),
    ):
        if shutil.which("wrk"):
            rps = wrk(base + paths[0], duration, script)
        else:
            rps = asyncio.run(closed_loop(base, paths, duration))
        rows.append((name, rps))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="bundle folder")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--freshness-samples", type=int, default=200)
    args = parser.parse_args()
    model = str(Path(args.model).resolve())
    results = {}
    for label, env in (
        ("response cache on (default)", {}),
        ("response cache off", {"MOVIERECS_RESPONSE_CACHE_USERS": "0"}),
    ):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_server(model, port, env)
        try:
            rows = throughput(base, args.duration)
            lat = asyncio.run(
                open_loop(base, [f"/v1/recommendations/{u}?k=10" for u in WARM_USERS], args.rate, args.duration)
            )
            fresh = freshness(base, args.freshness_samples)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        results[label] = (rows, lat, fresh)
    client = "wrk -t1 -c16" if shutil.which("wrk") else "asyncio httpx, 16 connections"
    print(f"client: {client}; one uvicorn worker; {args.duration}s per row\n")
    print("| configuration | endpoint | req/s | vs trivial |")
    print("|---|---|---|---|")
    for label, (rows, _, _) in results.items():
        trivial = rows[0][1]
        for name, rps in rows:
            print(f"| {label} | {name} | {rps:,.0f} | {rps / trivial:.0%} |")
    print()
    for label, (_, lat, fresh) in results.items():
        print(
            f"{label}: open loop at {args.rate:.0f} req/s, warm users: p50 {pct(lat, 0.5):.2f} ms, "
            f"p95 {pct(lat, 0.95):.2f} ms, p99 {pct(lat, 0.99):.2f} ms; like -> changed recommendations "
            f"({len(fresh)} samples, half new viewers): p50 {pct(fresh, 0.5):.2f} ms, p95 {pct(fresh, 0.95):.2f} ms, "
            f"max {max(fresh) * 1000:.2f} ms"
        )


if __name__ == "__main__":
    main()
