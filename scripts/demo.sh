#!/usr/bin/env bash
# The main job, from a fresh machine: set up, build, and show Lineup at work on
# sample photos from a registry package (portraits of Barack Obama and Joe Biden
# from the face_recognition 1.3.0 source package): detect and compare faces, then
# register the photos as a source, ingest them and search the gallery with a photo.
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

store=.lineup/demo-store
rm -rf "$store"
echo
echo "\$ lineup source add samples --root $samples --basis public-task --condition substantial-public-interest --jurisdiction GB --retention-days 30"
"$lineup" source add samples --store "$store" --root "$samples" --basis public-task \
    --condition substantial-public-interest --jurisdiction GB --retention-days 30
echo
echo "\$ lineup ingest samples"
"$lineup" ingest samples --store "$store"
echo
echo "\$ lineup search obama2.jpg"
"$lineup" search "$samples/obama2.jpg" --store "$store"
echo
echo "The lineup binary is at $lineup; see README.md for the gallery, evaluation and benchmarks."
