"""Pure core of the operator: spec validation, the rollout decision, patches and status.

No I/O, no clock: times come in as arguments, so every function is unit-tested without a cluster.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from movierecs_operator import ANNOTATION, ENV_VAR, URI_ENV_VAR
from movierecs_operator.errors import InvalidSpecError

MIN_POLL_SECONDS = 1  # the CRD asks for >= 5; the operator itself only refuses nonsense
MAX_POLL_SECONDS = 86_400
_DNS_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_ALIAS = re.compile(r"^[A-Za-z0-9_-]+$")

# Condition types written to status.conditions.
READY = "Ready"
ROLLED_OUT = "RolledOut"
REGISTRY_REACHABLE = "RegistryReachable"
# status keys the operator owns (the rollout being watched and the version it refuses included)
STATUS_KEYS = (
    "currentVersion",
    "lastRolloutTime",
    "observedGeneration",
    "rolloutVersion",
    "rolloutStartTime",
    "rolloutGeneration",
    "previousVersion",
    "rejectedVersion",
)


@dataclass(frozen=True)
class Spec:
    """A validated ModelDeployment spec."""

    model_name: str
    alias: str
    registry_uri: str
    target_deployment: str
    poll_seconds: float
    rollout_deadline_seconds: float | None = None  # None: the Deployment's progressDeadlineSeconds


def parse_spec(spec: Mapping[str, Any], default_poll_seconds: float) -> Spec:
    """Validate a raw spec.

    Raises
    ------
    InvalidSpecError
        With every problem listed, e.g. ``spec.modelName is required; spec.pollSeconds must be ...``.
    """
    problems: list[str] = []

    def text(field: str, pattern: re.Pattern[str] | None = None) -> str:
        value = spec.get(field)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"spec.{field} is required (a non-empty string)")
            return ""
        if pattern is not None and not pattern.match(value):
            problems.append(f"spec.{field}={value!r} does not match {pattern.pattern}")
        return value

    model_name = text("modelName")
    alias = text("alias", _ALIAS)
    registry_uri = text("registryUri")
    if registry_uri and "://" not in registry_uri:
        problems.append(f"spec.registryUri={registry_uri!r} is not a URI (e.g. http://mlflow:5000)")
    target = text("targetDeployment", _DNS_NAME)

    raw_poll = spec.get("pollSeconds", default_poll_seconds)
    poll = float(default_poll_seconds)
    if isinstance(raw_poll, bool) or not isinstance(raw_poll, int | float):
        problems.append(f"spec.pollSeconds={raw_poll!r} must be a number of seconds")
    elif not MIN_POLL_SECONDS <= raw_poll <= MAX_POLL_SECONDS:
        problems.append(f"spec.pollSeconds={raw_poll} must be in [{MIN_POLL_SECONDS}, {MAX_POLL_SECONDS}]")
    else:
        poll = float(raw_poll)

    deadline = spec.get("rolloutDeadlineSeconds")
    if deadline is not None and (isinstance(deadline, bool) or not isinstance(deadline, int | float) or deadline <= 0):
        problems.append(f"spec.rolloutDeadlineSeconds={deadline!r} must be a positive number of seconds")
        deadline = None

    if problems:
        raise InvalidSpecError("; ".join(problems))
    return Spec(model_name, alias, registry_uri, target, poll, float(deadline) if deadline is not None else None)


class Action(enum.Enum):
    ROLLOUT = "rollout"  # patch the Deployment's pod template
    RECORD = "record"  # the template already runs the version; only the status lags behind
    NOOP = "noop"


@dataclass(frozen=True)
class Decision:
    action: Action
    version: str
    deployed_version: str | None  # what the pod template carried before


def _containers(deployment: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    return deployment.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []) or []


def _template_annotations(deployment: Mapping[str, Any]) -> Mapping[str, Any]:
    return deployment.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations") or {}


def deployed_version(deployment: Mapping[str, Any]) -> str | None:
    """The model version the Deployment's pod template is pinned to (its annotation), if any."""
    value = _template_annotations(deployment).get(ANNOTATION)
    return str(value) if value is not None else None


