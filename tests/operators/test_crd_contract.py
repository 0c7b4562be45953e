"""The operator and the chart's ModelDeployment CRD (charts/movierecs/crds/) agree on the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from movierecs_operator import GROUP, KIND, PLURAL, VERSION
from movierecs_operator.logic import (
    build_deployment_patch,
    build_status,
    conditions_for_error,
    conditions_for_rollout,
    decide,
    parse_spec,
)
from movierecs_operator.rollout import conditions_for, plan, status_fields

CRD = Path(__file__).resolve().parents[2] / "charts" / "movierecs" / "crds" / "modeldeployments.movierecs.io.yaml"
SPEC = {
    "modelName": "movierecs",
    "alias": "champion",
    "registryUri": "http://movierecs-mlflow:5000",
    "targetDeployment": "movierecs-api",
    "pollSeconds": 60,
}


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    if not CRD.is_file():
        pytest.skip(f"chart CRD not present: {CRD}")
    return yaml.safe_load(CRD.read_text())


def _schema(crd: dict[str, Any], part: str) -> dict[str, Any]:
    version = next(v for v in crd["spec"]["versions"] if v["name"] == VERSION)
    return version["schema"]["openAPIV3Schema"]["properties"][part]


def test_names_match_the_operator(crd: dict[str, Any]) -> None:
    assert crd["spec"]["group"] == GROUP
    assert crd["spec"]["names"]["plural"] == PLURAL
    assert crd["spec"]["names"]["kind"] == KIND
    assert crd["spec"]["scope"] == "Namespaced"
    version = next(v for v in crd["spec"]["versions"] if v["name"] == VERSION)
    assert version["served"]
    assert version["storage"]
    assert "status" in version["subresources"]  # kopf patches status through the subresource


def test_a_spec_the_crd_accepts_is_one_the_operator_accepts(crd: dict[str, Any]) -> None:
    jsonschema.validate(SPEC, _schema(crd, "spec"))
    parse_spec(SPEC, default_poll_seconds=60)
    assert set(_schema(crd, "spec")["properties"]) == {*SPEC, "rolloutDeadlineSeconds"}


@pytest.mark.parametrize("bad", [{"pollSeconds": 0}, {"alias": "has space"}, {"registryUri": "mlflow"}])
def test_the_crd_refuses_what_the_operator_refuses(crd: dict[str, Any], bad: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**SPEC, **bad}, _schema(crd, "spec"))


def logic_patch(deployment: dict[str, Any], version: str) -> dict[str, Any]:
    import jsonpatch

    return jsonpatch.apply_patch(deployment, build_deployment_patch(deployment, version, "m"), in_place=False)


def test_statuses_the_operator_writes_fit_the_crd(crd: dict[str, Any]) -> None:
    deployment = {"spec": {"template": {"spec": {"containers": [{"name": "api"}]}}}}
    t0, t1 = "2025-01-01T00:00:00Z", "2025-01-01T00:01:00Z"
    rolled = build_status(
        {}, conditions_for_rollout(decide("4", deployment, {}), "api"), t0, version="4", rolled_out=True, generation=3
    )
    down = build_status(rolled, conditions_for_error("RegistryUnreachable", "refused", registry_reachable=False), t1)
    statuses = [rolled, down]
    # a rollout watched, then rolled back (rollout.status_fields): every key fits the CRD
    progressing = {**deployment, "status": {"updatedReplicas": 1}}
    start = plan("5", progressing, rolled, model_name="m", now=datetime.now(UTC), deadline_seconds=None)
    watched = build_status(rolled, conditions_for(start, "api"), t1, fields=status_fields(start, t1, 9))
    pinned = logic_patch(progressing, "5")
    late = datetime.now(UTC) + timedelta(hours=1)
    back = plan("5", pinned, watched, model_name="m", now=late, deadline_seconds=60)
    assert back.step.value == "rollback"
    failed = build_status(watched, conditions_for(back, "api"), t1, fields=status_fields(back, t1))
    statuses += [watched, failed]
    assert failed["rejectedVersion"] == "5"
    for status in statuses:
        jsonschema.validate(status, _schema(crd, "status"))


def test_a_rollout_deadline_is_accepted_by_both_and_refused_when_not_positive(crd: dict[str, Any]) -> None:
    from movierecs_operator.errors import InvalidSpecError

    good = {**SPEC, "rolloutDeadlineSeconds": 600}
    jsonschema.validate(good, _schema(crd, "spec"))
    assert parse_spec(good, 60).rollout_deadline_seconds == 600
    bad = {**SPEC, "rolloutDeadlineSeconds": 0}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, _schema(crd, "spec"))
    with pytest.raises(InvalidSpecError, match="rolloutDeadlineSeconds"):
        parse_spec(bad, 60)
