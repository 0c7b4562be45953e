"""The metric-name collector and PromQL lexer the other observability tests rely on."""

from __future__ import annotations

import pytest
from observability_helpers import promql_metric_names

EXPECTED = {
    # issue 7 / DESIGN: the series outside checks read from /metrics
    "http_request_duration_seconds_bucket",
    "http_requests_total",
    "movierecs_recommendations_total",
    "movierecs_foldin_seconds_bucket",
    "movierecs_foldin_seconds_count",
    "movierecs_model_info",
    "movierecs_model_trained_timestamp_seconds",
    "movierecs_model_age_seconds",
    "movierecs_model_offline_metric",
    "movierecs_reloads_total",
    "movierecs_events_total",
    "movierecs_impressions_total",
    "movierecs_clicks_total",
    "movierecs_online_users",
    "movierecs_consumer_lag",
    "movierecs_consumer_batch_size_bucket",
    "movierecs_consumer_insert_seconds_bucket",
    "movierecs_consumer_retries_total",
    "movierecs_consumer_dlq_total",
    "movierecs_consumer_events_total",
    "movierecs_operator_rollouts_total",
    "movierecs_operator_failures_total",
    "movierecs_operator_reconcile_seconds_bucket",
}


def test_collected_series_cover_the_catalogue(series: frozenset[str]) -> None:
    assert series >= EXPECTED, sorted(EXPECTED - series)
    assert "movierecs_recommendations" not in series  # counters only exist with _total


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ('sum(rate(http_requests_total{status=~"5..", handler!~"/a|/b"}[$__rate_interval]))', {"http_requests_total"}),
        (
            'histogram_quantile(0.99, sum by (le, handler) (rate(x_bucket{a="b"}[5m])))',
            {"x_bucket"},
        ),
        ("max by (namespace) (movierecs_model_age_seconds) > 36 * 3600", {"movierecs_model_age_seconds"}),
        ("sum by (s) (rate(a[1m])) / ignoring(s) group_left sum(rate(a[1m]))", {"a"}),
        ("a:b:c_5m > 0.25 and on (pod) up == 1", {"a:b:c_5m", "up"}),
        ("increase(c_total[$ctr_window]) / 1e3 unless bool d offset 5m", {"c_total", "d"}),
        ('{__name__="n"}', {"n"}),
    ],
)
def test_promql_metric_names(expr: str, names: set[str]) -> None:
    assert promql_metric_names(expr) == names
