#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo fuzz, libFuzzer) of the parsers that read
# outside input, each target for SECONDS seconds (default 60), two at a time.
# The corpus starts from the sample events' bodies and keeps what the runs
# found in fuzz/corpus/ (not committed). A crash leaves its input in
# fuzz/artifacts/<target>/ and fails the run; replay it with
#   cargo fuzz run -s none <target> fuzz/artifacts/<target>/<file>
# Longer runs: `bash fuzz/run.sh 3600`, or one target:
#   cargo fuzz run -s none --dev tokens -- -max_total_time=3600
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
targets=(addresses tokens json_bodies signup_forms)

command -v cargo-fuzz >/dev/null || cargo install --locked --quiet cargo-fuzz@0.13.2

# Seeds: the JSON bodies of the sample events, and the fields people type.
for target in "${targets[@]}"; do mkdir -p "fuzz/corpus/$target"; done
python3 - <<'PY'
import json, pathlib, hashlib
root = pathlib.Path("fuzz/corpus")
def seed(target, text):
    data = text.encode()
    (root / target / hashlib.sha1(data).hexdigest()).write_bytes(data)
for path in sorted(pathlib.Path("events").glob("*.json")):
    event = json.loads(path.read_text())
    body = event.get("body") if isinstance(event, dict) else None
    if isinstance(body, str) and body.startswith("{"):
        for target in ("json_bodies", "signup_forms"):
            seed(target, body)
        for name, value in json.loads(body).items():
            if isinstance(value, str):
                seed("addresses", value)
    for value in ((event.get("queryStringParameters") or {}) if isinstance(event, dict) else {}).values():
        seed("tokens", value)
PY

# Not instrumented for memory errors (-s none): the code is safe Rust, and
# the stable toolchain has no sanitizers. Debug builds: the run is short and
# the AWS SDK's optimised build would take longer than the fuzzing.
cargo fuzz build -s none --dev
run() {
  local target=$1
  cargo fuzz run -s none --dev "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"fuzz/$target.log" 2>&1 || { tail -40 "fuzz/$target.log"; echo "fuzz: $target failed" >&2; return 1; }
  echo "fuzz: $target: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "fuzz/$target.log" | grep -o '[0-9]*$') inputs in ${seconds} s, no crash, corpus $(ls "fuzz/corpus/$target" | wc -l)"
}
failed=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  pids=()
  for target in "${targets[@]:i:2}"; do
    run "$target" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
done
exit $failed
