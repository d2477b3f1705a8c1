#!/usr/bin/env bash
# Writes, for every img*.jpg in a folder, the largest detected face's box and its face mesh, as
# the two JSON objects that `datasets-synthetic generate ...` reads:
#   --face-boxes FILE   file name -> [x, y, w, h]: the documents' portraits and the live heads
#                       are cropped around the face instead of by a heuristic;
#   --face-meshes FILE  file name -> [[x, y, z], ...] (468 points): the live heads of the
#                       liveness sequences turn in 3-D over the photo's own mesh instead of by
#                       a 2-D warp.
# usage: scripts/face_boxes.sh [FACES_DIR (../shared/datasets/faces)]
#            [BOXES_OUT (.cache/face-boxes.json)] [MESHES_OUT (.cache/face-meshes.json)]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir="${1:-../shared/datasets/faces}"
boxes="${2:-.cache/face-boxes.json}"
meshes="${3:-.cache/face-meshes.json}"
cargo build --quiet -p verifier
mkdir -p "$(dirname "$boxes")" "$(dirname "$meshes")"
for f in "$dir"/img*.jpg; do
    printf '%s\t' "$(basename "$f")"
    ./target/debug/verifier face mesh "$f"
done | python3 -c '
import json, sys
boxes, meshes = {}, {}
for line in sys.stdin:
    name, found = line.split("\t", 1)
    found = json.loads(found)
    if found["box"]:
        boxes[name] = found["box"]
    if found.get("points"):
        meshes[name] = found["points"]
with open(sys.argv[1], "w") as out:
    json.dump(boxes, out, indent=0, sort_keys=True)
with open(sys.argv[2], "w") as out:
    json.dump(meshes, out, separators=(",", ":"), sort_keys=True)
print(f"face boxes of {len(boxes)} photos -> {sys.argv[1]}, meshes of {len(meshes)} -> {sys.argv[2]}")
' "$boxes" "$meshes"
