"""Run the ``movierecs`` entry point in-process, with the data dir on the shared MovieLens copy."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

ENV_TO_CLEAR = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MOVIERECS_MLFLOW_TRACKING_URI",
                "MOVIERECS_MLFLOW_REGISTRY_URI", "MOVIERECS_MODEL_URI", "MOVIERECS_INTERACTIONS_URL",
                "MOVIERECS_CATALOG_URL", "MOVIERECS_DOWNLOAD_BASE_URL")  # fmt: skip


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


Cli = Callable[..., Result]


def setup_env(mp: pytest.MonkeyPatch, data_dir: Path, home: Path) -> None:
    for name in ENV_TO_CLEAR:
        mp.delenv(name, raising=False)
    mp.setenv("MOVIERECS_DATA_DIR", str(data_dir))
    mp.setenv("MOVIERECS_HOME", str(home))
    mp.setenv("MOVIERECS_LOG_JSON", "false")
    mp.setenv("MOVIERECS_LOG_LEVEL", "WARNING")
    mp.setenv("OPENBLAS_NUM_THREADS", "1")


def run_main(*args: str) -> Result:
    """``movierecs ARGS`` through :func:`movierecs.cli.main`: named errors become exit codes 2 and 3."""
    from movierecs.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_argv = sys.argv
    sys.argv = ["movierecs", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = old_argv
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli(ml100k_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    setup_env(monkeypatch, ml100k_dir, tmp_path / "home")
    return run_main


@pytest.fixture(scope="session")
def bundle_dir(ml100k_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``movierecs train --dataset ml-100k --output-dir D --no-register``, once per session."""
    root = tmp_path_factory.mktemp("train")
    with pytest.MonkeyPatch.context() as mp:
        setup_env(mp, ml100k_dir, root / "home")
        result = run_main("train", "--dataset", "ml-100k", "--output-dir", str(root / "bundle"), "--no-register")
    assert result.code == 0, result.err
    assert "hybrid" in result.out  # the evaluation table is printed
    return root / "bundle"
