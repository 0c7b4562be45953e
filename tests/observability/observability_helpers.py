"""Shared by the observability tests (imported by name: tests/ has no packages).

- ``exposed_series()``: every series name the API, the consumer and the operator can expose, read from
  their real ``/metrics`` exposition (``# TYPE`` lines are written even for families without samples).
- ``promql_metric_names(expr)``: the metric names a PromQL expression reads (a small lexer: strings,
  label matchers, ranges and grouping clauses removed, then identifiers that are not functions or keywords).
"""

from __future__ import annotations

import asyncio
import re
import sys
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "movierecs"
RULES = CHART / "files" / "prometheus-rules.yaml"
RULE_TESTS = REPO / "tests" / "charts" / "prometheus-rules.test.yaml"
DASHBOARD_DIR = CHART / "dashboards"

# Series Prometheus itself writes for every target.
PROMETHEUS_SYNTHETIC = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"inf", "nan", "start", "end"}
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
_IDENT = re.compile(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)(\s*\()?")


def promql_metric_names(expr: str) -> set[str]:
    """Metric names read by ``expr``.

    >>> sorted(promql_metric_names('sum by (le) (rate(a_bucket{x="b c"}[5m])) / ignoring(x) group_left b'))
    ['a_bucket', 'b']
    """
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGES.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    names = set()
    for match in _IDENT.finditer(text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in _KEYWORDS:
            continue
        names.add(name)
    # {__name__="x"} selects by name too
    names.update(re.findall(r'__name__\s*=\s*"([^"]+)"', expr))
    return names


def _series_from_exposition(text: str) -> set[str]:
    """Series names of every ``# TYPE`` family in Prometheus text format."""
    names: set[str] = set()
    for line in text.splitlines():
        if not line.startswith("# TYPE "):
            continue
        _, _, family, kind = line.split(maxsplit=3)
        if kind == "counter":
            base = family.removesuffix("_total")
            names |= {f"{base}_total", f"{base}_created"}
        elif kind == "histogram":
            names |= {f"{family}_bucket", f"{family}_count", f"{family}_sum", f"{family}_created"}
        elif kind == "summary":
            names |= {family, f"{family}_count", f"{family}_sum", f"{family}_created"}
        else:
            names.add(family)
    return names


def api_series(home: Path) -> set[str]:
    """Series of a real API app (its ApiMetrics registry plus prometheus-fastapi-instrumentator's)."""
    from starlette.requests import Request

    from movierecs.composition import build_api
    from movierecs.serving.routes.ops import prometheus_metrics
    from movierecs.settings import Settings

    home.mkdir(parents=True, exist_ok=True)
    settings = Settings(
        home=home,
        data_dir=home / "data",
        event_bus_url="memory://",
        interactions_url=f"chdb://{home / 'interactions.chdb'}",
        catalog_url=f"sqlite:///{home / 'catalog.sqlite'}",
        mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
        mlflow_registry_uri=f"sqlite:///{home / 'mlflow.db'}",
        embedded_sink=False,
    )
    app = build_api(settings)
    app.build_middleware_stack()  # the instrumentator registers its series when its middleware is built
    request = Request({"type": "http", "app": app, "method": "GET", "path": "/metrics", "headers": []})
    response = asyncio.run(prometheus_metrics(request))  # the /metrics route's handler
    return _series_from_exposition(bytes(response.body).decode())


def consumer_series() -> set[str]:
    from prometheus_client import generate_latest

    from movierecs.streaming.metrics import ConsumerMetrics

    return _series_from_exposition(generate_latest(ConsumerMetrics().registry).decode())


def operator_series() -> set[str]:
    from prometheus_client import generate_latest

    operators = str(REPO / "operators")
    if operators not in sys.path:
        sys.path.insert(0, operators)
    from movierecs_operator.metrics import REGISTRY

    return _series_from_exposition(generate_latest(REGISTRY).decode())


@cache
def exposed_series(home: Path) -> frozenset[str]:
    """Everything a MovieRecs component can expose, plus Prometheus' own per-target series."""
    return frozenset(api_series(home) | consumer_series() | operator_series() | PROMETHEUS_SYNTHETIC)
