"""Pure rollout watching: progress of a patched Deployment, the next step, status and conditions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from movierecs_operator import ANNOTATION, ENV_VAR, URI_ENV_VAR
from movierecs_operator.rollout import Step, conditions_for, plan, progress, status_fields

NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)


def dep(version: str | None, *, generation: int = 2, **status: object) -> dict:
    env = [{"name": ENV_VAR, "value": version}, {"name": URI_ENV_VAR, "value": f"models:/m/{version}"}]
    meta = {"annotations": {ANNOTATION: version}} if version else {}
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": 2, "template": {"metadata": meta, "spec": {"containers": [{"name": "api", "env": env}]}}},
        "status": status,
    }


def watching(version: str = "3", started: datetime = NOW, **extra: object) -> dict:
    return {"currentVersion": "2", "rolloutVersion": version, "previousVersion": "2",
            "rolloutStartTime": started.isoformat().replace("+00:00", "Z"), **extra}  # fmt: skip


def step(deployment: dict, status: dict, desired: str = "3", deadline: float | None = None, now: datetime = NOW):
    return plan(desired, deployment, status, model_name="m", now=now, deadline_seconds=deadline)


def test_progress_waits_for_the_controller_then_for_every_replica() -> None:
    assert progress(dep("3", observedGeneration=1), None).state == "progressing"
    half = progress(dep("3", observedGeneration=2, replicas=3, updatedReplicas=1, availableReplicas=2), None)
    assert (half.state, half.message) == ("progressing", "1/2 replicas updated, 2 available, 3 in total")
    # every replica updated but an old pod still terminating: not yet
    assert progress(dep("3", observedGeneration=2, replicas=3, updatedReplicas=2, availableReplicas=2), None).state == (
        "progressing"
    )
    done = dep("3", observedGeneration=2, replicas=2, updatedReplicas=2, availableReplicas=2)
    assert progress(done, None).state == "complete"
    assert progress(done, 3).state == "progressing"  # the patch made generation 3: not observed yet


def test_progress_deadline_exceeded_is_a_failure() -> None:
    exceeded = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "timed out"}
    stalled = dep("3", observedGeneration=2, conditions=[exceeded])
    assert progress(stalled, None).state == "failed"


def test_a_new_alias_version_is_rolled_out_and_watched() -> None:
    first = step(dep("2"), {"currentVersion": "2"})
    assert (first.step, first.version, first.previous) == (Step.ROLLOUT, "3", "2")
    fields = status_fields(first, "T", 7)
    assert (fields["rolloutVersion"], fields["rolloutGeneration"], fields["rejectedVersion"]) == ("3", 7, None)
    assert "currentVersion" not in fields  # not rolled out yet
    waiting = step(dep("3", observedGeneration=2, updatedReplicas=1, availableReplicas=2, replicas=3), watching())
    assert waiting.step is Step.WAIT
    rolled = conditions_for(waiting, "api")
    assert {c.type: c.status for c in rolled}["RolledOut"] is None  # Unknown while progressing


def test_every_replica_on_the_new_version_completes_the_rollout() -> None:
    done = step(dep("3", observedGeneration=2, updatedReplicas=2, availableReplicas=2, replicas=2), watching())
    assert done.step is Step.COMPLETE
    fields = status_fields(done, "T")
    assert fields == {"rolloutVersion": None, "rolloutStartTime": None, "rolloutGeneration": None,
                      "currentVersion": "3", "lastRolloutTime": "T"}  # fmt: skip
    assert {c.type: (c.status, c.reason) for c in conditions_for(done, "api")}["RolledOut"] == (True, "RolledOut")


def test_a_stall_rolls_back_and_rejects_the_version() -> None:
    slow = dep("3", observedGeneration=2, updatedReplicas=1, availableReplicas=2, replicas=3)
    assert step(slow, watching(), deadline=600, now=NOW + timedelta(seconds=599)).step is Step.WAIT
    late = step(slow, watching(), deadline=600, now=NOW + timedelta(seconds=601))
    assert (late.step, late.version, late.watched) == (Step.ROLLBACK, "2", "3")
    assert "601s > 600s" in late.message
    fields = status_fields(late, "T")
    assert (fields["currentVersion"], fields["rejectedVersion"], fields["rolloutVersion"]) == ("2", "3", None)
    conditions = {c.type: (c.status, c.reason) for c in conditions_for(late, "api")}
    assert conditions["RolledOut"] == (False, "RolloutFailed")
    assert conditions["Ready"] == (False, "RolloutFailed")


def test_a_rejected_version_is_held_until_the_alias_moves() -> None:
    back_on_2 = dep("2")
    held = step(back_on_2, {"currentVersion": "2", "rejectedVersion": "3"})
    assert held.step is Step.HOLD
    assert status_fields(held, "T") == {}
    moved = step(back_on_2, {"currentVersion": "2", "rejectedVersion": "3"}, desired="4")
    assert moved.step is Step.ROLLOUT
    assert status_fields(moved, "T")["rejectedVersion"] is None
    at_rest = step(back_on_2, {"currentVersion": "2", "rejectedVersion": "3"}, desired="2")
    assert at_rest.step is Step.NOOP
    assert status_fields(at_rest, "T") == {"rejectedVersion": None}  # the alias moved off 3: lift it


def test_a_first_rollout_that_fails_has_nothing_to_roll_back_to() -> None:
    stalled = dep("3", observedGeneration=2, conditions=[{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}])
    failed = step(stalled, {"rolloutVersion": "3", "rolloutStartTime": "2025-01-01T12:00:00Z"})
    assert (failed.step, failed.version) == (Step.ROLLBACK, None)
    assert "no earlier version" in conditions_for(failed, "api")[-1].message
