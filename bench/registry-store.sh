#!/usr/bin/env bash
# Benchmarks of the registry's metadata store (registry/store) on both
# backends: PutFile, PutFiles of a 10,000-file tree, ListFiles paging of a
# 100,000-file revision, and job cycles (enqueue, claim, finish) with one
# and with many workers.
#
#	bench/registry-store.sh            # SQLite and PostgreSQL
#	bench/registry-store.sh sqlite     # SQLite only
#
# PostgreSQL is a throwaway server from .ci/postgres.sh, stopped at the end
# (or an existing one: set AIGIS_TEST_POSTGRES_URL). One package at a time,
# on a machine whose load you know: the numbers are wall-clock.
#
# Environment: BENCHTIME (default 2s), COUNT (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-all}"
started=""
cleanup() { if [ -n "$started" ]; then eval "$AIGIS_TEST_POSTGRES_STOP" >/dev/null 2>&1 || true; fi; }
trap cleanup EXIT
if [ "$mode" = sqlite ]; then
	unset AIGIS_TEST_POSTGRES_URL
elif [ -z "${AIGIS_TEST_POSTGRES_URL:-}" ]; then
	eval "$(.ci/postgres.sh 2>/dev/null)"
	started=1
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
GOTOOLCHAIN=local go test -p 1 -run '^$' -bench . -benchtime "${BENCHTIME:-2s}" -count "${COUNT:-1}" ./registry/store/
