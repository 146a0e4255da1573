#!/usr/bin/env bash
# Runs every test: sets up what the tests need (models, sample photos), then
# `swift test`. Tests that need the shared LFW and detection photos beside the
# checkout (../shared/faces, or LINEUP_SHARED_FACES) skip, saying so, when absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift test "$@"
