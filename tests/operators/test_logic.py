"""Pure core of the operator: spec validation, decisions, patches, status. No cluster, no clock."""

from __future__ import annotations

import copy

import jsonpatch
import pytest
from movierecs_operator import ANNOTATION, ENV_VAR, URI_ENV_VAR
from movierecs_operator.errors import InvalidSpecError
from movierecs_operator.logic import (
    Action,
    Condition,
    build_deployment_patch,
    build_status,
    conditions_for_error,
    conditions_for_rollout,
    decide,
    deployed_version,
    merge_conditions,
    parse_spec,
    status_changes,
    transitions,
)

T0, T1 = "2025-01-01T00:00:00Z", "2025-01-01T00:05:00Z"
SPEC = {
    "modelName": "movierecs",
    "alias": "champion",
    "registryUri": "http://mlflow:5000",
    "targetDeployment": "movierecs-api",
    "pollSeconds": 30,
}


def deployment(version: str | None = None, *, env: list | None = None, containers: int = 1) -> dict:
    template_meta = {"labels": {"app": "api"}}
    if version is not None:
        template_meta["annotations"] = {ANNOTATION: version, "other": "kept"}
    spec_containers = []
    for i in range(containers):
        c = {"name": f"c{i}", "image": "movierecs:1"}
        if env is not None:
            c["env"] = copy.deepcopy(env)
        spec_containers.append(c)
    return {
        "metadata": {"name": "movierecs-api", "resourceVersion": "41"},
        "spec": {"replicas": 2, "template": {"metadata": template_meta, "spec": {"containers": spec_containers}}},
    }


def pinned_env(version: str) -> list[dict]:
    return [{"name": ENV_VAR, "value": version}, {"name": URI_ENV_VAR, "value": f"models:/movierecs/{version}"}]


def apply(dep: dict, ops: list) -> dict:
    return jsonpatch.apply_patch(dep, ops, in_place=False)


# --- spec -------------------------------------------------------------------------------------------


