#!/usr/bin/env bash
# Bytes per key, Rivet against Redis, for the shapes services store: small
# strings, small hashes (a session), small sets and sorted sets, and bigger
# collections past the compact-encoding thresholds. Each shape is loaded into
# a fresh Redis and a fresh Rivet (same settings, one run); the figure is
# used_memory growth divided by the number of keys. Ratio below 1 is better.
#   bench/memory.sh            (KEYS=100000 keys per small shape by default)
set -euo pipefail
bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$bench_dir")"
rivet_bin="${RIVET_SERVER:-$repo_dir/build/rivet-server}"
redis_bin="${REDIS_SERVER:-redis-server}"
keys="${KEYS:-100000}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# generate SHAPE COUNT: RESP commands on stdout
generate() {
  python3 - "$1" "$2" <<'PY'
import sys
shape, count = sys.argv[1], int(sys.argv[2])
out = sys.stdout
def cmd(*a):
    out.write("*%d\r\n" % len(a) + "".join("$%d\r\n%s\r\n" % (len(x), x) for x in a))
for i in range(count):
    if shape == "string":
        cmd("SET", "key:%d" % i, "v%d" % i)
    elif shape == "string-ttl":
        cmd("SET", "key:%d" % i, "v%d" % i, "EX", "3600")
    elif shape == "hash":
        cmd("HSET", "session:%d" % i, "user", "user%d" % i, "email", "u%d@example.io" % i,
            "role", "member", "age", str(i % 90))
    elif shape == "set":
        cmd("SADD", "tags:%d" % i, "a%d" % i, "b", "c", "d")
    elif shape == "intset":
        cmd("SADD", "ids:%d" % i, str(i), "2", "3", "4")
    elif shape == "zset":
        cmd("ZADD", "board:%d" % i, "1", "alice", "2", "bob%d" % i, "3", "carol")
    elif shape == "list":
        cmd("RPUSH", "queue:%d" % i, "job-%d" % i, "job-b", "job-c")
    elif shape == "big-hash":
        for f in range(0, 200, 50):
            args = ["HSET", "bighash:%d" % i]
            for j in range(f, f + 50):
                args += ["field:%d" % j, "value:%d" % j]
            cmd(*args)
    elif shape == "big-zset":
        for f in range(0, 200, 50):
            args = ["ZADD", "bigzset:%d" % i]
            for j in range(f, f + 50):
                args += [str(j), "member:%d" % j]
            cmd(*args)
PY
}

start_server() { # start_server BINARY -> port on stdout
  local binary=$1 port pid
  while :; do
    port=$((20000 + RANDOM % 20000))
    "$binary" --port "$port" --save "" --appendonly no --daemonize no >"$work/server-$port.log" 2>&1 &
    pid=$!
    for _ in $(seq 50); do
      if redis-cli -p "$port" ping 2>/dev/null | grep -q PONG; then
        echo "$port $pid"
        return
      fi
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
  done
}

used_memory() { redis-cli -p "$1" info memory | awk -F: '/^used_memory:/ { print $2 + 0 }'; }

measure() { # measure BINARY SHAPE COUNT -> bytes per key
  local started port pid before after
  started=$(start_server "$1")
  port=${started% *}
  pid=${started#* }
  before=$(used_memory "$port")
  redis-cli -p "$port" --pipe <"$work/$2.resp" >/dev/null
  after=$(used_memory "$port")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  awk -v a="$after" -v b="$before" -v n="$3" 'BEGIN { printf "%.1f", (a - b) / n }'
}

echo "| shape | keys | Redis bytes/key | Rivet bytes/key | Rivet / Redis |"
echo "|---|---:|---:|---:|---:|"
for shape in string string-ttl hash set intset zset list big-hash big-zset; do
  count=$keys
  case $shape in big-*) count=$((keys / 20)) ;; esac
  generate "$shape" "$count" >"$work/$shape.resp"
  redis=$(measure "$redis_bin" "$shape" "$count")
  rivet=$(measure "$rivet_bin" "$shape" "$count")
  echo "| $shape | $count | $redis | $rivet | $(awk -v a="$rivet" -v b="$redis" 'BEGIN { printf "%.2f", a / b }')x |"
done
