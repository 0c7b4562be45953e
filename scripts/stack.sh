#!/usr/bin/env bash
# Local stack (DESIGN.md §3, contract): PostgreSQL, ClickHouse, a Kafka-protocol broker (Tansu),
# an MLflow server and Prometheus, as plain processes bound to 127.0.0.1.
#
#   scripts/stack.sh up       start what is not running (idempotent), wait until every server answers,
#                             write .stack/env and .stack/pids/<service>.pid
#   scripts/stack.sh down     stop every server by PID (TERM/INT, then KILL), remove pid files and data
#   scripts/stack.sh status   one line per service; exit 0 when all are up, 3 otherwise
#
# Ports (env, defaults): MOVIERECS_STACK_PG_PORT=55432, MOVIERECS_STACK_CH_PORT=59000 (native),
# MOVIERECS_STACK_CH_HTTP_PORT=58123, MOVIERECS_STACK_KAFKA_PORT=59092, MOVIERECS_STACK_MLFLOW_PORT=55000,
# MOVIERECS_STACK_PROM_PORT=59090. Other knobs: MOVIERECS_STACK_DIR (.stack),
# MOVIERECS_STACK_SERVICES (subset of "postgres clickhouse kafka mlflow prometheus"),
# MOVIERECS_STACK_TIMEOUT (seconds per health check, 90), MOVIERECS_STACK_KEEP_DATA=1 (down keeps data),
# MOVIERECS_STACK_SKIP_INSTALL=1 (do not run scripts/install-system.sh),
# MOVIERECS_STACK_PROMETHEUS_CONFIG (prometheus.yml to use; default scripts/stack/prometheus.yml).
#
# Credentials: PostgreSQL and ClickHouse authenticate the app user `movierecs` with a random password
# made at first start (.stack/<service>/app.password, mode 600, wiped with the data). .stack/env holds
# URLs WITHOUT a password plus PGPASSWORD and CLICKHOUSE_PASSWORD, which Settings reads.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

