"""values.yaml, values.schema.json and Chart.yaml: documented, strict, pinned."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from chart_offline import CHART, dependencies
from jsonschema import Draft7Validator

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
DEP_KEYS = {d["name"] for d in dependencies()}


def test_schema_is_valid_and_accepts_every_profile() -> None:
    Draft7Validator.check_schema(SCHEMA)
    validator = Draft7Validator(SCHEMA)
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    assert not list(validator.iter_errors(defaults))
    for path in CHART.glob("values-*.yaml"):
        merged = _merge(defaults, yaml.safe_load(path.read_text()))
        errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(merged)]
        assert not errors, f"{path.name}: {errors}"


def _merge(base, override):
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: _merge(base.get(k), override[k]) if k in base else override[k] for k in override} | {
            k: v for k, v in base.items() if k not in override
        }
    return override


def _objects(node, path=()):
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            yield path, node
        for key in ("properties",):
            for name, sub in node.get(key, {}).items():
                yield from _objects(sub, (*path, name))
        if isinstance(node.get("items"), dict):
            yield from _objects(node["items"], (*path, "[]"))
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in node.get(key, []):
                yield from _objects(sub, path)


def test_schema_is_strict_at_every_object_level() -> None:
    """additionalProperties: false everywhere, except string maps (labels, annotations,
    nodeSelector), Helm's `global` and the subchart blocks (their own schema validates them)."""
    problems = []
    for path, node in _objects(SCHEMA):
        extra = node.get("additionalProperties")
        if extra is False:
            continue
        if extra == {"type": "string"} and not node.get("properties"):
            continue  # a map of strings: keys are free, values are typed
        if len(path) == 1 and (path[0] in DEP_KEYS or path[0] == "global"):
            continue
        problems.append(".".join(path) or "<root>")
    assert not problems, f"objects without additionalProperties: false: {problems}"


def test_schema_covers_exactly_the_values() -> None:
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())

    def walk(values, schema, path):
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is not False:
            return
        where = ".".join(path) or "<root>"
        assert set(values) <= set(props), f"{where}: not in the schema: {set(values) - set(props)}"
        assert set(schema.get("required", [])) <= set(values), f"{where}: required but no default"
        for key, value in values.items():
            if isinstance(value, dict):
                walk(value, props[key], (*path, key))

    walk(defaults, SCHEMA, ())


@pytest.mark.parametrize(
    "override",
    ["foo=bar", "api.foo=bar", "api.resources.requests.gpu=1", "kafka.topics.other.partitions=1"],
)
def test_unknown_key_is_rejected(render, override: str) -> None:
    with pytest.raises(RuntimeError, match=r"(?i)schema|additional"):
        render("default", "--set", override)


@pytest.mark.parametrize(
    "override",
    [
        "containerSecurityContext.readOnlyRootFilesystem=false",
        "podSecurityContext.runAsNonRoot=false",
        "api.podAntiAffinityPreset=sometimes",
        "mlflow.artifacts.type=nfs",
    ],
)
def test_insecure_or_invalid_value_is_rejected(render, override: str) -> None:
    with pytest.raises(RuntimeError):
        render("default", "--set", override)


def test_every_value_is_documented() -> None:
    """helm-docs style: each key carries a `# --` comment, on itself or on an enclosing key."""
    lines = (CHART / "values.yaml").read_text().splitlines()
    stack: list[tuple[int, bool]] = []  # (indent, documented) of the enclosing keys
    undocumented = []
    for i, line in enumerate(lines):
        m = re.match(r"^(\s*)([A-Za-z0-9_.\-/]+):(.*)$", line)
        if not m or line.lstrip().startswith("#"):
            continue
        indent = len(m.group(1))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        j = i - 1
        while j >= 0 and lines[j].strip().startswith("#") and not lines[j].strip().startswith("# --"):
            j -= 1
        documented = j >= 0 and lines[j].strip().startswith("# --") and len(lines[j]) - len(lines[j].lstrip()) == indent
        inherited = any(doc for _, doc in stack)
        is_leaf = m.group(3).strip() != ""
        # a leaf in a list item (e.g. airflow volumes) is covered by the list's own comment
        in_list_item = any(lines[k].lstrip().startswith("- ") for k in range(max(0, i - 3), i + 1))
        if is_leaf and not (documented or inherited or in_list_item):
            undocumented.append(f"line {i + 1}: {m.group(2)}")
        stack.append((indent, documented or inherited))
    assert not undocumented, undocumented


def test_dependencies_are_pinned_and_conditional() -> None:
    deps = {d["name"]: d for d in dependencies()}
    assert set(deps) == {
        "strimzi-kafka-operator",
        "altinity-clickhouse-operator",
        "cloudnative-pg",
        "kube-prometheus-stack",
        "loki",
        "alloy",
        "airflow",
    }
    defaults = yaml.safe_load((CHART / "values.yaml").read_text())
    for name, dep in deps.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", str(dep["version"])), f"{name}: version not pinned"
        assert dep["repository"].startswith("https://"), name
        assert dep["condition"] == f"{name}.enabled", name
        assert defaults[name]["enabled"] is False, f"{name} must be off by default"


def test_chart_metadata() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["apiVersion"] == "v2"
    assert chart["type"] == "application"
    assert re.fullmatch(r"\d+\.\d+\.\d+", chart["version"])
    assert (CHART / "templates" / "NOTES.txt").is_file()
    assert (CHART / "templates" / "_helpers.tpl").is_file()
