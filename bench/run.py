"""`make bench`: every benchmark behind docs/BENCHMARKS.md, one after the other, markdown on stdout.

    python bench/run.py [--scale small|full] [--only serve,memory,...] [--json-dir DIR]

small: a smoke run in a few minutes (shorter rows, fewer viewers/events, the small synthetic
bundle: 50k titles, 2M interactions). full: the sizes of issue #12 (synthetic ML-25M-shaped bundle
with 162k viewers, 59k titles, 25M interactions; 1M viewers and 1M events for RSS; 5M events
since the watermark for start-up; training 1M → 20M). Bundles and generated data are cached in
.bench-cache/ (keyed by their parameters). The stack benches start the local stack with
`scripts/stack.sh up` (idempotent; never stopped here). Each bench also runs alone: see
`python bench/<name>.py --help`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from harness import CACHE, ROOT
from synth import HEADER, SCALES, build, describe

PY = sys.executable
ML100K = CACHE / "ml-100k-bundle"

SIZES = {
    "small": {
        "serve": ["--duration", "5", "--open-seconds", "5", "--requests", "100000", "--like-samples", "100"],
        "memory": ["--viewers", "100000", "--events", "100000"],
        "replicas": ["--like-samples", "100", "--startup-events", "500000"],
        "train": ["--sizes", "1"],
        "ingest": ["--events", "200000", "--publish-events", "100000"],
    },
    "full": {
        "serve": ["--duration", "15", "--open-seconds", "15", "--requests", "400000", "--like-samples", "200"],
        "memory": ["--viewers", "1000000", "--events", "1000000"],
        "replicas": ["--like-samples", "200", "--startup-events", "5000000"],
        "train": ["--sizes", "1,5,20"],
        "ingest": ["--events", "500000", "--publish-events", "100000"],
    },
}
ALL = ("models", "serve", "memory", "replicas", "store", "rehearsal", "ingest", "train", "quality", "selection")


def step(title: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
    print(f"\n<!-- {title}: {' '.join(cmd)} -->", flush=True)
    tick = time.perf_counter()
    rc = subprocess.run(cmd, cwd=ROOT, env=env).returncode
    print(f"\n<!-- {title}: exit {rc} after {time.perf_counter() - tick:.0f} s -->", flush=True)


def stack_env() -> dict[str, str]:
    tick = time.perf_counter()
    subprocess.run(["scripts/stack.sh", "up"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    print(f"\nlocal stack: `scripts/stack.sh up` took {time.perf_counter() - tick:.1f} s", flush=True)
    env = dict(os.environ)
    for line in (ROOT / ".stack" / "env").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def ml100k_bundle() -> Path:
    if (ML100K / "bundle.json").is_file():
        return ML100K
    data = os.environ.get("MOVIERECS_DATA_DIR") or str(ROOT.parent / "shared" / "data")
    env = {**os.environ, "MOVIERECS_DATA_DIR": data, "OPENBLAS_NUM_THREADS": "1", "MOVIERECS_HOME": str(CACHE / "home")}
    subprocess.run(
        [PY, "-m", "movierecs.cli", "train", "--dataset", "ml-100k", "--no-register", "--output-dir", str(ML100K)],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return ML100K


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", choices=("small", "full"), default=os.environ.get("BENCH_SCALE", "small"))
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    parser.add_argument("--json-dir", help="each bench's --json output goes here")
    args = parser.parse_args()
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    only = set(args.only.split(","))
    sizes = SIZES[args.scale]
    out = Path(args.json_dir) if args.json_dir else CACHE / f"results-{args.scale}"
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"# make bench (BENCH_SCALE={args.scale}) — {time.strftime('%Y-%m-%d %H:%M %Z')}, load average "
        f"{os.getloadavg()[0]:.2f} at start",
        flush=True,
    )

    def js(name: str) -> list[str]:
        return ["--json", str(out / f"{name}.json")]

    ml100k = ml100k_bundle()
    shape = SCALES[args.scale]
    tick = time.perf_counter()
    synth, stats = build(shape)
    if "models" in only:
        print("\n## Models\n")
        print(f"ml-100k: `movierecs train --dataset ml-100k --no-register --output-dir {ML100K.relative_to(ROOT)}`")
        print(f"synthetic (`python bench/synth.py --scale {args.scale}`, {time.perf_counter() - tick:.0f} s now):\n")
        print(HEADER)
        print(describe(shape, stats), flush=True)
    if "serve" in only:
        for name, model in (("ml-100k", ml100k), ("synthetic", synth)):
            step(f"serve {name}", [PY, "bench/serve.py", "--model", str(model), *sizes["serve"], *js(f"serve-{name}")])
    if "memory" in only:
        model = synth if args.scale == "small" else ml100k  # 1M misses on 59k titles: ~30 min on one core
        step("memory", [PY, "bench/memory.py", "--model", str(model), *sizes["memory"], *js("memory")])
    stack = {"replicas", "store", "rehearsal", "ingest"} & only
    env = stack_env() if stack else None
    if "replicas" in only:
        step("replicas", [PY, "bench/replicas.py", "--model", str(synth), *sizes["replicas"], *js("replicas")], env)
    if "store" in only:
        step("store", [PY, "bench/store.py", *js("store")], env)
    if "rehearsal" in only:
        step("rehearsal", [PY, "bench/rehearsal.py", *js("rehearsal")], env)
    if "ingest" in only:
        step("ingest", [PY, "bench/ingest.py", *sizes["ingest"]], env)
    if "train" in only:
        step("train", [PY, "bench/train.py", *sizes["train"]])
    if "quality" in only:
        qenv = {
            **os.environ,
            "MOVIERECS_DATA_DIR": os.environ.get("MOVIERECS_DATA_DIR") or str(ROOT.parent / "shared" / "data"),
            "MOVIERECS_HOME": str(CACHE / "home"),
        }
        for split in ("user_temporal", "global_time"):
            step(
                f"quality {split}",
                [PY, "-m", "movierecs.cli", "evaluate", "--dataset", "ml-100k", "--split", split, "--weightings"],
                qenv,
            )
    if "selection" in only:
        data = os.environ.get("MOVIERECS_DATA_DIR") or str(ROOT.parent / "shared" / "data")
        step("selection", [PY, "bench/selection.py", "--scale", args.scale, "--data-dir", data, *js("selection")])


if __name__ == "__main__":
    main()
