#!/usr/bin/env bash
# Custom reward code and code-execution rewards run under bubblewrap (Debian's `bubblewrap` package):
# namespaces of their own for mounts, network, PIDs and IPC. Install it when it is missing. Without it the
# studio still runs; code rewards are then refused with the reason (never run unconfined).
set -euo pipefail
command -v bwrap >/dev/null && exit 0
echo "setup: installing Debian's bubblewrap for the reward sandbox"
sudo_cmd=""
[ "$(id -u)" = 0 ] || sudo_cmd="sudo"
if ! { $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq bubblewrap >/dev/null; }; then
  echo "setup: could not install bubblewrap; code rewards will be refused until it is installed" >&2
fi
