#!/usr/bin/env bash
# Issue #4's patterns side by side: PUBLISH fan-out to 1, 100 and 1000
# subscribers, the compare-and-delete lock release (EVALSHA and FCALL), and a MULTI/EXEC
# of four commands, each against a fresh Redis and a fresh Rivet in one run
# (median of BENCH_REPEATS runs, default 3). Servers on core 0, the driver
# (bench/features.c) on core 1. Reports ops/s and Rivet/Redis.
set -euo pipefail
bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$bench_dir")"
rivet_bin="${RIVET_SERVER:-$repo_dir/build/rivet-server}"
redis_bin="${REDIS_SERVER:-redis-server}"
repeats="${BENCH_REPEATS:-3}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -o "$work/features" "$bench_dir/features.c" -lhiredis
ulimit -n 4096 2>/dev/null || true

measure() { # measure BINARY ARGS... -> median ops/s over $repeats fresh servers
  local binary=$1
  shift
  local results=()
  for _ in $(seq "$repeats"); do
    local port pid up=0
    while [ "$up" = 0 ]; do # a port taken by someone else: try another
      port=$((20000 + RANDOM % 20000))
      taskset -c 0 "$binary" --port "$port" --save "" --appendonly no --maxclients 4000 \
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
    results+=("$(taskset -c 1 "$work/features" "$port" "$@")")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
  done
  printf '%s\n' "${results[@]}" | sort -n | sed -n "$(((repeats + 1) / 2))p"
}

row() { # row LABEL ARGS...
  local label=$1
  shift
  local redis rivet
  redis=$(measure "$redis_bin" "$@")
  rivet=$(measure "$rivet_bin" "$@")
  echo "| $label | $redis | $rivet | $(awk -v a="$rivet" -v b="$redis" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')x |"
}

echo "| pattern | Redis ops/s | Rivet ops/s | Rivet / Redis |"
echo "|---|---:|---:|---:|"
row "PUBLISH to 1 subscriber (deliveries/s)" publish 1 200000
row "PUBLISH to 100 subscribers (deliveries/s)" publish 100 20000
row "PUBLISH to 1000 subscribers (deliveries/s)" publish 1000 2000
row "SET NX PX + EVALSHA compare-and-delete (releases/s)" evalsha 200000
row "SET NX PX + FCALL compare-and-delete (releases/s)" fcall 200000
row "MULTI SET INCR GET EXPIRE EXEC (transactions/s)" multi 100000
