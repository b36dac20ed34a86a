#!/usr/bin/env bash
# The project's test command (the README's second command). On a fresh machine it installs what
# is missing, starts the services the tests need, and runs the whole suite:
#   1. the Rust workspace tests (cargo test --workspace), against es-sim in-process, the local
#      PostgreSQL and MariaDB, and moto for the AWS APIs (the serverless tests start
#      moto_server and drive the Lambda functions, in-process and under `cargo lambda watch`);
#   2. the es-sim conformance suite with the official Python Elasticsearch client;
#   3. extraction against the Tika oracle (tests/extraction/run.sh), token overlap >= 0.9 per format;
#   4. the demo (`connectors demo`), which must complete a sync, and the source scaffold
#      (`connectors source new`, whose generated test must pass; what it wrote is removed after);
#   5. the container image (tests/container.sh): the static musl build, the image, and the
#      service in podman against es-sim, as README's "Run in a container" describes.
# Set ES_URL (and ES_API_KEY or ES_USERNAME/ES_PASSWORD) to run the client tests against a
# real cluster instead of es-sim.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

run_started=$(date +%s)
step() { printf '\n==> %s [%d s]\n' "$*" "$(( $(date +%s) - run_started ))"; }

step "toolchain"
command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 2; }
cargo --version

step "services"
bash "$REPO/tests/services.sh"

step "tools (moto, cargo-lambda, SAM CLI, cfn-lint; aarch64 target)"
bash "$REPO/tests/tools.sh"
export PATH="$REPO/.venv/bin:$PATH"

step "build"
# The binaries and every test target (the benches are type-checked by clippy in CI; `cargo
# bench` builds them when they are run).
cargo build --workspace --bins
cargo test --workspace --no-run

step "rust tests"
RUST_LOG_FILE="$(mktemp)"
trap 'rm -f "$RUST_LOG_FILE"' EXIT
cargo test --workspace --no-fail-fast 2>&1 | tee "$RUST_LOG_FILE"
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
RUST_COUNTS="$(awk '/^test result:/ { p += $4; f += $6 } END { printf "%d passed, %d failed", p, f }' "$RUST_LOG_FILE")"

step "es-sim conformance (official Python client)"
ES_SIM_BIN="${CARGO_TARGET_DIR:-$REPO/target}/debug/es-sim" bash "$REPO/tests/python/run.sh"

step "extraction against Tika (tests/extraction/run.sh)"
bash "$REPO/tests/extraction/run.sh"

step "demo"
# README's `cargo run -p connectors -- demo`, with the binary built above (a build of the one
# package would compile its dependencies again, with that package's features alone).
"${CARGO_TARGET_DIR:-$REPO/target}/debug/connectors" demo

step "source scaffold (tests/scaffold.sh)"
bash "$REPO/tests/scaffold.sh"

step "container image (tests/container.sh)"
CONTAINER_LOG_FILE="$(mktemp)"
trap 'rm -f "$RUST_LOG_FILE" "$CONTAINER_LOG_FILE"' EXIT
bash "$REPO/tests/container.sh" 2>&1 | tee "$CONTAINER_LOG_FILE"
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 1
CONTAINER_COUNTS="$(grep '^container: ' "$CONTAINER_LOG_FILE" | tail -n1)"

echo
echo "all test stages passed in $(( $(date +%s) - run_started )) s"
echo "$CONTAINER_COUNTS"
echo "rust: $RUST_COUNTS"
