#!/usr/bin/env bash
# Benchmarks of aigis scan, as a user runs it. Prints wall time and peak RSS.
#
#   bench/run.sh            # all
#
# Needs: Go; GNU time (/usr/bin/time, Debian package "time"); for the real
# 2 GiB checkpoint, Debian's python3-torch (otherwise the Go benchmark
# BenchmarkScanLargeCheckpoint in ./scan makes an equivalent file).
# Big inputs are made here, in a temporary folder, and deleted afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go build -o "$out/aigis" ./cmd/aigis

measure() { # label, command... : best wall time of 5 runs, and peak RSS
  local label=$1; shift
  local best=""
  for _ in 1 2 3 4 5; do
    local t0 t1
    t0=$(date +%s%N)
    "$@" > /dev/null 2>&1 || true
    t1=$(date +%s%N)
    local ms=$(( (t1 - t0) / 1000000 ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  /usr/bin/time -f "%M" -o "$out/time" "$@" > /dev/null 2>&1 || true
  local kib
  kib=$(tail -n 1 "$out/time")
  printf '%-58s %7d ms  %6d MiB peak RSS\n' "$label" "$best" "$((kib / 1024))"
}

if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 - "$out/big.pt" <<'PY'
import sys, torch
# 2 GiB of float32 in 8 tensors, saved with the default zip format.
sd = {f"layer{i}.weight": torch.zeros(64 * 1024 * 1024) for i in range(8)}
torch.save(sd, sys.argv[1])
PY
  ls -l "$out/big.pt" | awk '{printf "checkpoint: %.2f GiB\n", $5/1024/1024/1024}'
  measure "scan 2 GiB PyTorch zip checkpoint (torch.save)" "$out/aigis" scan "$out/big.pt"
  measure "scan 2 GiB PyTorch zip checkpoint, --hash" "$out/aigis" scan --hash "$out/big.pt"
else
  echo "python3-torch not installed: run 'go test ./scan -run ^\$ -bench LargeCheckpoint' instead"
fi

corpus=../shared/corpora/picklescan
if [ -d "$corpus" ]; then
  n=$(ls "$corpus" | wc -l)
  measure "scan the picklescan corpus ($n files), one invocation" "$out/aigis" scan "$corpus"
fi
measure "scan testdata/models ($(find testdata/models -type f | wc -l) files)" "$out/aigis" scan testdata/models

echo
go test ./format/pickle -run '^$' -bench Interpret -benchtime 5x | grep Benchmark
go test ./scan -run '^$' -bench . -benchtime 5x | grep Benchmark
