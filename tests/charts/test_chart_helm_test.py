"""`helm test` pods (hook "test"): what they call, and that they run like every other movierecs pod
(the shared checks in test_chart_security and test_chart_render validate them too)."""

from __future__ import annotations

from chart_checks import APP_UID, by_kind

HOOK = {"helm.sh/hook": "test", "helm.sh/hook-delete-policy": "before-hook-creation,hook-succeeded"}


def _test_pods(objs: list[dict]) -> dict[str, dict]:
    return {
        p["metadata"]["name"]: p
        for p in by_kind(objs, "Pod")
        if (p["metadata"].get("annotations") or {}).get("helm.sh/hook") == "test"
    }


def _service_url(objs: list[dict], suffix: str) -> str:
    svc = next(s for s in by_kind(objs, "Service") if s["metadata"]["name"].endswith(suffix))
    return f"http://{svc['metadata']['name']}:{svc['spec']['ports'][0]['port']}"


def test_helm_test_pods_call_the_api_and_the_consumer(render, app_profile: str) -> None:
    objs = render(app_profile)
    pods = _test_pods(objs)
    assert set(pods) == {"movierecs-test-api", "movierecs-test-consumer"}
    for pod in pods.values():
        assert pod["metadata"]["annotations"] == HOOK
        assert pod["spec"]["restartPolicy"] == "Never"
        assert pod["spec"]["automountServiceAccountToken"] is False
    api = pods["movierecs-test-api"]["spec"]["containers"][0]
    script = api["command"][2]
    assert "/readyz" in script
    assert "/v1/recommendations/" in script
    assert 'body["items"]' in script
    assert api["command"][3] == _service_url(objs, "-api")
    consumer = pods["movierecs-test-consumer"]["spec"]["containers"][0]
    assert "/metrics" in consumer["command"][2]
    assert "movierecs_consumer_" in consumer["command"][2]
    assert consumer["command"][3] == _service_url(objs, "-consumer-metrics")
    deployment = by_kind(objs, "Deployment")[0]["spec"]["template"]["spec"]
    for pod in pods.values():
        container = pod["spec"]["containers"][0]
        assert container["image"] == deployment["containers"][0]["image"]
        assert pod["spec"]["securityContext"] == deployment["securityContext"]
        assert container["securityContext"] == deployment["containers"][0]["securityContext"]
        assert container["securityContext"]["runAsUser"] == APP_UID
        assert container["resources"]["limits"]
        assert container["resources"]["requests"]


def test_network_policies_admit_the_test_pods(render) -> None:
    objs = render("default")
    (pod_labels,) = {frozenset(p["metadata"]["labels"].items()) for p in _test_pods(objs).values()}
    for suffix in ("-api", "-consumer"):
        (policy,) = [p for p in by_kind(objs, "NetworkPolicy") if p["metadata"]["name"] == f"movierecs{suffix}"]
        peers = [
            f["podSelector"]["matchLabels"] for r in policy["spec"]["ingress"] for f in r["from"] if "podSelector" in f
        ]
        assert any(frozenset(p.items()) <= pod_labels for p in peers), policy["metadata"]["name"]


def test_helm_tests_can_be_turned_off(render) -> None:
    objs = render("default", "--set", "helmTests.enabled=false")
    assert not _test_pods(objs)
