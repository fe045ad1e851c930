#!/usr/bin/env bash
# Eviction quality side by side: the cache hit ratio of Redis and Rivet under
# the same maxmemory, for allkeys-lru and allkeys-lfu, with a Zipfian key
# popularity (s = 0.99) over ten times more keys than fit. Each server starts
# empty for each policy; the client (bench/hit_ratio.c) GETs and SETs on a
# miss. Reports both hit ratios and Rivet/Redis. Not a pass/fail test.
#
#   bench/hit_ratio.sh      (RIVET_SERVER, REDIS_SERVER, HIT_KEYS,
#                            HIT_REQUESTS, HIT_MAXMEMORY to override)
set -euo pipefail
bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$bench_dir")"
rivet_bin="${RIVET_SERVER:-$repo_dir/build/rivet-server}"
redis_bin="${REDIS_SERVER:-redis-server}"
keys="${HIT_KEYS:-200000}"
requests="${HIT_REQUESTS:-2000000}"
value_bytes=100
# About 200 bytes a key in either server: 200k keys need ~40 MB, so 4 MB
# holds roughly a tenth of them.
maxmemory="${HIT_MAXMEMORY:-4mb}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/hit_ratio" "$bench_dir/hit_ratio.c" -lhiredis -lm

run() { # run BINARY POLICY -> prints the ratio
  local binary=$1 policy=$2 port=$((20000 + RANDOM % 20000))
  "$binary" --port "$port" --save "" --appendonly no --maxmemory "$maxmemory" \
    --maxmemory-policy "$policy" --daemonize no >"$work/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  "$work/hit_ratio" "$port" "$keys" "$requests" "$value_bytes" 0.99 | sed 's/.*ratio=//'
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

echo "| policy | Redis hit ratio | Rivet hit ratio | Rivet / Redis |"
echo "|---|---:|---:|---:|"
for policy in allkeys-lru allkeys-lfu; do
  redis_ratio=$(run "$redis_bin" "$policy")
  rivet_ratio=$(run "$rivet_bin" "$policy")
  ratio=$(awk -v a="$rivet_ratio" -v b="$redis_ratio" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  echo "| $policy | $redis_ratio | $rivet_ratio | ${ratio}x |"
done
echo
echo "($keys keys of $value_bytes bytes, Zipf s=0.99, $requests requests (half warm-up), maxmemory $maxmemory)"
