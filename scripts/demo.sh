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
export LINEUP_STORE="$store"
token() { sed -n 's/.*"token" : "\(.*\)".*/\1/p'; }
run() { # shows the command, then runs it
    echo
    echo "\$ lineup $*"
    "$lineup" "$@"
}
echo
echo "\$ lineup bootstrap --organisation Operations --type government --jurisdiction GB --admin root"
admin=$("$lineup" bootstrap --organisation Operations --type government --jurisdiction GB --admin root --json | token)
echo "(the admin's token, shown once)"
run org add Met --type law-enforcement --jurisdiction GB --token "$admin"
supervisor=$("$lineup" account add sup --org Met --role supervisor --token "$admin" --json | token)
investigator=$("$lineup" account add inv --org Met --role investigator --token "$supervisor" --json | token)
echo
echo "\$ lineup account add inv --org Met --role investigator   # by the supervisor: pending until approved"
run account approve inv --token "$supervisor"
officer=$("$lineup" account add dpo --org Operations --role privacy-officer --token "$admin" --json | token)
auditor=$("$lineup" account add aud --org Operations --role auditor --token "$admin" --json | token)
run source add samples --root "$samples" --basis public-task --condition substantial-public-interest \
    --jurisdiction GB --retention-days 30 --collected licensed --token "$admin"
run ingest samples --token "$admin"
run search "$samples/obama2.jpg" --case 2026/0415 --purpose "identify a suspect" --basis "PACE 1984 s.64A" --token "$investigator"
run optout request "$samples/obama3.jpg" --contact b.obama@example.org
run search "$samples/obama2.jpg" --case 2026/0415 --purpose "identify a suspect" --basis "PACE 1984 s.64A" --token "$investigator"
run optout list --token "$officer"
run audit verify --token "$auditor"
echo
echo "The lineup binary is at $lineup; see README.md for the gallery, evaluation and benchmarks."
