#!/usr/bin/env bash
# Checks every Swift file against .swift-format with the toolchain's `swift format`:
# any finding fails. `scripts/lint.sh --fix` rewrites the files in the configured
# form first (the lint-only findings, such as names, stay for a person to fix).
set -euo pipefail
cd "$(dirname "$0")/.."
# Code generated from .proto files (*.pb.swift, *.grpc.swift) is left as its generator wrote it.
mapfile -t paths < <(find Sources Tests -name '*.swift' ! -name '*.pb.swift' ! -name '*.grpc.swift' | sort)
paths+=(Package.swift)
if [ "${1:-}" = "--fix" ]; then
    swift format format --in-place --parallel --configuration .swift-format "${paths[@]}"
fi
swift format lint --strict --parallel --configuration .swift-format "${paths[@]}"
