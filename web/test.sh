#!/usr/bin/env bash
# The browser tests: a fresh local stack on its own port and data folder,
# then web/tests/run.mjs against it; the stack stops when the tests end.
set -euo pipefail
cd "$(dirname "$0")/.."

port=${BINOME_TEST_PORT:-3917}
data=$(mktemp -d)
cargo build --quiet --locked -p local
target/debug/local --port "$port" --data "$data" >"$data/stack.log" 2>&1 &
stack=$!
trap 'kill "$stack" 2>/dev/null || true; wait "$stack" 2>/dev/null || true; rm -rf "$data"' EXIT

for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/v1/health" >/dev/null 2>&1 && break
  kill -0 "$stack" 2>/dev/null || { cat "$data/stack.log" >&2; exit 1; }
  sleep 0.2
done

BINOME_URL="http://127.0.0.1:$port" BINOME_OUTBOX="$data/outbox" node web/tests/run.mjs
