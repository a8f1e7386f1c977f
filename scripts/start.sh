#!/usr/bin/env bash
# Starts the whole system on the embedded default: the native service stack, then the worker and the
# API. Installs whatever is missing first. `scripts/start.sh stop` stops everything again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DATA="${NEURONODE_DATA:-/var/lib/neuronode}"

# Stops each supervisor, which stops its process first (TERM, then the whole group after 15 s).
stop_app() {
  local name pid
  for name in web api worker; do
    if [ -f "$DATA/run/$name.pid" ]; then
      pid="$(cat "$DATA/run/$name.pid")"
      kill -TERM "$pid" 2>/dev/null || true
      for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      rm -f "$DATA/run/$name.pid" "$DATA/run/$name.state"
    fi
  done
}

case "${1:-up}" in
  stop)
    stop_app
    bash stack/stack.sh down
    exit 0 ;;
  stop-app)
    # The API and the worker only (an upgrade of the code); the services keep running.
    stop_app
    exit 0 ;;
  up) ;;
  *) echo "usage: scripts/start.sh [up|stop|stop-app]" >&2; exit 2 ;;
esac

bash scripts/install.sh
bash stack/stack.sh up
eval "$(bash stack/stack.sh env)"
npm run --silent build
(cd web && NEXT_TELEMETRY_DISABLED=1 npx next build >/dev/null)
# The schema, as its owner; the API and worker connect as the application role and never see the
# owner's credentials.
node dist/src/migrate.js
unset DATABASE_OWNER_URL
stop_app
mkdir -p "$DATA/logs" "$DATA/run"
# The API and the worker run as a user of their own, not as root.
id -u neuronode-app >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir "$DATA/app" --shell /usr/sbin/nologin neuronode-app
# It may pass through the folders above the repository that others may not enter (such as /root).
d="$(dirname "$ROOT")"
while [ "$d" != / ]; do
  if [ "$(( $(stat -c %a "$d") % 2 ))" = 0 ]; then
    command -v setfacl >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends acl >/dev/null; }
    setfacl -m u:neuronode-app:x "$d"
  fi
  d="$(dirname "$d")"
done
for name in worker api web; do
  touch "$DATA/logs/$name.log"; chmod 600 "$DATA/logs/$name.log"
done
# Each under its supervisor (scripts/supervise.sh), which starts it again when it dies; the pid file
# names the supervisor, the state file the process and its restarts (`stack/stack.sh status`).
for name in worker api; do
  entry=dist/src/worker.js
  [ "$name" = api ] && entry=dist/src/api/server.js
  setsid bash scripts/supervise.sh "$name" "$DATA/run/$name.state" -- \
    setpriv --reuid=neuronode-app --regid=neuronode-app --init-groups --no-new-privs node "$entry" >>"$DATA/logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$DATA/run/$name.pid"
done
# The web application: pages, and /api and /ws passed to the API. It gets the API's address and its
# own port, none of the API's secrets.
WEB_PORT="${WEB_PORT:-3000}"
setsid env -i PATH="$PATH" HOME="$DATA/app" NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 API_URL="http://127.0.0.1:$PORT" WEB_PORT="$WEB_PORT" \
  bash scripts/supervise.sh web "$DATA/run/web.state" -- \
  setpriv --reuid=neuronode-app --regid=neuronode-app --init-groups --no-new-privs node web/server.mjs >>"$DATA/logs/web.log" 2>&1 < /dev/null &
echo $! >"$DATA/run/web.pid"

for _ in $(seq 1 120); do
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/api/health" || true)"
  [ "$code" = 200 ] && break
  sleep 0.5
done
[ "$code" = 200 ] || { tail -n 40 "$DATA/logs/api.log" "$DATA/logs/worker.log" >&2; echo "the API did not become healthy" >&2; exit 1; }
for _ in $(seq 1 120); do
  code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$WEB_PORT/login" || true)"
  [ "$code" = 200 ] && break
  sleep 0.5
done
[ "$code" = 200 ] || { tail -n 40 "$DATA/logs/web.log" >&2; echo "the web application did not start" >&2; exit 1; }

cat <<MSG

Neuronode is running.
  Web app        http://127.0.0.1:$WEB_PORT   (log in as the administrator below)
  API            http://127.0.0.1:$PORT/api   (health: /api/health; docs: http://127.0.0.1:$PORT/docs)
  Administrator  $NEURONODE_ADMIN_EMAIL   (password in $DATA/secrets.env; log in with POST /api/auth/login)
  Temporal UI    $TEMPORAL_UI_URL
  LiteLLM proxy  $LITELLM_URL   (master key in $DATA/secrets.env)
  Logs           $DATA/logs/
Stop everything with: scripts/start.sh stop
MSG
