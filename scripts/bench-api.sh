#!/usr/bin/env bash
# The HTTP API under load: installs Debian's wrk when missing, builds Lineup
# (release) and runs `lineup-bench api` with the arguments given, e.g.
#   scripts/bench-api.sh --store .lineup/bench-api-store --clients 1 16 64
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if ! command -v wrk >/dev/null; then
    printf '==> installing wrk\n' >&2
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq wrk >/dev/null \
        || { echo "bench-api: apt-get install wrk failed" >&2; exit 1; }
fi
swift build -c release --product lineup-bench 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' >&2
exec "$(swift build -c release --show-bin-path)/lineup-bench" api "$@"
