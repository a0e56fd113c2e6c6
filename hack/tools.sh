#!/usr/bin/env bash
# Installs the standalone CLIs the tests drive (kustomize, clusterctl) with
# `go install` into a cache outside the repo, skipping what is already there.
# Prints the bin folder on its last line.
set -euo pipefail

KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.8.2}"
CLUSTERCTL_VERSION="${CLUSTERCTL_VERSION:-v1.13.6}"
CACHE="${PIVOTCHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pivotcheck}"
BIN="$CACHE/bin"
mkdir -p "$BIN"
export GOWORK=off GOFLAGS=-mod=mod GOBIN="$BIN"

install() { # name version-check-substring module@version
  local name=$1 want=$2 mod=$3
  local v
  # Capture first: `cmd | grep -q` under pipefail fails at random (SIGPIPE).
  if [ -x "$BIN/$name" ] && v=$("$BIN/$name" version 2>/dev/null) && [[ "$v" == *"$want"* ]]; then
    return
  fi
  echo "tools: installing $mod" >&2
  (cd "${TMPDIR:-/tmp}" && go install "$mod")
}

install kustomize "$KUSTOMIZE_VERSION" "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
# clusterctl's own version string comes from ldflags go install does not set;
# pin by a marker file instead.
if [ ! -x "$BIN/clusterctl" ] || [ "$(cat "$BIN/.clusterctl-version" 2>/dev/null)" != "$CLUSTERCTL_VERSION" ]; then
  echo "tools: installing sigs.k8s.io/cluster-api/cmd/clusterctl@$CLUSTERCTL_VERSION" >&2
  (cd "${TMPDIR:-/tmp}" && go install "sigs.k8s.io/cluster-api/cmd/clusterctl@$CLUSTERCTL_VERSION")
  echo "$CLUSTERCTL_VERSION" >"$BIN/.clusterctl-version"
fi
echo "$BIN"
