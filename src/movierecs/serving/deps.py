"""FastAPI dependencies (annotated aliases used by the routes)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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


_bearer = HTTPBearer(auto_error=False, description="MOVIERECS_ADMIN_TOKEN")


async def require_admin(
    settings: Annotated[Settings, Depends(get_settings)],
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Admin routes: 403 when no token is configured, 401 for a missing or wrong one."""
    token = settings.admin_token
    expected = token.get_secret_value() if token else ""
    if not expected:
        raise HTTPException(403, "admin endpoints are disabled: set MOVIERECS_ADMIN_TOKEN")
    if creds is None or not secrets.compare_digest(creds.credentials.encode(), expected.encode()):
        raise HTTPException(401, "missing or invalid bearer token", headers={"WWW-Authenticate": "Bearer"})


SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[ApiMetrics, Depends(get_metrics)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
FeedDep = Annotated[Feed, Depends(get_feed)]
TitlesDep = Annotated[Titles, Depends(get_titles)]
ProfilesDep = Annotated[Profiles, Depends(get_profiles)]
