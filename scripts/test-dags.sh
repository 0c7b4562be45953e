#!/usr/bin/env bash
# DAG tests in their own venv: Airflow 3 needs attrs>=24 while rectools pins attrs<24, so Airflow can
# never share .venv with the app. Creates .venv-airflow once (plain pip: constraints files are not
# reachable here), then runs pytest on tests/dags with a throwaway AIRFLOW_HOME.
#   scripts/test-dags.sh [pytest args...]     e.g. scripts/test-dags.sh -k render
# Env: AIRFLOW_VENV (default .venv-airflow), PYTHON (interpreter for the venv, default python3.11).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${AIRFLOW_VENV:-.venv-airflow}"
PY="${PYTHON:-$(command -v python3.11 || command -v python3)}"

installed() {
  [ -x "$VENV/bin/python" ] && "$VENV/bin/python" - <<'PY' 2>/dev/null
import airflow, pytest  # noqa: F401
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator  # noqa: F401
PY
}

if ! installed; then
  echo "test-dags: creating $VENV (apache-airflow + cncf-kubernetes provider + pytest)" >&2
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet apache-airflow apache-airflow-providers-cncf-kubernetes pytest
  installed || { echo "test-dags: Airflow is not importable from $VENV after install" >&2; exit 1; }
fi

AIRFLOW_HOME="$(mktemp -d "${TMPDIR:-/tmp}/airflow-home.XXXXXX")"
trap 'rm -rf "$AIRFLOW_HOME"' EXIT
export AIRFLOW_HOME
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__UNIT_TEST_MODE=True
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/dags"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export AIRFLOW__LOGGING__BASE_LOG_FOLDER="$AIRFLOW_HOME/logs"
export PYTHONDONTWRITEBYTECODE=1
export OPENBLAS_NUM_THREADS=1

# tests/dags/pytest.ini holds the options (the app's pyproject ones need pytest-asyncio).
paths=(tests/dags)
for arg in "$@"; do [[ "$arg" == tests/* ]] && paths=(); done
exec "$VENV/bin/python" -m pytest "${paths[@]}" "$@"