def _env_value(container: Mapping[str, Any], name: str = ENV_VAR) -> str | None:
    for item in container.get("env") or []:
        if item.get("name") == name:
            value = item.get("value")
            return str(value) if value is not None else None
    return None


def model_uri(model_name: str, version: str) -> str:
    """The pinned URI a pod loads: ``models:/<name>/<version>`` (never the alias)."""
    return f"models:/{model_name}/{version}"


def template_in_sync(deployment: Mapping[str, Any], version: str, model_name: str = "movierecs") -> bool:
    """Annotation and every container's env (version and pinned URI) already say ``version``."""
    uri = model_uri(model_name, version)
    return deployed_version(deployment) == version and all(
        _env_value(c) == version and _env_value(c, URI_ENV_VAR) == uri for c in _containers(deployment)
    )


def decide(
    desired_version: str, deployment: Mapping[str, Any], status: Mapping[str, Any], model_name: str = "movierecs"
) -> Decision:
    """Level-based: compare the registry's version with what the cluster runs and what we recorded.

    The Deployment is the source of truth (a restart, a manual edit or a lost status write all end in
    the right state); ``status.currentVersion`` is only a report of it.

    Examples
    --------
    >>> dep = {"spec": {"template": {"spec": {"containers": [{"name": "api"}]}}}}
    >>> decide("3", dep, {}).action
    <Action.ROLLOUT: 'rollout'>
    """
    current = deployed_version(deployment)
    if not template_in_sync(deployment, desired_version, model_name):
        return Decision(Action.ROLLOUT, desired_version, current)
    if str(status.get("currentVersion") or "") != desired_version:
        return Decision(Action.RECORD, desired_version, current)
    return Decision(Action.NOOP, desired_version, current)


def _pointer(*parts: object) -> str:
    """RFC 6901 JSON pointer (``/`` in the annotation key becomes ``~1``)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def build_deployment_patch(
    deployment: Mapping[str, Any], version: str, model_name: str = "movierecs"
) -> list[dict[str, Any]]:
    """A JSON patch (RFC 6902) that pins the pod template to ``version``; ``[]`` when already pinned.

    Sets the template annotation, ``MOVIERECS_MODEL_URI=models:/<name>/<version>`` (what the pods
    load) and ``MOVIERECS_MODEL_VERSION`` in every container, touching nothing
    else (a JSON merge patch would replace the whole containers list). ``test`` operations guard the
    container order and, when known, the resourceVersion (optimistic concurrency): if someone edited
    the Deployment meanwhile, the API refuses the patch and the next tick recomputes it.
    """
    if template_in_sync(deployment, version, model_name):
        return []
    ops: list[dict[str, Any]] = []
    resource_version = deployment.get("metadata", {}).get("resourceVersion")
    if resource_version:
        ops.append({"op": "test", "path": "/metadata/resourceVersion", "value": resource_version})

    template_meta = deployment.get("spec", {}).get("template", {}).get("metadata")
    if template_meta is None:
        ops.append({"op": "add", "path": "/spec/template/metadata", "value": {"annotations": {}}})
    elif template_meta.get("annotations") is None:
        ops.append({"op": "add", "path": "/spec/template/metadata/annotations", "value": {}})
    ops.append(
        {"op": "add", "path": _pointer("spec", "template", "metadata", "annotations", ANNOTATION), "value": version}
    )

    items = [{"name": ENV_VAR, "value": version}, {"name": URI_ENV_VAR, "value": model_uri(model_name, version)}]
    for i, container in enumerate(_containers(deployment)):
        base = ("spec", "template", "spec", "containers", i)
        ops.append({"op": "test", "path": _pointer(*base, "name"), "value": container.get("name")})
        env = container.get("env")
        if env is None:
            ops.append({"op": "add", "path": _pointer(*base, "env"), "value": items})
            continue
        for env_item in items:
            index = next((j for j, item in enumerate(env) if item.get("name") == env_item["name"]), None)
            if index is None:
                ops.append({"op": "add", "path": _pointer(*base, "env", "-"), "value": env_item})
            else:  # replace the whole item: a valueFrom there would conflict with value
                ops.append({"op": "replace", "path": _pointer(*base, "env", index), "value": env_item})
    return ops


@dataclass(frozen=True)
class Condition:
    type: str
    status: bool | None  # None: Unknown
    reason: str
    message: str = ""

    @property
    def status_text(self) -> str:
        return {True: "True", False: "False", None: "Unknown"}[self.status]


def merge_conditions(
    current: Iterable[Mapping[str, Any]], updates: Iterable[Condition], now: str
) -> list[dict[str, Any]]:
    """Apply condition updates; ``lastTransitionTime`` moves only when a condition's status changes."""
    merged = {c["type"]: dict(c) for c in current if "type" in c}
    for update in updates:
        old = merged.get(update.type, {})
        changed = old.get("status") != update.status_text
        merged[update.type] = {
            "type": update.type,
            "status": update.status_text,
            "reason": update.reason,
            "message": update.message,
            "lastTransitionTime": now if changed or "lastTransitionTime" not in old else old["lastTransitionTime"],
        }
    order = {READY: 0, ROLLED_OUT: 1, REGISTRY_REACHABLE: 2}
    return sorted(merged.values(), key=lambda c: (order.get(c["type"], 99), c["type"]))


