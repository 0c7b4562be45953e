"""values.yaml, values.schema.json and Chart.yaml of both charts: documented, strict, pinned."""

from __future__ import annotations

import json
import re

import pytest
import yaml
from chart_offline import CHART, OPERATORS_CHART, dependencies
from jsonschema import Draft7Validator

SCHEMA = json.loads((CHART / "values.schema.json").read_text())
OPERATORS_SCHEMA = json.loads((OPERATORS_CHART / "values.schema.json").read_text())
DEP_NAMES = {
    "strimzi-kafka-operator",
    "altinity-clickhouse-operator",
    "cloudnative-pg",
    "kube-prometheus-stack",
    "loki",
    "alloy",
    "airflow",
}
CHARTS = pytest.mark.parametrize("chart", [CHART, OPERATORS_CHART], ids=lambda c: c.name)


def _schema(chart):
    return json.loads((chart / "values.schema.json").read_text())


@CHARTS
def test_schema_is_valid_and_accepts_every_profile(chart) -> None:
    schema = _schema(chart)
    Draft7Validator.check_schema(schema)
    validator = Draft7Validator(schema)
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    assert not list(validator.iter_errors(defaults))
    for path in chart.glob("values-*.yaml"):
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


@CHARTS
def test_schema_is_strict_at_every_object_level(chart) -> None:
    """additionalProperties: false everywhere, except string maps (labels, annotations,
    nodeSelector), Helm's `global` and the subchart blocks (their own schema validates them)."""
    dep_keys = {d["name"] for d in dependencies(chart)}
    problems = []
    for path, node in _objects(_schema(chart)):
        extra = node.get("additionalProperties")
        if extra is False:
            continue
        if extra == {"type": "string"} and not node.get("properties"):
            continue  # a map of strings: keys are free, values are typed
        if len(path) == 1 and (path[0] in dep_keys or path[0] == "global"):
            continue
        if len(path) == 3 and path[0] in dep_keys and path[2] == "[]":
            continue  # Kubernetes Volume/VolumeMount items of a subchart block, checked by the subchart
        problems.append(".".join(path) or "<root>")
    assert not problems, f"objects without additionalProperties: false: {problems}"


@CHARTS
def test_schema_covers_exactly_the_values(chart) -> None:
    defaults = yaml.safe_load((chart / "values.yaml").read_text())

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

    walk(defaults, _schema(chart), ())


def test_operators_schema_is_strict_at_the_top_only() -> None:
    assert OPERATORS_SCHEMA["additionalProperties"] is False
    assert set(OPERATORS_SCHEMA["required"]) == DEP_NAMES
    for name in DEP_NAMES:
        block = OPERATORS_SCHEMA["properties"][name]
        assert block["type"] == "object", name
        assert block["properties"]["enabled"] == {"type": "boolean"}, name
        assert block["additionalProperties"] is True, name
    validator = Draft7Validator(OPERATORS_SCHEMA)
    defaults = yaml.safe_load((OPERATORS_CHART / "values.yaml").read_text())
    for bad in ({**defaults, "foo": {}}, {**defaults, "loki": True}, {**defaults, "alloy": {"enabled": "yes"}}):
        assert list(validator.iter_errors(bad))


@pytest.mark.parametrize(
    "override",
    ["foo=bar", "api.foo=bar", "api.resources.requests.gpu=1", "kafka.topics.other.partitions=1"],
)
def test_unknown_key_is_rejected(render, override: str) -> None:
    with pytest.raises(RuntimeError, match=r"(?i)schema|additional"):
        render("default", "--set", override)


@pytest.mark.parametrize("override", ["foo=bar", "loki=3", "alloy.enabled=maybe", "api.enabled=false"])
def test_operators_chart_rejects_unknown_or_invalid_values(render, override: str) -> None:
    """Helm enforces the operators chart's schema (api.* belongs to the other chart now)."""
    with pytest.raises(RuntimeError, match=r"(?i)schema|additional|expected|mismatch"):
        render("operators", "--set", override)


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


@pytest.mark.parametrize(
    "values_file",
    [CHART / "values.yaml", OPERATORS_CHART / "values.yaml", OPERATORS_CHART / "values-airflow.yaml"],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_every_value_is_documented(values_file) -> None:
    """helm-docs style: each key carries a `# --` comment, on itself or on an enclosing key."""
    lines = values_file.read_text().splitlines()
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
    assert not dependencies(CHART), "charts/movierecs must render offline: no dependencies"
    deps = {d["name"]: d for d in dependencies(OPERATORS_CHART)}
    assert set(deps) == DEP_NAMES
    defaults = yaml.safe_load((OPERATORS_CHART / "values.yaml").read_text())
    airflow = _merge(defaults, yaml.safe_load((OPERATORS_CHART / "values-airflow.yaml").read_text()))
    for name, dep in deps.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", str(dep["version"])), f"{name}: version not pinned"
        assert dep["repository"].startswith("https://"), name
        assert dep["condition"] == f"{name}.enabled", name
        # the platform release installs the six operators/stacks; the Airflow release only Airflow
        assert defaults[name]["enabled"] is (name != "airflow"), name
        assert airflow[name]["enabled"] is (name == "airflow"), name


def test_the_two_charts_agree() -> None:
    """Names the operators chart hard-codes match the app chart's values."""
    app = yaml.safe_load((CHART / "values.yaml").read_text())
    ops = yaml.safe_load((OPERATORS_CHART / "values.yaml").read_text())
    mounted = {v["configMap"]["name"] for v in ops["airflow"]["volumes"] if "configMap" in v}
    assert app["airflowDags"]["configMapName"] in mounted
    kind = yaml.safe_load((CHART / "values-kind.yaml").read_text())
    assert kind["monitoring"]["labels"]["release"] == "movierecs-operators"
    assert kind["networkPolicy"]["monitoringNamespaceLabels"]["kubernetes.io/metadata.name"] == "movierecs-system"
    loki_url = "http://movierecs-operators-loki.movierecs-system.svc:3100"
    (loki_ds,) = [d for d in ops["kube-prometheus-stack"]["grafana"]["additionalDataSources"] if d["type"] == "loki"]
    assert loki_ds["url"] == loki_url
    assert f'"{loki_url}/loki/api/v1/push"' in ops["alloy"]["alloy"]["configMap"]["content"]


@CHARTS
def test_chart_metadata(chart) -> None:
    meta = yaml.safe_load((chart / "Chart.yaml").read_text())
    assert meta["apiVersion"] == "v2"
    assert meta["name"] == chart.name
    assert meta["type"] == "application"
    assert re.fullmatch(r"\d+\.\d+\.\d+", meta["version"])
    assert (chart / "templates" / "NOTES.txt").is_file()
    assert (chart / "README.md").is_file()
    if chart == CHART:
        assert (chart / "templates" / "_helpers.tpl").is_file()
