#!/usr/bin/env bash
# Issue #5's comparison: each state primitive as services build it on Redis
# (MULTI sliding window, SET NX PX + EVALSHA release, SET NX markers, a Lua
# bounded increment) run on a fresh Redis, against Rivet's native command on
# a fresh Rivet, in one run. Also the Redis pattern on Rivet, to separate
# "Rivet runs the same commands faster" from "one native command instead of
# several". Servers on core 0, the driver (bench/primitives.c) on core 1;
# CLIENTS connections (default 50) each keep one operation in flight; median
# of BENCH_REPEATS runs (default 3) of BENCH_SECONDS (default 3).
set -euo pipefail
bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$bench_dir")"
rivet_bin="${RIVET_SERVER:-$repo_dir/build/rivet-server}"
redis_bin="${REDIS_SERVER:-redis-server}"
repeats="${BENCH_REPEATS:-3}"
seconds="${BENCH_SECONDS:-3}"
clients="${CLIENTS:-50}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/primitives" "$bench_dir/primitives.c" -lhiredis

measure() { # measure BINARY OPERATION MODE -> "ops/s round-trips" (median ops/s)
  local binary=$1
  shift
  local results=()
  for _ in $(seq "$repeats"); do
    local port pid up=0
    while [ "$up" = 0 ]; do # a port taken by someone else: try another
      port=$((20000 + RANDOM % 20000))
      taskset -c 0 "$binary" --port "$port" --save "" --appendonly no \
        --daemonize no >"$work/server.log" 2>&1 &
      pid=$!
      for _ in $(seq 50); do
        if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
          up=1
          break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
      [ "$up" = 1 ] || { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; }
    done
    results+=("$(taskset -c 1 "$work/primitives" "$port" "$@" "$clients" "$seconds")")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  done
  printf '%s\n' "${results[@]}" | sort -n | sed -n "$(((repeats + 1) / 2))p"
}

row() { # row LABEL OPERATION
  local label=$1 operation=$2
  local redis rivet_pattern rivet_native
  redis=$(measure "$redis_bin" "$operation" pattern)
  rivet_pattern=$(measure "$rivet_bin" "$operation" pattern)
  rivet_native=$(measure "$rivet_bin" "$operation" native)
  awk -v label="$label" -v a="$redis" -v b="$rivet_pattern" -v c="$rivet_native" 'BEGIN {
    split(a, r, " "); split(b, p, " "); split(c, n, " ");
    printf "| %s | %d (%s RT) | %d | %d (%s RT) | %.2fx |\n", label, r[1], r[2], p[1], n[1], n[2],
           (r[1] > 0 ? n[1] / r[1] : 0) }'
}

echo "| operation | Redis, pattern ops/s | Rivet, same pattern ops/s | Rivet, native ops/s | native / Redis pattern |"
echo "|---|---:|---:|---:|---:|"
row "rate limit: MULTI sliding window vs RL.HIT" ratelimit
row "lock: SET NX PX + EVALSHA release vs LOCK.ACQUIRE + LOCK.RELEASE" lock
row "idempotency: SET NX + SET vs IDEM.BEGIN + IDEM.COMPLETE" idempotency
row "bounded counter: EVALSHA vs COUNTER.INCR MAX" counter
