"""Defects that lint and schemas cannot see but a first real install hits (issue #16): each test
reads the chart's rendered objects or the operators chart's values against what the upstream chart
at the pinned version does with them (docs/deploy.md "What is verified here")."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from chart_checks import by_kind, pod_specs
from chart_offline import OPERATORS_CHART, REPO

OPS = yaml.safe_load((OPERATORS_CHART / "values.yaml").read_text())
AIRFLOW_VENV_PYTHON = REPO / ".venv-airflow" / "bin" / "python"
DAG_FOLDER = "/opt/airflow/dags"
# Where the operators release (kube-prometheus-stack) runs: docs/deploy.md, Makefile cluster-up.
OPERATORS_NAMESPACE = "movierecs-system"


def _airflow(values: dict) -> dict:
    return values["airflow"]


def _dag_configmap(objs: list[dict]) -> dict:
    (cm,) = [c for c in by_kind(objs, "ConfigMap") if c["metadata"]["name"] == "movierecs-airflow-dags"]
    return cm


# ---------- 1. Airflow's metadata database is the platform's CloudNativePG cluster ----------


def test_airflow_uses_the_platform_postgresql_not_its_bitnami_one(render) -> None:
    """Airflow chart 1.18.0 turns `postgresql.enabled` on by default, pulling
    bitnami/postgresql:16.1.0-debian-11-r15, removed from Docker Hub: the release never gets ready."""
    airflow = _airflow(OPS)
    assert airflow.get("postgresql", {}).get("enabled") is False, "the Airflow chart's Bitnami PostgreSQL is on"
    secret_name = (airflow.get("data") or {}).get("metadataSecretName")
    assert secret_name, "no data.metadataSecretName: Airflow has no database"
    objs = render("default")
    secrets = {s["metadata"]["name"]: s for s in by_kind(objs, "Secret")}
    assert secret_name in secrets, f"the movierecs release does not create {secret_name}"
    assert set(secrets[secret_name]["data"]) == {"connection"}  # the key the Airflow chart reads
    (cluster,) = by_kind(objs, "Cluster")
    (db,) = [d for d in by_kind(objs, "Database") if d["spec"]["name"] == "airflow"]
    assert db["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    roles = {r["name"]: r for r in cluster["spec"].get("managed", {}).get("roles", [])}
    owner = roles[db["spec"]["owner"]]
    assert owner["login"] is True
    assert owner["passwordSecret"]["name"] in secrets, "the role's password Secret is not rendered"
    assert secrets[owner["passwordSecret"]["name"]]["type"] == "kubernetes.io/basic-auth"


def test_airflow_database_can_be_turned_off(render) -> None:
    objs = render("default", "--set", "airflowDatabase.enabled=false")
    assert not by_kind(objs, "Database")
    assert "managed" not in by_kind(objs, "Cluster")[0]["spec"]


# ---------- 2. the DAG ConfigMap does not abort Airflow's DAG-folder walk ----------


def test_dag_folder_walk_skips_the_configmap_symlinks(render) -> None:
    """A ConfigMap volume holds `..data` -> `..<timestamp>/`; Airflow follows links while walking
    the DAG folder and aborts with "Detected recursive loop". Either every file is mounted with
    subPath, or the ConfigMap ships an .airflowignore (glob syntax pinned) that skips `..*`."""
    airflow = _airflow(OPS)
    dag_volumes = {
        v["name"] for v in airflow["volumes"] if v.get("configMap", {}).get("name") == "movierecs-airflow-dags"
    }
    whole_dir = [
        m
        for m in airflow["volumeMounts"]
        if m["name"] in dag_volumes and "subPath" not in m and m["mountPath"].startswith(DAG_FOLDER)
    ]
    if not whole_dir:
        return  # subPath mounts only: no ..data symlink in the DAG folder
    ignore = _dag_configmap(render("default"))["data"].get(".airflowignore", "")
    assert "..*" in ignore.split("\n"), (
        "the DAG ConfigMap is mounted as a directory without an .airflowignore for `..*`"
    )
    syntax = airflow.get("config", {}).get("core", {}).get("dag_ignore_file_syntax")
    assert syntax == "glob", "`..*` is a glob; as a regexp it would ignore every DAG"


@pytest.mark.skipif(not AIRFLOW_VENV_PYTHON.is_file(), reason="no .venv-airflow (scripts/test-dags.sh creates it)")
def test_airflow_walks_a_kubelet_style_configmap_volume(render, tmp_path: Path) -> None:
    """The real Airflow (.venv-airflow) walks a folder laid out like a kubelet ConfigMap volume."""
    data = _dag_configmap(render("default"))["data"]
    mount = tmp_path / "dags" / "movierecs"
    stamp = mount / "..2025_01_01_00_00_00.000000001"
    stamp.mkdir(parents=True)
    for key, text in data.items():
        (stamp / key).write_text(text)
        (mount / key).symlink_to(Path("..data") / key)
    (mount / "..data").symlink_to(stamp.name)
    syntax = _airflow(OPS).get("config", {}).get("core", {}).get("dag_ignore_file_syntax", "glob")
    script = (
        "import sys\n"
        "try:\n"
        "    from airflow._shared.module_loading import find_path_from_directory\n"
        "except ImportError:\n"
        "    from airflow.utils.file import find_path_from_directory\n"
        "print('\\n'.join(find_path_from_directory(sys.argv[1], '.airflowignore', sys.argv[2])))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "home"), "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [str(AIRFLOW_VENV_PYTHON), "-c", script, str(tmp_path / "dags"), syntax],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    found = {Path(p).name for p in proc.stdout.split()}
    assert {k for k in data if k.endswith(".py")} <= found


# ---------- 3. Alloy collects each container's logs once ----------


def test_alloy_collects_each_log_once() -> None:
    """Alloy's chart is a DaemonSet without clustering; `loki.source.kubernetes` over every pod of
    the cluster makes each Alloy pod tail every container (N copies of every line)."""
    alloy = OPS["alloy"]
    if alloy.get("alloy", {}).get("clustering", {}).get("enabled") or alloy.get("controller", {}).get("type") in {
        "deployment",
        "statefulset",
    }:
        assert alloy.get("controller", {}).get("replicas", 1) == 1 or alloy["alloy"]["clustering"]["enabled"]
        return
    env = {e["name"]: e for e in alloy["alloy"].get("extraEnv", [])}
    assert env.get("NODE_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "spec.nodeName", (
        "Alloy DaemonSet: NODE_NAME from the downward API is missing"
    )
    content = alloy["alloy"]["configMap"]["content"]
    keep = re.search(
        r'rule\s*\{[^}]*source_labels\s*=\s*\["__meta_kubernetes_pod_node_name"\][^}]*'
        r'regex\s*=\s*sys\.env\("NODE_NAME"\)[^}]*action\s*=\s*"keep"[^}]*\}',
        content,
    )
    assert keep, "each Alloy pod must keep only the pods of its own node"


# ---------- 4. Prometheus may scrape the metrics ports in production ----------


@pytest.mark.parametrize("profile", ["default", "kind", "production"])
def test_metrics_network_policies_admit_the_operators_prometheus(render, profile: str) -> None:
    objs = render(profile)
    metrics = [
        p
        for p in by_kind(objs, "NetworkPolicy")
        if any(port["port"] == "metrics" for rule in p["spec"]["ingress"] for port in rule["ports"])
        or p["metadata"]["name"].endswith("-metrics")
    ]
    assert len(metrics) >= 3  # api, consumer, operator
    for policy in metrics:
        selectors = [
            f["namespaceSelector"]["matchLabels"]
            for r in policy["spec"]["ingress"]
            for f in r["from"]
            if "namespaceSelector" in f
        ]
        assert {"kubernetes.io/metadata.name": OPERATORS_NAMESPACE} in selectors, policy["metadata"]["name"]


# ---------- 5. Loki deletes old logs ----------


def test_loki_retention_is_on() -> None:
    loki = OPS["loki"]["loki"]
    period = loki.get("limits_config", {}).get("retention_period", "0")
    assert re.fullmatch(r"[1-9]\d*[hdw]", str(period)), f"retention_period {period!r}: logs are kept forever"
    compactor = loki.get("compactor", {})
    assert compactor.get("retention_enabled") is True, "the compactor does not apply retention"
    # Loki 3 refuses to start with retention on and no delete-request store.
    assert compactor.get("delete_request_store") == loki["storage"]["type"]
    assert compactor.get("working_directory", "").startswith("/var/loki/"), "compactor state off the data volume"


# ---------- 6. ClickHouse runs on a read-only root filesystem ----------

# Paths the clickhouse-server image writes at start and run time (its entrypoint and config.xml).
CLICKHOUSE_WRITABLE = ["/var/lib/clickhouse", "/var/log/clickhouse-server", "/tmp"]


@pytest.mark.parametrize("profile", ["default", "production"])
def test_clickhouse_read_only_root_has_what_it_writes(render, profile: str) -> None:
    objs = render(profile)
    (chi,) = by_kind(objs, "ClickHouseInstallation")
    [(label, pod)] = list(pod_specs([chi]))
    (container,) = [c for c in pod["containers"] if c["name"] == "clickhouse"]
    if container["securityContext"].get("readOnlyRootFilesystem") is not True:
        pytest.fail(f"{label}: read-only root off; docs/deploy.md must say why")
    mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
    missing = [p for p in CLICKHOUSE_WRITABLE if p not in mounts]
    assert not missing, f"{label}: no writable volume at {missing}"
    claims = {t["name"] for t in chi["spec"]["templates"]["volumeClaimTemplates"]}
    assert mounts["/var/lib/clickhouse"] in claims, "data must be the PersistentVolumeClaim"
    # The image's entrypoint otherwise writes users.d/default-user.xml on the root filesystem
    # (the operator manages users and mounts users.d from a ConfigMap).
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    assert env.get("CLICKHOUSE_SKIP_USER_SETUP") == "1"
