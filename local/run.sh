#!/usr/bin/env bash
# Runs the whole stack locally: installs the site's assets on first run
# (the State's design system, from web/package-lock.json), then every route
# on one port. Arguments go to the stack (--port 3000 --data .local).
set -euo pipefail
cd "$(dirname "$0")/.."
bash local/setup.sh web
exec cargo run --quiet -p local -- "$@"
