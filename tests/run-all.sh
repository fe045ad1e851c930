#!/usr/bin/env bash
# Builds Rivet and runs every test layer: unit (cmocka), integration (hiredis),
# compat (byte-for-byte against real redis-server), the same suites again
# under AddressSanitizer + UBSan, real Node clients, and a bounded fuzz run.
# Prints one summary line "tests: N passed, M failed" and exits non-zero on
# any failure. Usage: bash tests/run-all.sh   (FUZZ_SECONDS=60 by default)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tests/install-deps.sh || { echo "dependency install failed"; exit 1; }

jobs=$(nproc 2>/dev/null || echo 2)
passed=0
failed=0
failures=()

step() { # step NAME COMMAND...: runs a step, counts it, keeps going
    local name="$1"
    shift
    echo
    echo "=== $name"
    local start=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
        echo "=== $name: ok ($((SECONDS - start))s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "=== $name: FAILED ($((SECONDS - start))s)"
    fi
}

build() { # build DIR CMAKE_ARGS...
    local dir="$1"
    shift
    cmake -S . -B "$dir" -DRIVET_WERROR=ON "$@" >"$dir.configure.log" 2>&1 ||
        { cat "$dir.configure.log"; return 1; }
    local status
    cmake --build "$dir" -j"$jobs" >"$dir.build.log" 2>&1
    status=$?
    grep -Ev '^\[ *[0-9]+%\] (Building|Linking|Built)' "$dir.build.log"
    return $status
}

run_ctest() { # run_ctest DIR
    (cd "$1" && ctest --output-on-failure -j"$jobs" --timeout 300)
}

mkdir -p build build-asan
step "build (release, -Werror)" build build -DCMAKE_BUILD_TYPE=RelWithDebInfo
step "unit + integration + compat tests" run_ctest build
step "build (ASan + UBSan)" build build-asan -DCMAKE_BUILD_TYPE=Debug -DRIVET_SANITIZE=ON
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
step "unit + integration + compat tests under ASan/UBSan" run_ctest build-asan
unset ASAN_OPTIONS UBSAN_OPTIONS
step "real clients (ioredis, node-redis, BullMQ)" bash tests/clients/run.sh build/rivet-server
if [ -x tests/fuzz/run.sh ]; then
    step "fuzz (${FUZZ_SECONDS:-60}s per target)" bash tests/fuzz/run.sh "${FUZZ_SECONDS:-60}"
fi

echo
if [ "$failed" -gt 0 ]; then
    echo "failed steps: ${failures[*]}"
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
