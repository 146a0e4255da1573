#!/usr/bin/env bash
# Checks every Swift file against .swift-format with the toolchain's `swift format`:
# any finding fails. `scripts/lint.sh --fix` rewrites the files in the configured
# form first (the lint-only findings, such as names, stay for a person to fix).
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(Sources Tests Package.swift)
if [ "${1:-}" = "--fix" ]; then
    swift format format --in-place --recursive --parallel --configuration .swift-format "${paths[@]}"
fi
swift format lint --strict --recursive --parallel --configuration .swift-format "${paths[@]}"
