"""The analyst's view: a training run opened in the real MLflow UI, in headless Chromium.

The run is logged (not registered: the shared registry's versions are left alone) to the experiment
``movierecs-ui-check`` of the local stack's MLflow server when ``MLFLOW_TRACKING_URI`` points to one
(``set -a; . .stack/env; set +a``), else of an ``mlflow server`` started for the test. The page must
list the run's ``plots/`` and ``evaluation/`` artifacts, render the Recall@k chart and the per-slice
chart, and show the dataset input. ``MOVIERECS_UPDATE_SCREENSHOT=1`` saves
docs/screenshots/mlflow_run.png; otherwise the screenshot goes to a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from browser_helpers import CHROMIUM, CHROMIUM_ARGS, MAX_SCREENSHOT_BYTES, save_screenshot

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "screenshots" / "mlflow_run.png"
EXPERIMENT = "movierecs-ui-check"
CHART_WIDTH_PX = 600  # plots.py draws 6 in at 100 dpi

pytestmark = [
    pytest.mark.timeout(240),
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is absent: install Debian's chromium (scripts/install-system.sh)",
    ),
]

IMAGES_JS = "() => Array.from(document.images).map(i => [i.src.slice(0, 40), i.complete ? i.naturalWidth : 0])"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(uri: str) -> bool:
    try:
        return httpx.get(f"{uri.rstrip('/')}/health", timeout=3).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stack's MLflow server, or a fresh one on a free port (stopped afterwards)."""
    stack = os.environ.get("MLFLOW_TRACKING_URI", "")
    if stack.startswith("http") and _healthy(stack):
        yield stack.rstrip("/")
        return
    root = tmp_path_factory.mktemp("mlflow")
    template = sorted((REPO / ".stack" / "cache").glob("mlflow-*.db"))  # a migrated empty DB: faster start
    if template:
        shutil.copy(template[-1], root / "mlflow.db")
    port = _free_port()
    log = (root / "server.log").open("wb")
    mlflow = Path(sys.executable).with_name("mlflow")
    proc = subprocess.Popen(
        [str(mlflow), "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--serve-artifacts",
         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not _healthy(uri):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start on {uri}: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@dataclass(frozen=True)
class LoggedRun:
    uri: str
    experiment_id: str
    run_id: str
    fingerprint: str


@pytest.fixture(scope="module")
def logged_run(mlflow_uri: str, ml100k_dir: Path) -> LoggedRun:
    """``movierecs train``'s pipeline on ml-100k, logged as ``log_training`` logs it (without registering)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from movierecs.adapters.mlflow_registry import MlflowRegistry
    from movierecs.data.loaders import load_dataset
    from movierecs.models.hybrid import HybridConfig
    from movierecs.training.lifecycle import EVALUATION_ARTIFACT, TRAIN_PROTOCOL
    from movierecs.training.pipeline import run_training

    raw = load_dataset("ml-100k", ml100k_dir)
    source = str((ml100k_dir / "ml-100k").resolve())
    outcome = run_training(raw, HybridConfig(), TRAIN_PROTOCOL, dataset_name="ml-100k", data_source=source)
    assert outcome.evaluation_dir is not None
    assert outcome.dataset is not None
    registry = MlflowRegistry(mlflow_uri, mlflow_uri, "movierecs", experiment=EXPERIMENT)
    logged = registry.log_training(
        outcome.bundle_dir, outcome.params, outcome.metrics, outcome.plots, tags={"dataset": "ml-100k"},
        register=False, artifacts={EVALUATION_ARTIFACT: outcome.evaluation_dir}, dataset=outcome.dataset,
    )  # fmt: skip
    experiment = registry.client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    return LoggedRun(mlflow_uri, str(experiment.experiment_id), logged.run_id, outcome.dataset.digest)


def _chart_shown(page: object, name: str) -> None:
    """Click ``plots/<name>`` in the artifact tree and wait until its image is rendered full size."""
    page.get_by_text(name, exact=True).first.click()  # type: ignore[attr-defined]
    page.get_by_text(f"plots/{name}", exact=True).first.wait_for(timeout=15_000)  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        f"() => Array.from(document.images).some(i => i.complete && i.naturalWidth === {CHART_WIDTH_PX})",
        timeout=15_000,
    )


def test_a_training_run_shows_its_plots_table_and_dataset_in_the_mlflow_ui(
    logged_run: LoggedRun, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    run_url = f"{logged_run.uri}/#/experiments/{logged_run.experiment_id}/runs/{logged_run.run_id}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 820})
        try:
            # the overview lists the dataset input: name and digest (= the data's fingerprint)
            page.goto(run_url, wait_until="domcontentloaded")
            page.get_by_text("ml-100k", exact=False).first.wait_for(timeout=60_000)
            page.get_by_text(logged_run.fingerprint[:8], exact=False).first.wait_for(timeout=15_000)

            page.goto(f"{run_url}/artifacts", wait_until="domcontentloaded")
            for folder in ("bundle", "evaluation", "plots"):
                page.get_by_text(folder, exact=True).first.wait_for(timeout=60_000)
            page.get_by_text("evaluation", exact=True).first.click()
            page.get_by_text("table.md", exact=True).first.click()
            page.get_by_text("Offline evaluation: ml-100k", exact=False).first.wait_for(timeout=15_000)

            page.get_by_text("plots", exact=True).first.click()
            # the folder opens asynchronously (slowly on a loaded machine): wait for each file, don't sample
            for stem in ("recall_at_k", "ndcg_at_k", "r_precision_at_k", "ndcg_by_slice", "popularity_bias"):
                for suffix in (".png", ".csv"):
                    page.get_by_text(f"{stem}{suffix}", exact=True).first.wait_for(timeout=30_000)
            _chart_shown(page, "ndcg_by_slice.png")
            _chart_shown(page, "recall_at_k.png")
            images = page.evaluate(IMAGES_JS)
            assert any(width == CHART_WIDTH_PX for _, width in images), images

            close = page.get_by_role("button", name="Close")  # MLflow 3's assistant side panel, if open
            if close.count():
                close.first.click()
                page.wait_for_timeout(300)
            shot = SCREENSHOT if os.environ.get("MOVIERECS_UPDATE_SCREENSHOT") else tmp_path / "mlflow_run.png"
            save_screenshot(page.screenshot(), shot)
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            print(f"screenshot of the failure: {tmp_path / 'failure.png'}")
            raise
        finally:
            browser.close()
    assert shot.stat().st_size < MAX_SCREENSHOT_BYTES
