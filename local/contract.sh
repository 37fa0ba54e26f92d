#!/usr/bin/env bash
# Checks the running code against its published contract (web/openapi.json):
# starts the local stack on a fresh data folder, creates an association key,
# named so that the generator cannot revoke it,
# then lets schemathesis generate requests for every operation, valid and
# invalid, and check that no answer is a 5xx or outside the contract.
# EXAMPLES (per operation, default 25) and SECONDS_BUDGET (whole run,
# default 120 s) size it; the seed is fixed so that a failure replays.
set -euo pipefail
cd "$(dirname "$0")/.."
bash local/setup.sh schemathesis_tool

port=${PORT:-3917}
data=$(mktemp -d)
cargo build --quiet --locked -p local
target/debug/local --port "$port" --data "$data" >"$data/stack.log" 2>&1 &
stack=$!
# On failure the stack's log and the report stay in target/contract/.
finish() {
  local status=$?
  kill "$stack" 2>/dev/null || true
  wait "$stack" 2>/dev/null || true
  if [ "$status" -ne 0 ]; then
    rm -rf target/contract && mkdir -p target/contract && cp -r "$data/stack.log" "$data/report" target/contract/ 2>/dev/null || true
    echo "contract: failed; the stack's log and the report are in target/contract/" >&2
  fi
  rm -rf "$data"
  exit "$status"
}
trap finish EXIT
base="http://127.0.0.1:$port"
BINOME_ASSOCIATION_KEY=$(python3 - "$base" "$data" "$stack" <<'PY'
import json, os, sys, time, urllib.request
base, data, stack = sys.argv[1], sys.argv[2], int(sys.argv[3])
for _ in range(300):
    try:
        urllib.request.urlopen(f"{base}/v1/health", timeout=1)
        break
    except OSError:
        os.kill(stack, 0)  # the stack exited: stop waiting
        time.sleep(0.2)
admin = open(f"{data}/admin-key").read().strip()
request = urllib.request.Request(f"{base}/v1/admin/associations/tremplin-93/keys", method="POST",
                                 headers={"Authorization": f"Bearer {admin}"})
original = json.load(urllib.request.urlopen(request, timeout=10))["api_key"]
# A named key: the generator may revoke the original one (`origine`),
# never one whose id it cannot guess.
request = urllib.request.Request(f"{base}/v1/association/keys", method="POST",
                                 data=json.dumps({"name": "schemathesis"}).encode(),
                                 headers={"Authorization": f"Bearer {original}",
                                          "Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request, timeout=10))["key"])
PY
) || { cat "$data/stack.log"; echo "contract: the stack did not start" >&2; exit 1; }
BINOME_ADMIN_KEY=$(cat "$data/admin-key")
export BINOME_ADMIN_KEY BINOME_ASSOCIATION_KEY

# One worker: two threads building hypothesis strategies at once trip a
# CPython 3.11 race in the ast module ("AST constructor recursion depth
# mismatch"), an error of the tool and not of the API.
.venv-schemathesis/bin/schemathesis --config-file local/schemathesis.toml run "$base/v1/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,negative_data_rejection \
  --max-examples "${EXAMPLES:-25}" --max-time "${SECONDS_BUDGET:-120}" --workers 1 --seed 1 \
  --no-color --suppress-health-check all --report junit --report-dir "$data/report"
