#!/usr/bin/env bash
# Installs what the tests need besides Rust, into the project's own .venv:
# moto (second emulator), cfn-lint and the SAM translator. Idempotent: a
# second run with unchanged requirements does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "setup: cargo is missing (install Rust with rustup)" >&2; exit 1; }
python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "setup: $python is missing (Python 3.10 or later)" >&2; exit 1; }

stamp=.venv/.requirements
if [ -x .venv/bin/python ] && cmp -s local/requirements.txt "$stamp"; then
  exit 0
fi
echo "setup: installing Python test tools into .venv"
# Packages the machine already has are reused, not downloaded again.
"$python" -m venv --system-site-packages .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r local/requirements.txt
.venv/bin/python -c "import moto.server, cfnlint, samtranslator" \
  || { echo "setup: the Python tools did not install" >&2; exit 1; }
cp local/requirements.txt "$stamp"
