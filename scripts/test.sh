#!/usr/bin/env bash
# Runs every gate: the compose file's config check, formatting, clippy, all tests against
# real PostgreSQL and Redis (started first if they are not running), then the OpenAPI
# check (validator and a bounded schemathesis run per service, scripts/api-check.sh). Each test creates and drops its own databases
# and Redis keys, so this is safe on a machine that runs the dev platform too.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

ensure_postgres
ensure_redis
# docker-compose checks the compose file; promtool checks /metrics and the alert rules;
# pgbouncer serves the transaction-pooling test, which starts its own (tests skip these,
# with a note, where they are missing; here they are installed so CI always runs them);
# pg_dump/pg_restore make and read tenant backups; openssl makes the certificate of the
# TLS test server.
ensure_tools docker-compose:docker-compose promtool:prometheus pgbouncer:pgbouncer \
  pg_dump:postgresql-client pg_restore:postgresql-client openssl:openssl
# The console's browser test: Debian's Chromium driven by playwright-core (pinned in its
# lockfile; no browser download, which Playwright would otherwise attempt).
ensure_tools chromium:chromium node:nodejs npm:npm
(cd tests/console && npm ci --no-audit --no-fund --loglevel=error)
export TEST_PG_URL="$PG_SUPERUSER_URL"
export TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
if [ "${CI:-}" = true ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
  # CI runs in a fresh clone each time: keep build artifacts outside it.
  export CARGO_TARGET_DIR=/var/tmp/tenancy-ci-target
fi

log "docker-compose config"
check_compose
log "promtool check rules, config"
promtool check rules deploy/prometheus/alerts.yml
promtool check config deploy/prometheus/prometheus.yml
log "cargo fmt --check"
cargo fmt --all --check
log "cargo clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
log "cargo test"
cargo test --workspace
# After the tests, so a broken build fails fast; bounded (API_CHECK_SECS per service, about
# 4 minutes in all on 2 cores) and self-cleaning like the tests.
log "API check (openapi-spec-validator, schemathesis)"
API_CHECK_SECS=${API_CHECK_SECS:-90} scripts/api-check.sh
