#!/usr/bin/env bash
# Installs the Node dependencies from the lockfiles (the API's and the web application's) when they are
# missing or stale (npm ci), then the native service stack's tools and the browser the tests drive
# (stack/stack.sh install). Idempotent; safe to run on every start.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
stamp="$(cat package-lock.json .npmrc | sha256sum | cut -d' ' -f1)"
if [ ! -f node_modules/.neuronode-lock ] || [ "$(cat node_modules/.neuronode-lock)" != "$stamp" ]; then
  echo "[install] npm ci (package-lock.json)" >&2
  # The npm cache lives outside the repository so fresh clones reuse it.
  npm ci --no-audit --no-fund --cache "${NEURONODE_CACHE:-$HOME/.cache/neuronode}/npm" >/dev/null
  echo "$stamp" >node_modules/.neuronode-lock
fi
# The web application's own dependencies, from its own lockfile.
wstamp="$(cat web/package-lock.json web/.npmrc | sha256sum | cut -d' ' -f1)"
if [ ! -f web/node_modules/.neuronode-lock ] || [ "$(cat web/node_modules/.neuronode-lock)" != "$wstamp" ]; then
  echo "[install] npm ci (web/package-lock.json)" >&2
  (cd web && npm ci --no-audit --no-fund --cache "${NEURONODE_CACHE:-$HOME/.cache/neuronode}/npm" >/dev/null)
  echo "$wstamp" >web/node_modules/.neuronode-lock
fi
bash stack/stack.sh install
