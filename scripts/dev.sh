#!/usr/bin/env bash
# Brings the whole platform up locally: PostgreSQL and Redis (started or installed if
# missing), a `.env` with fresh random secrets (first run only), release builds, control
# migrations, a dev super-admin, and both services in the background.
#
#   scripts/dev.sh          start (or restart) everything
#   scripts/dev.sh stop     stop both services
#   scripts/dev.sh logs     follow both services' logs
#
# DEV_PGBOUNCER=1 also runs the installed pgbouncer on 127.0.0.1:6432 in front of tenant
# databases (pgbouncer/README.md): it installs pgbouncer/auth.sql in the `postgres`
# database, gives pgbouncer_auth a random password, and writes .dev/pgbouncer/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

DEV=.dev
TARGET=${CARGO_TARGET_DIR:-target}
mkdir -p "$DEV/logs"

stop_service() {
  local pidfile="$DEV/$1.pid" pid
  pid=$(cat "$pidfile" 2>/dev/null) || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$pidfile"
}

PGBOUNCER_PORT=${PGBOUNCER_PORT:-6432}

# pgbouncer >= 1.21 takes pgbouncer/pgbouncer.ini; 1.18 (Debian 12) the reduced one.
pgbouncer_ini() {
  local v
  v=$(pgbouncer --version | awk 'NR == 1 { print $2 }')
  if [ "$(printf '%s\n1.21\n' "$v" | sort -V | head -1)" = 1.21 ]; then
    echo pgbouncer/pgbouncer.ini
  else
    log "pgbouncer $v: using pgbouncer-1.18.ini (unnamed statements; provisioning installs the auth lookup per tenant)"
    echo pgbouncer/pgbouncer-1.18.ini
  fi
}

start_pgbouncer() {
  command -v pgbouncer >/dev/null || apt_install pgbouncer
  command -v psql >/dev/null || apt_install postgresql-client
  local dir="$PWD/$DEV/pgbouncer" password
  mkdir -p "$dir"
  psql "$PG_SUPERUSER_URL" -v ON_ERROR_STOP=1 -q -f pgbouncer/auth.sql >/dev/null \
    || die "could not install pgbouncer/auth.sql in the postgres database"
  password=$(random_b64 24 | tr -dc 'A-Za-z0-9')
  psql "$PG_SUPERUSER_URL" -v ON_ERROR_STOP=1 -qc "ALTER ROLE pgbouncer_auth PASSWORD '$password'" >/dev/null \
    || die "could not set pgbouncer_auth's password"
  (umask 077; printf '"pgbouncer_auth" "%s"\n' "$password" > "$dir/userlist.txt")
  sed -e 's/host=postgres /host=127.0.0.1 /' \
      -e 's/^listen_addr = .*/listen_addr = 127.0.0.1/' \
      -e "s/^listen_port = .*/listen_port = $PGBOUNCER_PORT/" \
      -e "s|^auth_file = .*|auth_file = $dir/userlist.txt|" \
      -e '/^unix_socket_dir =/d' "$(pgbouncer_ini)" > "$dir/pgbouncer.ini"
  # Its pid and log stay in its own directory: as root, that directory belongs to `postgres`.
  printf 'unix_socket_dir =\nlogfile = %s\npidfile = %s\n' "$dir/pgbouncer.log" "$dir/pgbouncer.pid" >> "$dir/pgbouncer.ini"
  stop_service pgbouncer/pgbouncer
  # pgbouncer refuses to run as root.
  if [ "$(id -u)" = 0 ]; then
    chown -R postgres "$dir"
    runuser -u postgres -- pgbouncer -d "$dir/pgbouncer.ini"
  else
    pgbouncer -d "$dir/pgbouncer.ini"
  fi
  wait_port "$PGBOUNCER_PORT" pgbouncer
  log "pgbouncer on 127.0.0.1:$PGBOUNCER_PORT"
}

case "${1:-up}" in
  stop) stop_service app-api; stop_service control-api; stop_service pgbouncer/pgbouncer; log "stopped"; exit 0 ;;
  logs) exec tail -F "$DEV/logs/control-api.log" "$DEV/logs/app-api.log" ;;
  up) ;;
  *) die "usage: scripts/dev.sh [up|stop|logs]" ;;
esac

command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain first"
# The README's walk-through uses curl and jq.
missing=()
for tool in curl jq; do command -v "$tool" >/dev/null || missing+=("$tool"); done
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
ensure_postgres
ensure_redis
# Tenant backups and restores run pg_dump/pg_restore.
ensure_tools pg_dump:postgresql-client pg_restore:postgresql-client

if [ ! -f .env ]; then
  log "writing .env with fresh random secrets"
  write_dev_env .env
fi

log "building release binaries (the first build takes a few minutes)"
cargo build --release --quiet -p control-api -p app-api
BIN="$TARGET/release"

set -a; . ./.env; set +a
if [ "${DEV_PGBOUNCER:-}" = 1 ]; then
  start_pgbouncer
  # app-api reaches tenant databases through pgbouncer; everything else stays direct.
  export TENANT_DB_HOST=127.0.0.1 TENANT_DB_PORT=$PGBOUNCER_PORT
  if [ "$(pgbouncer_ini 2>/dev/null)" = pgbouncer/pgbouncer-1.18.ini ]; then
    # 1.18 keeps no prepared statements and looks passwords up in each tenant database.
    export TENANT_DB_STATEMENTS=unnamed TENANT_DB_POOLER_AUTH_ROLE=pgbouncer_auth
  fi
fi
"$BIN/control-api" migrate

ADMIN_EMAIL=${DEV_ADMIN_EMAIL:-admin@localhost.dev}
if [ ! -s "$DEV/admin-password" ]; then
  (umask 077; random_b64 18 | tr -dc 'A-Za-z0-9' > "$DEV/admin-password")
fi
ADMIN_PASSWORD=$(cat "$DEV/admin-password")
printf '%s' "$ADMIN_PASSWORD" | "$BIN/control-api" admin create --email "$ADMIN_EMAIL" --password-stdin >/dev/null

stop_service app-api
stop_service control-api
nohup "$BIN/control-api" >>"$DEV/logs/control-api.log" 2>&1 &
echo $! > "$DEV/control-api.pid"
nohup "$BIN/app-api" >>"$DEV/logs/app-api.log" 2>&1 &
echo $! > "$DEV/app-api.pid"

for svc in control-api:3001 app-api:3000; do
  name=${svc%%:*} port=${svc##*:}
  for _ in $(seq 1 100); do
    port_open "$port" && break
    kill -0 "$(cat "$DEV/$name.pid")" 2>/dev/null || { tail -20 "$DEV/logs/$name.log" >&2; die "$name exited"; }
    sleep 0.2
  done
  port_open "$port" || { tail -20 "$DEV/logs/$name.log" >&2; die "$name did not start"; }
done

cat <<MSG

  console      http://127.0.0.1:3001/console   (sign in with the super-admin below)

  control-api  http://127.0.0.1:3001   (docs: /openapi.json, health: /health/ready)
  app-api      http://127.0.0.1:3000   (tenant by X-Tenant-Slug or <slug>.localhost)

  super-admin  $ADMIN_EMAIL
  password     $ADMIN_PASSWORD

  logs: scripts/dev.sh logs     stop: scripts/dev.sh stop
  next: open the console, or follow the curl walk-through in README.md, e.g.
    curl -s -X POST http://127.0.0.1:3001/v1/auth/login -H 'content-type: application/json' \\
      -d '{"email":"$ADMIN_EMAIL","password":"$ADMIN_PASSWORD"}'
MSG
