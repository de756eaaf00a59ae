#!/usr/bin/env bash
# The browser tests drive Debian's chromium through Playwright (Playwright's own browser download
# is not used). Install chromium from the distribution when it is missing.
set -euo pipefail
command -v chromium >/dev/null && exit 0
echo "setup: installing Debian's chromium for the browser tests"
sudo_cmd=""
[ "$(id -u)" = 0 ] || sudo_cmd="sudo"
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
