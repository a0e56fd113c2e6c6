#!/usr/bin/env bash
# k8smod.sh DIR MODULE K8S_VERSION: writes DIR/go.mod for a scratch module that
# builds commands of k8s.io/kubernetes at K8S_VERSION, then tidies it.
# k8s.io/kubernetes requires each of its staging modules (k8s.io/api,
# k8s.io/apiserver, ...) as v0.0.0 and resolves them through its own replaces,
# which do not apply to a dependency: pin each one to the matching v0.X.Y.
set -euo pipefail
dir=$1 module=$2 version=$3
staging="v0.${version#1.}"   # 1.35.4 -> v0.35.4
export GOWORK=off GOFLAGS=-mod=mod
kmod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@v$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
[ -f "$kmod" ] || { echo "k8smod: could not download k8s.io/kubernetes@v$version" >&2; exit 1; }
{
  echo "module $module"
  echo
  echo "go 1.26"
  echo
  echo "require k8s.io/kubernetes v$version"
  echo
  awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$kmod" | sort -u |
    while read -r m; do echo "replace $m => $m $staging"; done
} >"$dir/go.mod"
(cd "$dir" && go mod tidy)
