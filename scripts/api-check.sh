#!/usr/bin/env bash
# Checks both services' OpenAPI documents against the running code: openapi-spec-validator
# on each /openapi.json, then a bounded, seeded schemathesis run per service (no 5xx, every
# status, content type, header and body as documented). Runs the debug binaries on free
# ports against a throwaway control database, tenant prefix and Redis prefix, with fresh
# secrets, and drops all of it on exit.
#
#   scripts/api-check.sh
#
#   API_CHECK_SECS   schemathesis time per service (default 120)
#   API_CHECK_SEED   its seed (default fixed, so a run is repeatable)
#   API_CHECK_BUILD  0: use the debug binaries already built (scripts/test.sh, after
#                    `cargo test` built them), instead of `cargo build`
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

TARGET=${CARGO_TARGET_DIR:-target}
SECS=${API_CHECK_SECS:-120}
SEED=${API_CHECK_SEED:-20261201}
VENV="$(realpath -m "$TARGET")/api-check/venv"
# Pinned, so a new release cannot turn CI red overnight; raise them on purpose.
TOOLS="schemathesis==4.32.5 openapi-spec-validator==0.9.0"
ensure_postgres
ensure_redis
ensure_tools psql:postgresql-client redis-cli:redis-tools curl:curl python3:python3

# The Python tools live in a venv under target/, so the machine's Python stays untouched.
if [ "$(cat "$VENV/tools" 2>/dev/null)" != "$TOOLS" ]; then
  log "installing $TOOLS into $VENV"
  rm -rf "$VENV"
  # Debian's python3 has no venv module (ensurepip) until python3-venv is installed.
  python3 -m venv "$VENV" 2>/dev/null || { rm -rf "$VENV"; apt_install python3-venv; python3 -m venv "$VENV"; }
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install -q $TOOLS
  echo "$TOOLS" > "$VENV/tools"
fi

BIN="$TARGET/debug"
if [ "${API_CHECK_BUILD:-1}" = 0 ]; then
  [ -x "$BIN/control-api" ] && [ -x "$BIN/app-api" ] || die "no debug binaries in $BIN"
else
  log "building debug binaries"
  cargo build --quiet -p control-api -p app-api
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Short: the tenant database prefix allows 12 characters.
RUN=ak$(random_b64 48 | tr -dc 'a-z0-9' | head -c 6)
WORK=$(mktemp -d)
BASE=${PG_SUPERUSER_URL%/postgres}
PIDS=()

cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  # Tenant databases and roles carry this run's prefix; the control database is ours alone.
  psql "$PG_SUPERUSER_URL" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE '${RUN}%'" 2>/dev/null |
    while read -r db; do
      # The provisioner's template is marked IS_TEMPLATE, which DROP DATABASE refuses.
      psql "$PG_SUPERUSER_URL" -q -c "ALTER DATABASE \"$db\" WITH IS_TEMPLATE false" \
        -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
  psql "$PG_SUPERUSER_URL" -Atqc "SELECT rolname FROM pg_roles WHERE rolname LIKE '${RUN}%'" 2>/dev/null |
    while read -r role; do psql "$PG_SUPERUSER_URL" -qc "DROP ROLE IF EXISTS \"$role\"" >/dev/null 2>&1 || true; done
  redis-cli -p "$REDIS_PORT" --scan --pattern "${RUN}*" 2>/dev/null |
    while read -r key; do redis-cli -p "$REDIS_PORT" del "$key" >/dev/null; done
  if [ $status -ne 0 ]; then
    for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -30 "$f" >&2; }; done
  fi
  rm -rf "$WORK"
  exit $status
}
trap cleanup EXIT
# Interrupted or killed: exit through the same cleanup.
trap 'exit 130' INT
trap 'exit 143' TERM

CONTROL_PORT=$(free_port)
APP_PORT=$(free_port)
psql "$PG_SUPERUSER_URL" -qc "CREATE DATABASE ${RUN}_control" >/dev/null
export CONTROL_DATABASE_URL="$BASE/${RUN}_control" TENANT_DB_ADMIN_URL="$BASE/postgres"
export TENANT_DB_PREFIX="${RUN}_" TENANT_DB_HOST=127.0.0.1 TENANT_DB_PORT=$PG_PORT
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT" REDIS_PREFIX="$RUN"
export MASTER_KEY=$(random_b64 32) CONTROL_JWT_SECRET=$(random_b64 48) APP_JWT_SECRET=$(random_b64 48)
export CONTROL_API_ADDR=127.0.0.1:$CONTROL_PORT APP_API_ADDR=127.0.0.1:$APP_PORT APP_DOMAIN=localhost
export RUST_LOG=warn ACCESS_LOG=false

