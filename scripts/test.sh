#!/usr/bin/env bash
# Runs every gate: the compose file's config check, formatting, clippy, and all tests
# against real PostgreSQL and Redis (started first if they are not running). Each test creates and drops its own databases
# and Redis keys, so this is safe on a machine that runs the dev platform too.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_postgres
ensure_redis
# docker-compose checks the compose file; promtool checks /metrics (tests skip it, with a
# note, where it is missing; here it is installed so CI always runs it).
ensure_tools docker-compose:docker-compose promtool:prometheus
export TEST_PG_URL="$PG_SUPERUSER_URL"
export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
if [ "${CI:-}" = true ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
  # CI runs in a fresh clone each time: keep build artifacts outside it.
  export CARGO_TARGET_DIR=/var/tmp/tenancy-ci-target
fi

log "docker-compose config"
check_compose
log "cargo fmt --check"
cargo fmt --all --check
log "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
log "cargo test"
cargo test --workspace
log "API check (OpenAPI validator, schemathesis)"
scripts/api-check.sh
