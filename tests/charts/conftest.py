"""Fixtures for the chart tests: Helm v4 from .tools/bin (installed on demand), staged offline
copies of charts/movierecs and charts/movierecs-operators (see chart_offline.py), and the
rendered objects of each profile."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from chart_checks import Obj
from chart_offline import CHART, OPERATORS_CHART, OPERATORS_PROFILES, PROFILES, ensure_helm, stage, template


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    return ensure_helm()


@pytest.fixture(scope="session")
def staged_chart(helm_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """charts/movierecs with files/dags/ refreshed from dags/ (it has no dependency to stand in for)."""
    return stage(tmp_path_factory.mktemp("chart"), CHART)


@pytest.fixture(scope="session")
def staged_operators_chart(helm_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """charts/movierecs-operators with an empty placeholder subchart for each missing dependency."""
    return stage(tmp_path_factory.mktemp("operators"), OPERATORS_CHART)


@pytest.fixture(scope="session")
def chart_for(staged_chart: Path, staged_operators_chart: Path) -> Callable[[str], Path]:
    """chart_for(profile) -> the staged chart that profile belongs to."""
    return lambda profile: staged_operators_chart if profile in OPERATORS_PROFILES else staged_chart


@pytest.fixture(scope="session")
def render(chart_for: Callable[[str], Path]) -> Callable[..., list[Obj]]:
    """render(profile, *extra_helm_args) -> rendered objects (CRDs included), cached."""

    @functools.cache
    def _render(profile: str = "default", *extra: str) -> list[Obj]:
        out = template(chart_for(profile), profile, *extra)
        return [doc for doc in yaml.safe_load_all(out) if doc]

    return _render


@pytest.fixture(scope="session", params=sorted(PROFILES | OPERATORS_PROFILES))
def profile(request: pytest.FixtureRequest) -> str:
    return request.param


APP_PROFILES = ["default", "kind", "production"]


@pytest.fixture(scope="session", params=APP_PROFILES)
def app_profile(request: pytest.FixtureRequest) -> str:
    return request.param
