"""Checks shared by the chart tests: CRD/JSON-schema validators and walkers over rendered objects."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from chart_offline import CHART, REPO
from jsonschema import Draft7Validator

CRD_SCHEMAS = REPO.parent / "shared" / "schemas" / "crds"
LOCAL_SCHEMAS = Path(__file__).resolve().parent / "schemas"  # kinds the catalog lacks (schemas/README.md)
K8S_VERSION = "1.35.0"  # kubernetes-validate ships schemas up to 1.37; the kubectl/helm layer is v1.35
APP_UID = 10001

Obj = dict[str, Any]


# ---------- schema helpers ----------


@functools.cache
def crd_validator(api_version: str, kind: str) -> Draft7Validator | None:
    """Validator from ../shared/schemas/crds (datree catalog), else tests/charts/schemas; None if neither has it."""
    group, _, version = api_version.rpartition("/")
    path = CRD_SCHEMAS / group / f"{kind.lower()}_{version}.json"
    if not path.is_file():
        path = LOCAL_SCHEMAS / group / f"{kind.lower()}_{version}.json"
    if not path.is_file():
        return None
    # Go RE2 accepts a mid-pattern (?i); Python's re wants global flags first (schemas README).
    schema = json.loads(path.read_text().replace('"^(?i)', '"(?i)^'))
    return Draft7Validator(schema)


@functools.cache
def own_crds() -> dict[tuple[str, str], Draft7Validator]:
    """(apiVersion, kind) -> validator from the openAPIV3Schema of the chart's crds/."""
    validators = {}
    for path in (CHART / "crds").glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            schema = _openapi_to_jsonschema(version["schema"]["openAPIV3Schema"])
            key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
            validators[key] = Draft7Validator(schema)
    return validators


def _openapi_to_jsonschema(node: Any) -> Any:
    """Structural OpenAPI v3 -> JSON Schema: drop x-kubernetes-*; objects without explicit
    additionalProperties are closed (the API server prunes unknown fields) unless they preserve them."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _openapi_to_jsonschema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if (
        node.get("type") == "object"
        and "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
        and set(node["properties"]) != {"apiVersion", "kind", "metadata", "spec", "status"}
    ):
        out["additionalProperties"] = False
    return out


def errors_of(validator: Draft7Validator, obj: Obj) -> list[str]:
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(obj)]


# ---------- pod walking ----------


def pod_specs(objs: list[Obj]) -> Iterator[tuple[str, Obj]]:
    """(label, pod spec) for every pod template the chart renders, including CR pod templates."""
    for obj in objs:
        kind, name = obj["kind"], obj["metadata"]["name"]
        spec = obj.get("spec") or {}
        if kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
            yield f"{kind}/{name}", spec["template"]["spec"]
        elif kind == "CronJob":
            yield f"{kind}/{name}", spec["jobTemplate"]["spec"]["template"]["spec"]
        elif kind == "Pod":
            yield f"{kind}/{name}", spec
        elif kind == "ClickHouseInstallation":
            for tpl in spec.get("templates", {}).get("podTemplates", []):
                yield f"{kind}/{name}/{tpl['name']}", tpl["spec"]


WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}


def names(objs: list[Obj], kind: str) -> list[str]:
    return [o["metadata"]["name"] for o in objs if o["kind"] == kind]


def by_kind(objs: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objs if o["kind"] == kind]


_SECRET_KEY = re.compile(r"(?i)(password|passwd|token|secret|apikey|api_key|secretaccesskey|credentials?)$")
_SECRET_POINTER = re.compile(r"(?i)(existingsecret|secretname)$")  # names a Secret, holds none


def is_secret_key(name: str) -> bool:
    """Whether a values key looks like it holds a credential (so must never carry a literal)."""
    return bool(_SECRET_KEY.search(name)) and not _SECRET_POINTER.search(name)
