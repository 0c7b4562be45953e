"""Named errors of the operator's core; handlers translate them into kopf errors (rule 7)."""

from __future__ import annotations


class OperatorError(Exception):
    """Base class; ``reason`` is the CamelCase condition/event reason, the message says what to do."""

    reason = "Error"


class InvalidSpecError(OperatorError):
    """The ModelDeployment's spec cannot work; fix the resource (retrying will not help)."""

    reason = "InvalidSpec"


class RegistryUnavailableError(OperatorError):
    """The MLflow registry could not be reached or answered with a server error; retried later."""

    reason = "RegistryUnreachable"


class AliasNotFoundError(OperatorError):
    """The registered model or its alias does not exist (yet): nothing to roll out."""

    reason = "AliasNotFound"


class DeploymentNotFoundError(OperatorError):
    """The target Deployment does not exist in the ModelDeployment's namespace."""

    reason = "DeploymentNotFound"


class RolloutFailedError(OperatorError):
    """The Kubernetes API refused the Deployment patch."""

    reason = "RolloutFailed"
