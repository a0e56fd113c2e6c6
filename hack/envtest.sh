#!/usr/bin/env bash
# Builds the envtest control plane (kube-apiserver + etcd) from the Go module
# proxy, because no binary download site is reachable from these machines.
# The result is cached outside the repo; a second run only checks it.
# Prints the folder to use as KUBEBUILDER_ASSETS on its last line.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.35.4}"
ETCD_VERSION="${ETCD_VERSION:-3.6.5}"
CACHE="${PIVOTCHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pivotcheck}"
OUT="$CACHE/k8s/$K8S_VERSION"
SRC="$CACHE/src"

log() { echo "envtest: $*" >&2; }

# Capture the version output before matching: `cmd | grep -q` under pipefail
# fails at random when grep exits first and cmd dies of SIGPIPE.
have_apiserver() {
  local v
  [ -x "$OUT/kube-apiserver" ] && v=$("$OUT/kube-apiserver" --version 2>/dev/null) &&
    [ "$v" = "Kubernetes v$K8S_VERSION" ]
}
have_etcd() {
  local v
  [ -x "$OUT/etcd" ] && v=$("$OUT/etcd" --version 2>/dev/null) &&
    [[ "$v" == *"etcd Version: $ETCD_VERSION"* ]]
}

mkdir -p "$OUT" "$SRC"
# Builds must not pick up the calling project's go.work or flags.
export GOWORK=off GOFLAGS=-mod=mod

if ! have_etcd; then
  log "building etcd v$ETCD_VERSION (about 30 s cold)"
  d="$SRC/etcd-$ETCD_VERSION"
  mkdir -p "$d"
  cat >"$d/main.go" <<'GO'
// Command etcd runs the upstream etcd server main.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  if [ ! -f "$d/go.sum" ]; then
    (cd "$d" && rm -f go.mod && go mod init pivotcheck.local/etcd >/dev/null 2>&1 &&
      go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >/dev/null && go mod tidy)
  fi
  (cd "$d" && CGO_ENABLED=0 go build -trimpath -o "$OUT/etcd.tmp" . && mv "$OUT/etcd.tmp" "$OUT/etcd")
fi

if ! have_apiserver; then
  log "building kube-apiserver v$K8S_VERSION (about 4 min cold on 2 cores)"
  d="$SRC/kube-apiserver-$K8S_VERSION"
  mkdir -p "$d"
  cat >"$d/main.go" <<'GO'
// Command kube-apiserver runs the upstream API server command.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() { os.Exit(cli.Run(app.NewAPIServerCommand())) }
GO
  if [ ! -f "$d/go.sum" ]; then
    "$(dirname "$0")/k8smod.sh" "$d" pivotcheck.local/kubeapiserver "$K8S_VERSION"
  fi
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=${K8S_VERSION%%.*}"
  minor=${K8S_VERSION#*.}; minor=${minor%%.*}
  ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor"
  ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"
  (cd "$d" && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$OUT/kube-apiserver.tmp" . &&
    mv "$OUT/kube-apiserver.tmp" "$OUT/kube-apiserver")
fi

have_etcd || { echo "envtest: etcd at $OUT does not report v$ETCD_VERSION" >&2; exit 1; }
have_apiserver || { echo "envtest: kube-apiserver at $OUT does not report v$K8S_VERSION" >&2; exit 1; }
echo "$OUT"
