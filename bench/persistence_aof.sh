#!/usr/bin/env bash
# The append-only file side by side: redis-benchmark SET throughput against
# Redis and Rivet with appendonly yes under appendfsync everysec and always
# (and no AOF as the baseline), in one run on the same disk, then
# Rivet/Redis for each; and the time each takes to load the AOF it wrote.
# With always, Rivet fsyncs on a background thread and holds each client's
# replies until an fsync covering its writes ends (group commit), while
# Redis 7.0 fsyncs on its event loop once per iteration. Not a pass/fail
# test.
#
#   bench/persistence_aof.sh   (RIVET_SERVER, REDIS_SERVER, AOF_REQUESTS,
#                               AOF_CLIENTS, AOF_PIPELINE to override)
set -euo pipefail
bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$bench_dir")"
rivet_bin="${RIVET_SERVER:-$repo_dir/build/rivet-server}"
redis_bin="${REDIS_SERVER:-redis-server}"
requests="${AOF_REQUESTS:-200000}"
clients="${AOF_CLIENTS:-50}"
pipeline="${AOF_PIPELINE:-1}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

start() { # start BINARY DIR PORT FSYNC(no-aof|everysec|always) -> pid in $server_pid
  local aof=yes fsync=$4
  if [ "$fsync" = no-aof ]; then aof=no; fsync=everysec; fi
  "$1" --port "$3" --dir "$2" --save "" --appendonly "$aof" --appendfsync "$fsync" \
    --daemonize no >"$2/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 600); do
    redis-cli -p "$3" ping 2>/dev/null | grep -q PONG && return
    sleep 0.05
  done
  echo "server did not start" >&2
  exit 1
}

measure() { # measure NAME BINARY FSYNC -> requests per second
  local dir="$work/$1-$3" port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$dir"
  start "$2" "$dir" "$port" "$3"
  local rps
  rps=$(redis-benchmark -p "$port" -t set -n "$requests" -c "$clients" -P "$pipeline" -r 100000 \
    -d 64 --csv 2>/dev/null | awk -F'","' '/"SET"/ { print $2 }' | tr -d '"')
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  wait "$server_pid" 2>/dev/null || true
  local load_ms=0
  if [ "$3" != no-aof ]; then
    # Restart on the files just written: how long replaying them takes.
    start "$2" "$dir" "$port" "$3"
    load_ms=$(sed -n 's/.*DB loaded from append only file: \([0-9.]*\) seconds.*/\1/p' \
      "$dir/server.log" | awk '{ printf "%d", $1 * 1000 }')
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    wait "$server_pid" 2>/dev/null || true
  fi
  echo "${rps:-0} ${load_ms:-0}"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo "| SET, $clients clients, pipeline $pipeline | Redis (req/s) | Rivet (req/s) | Rivet / Redis |"
echo "|---|---:|---:|---:|"
loads=""
for mode in no-aof everysec always; do
  read -r r r_load <<<"$(measure redis "$redis_bin" "$mode")"
  read -r v v_load <<<"$(measure rivet "$rivet_bin" "$mode")"
  echo "| appendfsync $mode | $r | $v | $(ratio "$v" "$r")x |"
  [ "$mode" = everysec ] && loads="| load the everysec AOF at start-up (ms) | $r_load | $v_load | $(ratio "$v_load" "$r_load")x |"
done
echo "$loads"
echo
echo "($requests requests of 64-byte values over 100000 keys; disk: $(df -P "$work" | awk 'NR==2 { print $1 }'))"
