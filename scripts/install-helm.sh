#!/usr/bin/env bash
# Helm, for linting and rendering the chart (deploy/helm/neuronode): built from source with the Go
# toolchain, at the exact version deploy/tools/go.mod pins, every module checked against
# deploy/tools/go.sum (-mod=readonly: nothing is resolved anew). Into the cache outside the
# repository; idempotent (a second run finds the binary and prints its path).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${NEURONODE_CACHE:-$HOME/.cache/neuronode}"
version="$(awk '$1 == "helm.sh/helm/v3" { print $2 } $1 == "require" && $2 == "helm.sh/helm/v3" { print $3 }' "$ROOT/deploy/tools/go.mod")"
[ -n "$version" ] || { echo "[helm] deploy/tools/go.mod pins no helm.sh/helm/v3" >&2; exit 1; }
stamp="$(cat "$ROOT/deploy/tools/go.mod" "$ROOT/deploy/tools/go.sum" | sha256sum | cut -c1-16)"
bin="$CACHE/bin/helm-$version-$stamp"
if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "[helm] the Go toolchain is needed to build helm $version" >&2; exit 1; }
  echo "[helm] building helm $version from the Go module proxy (hash-checked by deploy/tools/go.sum)" >&2
  mkdir -p "$CACHE/bin"
  (
    cd "$ROOT/deploy/tools"
    GOFLAGS=-mod=readonly GOPATH="$CACHE/go" GOMODCACHE="$CACHE/go/mod" GOTOOLCHAIN=local \
      go build -trimpath -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$version" -o "$bin.tmp" helm.sh/helm/v3/cmd/helm
  )
  mv "$bin.tmp" "$bin"
fi
echo "$bin"