def test_parse_spec_valid_and_default_poll() -> None:
    spec = parse_spec(SPEC, default_poll_seconds=60)
    assert (spec.model_name, spec.alias, spec.target_deployment, spec.poll_seconds) == (
        "movierecs",
        "champion",
        "movierecs-api",
        30.0,
    )
    assert parse_spec({k: v for k, v in SPEC.items() if k != "pollSeconds"}, 60).poll_seconds == 60.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"modelName": None}, "spec.modelName is required"),
        ({"alias": ""}, "spec.alias is required"),
        ({"alias": "champ ion"}, "spec.alias='champ ion' does not match"),
        ({"registryUri": "mlflow:5000"}, "is not a URI"),
        ({"targetDeployment": "Bad_Name"}, "spec.targetDeployment='Bad_Name' does not match"),
        ({"pollSeconds": 0}, "spec.pollSeconds=0 must be in"),
        ({"pollSeconds": "soon"}, "must be a number of seconds"),
        ({"pollSeconds": True}, "must be a number of seconds"),
    ],
)
def test_parse_spec_rejects_with_a_clear_message(change: dict, message: str) -> None:
    raw = {k: v for k, v in {**SPEC, **change}.items() if v is not None}
    with pytest.raises(InvalidSpecError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_spec(raw, 60)


def test_parse_spec_lists_every_problem() -> None:
    with pytest.raises(InvalidSpecError) as info:
        parse_spec({"pollSeconds": -1}, 60)
    for field in ("modelName", "alias", "registryUri", "targetDeployment", "pollSeconds"):
        assert f"spec.{field}" in str(info.value)


# --- decide -----------------------------------------------------------------------------------------


def test_decide_rolls_out_when_the_template_runs_another_version() -> None:
    decision = decide("3", deployment("2", env=pinned_env("2")), {"currentVersion": "2"})
    assert (decision.action, decision.version, decision.deployed_version) == (Action.ROLLOUT, "3", "2")


def test_decide_rolls_out_an_unpinned_deployment_even_if_status_claims_the_version() -> None:
    assert decide("3", deployment(), {"currentVersion": "3"}).action is Action.ROLLOUT


def test_decide_rolls_out_when_a_container_env_drifted() -> None:
    dep = deployment("3", env=pinned_env("3"), containers=2)
    dep["spec"]["template"]["spec"]["containers"][1]["env"][0]["value"] = "2"
    assert decide("3", dep, {"currentVersion": "3"}).action is Action.ROLLOUT


def test_decide_only_records_when_the_template_is_already_pinned() -> None:
    dep = deployment("3", env=pinned_env("3"))
    assert decide("3", dep, {}).action is Action.RECORD
    assert decide("3", dep, {"currentVersion": "2"}).action is Action.RECORD


def test_decide_does_nothing_at_rest() -> None:
    dep = deployment("3", env=pinned_env("3"))
    assert decide("3", dep, {"currentVersion": "3"}).action is Action.NOOP


# --- deployment patch -------------------------------------------------------------------------------


def test_patch_adds_annotation_and_env_where_absent_and_keeps_everything_else() -> None:
    dep = deployment(containers=2)
    patched = apply(dep, build_deployment_patch(dep, "5"))
    assert deployed_version(patched) == "5"
    for container in patched["spec"]["template"]["spec"]["containers"]:
        assert container["env"] == pinned_env("5")  # the pods load exactly models:/movierecs/5
        assert container["image"] == "movierecs:1"
    assert patched["spec"]["template"]["metadata"]["labels"] == {"app": "api"}
    assert patched["spec"]["replicas"] == 2
    assert decide("5", patched, {"currentVersion": "5"}).action is Action.NOOP


def test_patch_replaces_an_existing_env_item_and_appends_a_missing_one() -> None:
    env = [{"name": "A", "value": "1"}, {"name": ENV_VAR, "valueFrom": {"configMapKeyRef": {"name": "x"}}}]
    dep = deployment("4", env=env)
    patched = apply(dep, build_deployment_patch(dep, "5"))
    assert patched["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": "A", "value": "1"},
        *pinned_env("5"),
    ]
    assert patched["spec"]["template"]["metadata"]["annotations"] == {ANNOTATION: "5", "other": "kept"}

    dep = deployment("4", env=[{"name": "A", "value": "1"}])
    patched = apply(dep, build_deployment_patch(dep, "5"))
    assert patched["spec"]["template"]["spec"]["containers"][0]["env"][-2:] == pinned_env("5")


def test_patch_creates_template_metadata_and_escapes_the_annotation_key() -> None:
    dep = deployment()
    del dep["spec"]["template"]["metadata"]
    ops = build_deployment_patch(dep, "1")
    assert {"op": "add", "path": "/spec/template/metadata/annotations/movierecs.io~1model-version", "value": "1"} in ops
    assert deployed_version(apply(dep, ops)) == "1"


def test_patch_guards_resource_version_and_container_order() -> None:
    ops = build_deployment_patch(deployment(containers=2), "1")
    assert ops[0] == {"op": "test", "path": "/metadata/resourceVersion", "value": "41"}
    tests = [op for op in ops if op["op"] == "test" and op["path"].endswith("/name")]
    assert [op["value"] for op in tests] == ["c0", "c1"]
    # Someone reordered the containers meanwhile: the patch fails instead of writing the wrong one.
    moved = deployment(containers=2)
    moved["spec"]["template"]["spec"]["containers"].reverse()
    moved["metadata"].pop("resourceVersion")
    with pytest.raises(jsonpatch.JsonPatchTestFailed):
        apply(moved, [op for op in ops if op["path"] != "/metadata/resourceVersion"])


def test_patch_is_empty_when_in_sync() -> None:
    assert build_deployment_patch(deployment("7", env=pinned_env("7")), "7") == []


