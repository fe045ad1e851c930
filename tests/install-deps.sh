#!/usr/bin/env bash
# Installs what building and testing Rivet needs on Debian 12, and nothing
# that is already there. Safe to run again. Needs root (or sudo) for apt-get.
set -euo pipefail

packages=(build-essential cmake pkg-config libuv1-dev libjemalloc-dev libcmocka-dev
          libhiredis-dev libxxhash-dev liblua5.1-0-dev lua-cjson-dev lua-bitop-dev
          redis-server redis-tools clang)
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's redis-server package may start a system instance on 6379; tests
# start their own servers on free ports, and the README's server wants 6379.
if pgrep -x redis-server >/dev/null 2>&1 && [ -x /etc/init.d/redis-server ]; then
    /etc/init.d/redis-server stop >/dev/null 2>&1 || true
fi
# The real-client tests' Node libraries (ioredis, node-redis, BullMQ), exactly
# the versions in tests/clients/package-lock.json. run.sh would install them on
# first use too; doing it here keeps a later test run off the network.
if command -v npm >/dev/null 2>&1; then
    bash "$(dirname "${BASH_SOURCE[0]}")/clients/run.sh" --install
fi
