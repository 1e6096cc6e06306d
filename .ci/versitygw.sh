#!/usr/bin/env bash
# Starts a real S3 server (versitygw, Apache-2.0) for the registry/blob S3
# tests and prints the environment they read:
#
#	eval "$(.ci/versitygw.sh)"
#	go test ./registry/blob/...
#
# versitygw is a test-time tool, not a dependency of our module: it is
# installed by its module path into a cache directory (once, ~1 minute) from a
# temporary directory, so our go.mod is never touched.
#
# stdout carries only the export line; the pid, the data directory and how to
# stop the server go to stderr.
#
# Environment:
#	AIGIS_CI_CACHE      cache directory (default $HOME/.cache/aigis-ci);
#	                    the binary goes to $AIGIS_CI_CACHE/bin
#	VERSITYGW_VERSION   module version to install (default v1.8.0)
set -euo pipefail

version="${VERSITYGW_VERSION:-v1.8.0}"
cache="${AIGIS_CI_CACHE:-$HOME/.cache/aigis-ci}"
bin="$cache/bin"
gw="$bin/versitygw"
access="aigistest"
secret="aigistest-secret-key"

log() { echo "versitygw.sh: $*" >&2; }

if [ ! -x "$gw" ]; then
	mkdir -p "$bin"
	log "installing github.com/versity/versitygw/cmd/versitygw@$version into $bin (about a minute, once)"
	# From outside the repository so our go.mod is not read or changed.
	(
		cd "$(mktemp -d)"
		GOFLAGS=-mod=mod GOBIN="$bin" go install "github.com/versity/versitygw/cmd/versitygw@$version"
	) >&2
fi

data="$(mktemp -d "${TMPDIR:-/tmp}/aigis-versitygw.XXXXXX")"
mkdir -p "$data/root"

# A port nobody listens on: ask the kernel for a free one, then try the next
# candidate if versitygw loses a race for it.
free_port() {
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
	else
		echo $((20000 + RANDOM % 40000))
	fi
}

answers() { curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$1/" 2>/dev/null; }

pid=""
for attempt in 1 2 3 4 5; do
	port="$(free_port)"
	if answers "$port"; then continue; fi
	# setsid + redirections: the server must not hold our stdout open, or
	# $(...) around this script would never return.
	setsid "$gw" --port "127.0.0.1:$port" --access "$access" --secret "$secret" --quiet \
		posix "$data/root" </dev/null >"$data/versitygw.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do
		if ! kill -0 "$pid" 2>/dev/null; then pid=""; break; fi
		if answers "$port"; then break 2; fi
		sleep 0.1
	done
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; pid=""; fi
	log "attempt $attempt on port $port failed: $(tail -n 3 "$data/versitygw.log" 2>/dev/null)"
done
if [ -z "$pid" ]; then
	log "could not start versitygw; see $data/versitygw.log"
	exit 1
fi

log "versitygw pid $pid on 127.0.0.1:$port, data in $data"
log "stop it with: kill $pid && rm -rf $data"
echo "export AIGIS_TEST_S3_ENDPOINT=http://127.0.0.1:$port AIGIS_TEST_S3_ACCESS_KEY=$access AIGIS_TEST_S3_SECRET_KEY=$secret AIGIS_TEST_S3_PID=$pid AIGIS_TEST_S3_DIR=$data"
