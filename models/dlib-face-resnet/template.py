#!/usr/bin/env python3
"""Measures where YuNet's five landmarks fall in dlib's 150x150 face chip: the `align.template`
of the dlib model in models/manifest.toml.

dlib cuts its chip from its own five landmarks (eye corners and the base of the nose, from
`shape_predictor_5_face_landmarks.dat`) with `get_face_chip_details(shape, 150, padding=0.25)`.
The verifier detects with YuNet, whose five points are different ones (eye centres, nose tip,
mouth corners), so the template cannot be copied from dlib; it is measured: for each face both
find, the image-to-chip transform dlib used is rebuilt from the chip details (and checked by
resampling the chip from the image with it), YuNet's points are mapped through it, and the
per-coordinate median over all faces is the template.

Input: the photos, and for each photo the JSON `verifier face detect PHOTO` prints, in a
directory (`DETECTIONS/<photo file name>.json`). Prints the template as TOML.

Usage: template.py --detections DIR PHOTO...
"""

import argparse
import json
import math
import os
import sys

import numpy as np


def chip_mapping(details):
    """The affine map image -> chip that dlib's extract_image_chip samples with.

    dlib (image_transforms/interpolation.h, get_mapping_to_chip): the chip's corners (0, 0),
    (cols-1, 0), (cols-1, rows-1) are the rectangle's corners rotated by `angle` about its
    centre."""
    r = details.rect
    cx, cy = (r.left() + r.right()) / 2.0, (r.top() + r.bottom()) / 2.0
    a = details.angle
    cos, sin = math.cos(a), math.sin(a)

    def rot(x, y):
        x, y = x - cx, y - cy
        return (cos * x - sin * y + cx, sin * x + cos * y + cy)

    src = np.array([rot(r.left(), r.top()), rot(r.right(), r.top()), rot(r.right(), r.bottom())])
    dst = np.array([[0, 0], [details.cols - 1, 0], [details.cols - 1, details.rows - 1]], dtype=float)
    a_mat = np.hstack([src, np.ones((3, 1))])
    m = np.linalg.solve(a_mat, dst)  # [x y 1] @ m = [u v]
    return m


def apply(m, pts):
    pts = np.asarray(pts, dtype=float)
    return np.hstack([pts, np.ones((len(pts), 1))]) @ m


def bilinear(img, x, y):
    h, w = img.shape[:2]
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - x0, y - y0
    out = np.zeros(x.shape + (3,))
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            xi, yi = np.clip(x0 + dx, 0, w - 1), np.clip(y0 + dy, 0, h - 1)
            out += img[yi, xi].astype(float) * (wx * wy)[..., None]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--detections", required=True)
    ap.add_argument("photos", nargs="+")
    args = ap.parse_args(argv)

    import dlib
    import face_recognition_models as frm
    from PIL import Image

    detector = dlib.get_frontal_face_detector()
    shape5 = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
    points = []
    resample_err = []
    for path in args.photos:
        det_file = os.path.join(args.detections, os.path.basename(path) + ".json")
        if not os.path.exists(det_file):
            continue
        yunet = json.load(open(det_file))["faces"]
        img = np.asarray(Image.open(path).convert("RGB"))
        for det in detector(img, 1):
            shape = shape5(img, det)
            details = dlib.get_face_chip_details(shape, size=150, padding=0.25)
            m = chip_mapping(details)
            inv = np.linalg.inv(np.vstack([m.T, [0, 0, 1]]))  # chip -> image, homogeneous
            chip = np.asarray(dlib.get_face_chip(img, shape, size=150, padding=0.25)).astype(float)
            # Check the mapping on the chip's central part (dlib filters large faces before
            # sampling, so compare smoothed colours, not exact pixels).
            u, v = np.meshgrid(np.arange(40, 110, 7.0), np.arange(40, 110, 7.0))
            xy = np.stack([u.ravel(), v.ravel(), np.ones(u.size)]) 
            ix, iy, _ = inv @ xy
            resample_err.append(float(np.abs(bilinear(img, ix, iy) - chip[v.ravel().astype(int), u.ravel().astype(int)]).mean()))
            # The YuNet face this dlib face is: the one whose box centre is nearest dlib's.
            c = np.array([(det.left() + det.right()) / 2, (det.top() + det.bottom()) / 2])
            best = min(yunet, key=lambda f: np.hypot(*(np.array(f["box"][:2]) + np.array(f["box"][2:]) / 2 - c)), default=None)
            if best is None:
                continue
            if np.hypot(*(np.array(best["box"][:2]) + np.array(best["box"][2:]) / 2 - c)) > 0.3 * det.width():
                continue
            points.append(apply(m, best["landmarks"]))
    if not points:
        print("no face found by both detectors", file=sys.stderr)
        return 1
    pts = np.array(points)
    med = np.median(pts, axis=0)
    spread = np.median(np.abs(pts - med), axis=0)
    print(f"# {len(points)} faces; mean |chip - image resampled| {np.mean(resample_err):.1f} grey levels "
          f"(the mapping check); median absolute deviation per point {np.round(spread, 2).tolist()}")
    print("template = [" + ", ".join(f"[{x:.2f}, {y:.2f}]" for x, y in med) + "]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
