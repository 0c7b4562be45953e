"""Log pipeline (checked statically: no Alloy or Loki server here): JSON app logs -> Alloy -> Loki.

The Alloy config lives in charts/movierecs-operators/values.yaml (the operators release). It must parse the
JSON fields the app writes (src/movierecs/logs.py) and keep Loki labels low-cardinality: user_id and
request_id travel as structured metadata, never as labels.
"""

from __future__ import annotations

import io
import json
import logging
import re
from typing import Any

import pytest
import yaml
from observability_helpers import CHART

from movierecs import logs

OPERATORS_VALUES = CHART.parent / "movierecs-operators" / "values.yaml"
PER_REQUEST_FIELDS = {"request_id", "user_id", "model_version"}
ALLOWED_LABELS = {"namespace", "pod", "container", "app", "level"}


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(OPERATORS_VALUES.read_text())
    return data


@pytest.fixture(scope="module")
def alloy(values: dict[str, Any]) -> str:
    assert values["alloy"]["enabled"]
    content: str = values["alloy"]["alloy"]["configMap"]["content"]
    return content


def _block(config: str, header: str) -> str:
    """The body of the first ``header { ... }`` block (balanced braces)."""
    start = config.index(header)
    i = config.index("{", start)
    depth = 0
    for j in range(i, len(config)):
        depth += {"{": 1, "}": -1}.get(config[j], 0)
        if depth == 0:
            return config[i + 1 : j]
    raise AssertionError(f"unbalanced block {header}")


def _keys(block: str) -> set[str]:
    return set(re.findall(r"(\w+)\s*=", block))


def test_loki_and_alloy_are_enabled_together(values: dict[str, Any]) -> None:
    assert values["loki"]["enabled"]
    assert values["loki"]["loki"]["limits_config"]["allow_structured_metadata"] is True
    (loki_ds,) = [d for d in values["kube-prometheus-stack"]["grafana"]["additionalDataSources"] if d["type"] == "loki"]
    assert loki_ds["url"].startswith("http://movierecs-operators-loki.")


def test_alloy_config_is_balanced(alloy: str) -> None:
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', alloy)
    assert without_strings.count("{") == without_strings.count("}")


def test_alloy_pipeline_pods_to_process_to_loki(alloy: str) -> None:
    source = _block(alloy, 'loki.source.kubernetes "pods"')
    assert "discovery.relabel.pods.output" in source
    assert "loki.process.movierecs.receiver" in source
    assert "loki.write.default.receiver" in _block(alloy, 'loki.process "movierecs"')
    assert "/loki/api/v1/push" in _block(alloy, 'loki.write "default"')


def test_alloy_parses_the_json_fields(alloy: str) -> None:
    process = _block(alloy, 'loki.process "movierecs"')
    expressions = _keys(_block(process, "expressions ="))
    assert expressions >= PER_REQUEST_FIELDS | {"level"}
    metadata = _keys(_block(_block(process, "stage.structured_metadata"), "values ="))
    assert metadata >= PER_REQUEST_FIELDS


def test_loki_labels_stay_low_cardinality(alloy: str) -> None:
    labels = set(re.findall(r'target_label\s*=\s*"(\w+)"', alloy))
    for block in re.finditer(r"stage\.labels", alloy):
        labels |= _keys(_block(_block(alloy[block.start() :], "stage.labels"), "values ="))
    assert "level" in labels
    assert labels <= ALLOWED_LABELS, f"high-cardinality Loki labels: {sorted(labels - ALLOWED_LABELS)}"
    assert not labels & PER_REQUEST_FIELDS


def test_app_log_lines_carry_the_fields_alloy_extracts(alloy: str) -> None:
    """One line as the API writes it (configure_logging + context vars) has every key Alloy reads."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    try:
        logs.configure_logging("INFO", json_logs=True)
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        tokens = (logs.request_id.set("r-1"), logs.user_id.set(42), logs.model_version.set("7"))
        try:
            logging.getLogger("movierecs.test").info("served")
        finally:
            logs.request_id.reset(tokens[0])
            logs.user_id.reset(tokens[1])
            logs.model_version.reset(tokens[2])
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    line = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert line["message"] == "served"
    assert (line["request_id"], line["user_id"], line["model_version"], line["level"]) == ("r-1", 42, "7", "INFO")
    extracted = _keys(_block(_block(alloy, 'loki.process "movierecs"'), "expressions ="))
    assert extracted <= set(line), f"Alloy reads fields the app never writes: {sorted(extracted - set(line))}"
