#!/usr/bin/env bash
# Runs every test: sets up what the tests need (models, sample photos), then
# `swift test`. Tests that need the shared LFW and detection photos beside the
# checkout (../shared/faces, or LINEUP_SHARED_FACES) skip, saying so, when absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# What the server tests drive: openapi-spec-validator for the served document,
# schemathesis against a real `lineup serve` with that document, and headless
# Chromium (Debian's chromium and chromium-driver) through Selenium for the browser
# test; Debian's wget writes a web archive the WebArchive tests read.
missing=()
for package in chromium chromium-driver wget; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    printf '==> installing Debian packages for the tests: %s\n' "${missing[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >&2 || { echo "test: apt-get update failed" >&2; exit 1; }
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null \
        || { echo "test: apt-get install ${missing[*]} failed" >&2; exit 1; }
fi
venv=.lineup/venv-test
if ! "$venv/bin/python" -c 'import selenium, openapi_spec_validator' 2>/dev/null; then
    printf '==> installing openapi-spec-validator 0.7.1 and selenium 4.27.1 for the tests\n' >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check openapi-spec-validator==0.7.1 selenium==4.27.1 >&2 \
        || { echo "test: pip install openapi-spec-validator selenium failed" >&2; exit 1; }
fi
# warcio writes the web archives the WebArchive tests read (scripts/warc_fixture.py).
if ! "$venv/bin/pip" show warcio 2>/dev/null | grep -qx 'Version: 1.8.1'; then
    printf '==> installing warcio 1.8.1 for the web-archive tests\n' >&2
    "$venv/bin/pip" install -q --disable-pip-version-check warcio==1.8.1 >&2 \
        || { echo "test: pip install warcio failed" >&2; exit 1; }
fi
if ! "$venv/bin/st" --version 2>/dev/null | grep -qx 'st, version 4.32.5'; then
    printf '==> installing schemathesis 4.32.5 for the API conformance test\n' >&2
    "$venv/bin/pip" install -q --disable-pip-version-check schemathesis==4.32.5 >&2 \
        || { echo "test: pip install schemathesis failed" >&2; exit 1; }
fi
# The scale-out engines (PostgreSQL, Milvus) for the integration tests: started here
# unless already running, stopped after if started here. When they cannot start,
# their tests skip, saying so, except in CI (CI=true), where the run fails.
started_cluster=0
# Set before starting: a start that fails halfway (PostgreSQL up, Milvus not) stops what it started.
trap 'if [ "$started_cluster" -eq 1 ]; then scripts/cluster.sh stop; fi' EXIT
# The status is read whole first: `grep -q` stopping early would end the status
# command with SIGPIPE, and with pipefail the test would read "all running".
cluster_status=$(scripts/cluster.sh status)
if grep -q stopped <<<"$cluster_status"; then
    started_cluster=1
    if ! scripts/cluster.sh start >/dev/null; then
        # CI runs every suite: a server that does not start fails the run here.
        [ "${CI:-}" = "true" ] && { echo "test: a scale-out server did not start (above); CI runs every suite" >&2; exit 1; }
        echo "test: a scale-out server did not start (above); its tests will skip" >&2
    fi
fi
export LINEUP_POSTGRES_URL="${LINEUP_POSTGRES_URL:-postgres://lineup@127.0.0.1:54329/lineup}"
export LINEUP_MILVUS_URL="${LINEUP_MILVUS_URL:-http://127.0.0.1:19530}"
swift test "$@"
