#!/usr/bin/env bash
# Writes the face mesh (468 points [x, y, z]) of the largest face of every img*.jpg in a folder,
# as the JSON object that `datasets-synthetic generate liveness ... --face-meshes FILE` reads
# (file name -> points), so the synthetic live heads turn in 3-D instead of by a 2-D warp.
# usage: scripts/face_meshes.sh [FACES_DIR (../shared/datasets/faces)] [OUT (.cache/face-meshes.json)]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir="${1:-../shared/datasets/faces}"
out="${2:-.cache/face-meshes.json}"
cargo build --quiet -p verifier
mkdir -p "$(dirname "$out")"
for f in "$dir"/img*.jpg; do
    printf '%s\t' "$(basename "$f")"
    ./target/debug/verifier face mesh "$f"
done | python3 -c '
import json, sys
meshes = {}
for line in sys.stdin:
    name, found = line.split("\t", 1)
    points = json.loads(found).get("points")
    if points:
        meshes[name] = points
json.dump(meshes, sys.stdout, separators=(",", ":"), sort_keys=True)
' > "$out"
echo "face meshes of $(python3 -c "import json; print(len(json.load(open('$out'))))" ) photos -> $out"
