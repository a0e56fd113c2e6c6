#!/usr/bin/env bash
# Installs the standalone CLIs the tests drive (kustomize with `go install`,
# clusterctl built from a scratch module) into a cache outside the repo,
# skipping what is already there, and builds kubectl there when the machine
# has none.
# Prints the bin folder on its last line.
set -euo pipefail

KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.8.2}"
CLUSTERCTL_VERSION="${CLUSTERCTL_VERSION:-v1.14.2}"
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
# clusterctl: since v1.14 the root module replaces its ./api folder (the API
# types are the separate module sigs.k8s.io/cluster-api/api), so
# `go install .../cmd/clusterctl@VERSION` is refused. Build it as a tool of a
# scratch module that requires the published api module of the same release,
# with the ldflags upstream's release build sets, so `clusterctl version`
# reports the version. Pinned by a marker file.
if [ ! -x "$BIN/clusterctl" ] || [ "$(cat "$BIN/.clusterctl-version" 2>/dev/null)" != "$CLUSTERCTL_VERSION" ]; then
  echo "tools: building sigs.k8s.io/cluster-api/cmd/clusterctl $CLUSTERCTL_VERSION (about 3 min cold)" >&2
  d="$CACHE/src/clusterctl-$CLUSTERCTL_VERSION"
  mkdir -p "$d"
  cminor=${CLUSTERCTL_VERSION#v1.}; cminor=${cminor%%.*}
  req="sigs.k8s.io/cluster-api $CLUSTERCTL_VERSION"
  if [ "${CLUSTERCTL_VERSION%%.*}" != v1 ] || [ "$cminor" -ge 14 ]; then
    req="$req
	sigs.k8s.io/cluster-api/api $CLUSTERCTL_VERSION"
  fi
  if [ ! -f "$d/go.sum" ]; then
    printf 'module pivotcheck.local/clusterctl\n\ngo 1.26\n\ntool sigs.k8s.io/cluster-api/cmd/clusterctl\n\nrequire (\n\t%s\n)\n' "$req" >"$d/go.mod"
    (cd "$d" && go mod tidy)
  fi
  cpkg=sigs.k8s.io/cluster-api/version
  ldflags="-s -w -X $cpkg.gitVersion=$CLUSTERCTL_VERSION -X $cpkg.gitMajor=1 -X $cpkg.gitMinor=$cminor -X $cpkg.gitTreeState=clean"
  (cd "$d" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$BIN/clusterctl.tmp" sigs.k8s.io/cluster-api/cmd/clusterctl &&
    mv "$BIN/clusterctl.tmp" "$BIN/clusterctl")
  echo "$CLUSTERCTL_VERSION" >"$BIN/.clusterctl-version"
fi
# kubectl: the tests run the machine's kubectl (the kubectl plugin round
# trip). Where none is on PATH, build kubectl from its published module
# (k8s.io/kubectl's command, the same main as upstream's cmd/kubectl) so a
# fresh machine needs nothing installed by hand.
KUBECTL_VERSION="${KUBECTL_VERSION:-v0.35.4}"
if { ! command -v kubectl >/dev/null 2>&1 || [ "${PIVOTCHECK_BUILD_KUBECTL:-}" = 1 ]; } &&
  [ "$(cat "$BIN/.kubectl-version" 2>/dev/null)" != "$KUBECTL_VERSION" ]; then
  echo "tools: no kubectl on PATH: building k8s.io/kubectl@$KUBECTL_VERSION's command (about 2 min cold)" >&2
  d="$CACHE/src/kubectl-$KUBECTL_VERSION"
  mkdir -p "$d"
  cat >"$d/main.go" <<'GO'
// Command kubectl runs k8s.io/kubectl's command, as upstream's cmd/kubectl does.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	if err := cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()); err != nil {
		util.CheckErr(err)
	}
}
GO
  if [ ! -f "$d/go.sum" ]; then
    printf 'module pivotcheck.local/kubectl\n\ngo 1.26\n\nrequire k8s.io/kubectl %s\n' "$KUBECTL_VERSION" >"$d/go.mod"
    (cd "$d" && go mod tidy)
  fi
  minor=${KUBECTL_VERSION#v0.}; minor=${minor%%.*}
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v1.${KUBECTL_VERSION#v0.} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
  (cd "$d" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$BIN/kubectl.tmp" . && mv "$BIN/kubectl.tmp" "$BIN/kubectl")
  echo "$KUBECTL_VERSION" >"$BIN/.kubectl-version"
fi
echo "$BIN"
