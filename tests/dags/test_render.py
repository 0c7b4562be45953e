"""Each task's pod request renders without a cluster: image, args, env, secrets, resources."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import pendulum
import pytest

LOGICAL_DATE = pendulum.datetime(2025, 3, 14, tz="UTC")
TRAIN_RESULT = {"version": "7", "run_id": "abc123"}


class _Variables:
    """Stands in for the `var.value` template accessor (Airflow 3 reads it via the supervisor)."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    def get(self, key: str, default: object = None) -> object:
        return self._values.get(key, default)


class _TaskInstance:
    """Just enough of a task instance for templates (xcom_pull) and the pod's identifying labels."""

    dag_id = "movierecs_retrain"
    map_index = -1
    try_number = 1

    def __init__(self, task_id: str) -> None:
        self.task_id = task_id

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> object:
        assert (task_ids, key) == ("train", "return_value")
        return TRAIN_RESULT


def _render(dag, task_id: str, kubeconfig: Path, variables: dict[str, str] | None = None):
    """Render the templates of a copy of the task for LOGICAL_DATE and build its V1Pod."""
    task = copy.deepcopy(dag.get_task(task_id))
    task.in_cluster = False
    task.config_file = str(kubeconfig)
    # A scheduled @daily run for LOGICAL_DATE covers [LOGICAL_DATE, LOGICAL_DATE + 1 day).
    context = {
        "dag": dag,
        "task": task,
        "ti": _TaskInstance(task_id),
        "params": {name: param.value for name, param in dag.params.items()},
        "var": SimpleNamespace(value=_Variables(variables or {}), json=_Variables({})),
        "logical_date": LOGICAL_DATE,
        "data_interval_start": LOGICAL_DATE,
        "data_interval_end": LOGICAL_DATE.add(days=1),
        "ds": LOGICAL_DATE.to_date_string(),
        "run_id": "scheduled__test",
    }
    task.render_template_fields(context)
    return task.build_pod_request_obj(context)


def _container(pod):
    return next(c for c in pod.spec.containers if c.name == "base")


@pytest.mark.parametrize("task_id", ["train", "evaluate", "promote"])
def test_pod_defaults(dag, kubeconfig: Path, task_id: str) -> None:
    pod = _render(dag, task_id, kubeconfig)
    container = _container(pod)
    assert container.image == "movierecs:0.1.0"
    assert not container.command  # the image's entrypoint is `movierecs`
    assert pod.metadata.namespace == "movierecs"
    assert pod.spec.service_account_name == "movierecs-retrain"
    assert pod.spec.restart_policy == "Never"
    assert pod.metadata.labels["app.kubernetes.io/component"] == f"retrain-{task_id}"
    assert pod.metadata.labels["task_id"] == task_id

    env = {e.name: e.value for e in container.env}
    assert env["OPENBLAS_NUM_THREADS"] == "1"
    assert env["MOVIERECS_MODEL_NAME"] == "movierecs"
    assert env["MOVIERECS_MODEL_ALIAS"] == "champion"
    assert [s.secret_ref.name for s in container.env_from] == ["movierecs-env"]
    assert container.security_context.run_as_non_root

    # The pod writes its result to XCom through the sidecar's shared volume.
    assert any(c.name == "airflow-xcom-sidecar" for c in pod.spec.containers)
    assert any(m.mount_path == "/airflow/xcom" for m in container.volume_mounts)


def test_train_args_carry_the_interval_end_as_watermark(dag, kubeconfig: Path) -> None:
    pod = _render(dag, "train", kubeconfig)
    container = _container(pod)
    # Daily schedule: the run for 2025-03-14 covers [03-14, 03-15); its snapshot ends at 03-15.
    assert container.args == [
        "train",
        "--watermark",
        "2025-03-15T00:00:00+00:00",
        "--register",
        "--output-dir",
        "/tmp/movierecs-bundle",
        "--json",
        "/airflow/xcom/return.json",
    ]
    assert container.resources.requests == {"cpu": "1", "memory": "2Gi"}
    assert container.resources.limits == {"memory": "4Gi"}


def test_evaluate_and_promote_use_the_version_train_registered(dag, kubeconfig: Path) -> None:
    evaluate = _container(_render(dag, "evaluate", kubeconfig))
    # the registered version itself is scored (no refit), against the alias's champion
    assert evaluate.args == [
        "evaluate",
        "--version",
        "7",
        "--alias",
        "champion",
        "--json",
        "/airflow/xcom/return.json",
    ]
    assert evaluate.resources.requests == {"cpu": "500m", "memory": "1Gi"}

    promote = _container(_render(dag, "promote", kubeconfig))
    assert promote.args == [
        "promote",
        "--version",
        "7",
        "--alias",
        "champion",
        "--tolerance",
        "0.02",
        "--json",
        "/airflow/xcom/return.json",
    ]
    assert promote.resources.limits == {"memory": "2Gi"}


def test_variables_override_image_and_namespace(dag, kubeconfig: Path) -> None:
    pod = _render(
        dag,
        "train",
        kubeconfig,
        {"movierecs_image": "registry.example/movierecs:1.2.3", "movierecs_namespace": "ml"},
    )
    assert _container(pod).image == "registry.example/movierecs:1.2.3"
    assert pod.metadata.namespace == "ml"
