"""Admin (a key with the admin scope, see :mod:`movierecs.serving.security`): POST /v1/admin/reload."""

from __future__ import annotations

import logging
import re

from fastapi import APIRouter, HTTPException

from movierecs.exceptions import RegistryError
from movierecs.serving.deps import MetricsDep, RuntimeDep, SettingsDep
from movierecs.serving.schemas import ReloadIn, ReloadOut

log = logging.getLogger(__name__)
router = APIRouter()


@router.post(
    "/v1/admin/reload",
    response_model=ReloadOut,
    tags=["admin"],
    responses={
        401: {"description": "missing/invalid key"},
        403: {"description": "admin disabled, or the key lacks the admin scope"},
        409: {"description": "bundle failed validation; the old model keeps serving"},
        422: {"description": "not a registry URI of the served model (or a local folder when those are off)"},
        503: {"description": "registry unreachable"},
    },
)
async def reload(
    runtime: RuntimeDep, metrics: MetricsDep, settings: SettingsDep, body: ReloadIn | None = None
) -> ReloadOut:
    """Load the registry's current version of the alias (or ``model``) and swap atomically.

    ``model`` must be ``models:/<served model>/<version>`` or ``models:/<served model>@<alias>``;
    a local bundle folder only with ``MOVIERECS_ALLOW_LOCAL_MODELS=true``. Error bodies never carry
    the exception or a path (the API log has them).
    """
    ref = body.model if body else None
    if ref is not None:
        problem = reload_ref_problem(ref, settings.model_name, settings.allow_local_models)
        if problem:
            metrics.reloads.labels("refused").inc()
            raise HTTPException(422, problem)
    try:
        version, previous = await runtime.reload(ref)
    except RegistryError:
        log.exception("model reload failed: registry unavailable")
        metrics.reloads.labels("error").inc()
        raise HTTPException(
            503, "registry unavailable, still serving the previous model", headers={"Retry-After": "10"}
        ) from None
    except Exception:  # validation (BundleValidationError, DataError), unreadable files, unknown versions
        log.exception("model reload refused")
        metrics.reloads.labels("refused").inc()
        raise HTTPException(409, "model refused, still serving the previous one (the API log says why)") from None
    metrics.reloads.labels("success").inc()
    return ReloadOut(model_version=version, previous_version=previous)


_REGISTRY_REF = re.compile(
    r"^models:/(?P<name>[A-Za-z0-9_.-]{1,128})(/(?P<version>[0-9]{1,9})|@(?P<alias>[A-Za-z0-9_-]{1,64}))$"
)


def reload_ref_problem(ref: str, model_name: str, allow_local: bool) -> str | None:
    """Why ``ref`` may not be reloaded, or None.

    Examples
    --------
    >>> [reload_ref_problem(r, "movierecs", False) is None for r in
    ...     ("models:/movierecs/3", "models:/movierecs@champion", "models:/other/1", "file:///etc", "/etc")]
    [True, True, False, False, False]
    """
    match = _REGISTRY_REF.match(ref)
    if match:
        if match["name"] != model_name:
            return f"only versions of the served model {model_name!r} can be loaded"
        return None
    if "://" in ref or ref.startswith(("models:", "runs:")):
        return "model must be models:/<name>/<version> or models:/<name>@<alias>"
    if not allow_local:
        return "local bundle folders are off (MOVIERECS_ALLOW_LOCAL_MODELS); use a registry URI"
    return None