def build_status(
    current: Mapping[str, Any],
    conditions: Iterable[Condition],
    now: str,
    *,
    version: str | None = None,
    rolled_out: bool = False,
    generation: int | None = None,
    fields: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The full new status (only the operator's own keys): version, rollout time, conditions, and
    ``fields`` (rollout keys; ``None`` removes one)."""
    status: dict[str, Any] = {key: current[key] for key in STATUS_KEYS if key in current}
    for key, value in (fields or {}).items():
        if value is None:
            status.pop(key, None)
        else:
            status[key] = value
    if version is not None:
        status["currentVersion"] = version
    if rolled_out:
        status["lastRolloutTime"] = now
    if generation is not None:
        status["observedGeneration"] = generation
    status["conditions"] = merge_conditions(current.get("conditions") or [], conditions, now)
    return status


def status_changes(current: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The keys of ``new`` whose values differ from ``current`` (and ``None`` for the operator's keys
    ``new`` dropped): a merge patch that is empty at rest."""
    changes = {key: value for key, value in new.items() if current.get(key) != value}
    return changes | {key: None for key in STATUS_KEYS if key in current and key not in new}


def transitions(current: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Conditions of ``new`` whose status or reason differ from ``current`` (worth an Event)."""
    before = {c.get("type"): (c.get("status"), c.get("reason")) for c in current.get("conditions") or []}
    return [c for c in new.get("conditions", []) if before.get(c["type"]) != (c["status"], c["reason"])]


def conditions_for_rollout(decision: Decision, target: str) -> list[Condition]:
    """Conditions after a successful reconcile (rollout, record or nothing to do).

    ``RolledOut`` describes the last rollout, so only a rollout (or the first record of a template
    someone already pinned) rewrites it; a quiet poll leaves it, and its transition time, alone.
    """
    version = decision.version
    updates = [
        Condition(READY, True, "UpToDate", f"deployment/{target} follows version {version}"),
        Condition(REGISTRY_REACHABLE, True, "Reachable", "registry answered"),
    ]
    if decision.action is Action.ROLLOUT:
        was = f" (was {decision.deployed_version})" if decision.deployed_version else ""
        message = f"deployment/{target} patched to version {version}{was}"
        updates.append(Condition(ROLLED_OUT, True, "RolledOut", message))
    elif decision.action is Action.RECORD:
        updates.append(Condition(ROLLED_OUT, True, "AlreadyRolledOut", f"deployment/{target} runs version {version}"))
    return updates


def conditions_for_error(reason: str, message: str, *, registry_reachable: bool | None) -> list[Condition]:
    """Conditions when a reconcile could not complete; ``registry_reachable=None`` leaves it as is."""
    updates = [Condition(READY, False, reason, message)]
    if registry_reachable is not None:
        updates.append(
            Condition(
                REGISTRY_REACHABLE,
                registry_reachable,
                "Reachable" if registry_reachable else reason,
                "registry answered" if registry_reachable else message,
            )
        )
    return updates
