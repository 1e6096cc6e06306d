#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 for the registry/store PostgreSQL tests
# and prints the environment they read:
#
#	eval "$(.ci/postgres.sh)"
#	go test ./registry/store/...
#
# It uses Debian's server binaries (/usr/lib/postgresql/15/bin, or initdb and
# pg_ctl on PATH). initdb refuses to run as root, so as root the cluster is
# created and run as the postgres user (runuser) in a temporary directory it
# owns. The server listens on 127.0.0.1 only, on a free port, with its unix
# socket in that directory, and trusts every local connection: it is for
# tests, never for data.
#
# stdout carries only the export line; the data directory and how to stop the
# server go to stderr.
#
# Environment:
#	PG_BIN   directory of initdb, pg_ctl, pg_isready, psql
#	         (default /usr/lib/postgresql/15/bin if present, else PATH)
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

bindir="${PG_BIN:-}"
if [ -z "$bindir" ]; then
	if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
		bindir=/usr/lib/postgresql/15/bin
	elif command -v initdb >/dev/null 2>&1; then
		bindir="$(dirname "$(command -v initdb)")"
	else
		log "no initdb: install PostgreSQL 15 (apt-get install postgresql-15) or set PG_BIN"
		exit 1
	fi
fi
for tool in initdb pg_ctl pg_isready psql; do
	if [ ! -x "$bindir/$tool" ]; then
		log "$bindir/$tool is missing: set PG_BIN to the directory of the PostgreSQL server binaries"
		exit 1
	fi
done

as_pg=()
tmp="${TMPDIR:-/tmp}"
if [ "$(id -u)" = 0 ]; then
	if ! id postgres >/dev/null 2>&1; then
		log "running as root and there is no postgres user to run the server as: create one or run as another user"
		exit 1
	fi
	as_pg=(runuser -u postgres --)
	# The postgres user must be able to reach the directory; root's
	# TMPDIR may be private.
	if ! runuser -u postgres -- test -x "$tmp"; then tmp=/tmp; fi
fi
dir="$(mktemp -d "$tmp/aigis-postgres.XXXXXX")"
chmod 755 "$dir"
if [ "${#as_pg[@]}" -gt 0 ]; then chown postgres: "$dir"; fi

"${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
	"${as_pg[@]}" "$bindir/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || {
	log "initdb failed:"; cat "$dir/initdb.log" >&2; exit 1
}

free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
	else
		echo $((20000 + RANDOM % 40000))
	fi
}

started=""
for attempt in 1 2 3 4 5; do
	port="$(free_port)"
	# fsync off: a test cluster need not survive a power cut, and tests
	# run several times faster without it.
	opts="-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
	if "${as_pg[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 30 start >/dev/null 2>&1; then
		started=1
		break
	fi
	log "start on port $port failed (attempt $attempt), retrying"
done
if [ -z "$started" ]; then
	log "PostgreSQL did not start:"; tail -n 20 "$dir/server.log" >&2 || true
	exit 1
fi

for _ in $(seq 1 50); do
	if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then break; fi
	sleep 0.2
done
# The test database sorts text by an ICU locale, where "a" < "B" and
# punctuation is nearly ignored, so the tests catch a column that lacks the
# store's COLLATE "C". Without ICU, the cluster default has to do.
psql_admin() { "$bindir/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
if ! psql_admin -c "CREATE DATABASE aigis_test TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'" >/dev/null 2>&1; then
	log "no ICU collation: the test database sorts by the cluster's locale"
	psql_admin -c "CREATE DATABASE aigis_test" >&2
fi

stop="${as_pg[*]} $bindir/pg_ctl -D $dir/data -m fast stop && rm -rf $dir"
log "PostgreSQL on 127.0.0.1:$port, data in $dir/data, log $dir/server.log"
log "stop with: $stop"
echo "export AIGIS_TEST_POSTGRES_URL='postgres://postgres@127.0.0.1:$port/aigis_test?sslmode=disable'"
echo "export AIGIS_TEST_POSTGRES_STOP='$stop'"
