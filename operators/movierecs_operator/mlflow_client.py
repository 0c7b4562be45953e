"""Registry adapter: which model version does ``<model>@<alias>`` point to?"""

from __future__ import annotations

from movierecs_operator.errors import AliasNotFoundError, RegistryUnavailableError

# MLflow error codes that mean "the name or alias is not there", as opposed to an outage.
_MISSING = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}


def alias_version(registry_uri: str, model_name: str, alias: str) -> str:
    """The version number (as a string) the alias points to. Blocking: run it in a thread.

    Request timeout and retries come from MLflow's own ``MLFLOW_HTTP_REQUEST_TIMEOUT`` and
    ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` (the operator's startup sets short ones: kopf does the
    retrying, with backoff, so a dead registry must fail fast rather than block a worker thread).

    Raises
    ------
    AliasNotFoundError
        The registered model or the alias does not exist.
    RegistryUnavailableError
        Anything else: connection refused, timeout, 5xx, a broken URI.
    """
    import mlflow  # heavy: imported on first use, not when the operator module loads
    from mlflow.exceptions import MlflowException

    try:
        client = mlflow.MlflowClient(tracking_uri=registry_uri, registry_uri=registry_uri)
        version = client.get_model_version_by_alias(model_name, alias)
    except MlflowException as e:
        if e.error_code in _MISSING:
            raise AliasNotFoundError(f"{model_name}@{alias} not found in {registry_uri}: {e.message}") from e
        raise RegistryUnavailableError(f"registry {registry_uri} failed: {_short(e.message)}") from e
    except Exception as e:  # requests/urllib3/sqlalchemy errors for unreachable backends
        raise RegistryUnavailableError(f"registry {registry_uri} unreachable: {_short(str(e))}") from e
    return str(version.version)


def _short(message: str, limit: int = 300) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[: limit - 3] + "..."
