#!/usr/bin/env bash
# Creates .venv with the app, its UI and its test tools (one environment, constrained: see
# constraints.txt). Idempotent: re-running only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
fi
"$VENV/bin/pip" install -q -c constraints.txt -e ".[ui,ops,dev]"
touch "$VENV/.installed"
