"""Fixtures for the chart tests: Helm v4 from .tools/bin (installed on demand), a staged offline
copy of charts/movierecs (see chart_offline.py), and the rendered objects of each profile."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from chart_checks import Obj
from chart_offline import PROFILES, ensure_helm, stage, template


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    return ensure_helm()


@pytest.fixture(scope="session")
def staged_chart(helm_bin: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stage(tmp_path_factory.mktemp("chart"))


@pytest.fixture(scope="session")
def render(staged_chart: Path) -> Callable[..., list[Obj]]:
    """render(profile, *extra_helm_args) -> rendered objects (CRDs included), cached."""

    @functools.cache
    def _render(profile: str = "default", *extra: str) -> list[Obj]:
        out = template(staged_chart, profile, *extra)
        return [doc for doc in yaml.safe_load_all(out) if doc]

    return _render


@pytest.fixture(scope="session", params=sorted(PROFILES))
def profile(request: pytest.FixtureRequest) -> str:
    return request.param


APP_PROFILES = ["default", "kind", "production"]


@pytest.fixture(scope="session", params=APP_PROFILES)
def app_profile(request: pytest.FixtureRequest) -> str:
    return request.param
