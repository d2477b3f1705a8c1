#!/usr/bin/env python3
"""Trains the MRZ character recogniser (`mrz_ocrb_cells.onnx`) on cells cut by the reader itself.

Data: `cargo run --release -p vision --example mrz_cells -- COUNT SEED OUT.bin` runs frames from
`datasets-synthetic` through the reader as the service runs it and writes every character cell
it cut, labelled from the frame's label (see that example for the record format and for which
lines are kept). So the network learns the cells the reader really produces: their blur, their
placement jitter, cap heights a little off, JPEG and glare, not idealised glyphs.

With `documents` the same example cuts cells from flat document renders at many resolutions
(scan-like), which is how specimen images look.

The generator has one look; real documents have others (print wear, other OCR-B cuts, security
backgrounds). Training therefore adds its own perturbations on top (contrast, gamma, noise,
defocus, bolder and thinner strokes, cells placed and sized a little off, thin wavy lines behind
the ink, erased patches standing in for glare and specks) and the evaluation seeds are never
trained on.

    python3 models/mrz-ocrb/train.py --out models/mrz-ocrb/mrz_ocrb_cells.onnx \
        --val VAL.bin [--val VAL2.bin] TRAIN.bin [TRAIN.bin ...]

Input `cells` [N, 1, 22, 24]: ink darkness 0..1 (0 = paper), the cap on rows 3..19, the cell
centred; output `logits` [N, 37] over `0-9A-Z<`.
"""
import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

H, W = 22, 24
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"


def load(paths):
    data = np.concatenate([np.fromfile(p, dtype=np.uint8) for p in paths]).reshape(-1, 1 + H * W)
    labels = torch.from_numpy(data[:, 0].astype(np.int64))
    cells = torch.from_numpy(data[:, 1:].reshape(-1, 1, H, W).copy())
    return cells, labels


class CellNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1)
        self.b1 = nn.BatchNorm2d(16)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1)
        self.b2 = nn.BatchNorm2d(32)
        self.c3 = nn.Conv2d(32, 64, 3, padding=1)
        self.b3 = nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(64 * 5 * 6, 128)
        self.drop = nn.Dropout(0.2)
        self.fc2 = nn.Linear(128, len(ALPHABET))

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.b1(self.c1(x))), 2)  # 11 x 12
        x = F.max_pool2d(F.relu(self.b2(self.c2(x))), 2)  # 5 x 6
        x = F.relu(self.b3(self.c3(x)))
        x = self.drop(F.relu(self.fc1(x.flatten(1))))
        return self.fc2(x)


def gaussian_kernel(sigma):
    r = max(1, math.ceil(2.5 * sigma))
    k = torch.exp(-torch.arange(-r, r + 1, dtype=torch.float32) ** 2 / (2 * sigma * sigma))
    return k / k.sum(), r


