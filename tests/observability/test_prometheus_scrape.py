"""A real Prometheus (Debian package) scrapes a real API and a consumer metrics endpoint.

Self-contained (does not need `make stack-up`): starts `/usr/bin/prometheus` in a temp dir on a free
127.0.0.1 port with a 1 s scrape interval and the chart's rule file, `movierecs serve` over an ml-100k
bundle in embedded mode, and the consumer's MetricsServer in-process (a consumer process needs Kafka).
Then it sends recommendations and a like, and reads the custom series back through /api/v1/query.
It also runs every dashboard query (Grafana variables substituted) to prove it is valid PromQL.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from observability_helpers import DASHBOARD_DIR, RULES

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
MOVIERECS = Path(sys.executable).with_name("movierecs")
WARM_USER, COLD_USER = 1, 900_001
WAIT_S = 20.0
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$ctr_window": "1h", "$__range": "5m", "$namespace": ".*"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(PROMETHEUS).is_file(),
        reason="prometheus not installed (apt-get install prometheus; scripts/install-system.sh)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _tail(path: Path, n: int = 3000) -> str:
    return path.read_text(errors="replace")[-n:] if path.exists() else ""


def _wait_until(check: Callable[[], Any], what: str, timeout: float, log: Path | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {timeout:.0f} s" + (f": {_tail(log)}" if log else ""))
        time.sleep(0.25)


def _stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def bundle_dir(ml100k_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ml-100k bundle (what `movierecs train --no-register --output-dir D` writes), about 2 s."""
    from movierecs.data import load_dataset
    from movierecs.evaluation.protocol import EvalProtocol
    from movierecs.models.hybrid import HybridConfig
    from movierecs.training.pipeline import run_training

    out = tmp_path_factory.mktemp("bundle") / "bundle"
    raw = load_dataset("ml-100k", ml100k_dir)
    run_training(raw, HybridConfig(), EvalProtocol(), output_dir=out, dataset_name="ml-100k", with_plots=False)
    return out


