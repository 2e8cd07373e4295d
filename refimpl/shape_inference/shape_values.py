"""Partial constant propagation of small tensors that hold shapes.

Shape outputs, constant vectors and what Gather/Slice/Concat/arithmetic make of them are tracked
element by element (`Sym`, symbols included), so that Reshape(x, Concat(Shape(x)[0:1], [-1]))
infers. `fold_node` evaluates a node whose inputs are all small known tensors; `elementwise_syms`
applies a dim operation element by element to tracked inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..dtypes import to_numpy
from ..ir import Node
from .scope import SYM_LIMIT, Scope, out_name
from .symbolic import Elem, is_num


def _slice_array(x: np.ndarray, starts: Any, ends: Any, axes: Any = None, steps: Any = None) -> Any:
    axes = list(range(len(starts))) if axes is None else list(axes)
    steps = [1] * len(starts) if steps is None else list(steps)
    index = [slice(None)] * x.ndim
    for a, b, e, st in zip(axes, starts, ends, steps):
        index[int(a)] = slice(int(b), int(e), int(st))
    return x[tuple(index)]


def _int_divide(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if x.dtype.kind in "iu":
        return (np.sign(x) * np.sign(y) * (np.abs(x) // np.abs(y))).astype(x.dtype)
    return x / y


def _SHAPE_ONLY(*args: Any) -> None:
    """Marks ops whose folded value follows from the input and the inferred output shape."""


FOLDERS: dict[str, Callable[..., Any]] = {
    "Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": _int_divide, "Mod": np.mod,
    "Neg": np.negative, "Abs": np.abs, "Max": np.maximum, "Min": np.minimum,
    "Equal": np.equal, "Less": np.less, "Greater": np.greater, "Not": np.logical_not,
    "And": np.logical_and, "Or": np.logical_or, "Where": np.where,
    "Floor": np.floor, "Ceil": np.ceil, "Sqrt": np.sqrt,
    "Concat": lambda *xs, axis: np.concatenate(xs, axis=axis),
    "Gather": lambda x, i, axis=0: np.take(x, i, axis=axis),
    "Transpose": lambda x, perm=None: np.transpose(x, perm),
    "Tile": lambda x, reps: np.tile(x, reps),
    "Slice": _slice_array,
    "Range": lambda start, limit, delta: np.arange(start, limit, delta, dtype=start.dtype),
    # shape-only ops: the inferred output shape says everything
    "Reshape": _SHAPE_ONLY, "Squeeze": _SHAPE_ONLY, "Unsqueeze": _SHAPE_ONLY,
    "Flatten": _SHAPE_ONLY, "Identity": _SHAPE_ONLY, "Cast": _SHAPE_ONLY, "CastLike": _SHAPE_ONLY,
    "Expand": _SHAPE_ONLY, "ConstantOfShape": _SHAPE_ONLY,
}  # fmt: skip
_FOLD_ATTRS = {"Concat": ("axis",), "Gather": ("axis",), "Transpose": ("perm",)}


def fold_node(s: Scope, n: Node) -> None:
    """Evaluates a node whose inputs are all small known tensors (shape arithmetic, pads...)."""
    out = s.values.get(out_name(n))
    if out is None or out.shape is None or not all(is_num(d) for d in out.shape) or not out.dtype:
        return
    if out.dtype == "string" or math.prod(out.shape) > SYM_LIMIT or len(n.outputs) != 1:  # type: ignore
        return
    args: list[Any] = [s.array(i) if i else None for i in n.inputs]
    if any(a is None or a.size > SYM_LIMIT for a, i in zip(args, n.inputs) if i):
        return
    if n.op_type == "Slice" and "starts" in n.attrs:
        return
    folder = FOLDERS[n.op_type]
    shape = tuple(int(d) for d in out.shape)  # type: ignore[arg-type]
    value: np.ndarray | None
    if n.op_type == "ConstantOfShape":
        fill = np.asarray(n.attrs.get("value", np.zeros(1, np.float32))).reshape(-1)[:1]
        value = np.full(shape, fill[0] if fill.size else 0, dtype=fill.dtype)
    elif n.op_type == "Expand":
        value = np.broadcast_to(args[0], shape)
    elif folder is _SHAPE_ONLY:
        value = args[0].reshape(shape) if args[0].size == math.prod(shape) else None
    else:
        kwargs = {k: n.attrs[k] for k in _FOLD_ATTRS.get(n.op_type, ()) if k in n.attrs}
        given = [a for a in args if a is not None] if n.op_type != "Slice" else args
        value = np.asarray(folder(*given, **kwargs))
    if value is None or tuple(value.shape) != shape:
        return
    s.consts[out_name(n)] = np.array(value, dtype=to_numpy(out.dtype))
    s.syms.pop(out_name(n), None)


def elementwise_syms(s: Scope, n: Node, fn: Callable[..., Elem], dtype: str | None) -> None:
    syms = [s.sym(i) for i in n.inputs if i]
    if not syms or any(sym is None for sym in syms):
        return
    lengths = {len(sym.elems) for sym in syms if sym is not None and len(sym.elems) != 1}
    if len(lengths) > 1:
        return
    size = lengths.pop() if lengths else 1
    rows = [sym.elems * size if len(sym.elems) == 1 else sym.elems for sym in syms if sym]
    out = [fn(*args) for args in zip(*rows)]
    s.set_sym(out_name(n), dtype, out, all(sym.scalar for sym in syms if sym))
