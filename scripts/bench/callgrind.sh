#!/usr/bin/env bash
# Instructions per request of the hot path, counted by callgrind in a release app-api; see
# scripts/bench/callgrind.py. Usage: scripts/bench/callgrind.sh [REQUESTS] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/lib.sh

missing=()
command -v valgrind >/dev/null || missing+=(valgrind)
command -v python3 >/dev/null || missing+=(python3)
[ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
ensure_postgres
ensure_redis

log "building release binaries"
cargo build --release --quiet -p control-api -p app-api

export PG_SUPERUSER_URL REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
exec python3 -B scripts/bench/callgrind.py "$@"
