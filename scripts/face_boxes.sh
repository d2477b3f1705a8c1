#!/usr/bin/env bash
# Writes the largest detected face box of every img*.jpg in a folder, as the JSON object that
# `datasets-synthetic generate ... --face-boxes FILE` reads (file name -> [x, y, w, h]), so the
# synthetic documents' portraits are cropped around the face instead of by a heuristic.
# usage: scripts/face_boxes.sh [FACES_DIR (../shared/datasets/faces)] [OUT (.cache/face-boxes.json)]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir="${1:-../shared/datasets/faces}"
out="${2:-.cache/face-boxes.json}"
cargo build --quiet -p verifier
mkdir -p "$(dirname "$out")"
for f in "$dir"/img*.jpg; do
    printf '%s\t' "$(basename "$f")"
    ./target/debug/verifier face detect "$f"
done | python3 -c '
import json, sys
boxes = {}
for line in sys.stdin:
    name, found = line.split("\t", 1)
    faces = json.loads(found)["faces"]
    if faces:
        boxes[name] = max((f["box"] for f in faces), key=lambda b: b[2] * b[3])
json.dump(boxes, sys.stdout, indent=0, sort_keys=True)
' > "$out"
echo "face boxes of $(python3 -c "import json; print(len(json.load(open('$out'))))" ) photos -> $out"
