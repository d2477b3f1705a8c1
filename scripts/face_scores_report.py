#!/usr/bin/env python3
"""Figures of a face-match threshold on the per-pair scores `verifier face eval --scores` writes.

For each scores CSV (optionally restricted to the pairs of a second CSV, e.g. the 280 pairs of
face-recognition-pivot.csv inside the scores of every cross pair), prints the number of genuine
and impostor pairs, AUC, the lowest threshold whose FMR is at most --target-fmr and the FNMR
there, and at --threshold: false matches, false non-matches and both rates with Wilson 95 %
intervals (pairs taken as independent, which pairs sharing a photo are not: the intervals are
optimistic).

usage: face_scores_report.py --threshold T [--target-fmr 1e-3] SCORES.csv[:SUBSET.csv] ...
"""
import argparse
import csv
import math
import os


def wilson(k, n, z=1.959964):
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def key(a, b):
    return tuple(sorted((os.path.basename(a), os.path.basename(b))))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threshold", type=float, required=True)
    ap.add_argument("--target-fmr", type=float, default=1e-3)
    ap.add_argument("sets", nargs="+")
    args = ap.parse_args()
    for spec in args.sets:
        scores, _, subset = spec.partition(":")
        rows = list(csv.DictReader(open(scores)))
        if subset:
            wanted = {key(r["file_x"], r["file_y"]) for r in csv.DictReader(open(subset))}
            rows = [r for r in rows if key(r["file_x"], r["file_y"]) in wanted]
        g = sorted(float(r["score"]) for r in rows if r["decision"] == "Yes")
        i = sorted(float(r["score"]) for r in rows if r["decision"] != "Yes")
        if not g or not i:
            print(f"{spec}: no genuine or no impostor pair")
            continue
        import bisect

        auc = sum(bisect.bisect_left(i, s) + (bisect.bisect_right(i, s) - bisect.bisect_left(i, s)) / 2 for s in g)
        auc /= len(g) * len(i)
        allowed = math.floor(args.target_fmr * len(i))
        # The lowest threshold with at most `allowed` impostors at or above it.
        t_target = i[len(i) - allowed - 1] + 1e-6 if allowed < len(i) else i[0]
        fnmr_target = bisect.bisect_left(g, t_target) / len(g)
        t = args.threshold
        fm = len(i) - bisect.bisect_left(i, t)
        fnm = bisect.bisect_left(g, t)
        lo, hi = wilson(fm, len(i))
        glo, ghi = wilson(fnm, len(g))
        print(f"{spec}: {len(g)} genuine, {len(i)} impostor; AUC {auc:.5f}; highest impostor {i[-1]:.4f}, "
              f"lowest genuine {g[0]:.4f}; FMR <= {args.target_fmr:g} from {t_target:.4f} (FNMR {fnmr_target:.4f}); "
              f"at {t}: {fm} false matches, FMR {fm / len(i):.4f} [{lo:.4f}, {hi:.4f}], "
              f"{fnm} false non-matches, FNMR {fnm / len(g):.4f} [{glo:.4f}, {ghi:.4f}]")


if __name__ == "__main__":
    main()
