"""The entry point takes the chart's arguments and hands kopf the right scope."""

from __future__ import annotations

from unittest import mock

import kopf
import pytest
from movierecs_operator import main as entry


def test_chart_arguments_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOVIERECS_OPERATOR_TICK_SECONDS", "2")
    with mock.patch.object(kopf, "run") as run, mock.patch.object(kopf, "configure"):
        entry.main(["--standalone", "--namespace=movierecs", "--liveness=http://0.0.0.0:8080/healthz"])
    kwargs = run.call_args.kwargs
    assert kwargs["standalone"] is True
    assert kwargs["clusterwide"] is False
    assert kwargs["namespaces"] == ["movierecs"]
    assert kwargs["liveness_endpoint"] == "http://0.0.0.0:8080/healthz"
    timers = list(kwargs["registry"]._spawning.get_all_handlers())
    assert [(h.id, h.interval) for h in timers] == [("reconcile", 2.0)]


def test_all_namespaces() -> None:
    args = entry.parse_args(["-A"])
    assert args.all_namespaces
    assert args.namespace == []


def test_a_scope_is_required() -> None:
    with pytest.raises(SystemExit):
        entry.parse_args(["--standalone"])
