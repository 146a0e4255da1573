#!/usr/bin/env bash
# The main job, from a fresh machine: set up, build, and show Lineup at work on
# sample photos from a registry package (portraits of Barack Obama and Joe Biden
# from the face_recognition 1.3.0 source package).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> building (release)" >&2
swift build -c release --product lineup 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' >&2
lineup=$(swift build -c release --show-bin-path)/lineup
samples=.lineup/samples

echo
echo "\$ lineup detect obama.jpg obama2.jpg biden.jpg"
"$lineup" detect "$samples/obama.jpg" "$samples/obama2.jpg" "$samples/biden.jpg"
echo
echo "\$ lineup compare obama.jpg obama2.jpg      # two photos of one person"
"$lineup" compare "$samples/obama.jpg" "$samples/obama2.jpg"
echo
echo "\$ lineup compare obama.jpg biden.jpg       # two different people"
"$lineup" compare "$samples/obama.jpg" "$samples/biden.jpg"
echo
echo "The lineup binary is at $lineup; see README.md for evaluation and benchmarks."
