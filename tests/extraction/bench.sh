#!/usr/bin/env bash
# The extraction benchmark (figures for the README and the issue; not part of the test run):
#   1. per format: MB/s and files/s of `connectors extract --bench` (release) and of the Tika
#      oracle (extractous) on the same corpus, in the same run, and the ratio overall;
#   2. a `dir` sync with in-process extraction of 1,000 mixed binary files (DOCX, PPTX, POTX,
#      XLSX, XLSM, XLS, PDF, ODT) into es-sim: docs/s and peak RSS (tests/benches/dir_sync.rs
#      with DIR_BENCH_CORPUS).
# COPIES (default 34: 34 x 24 files = 816) sets the size of the first corpus.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
PY="$REPO/.venv/bin/python"
COPIES="${COPIES:-34}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
"$PY" tests/extraction/corpus.py "$WORK/corpus" --copies "$COPIES" --no-hostile > /dev/null
echo "corpus: $(ls "$WORK/corpus" | wc -l) files, $(du -sh "$WORK/corpus" | cut -f1)"
cargo build -q --release -p connectors
BIN="${CARGO_TARGET_DIR:-target}/release/connectors"
"$BIN" extract --bench --runs 3 "$WORK/corpus" | tee "$WORK/ours.txt"
"$PY" tests/extraction/compare.py "$WORK/corpus" <("$BIN" extract --json "$WORK/corpus") --bench \
  | grep '^tika' | tee "$WORK/tika.txt"
"$PY" - "$WORK/ours.txt" "$WORK/tika.txt" <<'PYEOF'
import re, sys
def rates(path, who):
    out = {}
    for line in open(path):
        m = re.match(rf"{who} (\S+)\s+([\d.]+) MB/s\s+([\d.]+) files/s", line)
        if m:
            out[m.group(1)] = (float(m.group(2)), float(m.group(3)))
    return out
ours, tika = rates(sys.argv[1], "ours"), rates(sys.argv[2], "tika")
for fmt in sorted(ours):
    if fmt in tika and tika[fmt][0] > 0:
        print(f"ratio {fmt:8} {ours[fmt][0] / tika[fmt][0]:7.1f}x MB/s")
PYEOF
"$PY" tests/extraction/corpus.py "$WORK/binary" --copies 125 --binary-only --no-hostile > /dev/null
echo "binary corpus: $(ls "$WORK/binary" | wc -l) files, $(du -sh "$WORK/binary" | cut -f1)"
DIR_BENCH_CORPUS="$WORK/binary" cargo bench -q -p connectors-tests --bench dir_sync
