"""Fixtures for the DAG tests. These run in .venv-airflow (scripts/test-dags.sh), never in .venv."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"

DUMMY_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: dummy
  cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}
users:
- name: dummy
  user: {token: dummy}
contexts:
- name: dummy
  context: {cluster: dummy, user: dummy, namespace: default}
current-context: dummy
"""


# Airflow lives in its own venv (attrs>=24 vs rectools' attrs<24): in the app venv, or without the
# throwaway AIRFLOW_HOME that scripts/test-dags.sh sets, these tests are not collected at all.
if not os.environ.get("AIRFLOW_HOME") or importlib.util.find_spec("airflow") is None:
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    return bag.dags["movierecs_retrain"]  # get_dag() would look in the metadata DB


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(DUMMY_KUBECONFIG)
    return path
