#!/usr/bin/env bash
# Runs the real-client suites (ioredis, node-redis, several major versions; BullMQ)
# against a server binary: tests/clients/run.sh build/rivet-server, or
# tests/clients/run.sh redis-server to check the tests themselves against Redis.
# Each test file starts its own server on a free loopback port.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 SERVER_BINARY   (or: $0 --install, to only install the libraries)" >&2
  exit 2
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Install exactly the locked versions, but only when node_modules is missing
# or was installed from a different lock file.
install_libraries() {
  local lock_hash stamp
  lock_hash="$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"
  stamp="$here/node_modules/.rivet-lock-sha256"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
    echo "run.sh: installing client libraries (npm ci)" >&2
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
    echo "$lock_hash" >"$stamp"
  fi
}

server="$1"
if [ "$server" = "--install" ]; then
  install_libraries
  exit 0
fi
if [[ "$server" == */* ]]; then
  # The tests run from this directory: make a relative path absolute first.
  server="$(cd "$(dirname "$server")" 2>/dev/null && pwd)/$(basename "$server")" || true
  if [ ! -x "$server" ]; then
    echo "run.sh: server binary not found or not executable: $1" >&2
    exit 2
  fi
elif ! command -v "$server" >/dev/null 2>&1; then
  echo "run.sh: server binary not on PATH: $server" >&2
  exit 2
fi

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "run.sh: $tool is required (Node.js 20 or later)" >&2
    exit 2
  fi
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
  echo "run.sh: Node.js 20 or later is required, found $(node --version)" >&2
  exit 2
fi

cd "$here"
install_libraries

export RIVET_SERVER_BINARY="$server"
echo "run.sh: client tests against $server" >&2

# TAP output ends with the "# pass N" / "# fail M" summary that CI reads;
# node exits non-zero when any test fails.
exec node --test --test-reporter=tap --test-concurrency=1 test/*.test.js
