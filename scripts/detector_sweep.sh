#!/usr/bin/env bash
# Counts, for several YuNet score thresholds, the photos of ../shared/datasets/faces where the
# detector finds no face, one face, or several. Used to choose face.detector.score_threshold
# (docs/thresholds.md). Run after scripts/setup.sh; uses the debug build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --quiet -p verifier
for t in ${THRESHOLDS:-0.5 0.6 0.7 0.8 0.9}; do
    zero=0 one=0 many=0
    for f in ../shared/datasets/faces/img*.jpg; do
        n=$(VERIFIER_FACE__DETECTOR__SCORE_THRESHOLD=$t ./target/debug/verifier face detect "$f" \
            | python3 -c 'import json, sys; print(len(json.load(sys.stdin)["faces"]))')
        case $n in 0) zero=$((zero + 1)) ;; 1) one=$((one + 1)) ;; *) many=$((many + 1)) ;; esac
    done
    echo "threshold $t: none=$zero one=$one several=$many"
done
