#!/usr/bin/env bash
# Restores a backup made by scripts/backup.sh into an empty data folder of a fresh install.
#
#   scripts/restore.sh ARCHIVE        (into $NEURONODE_DATA, default /var/lib/neuronode)
#
# Refused, with nothing written to the data folder, when: a service runs on it; it already holds a
# store's data; the archive is unreadable (truncated or corrupt); or any file differs from the
# SHA-256 its manifest records, is missing, or is not listed. The archive is unpacked and checked
# beside the data folder first; only a complete, verified copy is moved into place. Then start the
# services (stack/stack.sh up, or scripts/start.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${NEURONODE_DATA:-/var/lib/neuronode}"
log() { printf '[restore] %s\n' "$*" >&2; }
fail() { log "refused: $*"; exit 1; }
[ $# -eq 1 ] || { echo "usage: scripts/restore.sh ARCHIVE" >&2; exit 2; }
archive="$(realpath "$1")"
[ -f "$archive" ] || fail "no archive $1"

cd "$ROOT"
# A service answering on the stack's ports (they are the same for every data folder) must stop first.
running="$(bash stack/stack.sh status 2>/dev/null | awk '$2 == "running" { print $1 }' | tr '\n' ' ' || true)"
[ -z "$running" ] || fail "services are running ($running); stop them first (stack/stack.sh down)"
for p in postgres neo4j chroma temporal redis litellm; do
  if [ -d "$DATA/$p" ] && [ -n "$(ls -A "$DATA/$p")" ]; then fail "$DATA/$p holds data; restore into an empty data folder"; fi
done

mkdir -p "$(dirname "$DATA")"
stage="$(mktemp -d "$(dirname "$DATA")/.neuronode-restore.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
log "unpacking $archive"
tar -xzf "$archive" -C "$stage" 2>"$stage/.tar-errors" || fail "the archive is unreadable (truncated or corrupt): $(head -c 300 "$stage/.tar-errors")"
rm -f "$stage/.tar-errors"
[ -f "$stage/manifest.json" ] || fail "the archive has no manifest.json: not a Neuronode backup"
log "checking every file against the manifest"
node -e '
  const fs = require("fs"), crypto = require("crypto"), path = require("path");
  const stage = process.argv[1];
  const m = JSON.parse(fs.readFileSync(path.join(stage, "manifest.json"), "utf8"));
  if (m.format !== "neuronode-backup/1") { process.stderr.write(`[restore] refused: unknown backup format ${m.format}\n`); process.exit(1); }
  const listed = new Map(m.files.map((f) => [f.path, f.sha256]));
  const present = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else if (e.isFile()) present.push(path.relative(path.join(stage, "data"), p)); } };
  walk(path.join(stage, "data"));
  const problems = [];
  for (const p of present) if (!listed.has(p)) problems.push(`${p}: not in the manifest`);
  for (const [p, sum] of listed) {
    const file = path.join(stage, "data", p);
    if (!fs.existsSync(file)) { problems.push(`${p}: missing`); continue; }
    const got = crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    if (got !== sum) problems.push(`${p}: SHA-256 differs from the manifest`);
  }
  if (problems.length) { process.stderr.write(`[restore] refused: the archive does not match its manifest (${problems.length} problem(s)): ${problems.slice(0, 5).join("; ")}\n`); process.exit(1); }
  process.stderr.write(`[restore] ${listed.size} files verified; backup of ${m.created_at} (commit ${m.commit ?? "unknown"})\n`);
' "$stage"

mkdir -p "$DATA"
for entry in "$stage"/data/*; do
  name="$(basename "$entry")"
  rm -rf "${DATA:?}/$name"   # an empty folder of the fresh install, or its secrets.env
  mv "$entry" "$DATA/$name"
done
log "restored into $DATA; start the services with stack/stack.sh up"
