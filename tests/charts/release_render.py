"""The last released charts/movierecs, rendered and stored, so upgrades can be checked offline.

`helm upgrade` from the last release must not change fields Kubernetes refuses to change in place
(Deployment/StatefulSet selectors, StatefulSet volumeClaimTemplates and serviceName, Service
clusterIP, Job templates, PVC access modes / class), must keep every CRD version that stored
objects may use, and any change to what the chart renders needs a greater Chart.yaml version.
test_chart_upgrade.py compares the current render with the snapshot stored here.

The snapshot (tests/charts/release/movierecs-<version>.json) holds, per profile (default, kind,
production) and per object, a digest of the normalised object and, for the kinds with immutable
fields, the object itself. Normalised: the `helm.sh/chart` label (it carries the version) is
dropped, Secret data is reduced to its keys (random values), and the Airflow DAG ConfigMap's data is
left out (a copy of dags/, tested by tests/dags, shipped by whatever chart version is current).

Refresh it when a chart version is released (after bumping Chart.yaml's version and committing):
    .venv/bin/python tests/charts/release_render.py [GIT_REF]      # default HEAD
It renders `git archive GIT_REF charts/movierecs` with each profile and replaces the stored file.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import yaml
from chart_offline import PROFILES, REPO, template

STORE = Path(__file__).resolve().parent / "release"
KEEP_WHOLE = {
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Service",
    "Job",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
}
DAG_CONFIGMAP = "movierecs-airflow-dags"

Obj = dict[str, Any]


def normalise(obj: Obj) -> Obj:
    obj = copy.deepcopy(obj)

    def strip(node: Any) -> None:
        if isinstance(node, dict):
            labels = node.get("labels")
            if isinstance(labels, dict):
                labels.pop("helm.sh/chart", None)
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    strip(obj)
    if obj.get("kind") == "Secret":
        obj["data"] = dict.fromkeys(sorted(obj.get("data") or {}), "")
    if obj.get("kind") == "ConfigMap" and obj["metadata"]["name"] == DAG_CONFIGMAP:
        obj.pop("data", None)
    return obj


def key(obj: Obj) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def digest(obj: Obj) -> str:
    return hashlib.sha256(json.dumps(normalise(obj), sort_keys=True).encode()).hexdigest()


def snapshot(objs: list[Obj]) -> dict[str, Obj]:
    """key -> {"digest", "object"?} of one profile's render."""
    out: dict[str, Obj] = {}
    for obj in objs:
        entry: Obj = {"digest": digest(obj)}
        if obj["kind"] in KEEP_WHOLE:
            entry["object"] = normalise(obj)
        out[key(obj)] = entry
    return dict(sorted(out.items()))


def render_chart(chart: Path) -> dict[str, dict[str, Obj]]:
    return {
        profile: snapshot([o for o in yaml.safe_load_all(template(chart, profile)) if o])
        for profile in sorted(PROFILES)
    }


def stored() -> Obj:
    """The stored snapshot: {"chart", "version", "ref", "profiles"}."""
    (path,) = sorted(STORE.glob("movierecs-*.json"))
    return json.loads(path.read_text())


def main(argv: list[str]) -> int:
    ref = argv[0] if argv else "HEAD"
    commit = subprocess.run(
        ["git", "rev-parse", ref], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    archive = subprocess.run(["git", "archive", commit, "charts/movierecs"], cwd=REPO, capture_output=True, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        chart = Path(tmp) / "charts" / "movierecs"
        version = str(yaml.safe_load((chart / "Chart.yaml").read_text())["version"])
        profiles = render_chart(chart)
    STORE.mkdir(exist_ok=True)
    for old in STORE.glob("movierecs-*.json"):
        old.unlink()
    out = STORE / f"movierecs-{version}.json"
    doc = {"chart": "movierecs", "version": version, "ref": commit, "profiles": profiles}
    out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
