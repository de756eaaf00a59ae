#!/usr/bin/env bash
# Run the database tests (pytest -m db) against a throwaway PostgreSQL on 127.0.0.1; extra arguments go to pytest.
# Installs Debian's postgresql when missing; the server runs as the `postgres` user.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
bash scripts/setup_redis.sh  # the scale-out test (tests/scaleout/) runs here: it needs PostgreSQL and Redis
bin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
port=${PGTEST_PORT:-55432}
data=$(mktemp -d /tmp/tunewright-pg.XXXXXX)
chown postgres "$data"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_pg "$bin/initdb" -D "$data/db" -A trust -U postgres >/dev/null
as_pg "$bin/pg_ctl" -D "$data/db" -l "$data/log" -w -o "-c listen_addresses=127.0.0.1 -p $port -k $data" start >/dev/null
trap 'as_pg "$bin/pg_ctl" -D "$data/db" -m fast stop >/dev/null; rm -rf "$data"' EXIT
as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres tunewright_test
# The fault suite restarts this server mid-run (tests/reliability/test_faults.py): it needs its data folder and bin.
TUNEWRIGHT_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$port/tunewright_test" \
  TUNEWRIGHT_TEST_PG_DATA="$data/db" TUNEWRIGHT_TEST_PG_BIN="$bin" \
  HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -m db -p no:cacheprovider "$@"
