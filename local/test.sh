#!/usr/bin/env bash
# The test command: every check CI runs, in the order that fails fastest.
set -euo pipefail
cd "$(dirname "$0")/.."

step() {
  echo
  echo "==> $*"
  local started=$SECONDS
  "$@"
  echo "    ($((SECONDS - started)) s)"
}

step bash local/setup.sh
step .venv/bin/python infra/check.py
# The template against a security scanner; each skip is justified beside its resource.
step .venv-checkov/bin/checkov --quiet --compact --skip-download --framework cloudformation -f infra/template.yaml
step cargo fmt --all --check
step cargo clippy --workspace --all-targets --locked -- -D warnings
step cargo test --workspace --locked
# The running stack against its published contract (web/openapi.json).
step bash local/contract.sh
# The parsers of outside input, 60 s per target.
step bash fuzz/run.sh 60
echo
echo "all checks passed in $SECONDS s"
