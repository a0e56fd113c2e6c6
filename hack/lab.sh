#!/usr/bin/env bash
# Builds the Metal3 lab's controllers from the Go module proxy at pinned
# versions, because no binary download site is reachable from these machines:
#   kube-controller-manager and kube-scheduler v1.35.4 (the apiserver's recipe),
#   kwok v0.7.0, the baremetal-operator v0.13.2 manager, and the CAPM3 v1.13.2
#   and IPAM v1.13.2 managers;
# and installs Ironic 39.0.0 and sushy-tools 2.2.0 from PyPI into a Python
# virtual environment (hack/ironic.sh; PIVOTCHECK_IRONIC=off skips it).
# Results are cached outside the repo (the Kubernetes ones beside the envtest
# binaries); a second run only checks them. Prints the lab folder on its last
# line. `hack/lab.sh NAME...` builds only the named binaries.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.35.4}"
KWOK_VERSION="${KWOK_VERSION:-v0.7.0}"
BMO_VERSION="${BMO_VERSION:-v0.13.2}"
CAPM3_VERSION="${CAPM3_VERSION:-v1.13.2}"
IPAM_VERSION="${IPAM_VERSION:-v1.13.2}"
CACHE="${PIVOTCHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pivotcheck}"
K8S_OUT="$CACHE/k8s/$K8S_VERSION"
OUT="$CACHE/lab"
SRC="$CACHE/src"
HERE="$(cd "$(dirname "$0")" && pwd)"

log() { echo "lab: $*" >&2; }
fail() { echo "lab: $*" >&2; exit 1; }

mkdir -p "$K8S_OUT" "$OUT" "$SRC"
# Builds must not pick up the calling project's go.work or flags. The Metal3
# modules have no entry in the public checksum database.
export GOWORK=off GOFLAGS=-mod=mod
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/metal3-io"

# timed NAME CMD...: runs a build, logging to $OUT/NAME.build.log, and says
# how long it took; on failure it names the binary and the log.
timed() {
  local name=$1; shift
  local logf="$OUT/$name.build.log" t0=$SECONDS
  if ! "$@" >"$logf" 2>&1; then
    tail -n 20 "$logf" >&2
    fail "building $name failed (full log: $logf)"
  fi
  log "built $name in $((SECONDS - t0)) s"
}

# --- Kubernetes controllers -------------------------------------------------
k8s_have() { # binary: reports exactly v$K8S_VERSION
  local v
  [ -x "$K8S_OUT/$1" ] && v=$("$K8S_OUT/$1" --version 2>/dev/null) && [ "$v" = "Kubernetes v$K8S_VERSION" ]
}

k8s_build() { # binary app-package constructor
  local bin=$1 pkg=$2 ctor=$3
  local d="$SRC/kube-controllers-$K8S_VERSION"
  mkdir -p "$d/$bin"
  cat >"$d/$bin/main.go" <<GO
// Command $bin runs the upstream command of the same name.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"$pkg"
)

func main() { os.Exit(cli.Run(app.$ctor)) }
GO
  if [ ! -f "$d/go.sum" ]; then
    "$HERE/k8smod.sh" "$d" pivotcheck.local/kubecontrollers "$K8S_VERSION"
  fi
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=${K8S_VERSION%%.*}"
  local minor=${K8S_VERSION#*.}; minor=${minor%%.*}
  ldflags+=" -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  (cd "$d" && go mod tidy && CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$K8S_OUT/$bin.tmp" "./$bin" &&
    mv "$K8S_OUT/$bin.tmp" "$K8S_OUT/$bin")
}

