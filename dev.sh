#!/usr/bin/env bash
# carenet developer entry point.   ./dev.sh run  — set up and serve the demo city at http://127.0.0.1:8000
#                                  ./dev.sh test — run every test (SQLite; DATABASE_URL=postgres://… for PostgreSQL)
set -euo pipefail
cd "$(dirname "$0")"
ROOT="$(pwd)"

pick_python() {
  # Django 6 needs Python >= 3.12; a 3.11 machine gets the Django 5.2 LTS pinned in the same lock.
  local candidates=(python3.14 python3.13 python3.12)
  for c in "${candidates[@]}"; do command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys' 2>/dev/null && { command -v "$c"; return; }; done
  if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv root 2>/dev/null)/versions/3.1[2-9]*/bin/python3; do [ -x "$v" ] && { echo "$v"; return; }; done
  fi
  for c in python3 python; do
    command -v "$c" >/dev/null 2>&1 && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' && { command -v "$c"; return; }
  done
  echo "carenet needs Python 3.11 or newer" >&2; exit 1
}

setup() {
  if [ ! -x .venv/bin/python ]; then
    "$(pick_python)" -m venv .venv
  fi
  local stamp=.venv/.carenet-installed
  if [ ! -f "$stamp" ] || [ requirements.lock -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
    touch "$stamp"
  fi
  if [ ! -d node_modules/htmx.org ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    command -v npm >/dev/null 2>&1 || { echo "npm is needed to install the front-end libraries (apt-get install npm)" >&2; exit 1; }
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

case "${1:-run}" in
  run)
    setup
    export CARENET_DEMO=1
    .venv/bin/carenet migrate --verbosity 0
    .venv/bin/carenet demo --if-empty
    .venv/bin/carenet collectstatic --noinput --verbosity 0
    .venv/bin/carenet demo_accounts
    exec .venv/bin/carenet serve
    ;;
  test)
    setup
    shift || true
    export CARENET_DEMO=1
    # A fixed test-only field key: tests never touch var/field.key.
    export CARENET_FIELD_KEY="${CARENET_TEST_FIELD_KEY:-dGVzdC1vbmx5LWZpZWxkLWtleS0zMi1ieXRlcy0tLS0=}"
    export CARENET_VAR_DIR="${CARENET_VAR_DIR:-$ROOT/var/test}"
    exec .venv/bin/python -m pytest -p no:cacheprovider -n "${CARENET_TEST_WORKERS:-2}" "$@"
    ;;
  *)
    echo "usage: ./dev.sh [run|test [pytest args]]" >&2; exit 2
    ;;
esac
