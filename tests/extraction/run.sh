#!/usr/bin/env bash
# Extraction against Tika: writes a corpus (tests/extraction/corpus.py, 2 copies of every
# format), extracts it with `connectors extract --json`, and compares file by file with the
# Tika oracle (the extractous wheel): the normalised token overlap per format must be at least
# 0.9. Needs .venv with tests/extraction/requirements.txt (tests/tools.sh) and a built
# `connectors` (CONNECTORS_BIN, default target/debug/connectors).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="$REPO/.venv/bin/python"
BIN="${CONNECTORS_BIN:-${CARGO_TARGET_DIR:-$REPO/target}/debug/connectors}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$PY" "$REPO/tests/extraction/corpus.py" "$WORK/corpus" --copies 2 --no-hostile > "$WORK/manifest.json"
"$BIN" extract --json "$WORK/corpus" > "$WORK/ours.json"
"$PY" "$REPO/tests/extraction/compare.py" "$WORK/corpus" "$WORK/ours.json" --min-overlap 0.9
