#!/usr/bin/env bash
# Measures the open-set identification figures the model card quotes, for one
# alignment mode, and writes them where the model card reads them:
# Sources/FaceVision/Resources/identification-<model>.json. The protocol is the
# README's open set on the LFW development view (scripts/lfw-lists.sh); the file
# keeps the figures and the protocol, not the photos' paths or the run's timings.
# Usage: scripts/identification-figures.sh LFW_IMAGES [detector|mirrored|ensemble]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
    echo "usage: $0 LFW_IMAGES [detector|mirrored|ensemble]" >&2
    exit 2
fi
images=$1
alignment=${2:-detector}
lists=$(mktemp -d)
trap 'rm -rf "$lists"' EXIT
scripts/lfw-lists.sh "$images" "$lists" 2>/dev/null
swift build -c release --product lineup-bench 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' >&2
bench=$(swift build -c release --show-bin-path)/lineup-bench
dataset="LFW development view (deep-funneled), open set: the first photo of every other person enrolled ($(wc -l <"$lists/open-gallery.txt")), their other $(wc -l <"$lists/open-mated.txt") photos mated probes, the $(wc -l <"$lists/open-nonmated.txt") photos of the rest non-mated (scripts/lfw-lists.sh)"
"$bench" eval identification --alignment "$alignment" --gallery "$lists/open-gallery.txt" --mated "$lists/open-mated.txt" \
    --nonmated "$lists/open-nonmated.txt" --dataset "$dataset" --json >"$lists/run.json"
python3 - "$lists/run.json" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
for key in ("misses", "ingest_seconds", "search_seconds"):
    run.pop(key, None)
name = "Sources/FaceVision/Resources/identification-" + run["model"].replace("+", "-") + ".json"
with open(name, "w") as out:
    json.dump(run, out, indent=2, sort_keys=True)
    out.write("\n")
print("wrote " + name, file=sys.stderr)
PY
