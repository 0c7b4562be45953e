"""The gate and the alias move (training.lifecycle.promote) against an in-memory ModelRegistry.

The same function runs against MLflow in tests/cli/test_commands.py (train, promote, refuse, force).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from movierecs.exceptions import DataError
from movierecs.ports import ModelRegistry, RegisteredVersion
from movierecs.training.lifecycle import promote


class MemoryRegistry:
    """A unit-test double of :class:`ModelRegistry`: versions with metrics, and aliases."""

    def __init__(self) -> None:
        self.versions: dict[str, RegisteredVersion] = {}
        self.aliases: dict[str, str] = {}
        self.moves: list[tuple[str, str]] = []

    def log_training(
        self,
        bundle_dir: Path,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        plots: Mapping[str, Path] | None = None,
        tags: Mapping[str, str] | None = None,
        register: bool = True,
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

    def set_alias(self, alias: str, version: str) -> None:
        self.aliases[alias] = version
        self.moves.append((alias, version))

    def download(self, uri: str, dest: Path | None = None) -> tuple[Path, str | None]:
        raise NotImplementedError


def _register(registry: MemoryRegistry, ndcg: float) -> str:
    return registry.log_training(Path("."), {}, {"ndcg_at_10": ndcg, "baseline.ndcg_at_10": 0.05}).version


def test_the_double_is_a_model_registry() -> None:
    registry: ModelRegistry = MemoryRegistry()  # mypy checks the protocol here
    assert registry.latest_version() is None


def test_nothing_registered_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="movierecs train"):
        promote(MemoryRegistry(), version=None, alias="champion")


def test_first_version_is_promoted_then_a_worse_one_refused_and_forced() -> None:
    registry = MemoryRegistry()
    first = _register(registry, 0.20)
    done = promote(registry, version=None, alias="champion")
    assert (done.promoted, done.refused, done.version) == (True, False, first)
    assert registry.aliases == {"champion": first}

    worse = _register(registry, 0.10)
    refused = promote(registry, version=worse, alias="champion")
    assert (refused.promoted, refused.refused) == (False, True)
    assert registry.aliases == {"champion": first}  # the alias did not move

    forced = promote(registry, version=worse, alias="champion", force=True)
    assert forced.promoted
    assert registry.aliases == {"champion": worse}


def test_promoting_the_current_champion_is_a_no_op() -> None:
    registry = MemoryRegistry()
    version = _register(registry, 0.2)
    promote(registry, version=version, alias="champion")
    again = promote(registry, version=version, alias="champion")
    assert (again.promoted, again.refused) == (False, False)
    assert "already holds" in again.reason
    assert registry.moves == [("champion", version)]


def test_within_tolerance_is_promoted() -> None:
    registry = MemoryRegistry()
    promote(registry, version=_register(registry, 0.200), alias="champion")
    close = _register(registry, 0.199)
    assert promote(registry, version=close, alias="champion", tolerance=0.02).promoted
    assert not promote(registry, version=_register(registry, 0.150), alias="champion", tolerance=0.02).promoted
