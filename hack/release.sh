#!/usr/bin/env bash
# Builds the release: a static binary per platform (CGO_ENABLED=0, -trimpath,
# the version stamped as `make build` does), one archive per platform named as
# krew expects (pivotcheck_<version>_<os>_<arch>.tar.gz), SHA256SUMS, and the
# krew manifest rendered from deploy/krew/pivotcheck.yaml with those sha256s.
#
# Environment:
#   VERSION    release version (default: git describe, as in the Makefile)
#   OUT        output folder (default: dist)
#   PLATFORMS  space-separated os/arch list (default: linux and darwin, amd64 and arm64)
#   REPO_URL   where the archives are published (krew manifest uri)
#   GO         the go command (a test substitutes a stand-in to check packaging fast)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
OUT=${OUT:-dist}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}
REPO_URL=${REPO_URL:-https://github.com/pivotcheck/pivotcheck}
GO=${GO:-go}
# Archive timestamps follow the commit, so the same commit gives the same bytes.
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
pkg=github.com/pivotcheck/pivotcheck/internal/version
ldflags="-s -w -X $pkg.Version=$VERSION"

# krew wants a semantic version with a leading v; an untagged build gets a
# pre-release of v0.0.0 so the manifest still validates.
krew_version=$VERSION
if [[ ! $krew_version =~ ^v[0-9]+\.[0-9]+\.[0-9]+ ]]; then
  krew_version="v0.0.0-${VERSION//[^0-9A-Za-z.-]/-}"
fi

sha256() { # file -> hex digest
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

archives=()
for platform in $PLATFORMS; do
  goos=${platform%/*} goarch=${platform#*/}
  name="pivotcheck_${VERSION}_${goos}_${goarch}"
  dir="$stage/$name"
  mkdir -p "$dir"
  echo "release: building $platform" >&2
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch "$GO" build -trimpath -ldflags "$ldflags" -o "$dir/pivotcheck" ./cmd/pivotcheck
  # One binary, three names: clusterctl and kubectl run clusterctl-<name> and
  # kubectl-<name> from PATH (krew makes its own kubectl-pivotcheck link).
  ln -s pivotcheck "$dir/clusterctl-pivotcheck"
  ln -s pivotcheck "$dir/kubectl-pivotcheck"
  cp README.md "$dir/"
  if [ -f LICENSE ]; then cp LICENSE "$dir/"; fi
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -C "$dir" -cf - . | gzip -9n >"$OUT/$name.tar.gz"
  archives+=("$name.tar.gz")
done

(cd "$OUT" && for a in "${archives[@]}"; do echo "$(sha256 "$a")  $a"; done) >"$OUT/SHA256SUMS"

# The manifest template holds one platform entry between the platform-begin
# and platform-end markers; it is repeated for each built platform.
platform_entries=""
for platform in $PLATFORMS; do
  goos=${platform%/*} goarch=${platform#*/}
  name="pivotcheck_${VERSION}_${goos}_${goarch}.tar.gz"
  platform_entries+="$goos $goarch $REPO_URL/releases/download/$VERSION/$name $(sha256 "$OUT/$name")"$'\n'
done
awk -v version="$krew_version" -v homepage="$REPO_URL" -v entries="$platform_entries" '
  /# platform-begin/ { inblock = 1; next }
  /# platform-end/ {
    inblock = 0
    n = split(entries, lines, "\n")
    for (i = 1; i <= n; i++) {
      if (lines[i] == "") continue
      split(lines[i], f, " ")
      out = block
      gsub(/@OS@/, f[1], out); gsub(/@ARCH@/, f[2], out)
      gsub(/@URI@/, f[3], out); gsub(/@SHA256@/, f[4], out)
      printf "%s", out
    }
    next
  }
  inblock { block = block $0 "\n"; next }
  { gsub(/@VERSION@/, version); gsub(/@HOMEPAGE@/, homepage); print }
' deploy/krew/pivotcheck.yaml >"$OUT/pivotcheck.yaml"

echo "release: $OUT" >&2
ls -1 "$OUT" >&2
