"""The layering of src/movierecs (docs/architecture.md), read from every module's imports.

Lazy (function-level) and TYPE_CHECKING imports count: an import that only runs sometimes is still
a dependency.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "movierecs"
MAX_LINES = 400
DRIVERS = ("aiokafka", "clickhouse_driver", "asyncpg", "chdb")
# packages below the composition root: they receive ports and never build an adapter
CORE = ("serving", "training", "streaming", "models", "domain", "evaluation")


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    return path.relative_to(PACKAGE.parent).with_suffix("").as_posix().replace("/", ".")


@cache
def _imports(path: Path) -> frozenset[str]:
    """Every module name ``path`` imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(names)


def _offenders(in_scope: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in in_scope:
        bad = sorted(n for n in _imports(path) if any(n == f or n.startswith(f + ".") for f in forbidden))
        if bad:
            out.append(f"{_name(path)}: {', '.join(bad)}")
    return out


def _under(*packages: str) -> list[Path]:
    return [p for p in _modules() if _name(p).split(".")[1] in packages]


def test_the_imports_are_read_from_real_modules() -> None:
    # the checks below would pass vacuously on an empty tree
    assert len(_modules()) > 50
    assert "movierecs.adapters.kafka" in _imports(PACKAGE / "composition.py")


@pytest.mark.parametrize("package", CORE)
def test_core_packages_import_no_adapter_and_not_the_composition_root(package: str) -> None:
    assert _offenders(_under(package), ("movierecs.adapters", "movierecs.composition")) == []


def test_adapters_are_built_only_in_the_composition_root() -> None:
    outside = [p for p in _modules() if not _name(p).startswith("movierecs.adapters") and p.name != "composition.py"]
    assert _offenders(outside, ("movierecs.adapters",)) == []


def test_drivers_are_imported_only_by_adapters() -> None:
    outside = [p for p in _modules() if not _name(p).startswith("movierecs.adapters")]
    assert _offenders(outside, DRIVERS) == []


def test_mlflow_only_in_adapters_and_run_tracking() -> None:
    outside = [p for p in _modules() if _name(p).split(".")[1] not in ("adapters", "training")]
    assert _offenders(outside, ("mlflow",)) == []


def test_models_do_not_depend_on_data_loading() -> None:
    assert _offenders(_under("models"), ("movierecs.data",)) == []


def test_domain_is_pure() -> None:
    allowed = ("movierecs.domain", "movierecs.columns", "movierecs.exceptions")
    impure = []
    for path in _under("domain"):
        own = sorted(n for n in _imports(path) if n.startswith("movierecs") and not n.startswith(allowed))
        if own:
            impure.append(f"{_name(path)}: {', '.join(own)}")
    assert impure == []
    assert _offenders(_under("domain"), ("httpx", "requests", "socket", "sqlite3", "fastapi")) == []


def test_streaming_talks_to_a_port_not_a_broker() -> None:
    assert _offenders(_under("streaming"), ("aiokafka", "kafka")) == []


def test_no_module_is_over_400_lines() -> None:
    long = {_name(p): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}
