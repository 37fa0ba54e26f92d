#!/usr/bin/env bash
# Installs what the stack and the tests need besides Rust: the Python test
# tools into the project's own .venv (moto, cfn-lint, the SAM translator),
# checkov into .venv-checkov, schemathesis into .venv-schemathesis,
# the site's npm packages from web/package-lock.json (the State's design
# system, the browser-test tools) and Debian's Chromium for the browser
# tests. Idempotent: a second run with unchanged requirements does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo >/dev/null || { echo "setup: cargo is missing (install Rust with rustup)" >&2; exit 1; }

python_tools() {
  local python=${PYTHON:-python3} stamp=.venv/.requirements
  command -v "$python" >/dev/null || { echo "setup: $python is missing (Python 3.10 or later)" >&2; exit 1; }
  if [ -x .venv/bin/python ] && cmp -s local/requirements.txt "$stamp"; then
    return
  fi
  echo "setup: installing Python test tools into .venv"
  # Packages the machine already has are reused, not downloaded again.
  "$python" -m venv --system-site-packages .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r local/requirements.txt
  .venv/bin/python -c "import moto.server, cfnlint, samtranslator" \
    || { echo "setup: the Python tools did not install" >&2; exit 1; }
  cp local/requirements.txt "$stamp"
}

# checkov pins many packages of its own: it lives in .venv-checkov.
checkov_tool() {
  local python=${PYTHON:-python3} stamp=.venv-checkov/.requirements
  if [ -x .venv-checkov/bin/checkov ] && cmp -s local/requirements-checkov.txt "$stamp"; then
    return
  fi
  echo "setup: installing checkov into .venv-checkov"
  "$python" -m venv .venv-checkov
  .venv-checkov/bin/python -m pip install --quiet --disable-pip-version-check -r local/requirements-checkov.txt
  cp local/requirements-checkov.txt "$stamp"
}

# schemathesis, the contract's request generator, in .venv-schemathesis.
schemathesis_tool() {
  local python=${PYTHON:-python3} stamp=.venv-schemathesis/.requirements
  if [ -x .venv-schemathesis/bin/schemathesis ] && cmp -s local/requirements-schemathesis.txt "$stamp"; then
    return
  fi
  echo "setup: installing schemathesis into .venv-schemathesis"
  "$python" -m venv .venv-schemathesis
  .venv-schemathesis/bin/python -m pip install --quiet --disable-pip-version-check -r local/requirements-schemathesis.txt
  cp local/requirements-schemathesis.txt "$stamp"
}

web_packages() {
  local stamp=web/node_modules/.installed-lock.json
  command -v npm >/dev/null || { echo "setup: npm is missing (Node.js 20 or later)" >&2; exit 1; }
  if [ -f "$stamp" ] && cmp -s web/package-lock.json "$stamp"; then
    return
  fi
  echo "setup: installing the site's npm packages (web/package-lock.json)"
  # No install scripts: the design system's only checks for a project
  # configuration we do not use, and no package needs one to work.
  npm ci --prefix web --ignore-scripts --no-audit --no-fund --loglevel=error
  cp web/package-lock.json "$stamp"
}

browser() {
  if command -v chromium >/dev/null; then
    return
  fi
  echo "setup: installing Debian's Chromium for the browser tests"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
}

# `local/setup.sh web` installs only what the stack itself serves.
for part in "${@:-python_tools checkov_tool schemathesis_tool web_packages browser}"; do
  case $part in
    web) web_packages ;;
    *) for step in $part; do "$step"; done ;;
  esac
done
