#!/usr/bin/env bash
# Installs the linters `make lint` runs: golangci-lint at a pinned version with
# `go install` into the cache outside the repo (skipped when already there),
# and checks that shellcheck is on PATH (it is a Haskell program, so it comes
# from the distribution: `apt-get install shellcheck`; .ci/run does that).
# Prints the golangci-lint binary's path on its last line.
set -euo pipefail

GOLANGCI_LINT_VERSION="${GOLANGCI_LINT_VERSION:-v2.15.0}"
CACHE="${PIVOTCHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pivotcheck}"
BIN="$CACHE/bin"
mkdir -p "$BIN"
# The build must not pick up the calling project's go.work or flags.
export GOWORK=off GOFLAGS=-mod=mod GOBIN="$BIN"

# Checked first so a missing one fails before a long install.
if ! command -v shellcheck >/dev/null 2>&1; then
  echo "lint-tools: shellcheck is not installed; install it with your package manager, e.g. 'apt-get install -y shellcheck' (Debian/Ubuntu), 'dnf install ShellCheck' or 'brew install shellcheck'" >&2
  exit 1
fi

# A `go install`ed golangci-lint reports its module version; capture the output
# before matching (`cmd | grep -q` under pipefail fails at random on SIGPIPE).
v=""
if [ ! -x "$BIN/golangci-lint" ] || ! v=$("$BIN/golangci-lint" version 2>/dev/null) ||
  [[ "$v" != *"version ${GOLANGCI_LINT_VERSION#v} "* && "$v" != *"version $GOLANGCI_LINT_VERSION "* ]]; then
  echo "lint-tools: installing github.com/golangci/golangci-lint/v2@$GOLANGCI_LINT_VERSION (first run: a few minutes)" >&2
  (cd "${TMPDIR:-/tmp}" && go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION")
fi

echo "$BIN/golangci-lint"
