# shellcheck shell=bash
# Shared helpers of the dev and test scripts: find or start PostgreSQL and Redis.
#
# Order of preference: a server already answering; installed binaries; `docker compose`
# where an engine runs; Debian packages (apt-get, as root or through sudo).
# After `ensure_postgres`, PG_SUPERUSER_URL holds a superuser URL over 127.0.0.1.

PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_PORT=6379

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# True when something accepts TCP connections on 127.0.0.1:$1 (no client tools needed).
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 what=$2
  for _ in $(seq 1 60); do
    port_open "$port" && return 0
    sleep 0.5
  done
  die "$what did not come up on 127.0.0.1:$port"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

docker_engine() { command -v docker >/dev/null && docker info >/dev/null 2>&1; }

apt_install() {
  command -v apt-get >/dev/null || die "no PostgreSQL/Redis found and no apt-get to install them"
  log "installing $* (Debian packages)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}

start_pg_cluster() {
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  [ -n "$version" ] || return 1
  log "starting PostgreSQL $version cluster"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null \
    || as_root pg_ctlcluster "$version" main start
}

ensure_postgres() {
  if ! port_open "$PG_PORT"; then
    if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
      start_pg_cluster
    elif docker_engine; then
      log "starting PostgreSQL with docker compose"
      docker compose up -d postgres
    else
      apt_install postgresql
      start_pg_cluster || die "PostgreSQL installed but no cluster to start"
    fi
    wait_port "$PG_PORT" PostgreSQL
  fi
  pg_superuser_url
}

# Sets PG_SUPERUSER_URL. Local trust auth needs no password; a fresh Debian cluster asks
# for one over TCP, so give `postgres` a random password (kept in .dev/) through the socket.
pg_superuser_url() {
  local pwfile=.dev/pg-password
  if [ -n "${PG_SUPERUSER_URL:-}" ]; then return 0; fi
  if [ -s "$pwfile" ]; then
    PG_SUPERUSER_URL="postgres://postgres:$(cat "$pwfile")@$PG_HOST:$PG_PORT/postgres"
  else
    PG_SUPERUSER_URL="postgres://postgres@$PG_HOST:$PG_PORT/postgres"
  fi
  if command -v psql >/dev/null && ! psql "$PG_SUPERUSER_URL" -Atqc 'select 1' >/dev/null 2>&1; then
    command -v runuser >/dev/null && [ "$(id -u)" = 0 ] \
      || die "cannot log in as postgres over TCP; set PG_SUPERUSER_URL to a superuser URL"
    mkdir -p .dev && umask 077
    head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$pwfile"
    runuser -u postgres -- psql -qc "ALTER ROLE postgres PASSWORD '$(cat "$pwfile")'" >/dev/null \
      || die "could not set a password for the postgres role"
    PG_SUPERUSER_URL="postgres://postgres:$(cat "$pwfile")@$PG_HOST:$PG_PORT/postgres"
  fi
  export PG_SUPERUSER_URL
}

ensure_redis() {
  port_open "$REDIS_PORT" && return 0
  if command -v redis-server >/dev/null; then
    log "starting redis-server"
  elif docker_engine; then
    log "starting Redis with docker compose"
    docker compose up -d redis
    wait_port "$REDIS_PORT" Redis
    return 0
  else
    apt_install redis-server
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no >/dev/null
  wait_port "$REDIS_PORT" Redis
}

random_b64() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }
