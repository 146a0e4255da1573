#!/usr/bin/env bash
# Writes the photo lists of the identification protocols in the README from an LFW
# image folder (images/<Name>/<Name>_NNNN.jpg), all made from the sorted paths:
#   all.txt              every photo (the leave-one-out gallery)
#   loo-mated.txt        the photos of people with two or more (leave-one-out probes)
#   open-gallery.txt     the first photo of every second person, in name order
#   open-mated.txt       those people's other photos
#   open-nonmated.txt    every photo of the other people
# Usage: scripts/lfw-lists.sh IMAGES OUT_DIR
set -euo pipefail
if [ $# -ne 2 ]; then
    echo "usage: $0 IMAGES OUT_DIR" >&2
    exit 2
fi
images=$(cd "$1" && pwd)
out=$2
mkdir -p "$out"
find "$images" -mindepth 2 -maxdepth 2 -name '*.jpg' | LC_ALL=C sort > "$out/all.txt"
[ -s "$out/all.txt" ] || { echo "lfw-lists: no photos in $images/<Name>/*.jpg" >&2; exit 1; }
# The person is the photo's folder.
awk -F/ '{ person = $(NF-1); count[person]++; line[NR] = $0; who[NR] = person }
    END { for (i = 1; i <= NR; i++) if (count[who[i]] > 1) print line[i] }' "$out/all.txt" > "$out/loo-mated.txt"
awk -F/ -v gallery="$out/open-gallery.txt" -v mated="$out/open-mated.txt" -v nonmated="$out/open-nonmated.txt" '
    { person = $(NF-1)
      if (person != last) { index_of_person++; last = person; first = 1 } else { first = 0 }
      if (index_of_person % 2 == 1) { print > (first ? gallery : mated) } else { print > nonmated } }' "$out/all.txt"
wc -l "$out"/*.txt >&2
