#!/usr/bin/env bash
# The container image end to end (README, "Run in a container"); a step of tests/run.sh.
# Installs podman and runc (and musl-tools for the static build) if missing, builds the image
# with infra/container/build.sh, starts es-sim on a free loopback port and runs the image as a
# user would, with a mounted config.yml and a mounted folder served by a `dir` connector:
#   - the image: size, numeric non-root user, entrypoint/cmd, the binary as PID 1;
#   - a connector and a sync job created through the `_connector` API as Kibana does: the job
#     completes with exactly the folder's documents;
#   - `podman stop` mid-sync leaves the job `suspended` (SIGTERM to PID 1), and a new container
#     resumes it to completion with exact counts;
#   - TLS: the image's CA bundle (SSL_CERT_FILE) is what verifies Elasticsearch's certificate,
#     and ES_CA_FILE adds a private CA.
# Prints `container: N passed, M failed` last and exits non-zero on any failure. Where podman
# cannot run at all it prints a NOTICE and skips (CONTAINER_TESTS_REQUIRED=1 makes that fail).
set -uo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO" || exit 2
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
IMAGE="${CONTAINER_TEST_IMAGE:-localhost/connectors:test}"
FILES=3000 # documents of the mounted folder: enough for a sync to be stopped in its middle
P="connectors-test-$$" # container names
started=$(date +%s)
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   - $* [$(( $(date +%s) - started )) s]"; }
not_ok() { failed=$((failed + 1)); echo "FAIL - $* [$(( $(date +%s) - started )) s]"; }
check() { # description, command...
  local what=$1; shift
  if "$@"; then ok "$what"; else not_ok "$what"; return 1; fi
}
summary() {
  echo "container tests took $(( $(date +%s) - started )) s"
  echo "container: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
skip() {
  echo "NOTICE: container tests skipped: $*"
  if [ "${CONTAINER_TESTS_REQUIRED:-0}" = 1 ]; then
    not_ok "container tests required (CONTAINER_TESTS_REQUIRED=1) but $*"
    summary
    exit 1
  fi
  echo "container: 0 passed, 0 failed, 1 skipped"
  exit 0
}
fatal() { not_ok "$*"; summary; exit 1; }

# --- what it needs --------------------------------------------------------------------------
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v musl-gcc >/dev/null || missing+=(musl-tools)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null \
      || echo "apt-get could not install ${missing[*]}"
  fi
fi
command -v podman >/dev/null || skip "podman is not installed and could not be installed here"
command -v runc >/dev/null || skip "runc is not installed and could not be installed here"
podman info >/dev/null 2>&1 || skip "podman does not work here: $(podman info 2>&1 | tail -n1)"
for tool in curl python3 openssl; do
  command -v "$tool" >/dev/null || fatal "$tool is required"
done
# The runtime flags this machine needs (its default rlimits cannot be raised in a container).
PODMAN=(podman --runtime runc)
RUN=("${PODMAN[@]}" run --rm --network=host --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
  --read-only --cap-drop=ALL --security-opt=no-new-privileges)

WORK="$(mktemp -d)"
chmod 0755 "$WORK"
pids=()
containers=()
cleanup() {
  for c in "${containers[@]}"; do podman rm -f -t 0 "$c" >/dev/null 2>&1; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- the image ------------------------------------------------------------------------------
echo "building the image (infra/container/build.sh: from clean, the static release build takes about 10 min on 2 cores)"
build_started=$(date +%s)
if ENGINE=podman IMAGE="$IMAGE" bash infra/container/build.sh >"$WORK/build.log" 2>&1; then
  ok "image builds ($(( $(date +%s) - build_started )) s: static musl binary + FROM scratch)"
else
  tail -n 40 "$WORK/build.log"
  fatal "image builds"
fi
grep '^build.sh:' "$WORK/build.log"
size=$(podman image inspect --format '{{.Size}}' "$IMAGE")
check "image is under 20 MB ($(awk -v s="$size" 'BEGIN { printf "%.1f MB", s / 1e6 }'))" \
  test "$size" -lt 20000000
config_of() { podman image inspect --format "{{json .Config.$1}}" "$IMAGE"; }
check "runs as the numeric non-root user 65532:65532" test "$(config_of User)" = '"65532:65532"'
check 'entrypoint ["/connectors"], cmd ["--config","/config/config.yml","run"]' \
  test "$(config_of Entrypoint) $(config_of Cmd)" = '["/connectors"] ["--config","/config/config.yml","run"]'
version_out=$("${RUN[@]}" "$IMAGE" --version 2>&1)
check "the static binary runs in the empty image ($version_out)" grep -q '^connectors ' <<<"$version_out"

# --- es-sim, the folder, the configuration --------------------------------------------------
ES_SIM="$TARGET_DIR/debug/es-sim"
if [ ! -x "$ES_SIM" ]; then
  echo "building es-sim"
  cargo build -q -p es-sim || fatal "es-sim builds"
fi
"$ES_SIM" --host 127.0.0.1 --port 0 >"$WORK/es-sim.out" 2>"$WORK/es-sim.err" &
pids+=($!)
for _ in $(seq 1 100); do
  grep -q 'listening on' "$WORK/es-sim.out" 2>/dev/null && break
  sleep 0.1
done
ES="$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$WORK/es-sim.out" | head -n1)"
[ -n "$ES" ] || fatal "es-sim starts ($(cat "$WORK/es-sim.err"))"
echo "es-sim at $ES"

# GET/PUT/POST/DELETE against es-sim; prints the body, fails on an HTTP error.
es() { curl -sS --fail-with-body -X "$1" "$ES$2" -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
# Reads a JSON document on stdin and prints a Python expression of it (`d`).
json() { python3 -c 'import json, sys; d = json.load(sys.stdin); v = eval(sys.argv[1]); print(v if v is not None else "")' "$1"; }
# Waits up to $1 seconds for command "$@" to succeed.
wait_for() {
  local deadline=$(( $(date +%s) + $1 )); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

DATA="$WORK/data"
python3 - "$DATA" "$FILES" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, f"d{i % 10}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:05}.txt"), "w") as f:
        f.write(f"content {i}\n")
EOF
chmod -R a+rX "$DATA"
CONNECTOR=container-dir
INDEX=search-container-dir
cat >"$WORK/config.yml" <<EOF
# config.yml of tests/container.sh
elasticsearch:
  host: $ES
service:
  idling: 1
  lease_grace: 1
  job_cleanup_interval: 2
connectors:
  - connector_id: $CONNECTOR
    service_type: dir
EOF
chmod 0644 "$WORK/config.yml"
# Slices of one second, small _bulk requests one at a time and a checkpoint after every page:
# a sync of several slices that is still running when the container is stopped.
SLOW=(-e CONNECTORS_SLICE_SECONDS=1 -e ES_BULK_CHUNK_SIZE=10 -e ES_BULK_MAX_CONCURRENCY=1
  -e CONNECTORS_CHECKPOINT_INTERVAL=0)
MOUNTS=(-v "$WORK/config.yml:/config/config.yml:ro" -v "$DATA:/data:ro")

# Starts the service container $1 (the image's default command), attached, with its log in
# $WORK/$1.log; sets START_MS to the milliseconds from `podman run` to its first scheduler pass.
declare -A SERVICE_PID
start_service() {
  local name=$1 t0
  containers+=("$name")
  t0=$(date +%s%N)
  "${RUN[@]}" --name "$name" "${MOUNTS[@]}" "${SLOW[@]}" "$IMAGE" >"$WORK/$name.log" 2>&1 &
  SERVICE_PID[$name]=$!
  for _ in $(seq 1 2000); do
    if grep -q 'scheduler pass' "$WORK/$name.log" 2>/dev/null; then
      START_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
      return 0
    fi
    kill -0 "${SERVICE_PID[$name]}" 2>/dev/null || break
    sleep 0.01
  done
  cat "$WORK/$name.log"
  return 1
}
# Stops container $1 with `podman stop` (SIGTERM, SIGKILL after 30 s); sets STOP_CODE to the
# container's exit code (that of its attached `podman run`) and STOP_MS to the time it took.
stop_service() {
  local name=$1 t0
  t0=$(date +%s%N)
  podman stop -t 30 "$name" >/dev/null 2>&1
  wait "${SERVICE_PID[$name]}"
  STOP_CODE=$?
  STOP_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
}
job_field() { es GET "/_connector/_sync_job/$1" | json "d.get('$2')"; }
job_status_is() { [ "$(job_field "$1" status)" = "$2" ]; }

# --- a sync through the service in a container ----------------------------------------------
start_service "$P-a" || fatal "the service container starts and runs a scheduler pass"
ok "the service container runs its first scheduler pass $START_MS ms after podman run"
pid=$(podman inspect --format '{{.State.Pid}}' "$P-a")
check "the binary is PID 1 in the container" \
  test "$(awk '/^NSpid:/ { print $NF }' "/proc/$pid/status")" = 1
check "the process runs as uid 65532" \
  test "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" = 65532

# As Kibana: create the connector, wait for the service to publish its configuration schema,
# save the configuration form, wait for `connected`, then press Sync.
es PUT "/_connector/$CONNECTOR" \
  "{\"index_name\":\"$INDEX\",\"name\":\"Container test\",\"service_type\":\"dir\"}" >/dev/null \
  || fatal "PUT _connector/$CONNECTOR"
has_schema() { [ -n "$(es GET "/_connector/$CONNECTOR" | json "d.get('configuration', {}).get('directory')")" ]; }
check "the service publishes the dir connector's configuration schema" wait_for 20 has_schema
es PUT "/_connector/$CONNECTOR/_configuration" '{"values":{"directory":"/data"}}' >/dev/null \
  || fatal "PUT _connector/$CONNECTOR/_configuration"
connected() { [ "$(es GET "/_connector/$CONNECTOR" | json "d['status']")" = connected ]; }
check "the connector becomes connected" wait_for 20 connected
new_job() {
  es POST /_connector/_sync_job "{\"id\":\"$CONNECTOR\",\"job_type\":\"full\",\"trigger_method\":\"on_demand\"}" \
    | json "d['id']"
}
JOB1=$(new_job) || fatal "POST _connector/_sync_job"
finished() { local s; s=$(job_field "$1" status); [ "$s" = completed ] || [ "$s" = error ] || [ "$s" = canceled ]; }
wait_for 120 finished "$JOB1"
counts() { # job -> "status indexed deleted total"
  es GET "/_connector/_sync_job/$1" \
    | json "' '.join(str(d.get(k)) for k in ('status', 'indexed_document_count', 'deleted_document_count', 'total_document_count'))"
}
index_count() { es POST "/$INDEX/_refresh" >/dev/null; es GET "/$INDEX/_count" | json "d['count']"; }
c1=$(counts "$JOB1")
check "the job completes with exactly the folder's documents ($c1)" test "$c1" = "completed $FILES 0 $FILES"
n=$(index_count)
check "the index holds exactly the folder's documents ($n)" test "$n" = "$FILES"

# --- podman stop mid-sync, and a new container resumes --------------------------------------
es PUT /_sim/faults '{"latency_ms": 4}' >/dev/null # slower requests: a sync of several seconds
JOB2=$(new_job) || fatal "POST _connector/_sync_job"
progressed() { [ "$(job_field "$JOB2" indexed_document_count)" -ge 200 ] 2>/dev/null; }
wait_for 60 progressed || not_ok "the second job makes progress"
stop_service "$P-a"
check "podman stop: the container exits 0 on SIGTERM, in $STOP_MS ms" test "$STOP_CODE" = 0
check "the stopped service logs the suspension" grep -q 'job suspended' "$WORK/$P-a.log"
c2=$(counts "$JOB2")
check "the job is left suspended mid-sync ($c2)" job_status_is "$JOB2" suspended
indexed=$(job_field "$JOB2" indexed_document_count)
check "it stopped in the middle ($indexed of $FILES indexed)" test "$indexed" -gt 0 -a "$indexed" -lt "$FILES"

es DELETE /_sim/faults >/dev/null
# The new service dispatches the suspended job once 60 s have passed since its last dispatch
# (the scheduler's redispatch delay): most of this test's time is that wait.
start_service "$P-b" || fatal "a new service container starts"
ok "a new container runs its first scheduler pass $START_MS ms after podman run"
wait_for 120 finished "$JOB2"
c2=$(counts "$JOB2")
check "the new container resumes the job to completion with exact counts ($c2)" \
  test "$c2" = "completed $FILES 0 $FILES"
n=$(index_count)
check "the index holds exactly the folder's documents ($n)" test "$n" = "$FILES"
stop_service "$P-b"
check "the service stops with exit code 0 in $STOP_MS ms" test "$STOP_CODE" = 0

# --- TLS: the image's CA bundle, and a private CA -------------------------------------------
TLS="$WORK/tls"
mkdir -p "$TLS"
(
  cd "$TLS" &&
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 2 -subj /CN=container-test-ca -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr \
    -subj /CN=localhost &&
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >ext &&
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem \
    -days 2 -extfile ext
) >"$WORK/openssl.log" 2>&1 || fatal "openssl makes a test CA ($(tail -n3 "$WORK/openssl.log"))"
chmod 0644 "$TLS"/ca.pem
# A TLS front for es-sim.
cat >"$WORK/tls_proxy.py" <<'EOF'
# TLS terminator of tests/container.sh: https://127.0.0.1:<port printed> -> es-sim.
import socket, ssl, sys, threading
cert, key, upstream_port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(64)
print(listener.getsockname()[1], flush=True)

def pipe(src, dst):
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

def handle(conn):
    try:
        tls = ctx.wrap_socket(conn, server_side=True)
    except (ssl.SSLError, OSError):
        conn.close()
        return
    up = socket.create_connection(("127.0.0.1", upstream_port))
    threading.Thread(target=pipe, args=(tls, up), daemon=True).start()
    pipe(up, tls)

while True:
    c, _ = listener.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
EOF
python3 "$WORK/tls_proxy.py" "$TLS/server.pem" "$TLS/server.key" "${ES##*:}" >"$WORK/tls.port" 2>"$WORK/tls.err" &
pids+=($!)
wait_for 10 test -s "$WORK/tls.port" || fatal "the TLS front starts ($(cat "$WORK/tls.err"))"
HTTPS="https://localhost:$(head -n1 "$WORK/tls.port")"
cat >"$WORK/tls.yml" <<EOF
# config.yml of the TLS checks of tests/container.sh
elasticsearch:
  host: $HTTPS
  max_wait_duration: 2
  max_retries: 0
connectors:
  - connector_id: tls-check
EOF
chmod 0644 "$WORK/tls.yml"
tick() { "${RUN[@]}" -v "$WORK/tls.yml:/config/config.yml:ro" "$@" "$IMAGE" --config /config/config.yml tick 2>&1; }
# The image's own bundle (this host's public roots) does not trust the test CA...
if out=$(tick); then
  not_ok "the image's CA bundle does not trust an unknown CA: $out"
else
  check "the image's CA bundle does not trust an unknown CA ($(grep -m1 -io '[^:]*certificate[^,]*' <<<"$out"))" \
    grep -qi 'UnknownIssuer' <<<"$out" || echo "$out"
fi
# ...the same container with the test CA as the bundle at the image's SSL_CERT_FILE path does...
out=$(tick -v "$TLS/ca.pem:/etc/ssl/certs/ca-certificates.crt:ro")
check "the CA bundle at SSL_CERT_FILE verifies Elasticsearch's certificate" grep -q 'connectors, 0 scheduled' <<<"$out" \
  || echo "$out"
# ...and ES_CA_FILE adds a private CA to the image's bundle.
out=$(tick -v "$TLS/ca.pem:/config/ca.pem:ro" -e ES_CA_FILE=/config/ca.pem)
check "ES_CA_FILE adds a private CA" grep -q 'connectors, 0 scheduled' <<<"$out" || echo "$out"

summary
