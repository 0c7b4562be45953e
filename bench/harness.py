"""Shared pieces of the serving benchmarks: servers pinned to a core, load generators, traffic.

Not a benchmark itself. Load generators:

- ``wrk`` (Debian package, installed by scripts/install-bench-tools.sh): closed loop, one thread,
  ``-c`` keep-alive connections, paths read from a file in order by a Lua script;
- :func:`open_loop`: a raw-socket asyncio HTTP/1.1 keep-alive client (uvloop, no pipelining) that
  sends request *i* at ``start + i / rate`` and times it from that scheduled instant, so a request
  that waits for a connection or a slow server is charged for the wait (no coordinated omission);
- :func:`closed_loop`: the same raw client in a closed loop (the fallback when wrk is missing, and a
  second opinion on the generator's ceiling).

The server runs on core 0 (``taskset -c 0``) and the generator on core 1.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache"
SERVER_CPU, CLIENT_CPU = 0, 1
GENERATOR = "wrk -t1" if subprocess.run(["which", "wrk"], capture_output=True).returncode == 0 else "raw asyncio"


def pin_client() -> None:
    """Run this process (the load generator) on the client core."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {CLIENT_CPU})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(method: str, url: str, body: bytes | None = None, timeout: float = 10) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def serve_env(extra: dict[str, str] | None = None, embedded: bool = True) -> dict[str, str]:
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "MOVIERECS_LOG_LEVEL": "WARNING",
        "MOVIERECS_HOME": tempfile.mkdtemp(prefix="bench-home-"),
    }
    if embedded:
        env |= {"MOVIERECS_EVENT_BUS_URL": "memory://", "MOVIERECS_EMBEDDED_SINK": "false"}
        for key in ("MOVIERECS_CATALOG_URL", "MOVIERECS_INTERACTIONS_URL"):
            env.pop(key, None)
    return env | (extra or {})


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    startup_s: float

    @property
    def log(self) -> Path:
        return CACHE / f"server-{self.port}.log"

    def warnings(self) -> int:
        """Lines the server logged at WARNING or above."""
        text = self.log.read_text(errors="replace") if self.log.is_file() else ""
        return sum('"level": "WARNING"' in line or '"level": "ERROR"' in line for line in text.splitlines())

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss(self) -> dict[str, int]:
        """VmRSS and VmHWM in kB from /proc/PID/status."""
        out = {}
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS", "VmHWM")):
                out[line.split(":")[0]] = int(line.split()[1])
        return out

    def metrics(self) -> dict[str, float]:
        """``movierecs_*`` samples of /metrics (name{labels} -> value)."""
        _, body = http("GET", self.base + "/metrics")
        out = {}
        for line in body.decode().splitlines():
            if line.startswith("movierecs_"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_server(model: str, env: dict[str, str], cpu: int | None = SERVER_CPU, timeout: float = 600) -> Server:
    """`movierecs serve` (one uvicorn worker) pinned to ``cpu``; returns once /readyz is 200."""
    port = free_port()
    cmd = [sys.executable, "-m", "movierecs.cli", "serve", "--model", model, "--port", str(port)]
    if cpu is not None and (os.cpu_count() or 1) > 1:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    CACHE.mkdir(exist_ok=True)
    log = open(CACHE / f"server-{port}.log", "wb")  # noqa: SIM115 - the server's stdout/stderr, kept for reading
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if http("GET", f"http://127.0.0.1:{port}/readyz", timeout=1)[0] == 200:
                return Server(proc, port, time.perf_counter() - started)
        except OSError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("server did not become ready")


# --- traffic -------------------------------------------------------------------------------------


@dataclass
class Traffic:
    """A request sequence over a viewer-id population with a Zipf repeat pattern."""

    paths: list[str]
    users: np.ndarray  # viewer id per request
    keys: list[str]  # the genres parameter as sent ("" when none)
    population: int
    known_share: float
    exponent: float
    info: dict[str, Any] = field(default_factory=dict)

    def describe(self, n: int, offset: int = 0) -> dict[str, float]:
        users = self.users[offset : offset + n]
        distinct = len(np.unique(users))
        return {
            "requests": float(len(users)),
            "distinct": float(distinct),
            "repeat_rate": 1 - distinct / max(1, len(users)),
        }


def make_traffic(
    known: np.ndarray,
    genres: Sequence[str],
    n: int,
    population: int = 1_000_000,
    unknown_share: float = 0.2,
    exponent: float = 0.9,
    genre_share: float = 0.15,
    seed: int = 12,
) -> Traffic:
    """``n`` requests: ``1 - unknown_share`` of them for viewers the model knows (every known id,
    Zipf-ranked in a random order), the rest for ids it does not know (filling the population up to
    ``population`` distinct ids, Zipf-ranked too); ``genre_share`` carry a genres filter of 1-3
    genres in random order and case, so only a normalised cache key sees them as one."""
    rng = np.random.default_rng(seed)
    known = rng.permutation(np.asarray(known, dtype=np.int64))
    n_unknown_ids = max(population - len(known), 1)
    unknown = 50_000_000 + rng.permutation(n_unknown_ids).astype(np.int64)

    def zipf_draw(pool: np.ndarray, size: int) -> np.ndarray:
        ranks = np.arange(1, len(pool) + 1, dtype=np.float64)
        p = ranks**-exponent
        return pool[rng.choice(len(pool), size=size, p=p / p.sum())]

    is_unknown = rng.random(n) < unknown_share
    users = np.empty(n, dtype=np.int64)
    users[~is_unknown] = zipf_draw(known, int((~is_unknown).sum()))
    users[is_unknown] = zipf_draw(unknown, int(is_unknown.sum()))
    with_genres = rng.random(n) < genre_share
    keys, paths = [], []
    pyrng = random.Random(seed)
    for u, g in zip(users.tolist(), with_genres.tolist(), strict=True):
        key = ""
        if g and genres:
            picked = pyrng.sample(list(genres), k=min(len(genres), pyrng.choice((1, 2, 3))))
            key = ",".join(x.lower() if pyrng.random() < 0.5 else x for x in picked)
        keys.append(key)
        q = "&genres=" + urllib.request.quote(key, safe=",") if key else ""
        paths.append(f"/v1/recommendations/{u}?k=10{q}")
    return Traffic(paths, users, keys, len(known) + n_unknown_ids, 1 - unknown_share, exponent)


def simulate_cache(traffic: Traffic, n: int, offset: int, max_users: int, normalised: bool) -> float:
    """Expected response-cache hit rate of requests ``offset..offset+n`` after the cache saw
    ``0..offset`` (the server's cache: per viewer, one entry per (k, genres) key, at most
    ``max_users`` viewers, least recently written dropped)."""
    if max_users <= 0:
        return 0.0
    cache: OrderedDict[int, set[str]] = OrderedDict()
    hits = 0
    for j in range(offset + n):
        u, key = int(traffic.users[j]), traffic.keys[j]
        if normalised and key:
            key = ",".join(sorted({g.strip().casefold() for g in key.split(",")}))
        entry = cache.get(u)
        if entry is not None and key in entry:
            hits += j >= offset
            continue
        cache.setdefault(u, set()).add(key)
        cache.move_to_end(u)
        if len(cache) > max_users:
            cache.popitem(last=False)
    return hits / max(1, n)


def cache_counters(metrics: dict[str, float]) -> tuple[float, float] | None:
    """(hits, misses) from a ``movierecs_response_cache_*`` series, if the API exposes one."""
    hits = misses = 0.0
    found = False
    for name, value in metrics.items():
        if not name.startswith("movierecs_response_cache") or name.endswith("_created"):
            continue
        lowered = name.lower()
        if "hit" in lowered and "miss" not in lowered:
            hits += value
            found = True
        elif "miss" in lowered:
            misses += value
            found = True
    return (hits, misses) if found else None


# --- load generators -----------------------------------------------------------------------------

WRK_LUA = """
local paths = {}
local i = 0
for line in io.lines("%s") do paths[#paths + 1] = line end
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i - 1) %% #paths + 1])
end
"""


@dataclass
class Closed:
    rps: float
    requests: int
    errors: int
    client_cpu: float  # share of one core the generator used
    generator: str


def wrk(base: str, duration: float, connections: int, paths: Sequence[str] | None = None) -> Closed:
    """Closed loop with wrk -t1 on the client core; ``paths`` sent in order (cycled)."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency"]
    url = base + "/healthz"
    if paths:
        tmp = Path(tempfile.mkdtemp(prefix="bench-wrk-"))
        (tmp / "paths.txt").write_text("\n".join(paths) + "\n")
        (tmp / "seq.lua").write_text(WRK_LUA % (tmp / "paths.txt"))
        cmd += ["-s", str(tmp / "seq.lua")]
        url = base + "/"
    if (os.cpu_count() or 1) > 1:
        cmd = ["taskset", "-c", str(CLIENT_CPU), *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / wall
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(int(x) for x in sock.groups()) if sock else 0)
    return Closed(rps, total, errors, cpu, f"wrk -t1 -c{connections}")


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> int:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


def _loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


def closed_loop(port: int, paths: Sequence[str], duration: float, connections: int, once: bool = False) -> Closed:
    """The raw client in a closed loop (``paths`` in order, cycled; ``once``: each path once, then stop)."""

    async def run() -> tuple[int, int, float]:
        done = errors = 0
        nxt = 0
        stop = time.perf_counter() + duration

        async def worker() -> None:
            nonlocal done, errors, nxt
            reader, writer = await _connect(port)
            while time.perf_counter() < stop and not (once and nxt >= len(paths)):
                path = paths[nxt % len(paths)]
                nxt += 1
                status = await _get(reader, writer, path)
                done += 1
                errors += status >= 300
            writer.close()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return done, errors, time.perf_counter() - start

    cpu0 = time.process_time()
    loop = _loop()
    done, errors, wall = loop.run_until_complete(run())
    loop.close()
    return Closed(done / wall, done, errors, (time.process_time() - cpu0) / wall, f"raw asyncio -c{connections}")


@dataclass
class Open:
    rate: float
    latencies_ms: np.ndarray
    errors: int
    achieved: float

    def row(self) -> dict[str, float]:
        lat = self.latencies_ms
        return {
            "rate": self.rate,
            "achieved": self.achieved,
            "n": float(len(lat)),
            "errors": float(self.errors),
            "p50": float(np.percentile(lat, 50)),
            "p95": float(np.percentile(lat, 95)),
            "p99": float(np.percentile(lat, 99)),
            "max": float(lat.max()),
        }


def open_loop(port: int, paths: Sequence[str], rate: float, duration: float, connections: int = 64) -> Open:
    """Request i is due at ``start + i / rate``; its latency runs from that instant to the last
    byte of the response, whether or not a connection was free when it fell due."""
    n = max(1, int(rate * duration))

    async def run() -> tuple[np.ndarray, int, float]:
        lat = np.zeros(n)
        errors = 0
        nxt = 0
        conns = [await _connect(port) for _ in range(connections)]
        start = time.perf_counter() + 0.05

        async def worker(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal nxt, errors
            while nxt < n:
                i = nxt
                nxt += 1
                due = start + i / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                status = await _get(reader, writer, paths[i % len(paths)])
                lat[i] = (time.perf_counter() - due) * 1000
                errors += status >= 300
            writer.close()

        await asyncio.gather(*(worker(r, w) for r, w in conns))
        return lat, errors, n / (time.perf_counter() - start)

    loop = _loop()
    lat, errors, achieved = loop.run_until_complete(run())
    loop.close()
    return Open(rate, lat, errors, achieved)


def closed(base: str, port: int, duration: float, connections: int, paths: Sequence[str] | None) -> Closed:
    if GENERATOR.startswith("wrk"):
        return wrk(base, duration, connections, paths)
    return closed_loop(port, paths or ["/healthz"], duration, connections)


# --- output --------------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def machine_line(roles: str = f"server pinned to core {SERVER_CPU}, generator to core {CLIENT_CPU}") -> str:
    load = os.getloadavg()
    return (
        f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start, "
        f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {roles}"
    )


def write_json(path: str | None, payload: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(payload, indent=2, default=float))
