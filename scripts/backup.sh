#!/usr/bin/env bash
# A consistent backup of the embedded stack's state: PostgreSQL, Neo4j, Chroma, Temporal, Redis and
# LiteLLM's data, with the secrets that open them.
#
#   scripts/backup.sh [--out FILE]     (default: ./neuronode-backup-<UTC time>.tar.gz)
#
# 1. Waits until no ingestion, deletion or question workflow is running (BACKUP_QUIESCE_TIMEOUT_S,
#    default 600 s) and records each workspace's corpus version and document counts.
# 2. Stops the services (a cold snapshot is consistent across every store by construction), archives
#    their data folders with a manifest (versions, commit, counts, and the SHA-256 of every file), and
#    starts them again if they were running.
# The archive holds secrets (secrets.env): it is written readable by its owner alone (0600).
# The API, worker and web processes are not stopped: while the services are down (about a minute)
# their requests fail with 503 and Temporal retries the workers' activities after.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${NEURONODE_DATA:-/var/lib/neuronode}"
out="$PWD/neuronode-backup-$(date -u +%Y%m%dT%H%M%SZ).tar.gz"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$(realpath -m "${2:?--out needs a file}")"; shift 2 ;;
    *) echo "usage: scripts/backup.sh [--out FILE]" >&2; exit 2 ;;
  esac
done
log() { printf '[backup] %s\n' "$*" >&2; }
[ -f "$DATA/secrets.env" ] || { log "no installation in $DATA (no secrets.env)"; exit 1; }
[ ! -e "$out" ] || { log "$out exists; not overwriting it"; exit 1; }

cd "$ROOT"
was_up=0
bash stack/stack.sh status >/dev/null 2>&1 && was_up=1
state='{}'
if [ "$was_up" = 1 ]; then
  state="$(set -a; . "$DATA/secrets.env"; set +a; eval "$(bash stack/stack.sh env)"; npx tsx scripts/backup-state.ts)"
else
  log "the services are not running: archiving the data folders as they are"
fi

stage="$(mktemp -d "$(dirname "$out")/.neuronode-backup.XXXXXX")"
restart() { if [ "$was_up" = 1 ]; then log "starting the services again"; bash stack/stack.sh up >/dev/null; fi; }
cleanup() { rm -rf "$stage"; }
trap cleanup EXIT
if [ "$was_up" = 1 ]; then
  log "stopping the services for the snapshot"
  bash stack/stack.sh down >/dev/null
  trap 'restart; cleanup' EXIT
fi

# Everything under the data folder but what the running processes keep for themselves.
parts=()
for p in secrets.env postgres neo4j chroma temporal redis litellm models; do [ -e "$DATA/$p" ] && parts+=("$p"); done
log "checksumming ${parts[*]}"
(cd "$DATA" && find "${parts[@]}" -type f -print0 | sort -z | xargs -0 -r sha256sum) >"$stage/files.sha256"
node -e '
  const fs = require("fs");
  const [stateJson, sums, root] = process.argv.slice(1);
  const files = fs.readFileSync(sums, "utf8").trim().split("\n").filter(Boolean).map((l) => ({ sha256: l.slice(0, 64), path: l.slice(66) }));
  const git = (a) => { try { return require("child_process").execFileSync("git", a, { cwd: root, encoding: "utf8" }).trim(); } catch (e) { if (e.status === undefined) throw e; return null; } };
  const manifest = {
    format: "neuronode-backup/1",
    created_at: new Date().toISOString(),
    neuronode_version: require(root + "/package.json").version,
    commit: git(["rev-parse", "HEAD"]),
    litellm_pin: (fs.readFileSync(root + "/litellm/requirements.in", "utf8").match(/litellm\[proxy\]==([0-9.]+)|litellm==([0-9.]+)/) || []).slice(1).find(Boolean) || null,
    ...JSON.parse(stateJson),
    files,
  };
  fs.writeFileSync(sums.replace(/files\.sha256$/, "manifest.json"), JSON.stringify(manifest, null, 2));
' "$state" "$stage/files.sha256" "$ROOT"
log "archiving into $out"
umask 077
# The data folders go under data/ in the archive; the manifest stays at its top.
tar -czf "$out.partial" --transform 's,^\(secrets\.env\|postgres\|neo4j\|chroma\|temporal\|redis\|litellm\|models\),data/\1,' \
  -C "$stage" manifest.json -C "$DATA" "${parts[@]}"
mv "$out.partial" "$out"
chmod 600 "$out"
log "done: $out ($(du -h "$out" | cut -f1), $(grep -c '"sha256"' "$stage/manifest.json") files)"
echo "$out"
