"""FastAPI dependencies (annotated aliases used by the routes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from movierecs.serving.feed import Feed
from movierecs.serving.metrics import ApiMetrics
from movierecs.serving.profiles import Profiles
from movierecs.serving.runtime import Runtime
from movierecs.serving.titles import Titles
from movierecs.settings import Settings


# Dependencies are `async def` on purpose: FastAPI runs plain `def` dependencies in a thread pool,
# which cost ~0.4 ms per request here, five times the model's own work.
def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_metrics(request: Request) -> ApiMetrics:
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


async def get_runtime(request: Request) -> Runtime:
    return _runtime(request)


async def get_feed(request: Request) -> Feed:
    return _runtime(request).feed


async def get_titles(request: Request) -> Titles:
    return _runtime(request).titles


async def get_profiles(request: Request) -> Profiles:
    return _runtime(request).profiles


SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
FeedDep = Annotated[Feed, Depends(get_feed)]
TitlesDep = Annotated[Titles, Depends(get_titles)]
ProfilesDep = Annotated[Profiles, Depends(get_profiles)]
