#!/usr/bin/env bash
# Runs every test: sets up what the tests need (models, sample photos), then
# `swift test`. Tests that need the shared LFW and detection photos beside the
# checkout (../shared/faces, or LINEUP_SHARED_FACES) skip, saying so, when absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The OpenAPI validator the server tests run the served document through.
venv=.lineup/venv-test
if [ ! -x "$venv/bin/openapi-spec-validator" ]; then
    printf '==> installing openapi-spec-validator 0.7.1 for the tests\n' >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check openapi-spec-validator==0.7.1 >&2 \
        || { echo "test: pip install openapi-spec-validator failed" >&2; exit 1; }
fi
swift test "$@"
