#!/usr/bin/env bash
# Crash test of aigis serve: kill -9 the server while a large push is
# uploading and again while its scan runs, restart it, and check that
# nothing half-written is served, the revision is scanned to completion after
# the restart, and the audit log verifies.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb="${SIZE_MB:-1024}"
work="$(mktemp -d)"; pid=""
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$work" 2>/dev/null || true' EXIT
go build -o "$work/aigis" ./cmd/aigis
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url=http://127.0.0.1:$port
start() {
  "$work/aigis" serve --offline --data "$work/data" --addr 127.0.0.1:$port --rate-limit 0 2>> "$work/serve.log" &
  pid=$!
  for _ in $(seq 100); do curl -sf $url/healthz >/dev/null 2>&1 && return; sleep 0.1; done
  echo "server did not start"; cat "$work/serve.log"; exit 1
}
start
admin=$(grep -o 'aigis_pat_[^ ]*' "$work/serve.log" | head -1)
mkdir -p "$work/model"
echo '{"model_type":"bert"}' > "$work/model/config.json"
head -c $((size_mb << 20)) /dev/urandom > "$work/model/weights.bin"
sum=$(sha256sum "$work/model/weights.bin" | cut -d' ' -f1)

# 1. kill -9 during the upload of the large file.
(AIGIS_TOKEN=$admin "$work/aigis" push "$work/model" --registry $url --repo crash/model > "$work/push1.txt" 2>&1 || true) &
for _ in $(seq 200); do
  tmp=$(find "$work/data/blobs" -type f -size +1M 2>/dev/null | head -1)
  [ -n "$tmp" ] && break; sleep 0.05
done
kill -9 $pid; wait $pid 2>/dev/null || true
echo "killed during upload; partial files left: $(find "$work/data/blobs" -type f | wc -l), blob named $sum present: $([ -e "$work/data/blobs/${sum:0:2}/${sum:2:2}/$sum" ] && echo yes || echo no)"
start
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $admin" $url/crash/model/resolve/main/weights.bin)
echo "after restart, download of the interrupted push: HTTP $code (want 404: nothing committed)"
echo "temporary upload files after restart: $(find "$work/data/blobs/tmp" -type f | wc -l) (kept for an hour in case another process is still writing them, then swept)"

# 2. push again, kill -9 while the revision is being scanned.
AIGIS_TOKEN=$admin "$work/aigis" push "$work/model" --registry $url --repo crash/model > "$work/push2.txt"
commit=$(grep -o '@[0-9a-f]\{40\}' "$work/push2.txt" | tr -d @)
kill -9 $pid; wait $pid 2>/dev/null || true
start
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $admin" $url/crash/model/resolve/$commit/weights.bin)
echo "after a kill during the scan: HTTP $code (want 503 or 403: not served before approval)"
for _ in $(seq 300); do
  st=$(curl -sf -H "Authorization: Bearer $admin" $url/api/aigis/repos/models/crash/model/revisions/$commit | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d.get("reason",""))')
  case "$st" in quarantined*awaiting*) break;; esac; sleep 1
done
echo "revision after restart: $st (the job's lease expired and it was scanned again)"
kill $pid; wait $pid 2>/dev/null || true; pid=""
"$work/aigis" audit verify --data "$work/data"
