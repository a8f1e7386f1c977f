#!/usr/bin/env bash
# Starts the whole system on the embedded default: the native service stack, then the worker and the
# API. Installs whatever is missing first. `scripts/start.sh stop` stops everything again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATA="${NEURONODE_DATA:-/var/lib/neuronode}"

stop_app() {
  local name pid
  for name in api worker; do
    if [ -f "$DATA/run/$name.pid" ]; then
      pid="$(cat "$DATA/run/$name.pid")"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$DATA/run/$name.pid"
    fi
  done
}

case "${1:-up}" in
  stop)
    stop_app
    bash stack/stack.sh down
    exit 0 ;;
  up) ;;
  *) echo "usage: scripts/start.sh [up|stop]" >&2; exit 2 ;;
esac

bash scripts/install.sh
bash stack/stack.sh up
eval "$(bash stack/stack.sh env)"
npm run --silent build
stop_app
mkdir -p "$DATA/logs" "$DATA/run"
setsid node dist/src/worker.js >>"$DATA/logs/worker.log" 2>&1 < /dev/null &
echo $! >"$DATA/run/worker.pid"
setsid node dist/src/api/server.js >>"$DATA/logs/api.log" 2>&1 < /dev/null &
echo $! >"$DATA/run/api.pid"

for _ in $(seq 1 120); do
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/health" || true)"
  [ "$code" = 200 ] && break
  sleep 0.5
done
[ "$code" = 200 ] || { tail -n 40 "$DATA/logs/api.log" "$DATA/logs/worker.log" >&2; echo "the API did not become healthy" >&2; exit 1; }

cat <<MSG

Neuronode is running.
  API            http://127.0.0.1:$PORT/api   (health: /api/health; docs: http://127.0.0.1:$PORT/docs)
  Administrator  $NEURONODE_ADMIN_EMAIL   (password in $DATA/secrets.env; log in with POST /api/auth/login)
  Temporal UI    $TEMPORAL_UI_URL
  LiteLLM proxy  $LITELLM_URL   (master key in $DATA/secrets.env)
  Logs           $DATA/logs/
Stop everything with: scripts/start.sh stop
MSG
