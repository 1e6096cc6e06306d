#!/usr/bin/env bash
# Load test of aigis serve on loopback: pushes a model (a small config and a
# large weights file), approves it, then measures downloads per second,
# latency and the server's peak RSS with many concurrent clients.
#
#	bench/registry.sh              # embedded: SQLite + files
#	bench/registry.sh postgres     # PostgreSQL (.ci/postgres.sh) + files
#
# Environment: SIZE_MB (default 512), CONC (32), DUR (10s).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-embedded}"
size_mb="${SIZE_MB:-512}"; conc="${CONC:-32}"; dur="${DUR:-10s}"
work="$(mktemp -d)"; trap 'kill $pid 2>/dev/null || true; eval "${AIGIS_TEST_POSTGRES_STOP:-true}" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/aigis" ./cmd/aigis
go build -o "$work/regload" ./bench/regload
dbflag=()
if [ "$mode" = postgres ]; then
  eval "$(.ci/postgres.sh 2>/dev/null)"
  dbflag=(--db "$AIGIS_TEST_POSTGRES_URL")
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/aigis" serve --offline --data "$work/data" --addr 127.0.0.1:$port --rate-limit 0 "${dbflag[@]}" 2> "$work/serve.log" &
pid=$!
for _ in $(seq 100); do grep -q "listening" "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
admin=$(grep -o 'aigis_pat_[^ ]*' "$work/serve.log" | head -1)
url=http://127.0.0.1:$port
mkdir -p "$work/model"
echo '{"model_type":"bert"}' > "$work/model/config.json"
head -c $((size_mb << 20)) /dev/urandom > "$work/model/weights.bin"
curl -sf -H "Authorization: Bearer $admin" -d '{"Principal":"user:rev","Namespace":"*","Role":"reviewer"}' $url/api/aigis/bindings > /dev/null
rev=$(curl -sf -H "Authorization: Bearer $admin" -d '{"owner":"user:rev","scopes":["approve"]}' $url/api/aigis/tokens | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
t0=$(date +%s.%N)
AIGIS_TOKEN=$admin "$work/aigis" push "$work/model" --registry $url --repo bench/model > "$work/push.txt"
t1=$(date +%s.%N)
commit=$(grep -o '@[0-9a-f]\{40\}' "$work/push.txt" | tr -d @)
for _ in $(seq 600); do
  curl -sf -H "Authorization: Bearer $admin" $url/api/aigis/repos/models/bench/model/revisions/$commit | grep -q 'awaiting approval' && break; sleep 0.2
done
t2=$(date +%s.%N)
curl -sf -H "Authorization: Bearer $rev" -d '{"comment":"bench"}' $url/api/aigis/repos/models/bench/model/revisions/$commit/approve > /dev/null
echo "mode $mode: push of ${size_mb} MiB $(python3 -c "print(f'{$t1-$t0:.2f}')") s, scan on ingest $(python3 -c "print(f'{$t2-$t1:.2f}')") s"
echo "small file (config.json), $conc clients, $dur:"
"$work/regload" -token "$admin" -url $url/bench/model/resolve/main/config.json -c "$conc" -d "$dur"
echo "large file (${size_mb} MiB), 8 clients, $dur:"
"$work/regload" -token "$admin" -url $url/bench/model/resolve/main/weights.bin -c 8 -d "$dur"
echo "server peak RSS: $(grep VmHWM /proc/$pid/status | awk '{print $2/1024 " MiB"}')"
kill $pid; wait $pid 2>/dev/null || true
verify=(--data "$work/data")
if [ "$mode" = postgres ]; then verify=(--data "$work/data" --db "$AIGIS_TEST_POSTGRES_URL"); fi
t0=$(date +%s.%N)
"$work/aigis" audit verify "${verify[@]}"
echo "audit verify took $(python3 -c "print(f'{$(date +%s.%N)-$t0:.2f}')") s"
