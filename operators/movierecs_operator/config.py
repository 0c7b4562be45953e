"""OperatorConfig: the only place the operator reads its environment (built once, in main)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OperatorConfig(BaseSettings):
    """``MOVIERECS_OPERATOR_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="MOVIERECS_OPERATOR_", extra="ignore", frozen=True)

    metrics_port: int = Field(default=9200, ge=0, le=65535, description="Prometheus /metrics; 0 = off")
    metrics_host: str = Field(default="0.0.0.0", description="Address of the metrics listener")  # noqa: S104
    tick_seconds: float = Field(
        default=5.0, gt=0, description="Timer tick; each object is polled every spec.pollSeconds (>= tick)"
    )
    default_poll_seconds: float = Field(default=60.0, gt=0, description="When spec.pollSeconds is absent")
    registry_timeout_seconds: float = Field(default=10.0, gt=0, description="MLflow HTTP request timeout")
    backoff_seconds: float = Field(default=5.0, gt=0, description="First retry delay after a failure")
    scan_cluster: bool = Field(
        default=False,
        description="Watch namespaces and CRDs cluster-wide (needs a ClusterRole); off: discover once",
    )
    max_backoff_seconds: float = Field(default=300.0, gt=0, description="Cap of the exponential backoff")
