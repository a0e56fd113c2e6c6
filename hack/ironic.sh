#!/usr/bin/env bash
# Installs the lab's real Ironic and its Redfish BMC emulator from PyPI into a
# Python virtual environment: ironic (all-in-one `ironic` process,
# `ironic-dbsync`) and sushy-tools (`sushy-emulator`), at pinned versions,
# with every dependency pinned by hack/ironic-constraints.txt.
# The venv is cached at $PIVOTCHECK_CACHE/lab/ironic-$IRONIC_VERSION; a second
# run only checks it (installed versions and a stamp of the constraints and
# the Python it was made with). It also keeps an empty Ironic database made by
# `ironic-dbsync create_schema` (schema.sqlite in the venv), which the lab
# copies for each Ironic instead of spending seconds on the schema each time.
# Prints the venv folder on its last line.
set -euo pipefail

IRONIC_VERSION="${IRONIC_VERSION:-39.0.0}"
SUSHY_TOOLS_VERSION="${SUSHY_TOOLS_VERSION:-2.2.0}"
PYTHON="${PYTHON:-python3}"
CACHE="${PIVOTCHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pivotcheck}"
HERE="$(cd "$(dirname "$0")" && pwd)"
CONSTRAINTS="$HERE/ironic-constraints.txt"
VENV="$CACHE/lab/ironic-$IRONIC_VERSION"

log() { echo "ironic: $*" >&2; }
fail() { echo "ironic: $*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null 2>&1 ||
  fail "no $PYTHON on PATH: Ironic $IRONIC_VERSION needs Python >= 3.11 (set PYTHON=/path/to/python3.11+)"
pyver=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])') ||
  fail "$PYTHON does not run"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  fail "$PYTHON is Python $pyver; Ironic $IRONIC_VERSION needs Python >= 3.11 (set PYTHON=/path/to/python3.11+)"
[ -f "$CONSTRAINTS" ] || fail "missing $CONSTRAINTS"

# The stamp names what the venv was made from; any change rebuilds it.
stamp="ironic==$IRONIC_VERSION sushy-tools==$SUSHY_TOOLS_VERSION python=$pyver($(command -v "$PYTHON")) constraints=$(sha256sum "$CONSTRAINTS" | cut -c1-16)"

have() {
  [ "$(cat "$VENV/.pivotcheck-stamp" 2>/dev/null)" = "$stamp" ] || return 1
  local v
  v=$("$VENV/bin/python" - <<'PY' 2>/dev/null
from importlib.metadata import version
print(version("ironic"), version("sushy-tools"))
PY
) || return 1
  [ "$v" = "$IRONIC_VERSION $SUSHY_TOOLS_VERSION" ] || return 1
  for b in ironic ironic-dbsync sushy-emulator; do [ -x "$VENV/bin/$b" ] || return 1; done
}

if ! have; then
  log "installing ironic $IRONIC_VERSION and sushy-tools $SUSHY_TOOLS_VERSION from PyPI into $VENV (about 1 min cold)"
  t0=$SECONDS
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  logf="$CACHE/lab/ironic.install.log"
  "$PYTHON" -m venv "$VENV" >"$logf" 2>&1 || {
    tail -n 5 "$logf" >&2
    fail "$PYTHON cannot create a virtual environment (on Debian: apt-get install python3-venv; log: $logf)"
  }
  if ! "$VENV/bin/pip" install --disable-pip-version-check --no-input -c "$CONSTRAINTS" \
    "ironic==$IRONIC_VERSION" "sushy-tools==$SUSHY_TOOLS_VERSION" >>"$logf" 2>&1; then
    tail -n 20 "$logf" >&2
    fail "pip could not install ironic $IRONIC_VERSION + sushy-tools $SUSHY_TOOLS_VERSION (needs PyPI; full log: $logf)"
  fi
  echo "$stamp" >"$VENV/.pivotcheck-stamp"
  have || fail "the venv $VENV does not report ironic $IRONIC_VERSION and sushy-tools $SUSHY_TOOLS_VERSION after the install (log: $logf)"
  log "installed in $((SECONDS - t0)) s ($(du -sh "$VENV" | cut -f1))"
fi
SCHEMA="$VENV/schema.sqlite"
if [ ! -s "$SCHEMA" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  printf '[database]\nconnection = sqlite:///%s\n' "$tmp/schema.sqlite" >"$tmp/ironic.conf"
  if ! "$VENV/bin/ironic-dbsync" --config-file "$tmp/ironic.conf" create_schema >"$tmp/dbsync.log" 2>&1; then
    tail -n 20 "$tmp/dbsync.log" >&2
    fail "ironic-dbsync create_schema failed for an empty sqlite database"
  fi
  mv "$tmp/schema.sqlite" "$SCHEMA"
  log "created the empty Ironic database $SCHEMA"
fi
echo "$VENV"
