#!/usr/bin/env bash
# aigis data on a generated 1 GiB dataset, CSV and Parquet: wall time, rows
# per second and peak RSS. The inputs are made here and deleted afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go build -o "$out/aigis" ./cmd/aigis
go run ./bench/gendata -format csv -size $((1 << 30)) -out "$out/train.csv"
go run ./bench/gendata -format parquet -size $((1 << 30)) -out "$out/train.parquet"
for f in train.csv train.parquet; do
  rows=$(( $(wc -l < "$out/train.csv") - 1 ))
  /usr/bin/time -f "%e %M" -o "$out/time" "$out/aigis" data "$out/$f" > /dev/null 2>&1 || true
  read -r secs kib < <(tail -n 1 "$out/time")
  printf '%-16s %6.1f MiB  %7.1f s  %9.0f rows/s  %5d MiB peak RSS\n' "$f" \
    "$(echo "$(stat -c %s "$out/$f") / 1048576" | bc -l)" "$secs" "$(echo "$rows / $secs" | bc -l)" $((kib / 1024))
done
