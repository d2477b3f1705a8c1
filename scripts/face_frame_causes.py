#!/usr/bin/env python3
"""Why document portraits in webcam frames fail to match: genuine-pair FNMR at a threshold,
broken down by what the generator's frame labels say about each frame (portrait height in
the frame, defocus, motion blur, JPEG quality, glare over the portrait, tilt).

Reads the per-pair scores `verifier face eval --document --scores` wrote for pairs whose
`file_x` are `datasets-synthetic generate frames` frames (labels beside them as .json).

usage: face_frame_causes.py --threshold T SCORES.csv
"""
import argparse
import csv
import json
from collections import defaultdict


def overlaps(a, b):
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threshold", type=float, required=True)
    ap.add_argument("scores")
    args = ap.parse_args()
    groups = defaultdict(lambda: [0, 0, []])
    for r in csv.DictReader(open(args.scores)):
        if r["decision"] != "Yes":
            continue
        label = json.load(open(r["file_x"].rsplit(".", 1)[0] + ".json"))
        cap = label["capture"]
        box = label.get("portrait_box")
        height = box[3] if box else 0
        s = float(r["score"])
        keys = [
            ("all", ""),
            ("portrait height px", "none" if not box else f"{int(height // 40) * 40:>3}-{int(height // 40) * 40 + 39}"),
            ("defocus radius", str(cap["defocus_radius"])),
            ("motion blur", "no" if not cap["motion_blur"] else "yes"),
            ("jpeg quality", f"{label['jpeg_quality'] // 20 * 20}-{label['jpeg_quality'] // 20 * 20 + 19}"),
            ("glare on portrait", "yes" if box and any(overlaps(box, g) for g in label["glare_boxes"]) else "no"),
            ("tilt deg", f"{int(cap['tilt_deg'] // 15) * 15}+"),
            ("no face found", "yes" if s <= -1 else "no"),
        ]
        for k in keys:
            g = groups[k]
            g[0] += 1
            g[1] += s < args.threshold
            g[2].append(s)
    for (what, value), (n, rejected, scores) in sorted(groups.items()):
        scores.sort()
        print(f"{what:>18} {value:>8}: {n:4} genuine pairs, FNMR {rejected / n:.3f} ({rejected}), median score {scores[len(scores) // 2]:.3f}")


if __name__ == "__main__":
    main()