# --- status -----------------------------------------------------------------------------------------


def test_rollout_status_sets_version_time_and_conditions() -> None:
    decision = decide("3", deployment("2"), {})
    status = build_status({}, conditions_for_rollout(decision, "movierecs-api"), T0, version="3", rolled_out=True)
    assert status["currentVersion"] == "3"
    assert status["lastRolloutTime"] == T0
    by_type = {c["type"]: c for c in status["conditions"]}
    assert [c["type"] for c in status["conditions"]] == ["Ready", "RolledOut", "RegistryReachable"]
    assert by_type["Ready"]["status"] == "True"
    assert by_type["RolledOut"]["reason"] == "RolledOut"
    assert "version 3 (was 2)" in by_type["RolledOut"]["message"]
    assert all(c["lastTransitionTime"] == T0 for c in status["conditions"])


def test_transition_time_moves_only_when_a_condition_flips() -> None:
    first = merge_conditions([], [Condition("Ready", True, "UpToDate")], T0)
    same = merge_conditions(first, [Condition("Ready", True, "UpToDate", "again")], T1)
    assert same[0]["lastTransitionTime"] == T0
    flipped = merge_conditions(same, [Condition("Ready", False, "RegistryUnreachable")], T1)
    assert (flipped[0]["status"], flipped[0]["lastTransitionTime"]) == ("False", T1)


def test_registry_outage_keeps_version_and_rollout_time() -> None:
    healthy = build_status({}, conditions_for_rollout(decide("3", deployment(), {}), "api"), T0, version="3",
                           rolled_out=True)  # fmt: skip
    down = build_status(healthy, conditions_for_error("RegistryUnreachable", "refused", registry_reachable=False), T1)
    assert (down["currentVersion"], down["lastRolloutTime"]) == ("3", T0)
    by_type = {c["type"]: c for c in down["conditions"]}
    assert by_type["Ready"]["status"] == by_type["RegistryReachable"]["status"] == "False"
    assert by_type["RegistryReachable"]["reason"] == "RegistryUnreachable"
    assert by_type["RolledOut"]["status"] == "True"  # the last rollout still stands
    assert [c["type"] for c in transitions(healthy, down)] == ["Ready", "RegistryReachable"]


def test_quiet_poll_keeps_the_last_rollout_condition() -> None:
    rolled = build_status({}, conditions_for_rollout(decide("3", deployment("2"), {}), "api"), T0, version="3",
                          rolled_out=True)  # fmt: skip
    pinned = deployment("3", env=pinned_env("3"))
    quiet = build_status(rolled, conditions_for_rollout(decide("3", pinned, rolled), "api"), T1, version="3")
    assert status_changes(rolled, quiet) == {}
    assert {c["type"]: c["reason"] for c in quiet["conditions"]}["RolledOut"] == "RolledOut"


def test_record_marks_an_already_pinned_template() -> None:
    pinned = deployment("3", env=pinned_env("3"))
    status = build_status({}, conditions_for_rollout(decide("3", pinned, {}), "api"), T0, version="3")
    assert {c["type"]: c["reason"] for c in status["conditions"]}["RolledOut"] == "AlreadyRolledOut"
    assert "lastRolloutTime" not in status


def test_status_changes_is_empty_at_rest() -> None:
    conditions = conditions_for_rollout(decide("3", deployment("3", env=[]), {}), "api")
    status = build_status({}, conditions, T0, version="3")
    again = build_status(status, conditions, T1, version="3")
    assert status_changes(status, again) == {}
    assert transitions(status, again) == []


def test_invalid_spec_condition_leaves_registry_condition_alone() -> None:
    status = build_status(
        {}, conditions_for_error("InvalidSpec", "spec.alias is required", registry_reachable=None), T0
    )
    assert [c["type"] for c in status["conditions"]] == ["Ready"]
    assert status["conditions"][0]["reason"] == "InvalidSpec"
