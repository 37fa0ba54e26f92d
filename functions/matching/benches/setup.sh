#!/usr/bin/env bash
# Installs the matching benchmark's reference solver (Google OR-tools) into
# the project's .venv-bench. Idempotent: nothing to do when it is there.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd ../../.. && pwd)
stamp="$root/.venv-bench/.requirements"
if [ -x "$root/.venv-bench/bin/python" ] && cmp -s requirements.txt "$stamp"; then
  exit 0
fi
python=${PYTHON:-python3}
echo "bench setup: installing OR-tools into .venv-bench" >&2
"$python" -m venv --system-site-packages "$root/.venv-bench"
"$root/.venv-bench/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt
"$root/.venv-bench/bin/python" -c "from ortools.graph.python import min_cost_flow" \
  || { echo "bench setup: OR-tools did not install" >&2; exit 1; }
cp requirements.txt "$stamp"
