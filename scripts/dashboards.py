#!/usr/bin/env python
"""Grafana dashboards as code: writes charts/movierecs/dashboards/*.json (the chart ships them as ConfigMaps).

Built with grafana-foundation-sdk (the flavour pinned in pyproject's ``ops`` extra targets Grafana 11.6;
Grafana 12 loads these dashboards as is: it migrates older schema versions on load).

    .venv/bin/python scripts/dashboards.py          # regenerate the committed JSON
    .venv/bin/python scripts/dashboards.py --check  # exit 1 if the committed JSON differs (CI, tests)

Every query reads the Prometheus data source chosen in the ``${datasource}`` variable and filters on the
``$namespace`` variable (``.*`` matches series without a namespace label too, e.g. a local Prometheus).
tests/observability/ checks that the committed files equal this output and that every metric a query
reads is exposed by the API, consumer or operator.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders import common as cb
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.builders import stat, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import (
    BigValueColorMode,
    BigValueGraphMode,
    BigValueTextMode,
    LegendDisplayMode,
    LegendPlacement,
    StackingMode,
)
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    Threshold,
    ThresholdsMode,
    VariableOption,
    VariableRefresh,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

OUT_DIR = Path(__file__).resolve().parents[1] / "charts" / "movierecs" / "dashboards"
DS = DataSourceRef(type_val="prometheus", uid="${datasource}")
NS = 'namespace=~"$namespace"'
# API series of the probes and of Prometheus itself are not traffic.
API = f'handler!~"/healthz|/readyz|/metrics", {NS}'
RATE = "$__rate_interval"
COLD_STRATEGIES = "popular|popular_segment"
TAGS = ["movierecs"]
GREEN, YELLOW, RED = "green", "#EAB839", "red"

Target = tuple[str, str]  # (PromQL, legend)


def _thresholds(*steps: tuple[float | None, str]) -> db.ThresholdsConfig:
    return (
        db.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=value, color=color) for value, color in steps])
    )


def _query(expr: str, legend: str, ref_id: str, *, instant: bool = False, table_format: bool = False) -> prom.Dataquery:
    q = prom.Dataquery().expr(expr).legend_format(legend).ref_id(ref_id)
    if instant:
        q = q.instant()
    if table_format:
        q = q.format(PromQueryFormat.TABLE)
    return q


@dataclass
class Board:
    """One dashboard being built: numbers the panels and keeps the layout (24 columns) in order."""

    uid: str
    title: str
    description: str
    namespace_metric: str
    extra_variables: list[Any] = field(default_factory=list)
    _next_id: int = 1
    _builder: db.Dashboard | None = None

    def __post_init__(self) -> None:
        namespace = (
            db.QueryVariable("namespace")
            .label("Namespace")
            .datasource(DS)
            .query(f"label_values({self.namespace_metric}, namespace)")
            .refresh(VariableRefresh.ON_TIME_RANGE_CHANGED)
            .include_all(True)
            .multi(True)
            .all_value(".*")
            .current(VariableOption(selected=True, text="All", value="$__all"))
        )
        self._builder = (
            db.Dashboard(self.title)
            .uid(self.uid)
            .description(self.description)
            .tags(TAGS)
            .editable()
            .tooltip(DashboardCursorSync.CROSSHAIR)
            .refresh("30s")
            .time("now-6h", "now")
            .timezone("browser")
            .with_variable(
                db.DatasourceVariable("datasource")
                .label("Data source")
                .type("prometheus")
                .current(VariableOption(selected=True, text="Prometheus", value="prometheus"))
            )
            .with_variable(namespace)
        )
        for variable in self.extra_variables:
            self._builder.with_variable(variable)

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    def row(self, title: str) -> None:
        assert self._builder is not None
        self._builder.with_row(db.Row(title).id(self._id()))

    def _add(self, panel: Any, title: str, description: str, targets: list[Target], w: int, h: int, **q: bool) -> None:
        assert self._builder is not None
        panel = panel.id(self._id()).title(title).description(description).datasource(DS).span(w).height(h)
        for i, (expr, legend) in enumerate(targets):
            panel = panel.with_target(_query(expr, legend, chr(ord("A") + i), **q))
        self._builder.with_panel(panel)

    def timeseries(
        self,
        title: str,
        description: str,
        targets: list[Target],
        unit: str,
        *,
        w: int = 12,
        h: int = 8,
        stack: StackingMode | None = None,
        min_val: float | None = 0,
        max_val: float | None = None,
        thresholds: list[tuple[float | None, str]] | None = None,
    ) -> None:
        panel = (
            timeseries.Panel()
            .unit(unit)
            .line_width(1)
            .fill_opacity(10)
            .legend(
                cb.VizLegendOptions()
                .display_mode(LegendDisplayMode.TABLE)
                .placement(LegendPlacement.BOTTOM)
                .show_legend(True)
                .calcs(["mean", "max", "lastNotNull"])
            )
        )
        if min_val is not None:
            panel = panel.min(min_val)
        if max_val is not None:
            panel = panel.max(max_val)
        if stack is not None:
            panel = panel.stacking(cb.StackingConfig().mode(stack)).fill_opacity(60)
        if thresholds:
            panel = panel.thresholds(_thresholds(*thresholds))
        self._add(panel, title, description, targets, w, h)

    def stat(
        self,
        title: str,
        description: str,
        targets: list[Target],
        unit: str,
        *,
        w: int = 6,
        h: int = 4,
        thresholds: list[tuple[float | None, str]] | None = None,
        text_mode: BigValueTextMode = BigValueTextMode.AUTO,
        decimals: float | None = None,
    ) -> None:
        panel = (
            stat.Panel()
            .unit(unit)
            .graph_mode(BigValueGraphMode.AREA)
            .color_mode(BigValueColorMode.VALUE)
            .text_mode(text_mode)
            .reduce_options(cb.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
            .thresholds(_thresholds(*(thresholds or [(None, GREEN)])))
        )
        if decimals is not None:
            panel = panel.decimals(decimals)
        self._add(panel, title, description, targets, w, h)

    def table(self, title: str, description: str, targets: list[Target], *, w: int = 12, h: int = 8) -> None:
        panel = table.Panel().show_header(True)
        self._add(panel, title, description, targets, w, h, instant=True, table_format=True)

    def build(self) -> dict[str, Any]:
        assert self._builder is not None
        # Round trip through the SDK's encoder: plain JSON types only, as Grafana will read them.
        data: dict[str, Any] = json.loads(json.dumps(self._builder.build(), cls=JSONEncoder))
        return data


def _quantiles(bucket: str, selector: str, qs: tuple[float, ...] = (0.5, 0.95, 0.99)) -> list[Target]:
    return [
        (f"histogram_quantile({q}, sum by (le) (rate({bucket}{{{selector}}}[{RATE}])))", f"p{round(q * 100)}")
        for q in qs
    ]


# --------------------------------------------------------------------------------------------- boards
def service_overview() -> dict[str, Any]:
    b = Board(
        "movierecs-service-overview",
        "MovieRecs / Service overview",
        "MovieRecs API: request rate, latency percentiles and 5xx ratio (prometheus-fastapi-instrumentator "
        "series; probes and /metrics excluded).",
        "http_requests_total",
    )
    total_rate = f"sum(rate(http_requests_total{{{API}}}[{RATE}]))"
    error_ratio = f'sum(rate(http_requests_total{{status=~"5..", {API}}}[{RATE}])) / {total_rate}'
    b.row("Golden signals")
    b.stat("Requests per second", "All API requests except probes.", [(total_rate, "rps")], "reqps")
    b.stat(
        "p99 latency",
        "Alert MovieRecsApiHighLatencyP99 fires above 250 ms for 10 min; the target is < 10 ms.",
        _quantiles("http_request_duration_seconds_bucket", API, (0.99,)),
        "s",
        thresholds=[(None, GREEN), (0.05, YELLOW), (0.25, RED)],
    )
    b.stat(
        "5xx ratio",
        "Alert MovieRecsApiHighErrorRatio fires above 5% for 5 min.",
        [(error_ratio, "5xx")],
        "percentunit",
        thresholds=[(None, GREEN), (0.01, YELLOW), (0.05, RED)],
    )
    b.stat(
        "API pods up",
        "Scrape targets of the API that answer.",
        [(f'count(up{{job=~".*api.*", {NS}}} == 1)', "up")],
        "none",
        thresholds=[(None, RED), (1, GREEN)],
    )
    b.row("Traffic and latency")
    b.timeseries(
        "Requests per second",
        "Per route (FastAPI path template) and in total.",
        [
            (f"sum by (handler) (rate(http_requests_total{{{API}}}[{RATE}]))", "{{handler}}"),
            (total_rate, "total"),
        ],
        "reqps",
    )
    b.timeseries(
        "Latency p50 / p95 / p99",
        "All routes together, from http_request_duration_seconds buckets.",
        _quantiles("http_request_duration_seconds_bucket", API),
        "s",
    )
    b.timeseries(
        "p99 latency by route",
        "Which route is slow.",
        [
            (
                f"histogram_quantile(0.99, sum by (le, handler) "
                f"(rate(http_request_duration_seconds_bucket{{{API}}}[{RATE}])))",
                "{{handler}}",
            )
        ],
        "s",
    )
    b.timeseries(
        "5xx error ratio",
        "Share of requests answered with a 5xx status (bad input is a 4xx and does not count).",
        [(error_ratio, "5xx ratio")],
        "percentunit",
        max_val=1,
        thresholds=[(None, GREEN), (0.05, RED)],
    )
    b.timeseries(
        "Responses by status",
        "Every status code (the API does not group them), per second.",
        [(f"sum by (status) (rate(http_requests_total{{{API}}}[{RATE}]))", "{{status}}")],
        "reqps",
        stack=StackingMode.NORMAL,
    )
    b.timeseries(
        "Model reloads",
        "POST /v1/admin/reload outcomes: success, refused (bundle failed validation; old model keeps "
        "serving), error (registry unreachable).",
        [(f"sum by (result) (increase(movierecs_reloads_total{{{NS}}}[{RATE}]))", "{{result}}")],
        "short",
    )
    return b.build()


def recommendations() -> dict[str, Any]:
    ctr_window = (
        db.CustomVariable("ctr_window")
        .label("CTR window")
        .values("15m,1h,6h,24h")
        .current(VariableOption(selected=True, text="1h", value="1h"))
    )
    b = Board(
        "movierecs-recommendations",
        "MovieRecs / Recommendations",
        "What the API serves: strategy mix, cold-start share, CTR per model version and per A/B arm, fold-in latency. "
        "A click is a like/click/watch on an item recommended to that viewer in the last 24 h, credited to the "
        "model version (and arm) that served it.",
        "movierecs_recommendations_total",
        extra_variables=[ctr_window],
    )
    all_lists = f"sum(rate(movierecs_recommendations_total{{{NS}}}[{RATE}]))"
    cold_share = (
        f'sum(rate(movierecs_recommendations_total{{strategy=~"{COLD_STRATEGIES}", {NS}}}[{RATE}])) / {all_lists}'
    )

    def ctr(by: str, window: str = "$ctr_window") -> str:
        return (
            f"sum by ({by}) (increase(movierecs_clicks_total{{{NS}}}[{window}])) / "
            f"sum by ({by}) (increase(movierecs_impressions_total{{{NS}}}[{window}]))"
        )

    b.row("Summary")
    b.stat("Lists per second", "Recommendation lists served.", [(all_lists, "lists/s")], "reqps")
    b.stat(
        "Cold-start share",
        "Lists served by popularity (strategy popular or popular_segment) among all lists.",
        [(cold_share, "cold start")],
        "percentunit",
    )
    b.stat(
        "CTR (dashboard range)",
        "Clicks / impressions over the selected time range, all versions.",
        [
            (
                f"sum(increase(movierecs_clicks_total{{{NS}}}[$__range])) / "
                f"sum(increase(movierecs_impressions_total{{{NS}}}[$__range]))",
                "CTR",
            )
        ],
        "percentunit",
        decimals=2,
    )
    b.stat(
        "Viewers folded in online",
        "Viewers with events since the served model's watermark (their vectors are folded in at request time).",
        [(f"sum(movierecs_online_users{{{NS}}})", "viewers")],
        "short",
    )
    b.row("Strategies")
    b.timeseries(
        "Strategy mix",
        "Share of lists per strategy: ials (trained viewer), ials_online (folded in from recent events), "
        "popular_segment (demographic popularity), popular (global popularity).",
        [
            (
                f"sum by (strategy) (rate(movierecs_recommendations_total{{{NS}}}[{RATE}])) / ignoring(strategy) "
                f"group_left {all_lists}",
                "{{strategy}}",
            )
        ],
        "percentunit",
        stack=StackingMode.NORMAL,
        max_val=1,
    )
    b.timeseries(
        "Cold-start share",
        "popular + popular_segment lists / all lists. A jump after a rollout means the new model knows fewer viewers.",
        [(cold_share, "cold start")],
        "percentunit",
        max_val=1,
    )
    b.timeseries(
        "Lists per second by model version",
        "Which versions serve traffic (two during a rollout or an A/B test).",
        [
            (
                f"sum by (model_version) (rate(movierecs_recommendations_total{{{NS}}}[{RATE}]))",
                "v{{model_version}}",
            )
        ],
        "reqps",
        stack=StackingMode.NORMAL,
    )
    b.row("CTR")
    b.timeseries(
        "CTR per model version",
        "clicks / impressions per model version over the $ctr_window window.",
        [(ctr("model_version"), "v{{model_version}}")],
        "percentunit",
    )
    b.timeseries(
        "CTR per A/B arm",
        "clicks / impressions per arm (champion / challenger by a stable hash of the user id; "
        "'default' when no A/B split is configured), over the $ctr_window window.",
        [(ctr("arm"), "{{arm}}")],
        "percentunit",
    )
    b.timeseries(
        "Impressions and clicks per second",
        "Items shown in served lists, and clicks credited to them, per model version and arm.",
        [
            (
                f"sum by (model_version, arm) (rate(movierecs_impressions_total{{{NS}}}[{RATE}]))",
                "impressions v{{model_version}} {{arm}}",
            ),
            (
                f"sum by (model_version, arm) (rate(movierecs_clicks_total{{{NS}}}[{RATE}]))",
                "clicks v{{model_version}} {{arm}}",
            ),
        ],
        "short",
    )
    b.table(
        "CTR per version and arm (dashboard range)",
        "Totals over the selected time range.",
        [
            (
                f"sum by (model_version, arm) (increase(movierecs_clicks_total{{{NS}}}[$__range])) / "
                f"sum by (model_version, arm) (increase(movierecs_impressions_total{{{NS}}}[$__range]))",
                "CTR",
            ),
        ],
    )
    b.row("Feedback loop")
    b.timeseries(
        "Fold-in latency p50 / p95 / p99",
        "Time to fold a viewer's vector in from recent events (target: like -> new list p95 < 1 s end to end).",
        _quantiles("movierecs_foldin_seconds_bucket", NS),
        "s",
    )
    b.timeseries(
        "Fold-ins and events per second",
        "Fold-ins, and events posted to /v1/events by type and result (accepted, rejected, unavailable).",
        [
            (f"sum(rate(movierecs_foldin_seconds_count{{{NS}}}[{RATE}]))", "fold-ins"),
            (
                f"sum by (type, result) (rate(movierecs_events_total{{{NS}}}[{RATE}]))",
                "{{type}} {{result}}",
            ),
        ],
        "ops",
    )
    return b.build()


def pipeline() -> dict[str, Any]:
    b = Board(
        "movierecs-pipeline",
        "MovieRecs / Pipeline",
        "Kafka -> ClickHouse consumer: lag, ingest rate, batch sizes, insert latency, retries, dead-letter queue.",
        "movierecs_consumer_events_total",
    )
    b.row("Summary")
    b.stat(
        "Consumer lag",
        "Records behind the end of the topic, all partitions. Alert MovieRecsConsumerLagHigh above 10k for 10 min.",
        [(f"sum(movierecs_consumer_lag{{{NS}}})", "lag")],
        "short",
        thresholds=[(None, GREEN), (1000, YELLOW), (10000, RED)],
    )
    b.stat(
        "Ingest rate",
        "Valid events written to the interaction store per second.",
        [(f"sum(rate(movierecs_consumer_events_total{{{NS}}}[{RATE}]))", "events/s")],
        "ops",
    )
    b.stat(
        "DLQ (dashboard range)",
        "Records sent to the dead-letter topic over the selected range. Alert MovieRecsConsumerDLQGrowing on any.",
        [(f"sum(increase(movierecs_consumer_dlq_total{{{NS}}}[$__range]))", "dead-lettered")],
        "short",
        thresholds=[(None, GREEN), (1, RED)],
    )
    b.stat(
        "Insert p95",
        "95th percentile of one interaction-store write.",
        _quantiles("movierecs_consumer_insert_seconds_bucket", NS, (0.95,)),
        "s",
    )
    b.row("Throughput and lag")
    b.timeseries(
        "Consumer lag by partition",
        "High watermark minus position, per partition (summed over consumer pods).",
        [(f"sum by (partition) (movierecs_consumer_lag{{{NS}}})", "partition {{partition}}")],
        "short",
        thresholds=[(None, GREEN), (10000, RED)],
    )
    b.timeseries(
        "Ingest rate",
        "Events accepted by the API (produced to Kafka) vs events written to the store by the consumer.",
        [
            (
                f'sum(rate(movierecs_events_total{{result="accepted", {NS}}}[{RATE}]))',
                "accepted by the API",
            ),
            (f"sum(rate(movierecs_consumer_events_total{{{NS}}}[{RATE}]))", "written by the consumer"),
        ],
        "ops",
    )
    b.timeseries(
        "Batch size p50 / p95",
        "Records per handled batch (stored + dead-lettered); batches near --batch-size mean the consumer is saturated.",
        _quantiles("movierecs_consumer_batch_size_bucket", NS, (0.5, 0.95)),
        "short",
    )
    b.timeseries(
        "Insert latency p50 / p95 / p99",
        "Duration of one successful interaction-store write.",
        _quantiles("movierecs_consumer_insert_seconds_bucket", NS),
        "s",
    )
    b.row("Failures")
    b.timeseries(
        "Retries per second",
        "Failed store writes or dead-letter produces that were retried (store or broker trouble).",
        [(f"sum(rate(movierecs_consumer_retries_total{{{NS}}}[{RATE}]))", "retries")],
        "ops",
    )
    b.timeseries(
        "Dead-lettered records by reason",
        "Records sent to movierecs.interactions.dlq per interval, by reason.",
        [(f"sum by (reason) (increase(movierecs_consumer_dlq_total{{{NS}}}[{RATE}]))", "{{reason}}")],
        "short",
        stack=StackingMode.NORMAL,
    )
    b.timeseries(
        "Offset commits by result",
        "Commits happen after the store write (at least once); failed commits mean re-delivery "
        "(deduplicated by event_id).",
        [(f"sum by (result) (rate(movierecs_consumer_commits_total{{{NS}}}[{RATE}]))", "{{result}}")],
        "ops",
    )
    return b.build()


def model() -> dict[str, Any]:
    b = Board(
        "movierecs-model",
        "MovieRecs / Model",
        "The served model: version, age, offline metrics vs the popularity baseline; rollouts by the operator.",
        "movierecs_model_info",
    )
    b.row("Served model")
    b.stat(
        "Served version",
        "model_version label of movierecs_model_info (several values during a rollout or an A/B test).",
        [(f"count by (model_version) (movierecs_model_info{{{NS}}})", "v{{model_version}}")],
        "none",
        text_mode=BigValueTextMode.NAME,
    )
    b.stat(
        "Model age",
        "Oldest served model. Alert MovieRecsModelStale above 36 h: the daily retrain or its promotion failed.",
        [(f"max(movierecs_model_age_seconds{{{NS}}})", "age")],
        "s",
        thresholds=[(None, GREEN), (26 * 3600, YELLOW), (36 * 3600, RED)],
    )
    b.stat(
        "Trained at",
        "When the oldest served model was trained.",
        [(f"min(movierecs_model_trained_timestamp_seconds{{{NS}}}) * 1000", "trained")],
        "dateTimeAsIso",
    )
    b.stat(
        "Rollouts (dashboard range)",
        "Deployment patches by the operator that rolled a new version out.",
        [(f"sum(increase(movierecs_operator_rollouts_total{{{NS}}}[$__range]))", "rollouts")],
        "short",
    )
    b.table(
        "Served model per pod",
        "movierecs_model_info: version, training time, data watermark and dataset of each API pod's model.",
        [(f"max by (pod, model_version, trained_at, watermark, dataset) (movierecs_model_info{{{NS}}})", "")],
        w=24,
        h=6,
    )
    b.timeseries(
        "Model age",
        "Per pod; the sawtooth drops at each rollout.",
        [(f"max by (pod) (movierecs_model_age_seconds{{{NS}}})", "{{pod}}")],
        "s",
        thresholds=[(None, GREEN), (36 * 3600, RED)],
    )
    b.timeseries(
        "Versions served",
        "Pods per served model version: overlapping lines are a rollout in progress.",
        [(f"count by (model_version) (movierecs_model_info{{{NS}}})", "v{{model_version}}")],
        "short",
    )
    b.row("Offline metrics (from training, served model)")
    b.timeseries(
        "Model vs baseline (all viewers)",
        "Offline metrics logged by `movierecs train` for the served model and the popularity baseline.",
        [
            (
                f'max by (metric, model) (movierecs_model_offline_metric{{slice="all", {NS}}})',
                "{{metric}} {{model}}",
            )
        ],
        "short",
    )
    b.timeseries(
        "Lift over baseline",
        "model / baseline per metric and slice (the promotion gate requires a lift).",
        [
            (
                f'max by (metric, slice) (movierecs_model_offline_metric{{model="model", {NS}}}) / '
                f'max by (metric, slice) (movierecs_model_offline_metric{{model="baseline", {NS}}})',
                "{{metric}} {{slice}}",
            )
        ],
        "short",
        min_val=None,
    )
    b.table(
        "Offline metrics by slice",
        "Every metric, slice and model (model or baseline) of the served bundle.",
        [(f"max by (metric, slice, model) (movierecs_model_offline_metric{{{NS}}})", "")],
        w=24,
    )
    b.row("Rollouts (operator)")
    b.timeseries(
        "Rollouts and reloads",
        "Operator rollouts and the API's reload outcomes.",
        [
            (f"sum(increase(movierecs_operator_rollouts_total{{{NS}}}[{RATE}]))", "operator rollouts"),
            (f"sum by (result) (increase(movierecs_reloads_total{{{NS}}}[{RATE}]))", "reload {{result}}"),
        ],
        "short",
        w=8,
    )
    b.timeseries(
        "Operator failures by reason",
        "Reconciles that could not complete. Alert MovieRecsOperatorFailures on any.",
        [(f"sum by (reason) (increase(movierecs_operator_failures_total{{{NS}}}[{RATE}]))", "{{reason}}")],
        "short",
        w=8,
    )
    b.timeseries(
        "Reconcile duration p50 / p95",
        "Wall time of one reconcile (registry read, Deployment read/patch, status).",
        _quantiles("movierecs_operator_reconcile_seconds_bucket", NS, (0.5, 0.95)),
        "s",
        w=8,
    )
    return b.build()


DASHBOARDS: dict[str, Callable[[], dict[str, Any]]] = {
    "service-overview.json": service_overview,
    "recommendations.json": recommendations,
    "pipeline.json": pipeline,
    "model.json": model,
}


def render(dashboard: dict[str, Any]) -> str:
    """Stable text: sorted keys, 2-space indent, trailing newline (reviewable diffs)."""
    return json.dumps(dashboard, indent=2, sort_keys=True) + "\n"


def generate() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {name: render(build()) for name, build in DASHBOARDS.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="folder to write (default: the chart's)")
    parser.add_argument("--check", action="store_true", help="compare with the folder instead of writing")
    args = parser.parse_args(argv)
    files = generate()
    if args.check:
        stale = [n for n, text in files.items() if not (args.out / n).is_file() or (args.out / n).read_text() != text]
        extra = sorted(p.name for p in args.out.glob("*.json") if p.name not in files)
        for name in stale:
            print(f"{args.out / name}: differs from scripts/dashboards.py output", file=sys.stderr)
        for name in extra:
            print(f"{args.out / name}: not produced by scripts/dashboards.py", file=sys.stderr)
        if stale or extra:
            print("run: .venv/bin/python scripts/dashboards.py", file=sys.stderr)
            return 1
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (args.out / name).write_text(text)
        print(args.out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
