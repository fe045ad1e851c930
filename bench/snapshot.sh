#!/usr/bin/env bash
# Snapshots side by side: for Redis and Rivet holding the same data set
# (SNAP_KEYS string keys plus a hash, a set, a sorted set and a list of
# SNAP_KEYS/10 elements each), report SAVE time, BGSAVE wall time, the peak
# RSS of server + child during BGSAVE, the file size, and the time to load
# the file at start-up; then Rivet/Redis for each. Not a pass/fail test.
#
#   bench/snapshot.sh      (RIVET_SERVER, REDIS_SERVER, SNAP_KEYS to override)
set -euo pipefail
bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$bench_dir")"
rivet_bin="${RIVET_SERVER:-$repo_dir/build/rivet-server}"
redis_bin="${REDIS_SERVER:-redis-server}"
keys="${SNAP_KEYS:-1000000}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The data set as one RESP stream, fed to both servers with redis-cli --pipe.
python3 - "$keys" >"$work/load.resp" <<'PY'
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
def cmd(*args):
    out.write(b"*%d\r\n" % len(args))
    for a in args:
        out.write(b"$%d\r\n%s\r\n" % (len(a), a))
for i in range(n):
    cmd(b"SET", b"key:%d" % i, b"value-%d-%s" % (i, b"x" * (i % 40)))
for i in range(n // 10):
    cmd(b"HSET", b"hash", b"f%d" % i, b"v%d" % i)
    cmd(b"SADD", b"set", b"m%d" % i)
    cmd(b"ZADD", b"zset", b"%d" % i, b"m%d" % i)
    cmd(b"RPUSH", b"list", b"item-%d" % i)
PY

now_ms() { date +%s%3N; }
rss_kb() { # a zombie child has no VmRSS line: count it as 0
  local v
  v=$(awk '/VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || true)
  echo "${v:-0}"
}

start() { # start BINARY DIR PORT -> pid in $server_pid
  "$1" --port "$3" --dir "$2" --save "" --appendonly no --daemonize no \
    >"$2/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 600); do
    redis-cli -p "$3" ping 2>/dev/null | grep -q PONG && return
    sleep 0.05
  done
  echo "server did not start" >&2
  exit 1
}

measure() { # measure NAME BINARY -> "save_ms bgsave_ms peak_rss_mb file_mb load_ms"
  local dir="$work/$1" port=$((20000 + RANDOM % 20000))
  mkdir -p "$dir"
  start "$2" "$dir" "$port"
  redis-cli -p "$port" --pipe <"$work/load.resp" >/dev/null
  local t0 t1 save_ms bgsave_ms peak=0
  t0=$(now_ms)
  redis-cli -p "$port" save >/dev/null
  t1=$(now_ms)
  save_ms=$((t1 - t0))
  t0=$(now_ms)
  redis-cli -p "$port" bgsave >/dev/null
  while redis-cli -p "$port" info persistence | grep -q 'rdb_bgsave_in_progress:1'; do
    local total child
    total=$(rss_kb "$server_pid")
    for child in $(pgrep -P "$server_pid" || true); do
      total=$((total + $(rss_kb "$child")))
    done
    [ "$total" -gt "$peak" ] && peak=$total
    sleep 0.01
  done
  t1=$(now_ms)
  bgsave_ms=$((t1 - t0))
  local file_bytes
  file_bytes=$(stat -c %s "$dir/dump.rdb")
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  wait "$server_pid" 2>/dev/null || true
  : >"$dir/server.log"
  start "$2" "$dir" "$port"
  local load_s
  load_s=$(sed -n 's/.*DB loaded from disk: \([0-9.]*\) seconds.*/\1/p' "$dir/server.log")
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  wait "$server_pid" 2>/dev/null || true
  awk -v s="$save_ms" -v b="$bgsave_ms" -v p="$peak" -v f="$file_bytes" -v l="$load_s" \
    'BEGIN { printf "%d %d %.1f %.1f %d\n", s, b, p / 1024, f / 1048576, l * 1000 }'
}

read -r r_save r_bg r_rss r_file r_load <<<"$(measure redis "$redis_bin")"
read -r v_save v_bg v_rss v_file v_load <<<"$(measure rivet "$rivet_bin")"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
echo "| measure | Redis | Rivet | Rivet / Redis |"
echo "|---|---:|---:|---:|"
echo "| SAVE (ms) | $r_save | $v_save | $(ratio "$v_save" "$r_save")x |"
echo "| BGSAVE wall time (ms) | $r_bg | $v_bg | $(ratio "$v_bg" "$r_bg")x |"
echo "| peak RSS server+child during BGSAVE (MB) | $r_rss | $v_rss | $(ratio "$v_rss" "$r_rss")x |"
echo "| dump.rdb (MB) | $r_file | $v_file | $(ratio "$v_file" "$r_file")x |"
echo "| load at start-up (ms) | $r_load | $v_load | $(ratio "$v_load" "$r_load")x |"
echo
echo "($keys string keys + 4 collections of $((keys / 10)) elements; BGSAVE wall time"
echo " includes up to one cron period (100 ms at hz 10) before the child is reaped)"
