"""The real operator against an emulated Kubernetes API (kmock) and a real MLflow server.

kopf runs as a task in the test's event loop, next to the kmock server it talks to over HTTP on
127.0.0.1; the registry is an ``mlflow server`` subprocess (sqlite backend) started once per module.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import kopf
import pytest
from movierecs_operator import ANNOTATION, ENV_VAR, URI_ENV_VAR
from movierecs_operator.config import OperatorConfig
from movierecs_operator.handlers import build_settings, register

pytestmark = pytest.mark.slow

MODEL = "movierecs"
NS = "ml"
CR = "movierecs.io/v1alpha1/modeldeployments"
DEPLOYMENTS = "apps/v1/deployments"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- a real MLflow registry -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on a free port with model ``movierecs`` v1 and v2, alias champion -> v1."""
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(
        [str(mlflow_bin), "server", "--backend-store-uri", f"sqlite:///{root}/mlflow.db",
         "--default-artifact-root", str(root / "art"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                if response.status == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.3)
        _register_versions(uri, count=2)
        set_alias(uri, "1")
        yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _register_versions(uri: str, count: int) -> None:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(MODEL)
    experiment = client.get_experiment_by_name("Default")
    for _ in range(count):
        run = client.create_run(experiment.experiment_id)
        client.log_text(run.info.run_id, "tiny model", "model/MLmodel")
        client.create_model_version(MODEL, f"{run.info.artifact_uri}/model", run_id=run.info.run_id)


def set_alias(uri: str, version: str) -> None:
    import mlflow

    mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri).set_registered_model_alias(MODEL, "champion", version)


# --- an emulated Kubernetes API and the operator ----------------------------------------------------


def declare_api(kmock: Any) -> None:
    """Resources kopf discovers and watches: the CRD's resource, deployments, events, namespaces."""
    kmock.resources[CR] = kmock.ResourceInfo(
        kind="ModelDeployment", singular="modeldeployment", namespaced=True, subresources={"status"},
        verbs={"get", "list", "watch", "patch", "update", "create", "delete"},
    )  # fmt: skip
    kmock.resources[DEPLOYMENTS] = kmock.ResourceInfo(
        kind="Deployment", singular="deployment", namespaced=True, verbs={"get", "list", "watch", "patch"}
    )
    kmock.resources["v1/events"] = kmock.ResourceInfo(kind="Event", namespaced=True, verbs={"create", "list"})
    kmock.resources["v1/namespaces"] = kmock.ResourceInfo(kind="Namespace", namespaced=False, verbs={"list", "watch"})
    kmock.resources["apiextensions.k8s.io/v1/customresourcedefinitions"] = kmock.ResourceInfo(
        kind="CustomResourceDefinition", namespaced=False, verbs={"list", "watch"}
    )
    kmock.objects["v1/namespaces", None, NS] = {"metadata": {"name": NS}}


def model_deployment(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "movierecs.io/v1alpha1",
        "kind": "ModelDeployment",
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}", "generation": 1, "resourceVersion": "1"},
        "spec": {"modelName": MODEL, "alias": "champion", "targetDeployment": f"{name}-api", "pollSeconds": 1,
                 **spec},
    }  # fmt: skip


def api_deployment(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "resourceVersion": "1"},
        "spec": {
            "replicas": 2,
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {"name": "api", "image": "movierecs:0.1.0", "env": [{"name": "MOVIERECS_HOME", "value": "/d"}]}
                    ]
                },
            },
        },
    }


