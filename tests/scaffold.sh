#!/usr/bin/env bash
# The source scaffold, checked as a user would use it: `connectors source new` in this repository,
# then the generated source's own test (the conformance kit) must build and pass at once.
# Everything the scaffold wrote is removed and `shared/sources/src/lib.rs` restored afterwards,
# whatever happens (built in place, so only the sources crate and its dependents compile again).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME="${1:-scaffold_demo}"
LIB="$REPO/shared/sources/src/lib.rs"
BACKUP="$(mktemp)"
cp "$LIB" "$BACKUP"
restore() {
  cp "$BACKUP" "$LIB"
  rm -f "$BACKUP"
  rm -rf "$REPO/shared/sources/src/$NAME" "$REPO/shared/sources/tests/$NAME.rs"
}
trap restore EXIT

cd "$REPO"
if [ -e "shared/sources/src/$NAME" ] || [ -e "shared/sources/tests/$NAME.rs" ]; then
  trap - EXIT
  rm -f "$BACKUP"
  echo "scaffold: '$NAME' already exists in this repository; pass another name" >&2
  exit 2
fi
# Built with the workspace's features (as tests/run.sh builds), so nothing is built twice.
cargo build -q --workspace --bins
"${CARGO_TARGET_DIR:-$REPO/target}/debug/connectors" source new "$NAME" --repo "$REPO"
cargo test -q --workspace --test "$NAME"
echo "scaffold: the generated source '$NAME' builds and passes its conformance test"
