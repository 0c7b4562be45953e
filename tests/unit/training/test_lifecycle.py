"""Promotion and rollback (training.lifecycle) against an in-memory ModelRegistry.

The gate's scoring runs against MLflow and ml-100k in tests/cli/test_commands.py; here the candidate
carries a logged evaluation (as `movierecs evaluate --version` leaves it) and only the decision, what
is recorded and the alias moves are checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from movierecs.exceptions import DataError
from movierecs.ports import AliasMove, ModelRegistry, RegisteredVersion, TrainingData
from movierecs.training.lifecycle import EVALUATION_TAG, GateEvaluation, promote, rollback


class MemoryRegistry:
    """A unit-test double of :class:`ModelRegistry`: versions, aliases with history, annotations."""

    def __init__(self) -> None:
        self.versions: dict[str, RegisteredVersion] = {}
        self.aliases: dict[str, str] = {}
        self.history: list[AliasMove] = []
        self.files: dict[str, dict[str, str | bytes]] = {}

    def log_training(
        self,
        bundle_dir: Path,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        plots: Mapping[str, Path] | None = None,
        tags: Mapping[str, str] | None = None,
        register: bool = True,
        artifacts: Mapping[str, Path] | None = None,
        dataset: TrainingData | None = None,
    ) -> RegisteredVersion:
        version = str(len(self.versions) + 1)
        self.versions[version] = RegisteredVersion(version, f"run-{version}", dict(metrics), dict(tags or {}))
        return self.versions[version]

    def version_for_alias(self, alias: str) -> RegisteredVersion | None:
        return self.versions[self.aliases[alias]] if alias in self.aliases else None

    def get_version(self, version: str) -> RegisteredVersion:
        return self.versions[version]

    def latest_version(self) -> RegisteredVersion | None:
        return self.versions[max(self.versions, key=int)] if self.versions else None

    def set_alias(self, alias: str, version: str, reason: str = "") -> None:
        self.history.append(AliasMove(alias, version, self.aliases.get(alias), reason, "2024-01-01T00:00:00"))
        self.aliases[alias] = version

    def alias_history(self, alias: str) -> list[AliasMove]:
        return [m for m in self.history if m.alias == alias]

    def annotate(
        self, version: str, metrics: Mapping[str, float], tags: Mapping[str, str], files: Mapping[str, str | bytes]
    ) -> None:
        old = self.versions[version]
        self.versions[version] = RegisteredVersion(
            version, old.run_id, old.metrics | dict(metrics), old.tags | dict(tags)
        )
        self.files.setdefault(version, {}).update(files)

    def download(self, uri: str, dest: Path | None = None) -> tuple[Path, str | None]:
        raise NotImplementedError


def _register(registry: MemoryRegistry, ndcg: float, champion: float | None = None) -> str:
    """A version whose logged gate evaluation (against the current champion) scored ``ndcg``."""
    version = registry.log_training(Path("."), {}, {}).version
    current = registry.version_for_alias("champion")
    evaluation = GateEvaluation(
        version, current.version if current else None, "holdout" if current else None,
        "2024-01-08T00:00:00", "2024-01-10T00:00:00", 500, 100, ndcg, champion, 0.05,
    )  # fmt: skip
    registry.annotate(version, {}, {EVALUATION_TAG: json.dumps(asdict(evaluation))}, {})
    return version


def test_the_double_is_a_model_registry() -> None:
    registry: ModelRegistry = MemoryRegistry()  # mypy checks the protocol here
    assert registry.latest_version() is None


def test_nothing_registered_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="movierecs train"):
        promote(MemoryRegistry(), None, version=None, alias="champion")


def test_first_version_is_promoted_then_a_worse_one_refused_and_forced() -> None:
    registry = MemoryRegistry()
    first = _register(registry, 0.20)
    done = promote(registry, None, version=None, alias="champion")
    assert (done.promoted, done.refused, done.version, done.previous) == (True, False, first, None)
    assert registry.aliases == {"champion": first}
    decision = json.loads(registry.files[first]["gate/decision.json"])
    assert decision["promoted"] is True
    assert decision["evaluation"]["candidate"] == 0.20

    worse = _register(registry, 0.10, champion=0.20)
    refused = promote(registry, None, version=worse, alias="champion")
    assert (refused.promoted, refused.refused) == (False, True)
    assert registry.aliases == {"champion": first}  # the alias did not move
    assert registry.versions[worse].tags["gate.decision"] == "refused"
    assert refused.to_json()["evaluation"]["champion"] == 0.20

    forced = promote(registry, None, version=worse, alias="champion", force=True)
    assert forced.promoted
    assert registry.aliases == {"champion": worse}
    assert registry.history[-1].reason.startswith("promote: forced")


def test_an_evaluation_against_another_champion_is_not_reused() -> None:
    registry = MemoryRegistry()
    promote(registry, None, version=_register(registry, 0.20), alias="champion")
    stale = _register(registry, 0.30)  # evaluated against champion 1 ...
    registry.aliases["champion"] = stale  # ... then the alias moved elsewhere
    third = registry.log_training(Path("."), {}, {}).version
    registry.annotate(third, {}, {EVALUATION_TAG: registry.versions[stale].tags[EVALUATION_TAG]}, {})
    with pytest.raises(DataError, match="evaluate --version"):
        promote(registry, None, version=third, alias="champion")


def test_promoting_the_current_champion_is_a_no_op() -> None:
    registry = MemoryRegistry()
    version = _register(registry, 0.2)
    promote(registry, None, version=version, alias="champion")
    again = promote(registry, None, version=version, alias="champion")
    assert (again.promoted, again.refused) == (False, False)
    assert "already holds" in again.reason
    assert [m.version for m in registry.history] == [version]


def test_within_tolerance_is_promoted() -> None:
    registry = MemoryRegistry()
    promote(registry, None, version=_register(registry, 0.200), alias="champion")
    close = _register(registry, 0.199, champion=0.200)
    assert promote(registry, None, version=close, alias="champion", tolerance=0.02).promoted
    worse = _register(registry, 0.150, champion=0.199)
    assert not promote(registry, None, version=worse, alias="champion", tolerance=0.02).promoted


def test_rollback_goes_to_the_previous_version_and_records_why() -> None:
    registry = MemoryRegistry()
    one = _register(registry, 0.2)
    promote(registry, None, version=one, alias="champion")
    two = _register(registry, 0.25, champion=0.2)
    promote(registry, None, version=two, alias="champion")
    back = rollback(registry, alias="champion", reason="CTR dropped 30%")
    assert (back.version, back.previous) == (one, two)
    assert registry.aliases["champion"] == one
    assert registry.versions[two].tags["rollback.reason"] == "CTR dropped 30%"
    assert registry.history[-1] == AliasMove(
        "champion", one, two, "rollback from 2: CTR dropped 30%", registry.history[-1].at
    )
    # rolling back again goes to what preceded version 1: nothing
    with pytest.raises(DataError, match="--to"):
        rollback(registry, alias="champion", reason="again")
    assert rollback(registry, alias="champion", reason="fixed", to=two).version == two


def test_rollback_needs_a_reason_and_a_champion() -> None:
    registry = MemoryRegistry()
    with pytest.raises(DataError, match="reason"):
        rollback(registry, alias="champion", reason=" ")
    with pytest.raises(DataError, match="points to no version"):
        rollback(registry, alias="champion", reason="why")
