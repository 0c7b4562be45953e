"""Fixtures of the UI tests: a REAL API (trained ml-100k bundle + ``movierecs serve``) per session.

The bundle is trained once (``movierecs train --no-register --output-dir``, ~3 s) into a temp
MOVIERECS_HOME and served on a free port; the fixture waits until recommendations answer. When the
serving package is not in the tree yet, the tests that need the API are skipped with that reason.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ui_helpers import free_port, stop, wait_http

BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def api_env(ml100k_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Embedded mode in a temp home: the stack's URLs (``make test`` exports them) are left out, so
    the UI tests don't depend on Kafka/ClickHouse/PostgreSQL/MLflow servers."""
    home = tmp_path_factory.mktemp("ui-api-home")
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("MOVIERECS_", "MLFLOW_"))}
    return {
        **inherited,
        "MOVIERECS_DATA_DIR": str(ml100k_dir),
        "MOVIERECS_HOME": str(home),
        "OPENBLAS_NUM_THREADS": "1",
    }


@pytest.fixture(scope="session")
def bundle_dir(api_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("movierecs.serving.app") is None:
        pytest.skip("the API (src/movierecs/serving/app.py) is not in this tree yet")
    out = tmp_path_factory.mktemp("ui-bundle") / "bundle"
    done = subprocess.run(
        [str(BIN / "movierecs"), "train", "--dataset", "ml-100k", "--no-register", "--output-dir", str(out)],
        env=api_env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        pytest.fail(f"movierecs train failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return out


@pytest.fixture(scope="session")
def api_url(bundle_dir: Path, api_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real ``movierecs serve`` on the trained ml-100k bundle."""
    port = free_port()
    log = tmp_path_factory.mktemp("ui-api-log") / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "movierecs"), "serve", "--model", str(bundle_dir), "--host", "127.0.0.1",
             "--port", str(port)],
            env=api_env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/v1/recommendations/1?k=1", proc, log)
        yield url
    finally:
        stop(proc)


@pytest.fixture
def use_api(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    """Point the UI (``Settings().api_url``) at a URL for one test: ``use_api(url)``."""

    def point(url: str) -> str:
        monkeypatch.setenv("MOVIERECS_API_URL", url)
        return url

    return point


@pytest.fixture
def dead_url() -> str:
    """A URL where nothing listens (connection refused at once)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A URL that accepts connections but never answers (the client times out)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"
