"""`movierecs serve --model DIR` as a real process over TCP; Ctrl-C stops it cleanly."""

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
from serving_helpers import WARM_USER

MOVIERECS = Path(sys.executable).with_name("movierecs")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _env(home: Path) -> dict[str, str]:
    """The parent's environment without any stack URLs (scripts/test.sh exports them), embedded mode."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOVIERECS_", "MLFLOW_"))}
    env.update(
        {
            "MOVIERECS_HOME": str(home),
            "MOVIERECS_EVENT_BUS_URL": "memory://",
            "MOVIERECS_CATALOG_URL": f"sqlite:///{home / 'catalog.sqlite'}",
            "MOVIERECS_INTERACTIONS_URL": f"chdb://{home / 'interactions.chdb'}",
            "MOVIERECS_EMBEDDED_SINK": "false",
            "MOVIERECS_LOG_LEVEL": "WARNING",
            "OPENBLAS_NUM_THREADS": "1",
        }
    )
    return env


@pytest.mark.slow
def test_cli_serve_over_tcp(bundle_dir: Path, tmp_path: Path) -> None:
    assert MOVIERECS.is_file(), f"{MOVIERECS} missing: install the package into the venv"
    port = _free_port()
    log = (tmp_path / "serve.log").open("w+b")
    proc = subprocess.Popen(
        [str(MOVIERECS), "serve", "--model", str(bundle_dir), "--port", str(port)],
        env=_env(tmp_path / "home"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"server exited with {proc.returncode}: {_tail(log)}"
            try:
                r = httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"server did not listen within 60 s: {_tail(log)}"
                time.sleep(0.2)
        assert r.status_code == 200
        assert r.json() == {"status": "ok"}
        with httpx.Client(base_url=base, timeout=10) as client:
            rec = client.get(f"/v1/recommendations/{WARM_USER}", params={"k": 5})
            assert rec.status_code == 200, rec.text
            body = rec.json()
            assert body["strategy"] == "ials"
            assert len(body["items"]) == 5
            assert client.get("/readyz").status_code == 200
            assert client.get("/v1/recommendations/0").status_code == 422
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        # the app shuts down in well under a second; the process itself may take longer to vanish here:
        # the kernel of this sandbox unmaps chDB's large address space slowly (seen: 0.2 s to 30 s)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"server did not stop within 60 s of SIGINT: {_tail(log)}")
    assert code == 0, f"exit code {code} after SIGINT: {_tail(log)}"
    assert "Exception in ASGI application" not in _tail(log), _tail(log)


def _tail(log: object) -> str:
    log.seek(0)  # type: ignore[attr-defined]
    data: bytes = log.read()  # type: ignore[attr-defined]
    return data.decode(errors="replace")[-3000:]
