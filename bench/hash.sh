#!/usr/bin/env bash
# Throughput of `aigis hash` against sha256sum on the same files, in page
# cache, in the same run. Prints wall time, MB/s and peak RSS.
#
#   bench/hash.sh [GiB]     # default 2: 8 files of GiB/8 each
#
# The goal (issue 4): SHA-256 at >= 0.9 x (cores x single-core sha256sum),
# BLAKE3 faster, peak RSS flat whatever the model size.
# Needs: Go, coreutils, GNU time (/usr/bin/time). The model is made here, in
# a temporary folder, and deleted afterwards. If this build of aigis has no
# `hash` verb yet, a stand-in calling signing/manifest.Hash is used.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
export GOTOOLCHAIN=local
gib=${1:-2}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

go build -o "$out/aigis" ./cmd/aigis
if "$out/aigis" hash --help >/dev/null 2>&1; then
  hash_cmd=("$out/aigis" hash --quiet)
else
  echo "note: aigis has no hash verb in this build; timing signing/manifest.Hash through a stand-in" >&2
  mkdir "$out/standin"
  cp go.sum "$out/standin/"
  cat > "$out/standin/go.mod" <<MOD
module standin
go 1.26
require github.com/aigis-sec/aigis v0.0.0
replace github.com/aigis-sec/aigis => $repo
MOD
  cat > "$out/standin/main.go" <<'GO'
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/aigis-sec/aigis/signing/manifest"
)

func main() {
	var opt manifest.Options
	flag.StringVar(&opt.Algorithm, "algorithm", "sha256", "")
	flag.StringVar(&opt.Serialization, "serialization", "files", "")
	flag.Int64Var(&opt.ShardSize, "shard-size", 0, "")
	flag.BoolVar(new(bool), "quiet", false, "")
	flag.Parse()
	m, err := manifest.Hash(context.Background(), flag.Arg(0), opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	d, _ := m.RootDigest()
	fmt.Printf("sha256:%x\n", d)
}
GO
  (cd "$out/standin" && GOFLAGS=-mod=mod go build -o "$out/aigis-hash" . 2>/dev/null) || {
    echo "cannot build the stand-in; register the hash verb in internal/cli" >&2; exit 1; }
  hash_cmd=("$out/aigis-hash" -quiet)
fi

model="$out/model"
mkdir "$model"
per=$(( gib * 1024 / 8 ))  # MiB per file
for i in 1 2 3 4 5 6 7 8; do
  head -c "${per}M" /dev/urandom > "$model/model-0000$i-of-00008.safetensors"
done
cat "$model"/* > /dev/null  # into page cache
bytes=$(( gib * 1024 * 1024 * 1024 ))
cores=$(nproc)
echo "model: $gib GiB in 8 files, $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

measure() { # label, command... : best wall time of 3 runs, MB/s, peak RSS
  local label=$1; shift
  local best=""
  for _ in 1 2 3; do
    local t0 t1
    t0=$(date +%s%N)
    "$@" > /dev/null
    t1=$(date +%s%N)
    local ms=$(( (t1 - t0) / 1000000 ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  /usr/bin/time -f "%M" -o "$out/time" "$@" > /dev/null
  local kib mbs
  kib=$(tail -n 1 "$out/time")
  mbs=$(( bytes / 1000 / best ))
  printf '%-40s %7d ms %7d MB/s %7d MiB peak RSS\n' "$label" "$best" "$mbs" $(( kib / 1024 ))
  eval "last_mbs=$mbs"
}

measure "sha256sum (one core)" sha256sum "$model"/*
single=$last_mbs
measure "sha256sum x $cores (xargs -P)" sh -c "ls '$model'/* | xargs -P $cores -n 1 sha256sum"
measure "aigis hash (sha256, files)" "${hash_cmd[@]}" "$model"
sha=$last_mbs
measure "aigis hash (sha256, shards 100 MB)" "${hash_cmd[@]}" --serialization shards --shard-size 100000000 "$model"
measure "aigis hash (blake3)" "${hash_cmd[@]}" --algorithm blake3 "$model"
measure "aigis hash (blake2b)" "${hash_cmd[@]}" --algorithm blake2b "$model"
goal=$(( cores * single * 9 / 10 ))
echo "sha256 goal: >= 0.9 x $cores x $single = $goal MB/s; aigis: $sha MB/s"