@contextlib.asynccontextmanager
async def running_operator(kmock: Any, metrics_port: int, *, clusterwide: bool) -> AsyncIterator[None]:
    """kopf.operator() as a task in this loop (it must share it with kmock's server), stopped by flag.

    ``clusterwide=False``: the chart's mode, one namespace and no cluster scanning (a Role suffices).
    ``clusterwide=True``: ``-A`` with scanning on, so kopf also watches CRDs. (Namespaced mode with
    scanning would list namespaces, which kmock 0.8 cannot parse: GET /api/v1/namespaces -> 500.)"""
    registry = kopf.OperatorRegistry()
    server = str(kmock.url).rstrip("/")

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        return kopf.ConnectionInfo(server=server, insecure=True, default_namespace=NS)

    config = OperatorConfig(
        metrics_port=metrics_port,
        metrics_host="127.0.0.1",
        tick_seconds=0.3,
        backoff_seconds=0.5,
        scan_cluster=clusterwide,
    )
    register(registry, config)
    settings = build_settings(config)
    settings.process.ultimate_exiting_timeout = None  # never SIGKILL the test process
    settings.watching.reconnect_backoff = 0.2
    stop = asyncio.Event()
    task = asyncio.create_task(
        kopf.operator(
            registry=registry,
            settings=settings,
            standalone=True,
            clusterwide=clusterwide,
            namespaces=[] if clusterwide else [NS],
            stop_flag=stop,
        )
    )
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def eventually(check: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(KeyError, IndexError, TypeError, StopIteration):
            result = check()
            if result:
                return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.1)


def deployment_patches(kmock: Any, name: str) -> list[Any]:
    return [
        r
        for r in list(kmock)
        if str(r.method).upper().endswith("PATCH") and r.url.path.endswith(f"/deployments/{name}")
    ]


def crd_watches(kmock: Any) -> list[Any]:
    return [r for r in list(kmock) if r.url.path.endswith("/customresourcedefinitions") and r.params.get("watch")]


def events(kmock: Any, reason: str) -> list[Any]:
    """Event POSTs seen by the API (kmock answers 409 to all but the first: kopf's events have only a
    generateName, which kmock keys as one object; a real API server names them)."""
    return [
        r
        for r in list(kmock)
        if str(r.method).upper().endswith("POST") and r.url.path.endswith("/events") and r.data.get("reason") == reason
    ]


def template(kmock: Any, name: str) -> dict[str, Any]:
    return dict(kmock.objects[DEPLOYMENTS, NS, name])["spec"]["template"]


def status(kmock: Any, name: str) -> dict[str, Any]:
    return dict(kmock.objects[CR, NS, name]).get("status", {})


def condition(kmock: Any, name: str, type_: str) -> dict[str, Any]:
    return next(c for c in status(kmock, name).get("conditions", []) if c["type"] == type_)


def deployment_status(kmock: Any, name: str, **fields: Any) -> None:
    """Play the Deployment controller: set the Deployment's status."""
    obj = kmock.objects[DEPLOYMENTS, NS, name]
    obj.patch({"status": None})  # kmock merges patches: drop the old status first
    obj.patch({"status": fields})


