"""`movierecs demo` end to end, embedded: first run loads, trains and serves; a second run reuses
data, stores and model; a like changes the viewer's list; Ctrl-C stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

MOVIERECS = Path(sys.executable).with_name("movierecs")
STACK_VARIABLES = (
    "MOVIERECS_EVENT_BUS_URL",
    "MOVIERECS_INTERACTIONS_URL",
    "MOVIERECS_CATALOG_URL",
    "MLFLOW_TRACKING_URI",
    "MLFLOW_REGISTRY_URI",
)


def embedded_env(home: Path) -> dict[str, str]:
    """No local-stack URLs: `make test` exports them, and the demo is the embedded mode."""
    env = {k: v for k, v in os.environ.items() if k not in STACK_VARIABLES}
    return env | {"MOVIERECS_HOME": str(home), "OPENBLAS_NUM_THREADS": "1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(home: Path, data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = embedded_env(home) | {"MOVIERECS_DATA_DIR": str(data_dir), "MOVIERECS_LOG_JSON": "false"}
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(MOVIERECS), "demo", "--port", str(port), "--ui-port", "0"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_ready(proc: subprocess.Popen[bytes], base: str, log: Path, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        assert proc.poll() is None, f"demo exited early:\n{log.read_text()[-3000:]}"
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return time.monotonic() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail(f"demo not ready in {timeout}s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        # the demo stops at once; the process may take longer to vanish here: this sandbox's kernel
        # unmaps chDB's large address space slowly (seen: 0.2 s to 30 s)
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


@pytest.mark.slow
def test_demo_runs_the_loop_and_restarts_fast(ml100k_dir: Path, tmp_path: Path) -> None:
    home, log = tmp_path / "home", tmp_path / "demo.log"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = _start(home, ml100k_dir, port, log)
    try:
        first = _wait_ready(proc, base, log, timeout=240)
        warm = httpx.get(f"{base}/v1/recommendations/1?k=5").json()
        assert warm["strategy"] == "ials"
        assert len(warm["items"]) == 5
        version = warm["model_version"]
        new_viewer = 900_001
        assert httpx.get(f"{base}/v1/recommendations/{new_viewer}?k=5").json()["strategy"] == "popular"
        liked = 50
        sent = time.monotonic()
        httpx.post(
            f"{base}/v1/events", json={"user_id": new_viewer, "item_id": liked, "type": "like"}
        ).raise_for_status()
        after = httpx.get(f"{base}/v1/recommendations/{new_viewer}?k=5").json()
        assert after["strategy"] == "ials_online"
        assert liked not in [i["item_id"] for i in after["items"]]
        print(f"first start {first:.1f}s; like -> changed list in {(time.monotonic() - sent) * 1000:.0f} ms")
    finally:
        code = _stop(proc)
    assert code == 0, log.read_text()[-3000:]
    text = log.read_text()
    assert "MovieRecs is up" in text
    assert "Traceback" not in text

    proc = _start(home, ml100k_dir, port, log)
    try:
        second = _wait_ready(proc, base, log, timeout=120)
        again = httpx.get(f"{base}/v1/recommendations/1?k=5").json()
        assert again["model_version"] == version  # reused, not retrained
        print(f"second start {second:.1f}s")
    finally:
        assert _stop(proc) == 0
    assert log.read_text().count("already loaded") == 1
