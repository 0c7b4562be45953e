"""Prometheus rules (promtool when installed) and Grafana dashboards shipped by the chart."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from chart_checks import by_kind
from chart_offline import CHART

RULES = CHART / "files" / "prometheus-rules.yaml"
RULE_TESTS = Path(__file__).with_name("prometheus-rules.test.yaml")
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool not installed (apt-get install prometheus; scripts/install-system.sh)"
)

REQUIRED_ALERTS = {
    "MovieRecsApiHighLatencyP99": "http_request_duration_seconds_bucket",
    "MovieRecsApiHighErrorRatio": "http_requests_total",
    "MovieRecsConsumerLagHigh": "movierecs_consumer_lag",
    "MovieRecsModelStale": "movierecs_model_age_seconds",
    "MovieRecsConsumerDLQGrowing": "movierecs_consumer_dlq_total",
    "MovieRecsOperatorFailures": "movierecs_operator_failures_total",
}


def _rules(groups: list[dict]) -> dict[str, dict]:
    return {r.get("alert") or r["record"]: r for g in groups for r in g["rules"]}


def test_prometheus_rule_renders_the_rule_file(render) -> None:
    (rule,) = by_kind(render("default"), "PrometheusRule")
    assert rule["spec"] == yaml.safe_load(RULES.read_text())


def test_required_alerts_present() -> None:
    rules = _rules(yaml.safe_load(RULES.read_text())["groups"])
    for alert, metric in REQUIRED_ALERTS.items():
        assert alert in rules, alert
        expr = rules[alert]["expr"]
        # expand the recording rules the alert reads
        expr += " ".join(r["expr"] for name, r in rules.items() if ":" in name and name in expr)
        assert metric in expr, f"{alert} does not read {metric}"
        assert rules[alert]["labels"]["severity"] in {"warning", "critical"}
        assert rules[alert]["annotations"]["summary"]
    assert "36 * 3600" in rules["MovieRecsModelStale"]["expr"]
    assert 'status=~"5.."' in rules["movierecs:http_requests:error_ratio_5m"]["expr"]


@needs_promtool
def test_promtool_check_rules(render, tmp_path: Path) -> None:
    (rule,) = by_kind(render("production"), "PrometheusRule")
    extracted = tmp_path / "rules.yaml"
    extracted.write_text(yaml.safe_dump(rule["spec"]))
    for path in (RULES, extracted):
        proc = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr


@needs_promtool
def test_promtool_unit_tests() -> None:
    proc = subprocess.run(
        [PROMTOOL, "test", "rules", RULE_TESTS.name],
        cwd=RULE_TESTS.parent,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dashboards_are_valid_grafana_json() -> None:
    files = sorted((CHART / "dashboards").glob("*.json"))
    assert files
    uids = set()
    for path in files:
        dash = json.loads(path.read_text())
        assert dash["title"], path.name
        assert dash["uid"], path.name
        assert dash["panels"], path.name
        assert dash["uid"] not in uids, f"duplicate uid {dash['uid']}"
        uids.add(dash["uid"])
        for panel in dash["panels"]:
            for target in panel.get("targets", []):
                assert target["expr"].strip(), f"{path.name}: panel {panel['title']} has an empty query"


def test_service_overview_dashboard() -> None:
    dash = json.loads((CHART / "dashboards" / "service-overview.json").read_text())
    exprs = " ".join(t["expr"] for p in dash["panels"] for t in p.get("targets", []))
    for quantile in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({quantile}" in exprs
    assert "http_request_duration_seconds_bucket" in exprs
    assert 'http_requests_total{status=~"5.."' in exprs
    assert "rate(http_requests_total" in exprs


def test_dashboard_configmaps_for_the_sidecar(render) -> None:
    maps = [c for c in by_kind(render("default"), "ConfigMap") if c["metadata"]["labels"].get("grafana_dashboard")]
    assert len(maps) == len(list((CHART / "dashboards").glob("*.json")))
    for cm in maps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((name, body),) = cm["data"].items()
        assert name.endswith(".json")
        json.loads(body)


def test_service_monitors_point_at_named_ports(render) -> None:
    objs = render("default")
    services = by_kind(objs, "Service")
    for sm in by_kind(objs, "ServiceMonitor"):
        selector = sm["spec"]["selector"]["matchLabels"]
        targets = [s for s in services if selector.items() <= s["metadata"]["labels"].items()]
        assert targets, sm["metadata"]["name"]
        ports = {p["name"] for s in targets for p in s["spec"]["ports"]}
        for endpoint in sm["spec"]["endpoints"]:
            assert endpoint["port"] in ports, sm["metadata"]["name"]
