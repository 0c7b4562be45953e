"""A whole DAG run through `dag.test()`, the pods replaced by fakes (no cluster here)."""

from __future__ import annotations

import copy
from unittest import mock

import pendulum
import pytest

LOGICAL_DATE = pendulum.datetime(2025, 3, 14, tz="UTC")


@pytest.fixture(scope="module")
def metadata_db() -> None:
    from airflow.utils import db

    db.initdb()


@pytest.fixture
def dag_under_test(dag):
    """The DAG with retries off: dag.test() would really sleep through retry_delay on a failure."""
    clone = copy.deepcopy(dag)
    for task in clone.tasks:
        task.retries = 0
    return clone


def _fake_pods(results: dict[str, object], seen: dict[str, list[str]]):
    """A stand-in for KubernetesPodOperator.execute: records rendered args, returns the pod's XCom."""

    def execute(self, context):
        seen[self.task_id] = list(self.arguments)
        outcome = results[self.task_id]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return execute


def _states(run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in run.get_task_instances()}


def test_run_completes_and_hands_the_version_down(dag_under_test, metadata_db) -> None:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    seen: dict[str, list[str]] = {}
    results = {
        "train": {"version": "12", "run_id": "r12"},
        "evaluate": {"ndcg@10": 0.31},
        "promote": {"promoted": True, "version": "12", "alias": "champion"},
    }
    with mock.patch.object(KubernetesPodOperator, "execute", _fake_pods(results, seen)):
        run = dag_under_test.test(logical_date=LOGICAL_DATE)

    assert str(run.state) == "success"
    assert _states(run) == {"train": "success", "evaluate": "success", "promote": "success"}
    # dag.test() makes a manual run, whose data interval ends at the logical date itself.
    assert seen["train"][:3] == ["train", "--watermark", "2025-03-14T00:00:00+00:00"]
    assert seen["evaluate"][:5] == ["evaluate", "--version", "12", "--alias", "champion"]
    assert seen["promote"][:3] == ["promote", "--version", "12"]


def test_gate_refusal_skips_promote_and_the_run_still_succeeds(dag_under_test, metadata_db) -> None:
    """Promote refuses (pod exit 3 -> AirflowSkipException): skipped, no failure, no alias move."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from airflow.sdk.exceptions import AirflowSkipException

    seen: dict[str, list[str]] = {}
    results = {
        "train": {"version": "13", "run_id": "r13"},
        "evaluate": {"ndcg@10": 0.05},
        "promote": AirflowSkipException("Pod movierecs-promote returned exit code 3. Skipping."),
    }
    with mock.patch.object(KubernetesPodOperator, "execute", _fake_pods(results, seen)):
        run = dag_under_test.test(logical_date=LOGICAL_DATE.add(days=1))

    assert str(run.state) == "success"
    assert _states(run) == {"train": "success", "evaluate": "success", "promote": "skipped"}
    assert seen["promote"][:3] == ["promote", "--version", "13"]


def test_pod_tasks_marked_success_by_pattern(dag_under_test, metadata_db) -> None:
    """No pod at all: every task matched by the pattern is marked success without running."""
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

    boom = mock.Mock(side_effect=AssertionError("a pod ran"))
    with mock.patch.object(KubernetesPodOperator, "execute", boom):
        run = dag_under_test.test(logical_date=LOGICAL_DATE.add(days=2), mark_success_pattern=".*")
    assert str(run.state) == "success"
    assert set(_states(run).values()) == {"success"}
    boom.assert_not_called()