@pytest.fixture(scope="module")
def api(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`movierecs serve` in embedded mode (inherited stack URLs dropped); yields (base URL, log file)."""
    home = tmp_path_factory.mktemp("api-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOVIERECS_", "MLFLOW_"))}
    env.update(
        {
            "MOVIERECS_HOME": str(home),
            "MOVIERECS_EVENT_BUS_URL": "memory://",
            "MOVIERECS_CATALOG_URL": f"sqlite:///{home / 'catalog.sqlite'}",
            "MOVIERECS_INTERACTIONS_URL": f"chdb://{home / 'interactions.chdb'}",
            "MOVIERECS_EMBEDDED_SINK": "false",
            "MOVIERECS_LOG_LEVEL": "INFO",
            "MOVIERECS_LOG_JSON": "true",
            "MOVIERECS_SLOW_REQUEST_MS": "0",  # log every request, fast reads included
            "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
            "OPENBLAS_NUM_THREADS": "1",
        }
    )
    port = _free_port()
    log = home / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(MOVIERECS), "serve", "--model", str(bundle_dir), "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            assert proc.poll() is None, f"API exited with {proc.returncode}: {_tail(log)}"
            return httpx.get(f"{base}/readyz", timeout=2).status_code == 200

        _wait_until(ready, "API ready", 60, log)
        yield base, log
    finally:
        _stop(proc, signal.SIGINT)


@pytest.fixture(scope="module")
def consumer_metrics() -> Iterator[int]:
    """The consumer's /metrics endpoint (its real MetricsServer) with one handled batch recorded."""
    from movierecs.streaming.metrics import ConsumerMetrics, MetricsServer

    metrics = ConsumerMetrics()
    metrics.events.inc(3)
    metrics.batch_size.observe(3)
    metrics.insert_seconds.observe(0.004)
    metrics.lag.labels("0").set(0)
    metrics.commits.labels("ok").inc()
    server = MetricsServer(metrics, lambda: (True, {}), host="127.0.0.1", port=0)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="consumer-metrics", daemon=True)
    thread.start()
    try:
        yield asyncio.run_coroutine_threadsafe(server.start(), loop).result(10)
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(scope="module")
def prometheus(api: tuple[str, Path], consumer_metrics: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Debian's prometheus scraping both endpoints every second, with the chart's alerting rules loaded."""
    work = tmp_path_factory.mktemp("prometheus")
    api_target = api[0].removeprefix("http://")
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {"job_name": "movierecs-api", "static_configs": [{"targets": [api_target]}]},
            {"job_name": "movierecs-consumer", "static_configs": [{"targets": [f"127.0.0.1:{consumer_metrics}"]}]},
        ],
    }
    (work / "prometheus.yml").write_text(json.dumps(config))  # JSON is YAML
    port = _free_port()
    log = work / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={work / 'prometheus.yml'}",
                f"--storage.tsdb.path={work / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1h",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=work,
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def ready() -> bool:
            assert proc.poll() is None, f"prometheus exited with {proc.returncode}: {_tail(log)}"
            return httpx.get(f"{base}/-/ready", timeout=2).status_code == 200

        _wait_until(ready, "prometheus ready", 20, log)
        yield base
    finally:
        _stop(proc)


def _query(prom: str, expr: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{prom}/api/v1/query", params={"query": expr}, timeout=5)
    body = r.json()
    assert r.status_code == 200, f"{expr}: {body.get('error')}"
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _value(prom: str, expr: str) -> float:
    result = _query(prom, expr)
    return float(result[0]["value"][1]) if result else float("nan")


@pytest.fixture(scope="module")
def traffic(api: tuple[str, Path], prometheus: str) -> dict[str, Any]:
    """Recommendations for a warm and a cold viewer, a like on a recommended item, then a folded-in list."""
    base, _ = api
    with httpx.Client(base_url=base, timeout=10) as client:
        first = client.get(f"/v1/recommendations/{WARM_USER}", params={"k": 10})
        assert first.status_code == 200, first.text
        body = first.json()
        assert client.get(f"/v1/recommendations/{COLD_USER}", params={"k": 5}).status_code == 200
        liked = body["items"][0]["item_id"]
        event = {"user_id": WARM_USER, "item_id": liked, "type": "like"}
        posted = client.post("/v1/events", json=event, headers={"X-Request-ID": "obs-test-like"})
        assert posted.status_code == 202, posted.text
        after = client.get(f"/v1/recommendations/{WARM_USER}", params={"k": 10})
        assert after.status_code == 200, after.text
    return {"model_version": body["model_version"], "strategy_after_like": after.json()["strategy"]}


def test_prometheus_scrapes_the_custom_series(prometheus: str, traffic: dict[str, Any]) -> None:
    version = traffic["model_version"]

    def arrived() -> bool:
        return (
            _value(prometheus, 'sum(movierecs_recommendations_total{job="movierecs-api"})') >= 3
            and _value(prometheus, 'sum(movierecs_foldin_seconds_count{job="movierecs-api"})') >= 1
            and _value(prometheus, "sum(movierecs_clicks_total)") >= 1
            # both targets scraped at least once (the consumer's first scrape can trail the API's)
            and _value(prometheus, "count(up == 1)") >= 2
        )

    _wait_until(arrived, "custom series in Prometheus", WAIT_S)
    up = {r["metric"]["job"]: r["value"][1] for r in _query(prometheus, "up")}
    assert up == {"movierecs-api": "1", "movierecs-consumer": "1"}
    strategies = {r["metric"]["strategy"] for r in _query(prometheus, "movierecs_recommendations_total")}
    assert {"ials", "popular"} <= strategies
    assert traffic["strategy_after_like"] in strategies
    assert _query(prometheus, f'movierecs_model_info{{model_version="{version}"}}')
    assert _value(prometheus, "movierecs_model_age_seconds") > 0
    assert _query(prometheus, 'movierecs_model_offline_metric{model="baseline"}')
    assert _value(prometheus, f'sum(movierecs_impressions_total{{model_version="{version}"}})') >= 25
    assert _value(prometheus, 'sum(movierecs_events_total{type="like", result="accepted"})') == 1
    assert _value(prometheus, 'sum(http_requests_total{handler="/v1/recommendations/{user_id}"})') >= 3
    assert _value(prometheus, "sum(movierecs_consumer_events_total)") == 3


def test_rules_load_and_evaluate(prometheus: str, traffic: dict[str, Any]) -> None:
    groups = httpx.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
    assert {g["name"] for g in groups} == {"movierecs.api", "movierecs.pipeline"}
    for group in groups:
        for rule in group["rules"]:
            assert rule["health"] in ("ok", "unknown"), rule  # unknown: not evaluated yet
    # the p99 recording rule produces a number once two scrapes carry requests
    _wait_until(
        lambda: _query(prometheus, "movierecs:http_request_duration_seconds:p99_5m"), "p99 recording rule", WAIT_S
    )
    firing = {a["labels"]["alertname"] for a in _query(prometheus, 'ALERTS{alertstate="firing"}')}
    assert not firing, firing


def _dashboard_queries() -> list[tuple[str, str, str]]:
    out = []
    for path in sorted(DASHBOARD_DIR.glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                out.append((path.stem, panel["title"], target["expr"]))
    return out


def test_dashboard_queries_are_valid_promql(prometheus: str, traffic: dict[str, Any]) -> None:
    # rate()/increase() need two samples of a series inside the window
    series = ("movierecs_recommendations_total", "movierecs_clicks_total", "movierecs_impressions_total")
    _wait_until(
        lambda: all(_value(prometheus, f"min(count_over_time({m}[1m]))") >= 2 for m in series),
        "two scrapes of the recommendation series",
        WAIT_S,
    )
    empty = []
    for dashboard, title, expr in _dashboard_queries():
        for var, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(var, value)
        if not _query(prometheus, expr):  # a syntax error fails inside _query
            empty.append((dashboard, title))
    # with traffic flowing, the recommendation panels have data
    for panel in ("CTR per model version", "CTR per A/B arm", "Strategy mix", "Cold-start share"):
        assert ("recommendations", panel) not in empty, f"{panel} has no data"


def test_access_log_lines_carry_request_context(api: tuple[str, Path], traffic: dict[str, Any]) -> None:
    _, log = api
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "movierecs.access"]
    like = next(line for line in access if line.get("request_id") == "obs-test-like")
    assert like["path"] == "/v1/events"
    assert like["status"] == 202
    served = [line for line in access if line.get("user_id") == WARM_USER and line.get("model_version")]
    assert served, access
    assert {"ts", "level", "request_id"} <= set(served[0])
