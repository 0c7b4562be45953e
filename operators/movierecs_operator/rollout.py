"""Pure rollout watching: is the patched Deployment done, stalled, or still going, and what next.

After a patch the operator follows the Deployment (``observedGeneration``, ``updatedReplicas``,
``availableReplicas``, the ``Progressing`` condition). ``RolledOut`` only when every replica runs the
new template; ``ProgressDeadlineExceeded`` or ``spec.rolloutDeadlineSeconds`` means the version failed:
roll back to the previous one and refuse that version (``status.rejectedVersion``) until the alias
moves again. No I/O, no clock: ``now`` comes in as an argument.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from movierecs_operator.logic import (
    READY,
    REGISTRY_REACHABLE,
    ROLLED_OUT,
    Action,
    Condition,
    decide,
    deployed_version,
)

ROLLOUT_FAILED = "RolloutFailed"


class Step(enum.Enum):
    ROLLOUT = "rollout"  # patch to the alias's version and start watching
    RECORD = "record"  # the template already runs it; only the status lags behind
    NOOP = "noop"
    WAIT = "wait"  # a rollout is under way
    COMPLETE = "complete"  # every replica runs the new version
    ROLLBACK = "rollback"  # the new version stalled: patch back to the previous one
    HOLD = "hold"  # the alias points at a version that failed before: leave things as they are


@dataclass(frozen=True)
class Plan:
    step: Step
    version: str | None  # what to patch to (ROLLOUT, ROLLBACK) or what is being watched
    watched: str | None = None  # the version under way (WAIT, COMPLETE, ROLLBACK)
    previous: str | None = None  # what ran before it
    message: str = ""


@dataclass(frozen=True)
class Progress:
    state: str  # progressing | complete | failed
    message: str


def progress(deployment: Mapping[str, Any], generation: int | None) -> Progress:
    """Where the Deployment's rollout of ``generation`` (the patch's, if known) stands.

    Examples
    --------
    >>> dep = {"spec": {"replicas": 2}, "status": {"updatedReplicas": 2, "availableReplicas": 2, "replicas": 2}}
    >>> progress(dep, None).state
    'complete'
    """
    spec = deployment.get("spec") or {}
    st = deployment.get("status") or {}
    want = int(spec.get("replicas", 1))
    for cond in st.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return Progress("failed", f"ProgressDeadlineExceeded: {cond.get('message', '')}".strip())
    gen = generation if generation is not None else (deployment.get("metadata") or {}).get("generation")
    observed = st.get("observedGeneration")
    if gen is not None and (observed is None or int(observed) < int(gen)):
        return Progress("progressing", f"waiting for the Deployment controller to observe generation {gen}")
    updated, available = int(st.get("updatedReplicas") or 0), int(st.get("availableReplicas") or 0)
    total = int(st.get("replicas") or 0)
    message = f"{updated}/{want} replicas updated, {available} available, {total} in total"
    if updated >= want and available >= want and total <= updated:
        return Progress("complete", message)
    return Progress("progressing", message)


def plan(
    desired: str,
    deployment: Mapping[str, Any],
    status: Mapping[str, Any],
    *,
    model_name: str,
    now: datetime,
    deadline_seconds: float | None,
) -> Plan:
    """The next step, level-based: a rollout under way is watched first; a rejected version is held.

    Examples
    --------
    >>> from datetime import UTC
    >>> dep = {"spec": {"template": {"spec": {"containers": [{"name": "api"}]}}}}
    >>> plan("3", dep, {}, model_name="m", now=datetime.now(UTC), deadline_seconds=None).step
    <Step.ROLLOUT: 'rollout'>
    """
    watched = status.get("rolloutVersion")
    previous = status.get("previousVersion")
    if watched and deployed_version(deployment) == watched:
        gen = status.get("rolloutGeneration")
        state = progress(deployment, int(gen) if gen is not None else None)
        if state.state == "complete":
            return Plan(Step.COMPLETE, watched, watched, previous, state.message)
        started = status.get("rolloutStartTime")
        if state.state != "failed" and deadline_seconds is not None and started:
            elapsed = (now - datetime.fromisoformat(str(started).replace("Z", "+00:00"))).total_seconds()
            if elapsed > deadline_seconds:
                state = Progress(
                    "failed", f"not rolled out after {elapsed:.0f}s > {deadline_seconds:.0f}s; {state.message}"
                )
        if state.state == "failed":
            return Plan(Step.ROLLBACK, previous, watched, previous, state.message)
        return Plan(Step.WAIT, watched, watched, previous, state.message)
    if desired == status.get("rejectedVersion"):
        return Plan(Step.HOLD, None, None, None, f"version {desired} failed to roll out; waiting for the alias to move")
    decision = decide(desired, deployment, status, model_name)
    step = {Action.ROLLOUT: Step.ROLLOUT, Action.RECORD: Step.RECORD, Action.NOOP: Step.NOOP}[decision.action]
    was = decision.deployed_version or status.get("currentVersion")
    return Plan(step, desired, desired if step is Step.ROLLOUT else None, was)


def status_fields(plan_: Plan, now: str, generation: int | None = None) -> dict[str, Any]:
    """The rollout keys of status this step sets (``None``: remove the key)."""
    cleared: dict[str, Any] = {"rolloutVersion": None, "rolloutStartTime": None, "rolloutGeneration": None}
    if plan_.step is Step.ROLLOUT:
        return {
            "rolloutVersion": plan_.version,
            "rolloutStartTime": now,
            "rolloutGeneration": generation,
            "previousVersion": plan_.previous,
            "rejectedVersion": None,  # the alias moved: what failed before may be tried again later
        }
    if plan_.step is Step.COMPLETE:
        return cleared | {"currentVersion": plan_.watched, "lastRolloutTime": now}
    if plan_.step is Step.ROLLBACK:
        return cleared | {"currentVersion": plan_.previous, "rejectedVersion": plan_.watched}
    if plan_.step is Step.RECORD:
        return {"currentVersion": plan_.version, "rejectedVersion": None}
    if plan_.step is Step.NOOP:
        return {"rejectedVersion": None}  # the alias moved off the rejected version
    return {}


def conditions_for(plan_: Plan, target: str) -> list[Condition]:
    """Conditions for a rollout step (RECORD and NOOP keep logic.conditions_for_rollout's)."""
    return [Condition(REGISTRY_REACHABLE, True, "Reachable", "registry answered"), *_rollout_conditions(plan_, target)]


def _rollout_conditions(plan_: Plan, target: str) -> list[Condition]:
    if plan_.step is Step.ROLLOUT:
        was = f" (was {plan_.previous})" if plan_.previous else ""
        msg = f"deployment/{target} patched to version {plan_.version}{was}; waiting for every replica"
        return [Condition(ROLLED_OUT, None, "Progressing", msg), Condition(READY, True, "Progressing", msg)]
    if plan_.step is Step.WAIT:
        msg = f"deployment/{target} rolling out version {plan_.watched}: {plan_.message}"
        return [Condition(ROLLED_OUT, None, "Progressing", msg)]
    if plan_.step is Step.COMPLETE:
        msg = f"every replica of deployment/{target} runs version {plan_.watched} ({plan_.message})"
        return [Condition(ROLLED_OUT, True, "RolledOut", msg), Condition(READY, True, "UpToDate", msg)]
    if plan_.step is Step.ROLLBACK:
        back = f"rolled back to version {plan_.previous}" if plan_.previous else "no earlier version to roll back to"
        msg = f"version {plan_.watched} did not roll out ({plan_.message}); {back}; not retried until the alias moves"
        return [Condition(ROLLED_OUT, False, ROLLOUT_FAILED, msg), Condition(READY, False, ROLLOUT_FAILED, msg)]
    return []