def all_updated(kmock: Any, name: str) -> None:
    deployment_status(kmock, name, replicas=2, updatedReplicas=2, availableReplicas=2, readyReplicas=2)


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def sample(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


# --- scenarios --------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fast_failing_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the operator's startup would set; set here first so the test process env is restored."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")


async def test_promotion_rolls_the_deployment_once_and_records_status(kmock: Any, mlflow_uri: str) -> None:
    declare_api(kmock)
    kmock.objects[CR, NS, "recs"] = model_deployment("recs", registryUri=mlflow_uri)
    kmock.objects[DEPLOYMENTS, NS, "recs-api"] = api_deployment("recs-api")
    metrics_port = free_port()

    async with running_operator(kmock, metrics_port, clusterwide=False):
        # Alias champion -> v1: the pod template gets pinned to v1, exactly once.
        await eventually(lambda: template(kmock, "recs-api")["metadata"]["annotations"][ANNOTATION] == "1",
                         what="deployment pinned to v1")  # fmt: skip
        # Not rolled out until every replica runs it: the operator watches the Deployment.
        await eventually(lambda: condition(kmock, "recs", "RolledOut")["reason"] == "Progressing", what="progressing")
        deployment_status(kmock, "recs-api", replicas=3, updatedReplicas=1, availableReplicas=2)
        await eventually(lambda: "1/2 replicas updated" in condition(kmock, "recs", "RolledOut")["message"],
                         what="progress reported")  # fmt: skip
        assert "currentVersion" not in status(kmock, "recs")
        assert status(kmock, "recs")["rolloutVersion"] == "1"
        all_updated(kmock, "recs-api")
        await eventually(lambda: status(kmock, "recs")["currentVersion"] == "1", what="status v1")
        assert "rolloutVersion" not in status(kmock, "recs")
        container = template(kmock, "recs-api")["spec"]["containers"][0]
        assert {"name": ENV_VAR, "value": "1"} in container["env"]
        assert {"name": URI_ENV_VAR, "value": "models:/movierecs/1"} in container["env"]  # pods load exactly v1
        assert {"name": "MOVIERECS_HOME", "value": "/d"} in container["env"]  # nothing else touched
        assert container["image"] == "movierecs:0.1.0"
        assert condition(kmock, "recs", "Ready")["status"] == "True"
        assert condition(kmock, "recs", "RolledOut")["reason"] == "RolledOut"
        assert condition(kmock, "recs", "RegistryReachable")["status"] == "True"
        assert status(kmock, "recs")["lastRolloutTime"].endswith("Z")
        await eventually(lambda: events(kmock, "RolledOut"), what="a RolledOut event")

        # The same version on the next polls (pollSeconds=1): no further patch.
        await asyncio.sleep(3)
        assert len(deployment_patches(kmock, "recs-api")) == 1
        first_rollout = status(kmock, "recs")["lastRolloutTime"]

        # Promote v2 in the registry: one more patch, status follows.
        await asyncio.to_thread(set_alias, mlflow_uri, "2")
        await eventually(lambda: status(kmock, "recs").get("rolloutVersion") == "2", what="rolling out v2")
        deployment_status(kmock, "recs-api", replicas=4, updatedReplicas=2, availableReplicas=2)  # old pods remain
        await asyncio.sleep(1)
        assert status(kmock, "recs")["currentVersion"] == "1"
        all_updated(kmock, "recs-api")
        await eventually(lambda: status(kmock, "recs")["currentVersion"] == "2", what="status v2")
        assert template(kmock, "recs-api")["metadata"]["annotations"][ANNOTATION] == "2"
        assert {"name": ENV_VAR, "value": "2"} in template(kmock, "recs-api")["spec"]["containers"][0]["env"]
        assert len(deployment_patches(kmock, "recs-api")) == 2
        await eventually(lambda: len(events(kmock, "RolledOut")) == 2, what="one RolledOut event per rollout")
        assert status(kmock, "recs")["lastRolloutTime"] >= first_rollout

        text = await asyncio.to_thread(scrape, metrics_port)
        assert sample(text, "movierecs_operator_rollouts_total") >= 2
        assert sample(text, "movierecs_operator_reconcile_seconds_count") >= 3

    assert crd_watches(kmock) == []  # the chart's mode needs no cluster-wide permissions
    await asyncio.to_thread(set_alias, mlflow_uri, "1")  # leave the module's registry as found


async def test_registry_down_and_invalid_spec_set_conditions_and_never_patch(kmock: Any) -> None:
    declare_api(kmock)
    dead_registry = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    kmock.objects[CR, NS, "down"] = model_deployment("down", registryUri=dead_registry)
    kmock.objects[DEPLOYMENTS, NS, "down-api"] = api_deployment("down-api")
    kmock.objects[CR, NS, "broken"] = model_deployment("broken", registryUri=dead_registry, pollSeconds=0)
    kmock.objects[DEPLOYMENTS, NS, "broken-api"] = api_deployment("broken-api")
    metrics_port = free_port()

    async with running_operator(kmock, metrics_port, clusterwide=True):
        reachable = await eventually(lambda: condition(kmock, "down", "RegistryReachable"), what="condition")
        assert reachable["status"] == "False"
        assert reachable["reason"] == "RegistryUnreachable"
        assert dead_registry in reachable["message"]
        assert condition(kmock, "down", "Ready")["status"] == "False"

        invalid = await eventually(lambda: condition(kmock, "broken", "Ready"), what="InvalidSpec condition")
        assert (invalid["status"], invalid["reason"]) == ("False", "InvalidSpec")
        assert "spec.pollSeconds=0" in invalid["message"]

        warning = await eventually(lambda: events(kmock, "RegistryUnreachable"), what="a warning event")
        assert warning[0].data["type"] == "Warning"
        await asyncio.sleep(2)  # a few retries with backoff
        text = await asyncio.to_thread(scrape, metrics_port)
        assert 'movierecs_operator_failures_total{reason="RegistryUnreachable"}' in text
        assert 'movierecs_operator_failures_total{reason="InvalidSpec"}' in text

    assert len(events(kmock, "RegistryUnreachable")) == 1  # on the transition, not on every retry
    assert crd_watches(kmock)  # -A with scanning: kopf follows CRDs appearing/disappearing
    assert deployment_patches(kmock, "down-api") == []
    assert deployment_patches(kmock, "broken-api") == []
    assert "currentVersion" not in status(kmock, "down")
    assert ANNOTATION not in template(kmock, "down-api")["metadata"].get("annotations", {})


@pytest.mark.parametrize("stall", ["progress_deadline", "spec_deadline"])
async def test_a_stalled_rollout_is_rolled_back_and_not_retried(kmock: Any, mlflow_uri: str, stall: str) -> None:
    declare_api(kmock)
    extra = {"rolloutDeadlineSeconds": 2} if stall == "spec_deadline" else {}
    kmock.objects[CR, NS, "stall"] = model_deployment("stall", registryUri=mlflow_uri, **extra)
    kmock.objects[DEPLOYMENTS, NS, "stall-api"] = api_deployment("stall-api")
    metrics_port = free_port()

    async with running_operator(kmock, metrics_port, clusterwide=False):
        await eventually(lambda: status(kmock, "stall").get("rolloutVersion") == "1", what="rolling out v1")
        all_updated(kmock, "stall-api")
        await eventually(lambda: status(kmock, "stall").get("currentVersion") == "1", what="v1 rolled out")

        await asyncio.to_thread(set_alias, mlflow_uri, "2")
        await eventually(lambda: status(kmock, "stall").get("rolloutVersion") == "2", what="rolling out v2")
        assert template(kmock, "stall-api")["metadata"]["annotations"][ANNOTATION] == "2"
        if stall == "progress_deadline":  # the new pods never become ready: the controller gives up
            progressing = {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
                           "message": "ReplicaSet stall-api-2 has timed out progressing."}  # fmt: skip
            deployment_status(kmock, "stall-api", replicas=3, updatedReplicas=1, availableReplicas=2,
                              conditions=[progressing])  # fmt: skip
        else:  # stuck at one updated replica past spec.rolloutDeadlineSeconds
            deployment_status(kmock, "stall-api", replicas=3, updatedReplicas=1, availableReplicas=2)

        await eventually(lambda: status(kmock, "stall").get("rejectedVersion") == "2", what="v2 rejected", timeout=20)
        # rolled back: the template runs v1 again, status says so, RolloutFailed with an Event and a metric
        assert template(kmock, "stall-api")["metadata"]["annotations"][ANNOTATION] == "1"
        env = template(kmock, "stall-api")["spec"]["containers"][0]["env"]
        assert {"name": URI_ENV_VAR, "value": "models:/movierecs/1"} in env
        assert status(kmock, "stall")["currentVersion"] == "1"
        assert condition(kmock, "stall", "RolledOut")["reason"] == "RolloutFailed"
        assert condition(kmock, "stall", "Ready")["status"] == "False"
        await eventually(lambda: events(kmock, "RolloutFailed"), what="a RolloutFailed event")
        text = await asyncio.to_thread(scrape, metrics_port)
        assert sample(text, "movierecs_operator_rollout_failures_total") >= 1

        # the alias still says 2: never retried
        patches = len(deployment_patches(kmock, "stall-api"))
        await asyncio.sleep(3)
        assert len(deployment_patches(kmock, "stall-api")) == patches
        assert template(kmock, "stall-api")["metadata"]["annotations"][ANNOTATION] == "1"

        # the alias moves (back to 1, then to 2 again): v2 may be tried again
        await asyncio.to_thread(set_alias, mlflow_uri, "1")
        await eventually(lambda: "rejectedVersion" not in status(kmock, "stall"), what="rejection lifted")
        await asyncio.to_thread(set_alias, mlflow_uri, "2")
        await eventually(lambda: status(kmock, "stall").get("rolloutVersion") == "2", what="v2 tried again")

    await asyncio.to_thread(set_alias, mlflow_uri, "1")  # leave the module's registry as found
