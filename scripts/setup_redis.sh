#!/usr/bin/env bash
# Debian's redis-server for the scale-out tests (each test starts its own on a free loopback port, without
# persistence). Installs it once; quick afterwards.
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/bin/redis-server ]; then
  echo "setup: installing Debian's redis-server (scale-out tests)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
