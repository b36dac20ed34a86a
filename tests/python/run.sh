#!/usr/bin/env bash
# Runs the es-sim conformance suite with the official Python Elasticsearch client.
#
#   tests/python/run.sh [pytest args...]
#
# Creates $REPO/.venv if needed, installs tests/python/requirements.txt, builds es-sim when its
# binary is missing (cargo build -p es-sim), then runs pytest. Environment:
#   ES_SIM_BIN  es-sim binary to start (default: $REPO/target/debug/es-sim)
#   ES_URL      test an already running server instead (sim-only tests are skipped)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
VENV="$REPO/.venv"

if [ ! -x "$VENV/bin/python" ]; then
  PY="$(command -v python3.11 || command -v python3)"
  echo "creating $VENV with $PY" >&2
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$HERE/requirements.txt"

if [ -z "${ES_URL:-}" ]; then
  BIN="${ES_SIM_BIN:-$REPO/target/debug/es-sim}"
  if [ ! -x "$BIN" ]; then
    if [ -n "${ES_SIM_BIN:-}" ]; then
      echo "ES_SIM_BIN=$ES_SIM_BIN is not an executable file" >&2
      exit 2
    fi
    echo "es-sim binary missing: cargo build -p es-sim" >&2
    (cd "$REPO" && cargo build -p es-sim)
  fi
fi

cd "$REPO"
exec "$VENV/bin/python" -m pytest -q tests/python "$@"
