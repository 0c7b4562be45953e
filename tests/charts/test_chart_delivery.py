"""The ModelDeployment CRD and CR, the Airflow DAG ConfigMap, the Dockerfile, kind, skaffold,
manifests/ and the Makefile targets."""

from __future__ import annotations

import re
import shutil
import subprocess
import warnings

import kubernetes_validate
import pytest
import yaml
from chart_checks import K8S_VERSION, by_kind
from chart_offline import CHART, DAGS, OPERATORS_CHART, REPO

CRD = yaml.safe_load((CHART / "crds" / "modeldeployments.movierecs.io.yaml").read_text())


# ---------- ModelDeployment ----------


def test_crd_shape() -> None:
    spec = CRD["spec"]
    assert (spec["group"], spec["names"]["kind"], spec["scope"]) == ("movierecs.io", "ModelDeployment", "Namespaced")
    (version,) = spec["versions"]
    assert version["name"] == "v1alpha1"
    assert version["served"]
    assert version["storage"]
    assert version["subresources"] == {"status": {}}
    schema = version["schema"]["openAPIV3Schema"]["properties"]
    assert set(schema["spec"]["properties"]) == {
        "modelName", "alias", "registryUri", "targetDeployment", "pollSeconds", "rolloutDeadlineSeconds"
    }  # fmt: skip
    assert {"currentVersion", "conditions", "lastRolloutTime", "rejectedVersion"} <= set(schema["status"]["properties"])
    assert schema["status"]["properties"]["conditions"]["type"] == "array"
    columns = {c["name"]: c["jsonPath"] for c in version["additionalPrinterColumns"]}
    assert columns["Version"] == ".status.currentVersion"
    assert columns["Alias"] == ".spec.alias"
    kubernetes_validate.validate(CRD, K8S_VERSION, strict=True)


