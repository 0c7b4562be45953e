"""Pod security, selectors, RBAC and secret handling of the rendered chart."""

from __future__ import annotations

import base64
import re

import yaml
from chart_checks import APP_UID, WORKLOAD_KINDS, by_kind, is_secret_key, pod_specs
from chart_offline import CHART, OPERATORS_CHART

SELECTOR_KEYS = {"app.kubernetes.io/name", "app.kubernetes.io/instance"}


def _effective(pod: dict, container: dict, key: str):
    """A securityContext field as the kubelet sees it: container value, else the pod's."""
    value = (container.get("securityContext") or {}).get(key)
    return value if value is not None else (pod.get("securityContext") or {}).get(key)


def test_every_pod_is_locked_down(render, app_profile: str) -> None:
    objs = render(app_profile)
    pods = list(pod_specs(objs))
    assert len(pods) >= 6  # 5 Deployments + the ClickHouse pod template
    # `helm test` pods run once and exit: probes would only race their own completion.
    one_shot = {
        f"Pod/{o['metadata']['name']}"
        for o in by_kind(objs, "Pod")
        if (o["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test"
    }
    problems = []
    for label, pod in pods:
        ours = not label.startswith("ClickHouseInstallation")
        for container in pod.get("initContainers", []) + pod["containers"]:
            where = f"{label}:{container['name']}"
            sc = container.get("securityContext") or {}
            if _effective(pod, container, "runAsNonRoot") is not True:
                problems.append(f"{where}: runAsNonRoot is not true")
            uid = _effective(pod, container, "runAsUser")
            if not uid or (ours and uid != APP_UID):
                problems.append(f"{where}: runAsUser {uid}")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: root filesystem is writable")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation is not false")
            if "ALL" not in (sc.get("capabilities") or {}).get("drop", []):
                problems.append(f"{where}: capabilities not dropped")
            if (sc.get("capabilities") or {}).get("add"):
                problems.append(f"{where}: capabilities added")
            seccomp = sc.get("seccompProfile") or (pod.get("securityContext") or {}).get("seccompProfile") or {}
            if seccomp.get("type") != "RuntimeDefault":
                problems.append(f"{where}: seccompProfile is not RuntimeDefault")
            if sc.get("privileged"):
                problems.append(f"{where}: privileged")
            resources = container.get("resources") or {}
            for part in ("requests", "limits"):
                for res in ("cpu", "memory"):
                    if not (resources.get(part) or {}).get(res):
                        problems.append(f"{where}: no {part}.{res}")
            for probe in ("livenessProbe", "readinessProbe"):
                if label not in one_shot and not container.get(probe):
                    problems.append(f"{where}: no {probe}")
        for flag in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(flag):
                problems.append(f"{label}: {flag}")
        if any("hostPath" in v for v in pod.get("volumes", [])):
            problems.append(f"{label}: hostPath volume")
    assert not problems, "\n".join(problems)


def test_read_only_root_has_writable_tmp(render) -> None:
    for label, pod in pod_specs(by_kind(render("default"), "Deployment")):
        mounts = {m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        assert "/tmp" in mounts, label
        env = {e["name"]: e.get("value") for e in pod["containers"][0].get("env", [])}
        assert env.get("HOME", "/tmp").startswith("/tmp"), label


def test_selectors_are_name_and_instance_only(render, app_profile: str) -> None:
    objs = render(app_profile)
    seen = []
    for obj in objs:
        kind, spec = obj["kind"], obj.get("spec") or {}
        selectors = []
        if kind in WORKLOAD_KINDS - {"Pod", "CronJob"} or kind in {"PodDisruptionBudget", "ServiceMonitor"}:
            selectors.append(spec["selector"]["matchLabels"])
        if kind == "Service":
            selectors.append(spec["selector"])
        if kind == "NetworkPolicy":
            selectors.append(spec["podSelector"]["matchLabels"])
            trainer = {"app.kubernetes.io/part-of": "movierecs", "app.kubernetes.io/managed-by": "airflow"}
            selectors += [
                peer["podSelector"]["matchLabels"]
                for rule in spec.get("ingress", [])
                for peer in rule.get("from", [])
                # the DAG's training pods are Airflow's, not this chart's: matched by their own labels
                if peer.get("podSelector", {}).get("matchLabels") not in (None, {}, trainer)
            ]
        if kind == "Deployment":
            anti = (spec["template"]["spec"].get("affinity") or {}).get("podAntiAffinity") or {}
            for term in anti.get("requiredDuringSchedulingIgnoredDuringExecution", []):
                selectors.append(term["labelSelector"]["matchLabels"])
            for term in anti.get("preferredDuringSchedulingIgnoredDuringExecution", []):
                selectors.append(term["podAffinityTerm"]["labelSelector"]["matchLabels"])
            # the pods carry their selector
            pod_labels = spec["template"]["metadata"]["labels"]
            assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
        for sel in selectors:
            assert set(sel) == SELECTOR_KEYS, f"{kind}/{obj['metadata']['name']}: {sel}"
            seen.append(kind)
    assert {"Deployment", "Service", "ServiceMonitor", "NetworkPolicy"} <= set(seen)
    workloads = [d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for d in by_kind(objs, "Deployment")]
    assert len(workloads) == len(set(workloads)), "two Deployments share a selector"


def test_services_select_existing_pods(render) -> None:
    objs = render("default")
    pod_labels = [d["spec"]["template"]["metadata"]["labels"] for d in by_kind(objs, "Deployment")]
    for svc in by_kind(objs, "Service"):
        assert any(svc["spec"]["selector"].items() <= labels.items() for labels in pod_labels), svc["metadata"]["name"]


def test_operator_rbac_is_least_privilege(render) -> None:
    objs = render("default")
    assert not by_kind(objs, "ClusterRole")
    assert not by_kind(objs, "ClusterRoleBinding")
    (role,) = by_kind(objs, "Role")
    grants = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for res in rule["resources"]:
                assert "*" not in [*rule["verbs"], res, group], rule
                grants[(group, res)] = set(rule["verbs"])
    assert grants == {
        ("movierecs.io", "modeldeployments"): {"get", "list", "watch", "patch"},
        ("movierecs.io", "modeldeployments/status"): {"get", "patch"},
        ("apps", "deployments"): {"get", "patch"},
        ("", "events"): {"create"},
        ("events.k8s.io", "events"): {"create"},
    }
    deploy_rule = next(r for r in role["rules"] if r["resources"] == ["deployments"])
    api = next(d for d in by_kind(objs, "Deployment") if d["metadata"]["name"].endswith("-api"))
    assert deploy_rule["resourceNames"] == [api["metadata"]["name"]]
    (binding,) = by_kind(objs, "RoleBinding")
    operator = next(d for d in by_kind(objs, "Deployment") if d["metadata"]["name"].endswith("-operator"))
    assert binding["subjects"][0]["name"] == operator["spec"]["template"]["spec"]["serviceAccountName"]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_only_the_operator_mounts_an_api_token(render) -> None:
    for label, pod in pod_specs(by_kind(render("default"), "Deployment")):
        assert pod["automountServiceAccountToken"] is label.endswith("-operator"), label


def _walk(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, (*path, str(i)))
    else:
        yield path, node


URL_WITH_PASSWORD = re.compile(r"://[^/\s:@]+:(?!\$\()[^@\s/]+@")


def test_secret_key_detector() -> None:
    assert is_secret_key("password")
    assert is_secret_key("adminToken")
    assert is_secret_key("apiKey")
    assert not is_secret_key("existingSecret")
    assert not is_secret_key("secretName")
    assert not is_secret_key("key")


def test_no_plaintext_secret_in_any_values_file() -> None:
    files = sorted([*CHART.glob("values*.yaml"), *OPERATORS_CHART.glob("values*.yaml")])
    assert len(files) >= 5
    problems = []
    for path in files:
        for keys, value in _walk(yaml.safe_load(path.read_text())):
            leaf = keys[-1] if keys else ""
            if isinstance(value, str) and value and is_secret_key(leaf):
                problems.append(f"{path.name}: {'.'.join(keys)} holds a literal")
            if isinstance(value, str) and URL_WITH_PASSWORD.search(value):
                problems.append(f"{path.name}: {'.'.join(keys)} embeds a password in a URL")
    assert not problems, "\n".join(problems)


def test_secret_env_comes_from_secret_refs(render) -> None:
    for label, pod in pod_specs(by_kind(render("default"), "Deployment")):
        for env in pod["containers"][0].get("env", []):
            if re.search(r"PASSWORD|TOKEN|SECRET", env["name"]):
                assert "secretKeyRef" in env.get("valueFrom", {}), f"{label}: {env['name']}"


def test_generated_secrets_are_random_and_kept(render) -> None:
    secrets = by_kind(render("default"), "Secret")
    assert {s["metadata"]["name"] for s in secrets} == {
        "movierecs-admin-token",
        "movierecs-api-clients",  # plain API keys of admin, ui, helm-test ...
        "movierecs-api-keys",  # ... and the api's keys file (their hashes; not kept: derived)
        "movierecs-mlflow-auth",
        "movierecs-clickhouse",
        "movierecs-airflow-db",  # Airflow's metadata role (CloudNativePG managed role) ...
        "movierecs-airflow-metadata",  # ... and its SQLAlchemy URI for the Airflow chart
    }
    for secret in secrets:
        if secret["metadata"]["name"] == "movierecs-api-keys":
            continue
        assert secret["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        generated = {"token", "password", "admin", "ui", "flask-secret-key"}
        random = {k: v for k, v in secret["data"].items() if k in generated}
        assert all(len(v) >= 40 for v in random.values())  # base64 of 32 random chars
    (db,) = [s for s in secrets if s["metadata"]["name"] == "movierecs-airflow-db"]
    (conn,) = [s for s in secrets if s["metadata"]["name"] == "movierecs-airflow-metadata"]
    password = base64.b64decode(db["data"]["password"]).decode()
    assert (
        base64.b64decode(conn["data"]["connection"]).decode()
        == f"postgresql://airflow:{password}@movierecs-pg-rw:5432/airflow"
    )


def test_existing_secret_values_are_used(render) -> None:
    objs = render("default", "--set", "adminToken.existingSecret=my-token,postgresql.existingSecret=my-pg")
    assert "movierecs-admin-token" not in {s["metadata"]["name"] for s in by_kind(objs, "Secret")}
    api = next(d for d in by_kind(objs, "Deployment") if d["metadata"]["name"].endswith("-api"))
    refs = {
        e["name"]: e["valueFrom"]["secretKeyRef"]["name"]
        for e in api["spec"]["template"]["spec"]["containers"][0]["env"]
        if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]
    }
    assert refs["MOVIERECS_ADMIN_TOKEN"] == "my-token"
    assert refs["PGPASSWORD"] == "my-pg"
    cluster = by_kind(objs, "Cluster")[0]
    assert cluster["spec"]["bootstrap"]["initdb"]["secret"]["name"] == "my-pg"


def test_network_policies_cover_every_workload(render) -> None:
    objs = render("default")
    covered = {tuple(sorted(p["spec"]["podSelector"]["matchLabels"].items())) for p in by_kind(objs, "NetworkPolicy")}
    for dep in by_kind(objs, "Deployment"):
        sel = tuple(sorted(dep["spec"]["selector"]["matchLabels"].items()))
        assert sel in covered, dep["metadata"]["name"]


def test_chart_has_no_hardcoded_namespace() -> None:
    for path in (CHART / "templates").rglob("*.yaml"):
        assert not re.search(r"^\s*namespace:\s*[a-z]", path.read_text(), re.M), path.name
