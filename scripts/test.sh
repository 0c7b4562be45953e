#!/usr/bin/env bash
# `make test`: every test family, over real servers where this machine can run them.
# Starts the local stack (PostgreSQL, ClickHouse, Kafka-protocol broker, MLflow) and stops it after.
set -euo pipefail
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1
status=0

# --- local stack (scripts/stack.sh installs what is missing, then starts it) ---
if [ -x scripts/stack.sh ]; then
  scripts/stack.sh up
  trap 'scripts/stack.sh down' EXIT
  set -a; . .stack/env; set +a
fi

# --- the Examples sections of src/ (doctests; ui/app.py is a Streamlit script, not a module) ---
.venv/bin/pytest -q --doctest-modules src/movierecs --ignore=src/movierecs/ui/app.py || status=$?

# --- Python test families in the app venv (unit, contract, model, integration, charts, operators) ---
.venv/bin/pytest tests --ignore=tests/dags || status=$?

# --- Airflow DAGs in their own venv (Airflow 3 needs attrs>=24, rectools pins attrs<24) ---
if [ -x scripts/test-dags.sh ]; then
  scripts/test-dags.sh || status=$?
fi
exit $status