STACK=${MOVIERECS_STACK_DIR:-$ROOT/.stack}
case $STACK in /*) ;; *) STACK=$ROOT/$STACK ;; esac
PG_PORT=${MOVIERECS_STACK_PG_PORT:-55432}
CH_PORT=${MOVIERECS_STACK_CH_PORT:-59000}
CH_HTTP_PORT=${MOVIERECS_STACK_CH_HTTP_PORT:-58123}
KAFKA_PORT=${MOVIERECS_STACK_KAFKA_PORT:-59092}
MLFLOW_PORT=${MOVIERECS_STACK_MLFLOW_PORT:-55000}
PROM_PORT=${MOVIERECS_STACK_PROM_PORT:-59090}
SERVICES=${MOVIERECS_STACK_SERVICES:-postgres clickhouse kafka mlflow prometheus}
TIMEOUT=${MOVIERECS_STACK_TIMEOUT:-90}
PROM_CONFIG=${MOVIERECS_STACK_PROMETHEUS_CONFIG:-$ROOT/scripts/stack/prometheus.yml}
HOST=127.0.0.1
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
PY=$ROOT/.venv/bin/python
[ -x "$PY" ] || PY=python3
TANSU=$ROOT/.tools/tansu/tansu

PIDS=$STACK/pids
LOGS=$STACK/logs

log() { printf '[stack] %s\n' "$*" >&2; }
new_secret() { # a URL- and shell-safe random password (24 chars)
  head -c 18 /dev/urandom | base64 | tr '+/' '-_'
}
secret_file() { # path: create it with a new secret (mode 600) unless it holds one
  [ -s "$1" ] || (umask 077 && new_secret >"$1")
}
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------------------------------------ helpers
pid_of() { # service -> pid from its pid file, or nothing
  local f=$PIDS/$1.pid
  [ -s "$f" ] && head -n1 "$f" | tr -dc '0-9'
}

# The process in the pid file is alive and is what we started (guards against PID reuse).
alive() {
  local svc=$1 pid pat
  pid=$(pid_of "$svc") || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  case $svc in
    postgres) pat=postgres ;; clickhouse) pat=clickhouse ;; kafka) pat=tansu ;;
    mlflow) pat=mlflow ;; prometheus) pat=prometheus ;; *) pat=. ;;
  esac
  tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | grep -q -- "$pat"
}

port_busy() { # true when something accepts TCP connections on 127.0.0.1:$1
  (exec 3<>/dev/tcp/$HOST/"$1") 2>/dev/null
}

http_ok() { # url [expected substring]
  "$PY" - "$1" "${2:-}" <<'EOF' 2>/dev/null
import sys, urllib.request
try:
    body = urllib.request.urlopen(sys.argv[1], timeout=2).read().decode("utf-8", "replace")
except Exception:
    sys.exit(1)
sys.exit(0 if sys.argv[2] in body else 1)
EOF
}

as_pg() { # run a PostgreSQL binary as the postgres user when we are root (initdb refuses root)
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

check_port_free() { # service port: fail loudly when a foreign process holds our port
  if port_busy "$2"; then
    die "$1: port $HOST:$2 is already in use by another process; pick another with the port env var" \
        "(see the header of scripts/stack.sh) or stop that process"
  fi
}

healthy() { # service -> 0 when it answers
  case $1 in
    postgres) "$PG_BIN/pg_isready" -q -h $HOST -p "$PG_PORT" -d movierecs -U movierecs ;;
    clickhouse) http_ok "http://$HOST:$CH_HTTP_PORT/ping" "Ok." && port_busy "$CH_PORT" ;;
    kafka) port_busy "$KAFKA_PORT" ;;
    mlflow) http_ok "http://$HOST:$MLFLOW_PORT/health" "OK" ;;
    prometheus) http_ok "http://$HOST:$PROM_PORT/-/ready" "Ready" ;;
  esac
}

logfile() {
  case $1 in
    postgres) echo "$STACK/postgres/postgres.log" ;;
    clickhouse) echo "$STACK/clickhouse/log/clickhouse-server.err.log" ;;
    *) echo "$LOGS/$1.log" ;;
  esac
}

wait_healthy() { # service: wait until it answers, else show its log tail and fail
  local svc=$1 deadline=$((SECONDS + TIMEOUT))
  until healthy "$svc"; do
    if ! alive "$svc" && [ "$svc" != postgres ]; then
      log "$svc exited during start-up; last lines of $(logfile "$svc"):"
      tail -n 40 "$(logfile "$svc")" >&2 2>/dev/null || true
      [ "$svc" = clickhouse ] && tail -n 20 "$LOGS/clickhouse.log" >&2 2>/dev/null
      return 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      log "$svc did not answer within ${TIMEOUT}s; last lines of $(logfile "$svc"):"
      tail -n 40 "$(logfile "$svc")" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.2
  done
}

# ------------------------------------------------------------------------------------------ starters
start_postgres() {
  local dir=$STACK/postgres data
  data=$dir/data
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -w "$dir"; then
    die "postgres: the postgres user cannot write $dir (a parent folder is not traversable);" \
        "set MOVIERECS_STACK_DIR to a folder under /tmp"
  fi
  if [ ! -s "$data/PG_VERSION" ] || [ ! -s "$dir/admin.password" ]; then
    rm -rf "$data" "$dir/admin.password" "$dir/app.password"  # also a trust-auth cluster of an older stack.sh
    secret_file "$dir/admin.password"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir/admin.password"
    # Superuser `postgres` and app role `movierecs`, both with passwords (scram-sha-256) on loopback;
    # no Unix socket. A throw-away test server that still checks credentials like a real one.
    as_pg "$PG_BIN/initdb" -D "$data" -U postgres --pwfile="$dir/admin.password" --auth=scram-sha-256 \
      -E UTF8 --locale=C.UTF-8 --no-sync \
      >"$dir/initdb.log" 2>&1 || { tail -n 30 "$dir/initdb.log" >&2; die "postgres: initdb failed"; }
  fi
  secret_file "$dir/app.password"
  check_port_free postgres "$PG_PORT"
  as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$dir/postgres.log" -w -t "$TIMEOUT" start -o \
    "-c listen_addresses=$HOST -p $PG_PORT -c unix_socket_directories='' -c fsync=off \
     -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=64MB -c max_connections=100" \
    >/dev/null 8>&- || { tail -n 30 "$dir/postgres.log" >&2; die "postgres: pg_ctl start failed"; }
  head -n1 "$data/postmaster.pid" >"$PIDS/postgres.pid"
  # The app role (not a superuser) owns database `movierecs`; its password is (re)set at every start.
  PGPASSWORD=$(cat "$dir/admin.password") "$PG_BIN/psql" -h $HOST -p "$PG_PORT" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 -tAq -v pw="$(cat "$dir/app.password")" >/dev/null <<'SQL' || die "postgres: creating the app role failed"
SELECT 'CREATE ROLE movierecs LOGIN' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'movierecs') \gexec
ALTER ROLE movierecs WITH LOGIN NOSUPERUSER NOCREATEROLE PASSWORD :'pw';
SELECT 'CREATE DATABASE movierecs OWNER movierecs'
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'movierecs') \gexec
SQL
}

start_clickhouse() {
  local dir=$STACK/clickhouse
  mkdir -p "$dir/log" "$dir/data" "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
  sed -e "s#@DIR@#$dir#g" -e "s#@TCP_PORT@#$CH_PORT#g" -e "s#@HTTP_PORT@#$CH_HTTP_PORT#g" \
    "$ROOT/scripts/stack/clickhouse-config.xml" >"$dir/config.xml"
  # App user `movierecs` with a sha256 password; `default` stays the loopback-only admin (tests drop
  # their scratch databases with it).
  secret_file "$dir/app.password"
  sed -e "s#@APP_PASSWORD_SHA256@#$(tr -d '\n' <"$dir/app.password" | sha256sum | cut -d' ' -f1)#" \
    "$ROOT/scripts/stack/clickhouse-users.xml" >"$dir/users.xml"
  check_port_free clickhouse "$CH_PORT"
  check_port_free clickhouse "$CH_HTTP_PORT"
  rm -f "$dir/clickhouse-server.pid"
  # 18.16 runs fine as root when its data folder belongs to root (it only refuses a mismatch between
  # the effective user and the owner of the data). --daemon forks; the daemon writes its own pid file
  # (no trailing newline, deleted at exit), copied to ours.
  (cd "$dir" && clickhouse-server --config-file="$dir/config.xml" --daemon \
     --pid-file="$dir/clickhouse-server.pid" >"$LOGS/clickhouse.log" 2>&1 8>&-) \
    || { tail -n 30 "$LOGS/clickhouse.log" >&2; die "clickhouse: clickhouse-server failed to start"; }
  local i
  for i in $(seq 100); do [ -s "$dir/clickhouse-server.pid" ] && break; sleep 0.05; done
  [ -s "$dir/clickhouse-server.pid" ] || { tail -n 30 "$LOGS/clickhouse.log" >&2; die "clickhouse: no pid file"; }
  echo "$(tr -dc '0-9' <"$dir/clickhouse-server.pid")" >"$PIDS/clickhouse.pid"
}

spawn() { # service cmd...: start in its own session (so down can signal the whole group), record PID
  local svc=$1; shift
  setsid "$@" </dev/null >"$LOGS/$svc.log" 2>&1 8>&- &
  echo $! >"$PIDS/$svc.pid"
}

start_kafka() {
  [ -x "$TANSU" ] || die "kafka: $TANSU missing; run scripts/install-system.sh"
  check_port_free kafka "$KAFKA_PORT"
  spawn kafka "$TANSU" broker --listener-url "tcp://$HOST:$KAFKA_PORT" \
    --advertised-listener-url "tcp://$HOST:$KAFKA_PORT" --storage-engine memory://tansu/
}

MLFLOW_VERSION=$("$PY" -c 'import importlib.metadata as m; print(m.version("mlflow"))' 2>/dev/null || echo unknown)
MLFLOW_TEMPLATE=$STACK/cache/mlflow-$MLFLOW_VERSION.db

start_mlflow() {
  local dir=$STACK/mlflow
  mkdir -p "$dir/artifacts"
  check_port_free mlflow "$MLFLOW_PORT"
  [ -x "$ROOT/.venv/bin/mlflow" ] || die "mlflow: $ROOT/.venv/bin/mlflow missing; run make install"
  # An empty, already migrated tracking DB (kept across `down`) saves the schema migrations.
  [ -s "$dir/mlflow.db" ] || [ ! -s "$MLFLOW_TEMPLATE" ] || cp "$MLFLOW_TEMPLATE" "$dir/mlflow.db"
  # No job runner (a huey pool of 5 workers for GenAI jobs the platform does not use).
  MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false spawn mlflow "$ROOT/.venv/bin/mlflow" server \
    --backend-store-uri "sqlite:///$dir/mlflow.db" --artifacts-destination "$dir/artifacts" \
    --serve-artifacts --host $HOST --port "$MLFLOW_PORT" --workers 1
}

save_mlflow_template() { # after the first healthy start: keep a migrated, still empty copy
  [ ! -s "$MLFLOW_TEMPLATE" ] && [ -s "$STACK/mlflow/mlflow.db" ] || return 0
  mkdir -p "$STACK/cache"
  "$PY" - "$STACK/mlflow/mlflow.db" "$MLFLOW_TEMPLATE" <<'PYEOF' || rm -f "$MLFLOW_TEMPLATE"
import sqlite3, sys
src = sqlite3.connect(sys.argv[1])
if src.execute("SELECT count(*) FROM runs").fetchone()[0] == 0:
    dst = sqlite3.connect(sys.argv[2] + ".tmp")
    src.backup(dst)
    dst.close()
    import os
    os.replace(sys.argv[2] + ".tmp", sys.argv[2])
PYEOF
}

start_prometheus() {
  local dir=$STACK/prometheus
  mkdir -p "$dir/data"
  check_port_free prometheus "$PROM_PORT"
  # Hook: the scrape config lives in scripts/stack/prometheus.yml (or MOVIERECS_STACK_PROMETHEUS_CONFIG).
  spawn prometheus prometheus --config.file="$PROM_CONFIG" --storage.tsdb.path="$dir/data" \
    --web.listen-address="$HOST:$PROM_PORT" --storage.tsdb.retention.time=1d --web.enable-lifecycle
}

write_env() {
  local tmp=$STACK/env.tmp
  rm -f "$tmp"
  (umask 077 && : >"$tmp")  # it holds the passwords
  {
    echo "# Written by scripts/stack.sh up; use: set -a; . .stack/env; set +a"
    for svc in postgres clickhouse kafka mlflow prometheus; do
      case " $SERVICES " in *" $svc "*) ;; *) alive "$svc" || continue ;; esac
      case $svc in
        postgres)
          echo "MOVIERECS_CATALOG_URL=postgresql://movierecs@$HOST:$PG_PORT/movierecs"
          [ ! -s "$STACK/postgres/app.password" ] || echo "PGPASSWORD=$(cat "$STACK/postgres/app.password")" ;;
        clickhouse)
          if [ -s "$STACK/clickhouse/app.password" ]; then
            echo "MOVIERECS_INTERACTIONS_URL=clickhouse://movierecs@$HOST:$CH_PORT/movierecs"
            echo "CLICKHOUSE_PASSWORD=$(cat "$STACK/clickhouse/app.password")"
          else  # started by an older stack.sh (no app user): `down` then `up` to get one
            echo "MOVIERECS_INTERACTIONS_URL=clickhouse://$HOST:$CH_PORT/movierecs"
          fi
          echo "MOVIERECS_CLICKHOUSE_HTTP_URL=http://$HOST:$CH_HTTP_PORT" ;;
        kafka) echo "MOVIERECS_EVENT_BUS_URL=kafka://$HOST:$KAFKA_PORT" ;;
        mlflow)
          echo "MLFLOW_TRACKING_URI=http://$HOST:$MLFLOW_PORT"
          echo "MLFLOW_REGISTRY_URI=http://$HOST:$MLFLOW_PORT" ;;
        prometheus) echo "MOVIERECS_PROMETHEUS_URL=http://$HOST:$PROM_PORT" ;;
      esac
    done
  } >>"$tmp"
  mv "$tmp" "$STACK/env"
}

# ------------------------------------------------------------------------------------------ commands
cmd_up() {
  local t0=$SECONDS svc started=() failed=0
  [ "${MOVIERECS_STACK_SKIP_INSTALL:-0}" = 1 ] || "$ROOT/scripts/install-system.sh"
  mkdir -p "$PIDS" "$LOGS"
  # Start the slowest to boot first (mlflow imports for seconds) so they boot while initdb runs.
  for svc in mlflow clickhouse kafka prometheus postgres; do
    case " $SERVICES " in *" $svc "*) ;; *) continue ;; esac
    if alive "$svc"; then continue; fi
    rm -f "$PIDS/$svc.pid"
    log "starting $svc"
    "start_$svc"
    started+=("$svc")
  done
  for svc in $SERVICES; do
    wait_healthy "$svc" || { failed=1; log "$svc is not healthy"; }
  done
  [ $failed = 0 ] || die "stack is not healthy (logs under $STACK); run scripts/stack.sh down to clean up"
  case " $SERVICES " in *" mlflow "*) save_mlflow_template ;; esac
  write_env
  log "up in $((SECONDS - t0))s (started: ${started[*]:-none}); env in $STACK/env"
}

signal_service() { # service: send its stop signal (postgres: INT = fast shutdown; TERM would wait
  # for clients). Services started with setsid get the signal on their whole group (mlflow workers).
  local svc=$1 sig=${2:-} pid
  pid=$(pid_of "$svc") || true
  [ -n "$pid" ] || return 0
  if [ -z "$sig" ]; then sig=TERM; [ "$svc" = postgres ] && sig=INT; fi
  case $svc in
    kafka | mlflow | prometheus) kill -s "$sig" -- "-$pid" 2>/dev/null || kill -s "$sig" "$pid" 2>/dev/null || true ;;
    *) kill -s "$sig" "$pid" 2>/dev/null || true ;;
  esac
}

cmd_down() {
  local svc t0=$SECONDS running=() deadline pid
  declare -A pids=()
  [ -d "$PIDS" ] || return 0
  for svc in prometheus mlflow kafka clickhouse postgres; do
    if [ -e "$PIDS/$svc.pid" ] && alive "$svc"; then
      running+=("$svc"); pids[$svc]=$(pid_of "$svc"); signal_service "$svc"
    else rm -f "$PIDS/$svc.pid"; fi
  done
  # Wait for all of them together, then KILL what ignored the signal.
  deadline=$((SECONDS + ${MOVIERECS_STACK_STOP_TIMEOUT:-15}))
  for svc in "${running[@]}"; do
    pid=${pids[$svc]}
    while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      log "$svc (pid $pid) did not stop in time; killing it"
      signal_service "$svc" KILL
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    # Stragglers of a group (e.g. a worker that outlived its parent).
    case $svc in kafka | mlflow | prometheus) kill -KILL -- "-$pid" 2>/dev/null || true ;; esac
    rm -f "$PIDS/$svc.pid"
    log "stopped $svc"
  done
  rm -f "$STACK/env"
  if [ "${MOVIERECS_STACK_KEEP_DATA:-0}" != 1 ]; then
    rm -rf "$STACK/postgres" "$STACK/clickhouse" "$STACK/mlflow" "$STACK/prometheus" "$LOGS"
  fi
  log "down in $((SECONDS - t0))s"
}

cmd_status() {
  local svc rc=0
  for svc in $SERVICES; do
    if alive "$svc" && healthy "$svc"; then
      printf '%-11s up    pid %s\n' "$svc" "$(pid_of "$svc")"
    elif alive "$svc"; then
      printf '%-11s alive pid %s, not answering\n' "$svc" "$(pid_of "$svc")"; rc=3
    else
      printf '%-11s down\n' "$svc"; rc=3
    fi
  done
  return $rc
}

mkdir -p "$STACK"
exec 8>"$STACK/.lock"
case ${1:-} in
  up) flock -w 300 8 || die "another stack.sh up|down holds $STACK/.lock"; cmd_up ;;
  down) flock -w 300 8 || die "another stack.sh up|down holds $STACK/.lock"; cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