"$BIN/control-api" migrate >"$WORK/migrate.log" 2>&1
ADMIN_EMAIL=admin@api-check.dev
ADMIN_PASSWORD=$(random_b64 24 | tr -dc 'A-Za-z0-9')
printf '%s' "$ADMIN_PASSWORD" | "$BIN/control-api" admin create --email "$ADMIN_EMAIL" --password-stdin >/dev/null

start() { # name, args...
  local name=$1; shift
  "$BIN/$name" "$@" >>"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
}
json() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# The worker provisions our one tenant, then stops: tenants schemathesis creates stay
# `provisioning`, so the fuzzing creates no databases.
start control-api serve --no-worker
start control-api worker
wait_port "$CONTROL_PORT" control-api
CONTROL="http://127.0.0.1:$CONTROL_PORT"
CONTROL_TOKEN=$(curl -sf "$CONTROL/v1/auth/login" -H 'content-type: application/json' \
  -d "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$ADMIN_PASSWORD\"}" | json access_token)
SLUG=apick-$(random_b64 48 | tr -dc 'a-z0-9' | head -c 6)
TENANT_PASSWORD=$(random_b64 24 | tr -dc 'A-Za-z0-9')
# Enterprise: its request rate (500/s) is above what one schemathesis worker sends, so the
# fuzzing reaches the handlers instead of the rate limiter's 429s.
curl -sf "$CONTROL/v1/tenants" -H "authorization: Bearer $CONTROL_TOKEN" -H 'content-type: application/json' \
  -d "{\"slug\":\"$SLUG\",\"name\":\"API check\",\"plan\":\"enterprise\",\"admin_email\":\"owner@api-check.dev\",\"admin_password\":\"$TENANT_PASSWORD\"}" >/dev/null
for _ in $(seq 1 120); do
  status=$(curl -sf "$CONTROL/v1/tenants/$SLUG" -H "authorization: Bearer $CONTROL_TOKEN" | json status)
  [ "$status" = active ] && break
  [ "$status" = failed ] && die "tenant provisioning failed"
  sleep 0.5
done
[ "$status" = active ] || die "tenant not active after 60 s"
kill "${PIDS[1]}"; wait "${PIDS[1]}" 2>/dev/null || true

start app-api
wait_port "$APP_PORT" app-api
APP="http://127.0.0.1:$APP_PORT"
APP_TOKEN=$(curl -sf "$APP/v1/auth/login" -H "X-Tenant-Slug: $SLUG" -H 'content-type: application/json' \
  -d "{\"email\":\"owner@api-check.dev\",\"password\":\"$TENANT_PASSWORD\"}" | json access_token)

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,unsupported_method,allow_header_conformance
failed=0
check() { # name, url, token, extra args...
  local name=$1 url=$2 token=$3; shift 3
  curl -sf "$url/openapi.json" > "$WORK/$name-openapi.json"
  log "$name: openapi-spec-validator"
  "$VENV/bin/openapi-spec-validator" "$WORK/$name-openapi.json" || failed=1
  log "$name: schemathesis (${SECS}s, seed $SEED)"
  # From the scratch directory: schemathesis keeps a cache in its working directory.
  # One worker: with two threads CPython 3.11 (Debian 12's) can fail inside schemathesis
  # with "AST constructor recursion depth mismatch", a data race in its `ast` module.
  (cd "$WORK" && "$VENV/bin/schemathesis" run "$url/openapi.json" --checks "$CHECKS" \
    --seed "$SEED" --max-time "$SECS" --workers 1 --no-color \
    -H "Authorization: Bearer $token" "$@") || failed=1
}
# The app plane first: fuzzing the control plane may suspend or delete our tenant.
check app-api "$APP" "$APP_TOKEN" -H "X-Tenant-Slug: $SLUG"
check control-api "$CONTROL" "$CONTROL_TOKEN"
[ $failed = 0 ] || die "API check failed"
log "API check passed"
