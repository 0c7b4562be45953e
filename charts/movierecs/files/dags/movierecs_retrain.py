"""Daily MovieRecs retrain: train -> evaluate -> promote, each a ``movierecs`` CLI pod.

Wiring only (STYLE rule 14): every task runs the one movierecs image (entrypoint ``movierecs``) in a
KubernetesPodOperator. Nothing here does I/O at import time; image, namespace and friends are read
lazily by Jinja templates (Airflow Variable first, then the DAG param default), so the scheduler's
parse loop never touches the metadata DB or the cluster.

Data flow between pods (through XCom: each pod writes ``/airflow/xcom/return.json``):

* ``train`` extracts interactions up to the run's ``data_interval_end`` (the watermark: reruns of the
  same interval read the same snapshot), fits, evaluates, logs to MLflow and registers a version;
  its JSON result (``movierecs train --json FILE``) carries at least ``version``.
* ``evaluate`` scores that exact registered version (its hold-out twin) and the alias's current
  champion, both loaded from the registry (no refit), on the interactions neither was fit on, and
  logs the scores and the window to the version's MLflow run (``gate/evaluation.json``).
* ``promote`` is the quality gate. It decides on ``evaluate``'s logged result (or scores both itself
  if the alias moved meanwhile) and moves the alias only if the candidate beats popularity and is not
  worse than the champion (within ``tolerance``); the decision lands in ``gate/decision.json``.
  A refusal exits with code 3: the task ends *skipped* (not failed,
  the pipeline worked) and the gate's reason is in the task's XCom (``return_value``, written by
  ``movierecs promote --json FILE`` before it exits; the provider pushes XCom of failed pods too)
  and in the task log.
  No alias move means no rollout: the kopf operator only reacts to the alias.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.cncf.kubernetes.secret import Secret
from airflow.sdk import DAG, Param
from kubernetes.client import models as k8s

DAG_ID = "movierecs_retrain"
XCOM_FILE = "/airflow/xcom/return.json"
GATE_REFUSED_EXIT_CODE = 3  # `movierecs promote` exits 3 when the quality gate refuses
# Secret holding the MOVIERECS_* store URLs and MLFLOW_* URIs (with credentials), mounted as env.
ENV_SECRET = "movierecs-env"  # noqa: S105  (a Secret's name, not a password)
SERVICE_ACCOUNT = "movierecs-retrain"

# Lazily rendered: an Airflow Variable overrides the DAG param default; both win over nothing.
IMAGE = "{{ var.value.get('movierecs_image', params.image) }}"
NAMESPACE = "{{ var.value.get('movierecs_namespace', params.namespace) }}"
WATERMARK = "{{ data_interval_end | ts }}"
TRAIN_RESULT = "ti.xcom_pull(task_ids='train')"
VERSION = "{{ " + TRAIN_RESULT + "['version'] }}"  # the version this run's train registered


def _resources(cpu: str, memory: str, memory_limit: str) -> k8s.V1ResourceRequirements:
    return k8s.V1ResourceRequirements(requests={"cpu": cpu, "memory": memory}, limits={"memory": memory_limit})


def _pod_task(task_id: str, arguments: list[str], **kwargs: object) -> KubernetesPodOperator:
    """A ``movierecs <arguments>`` pod with the settings every stage shares."""
    return KubernetesPodOperator(
        task_id=task_id,
        name=f"movierecs-{task_id}",
        image=IMAGE,
        namespace=NAMESPACE,
        arguments=arguments,  # the image's entrypoint is `movierecs`
        image_pull_policy="IfNotPresent",
        labels={
            "app.kubernetes.io/name": "movierecs",
            "app.kubernetes.io/component": f"retrain-{task_id}",
            "app.kubernetes.io/part-of": "movierecs",
            "app.kubernetes.io/managed-by": "airflow",
        },
        service_account_name=SERVICE_ACCOUNT,
        env_vars=[
            k8s.V1EnvVar(name="OPENBLAS_NUM_THREADS", value="1"),
            k8s.V1EnvVar(name="MOVIERECS_MODEL_NAME", value="{{ params.model_name }}"),
            k8s.V1EnvVar(name="MOVIERECS_MODEL_ALIAS", value="{{ params.alias }}"),
            k8s.V1EnvVar(name="MOVIERECS_LOG_JSON", value="true"),
        ],
        secrets=[Secret(deploy_type="env", deploy_target=None, secret=ENV_SECRET)],
        container_security_context=k8s.V1SecurityContext(
            run_as_non_root=True,
            allow_privilege_escalation=False,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
        ),
        do_xcom_push=True,
        get_logs=True,
        # On failure the container's last log lines become its termination message (task log).
        termination_message_policy="FallbackToLogsOnError",
        on_finish_action="delete_succeeded_pod",  # keep failed pods for `kubectl logs`
        startup_timeout_seconds=600,
        **kwargs,  # type: ignore[arg-type]
    )


with DAG(
    dag_id=DAG_ID,
    description="Retrain iALS up to the interval's end, evaluate, promote through the quality gate",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=4),
    tags=["movierecs", "ml"],
    params={
        "image": Param("movierecs:0.1.0", type="string", description="movierecs image"),
        "namespace": Param("movierecs", type="string", description="namespace of the pods"),
        "model_name": Param("movierecs", type="string"),
        "alias": Param("champion", type="string", description="alias the gate moves"),
        "tolerance": Param(0.02, type="number", minimum=0, description="allowed NDCG@10 drop"),
    },
    default_args={
        "owner": "ml-platform",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "execution_timeout": timedelta(minutes=30),
    },
    doc_md=__doc__,
) as dag:
    train = _pod_task(
        "train",
        [
            "train",
            "--watermark",
            WATERMARK,
            "--register",
            "--output-dir",
            "/tmp/movierecs-bundle",  # noqa: S108  (pod-local scratch, gone with the pod)
            "--json",
            XCOM_FILE,
        ],
        execution_timeout=timedelta(hours=2),
        container_resources=_resources("1", "2Gi", "4Gi"),
    )
    evaluate = _pod_task(
        "evaluate",
        ["evaluate", "--version", VERSION, "--alias", "{{ params.alias }}", "--json", XCOM_FILE],
        execution_timeout=timedelta(minutes=30),
        container_resources=_resources("500m", "1Gi", "2Gi"),
    )
    promote = _pod_task(
        "promote",
        [
            "promote",
            "--version",
            VERSION,
            "--alias",
            "{{ params.alias }}",
            "--tolerance",
            "{{ params.tolerance }}",
            "--json",
            XCOM_FILE,
        ],
        # A refusal is a decision, not an outage: never retried, the task ends skipped with the
        # reason in XCom; any other non-zero exit fails the task as usual.
        skip_on_exit_code=GATE_REFUSED_EXIT_CODE,
        retries=1,
        execution_timeout=timedelta(minutes=30),
        # scores both models itself when the alias moved after `evaluate` (else reads its result)
        container_resources=_resources("500m", "1Gi", "2Gi"),
    )

    train >> evaluate >> promote
