"""Prometheus series of the API (one registry per app, so tests can build many apps)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


@dataclass
class ApiMetrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.recommendations = Counter(
            "movierecs_recommendations", "Recommendation lists served", ["strategy", "model_version"], registry=r
        )
        self.foldin_seconds = Histogram(
            "movierecs_foldin_seconds",
            "Time to fold in a viewer's vector from recent events",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
            registry=r,
        )
        self.model_info = Gauge(
            "movierecs_model_info",
            "The model being served (value 1)",
            ["model_version", "trained_at", "watermark", "dataset"],
            registry=r,
        )
        self.model_trained = Gauge(
            "movierecs_model_trained_timestamp_seconds", "When the served model was trained", registry=r
        )
        self.model_age = Gauge("movierecs_model_age_seconds", "Age of the served model", registry=r)
        self.training_seconds = Gauge(
            "movierecs_model_training_seconds", "Training time of the served model by stage", ["stage"], registry=r
        )
        self.offline_metric = Gauge(
            "movierecs_model_offline_metric",
            "Offline metrics of the served model (from training)",
            ["metric", "slice", "model"],
            registry=r,
        )
        self.reloads = Counter("movierecs_reloads", "Model reloads by result", ["result"], registry=r)
        self.events = Counter("movierecs_events", "Events by type and result", ["type", "result"], registry=r)
        self.impressions = Counter(
            "movierecs_impressions", "Items shown in served lists", ["model_version", "arm"], registry=r
        )
        self.clicks = Counter(
            "movierecs_clicks",
            "Likes/clicks/watches on an item recommended to the viewer in the last 24 h",
            ["model_version", "arm"],
            registry=r,
        )
        self.online_users = Gauge("movierecs_online_users", "Viewers with events since the watermark", registry=r)
        self.online_evictions = Counter(
            "movierecs_online_evictions",
            "Viewers dropped from memory (their events are read back from the store when they return)",
            registry=r,
        )
        self.store_reads = Counter(
            "movierecs_viewer_store_reads",
            "Reads of one viewer's events since the watermark from the interaction store, by result",
            ["result"],
            registry=r,
        )
        self.store_read_seconds = Histogram(
            "movierecs_viewer_store_read_seconds",
            "Time to read one viewer's events from the interaction store",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r,
        )
        self.response_cache = Counter(
            "movierecs_response_cache_requests",
            "Recommendation requests answered from the response cache (hit) or computed (miss)",
            ["result"],
            registry=r,
        )

    def set_model(self, version: str, meta: dict[str, object]) -> None:
        from datetime import datetime

        self.model_info.clear()
        trained_at = str(meta.get("trained_at", ""))
        self.model_info.labels(version, trained_at, str(meta.get("watermark", "")), str(meta.get("dataset", ""))).set(1)
        try:
            trained_ts = datetime.fromisoformat(trained_at).timestamp()
        except ValueError:
            trained_ts = time.time()
        self.model_trained.set(trained_ts)
        self.model_age.set_function(lambda: time.time() - trained_ts)
        self.training_seconds.clear()
        stages = meta.get("training_seconds", {})
        if isinstance(stages, dict):
            for stage, value in stages.items():
                self.training_seconds.labels(str(stage)).set(float(value))
        self.offline_metric.clear()
        metrics = meta.get("metrics", {})
        if isinstance(metrics, dict):
            for name, value in metrics.items():
                model = "baseline" if name.startswith("baseline.") else "model"
                parts = name.removeprefix("baseline.").split(".")
                slice_name, metric = (parts[0], parts[1]) if len(parts) == 2 else ("all", parts[0])
                self.offline_metric.labels(metric, slice_name, model).set(float(value))
