#!/usr/bin/env bash
# Load generators for `make bench`: wrk (Debian package) for closed-loop throughput.
# Idempotent; the benches fall back to their own raw-socket client when wrk is missing.
set -euo pipefail
if command -v wrk >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-bench-tools: wrk missing and not root; using the built-in client" >&2; exit 0; }
  SUDO="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get install -y -q wrk >/dev/null 2>&1 || { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q wrk >/dev/null; } \
  || echo "install-bench-tools: could not install wrk; using the built-in client" >&2
command -v wrk >/dev/null 2>&1 && wrk --version 2>&1 | head -1 || true
