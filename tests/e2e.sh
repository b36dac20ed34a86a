#!/usr/bin/env bash
# End-to-end tests of one source against its real server (or emulator) and an isolated es-sim:
#   bash tests/e2e.sh <service type>      e.g. postgresql, network_drive, s3
#   bash tests/e2e.sh --list              the sources this machine can test
# Starts the local services (PostgreSQL, MariaDB, Redis) and installs the emulators if missing
# (tests/services.sh, tests/tools.sh), then runs the source's conformance check and its own tests.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

# service type -> test targets of connectors-sources, each `target:name filter`
declare -A TESTS=(
  [dir]="conformance:dir_conforms conformance:customized"
  [postgresql]="conformance:postgresql_conforms postgresql: sync:postgresql"
  [mysql]="conformance:mysql_conforms mysql: sync:mysql"
  [redis]="redis:"
  [s3]="objects:s3"
  [azure_blob_storage]="objects:azure"
  [google_cloud_storage]="objects:gcs"
  [network_drive]="network_drive:"
  [graphql]="graphql:"
)

if [ "${1:-}" = "--list" ] || [ -z "${1:-}" ]; then
  echo "sources with end-to-end tests on this machine:"
  for s in "${!TESTS[@]}"; do echo "  $s"; done | sort
  [ -n "${1:-}" ] || exit 2
  exit 0
fi
source_type="$1"
args="${TESTS[$source_type]:-}"
if [ -z "$args" ]; then
  echo "no end-to-end test for '$source_type' (bash tests/e2e.sh --list)" >&2
  exit 2
fi

bash "$REPO/tests/services.sh"
bash "$REPO/tests/tools.sh" >/dev/null
export PATH="$REPO/.venv/bin:$PATH"
# Under CI semantics a missing server fails instead of skipping.
export CI="${CI:-true}"
for spec in $args; do
  target="${spec%%:*}"
  filter="${spec#*:}"
  echo "==> $source_type: tests/$target ${filter:+(tests matching '$filter')}"
  cargo test -p connectors-sources --test "$target" -- $filter
done
