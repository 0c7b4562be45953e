"""The DAG folder imports cleanly, without I/O at the top level."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from unittest import mock

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


def test_dagbag_imports_without_errors() -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_DIR))
    assert bag.import_errors == {}
    assert "movierecs_retrain" in bag.dag_ids


def test_import_reads_no_variables_and_touches_no_cluster() -> None:
    """Parsing must not call Variable.get or build a Kubernetes client (scheduler parse loop)."""
    from airflow.sdk import Variable
    from kubernetes import config as kube_config

    boom = mock.Mock(side_effect=AssertionError("I/O at DAG import time"))
    with (
        mock.patch.object(Variable, "get", boom),
        mock.patch.object(kube_config, "load_kube_config", boom),
        mock.patch.object(kube_config, "load_incluster_config", boom),
    ):
        spec = importlib.util.spec_from_file_location("_retrain_probe", DAGS_DIR / "movierecs_retrain.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["_retrain_probe"] = module
        try:
            spec.loader.exec_module(module)
        finally:
            sys.modules.pop("_retrain_probe", None)
    boom.assert_not_called()
    assert module.dag.dag_id == "movierecs_retrain"
