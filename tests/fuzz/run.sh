#!/bin/sh
# Builds the libFuzzer targets with clang (in build-fuzz, or $RIVET_FUZZ_BUILD_DIR)
# and runs each one for SECONDS (default 60) on a scratch copy of its seed
# corpus in tests/fuzz/corpus/<name>/. Exits non-zero if any target crashes;
# the reproducer is kept under <build>/artifacts/<name>/.
# Usage: tests/fuzz/run.sh [SECONDS]
set -eu

seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${RIVET_FUZZ_BUILD_DIR:-$root/build-fuzz}

CC=clang cmake -S "$root" -B "$build" -DRIVET_FUZZ=ON -DRIVET_TESTS=OFF >/dev/null
cmake --build "$build" --target rivet_fuzzers -j 2

status=0
found=0
for fuzzer in "$build"/tests/fuzz/fuzz_*; do
    [ -f "$fuzzer" ] && [ -x "$fuzzer" ] || continue
    found=1
    name=${fuzzer##*/fuzz_}
    work=$(mktemp -d)
    if [ -d "$root/tests/fuzz/corpus/$name" ]; then
        cp -R "$root/tests/fuzz/corpus/$name/." "$work/"
    fi
    artifacts=$build/artifacts/$name
    mkdir -p "$artifacts"
    echo "== fuzz_$name for ${seconds}s"
    if ! "$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" "$work"; then
        echo "fuzz_$name FAILED: reproducer in $artifacts/" >&2
        status=1
    fi
    rm -rf "$work"
done

if [ "$found" = 0 ]; then
    echo "no fuzz targets were built" >&2
    exit 1
fi
exit $status
