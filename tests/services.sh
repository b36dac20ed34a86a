#!/usr/bin/env bash
# Starts the local services the tests use if they are down, and creates what the tests need.
# PostgreSQL (127.0.0.1:5432, trust auth), MariaDB (127.0.0.1:3306, root without password) and
# Redis (127.0.0.1:6379) are installed on the project's machines; the emulators (moto, azurite,
# fake-gcs-server) are started by the tests themselves.
set -uo pipefail

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then echo "$name is up"; return 0; fi
    sleep 1
  done
  echo "$name did not come up" >&2
  return 1
}

if command -v pg_isready >/dev/null; then
  if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
  wait_for PostgreSQL pg_isready -h 127.0.0.1 -p 5432 -q
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" || true
else
  echo "PostgreSQL is not installed here: its tests will skip"
fi

if [ -x /usr/sbin/mariadbd ]; then
  if ! mysqladmin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; then
    echo "starting MariaDB"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
  fi
  wait_for MariaDB mysqladmin -h 127.0.0.1 -P 3306 -u root ping
  mysql -h 127.0.0.1 -P 3306 -u root -e "CREATE DATABASE IF NOT EXISTS test" || true
else
  echo "MariaDB is not installed here: its tests will skip"
fi
if command -v redis-server >/dev/null; then
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    echo "starting Redis"
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" --appendonly no || true
  fi
  wait_for Redis redis-cli -h 127.0.0.1 -p 6379 ping
else
  echo "Redis is not installed here: its tests will skip"
fi
exit 0
