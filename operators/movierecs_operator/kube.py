"""Kubernetes adapter: read and JSON-patch the target Deployment.

The app's dependencies carry no Kubernetes client, and kopf already holds an authenticated session
(kubeconfig or in-cluster service account, re-login on 401, retries on 5xx/429). So this module goes
through kopf's API helpers. They are kopf internals: this is the only module that touches them, and
it translates their errors into the operator's named errors.
"""

from __future__ import annotations

import logging
from typing import Any

from kopf._cogs.clients import api as kopf_api
from kopf._cogs.clients import errors as kopf_errors

from movierecs_operator.errors import DeploymentNotFoundError, RolloutFailedError

Logger = logging.Logger | logging.LoggerAdapter  # type: ignore[type-arg]


def _url(namespace: str, name: str) -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/deployments/{name}"


async def get_deployment(namespace: str, name: str, *, settings: Any, logger: Logger) -> dict[str, Any]:
    """The Deployment's body; :class:`DeploymentNotFoundError` if it does not exist."""
    try:
        body: dict[str, Any] = await kopf_api.get(_url(namespace, name), settings=settings, logger=logger)
    except kopf_errors.APINotFoundError as e:
        raise DeploymentNotFoundError(f"deployment/{name} not found in namespace {namespace}") from e
    return body


async def patch_deployment(
    namespace: str, name: str, ops: list[dict[str, Any]], *, settings: Any, logger: Logger
) -> dict[str, Any]:
    """Apply a JSON patch (RFC 6902) to the Deployment; :class:`RolloutFailedError` if the API refuses."""
    try:
        body: dict[str, Any] = await kopf_api.patch(
            _url(namespace, name),
            headers={"Content-Type": "application/json-patch+json"},
            payload=ops,
            settings=settings,
            logger=logger,
        )
    except kopf_errors.APINotFoundError as e:
        raise DeploymentNotFoundError(f"deployment/{name} disappeared from namespace {namespace}") from e
    except kopf_errors.APIError as e:  # 409/422: a concurrent edit failed a `test` op; 403: RBAC
        raise RolloutFailedError(f"patching deployment/{name} was refused: {e}") from e
    return body
