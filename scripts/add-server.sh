#!/usr/bin/env bash
# Starts another local PostgreSQL server and registers it with the platform as a database
# server, so new tenants are placed on two servers (by room for their capacity, or pinned
# with "server" in POST /v1/tenants). Run after scripts/dev.sh (it reads .env).
#
#   scripts/add-server.sh [NAME [PORT]]   start and register server NAME (second, 5433)
#   scripts/add-server.sh stop [NAME]     stop it (its tenants get 503 until it is back)
#
# The cluster lives in .dev/pg-NAME with trust authentication on 127.0.0.1 only. initdb
# refuses to run as root, so as root it runs as the `postgres` user.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

BINDIR=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
[ -x "$BINDIR/initdb" ] || die "initdb not found in $BINDIR: install the PostgreSQL server package"

if [ "${1:-}" = stop ]; then
  NAME=${2:-second}
  DIR=$PWD/.dev/pg-$NAME
  [ -d "$DIR/data" ] || die "no server $NAME in $DIR"
  as_pg "$BINDIR/pg_ctl" -D "$DIR/data" -w -m fast stop
  exit 0
fi

NAME=${1:-second}
PORT=${2:-5433}
DIR=$PWD/.dev/pg-$NAME
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${CONTROL_API_BIN:-$TARGET/release/control-api}
[ -f .env ] || die "no .env: run scripts/dev.sh first"

if [ ! -d "$DIR/data" ]; then
  log "creating PostgreSQL server $NAME in $DIR (port $PORT)"
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
  as_pg "$BINDIR/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --no-instructions >/dev/null
  printf "\nlisten_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\n" \
    "$PORT" "$DIR" | as_pg tee -a "$DIR/data/postgresql.conf" >/dev/null
fi
if ! port_open "$PORT"; then
  as_pg "$BINDIR/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null
fi
log "PostgreSQL server $NAME on 127.0.0.1:$PORT"

[ -x "$BIN" ] || cargo build --release --quiet -p control-api
set -a; . ./.env; set +a
if "$BIN" servers list | awk -v n="$NAME" '$1 == n { found = 1 } END { exit !found }'; then
  log "database server $NAME is already registered"
else
  # The admin URL goes in on standard input: never on a command line.
  printf 'postgres://postgres@127.0.0.1:%s/postgres' "$PORT" \
    | "$BIN" servers add "$NAME" --host 127.0.0.1 --port "$PORT" --admin-url-stdin
fi
"$BIN" servers list
