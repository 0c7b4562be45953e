"""`helm upgrade` from the last release (stored render, tests/charts/release_render.py) to the chart
as it is now: no change to a field Kubernetes refuses to change in place, every served CRD version
kept, and a greater Chart.yaml version whenever what the chart renders changed."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml
from chart_offline import CHART, PROFILES, REPO
from release_render import render_chart, stored

RELEASE = stored()


def _semver(text: str) -> tuple[int, int, int]:
    major, minor, patch = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", text).groups()
    return int(major), int(minor), int(patch)


@pytest.fixture(scope="module")
def current(helm_bin: Path) -> dict:
    return render_chart(CHART)


def _get(obj: dict, path: str):
    node = obj
    for part in path.split("."):
        node = (node or {}).get(part)
    return node


IMMUTABLE = {
    "Deployment": ["spec.selector"],
    "StatefulSet": ["spec.selector", "spec.serviceName", "spec.volumeClaimTemplates", "spec.podManagementPolicy"],
    "DaemonSet": ["spec.selector"],
    "Job": ["spec.selector", "spec.template"],
    "Service": ["spec.clusterIP"],
    "PersistentVolumeClaim": ["spec.accessModes", "spec.storageClassName", "spec.volumeMode"],
}


def _is_recreated_hook(obj: dict) -> bool:
    """Hooks deleted before they are created again are never updated in place."""
    annotations = obj["metadata"].get("annotations") or {}
    return "helm.sh/hook" in annotations and "before-hook-creation" in annotations.get("helm.sh/hook-delete-policy", "")


def upgrade_problems(old: dict[str, dict], new: dict[str, dict]) -> list[str]:
    """What `helm upgrade` from `old` to `new` (snapshots of one profile) would fail on."""
    problems = []
    for key, before in old.items():
        after = new.get(key)
        if not after or "object" not in before or "object" not in after:
            continue
        a, b = before["object"], after["object"]
        if _is_recreated_hook(a) or _is_recreated_hook(b):
            continue
        for path in IMMUTABLE.get(a["kind"], []):
            if _get(a, path) != _get(b, path):
                problems.append(f"{key}: {path} is immutable ({_get(a, path)!r} -> {_get(b, path)!r})")
        if a["kind"] == "CustomResourceDefinition":
            was = {v["name"]: v for v in a["spec"]["versions"] if v.get("served")}
            now = {v["name"]: v for v in b["spec"]["versions"]}
            for name in was:
                if name not in now or not now[name].get("served"):
                    problems.append(f"{key}: version {name} no longer served (stored objects use it)")
            for name in (v["name"] for v in a["spec"]["versions"] if v.get("storage")):
                if name not in now:
                    problems.append(f"{key}: former storage version {name} removed")
            if a["spec"]["group"] != b["spec"]["group"] or a["spec"]["names"]["kind"] != b["spec"]["names"]["kind"]:
                problems.append(f"{key}: group/kind changed")
    return problems


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_upgrade_from_the_last_release_keeps_immutable_fields(current, profile: str) -> None:
    problems = upgrade_problems(RELEASE["profiles"][profile], current[profile])
    assert not problems, f"upgrade from {RELEASE['version']} ({profile}):\n" + "\n".join(problems)


def test_upgrade_check_catches_immutable_changes() -> None:
    old = RELEASE["profiles"]["default"]
    deploy = next(k for k, v in old.items() if k.startswith("Deployment/") and "object" in v)
    svc = next(k for k, v in old.items() if k.startswith("Service/") and v["object"]["spec"].get("clusterIP") == "None")
    crd = next(k for k in old if k.startswith("CustomResourceDefinition/"))
    new = copy.deepcopy(old)
    new[deploy]["object"]["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] = "api"
    new[svc]["object"]["spec"].pop("clusterIP")
    new[crd]["object"]["spec"]["versions"][0]["name"] = "v1beta1"
    problems = "\n".join(upgrade_problems(old, new))
    assert f"{deploy}: spec.selector" in problems
    assert f"{svc}: spec.clusterIP" in problems
    assert "no longer served" in problems
    sts = {"kind": "StatefulSet", "metadata": {"name": "x"}, "spec": {"serviceName": "a", "volumeClaimTemplates": []}}
    moved = copy.deepcopy(sts)
    moved["spec"]["serviceName"] = "b"
    assert upgrade_problems({"StatefulSet/x": {"object": sts}}, {"StatefulSet/x": {"object": moved}})


def test_chart_version_is_bumped_when_the_render_changes(current) -> None:
    """CI rule: a chart whose render differs from the last release's needs a greater version."""
    version = str(yaml.safe_load((CHART / "Chart.yaml").read_text())["version"])
    assert _semver(version) >= _semver(RELEASE["version"]), "Chart.yaml's version went backwards"
    changed = sorted(
        f"{profile}: {key}"
        for profile, objs in current.items()
        for key in set(objs) | set(RELEASE["profiles"][profile])
        if (objs.get(key) or {}).get("digest") != (RELEASE["profiles"][profile].get(key) or {}).get("digest")
    )
    if changed:
        assert _semver(version) > _semver(RELEASE["version"]), (
            f"charts/movierecs renders differently from release {RELEASE['version']} but Chart.yaml still says "
            f"{version}: bump it (changed: {changed[:10]}{' ...' if len(changed) > 10 else ''})"
        )


def test_crds_are_upgraded_by_a_documented_step() -> None:
    """Helm installs crds/ once and never upgrades it: docs/deploy.md applies it before `helm upgrade`."""
    deploy = (REPO / "docs" / "deploy.md").read_text()
    assert list((CHART / "crds").glob("*.yaml"))
    upgrade = deploy[deploy.index("## Upgrade") :]
    assert "kubectl apply --server-side" in upgrade
    assert "charts/movierecs/crds/" in upgrade
    assert upgrade.index("kubectl apply --server-side") < upgrade.index("helm upgrade")
    assert "release_render.py" in deploy, "how to refresh the stored release render"
