"""TFLite UNIQUE and BUCKETIZE as ONNX ops.

- UNIQUE (unique.cc): a 1-D input's distinct values in order of first occurrence, and for each
  input element the index of its value there (int32 or int64, `idx_out_type`): ONNX Unique with
  sorted=0 (Y and inverse_indices), the indices cast.
- BUCKETIZE (bucketize.cc): for each element the number of (sorted, float32) boundaries b with
  !(x < b), i.e. std::upper_bound's index, as int32. The comparison is C++'s: an int32 / int64
  input is converted to float32, a float64 one compares with the boundaries widened; a NaN is
  past every boundary. Unsqueeze(x, -1), Less against the boundaries, Not, Cast to int32,
  ReduceSum over the boundaries.
"""

from __future__ import annotations

import numpy as np

from ...refimpl.dtypes import ONNX_TYPE_CODES
from .context import Context, Converter, Unsupported, arity
from .reader import Operator

_ONNX_CODE = {name: code for code, name in ONNX_TYPE_CODES.items()}


def unique(ctx: Context, op: Operator) -> None:
    x, y, idx = op.inputs[0], op.outputs[0], op.outputs[1]
    if len(ctx.tensor(x).shape) != 1:
        raise Unsupported(f"a rank-{len(ctx.tensor(x).shape)} input (TFLite's UNIQUE is 1-D)")
    out_type = ctx.tensor(idx).dtype
    if out_type not in ("int32", "int64"):
        raise Unsupported(f"{out_type} indices")
    label = f"unique_{op.index}"
    first, inverse, counts = (ctx.fresh(f"{label}_{what}") for what in ("first", "inv", "counts"))
    ctx.emit("Unique", [ctx.name(x)], [ctx.names[y], first, inverse, counts], sorted=0)
    ctx.emit("Cast", [inverse], [ctx.names[idx]], to=_ONNX_CODE[out_type])


def bucketize(ctx: Context, op: Operator) -> None:
    x = op.inputs[0]
    dtype = ctx.tensor(x).dtype
    if dtype not in ("float32", "float64", "int32", "int64"):
        raise Unsupported(f"a {dtype} input (LiteRT takes float32/64, int32/64)")
    bounds = np.asarray(op.options.get("boundaries") or [], np.float32).reshape(-1)
    if np.any(bounds[1:] < bounds[:-1]) or np.any(np.isnan(bounds)):
        raise Unsupported("boundaries that are not sorted (LiteRT refuses them)")
    value = ctx.name(x)
    if dtype in ("int32", "int64"):
        value = ctx.emit("Cast", [value], to=_ONNX_CODE["float32"])
    compare = bounds.astype(np.float64 if dtype == "float64" else np.float32)
    column = ctx.emit("Unsqueeze", [value, ctx.int64s([-1])])
    below = ctx.emit("Less", [column, ctx.add_const("boundaries", compare)])
    past = ctx.emit("Cast", [ctx.emit("Not", [below])], to=_ONNX_CODE["int32"])
    ctx.emit("ReduceSum", [past, ctx.int64s([-1])], [ctx.names[op.outputs[0]]], keepdims=0)


CONVERTERS: dict[str, Converter] = {
    "UNIQUE": arity(1, outputs=2)(unique),
    "BUCKETIZE": arity(1)(bucketize),
}
