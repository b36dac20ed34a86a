#!/usr/bin/env bash
# The source scaffold, checked as a user would use it: `connectors source new` in a copy of this
# repository, then the generated source's own test (the conformance kit) must build and pass at
# once. The copy builds in this repository's target folder (its crates compile again, the
# registry's dependencies are reused).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME="${1:-scaffold_demo}"
COPY="$(mktemp -d)/repo"
trap 'rm -rf "$(dirname "$COPY")"' EXIT
mkdir -p "$COPY"
tar -C "$REPO" --exclude=./target --exclude=./.git --exclude=./.venv --exclude=./.tools \
  --exclude='*/node_modules' -cf - . | tar -C "$COPY" -xf -

cd "$REPO"
cargo run -q -p connectors -- source new "$NAME" --repo "$COPY"
cd "$COPY"
CARGO_TARGET_DIR="$REPO/target" cargo test -q -p connectors-sources --test "$NAME"
echo "scaffold: the generated source '$NAME' builds and passes its conformance test"
