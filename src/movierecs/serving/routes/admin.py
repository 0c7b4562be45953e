"""Admin (bearer token): POST /v1/admin/reload swaps in a newly loaded model."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, HTTPException

from movierecs.exceptions import BundleValidationError, DataError, RegistryError
from movierecs.serving.deps import MetricsDep, RuntimeDep, require_admin
from movierecs.serving.schemas import ReloadIn, ReloadOut

log = logging.getLogger(__name__)
router = APIRouter()


@router.post(
    "/v1/admin/reload",
    response_model=ReloadOut,
    tags=["admin"],
    dependencies=[Depends(require_admin)],
    responses={
        401: {"description": "missing/invalid token"},
        403: {"description": "disabled"},
        409: {"description": "bundle failed validation; the old model keeps serving"},
        503: {"description": "registry unreachable"},
    },
)
async def reload(runtime: RuntimeDep, metrics: MetricsDep, body: ReloadIn | None = None) -> ReloadOut:
    """Load the registry's current version of the alias (or ``model``) and swap atomically."""
    try:
        version, previous = await runtime.reload(body.model if body else None)
    except (BundleValidationError, DataError) as exc:
        metrics.reloads.labels("refused").inc()
        raise HTTPException(409, f"model refused, still serving the previous one: {exc}") from exc
    except RegistryError as exc:
        metrics.reloads.labels("error").inc()
        raise HTTPException(
            503, f"registry unavailable, still serving the previous model: {exc}", headers={"Retry-After": "10"}
        ) from exc
    except Exception as exc:  # unreadable bundle files (BadZipFile...), registry lookups (MlflowException)
        log.exception("model reload refused")
        metrics.reloads.labels("refused").inc()
        raise HTTPException(409, f"model refused, still serving the previous one: {exc}") from exc
    metrics.reloads.labels("success").inc()
    return ReloadOut(model_version=version, previous_version=previous)
