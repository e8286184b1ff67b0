#!/usr/bin/env bash
# A throwaway PostgreSQL server for the case-store tests (crates/cases). Usage, from .ci/run (two lines, so that a
# failure stops the run under set -e):
#   pg_env="$(bash .ci/postgres.sh $$)"
#   eval "$pg_env"
# Installs Debian's postgresql if it is missing, starts a new cluster in a temporary folder on 127.0.0.1 (a free
# port, trust authentication, nothing else listening), creates the database `oversight_test`, and prints the two
# exports the tests read: OVERSIGHT_TEST_PG (the URL) and CI_REQUIRE_PG=1 (so a test fails, never skips, without
# it). The server runs as the `postgres` system user when this script runs as root (PostgreSQL refuses root), and
# stops, its folder deleted, once the process given as the first argument (the CI shell) exits.
set -euo pipefail
owner_pid="${1:?usage: postgres.sh PID-whose-exit-stops-the-server}"

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

if [ "$(id -u)" = 0 ]; then
  as_pg() { runuser -u postgres -- "$@"; }
  user=postgres
else
  as_pg() { "$@"; }
  user="$(id -un)"
fi

dir="$(mktemp -d /tmp/oversight-pg.XXXXXX)"
chmod 755 "$dir"
[ "$(id -u)" = 0 ] && chown postgres: "$dir"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

as_pg "$bin/initdb" -D "$dir/data" -U "$user" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >/dev/null ||
  { cat "$dir/server.log" >&2; exit 1; }
as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$user" oversight_test

# Stop the server and remove its folder when the owner exits.
(
  while kill -0 "$owner_pid" 2>/dev/null; do sleep 2; done
  as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
) </dev/null >/dev/null 2>&1 &
disown

echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($dir)" >&2
echo "export OVERSIGHT_TEST_PG=postgres://$user@127.0.0.1:$port/oversight_test"
echo "export CI_REQUIRE_PG=1"
