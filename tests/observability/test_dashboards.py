"""Grafana dashboards as code: committed JSON == scripts/dashboards.py output, and every query is sound."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from observability_helpers import DASHBOARD_DIR, REPO, promql_metric_names

EXPECTED = {
    "service-overview.json": ("movierecs-service-overview", "MovieRecs / Service overview"),
    "recommendations.json": ("movierecs-recommendations", "MovieRecs / Recommendations"),
    "pipeline.json": ("movierecs-pipeline", "MovieRecs / Pipeline"),
    "model.json": ("movierecs-model", "MovieRecs / Model"),
}


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DASHBOARD_DIR / name).read_text())
    return data


def _panels(dash: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dash["panels"]:
        yield panel
        yield from panel.get("panels", [])  # collapsed rows hold their panels


def _exprs(dash: dict[str, Any]) -> list[tuple[str, str]]:
    return [(p["title"], t["expr"]) for p in _panels(dash) for t in p.get("targets", [])]


def _generator() -> ModuleType:
    pytest.importorskip("grafana_foundation_sdk", reason="pip install -e '.[ops]' (grafana-foundation-sdk)")
    spec = importlib.util.spec_from_file_location("movierecs_dashboards", REPO / "scripts" / "dashboards.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def test_committed_json_equals_generator_output() -> None:
    generated = _generator().generate()
    assert set(generated) == set(EXPECTED)
    committed = {p.name for p in DASHBOARD_DIR.glob("*.json")}
    assert committed == set(generated), "dashboards/ holds files the generator does not write"
    for name, text in generated.items():
        assert (DASHBOARD_DIR / name).read_text() == text, f"{name} drifted: run .venv/bin/python scripts/dashboards.py"


def test_generator_check_mode(tmp_path: Path) -> None:
    gen = _generator()
    assert gen.main(["--out", str(tmp_path)]) == 0
    assert gen.main(["--out", str(tmp_path), "--check"]) == 0
    (tmp_path / "model.json").write_text("{}")
    assert gen.main(["--out", str(tmp_path), "--check"]) == 1


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dashboard_identity_and_layout(name: str) -> None:
    dash = _load(name)
    uid, title = EXPECTED[name]
    assert (dash["uid"], dash["title"]) == (uid, title)
    assert len(dash["uid"]) <= 40  # Grafana's uid limit
    assert "movierecs" in dash["tags"]
    panels = list(_panels(dash))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    assert all(i > 0 for i in ids), "panel ids must be non-zero"
    charts = [p for p in panels if p["type"] != "row"]
    assert len(charts) >= 5
    for panel in charts:
        assert panel["title"], panel
        assert panel.get("description"), panel["title"]
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert all(ref_ids), panel["title"]
        assert len(set(ref_ids)) == len(ref_ids), panel["title"]
        pos = panel["gridPos"]
        assert pos["x"] >= 0, panel["title"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_datasource_and_namespace_variables(name: str) -> None:
    variables = {v["name"]: v for v in _load(name)["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ns = variables["namespace"]
    assert ns["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert ns["allValue"] == ".*"
    assert ns["includeAll"]
    for title, expr in _exprs(_load(name)):
        assert 'namespace=~"$namespace"' in expr, f"{title}: query ignores the namespace variable"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_queries_read_only_exposed_series(name: str, series: frozenset[str]) -> None:
    for title, expr in _exprs(_load(name)):
        names = promql_metric_names(expr)
        assert names, f"{name} / {title}: no metric in {expr!r}"
        unknown = names - series
        assert not unknown, f"{name} / {title}: {sorted(unknown)} not exposed by the API, consumer or operator"
        assert expr.count("(") == expr.count(")"), f"{title}: {expr}"
        assert expr.count("{") == expr.count("}"), f"{title}: {expr}"


def _all_exprs(name: str) -> str:
    return "\n".join(expr for _, expr in _exprs(_load(name)))


def test_service_overview_content() -> None:
    exprs = _all_exprs("service-overview.json")
    for q in ("0.5", "0.95", "0.99"):
        assert f"histogram_quantile({q}, sum by (le) (rate(http_request_duration_seconds_bucket" in exprs
    assert "rate(http_requests_total{" in exprs
    assert 'http_requests_total{status=~"5..", ' in exprs


def test_recommendations_content() -> None:
    exprs = _all_exprs("recommendations.json")
    assert 'movierecs_recommendations_total{strategy=~"popular|popular_segment"' in exprs  # cold-start share
    assert "sum by (strategy) (rate(movierecs_recommendations_total" in exprs  # strategy mix
    for by in ("model_version", "arm"):  # CTR = clicks / impressions, per version and per arm
        assert (
            f'sum by ({by}) (increase(movierecs_clicks_total{{namespace=~"$namespace"}}[$ctr_window])) / '
            f"sum by ({by}) (increase(movierecs_impressions_total" in exprs
        )
    assert "histogram_quantile(0.95, sum by (le) (rate(movierecs_foldin_seconds_bucket" in exprs


def test_pipeline_content() -> None:
    exprs = _all_exprs("pipeline.json")
    for metric in (
        "movierecs_consumer_lag",
        "rate(movierecs_consumer_events_total",
        "movierecs_consumer_insert_seconds_bucket",
        "movierecs_consumer_retries_total",
        "movierecs_consumer_dlq_total",
    ):
        assert metric in exprs, metric


def test_model_content() -> None:
    exprs = _all_exprs("model.json")
    assert "count by (model_version) (movierecs_model_info" in exprs
    assert "movierecs_model_age_seconds" in exprs
    assert 'movierecs_model_offline_metric{model="baseline"' in exprs
    assert 'movierecs_model_offline_metric{model="model"' in exprs
    age = next(p for p in _load("model.json")["panels"] if p["title"] == "Model age" and p["type"] == "stat")
    steps = age["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1] == {"color": "red", "value": 36 * 3600}  # same line as MovieRecsModelStale
