"""Operations: liveness, readiness, Prometheus metrics, the served model and strategy counts."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from movierecs.serving.deps import FeedDep, RuntimeDep
from movierecs.serving.render import json_response
from movierecs.serving.schemas import ModelOut, StrategiesOut

router = APIRouter()
# the served model's routes, mounted after the items routes (their place in the OpenAPI document)
model_router = APIRouter(tags=["model"])


@router.get("/healthz", tags=["ops"])
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", tags=["ops"], responses={503: {"description": "not ready"}})
async def readyz(runtime: RuntimeDep) -> Response:
    """Ready when the model is loaded and the stores/bus are reachable."""
    checks = await runtime.readiness()
    ok = all(checks.values())
    return json_response({"ready": ok, "checks": checks}, 200 if ok else 503)


@router.get("/metrics", tags=["ops"], include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@model_router.get("/v1/model", response_model=ModelOut)
async def model_info(feed: FeedDep) -> ModelOut:
    """The served model: version, training time, watermark and offline metrics."""
    live = feed.models.live
    meta, model = live.bundle.meta, live.bundle.model
    return ModelOut(
        model_version=live.version,
        trained_at=str(meta.get("trained_at", "")),
        watermark=str(meta.get("watermark", "")),
        dataset=str(meta.get("dataset", "")),
        n_users=len(model.users),
        n_items=len(model.items),
        metrics={k: float(v) for k, v in dict(meta.get("metrics", {})).items()},
    )


@model_router.get("/v1/stats/strategies", response_model=StrategiesOut)
async def strategies(feed: FeedDep) -> StrategiesOut:
    """How many lists each strategy served since start."""
    return StrategiesOut(counts=dict(feed.tracker.strategy_counts))