def augment(x, gen):
    """Perturbations the generator does not make, per sample; x is float 0..1 [B, 1, H, W]."""
    b = x.shape[0]
    u = lambda *shape: torch.rand(*shape, generator=gen)
    # Defocus on a quarter of the cells.
    blur = u(b) < 0.25
    if blur.any():
        sigma = float(0.5 + 0.9 * u(1))
        k, r = gaussian_kernel(sigma)
        xb = x[blur]
        xb = F.conv2d(F.pad(xb, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
        xb = F.conv2d(F.pad(xb, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1))
        x[blur] = xb
    # Heavier and lighter print than the generator's (toner spread, worn or thin laser print):
    # grey dilation or erosion, blended in part.
    bold = u(b) < 0.2
    if bold.any():
        xb = x[bold]
        thick = F.max_pool2d(xb, 3, stride=1, padding=1)
        x[bold] = xb + (thick - xb) * (0.2 + 0.5 * u(int(bold.sum()), 1, 1, 1))
    thin = u(b) < 0.15
    if thin.any():
        xt = x[thin]
        eroded = -F.max_pool2d(-xt, (1, 2), stride=1, padding=0)
        eroded = F.pad(eroded, (0, 1, 0, 0), mode="replicate")
        x[thin] = xt + (eroded - xt) * (0.3 + 0.5 * u(int(thin.sum()), 1, 1, 1))
    # Placement and size off by a little (a cap band or pitch measured a few per cent wrong).
    place = u(b) < 0.4
    if place.any():
        k = int(place.sum())
        theta = torch.zeros(k, 2, 3)
        theta[:, 0, 0] = 1.0 + (u(k) - 0.5) * 0.16
        theta[:, 1, 1] = 1.0 + (u(k) - 0.5) * 0.16
        theta[:, 0, 1] = (u(k) - 0.5) * 0.1
        theta[:, 0, 2] = (u(k) - 0.5) * 2.0 * 1.5 / (W / 2)
        theta[:, 1, 2] = (u(k) - 0.5) * 2.0 * 1.5 / (H / 2)
        grid = F.affine_grid(theta, [k, 1, H, W], align_corners=False)
        x[place] = F.grid_sample(x[place], grid, padding_mode="zeros", align_corners=False)
    # Security print behind the characters: thin wavy lines (guilloches) under the ink.
    guil = u(b) < 0.3
    if guil.any():
        k = int(guil.sum())
        yy = torch.arange(H, dtype=torch.float32).view(1, H, 1)
        xx = torch.arange(W, dtype=torch.float32).view(1, 1, W)
        angle = u(k, 1, 1) * math.pi
        freq = 0.25 + 0.5 * u(k, 1, 1)
        wave = 1.5 * u(k, 1, 1) * torch.sin(0.3 * u(k, 1, 1) * (xx + yy) + 6.3 * u(k, 1, 1))
        phase = (torch.cos(angle) * xx + torch.sin(angle) * yy + wave) * freq + 6.3 * u(k, 1, 1)
        lines = ((torch.cos(phase) - 0.8) / 0.2).clamp(0, 1)
        strength = 0.15 + 0.35 * u(k, 1, 1)
        x[guil] = torch.maximum(x[guil], (lines * strength).unsqueeze(1))
    # Contrast and gamma: faint, heavy and unevenly normalised print.
    gain = (0.55 + 0.6 * u(b, 1, 1, 1))
    gamma = torch.exp((u(b, 1, 1, 1) - 0.5) * 0.8)
    x = (x.clamp(0, 1) ** gamma) * gain + (u(b, 1, 1, 1) - 0.5) * 0.15
    # Erased patches (glare) and specks (dust, background print).
    erase = u(b) < 0.15
    for i in torch.nonzero(erase).flatten().tolist():
        h, w = 3 + int(u(1) * 8), 3 + int(u(1) * 8)
        y0, x0 = int(u(1) * (H - h)), int(u(1) * (W - w))
        x[i, :, y0:y0 + h, x0:x0 + w] *= float(0.2 * u(1))
    noise = 0.08 * u(b, 1, 1, 1)
    x = x + torch.randn(x.shape, generator=gen) * noise
    return x.clamp(0, 1)


def evaluate(model, cells, labels):
    model.eval()
    correct, worst = 0, {}
    with torch.no_grad():
        for i in range(0, len(labels), 4096):
            x = cells[i:i + 4096].float() / 255.0
            pred = model(x).argmax(1)
            y = labels[i:i + 4096]
            correct += int((pred == y).sum())
            for t, p in zip(y[pred != y].tolist(), pred[pred != y].tolist()):
                key = f"{ALPHABET[t]}>{ALPHABET[p]}"
                worst[key] = worst.get(key, 0) + 1
    model.train()
    return correct / max(1, len(labels)), dict(sorted(worst.items(), key=lambda kv: -kv[1])[:12])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train", nargs="+")
    ap.add_argument("--val", required=True, action="append", help="validation set; may be repeated")
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    cells, labels = load(args.train)
    vals = [(v, *load([v])) for v in args.val]
    print(f"train {len(labels)} cells, val {[len(vl) for _, _, vl in vals]} cells", flush=True)

    model = CellNet()
    steps = args.epochs * math.ceil(len(labels) / args.batch)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.15)
    start = time.time()
    for epoch in range(args.epochs):
        order = torch.randperm(len(labels), generator=gen)
        total, n = 0.0, 0
        for i in range(0, len(order), args.batch):
            idx = order[i:i + args.batch]
            x = augment(cells[idx].float() / 255.0, gen)
            loss = F.cross_entropy(model(x), labels[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss) * len(idx)
            n += len(idx)
        print(f"epoch {epoch + 1}: loss {total / n:.4f}, {time.time() - start:.0f} s", flush=True)
        for name, vcells, vlabels in vals:
            acc, worst = evaluate(model, vcells, vlabels)
            print(f"  {name}: accuracy {acc:.5f}, confusions {worst}", flush=True)

    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, H, W), args.out, input_names=["cells"], output_names=["logits"],
                      dynamic_axes={"cells": {0: "n"}, "logits": {0: "n"}}, opset_version=17)
    report = {"train_cells": len(labels), "epochs": args.epochs, "seed": args.seed,
              "seconds": round(time.time() - start), "val": {}}
    for name, vcells, vlabels in vals:
        acc, worst = evaluate(model, vcells, vlabels)
        report["val"][name] = {"cells": len(vlabels), "accuracy": acc, "confusions": worst}
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
