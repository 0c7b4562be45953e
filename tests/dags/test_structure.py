"""Shape of the retrain DAG: ids, order, schedule and the guards every task carries."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

TASKS = ["train", "evaluate", "promote"]


def test_schedule_and_run_guards(dag) -> None:
    assert dag.dag_id == "movierecs_retrain"
    assert dag.schedule == "@daily"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.dagrun_timeout == timedelta(hours=4)


def test_tasks_form_a_chain_train_evaluate_promote(dag) -> None:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    assert sorted(dag.task_ids) == sorted(TASKS)
    assert [t.task_id for t in dag.topological_sort()] == TASKS
    for upstream, downstream in itertools.pairwise(TASKS):
        assert dag.get_task(upstream).downstream_task_ids == {downstream}
    assert dag.get_task("train").upstream_task_ids == set()
    assert all(isinstance(dag.get_task(t), KubernetesPodOperator) for t in TASKS)


@pytest.mark.parametrize(
    ("task_id", "timeout", "retries"),
    [("train", timedelta(hours=2), 2), ("evaluate", timedelta(minutes=30), 2), ("promote", timedelta(minutes=30), 1)],
)
def test_retries_and_timeouts(dag, task_id: str, timeout: timedelta, retries: int) -> None:
    task = dag.get_task(task_id)
    assert task.execution_timeout == timeout
    assert task.retries == retries
    assert task.retry_delay == timedelta(minutes=5)
    assert task.retry_exponential_backoff


def test_gate_refusal_is_a_skip_with_xcom_not_a_failure(dag) -> None:
    promote = dag.get_task("promote")
    assert promote.skip_on_exit_code == [3]
    assert promote.do_xcom_push
    assert all(dag.get_task(t).skip_on_exit_code in (None, []) for t in ("train", "evaluate"))


def test_every_pod_is_labelled_and_runs_as_the_retrain_service_account(dag) -> None:
    for task_id in TASKS:
        task = dag.get_task(task_id)
        assert task.service_account_name == "movierecs-retrain"
        assert task.labels["app.kubernetes.io/name"] == "movierecs"
        assert task.labels["app.kubernetes.io/component"] == f"retrain-{task_id}"
        assert task.container_resources.requests["cpu"]
        assert task.container_resources.limits["memory"]
