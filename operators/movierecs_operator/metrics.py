"""Prometheus metrics of the operator, on their own registry (no clash with kopf or other code)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

REGISTRY = CollectorRegistry(auto_describe=True)

ROLLOUTS = Counter(
    "movierecs_operator_rollouts_total",
    "Deployment pod-template patches that rolled a new model version out.",
    registry=REGISTRY,
)
ROLLOUT_FAILURES = Counter(
    "movierecs_operator_rollout_failures_total",
    "Rollouts that stalled (ProgressDeadlineExceeded or spec.rolloutDeadlineSeconds) and were rolled back.",
    registry=REGISTRY,
)
FAILURES = Counter(
    "movierecs_operator_failures_total",
    "Reconciles that could not complete, by reason (RegistryUnreachable, DeploymentNotFoundError, ...).",
    ["reason"],
    registry=REGISTRY,
)
RECONCILE_SECONDS = Histogram(
    "movierecs_operator_reconcile_seconds",
    "Wall time of one reconcile (registry read, Deployment read/patch, status).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)


def serve(port: int, host: str) -> object:
    """Start the /metrics HTTP server in a daemon thread; returns the server (``.shutdown()``)."""
    server, _thread = start_http_server(port, addr=host, registry=REGISTRY)
    return server
