"""The operator and the chart's ModelDeployment CRD (charts/movierecs/crds/) agree on the API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from movierecs_operator import GROUP, KIND, PLURAL, VERSION
from movierecs_operator.logic import build_status, conditions_for_error, conditions_for_rollout, decide, parse_spec

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
    assert set(_schema(crd, "spec")["properties"]) == set(SPEC)


@pytest.mark.parametrize("bad", [{"pollSeconds": 0}, {"alias": "has space"}, {"registryUri": "mlflow"}])
def test_the_crd_refuses_what_the_operator_refuses(crd: dict[str, Any], bad: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**SPEC, **bad}, _schema(crd, "spec"))


def test_statuses_the_operator_writes_fit_the_crd(crd: dict[str, Any]) -> None:
    deployment = {"spec": {"template": {"spec": {"containers": [{"name": "api"}]}}}}
    t0, t1 = "2025-01-01T00:00:00Z", "2025-01-01T00:01:00Z"
    rolled = build_status(
        {}, conditions_for_rollout(decide("4", deployment, {}), "api"), t0, version="4", rolled_out=True, generation=3
    )
    down = build_status(rolled, conditions_for_error("RegistryUnreachable", "refused", registry_reachable=False), t1)
    for status in (rolled, down):
        jsonschema.validate(status, _schema(crd, "status"))
