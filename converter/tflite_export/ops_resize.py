"""ONNX Resize / Upsample of NCHW images -> TFLite RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR on
NHWC. TFLite knows three coordinate rules (asymmetric, align_corners, half_pixel_centers) and
its own nearest rounding, so the exporter checks that TFLite picks exactly the source pixels
ONNX does for these sizes (nearest: every output index compared; linear: the modes that are the
same formula) and refuses the rest."""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Node
from .context import NHWC, ExportContext, Refused

# (align_corners, half_pixel_centers) in the order tried
CANDIDATES = ((False, False), (False, True), (True, False))


def onnx_nearest(out: int, size: int, scale: float, node: Node) -> np.ndarray:
    """The source index of every output index, as ONNX Resize (nearest) computes it."""
    o = np.arange(out, dtype=np.float64)
    mode = str(node.attrs.get("coordinate_transformation_mode", "half_pixel"))
    if mode == "asymmetric":
        v = o / scale
    elif mode == "align_corners":
        v = o * (size - 1) / (out - 1) if out > 1 else np.zeros_like(o)
    elif mode == "half_pixel":
        v = (o + 0.5) / scale - 0.5
    elif mode == "pytorch_half_pixel":
        v = (o + 0.5) / scale - 0.5 if out > 1 else np.zeros_like(o)
    elif mode == "tf_half_pixel_for_nn":
        v = (o + 0.5) / scale
    else:
        raise Refused(f"coordinate_transformation_mode {mode!r}")
    rounding = str(node.attrs.get("nearest_mode", "round_prefer_floor"))
    pick = {
        "round_prefer_floor": lambda t: np.ceil(t - 0.5),
        "round_prefer_ceil": lambda t: np.floor(t + 0.5),
        "floor": np.floor,
        "ceil": np.ceil,
    }
    if rounding not in pick:
        raise Refused(f"nearest_mode {rounding!r}")
    return np.clip(pick[rounding](v), 0, size - 1).astype(np.int64)


def tflite_nearest(out: int, size: int, align: bool, half: bool) -> np.ndarray:
    """reference_ops::ResizeNearestNeighbor's source indices (float32 arithmetic)."""
    scale = np.float32((size - 1) / (out - 1)) if align and out > 1 else np.float32(size / out)
    o = np.arange(out, dtype=np.float32) + np.float32(0.5 if half else 0.0)
    v = o * scale
    idx = np.sign(v) * np.floor(np.abs(v) + 0.5) if align else np.floor(v)
    idx = np.minimum(idx.astype(np.int64), size - 1)
    return np.maximum(idx, 0) if half else idx


def _scales(ctx: ExportContext, node: Node, in_hw, out_hw) -> list[float]:
    """The scales ONNX's coordinate rule uses: the given ones, else out / in."""
    index = 1 if node.op_type == "Upsample" else 2
    name = node.inputs[index] if len(node.inputs) > index else ""
    if name and ctx.is_const(name) and ctx.const(name).size:
        s = ctx.const(name).astype(np.float64).reshape(-1)
        if len(s) != 4 or s[0] != 1 or s[1] != 1:
            raise Refused(f"scales {list(s)} (only height and width may be resized)")
        return [float(s[2]), float(s[3])]
    return [out_hw[i] / in_hw[i] for i in range(2)]


def resize(ctx: ExportContext, node: Node) -> None:
    if node.op_type == "Upsample":  # opset 7-9: asymmetric coordinates, floor
        rule = {"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}
        node = Node(node.op_type, node.inputs, node.outputs, {**node.attrs, **rule}, node.name)
    x, y = node.inputs[0], node.outputs[0]
    shape, out_shape = ctx.static_shape(x), ctx.static_shape(y)
    if len(shape) != 4 or shape[:2] != out_shape[:2]:
        raise Refused("a resize of other dims than an NCHW image's height and width")
    in_hw, out_hw = shape[2:], out_shape[2:]
    scales = _scales(ctx, node, in_hw, out_hw)
    mode = str(node.attrs.get("mode", "nearest"))
    if node.attrs.get("antialias", 0):
        raise Refused("antialias")
    if mode == "nearest":
        want = [onnx_nearest(out_hw[i], in_hw[i], scales[i], node) for i in range(2)]
        for align, half in CANDIDATES:
            got = [tflite_nearest(out_hw[i], in_hw[i], align, half) for i in range(2)]
            if all(np.array_equal(a, b) for a, b in zip(want, got)):
                break
        else:
            raise Refused("no TFLite nearest-neighbour rule picks the pixels ONNX picks here")
        code, kind = "RESIZE_NEAREST_NEIGHBOR", "ResizeNearestNeighborOptions"
    elif mode == "linear":
        ctm = str(node.attrs.get("coordinate_transformation_mode", "half_pixel"))
        if any(abs(scales[i] - out_hw[i] / in_hw[i]) > 1e-6 * scales[i] for i in range(2)):
            raise Refused(f"scales {scales} that are not output / input sizes")
        if ctm == "pytorch_half_pixel" and min(out_hw) > 1:
            ctm = "half_pixel"
        rules = {"asymmetric": (False, False), "half_pixel": (False, True),
                 "align_corners": (True, False)}  # fmt: skip
        if ctm not in rules:
            raise Refused(f"linear resize with coordinate_transformation_mode {ctm!r}")
        align, half = rules[ctm]
        code, kind = "RESIZE_BILINEAR", "ResizeBilinearOptions"
    else:
        raise Refused(f"mode {mode!r} (TFLite resizes nearest or bilinear)")
    opts = (kind, {"align_corners": align, "half_pixel_centers": half})
    size = ctx.int32s(list(out_hw), "size")
    ctx.emit(code, [ctx.tensor(x, NHWC), size], [ctx.define(y, NHWC)], opts)


LOWERINGS = {("", "Resize"): resize, ("", "Upsample"): resize}
