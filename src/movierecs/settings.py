"""Settings: the only place environment variables are read.

One :class:`Settings` object is built per process at its entry point (a CLI command, the operator)
and turned into adapters by :mod:`movierecs.composition`; below that, code receives ports. Names
fixed by DESIGN.md §3 (contract): ``MOVIERECS_DATA_DIR``, ``MOVIERECS_EVENT_BUS_URL``,
``MOVIERECS_INTERACTIONS_URL``, ``MOVIERECS_CATALOG_URL``, ``MOVIERECS_ADMIN_TOKEN``,
``MLFLOW_TRACKING_URI`` and ``MLFLOW_REGISTRY_URI``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process configuration; defaults give the embedded (laptop) mode."""

    model_config = SettingsConfigDict(env_prefix="MOVIERECS_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path("~/.movierecs/data"), description="Where datasets live (ml-100k/, ml-1m/, ...)."
    )
    home: Path = Field(
        default=Path("~/.movierecs"),
        description="State of the embedded mode: MLflow sqlite file, catalog, interactions, models.",
    )
    event_bus_url: str = Field(default="memory://", description="memory:// or kafka://host:port")
    interactions_url: str = Field(
        default="", description="chdb:///path or clickhouse://host:port/db; default: chdb in home"
    )
    catalog_url: str = Field(default="", description="sqlite:///path or postgresql://...; default: sqlite")
    clickhouse_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("CLICKHOUSE_PASSWORD", "MOVIERECS_CLICKHOUSE_PASSWORD"),
        description="ClickHouse password, used when MOVIERECS_INTERACTIONS_URL carries none",
    )
    postgres_password: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("PGPASSWORD", "MOVIERECS_POSTGRES_PASSWORD"),
        description="PostgreSQL password, used when MOVIERECS_CATALOG_URL carries none",
    )
    admin_token: SecretStr | None = Field(default=None, description="Bearer token for /v1/admin/* (an admin key)")
    api_keys_file: Path | None = Field(
        default=None,
        description="API keys, one line each: '<name> <read,write,admin> <sha256-hex>'; unset: /v1 is open",
    )
    rate_limit_per_s: float = Field(default=100.0, ge=0, description="requests a second per API key (0: no limit)")
    rate_limit_burst: int = Field(default=200, ge=1, description="burst of requests an API key may send at once")
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024, description="largest request body accepted")
    max_future_s: float = Field(default=300.0, ge=0, description="events dated further in the future are refused")
    allow_local_models: bool = Field(
        default=False, description="POST /v1/admin/reload may name a local bundle folder (registry URIs otherwise)"
    )

    mlflow_tracking_uri: str = Field(
        default="",
        validation_alias=AliasChoices("MLFLOW_TRACKING_URI", "MOVIERECS_MLFLOW_TRACKING_URI"),
        description="Default: sqlite:///<home>/mlflow.db",
    )
    mlflow_registry_uri: str = Field(
        default="",
        validation_alias=AliasChoices("MLFLOW_REGISTRY_URI", "MOVIERECS_MLFLOW_REGISTRY_URI"),
        description="Default: the tracking URI",
    )
    experiment_name: str = "movierecs"
    model_name: str = "movierecs"
    model_alias: str = "champion"
    model_uri: str = Field(default="", description="Model to serve; default models:/<name>@<alias>")
    model_version: str = Field(default="", description="Set by the rollout operator on the pod template; informational")

    kafka_topic: str = "movierecs.interactions"
    kafka_dlq_topic: str = "movierecs.interactions.dlq"
    kafka_partitions: int = Field(default=3, ge=1)
    consumer_metrics_port: int = Field(
        default=9100, ge=0, le=65535, description="Consumer service: Prometheus /metrics and /healthz"
    )
    embedded_sink: bool = Field(
        default=True, description="memory:// bus: the API itself writes events to the interaction store"
    )
    ab_challenger_percent: float = Field(
        default=0.0, ge=0.0, le=100.0, description="share of viewers served by the challenger alias"
    )
    ab_challenger_alias: str = Field(default="challenger", description="registry alias of the A/B challenger")
    ab_salt: str = Field(default="movierecs", description="salt of the stable user-id hash that picks the arm")
    api_url: str = Field(default="http://127.0.0.1:8000", description="Where the UI finds the API")
    download_base_url: str = "https://files.grouplens.org/datasets/movielens"
    num_threads: int = Field(default=1, ge=0, description="Threads for iALS fit; 0 = all cores")
    log_level: str = "INFO"
    log_json: bool = True
    access_log: bool = Field(
        default=True, description="JSON access log: writes, errors and slow requests (GET 2xx are in the metrics)"
    )
    slow_request_ms: float = Field(default=250.0, ge=0.0, description="access-log every request slower than this")
    online_max_viewers: int = Field(
        default=200_000, ge=1, description="viewers whose events since the watermark are held in memory"
    )
    online_max_events_per_viewer: int = Field(
        default=500, ge=1, description="titles held per viewer (the oldest events beyond it are dropped)"
    )
    fold_in_cache_viewers: int = Field(
        default=50_000, ge=0, description="viewers whose folded-in vectors are kept between their events"
    )
    viewer_store_reads: bool = Field(
        default=True,
        description="read a viewer's events since the watermark from the interaction store when memory lacks them",
    )
    store_read_timeout_ms: float = Field(
        default=500.0, gt=0, description="longest wait for one viewer's events from the store (else served without)"
    )
    tail_window_s: float = Field(
        default=600.0,
        ge=0,
        description="replicas tail the bus from this long before start-up (older events: read from the store)",
    )
    response_cache_users: int = Field(
        default=50_000, ge=0, description="viewers whose rendered lists are cached (0: no cache)"
    )

    def resolved_home(self) -> Path:
        return self.home.expanduser()

    def resolved_data_dir(self) -> Path:
        return self.data_dir.expanduser()

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.resolved_home() / 'mlflow.db'}"

    @property
    def registry_uri(self) -> str:
        return self.mlflow_registry_uri or self.tracking_uri

    @property
    def interactions(self) -> str:
        return self.interactions_url or f"chdb://{self.resolved_home() / 'interactions.chdb'}"

    @property
    def catalog(self) -> str:
        return self.catalog_url or f"sqlite:///{self.resolved_home() / 'catalog.sqlite'}"

    @property
    def served_model_uri(self) -> str:
        return self.model_uri or f"models:/{self.model_name}@{self.model_alias}"

    @property
    def artifacts_dir(self) -> Path:
        return self.resolved_home() / "artifacts"
