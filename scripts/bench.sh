#!/usr/bin/env bash
# Measures what tenancy costs against the database's own ceiling, in one run on this
# machine, and writes docs/BENCHMARKS.md. scripts/bench/measure.py runs the figures and
# saves the raw numbers to .bench/results.json; scripts/bench/report.py fills
# scripts/bench/BENCHMARKS.template.md from them (run it alone to re-render a saved run).
#
#   scripts/bench.sh           the full run (about 8 minutes once built)
#   scripts/bench.sh --quick   fewer, shorter runs (about 3 minutes once built)
#   scripts/bench.sh --backup [--quick]   only tenant backup/restore against bare
#                              pg_dump/pg_restore (scripts/bench/backup.py)
#   scripts/bench.sh --move [--quick]     only moving a tenant to a second server (started
#                              here) against a bare pg_dump -Fc | pg_restore (scripts/bench/move.py)
#   scripts/bench.sh --scale   N tenants on one server (SCALE_TENANTS, default 2000): scale.py
#
# Uses this machine's PostgreSQL and Redis (started or installed if missing), release
# builds, wrk, pgbench and criterion; everything it creates is dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

command -v cargo >/dev/null || die "cargo not found: install the Rust toolchain first"
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v python3 >/dev/null || missing+=(python3)
command -v redis-cli >/dev/null || missing+=(redis-tools)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
ensure_postgres
ensure_redis
# pgbench ships with the PostgreSQL server package, not the client.
if ! command -v pgbench >/dev/null || ! pgbench --version >/dev/null 2>&1; then
  apt_install postgresql
fi

export PG_SUPERUSER_URL REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
if [ "${1:-}" = --backup ]; then
  shift
  ensure_tools pg_dump:postgresql-client pg_restore:postgresql-client
  log "building release binaries"
  cargo build --release --quiet -p control-api -p app-api
  exec python3 -B scripts/bench/backup.py "$@"
fi
if [ "${1:-}" = --move ]; then
  shift
  ensure_tools pg_dump:postgresql-client pg_restore:postgresql-client
  log "building release binaries"
  cargo build --release --quiet -p control-api -p app-api
  exec python3 -B scripts/bench/move.py "$@"
fi

log "building release binaries and the criterion benchmarks"
cargo build --release --quiet -p control-api -p app-api
if [ "${1:-}" = --scale ]; then
  # A throwaway cluster of this machine's PostgreSQL: the run's thousands of DROP DATABASEs
  # each wait for a checkpoint (about 50 minutes for 2,000 on a shared server), while
  # removing the cluster's directory takes seconds and leaves the shared server untouched.
  BINDIR=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
  [ -x "$BINDIR/initdb" ] || die "initdb not found in $BINDIR: install the PostgreSQL server package"
  SCALE_DIR=$(mktemp -d /var/tmp/tenancy-scale.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres: "$SCALE_DIR"
  trap 'as_pg "$BINDIR/pg_ctl" -D "$SCALE_DIR/data" -m immediate stop >/dev/null 2>&1; rm -rf "$SCALE_DIR"' EXIT
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  log "a throwaway PostgreSQL cluster for the scale run in $SCALE_DIR (port $port)"
  as_pg "$BINDIR/initdb" -D "$SCALE_DIR/data" -U postgres --auth=trust -E UTF8 --no-instructions >/dev/null
  printf "\nlisten_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\n" \
    "$port" "$SCALE_DIR" | as_pg tee -a "$SCALE_DIR/data/postgresql.conf" >/dev/null
  # TLS as Debian's own cluster has it, so connections cost what they cost there.
  if as_pg test -r /etc/ssl/private/ssl-cert-snakeoil.key; then
    printf "ssl = on\nssl_cert_file = '/etc/ssl/certs/ssl-cert-snakeoil.pem'\nssl_key_file = '/etc/ssl/private/ssl-cert-snakeoil.key'\n" \
      | as_pg tee -a "$SCALE_DIR/data/postgresql.conf" >/dev/null
  fi
  as_pg "$BINDIR/pg_ctl" -D "$SCALE_DIR/data" -l "$SCALE_DIR/server.log" -w start >/dev/null
  PG_SUPERUSER_URL="postgres://postgres@127.0.0.1:$port/postgres" SCALE_THROWAWAY_CLUSTER=1 \
    python3 -B scripts/bench/scale.py
  exit
fi
cargo bench --quiet -p app-api --bench tenancy --no-run
# Figure 4's baseline: a bare tokio-postgres connect and SELECT, in-process.
cargo build --release --quiet -p app-api --example cold_connect

exec python3 -B scripts/bench/measure.py "$@"