# --- Go tools built from a scratch module -----------------------------------
# Each Metal3 manager is the main package at its module's root. It is built as
# a `tool` of a scratch module, so the upstream go.mod's local replaces (which
# point into folders the module zip does not have) are ignored and the
# published nested modules are required instead.
tool_build() { # name main-package go.mod-body
  local name=$1 pkg=$2 body=$3
  local d="$SRC/$name"
  mkdir -p "$d"
  if [ ! -f "$d/go.sum" ] || [ "$(cat "$d/.body" 2>/dev/null)" != "$body" ]; then
    printf 'module pivotcheck.local/%s\n\ngo 1.26\n\ntool %s\n\n%s\n' "${name//[^a-z0-9]/}" "$pkg" "$body" >"$d/go.mod"
    rm -f "$d/go.sum"
    (cd "$d" && go mod tidy)
    printf '%s' "$body" >"$d/.body"
  fi
  (cd "$d" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$OUT/$name.tmp" "$pkg" && mv "$OUT/$name.tmp" "$OUT/$name")
}

want() { [ ${#WANT[@]} -eq 0 ] || [[ " ${WANT[*]} " == *" $1 "* ]]; }
WANT=("$@")

if want kube-controller-manager && ! k8s_have kube-controller-manager; then
  log "building kube-controller-manager v$K8S_VERSION (about 4 min cold on 2 cores)"
  timed kube-controller-manager k8s_build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager/app "NewControllerManagerCommand()"
fi
if want kube-scheduler && ! k8s_have kube-scheduler; then
  log "building kube-scheduler v$K8S_VERSION"
  timed kube-scheduler k8s_build kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler/app "NewSchedulerCommand()"
fi

KWOK="kwok-$KWOK_VERSION"
if want kwok && [ ! -x "$OUT/$KWOK" ]; then
  log "building kwok $KWOK_VERSION (about 4 min cold)"
  timed kwok tool_build "$KWOK" sigs.k8s.io/kwok/cmd/kwok "require sigs.k8s.io/kwok $KWOK_VERSION"
fi

BMO="baremetal-operator-$BMO_VERSION"
if want baremetal-operator && [ ! -x "$OUT/$BMO" ]; then
  log "building the baremetal-operator $BMO_VERSION manager (about 5 min cold)"
  # BMO's go.mod replaces its apis and hardwareutils modules with folders the
  # zip lacks, and pins an ironic-standalone-operator/api the proxy does not
  # serve: require the published modules of the same release instead.
  timed baremetal-operator tool_build "$BMO" github.com/metal3-io/baremetal-operator "require (
	github.com/metal3-io/baremetal-operator $BMO_VERSION
	github.com/metal3-io/baremetal-operator/apis $BMO_VERSION
	github.com/metal3-io/baremetal-operator/pkg/hardwareutils v0.13.1
)

replace github.com/metal3-io/ironic-standalone-operator/api => github.com/metal3-io/ironic-standalone-operator/api v0.9.0"
fi

CAPM3="cluster-api-provider-metal3-$CAPM3_VERSION"
if want cluster-api-provider-metal3 && [ ! -x "$OUT/$CAPM3" ]; then
  log "building the CAPM3 $CAPM3_VERSION manager"
  timed cluster-api-provider-metal3 tool_build "$CAPM3" github.com/metal3-io/cluster-api-provider-metal3 "require github.com/metal3-io/cluster-api-provider-metal3 $CAPM3_VERSION

replace github.com/metal3-io/cluster-api-provider-metal3/api => github.com/metal3-io/cluster-api-provider-metal3/api $CAPM3_VERSION"
fi

IPAM="ip-address-manager-$IPAM_VERSION"
if want ip-address-manager && [ ! -x "$OUT/$IPAM" ]; then
  log "building the IPAM $IPAM_VERSION manager"
  timed ip-address-manager tool_build "$IPAM" github.com/metal3-io/ip-address-manager "require github.com/metal3-io/ip-address-manager $IPAM_VERSION

replace github.com/metal3-io/ip-address-manager/api => github.com/metal3-io/ip-address-manager/api $IPAM_VERSION"
fi

# PIVOTCHECK_IRONIC=off: a machine without Python 3.11 or PyPI (the Ironic
# lab tests then skip, saying so).
if want ironic && [ "${PIVOTCHECK_IRONIC:-on}" = off ]; then
  log "PIVOTCHECK_IRONIC=off: Ironic and sushy-tools not installed"
elif want ironic; then
  IRONIC_VENV=$("$HERE/ironic.sh" | tail -n 1) || fail "installing Ironic failed (see above)"
  [ "$IRONIC_VENV" = "$OUT/ironic-${IRONIC_VERSION:-39.0.0}" ] || fail "hack/ironic.sh installed into $IRONIC_VENV, not into $OUT"
fi

for b in kube-controller-manager kube-scheduler; do
  if want "$b"; then k8s_have "$b" || fail "$b at $K8S_OUT does not report v$K8S_VERSION"; fi
done
for b in "$KWOK" "$BMO" "$CAPM3" "$IPAM"; do
  n=${b%-v*}
  if want "$n"; then [ -x "$OUT/$b" ] || fail "$b missing in $OUT"; fi
done
echo "$OUT"
