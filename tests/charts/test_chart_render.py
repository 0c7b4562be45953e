"""helm lint --strict and helm template for every profile of both charts; every rendered object is
validated against the Kubernetes schemas (kubernetes-validate, strict) or its CRD's schema. The
application chart is also linted and rendered in place (the repository path, no staging, no
`helm dependency build`), as outside checks do."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from chart_checks import K8S_VERSION, by_kind, crd_validator, errors_of, names, own_crds
from chart_offline import CHART, OPERATORS_CHART, dependencies, helm, profile_args, template

REQUIRED_KINDS = {
    # apps
    "Deployment",
    "Service",
    "Ingress",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "NetworkPolicy",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    # custom resources
    "ModelDeployment",
    "ServiceMonitor",
    "PrometheusRule",
    "Kafka",
    "KafkaNodePool",
    "KafkaTopic",
    "ClickHouseInstallation",
    "Cluster",
}


def _lint_strict(chart: Path, profile: str) -> None:
    proc = helm("lint", "--strict", str(chart), *profile_args(profile, chart), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[WARNING]" not in proc.stdout, proc.stdout
    assert "[ERROR]" not in proc.stdout, proc.stdout


def test_lint_strict(chart_for, profile: str) -> None:
    _lint_strict(chart_for(profile), profile)


def _validation_problems(objs) -> list[str]:
    problems = []
    for obj in objs:
        ident = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        key = (obj["apiVersion"], obj["kind"])
        if key in own_crds():
            problems += [f"{ident}: {e}" for e in errors_of(own_crds()[key], obj)]
            continue
        validator = crd_validator(*key)
        if validator is not None:
            problems += [f"{ident}: {e}" for e in errors_of(validator, obj)]
            continue
        try:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{ident}: {exc.message} at {'.'.join(map(str, exc.path))}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{ident}: no schema for {key} (neither Kubernetes nor a vendored CRD)")
    return problems


def test_every_object_validates(render, profile: str) -> None:
    problems = _validation_problems(render(profile))
    assert not problems, "\n".join(problems)


def test_app_chart_has_no_dependencies() -> None:
    """charts/movierecs must lint and render from a clean clone: nothing to fetch, nothing vendored."""
    assert not dependencies(CHART)
    assert not (CHART / "Chart.lock").exists()
    assert not (CHART / "requirements.yaml").exists()
    assert not (CHART / "values-operators.yaml").exists(), "the operators release is charts/movierecs-operators"


@pytest.mark.parametrize("profile", ["kind", "production"])
def test_plain_helm_in_the_repository(helm_bin: Path, profile: str) -> None:
    """Exactly what outside checks run: the repository path itself, no staging, no placeholders."""
    _lint_strict(CHART, profile)
    proc = helm(
        "template",
        "movierecs",
        str(CHART),
        "--namespace",
        "movierecs",
        "-f",
        str(CHART / f"values-{profile}.yaml"),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    objs = [o for o in yaml.safe_load_all(proc.stdout) if o]
    assert objs
    problems = _validation_problems(objs)
    assert not problems, "\n".join(problems)


def test_operators_chart_needs_its_dependencies_offline(helm_bin: Path) -> None:
    """The operators chart is the one that needs `helm dependency update`; offline (no archives in
    its charts/) Helm refuses it, which is why the tests stage placeholders for it."""
    if (OPERATORS_CHART / "charts").is_dir() and any((OPERATORS_CHART / "charts").glob("*.tgz")):
        pytest.skip("dependency archives present (helm dependency update was run)")
    proc = helm("template", "movierecs-operators", str(OPERATORS_CHART), check=False)
    assert proc.returncode != 0
    assert "missing in charts/ directory" in proc.stderr


def test_required_kinds_present(render) -> None:
    for profile in ("default", "production"):
        kinds = {o["kind"] for o in render(profile)}
        required = REQUIRED_KINDS - ({"PersistentVolumeClaim"} if profile == "production" else set())  # S3
        assert required <= kinds, f"{profile}: missing {sorted(required - kinds)}"
    kinds = Counter(o["kind"] for o in render("default"))
    assert kinds["KafkaTopic"] == 2
    assert kinds["Deployment"] == 5  # api, consumer, ui, operator, mlflow


def test_kafka_topics(render) -> None:
    topics = {t["spec"]["topicName"] for t in by_kind(render("default"), "KafkaTopic")}
    assert topics == {"movierecs.interactions", "movierecs.interactions.dlq"}
    kafka = by_kind(render("default"), "Kafka")[0]
    pool = by_kind(render("default"), "KafkaNodePool")[0]
    assert "zookeeper" not in kafka["spec"]
    assert kafka["metadata"]["annotations"]["strimzi.io/kraft"] == "enabled"
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}


def test_validators_catch_mistakes(render) -> None:
    """The validation above is not vacuous: a typo in each family of objects is reported."""
    import copy

    objs = render("default")
    for kind, mutate in {
        "Deployment": lambda o: o["spec"]["template"]["spec"]["containers"][0].update(imagePullPolice="x"),
        "KafkaTopic": lambda o: o["spec"].update(partitions="three"),
        "ClickHouseInstallation": lambda o: o["spec"].update(configuraton={}),
        "Cluster": lambda o: o["spec"].update(instances=0),
        "ServiceMonitor": lambda o: o["spec"]["endpoints"][0].update(intervall="1s"),
        "PrometheusRule": lambda o: o["spec"]["groups"][0].update(rulez=[]),
        "ModelDeployment": lambda o: o["spec"].update(pollSecond=5),
    }.items():
        obj = copy.deepcopy(by_kind(objs, kind)[0])
        mutate(obj)
        key = (obj["apiVersion"], obj["kind"])
        if key in own_crds():
            assert errors_of(own_crds()[key], obj), kind
        elif crd_validator(*key) is not None:
            assert errors_of(crd_validator(*key), obj), kind
        else:
            with pytest.raises(kubernetes_validate.ValidationError):
                kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_unique_names_per_kind(render, profile: str) -> None:
    objs = render(profile)
    for kind in {o["kind"] for o in objs}:
        dupes = [n for n, c in Counter(names(objs, kind)).items() if c > 1]
        assert not dupes, f"{kind}: duplicate names {dupes}"


def test_long_release_name_fits_63_chars(staged_chart: Path) -> None:
    release = "a-very-long-release-name-for-testing-name-truncation"  # 52 chars, near, Helm's maximum
    objs = [o for o in yaml.safe_load_all(template(staged_chart, "production", release=release)) if o]
    for kind in {o["kind"] for o in objs}:
        kind_names = names(objs, kind)
        assert len(kind_names) == len(set(kind_names)), f"{kind}: truncation made names collide"
    for obj in objs:
        name = obj["metadata"]["name"]
        assert len(name) <= 63, f"{obj['kind']}/{name}"
        for key, value in (obj["metadata"].get("labels") or {}).items():
            assert len(str(value)) <= 63, f"{obj['kind']}/{name} label {key}={value}"


def test_operators_profile_has_no_workloads(render) -> None:
    """The operators chart's own templates render no workload: besides Grafana's admin Secret
    (platform release only), its objects all come from subcharts."""
    secrets = [f"{o['kind']}/{o['metadata']['name']}" for o in render("operators")]
    assert secrets == ["Secret/movierecs-grafana-admin"], secrets
    kinds = {o["kind"] for o in render("airflow")}
    assert not kinds, f"airflow: {kinds}"


def test_kind_profile_is_small(render) -> None:
    objs = render("kind")
    assert not by_kind(objs, "HorizontalPodAutoscaler")
    assert not by_kind(objs, "PodDisruptionBudget")
    for dep in by_kind(objs, "Deployment"):
        assert dep["spec"]["replicas"] == 1, dep["metadata"]["name"]
    assert by_kind(objs, "KafkaNodePool")[0]["spec"]["replicas"] == 1
    assert by_kind(objs, "Cluster")[0]["spec"]["instances"] == 1


def test_production_profile_is_ha(render) -> None:
    objs = render("production")
    hpa = by_kind(objs, "HorizontalPodAutoscaler")
    assert hpa
    assert hpa[0]["spec"]["minReplicas"] >= 3
    pdb_targets = {
        p["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for p in by_kind(objs, "PodDisruptionBudget")
    }
    assert {"movierecs-api", "movierecs-consumer", "movierecs-ui"} <= pdb_targets
    for dep in by_kind(objs, "Deployment"):
        name = dep["metadata"]["name"]
        if name.endswith(("-api", "-consumer")):
            anti = dep["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
            assert "requiredDuringSchedulingIgnoredDuringExecution" in anti, name
    ingress = by_kind(objs, "Ingress")[0]
    assert ingress["spec"]["tls"][0]["secretName"]
    assert not by_kind(objs, "Secret"), "production takes every credential from existing Secrets"


def test_ingress_routes_api_and_ui(render) -> None:
    ingress = by_kind(render("default"), "Ingress")[0]
    paths = {p["path"]: p["backend"]["service"]["name"] for p in ingress["spec"]["rules"][0]["http"]["paths"]}
    assert paths["/v1"].endswith("-api")
    assert paths["/docs"].endswith("-api")
    assert paths["/"].endswith("-ui")


def test_disabled_platform_needs_external_urls(render, staged_chart: Path) -> None:
    off = ("--set", "kafka.enabled=false")
    with pytest.raises(RuntimeError, match=r"external\.eventBusUrl"):
        render("default", *off)
    objs = render("default", *off, "--set", "external.eventBusUrl=kafka://bus:9092")
    env = {e["name"]: e.get("value") for e in _api(objs)["env"]}
    assert env["MOVIERECS_EVENT_BUS_URL"] == "kafka://bus:9092"
    assert not by_kind(objs, "Kafka")


def _api(objs):
    dep = next(d for d in by_kind(objs, "Deployment") if d["metadata"]["name"].endswith("-api"))
    return dep["spec"]["template"]["spec"]["containers"][0]
