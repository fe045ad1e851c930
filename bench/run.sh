#!/usr/bin/env bash
# Side-by-side benchmark: real Redis and Rivet started with the same settings,
# measured alternately (Redis row, then Rivet row, same test) in one run, so
# both see the same machine state. Reports ratios, not pass/fail.
#
#   bench/run.sh [--quick]
#
# Environment:
#   RIVET_SERVER   Rivet binary                 (default: build/rivet-server)
#   REDIS_SERVER   Redis binary                 (default: redis-server)
#   BENCH_REPEATS  runs per row, median is kept (default: 3, --quick: 1)
#   BENCH_OUTPUT   Markdown results file        (default: bench/results/latest.md)
#
# Servers are pinned to core 0 and redis-benchmark to core 1: on a 2-core
# machine the benchmark client saturates its own core, so ops/s is capped by
# the client and server CPU time per request is the number that compares the
# servers. See docs/benchmarks.md.
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_dir="$(dirname "$bench_dir")"

quick=0
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    -h | --help)
      sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "bench/run.sh: unknown argument: $arg (usage: bench/run.sh [--quick])" >&2
      exit 2
      ;;
  esac
done

rivet_bin="${RIVET_SERVER:-$repo_dir/build/rivet-server}"
redis_bin="${REDIS_SERVER:-redis-server}"
output="${BENCH_OUTPUT:-$bench_dir/results/latest.md}"

if [ "$quick" = 1 ]; then
  repeats="${BENCH_REPEATS:-1}"
  requests_plain=100000     # unpipelined: about 0.7 s per row at ~150k ops/s
  requests_pipelined=500000 # -P 16
else
  repeats="${BENCH_REPEATS:-3}"
  requests_plain=300000
  requests_pipelined=2000000
fi
clients=50
data_size=16
pipeline_depth=16
random_keyspace=100000
memory_keys=1000000
expiry_keys=1000000
expiry_ttl_ms=2000
expiry_idle_s=3
expiry_clear_limit_s=30

die() {
  echo "bench/run.sh: $*" >&2
  exit 1
}

# ---- tools -----------------------------------------------------------------

command -v redis-benchmark >/dev/null 2>&1 ||
  die "redis-benchmark not found: install Redis 7 tools (Debian: apt-get install redis-tools)"
command -v redis-cli >/dev/null 2>&1 ||
  die "redis-cli not found: install Redis 7 tools (Debian: apt-get install redis-tools)"

