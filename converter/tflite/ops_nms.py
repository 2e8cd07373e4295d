"""NON_MAX_SUPPRESSION_V4 / V5 (lite/kernels/non_max_suppression.cc) as ONNX NonMaxSuppression.

TFLite takes boxes [N, 4] (y1, x1, y2, x2: any two opposite corners), scores [N] and scalars
max_output_size, iou_threshold, score_threshold (V5: soft_nms_sigma); it keeps boxes scoring
above score_threshold, greedily by descending score, dropping those whose IoU with a kept box
reaches iou_threshold. The outputs have max_output_size entries: the kept indices (int32; V5
also their scores), padded with zeros, and the count of valid ones (int32 scalar). ONNX
NonMaxSuppression (batch and class dims of 1, center_point_box 0) selects the same boxes except
for an IoU exactly equal to the threshold (ONNX drops IoU > threshold) and ties in score, which
the two order differently. Soft NMS (V5 with sigma > 0) rescales scores instead of dropping
boxes: not mapped.
"""

from __future__ import annotations

import numpy as np

from .context import Context, Converter, Unsupported, arity
from .reader import Operator

INT32, INT64 = 6, 7


def _scalar(ctx: Context, index: int, dtype: str) -> str:
    """A scalar input as a 1-element tensor of `dtype` (float32 or int64)."""
    name = ctx.emit("Reshape", [ctx.name(index), ctx.int64s([1])])
    if ctx.tensor(index).dtype != dtype:
        name = ctx.emit("Cast", [name], to=INT64 if dtype == "int64" else 1)
    return name


def _non_max_suppression(v5: bool) -> Converter:
    def convert(ctx: Context, op: Operator) -> None:
        boxes, scores = op.inputs[0], op.inputs[1]
        if ctx.tensor(boxes).dtype != "float32" or ctx.tensor(scores).dtype != "float32":
            raise Unsupported("only float32 boxes and scores are imported")
        if v5:
            sigma = np.asarray(ctx.const(op.inputs[5], "soft_nms_sigma")).reshape(-1)
            if sigma.size != 1 or float(sigma[0]) != 0.0:
                raise Unsupported(f"soft NMS (soft_nms_sigma {sigma.tolist()}) is not mapped")
        limit = _scalar(ctx, op.inputs[2], "int64")
        inputs = [
            ctx.emit("Unsqueeze", [ctx.name(boxes), ctx.int64s([0])]),  # [1, N, 4]
            ctx.emit("Reshape", [ctx.name(scores), ctx.int64s([1, 1, -1])]),  # [1, 1, N]
            limit,
            _scalar(ctx, op.inputs[3], "float32"),
            _scalar(ctx, op.inputs[4], "float32"),
        ]
        rows = ctx.emit("NonMaxSuppression", inputs, center_point_box=0)  # [K, 3]
        chosen = ctx.emit("Gather", [rows, ctx.add_const("box_column", np.array(2, np.int64))],
                          axis=1)  # fmt: skip
        count = ctx.emit("Shape", [chosen])  # [K]
        pads = ctx.emit("Concat", [ctx.int64s([0]), ctx.emit("Sub", [limit, count])], axis=0)
        outs = [ctx.names[o] for o in op.outputs]
        index = ctx.emit("Cast", [chosen], to=INT32)
        ctx.emit("Pad", [index, pads], [outs[0]])
        if v5:
            picked = ctx.emit("Gather", [ctx.name(scores), chosen], axis=0)
            ctx.emit("Pad", [picked, pads], [outs[1]])
        valid = ctx.emit("Reshape", [count, ctx.int64s([])])
        ctx.emit("Cast", [valid], [outs[-1]], to=INT32)

    return convert


CONVERTERS: dict[str, Converter] = {
    "NON_MAX_SUPPRESSION_V4": arity(5, 2)(_non_max_suppression(False)),
    "NON_MAX_SUPPRESSION_V5": arity(6, 3)(_non_max_suppression(True)),
}