def test_model_deployment_targets_the_api(render) -> None:
    objs = render("default")
    (md,) = by_kind(objs, "ModelDeployment")
    api = next(d for d in by_kind(objs, "Deployment") if d["metadata"]["name"].endswith("-api"))
    mlflow = next(s for s in by_kind(objs, "Service") if s["metadata"]["name"].endswith("-mlflow"))
    assert md["spec"]["targetDeployment"] == api["metadata"]["name"]
    assert md["spec"]["registryUri"] == f"http://{mlflow['metadata']['name']}:{mlflow['spec']['ports'][0]['port']}"
    env = {e["name"]: e.get("value") for e in api["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert (md["spec"]["modelName"], md["spec"]["alias"]) == (env["MOVIERECS_MODEL_NAME"], env["MOVIERECS_MODEL_ALIAS"])


def test_api_environment_contract(render) -> None:
    api = next(d for d in by_kind(render("default"), "Deployment") if d["metadata"]["name"].endswith("-api"))
    container = api["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][:1] == ["serve"]
    env = {e["name"]: e for e in container["env"]}
    values = {k: v.get("value") for k, v in env.items()}
    assert values["OPENBLAS_NUM_THREADS"] == "1"
    assert values["MOVIERECS_HOME"] == "/tmp/movierecs"
    assert values["MOVIERECS_EVENT_BUS_URL"].startswith("kafka://")
    assert values["MOVIERECS_EVENT_BUS_URL"].endswith(":9092")
    # no password in any URL: the processes read CLICKHOUSE_PASSWORD / PGPASSWORD (Settings, #15)
    assert re.fullmatch(r"clickhouse://\w+@[\w.-]+:9000/\w+", values["MOVIERECS_INTERACTIONS_URL"])
    assert re.fullmatch(r"postgresql://\w+@[\w.-]+:5432/\w+", values["MOVIERECS_CATALOG_URL"])
    assert values["MLFLOW_TRACKING_URI"] == values["MLFLOW_REGISTRY_URI"]
    for name in ("PGPASSWORD", "MOVIERECS_ADMIN_TOKEN", "CLICKHOUSE_PASSWORD"):
        assert "secretKeyRef" in env[name]["valueFrom"], name
    assert "$(" not in values["MOVIERECS_INTERACTIONS_URL"] + values["MOVIERECS_CATALOG_URL"]


def test_ui_talks_to_the_api_service(render) -> None:
    objs = render("default")
    ui = next(d for d in by_kind(objs, "Deployment") if d["metadata"]["name"].endswith("-ui"))
    env = {e["name"]: e.get("value") for e in ui["spec"]["template"]["spec"]["containers"][0]["env"]}
    api_svc = next(s for s in by_kind(objs, "Service") if s["metadata"]["name"].endswith("-api"))
    assert env["MOVIERECS_API_URL"] == f"http://{api_svc['metadata']['name']}:{api_svc['spec']['ports'][0]['port']}"


# ---------- Airflow DAG delivery ----------


def test_dag_configmap_carries_the_repository_dags(render) -> None:
    dags = sorted(DAGS.glob("*.py"))
    if not dags:
        pytest.skip("no DAG in dags/ yet")
    cms = [c for c in by_kind(render("default"), "ConfigMap") if c["metadata"]["name"] == "movierecs-airflow-dags"]
    assert cms, "DAG ConfigMap not rendered"
    for dag in dags:
        assert cms[0]["data"][dag.name].rstrip("\n") == dag.read_text().rstrip("\n")
    values = yaml.safe_load((OPERATORS_CHART / "values.yaml").read_text())
    mounted = {v["configMap"]["name"] for v in values["airflow"]["volumes"] if "configMap" in v}
    assert "movierecs-airflow-dags" in mounted


def test_committed_dag_copy_is_current() -> None:
    """files/dags/ is the copy `helm package` ships; `make charts-lint` refreshes it. A stale copy
    is a warning, not a failure: the DAG's owner edits dags/, not charts/."""
    stale = [
        dag.name
        for dag in DAGS.glob("*.py")
        if not (CHART / "files" / "dags" / dag.name).is_file()
        or (CHART / "files" / "dags" / dag.name).read_bytes() != dag.read_bytes()
    ]
    if stale:
        warnings.warn(f"charts/movierecs/files/dags is stale for {stale}: run `make charts-lint`", stacklevel=1)


def test_retrain_service_account_matches_the_dag(render) -> None:
    dag = DAGS / "movierecs_retrain.py"
    if not dag.is_file():
        pytest.skip("no retrain DAG yet")
    match = re.search(r'^SERVICE_ACCOUNT\s*=\s*"([^"]+)"', dag.read_text(), re.M)
    if not match:
        pytest.skip("the DAG does not name a ServiceAccount")
    assert match.group(1) in {s["metadata"]["name"] for s in by_kind(render("default"), "ServiceAccount")}


# ---------- image ----------

DOCKERFILE = (REPO / "Dockerfile").read_text()


def test_dockerfile_shape() -> None:
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\w+))?", DOCKERFILE, re.M | re.I)
    assert len(stages) >= 2, "multi-stage build expected"
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", DOCKERFILE, re.M)
    assert re.search(r"pip install -c constraints\.txt", DOCKERFILE)
    assert re.search(r"^USER 10001(:10001)?$", DOCKERFILE, re.M)
    assert "OPENBLAS_NUM_THREADS=1" in DOCKERFILE
    assert re.search(r'^ENTRYPOINT \["movierecs"\]', DOCKERFILE, re.M)
    runtime = DOCKERFILE[DOCKERFILE.rfind("\nFROM ") :]
    assert "COPY --from=builder /opt/venv /opt/venv" in runtime
    assert "pip install" not in runtime, "the runtime stage must not build anything"
    assert "HOME=/tmp/movierecs" in runtime
    assert "MPLCONFIGDIR=/tmp" in runtime


def test_dockerignore_keeps_the_context_small() -> None:
    lines = [
        ln.strip() for ln in (REPO / ".dockerignore").read_text().splitlines() if ln.strip() and not ln.startswith("#")
    ]
    assert lines[0] == "**"
    assert {"!pyproject.toml", "!constraints.txt", "!src/"} <= set(lines)


def test_hadolint() -> None:
    hadolint = REPO / ".tools" / "bin" / "hadolint"
    binary = str(hadolint) if hadolint.is_file() else shutil.which("hadolint")
    if not binary:
        pytest.skip("hadolint not installed (scripts/install-helm.sh --with-hadolint)")
    proc = subprocess.run([binary, str(REPO / "Dockerfile")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------- kind, skaffold, manifests, Makefile ----------


def test_kind_config_maps_ingress_ports() -> None:
    cfg = yaml.safe_load((REPO / "kind-config.yaml").read_text())
    assert cfg["kind"] == "Cluster"
    assert cfg["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    ingress_nodes = [
        n for n in cfg["nodes"] if any("ingress-ready=true" in p for p in n.get("kubeadmConfigPatches", []))
    ]
    assert ingress_nodes
    ports = {(m["containerPort"], m["hostPort"]) for m in ingress_nodes[0]["extraPortMappings"]}
    assert {(80, 80), (443, 443)} <= ports


def test_skaffold_builds_and_deploys_with_kind_profile() -> None:
    cfg = yaml.safe_load((REPO / "skaffold.yaml").read_text())
    assert cfg["apiVersion"].startswith("skaffold/v4")
    assert cfg["build"]["artifacts"][0]["docker"]["dockerfile"] == "Dockerfile"
    kind = next(p for p in cfg["profiles"] if p["name"] == "kind")
    releases = kind["deploy"]["helm"]["releases"]
    app = next(r for r in releases if r["name"] == "movierecs")
    assert app["chartPath"] == "charts/movierecs"
    assert "charts/movierecs/values-kind.yaml" in app["valuesFiles"]
    names = [r["name"] for r in releases]
    assert names.index("movierecs-operators") < names.index("movierecs"), "operators (CRDs, webhooks) first"
    operators = next(r for r in releases if r["name"] == "movierecs-operators")
    assert operators["chartPath"] == "charts/movierecs-operators"
    assert not operators.get("skipBuildDependencies"), "skaffold must fetch the operators chart's dependencies"
    for release in [*releases, *cfg["deploy"]["helm"]["releases"]]:
        for values_file in release.get("valuesFiles", []):
            assert (REPO / values_file).is_file(), values_file


def test_manifests_validate() -> None:
    for path in (REPO / "manifests").rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") != "Kustomization":
                kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_makefile_targets() -> None:
    makefile = (REPO / "Makefile").read_text()
    for target in ("cluster-up", "cluster-down", "charts-lint"):
        assert re.search(rf"^{target}:", makefile, re.M), target
    assert "kind create cluster" in makefile
    up = makefile[makefile.index("\ncluster-up:") : makefile.index("\ncluster-down:")]
    assert "values-operators.yaml" not in makefile
    assert up.index("movierecs-operators $(OPERATORS_CHART)") < up.index("movierecs $(CHART)")
    assert "dependency update $(OPERATORS_CHART)" in up
    assert "kind delete cluster" in makefile
    assert (REPO / "docs" / "deploy.md").is_file()