resolve_binary() { # NAME PATH -> absolute path or name on PATH
  local name="$1" path="$2"
  if [[ "$path" == */* ]]; then
    [ -x "$path" ] || die "$name binary not found or not executable: $path"
    echo "$(cd "$(dirname "$path")" && pwd)/$(basename "$path")"
  else
    command -v "$path" >/dev/null 2>&1 || die "$name binary not on PATH: $path"
    command -v "$path"
  fi
}
rivet_bin="$(resolve_binary Rivet "$rivet_bin")"
redis_bin="$(resolve_binary Redis "$redis_bin")"

clock_ticks="$(getconf CLK_TCK)"

# With fewer than two cores the server and the client cannot be separated;
# run unpinned and say so rather than fail.
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null 2>&1; then
  pin_server=(taskset -c 0)
  pin_client=(taskset -c 1)
  pinning="servers on core 0, redis-benchmark on core 1"
else
  pin_server=()
  pin_client=()
  pinning="not pinned (needs 2 cores and taskset)"
  echo "bench/run.sh: warning: $pinning; numbers will be noisy" >&2
fi

work_dir="$(mktemp -d "${TMPDIR:-/tmp}/rivet-bench.XXXXXX")"
declare -A server_pid=() server_port=()

cleanup() {
  local role pid
  for role in "${!server_pid[@]}"; do
    pid="${server_pid[$role]}"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
      wait "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$work_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- servers ---------------------------------------------------------------

port_in_use() {
  # /proc/net/tcp lists local ports in hex; state 0A is LISTEN.
  local hex
  hex="$(printf '%04X' "$1")"
  grep -qi ":$hex [0-9A-F]*:[0-9A-F]* 0A" /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

cli() { # ROLE ARGS... : one command to a running server
  redis-cli -h 127.0.0.1 -p "${server_port[$1]}" "${@:2}"
}

start_server() { # ROLE BINARY
  local role="$1" binary="$2" port pid
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    port_in_use "$port" && continue
    "${pin_server[@]}" "$binary" --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
      >"$work_dir/$role.log" 2>&1 &
    pid=$!
    server_pid[$role]=$pid # recorded at once, so an interrupt still stops it
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
        server_port[$role]=$port
        return 0
      fi
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    unset "server_pid[$role]"
  done
  echo "--- $role server log ($binary):" >&2
  cat "$work_dir/$role.log" >&2 || true
  die "$role server did not start and answer PING: $binary"
}

check_alive() { # ROLE
  kill -0 "${server_pid[$1]}" 2>/dev/null && return 0
  echo "--- $1 server log:" >&2
  tail -20 "$work_dir/$1.log" >&2 || true
  die "the $1 server died during the benchmark"
}

cpu_ticks() { # PID -> utime + stime in clock ticks (fields 14 and 15 of /proc/PID/stat)
  # The command name (field 2) may hold spaces, so count fields after its ')'.
  awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

info_field() { # ROLE FIELD -> value from INFO
  local info
  info="$(cli "$1" info)" || die "INFO failed on $1"
  tr -d '\r' <<<"$info" | awk -F: -v field="$2" '$1 == field && !found { print $2; found = 1 }'
}

rss_kib() { # PID -> VmRSS in KiB
  awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status"
}

# ---- measurements ----------------------------------------------------------

median() { # numbers on stdin -> median
  sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# One redis-benchmark run. Appends "rps p50_ms p99_ms cpu_us_per_request" to
# $work_dir/ROW.ROLE.samples.
run_benchmark() { # ROLE ROW TEST REQUESTS EXTRA_ARGS...
  local role="$1" row="$2" test="$3" requests="$4"
  shift 4
  local pid="${server_pid[$role]}" before after csv line
  before="$(cpu_ticks "$pid")"
  # LRANGE_N runs as an explicit command over a list preloaded once, so the
  # LPUSH phase redis-benchmark would add does not count in its CPU time.
  local what=(-t "$test")
  case "$test" in
    lrange_*) what=(LRANGE bench:list 0 $((${test#lrange_} - 1))) ;;
  esac
  csv="$("${pin_client[@]}" redis-benchmark -h 127.0.0.1 -p "${server_port[$role]}" \
    -c "$clients" -d "$data_size" -n "$requests" --csv "$@" "${what[@]}" 2>"$work_dir/benchmark.err")" ||
    { cat "$work_dir/benchmark.err" >&2; die "redis-benchmark failed against $role ($row)"; }
  after="$(cpu_ticks "$pid")"
  check_alive "$role"
  # CSV: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  line="$(printf '%s\n' "$csv" | tr -d '"' | awk -F, 'NR > 1 && NF >= 8 { print $2, $5, $7; exit }')"
  [ -n "$line" ] || die "no result from redis-benchmark against $role ($row): $csv"
  awk -v line="$line" -v ticks=$((after - before)) -v hz="$clock_ticks" -v n="$requests" \
    'BEGIN { split(line, f, " "); printf "%s %s %s %.4f\n", f[1], f[2], f[3], ticks / hz * 1e6 / n }' \
    >>"$work_dir/$row.$role.samples"
}

sample_median() { # ROW ROLE COLUMN -> median of that column over the repeats
  awk -v c="$3" '{ print $c }' "$work_dir/$1.$2.samples" | median
}

ratio() { # RIVET REDIS -> Rivet/Redis with 2 decimals, or n/a
  awk -v a="$1" -v b="$2" 'BEGIN {
    number = "^[0-9]+([.][0-9]+)?([eE][-+]?[0-9]+)?$"
    if (a !~ number || b !~ number || b + 0 == 0) print "n/a"; else printf "%.2f\n", a / b
  }'
}

# Throughput rows: name|redis-benchmark test|pipelined (0/1)|random keys (0/1)
# BENCH_SUITE picks them: core (strings, the default), types (data types), all.
suite="${BENCH_SUITE:-core}"
rows=()
if [ "$suite" = core ] || [ "$suite" = all ]; then
  for test in ping_inline ping_mbulk set get incr mset; do
    rows+=("$test|0|0" "$test|1|0")
  done
  for test in set get incr mset; do
    rows+=("$test|0|1" "$test|1|1")
  done
fi
if [ "$suite" = types ] || [ "$suite" = all ]; then
  for test in lpush rpush lpop rpop sadd hset spop zadd zpopmin lrange_100 lrange_300 lrange_500 lrange_600; do
    rows+=("$test|0|0" "$test|1|0")
  done
fi

row_label() { # TEST PIPELINED RANDOM
  local label
  case "$1" in
    ping_inline) label="PING (inline)" ;;
    ping_mbulk) label="PING" ;;
    lrange_*) label="LRANGE_${1#lrange_}" ;;
    mset) label="MSET (10 keys)" ;;
    *) label="${1^^}" ;;
  esac
  [ "$2" = 1 ] && label="$label, -P $pipeline_depth"
  [ "$3" = 1 ] && label="$label, -r $random_keyspace"
  echo "$label"
}

row_requests() { # TEST PIPELINED
  local n=$requests_plain
  [ "$2" = 1 ] && n=$requests_pipelined
  # MSET writes ten keys per request: a quarter of the requests keeps its
  # rows about as long as the others.
  [ "$1" = mset ] && n=$((n / 4))
  # LRANGE replies are 100-600 elements: fewer requests keep rows short.
  case "$1" in lrange_*) n=$((n / 10)) ;; esac
  echo "$n"
}

# A RESP stream of SET commands for redis-cli --pipe: key:<i> -> 8-byte value
# "v%07d" (never integer-encoded), optionally with PX.
generate_sets() { # COUNT [PX_MS]
  awk -v count="$1" -v px="${2:-}" 'BEGIN {
    for (i = 0; i < count; i++) {
      key = "key:" i
      if (px == "")
        printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$8\r\nv%07d\r\n", length(key), key, i
      else
        printf "*5\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$8\r\nv%07d\r\n$2\r\nPX\r\n$%d\r\n%s\r\n", length(key), key, i, length(px), px
    }
  }'
}

load_pipe() { # ROLE FILE
  local out
  out="$(cli "$1" --pipe <"$2" 2>&1)" || die "redis-cli --pipe failed against $1: $out"
  grep -q "errors: 0" <<<"$out" || die "loading into $1 reported errors: $out"
}

# ---- run ---------------------------------------------------------------------

started_at="$(date +%s)"
echo "bench/run.sh: Redis: $redis_bin" >&2
echo "bench/run.sh: Rivet: $rivet_bin" >&2
start_server redis "$redis_bin"
start_server rivet "$rivet_bin"
redis_version="$(info_field redis redis_version)"
rivet_version="$(info_field rivet redis_version)"

# Memory and expiry first, on fresh servers, so earlier work does not leave
# fragmentation in RSS.
echo "bench/run.sh: memory: loading $memory_keys keys into each server" >&2
generate_sets "$memory_keys" >"$work_dir/load.resp"
declare -A used_before=() used_after=() rss_after=()
for role in redis rivet; do
  used_before[$role]="$(info_field "$role" used_memory)"
  load_pipe "$role" "$work_dir/load.resp"
  keys="$(cli "$role" dbsize)"
  [ "$keys" = "$memory_keys" ] || die "$role holds $keys keys after loading $memory_keys"
  used_after[$role]="$(info_field "$role" used_memory)"
  rss_after[$role]="$(rss_kib "${server_pid[$role]}")"
  cli "$role" flushall >/dev/null
done

echo "bench/run.sh: expiry: $expiry_keys keys with PX $expiry_ttl_ms, then ${expiry_idle_s}s idle" >&2
generate_sets "$expiry_keys" "$expiry_ttl_ms" >"$work_dir/expiry.resp"
declare -A expiry_left=() expiry_clear=()
for role in redis rivet; do
  load_pipe "$role" "$work_dir/expiry.resp"
  loaded_at="$(date +%s.%N)"
  sleep "$expiry_idle_s"
  expiry_left[$role]="$(cli "$role" dbsize)"
  # Then: how long until every key is reclaimed (DBSIZE 0), polled 4 times a
  # second. This is steadier than the count at a fixed moment.
  expiry_clear[$role]="> $expiry_clear_limit_s"
  while awk -v t0="$loaded_at" -v now="$(date +%s.%N)" -v limit="$expiry_clear_limit_s" 'BEGIN { exit !(now - t0 < limit) }'; do
    if [ "$(cli "$role" dbsize)" = 0 ]; then
      expiry_clear[$role]="$(awk -v t0="$loaded_at" -v now="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", now - t0 }')"
      break
    fi
    sleep 0.25
  done
  cli "$role" flushall >/dev/null
done
rm -f "$work_dir/load.resp" "$work_dir/expiry.resp"

# Warm both servers up (first-touch page faults, allocator arenas).
for role in redis rivet; do
  "${pin_client[@]}" redis-benchmark -h 127.0.0.1 -p "${server_port[$role]}" -c "$clients" \
    -n 50000 -t set,get -r "$random_keyspace" -q >/dev/null 2>&1 || die "warm-up against $role failed"
done

# The list LRANGE rows read: 600 16-byte elements, loaded once per server.
for role in redis rivet; do
  cli "$role" del bench:list >/dev/null
  for ((i = 0; i < 6; i++)); do
    # shellcheck disable=SC2046
    cli "$role" rpush bench:list $(seq -f "element-%08g" $((i * 100)) $((i * 100 + 99))) >/dev/null
  done
done

echo "bench/run.sh: throughput: ${#rows[@]} rows x $repeats repeats, alternating Redis and Rivet" >&2
for ((repeat = 1; repeat <= repeats; repeat++)); do
  for spec in "${rows[@]}"; do
    IFS='|' read -r test pipelined random <<<"$spec"
    row="$test.$pipelined.$random"
    args=()
    [ "$pipelined" = 1 ] && args+=(-P "$pipeline_depth")
    [ "$random" = 1 ] && args+=(-r "$random_keyspace")
    requests="$(row_requests "$test" "$pipelined")"
    for role in redis rivet; do
      run_benchmark "$role" "$row" "$test" "$requests" "${args[@]}"
    done
    printf 'bench/run.sh: [%d/%d] %-30s redis %10.0f ops/s   rivet %10.0f ops/s\n' "$repeat" "$repeats" \
      "$(row_label "$test" "$pipelined" "$random")" \
      "$(tail -1 "$work_dir/$row.redis.samples" | cut -d' ' -f1)" \
      "$(tail -1 "$work_dir/$row.rivet.samples" | cut -d' ' -f1)" >&2
  done
done
elapsed=$(($(date +%s) - started_at))

# ---- report ------------------------------------------------------------------

report() {
  local cpu_model commit
  cpu_model="$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  commit="$(git -C "$repo_dir" rev-parse --short HEAD 2>/dev/null || echo "none")"
  echo "## Rivet vs Redis: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- Redis $redis_version (\`$redis_bin\`), Rivet reporting $rivet_version (\`$rivet_bin\`, commit $commit)"
  echo "- $(nproc) cores ($cpu_model); $pinning"
  echo "- redis-benchmark -c $clients -d $data_size; -n $requests_plain unpipelined, $requests_pipelined with -P $pipeline_depth (MSET a quarter of that); median of $repeats run(s) per row$([ "$quick" = 1 ] && echo ", --quick")"
  echo "- ratio = Rivet / Redis: above 1 is better for ops/s, below 1 is better for CPU/request and memory; took ${elapsed}s"
  echo
  echo "| test | Redis ops/s | Rivet ops/s | ops/s ratio | Redis p50 / p99 ms | Rivet p50 / p99 ms | Redis CPU µs/req | Rivet CPU µs/req | CPU/req ratio |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  local spec test pipelined random row
  local redis_rps rivet_rps redis_p50 rivet_p50 redis_p99 rivet_p99 redis_cpu rivet_cpu
  for spec in "${rows[@]}"; do
    IFS='|' read -r test pipelined random <<<"$spec"
    row="$test.$pipelined.$random"
    redis_rps="$(sample_median "$row" redis 1)"
    rivet_rps="$(sample_median "$row" rivet 1)"
    redis_p50="$(sample_median "$row" redis 2)"
    rivet_p50="$(sample_median "$row" rivet 2)"
    redis_p99="$(sample_median "$row" redis 3)"
    rivet_p99="$(sample_median "$row" rivet 3)"
    redis_cpu="$(sample_median "$row" redis 4)"
    rivet_cpu="$(sample_median "$row" rivet 4)"
    printf '| %s | %.0f | %.0f | %s | %.3f / %.3f | %.3f / %.3f | %.3f | %.3f | %s |\n' \
      "$(row_label "$test" "$pipelined" "$random")" "$redis_rps" "$rivet_rps" "$(ratio "$rivet_rps" "$redis_rps")" \
      "$redis_p50" "$redis_p99" "$rivet_p50" "$rivet_p99" "$redis_cpu" "$rivet_cpu" "$(ratio "$rivet_cpu" "$redis_cpu")"
  done
  echo
  echo "| memory and expiry | Redis | Rivet | ratio |"
  echo "|---|---:|---:|---:|"
  # A server that does not report a field shows n/a rather than stopping the report.
  local redis_per_key rivet_per_key
  redis_per_key="$(per_key "${used_before[redis]}" "${used_after[redis]}")"
  rivet_per_key="$(per_key "${used_before[rivet]}" "${used_after[rivet]}")"
  printf '| used_memory after %d SETs (8-byte values), MiB | %s | %s | %s |\n' "$memory_keys" \
    "$(scaled "${used_after[redis]}" 1048576)" "$(scaled "${used_after[rivet]}" 1048576)" \
    "$(ratio "${used_after[rivet]:-nan}" "${used_after[redis]:-nan}")"
  printf '| used_memory per key, bytes | %s | %s | %s |\n' "$redis_per_key" "$rivet_per_key" \
    "$(ratio "$rivet_per_key" "$redis_per_key")"
  printf '| RSS (VmRSS) after %d SETs, MiB | %s | %s | %s |\n' "$memory_keys" \
    "$(scaled "${rss_after[redis]}" 1024)" "$(scaled "${rss_after[rivet]}" 1024)" \
    "$(ratio "${rss_after[rivet]}" "${rss_after[redis]}")"
  printf '| keys left (DBSIZE) %ds after loading %d keys with PX %d | %s | %s | %s |\n' "$expiry_idle_s" \
    "$expiry_keys" "$expiry_ttl_ms" "${expiry_left[redis]}" "${expiry_left[rivet]}" \
    "$(ratio "${expiry_left[rivet]}" "${expiry_left[redis]}")"
  printf '| seconds from the end of that load until DBSIZE is 0 (checked from %ds on) | %s | %s | %s |\n' "$expiry_idle_s" \
    "${expiry_clear[redis]}" "${expiry_clear[rivet]}" "$(ratio "${expiry_clear[rivet]}" "${expiry_clear[redis]}")"
}

scaled() { # VALUE DIVISOR -> VALUE/DIVISOR with one decimal, or n/a
  awk -v v="$1" -v d="$2" 'BEGIN { if (v == "") print "n/a"; else printf "%.1f\n", v / d }'
}

per_key() { # USED_BEFORE USED_AFTER -> bytes per loaded key, or nan
  awk -v a="$1" -v b="$2" -v n="$memory_keys" 'BEGIN { if (a == "" || b == "") print "nan"; else printf "%.0f\n", (b - a) / n }'
}

mkdir -p "$(dirname "$output")"
report | tee "$output"
echo "bench/run.sh: results written to $output" >&2
