"""Rules for shape manipulation: Reshape, Transpose, Concat, Split, Slice, Gather*, Squeeze,
Unsqueeze, Flatten, Expand, Tile, Pad, CenterCropPad, DepthToSpace/SpaceToDepth.
"""

from __future__ import annotations

from typing import Any

from ..ir import Dim, Node
from .scope import Rule, Scope, axes_of, in_name, norm_axis, out_name, rule_table
from .symbolic import (
    Elem,
    broadcast_shapes,
    dim_add,
    dim_ceildiv,
    dim_floordiv,
    dim_mul,
    dim_sub,
    dims_product,
    divide_exact,
    is_num,
    merge_dim,
)

RULES: dict[str, Rule] = {}
rule = rule_table(RULES)
_END = 2**31  # a Slice bound at or beyond this means "to the end"


@rule("Reshape")
def _reshape(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    target = s.sym(in_name(n, 1))
    if target is None:
        s.set(out_name(n), x.dtype, s.shape_held(in_name(n, 1)))
        return
    allowzero = n.attrs.get("allowzero", 0)
    dims: list[Dim] = []
    for i, d in enumerate(target.elems):
        if d == 0 and not allowzero:
            d = x.shape[i] if x.shape is not None and i < len(x.shape) else None
        dims.append(d)
    if -1 in dims:
        at = dims.index(-1)
        rest = [d for i, d in enumerate(dims) if i != at]
        total = dims_product(x.shape) if x.shape is not None else None
        dims[at] = divide_exact(total, dims_product(rest)) if total is not None else None
    s.set(out_name(n), x.dtype, tuple(dims))
    sym = s.sym(in_name(n, 0))
    if sym is not None and len(dims) <= 1:
        s.set_sym(out_name(n), x.dtype, sym.elems, len(dims) == 0)


@rule("Transpose")
def _transpose(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    perm = n.attrs.get("perm")
    if x.shape is None:
        s.set(out_name(n), x.dtype, (None,) * len(perm) if perm else None)
        return
    perm = perm or list(range(len(x.shape)))[::-1]
    s.set(out_name(n), x.dtype, tuple(x.shape[p] for p in perm))


@rule("Concat")
def concat(s: Scope, n: Node) -> None:
    values = [s.value(i) for i in n.inputs if i]
    dtype = next((v.dtype for v in values if v.dtype), None)
    shapes = [v.shape for v in values]
    known = [sh for sh in shapes if sh is not None]
    if not known:
        s.set(out_name(n), dtype, None)
        return
    rank = len(known[0])
    axis = norm_axis(n.attrs.get("axis", 0), rank)
    if axis is None or any(len(sh) != rank for sh in known):
        s.set(out_name(n), dtype, None)
        return
    out: list[Dim] = []
    for i in range(rank):
        if i == axis:
            total: Dim = 0
            for sh in shapes:
                total = dim_add(total, sh[i] if sh is not None else None)
            out.append(total)
        else:
            d = known[0][i]
            for sh in known[1:]:
                d = merge_dim(d, sh[i])
            out.append(d)
    s.set(out_name(n), dtype, tuple(out))
    syms = [s.sym(i) for i in n.inputs if i]
    if rank == 1 and all(sym is not None for sym in syms):
        s.set_sym(out_name(n), dtype, [e for sym in syms if sym for e in sym.elems], False)


@rule("Split")
def _split(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    outs = [o for o in n.outputs]
    if x.shape is None:
        for o in outs:
            s.set(o, x.dtype, None)
        return
    axis = norm_axis(n.attrs.get("axis", 0), len(x.shape))
    sizes: list[Any] | None = n.attrs.get("split") or (
        s.ints(in_name(n, 1)) if in_name(n, 1) else None
    )
    dim: Any = x.shape[axis] if axis is not None else None
    if sizes is None and "num_outputs" in n.attrs and is_num(dim):
        chunk = -(-int(dim) // int(n.attrs["num_outputs"]))
        sizes = [chunk] * (len(outs) - 1) + [int(dim) - chunk * (len(outs) - 1)]
    elif sizes is None:
        exact = divide_exact(dim, len(outs))
        sizes = [exact if exact is not None else dim_floordiv(dim, len(outs))] * len(outs)
    for i, o in enumerate(outs):
        shape = list(x.shape)
        if axis is not None:
            shape[axis] = sizes[i] if i < len(sizes) else None
        s.set(o, x.dtype, tuple(shape))


def _slice_len(dim: Elem, start: Elem, end: Elem, step: Elem) -> Dim:
    """Length of dim[start:end:step] with ONNX clamping; a symbolic bound is taken as in range."""
    if not is_num(step) or step == 0:
        return None
    if is_num(dim) and is_num(start) and is_num(end):
        return len(range(*slice(int(start), int(end), int(step)).indices(int(dim))))
    if step < 0 or start is None or end is None:
        return None
    if is_num(end) and end >= _END:
        end = dim
    elif is_num(end) and end < 0:
        end = dim_add(dim, end)
    if is_num(start) and start < 0:
        start = dim_add(dim, start)
    if is_num(start) and is_num(end) and not is_num(dim):
        return max(int(end) - int(start), 0) if end >= 0 and start >= 0 and step == 1 else None
    return dim_ceildiv(dim_sub(end, start), step)


@rule("Slice")
def _slice(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    if "starts" in n.attrs:  # opset < 10
        starts, ends = n.attrs.get("starts"), n.attrs.get("ends")
        axes, steps = n.attrs.get("axes"), None
    else:
        first, last = s.sym(in_name(n, 1)), s.sym(in_name(n, 2))
        starts = first.elems if first is not None else None
        ends = last.elems if last is not None else None
        axes = s.ints(in_name(n, 3)) if in_name(n, 3) else None
        steps = s.ints(in_name(n, 4)) if in_name(n, 4) else None
        if (in_name(n, 3) and axes is None) or (in_name(n, 4) and steps is None):
            starts = None
    if x.shape is None:
        s.set(out_name(n), x.dtype, None)
        return
    if starts is None or ends is None:
        s.set(out_name(n), x.dtype, (None,) * len(x.shape))
        return
    axes = axes or list(range(len(starts)))
    steps = steps or [1] * len(starts)
    shape = list(x.shape)
    for a, b, e, st in zip(axes, starts, ends, steps):
        ax = norm_axis(a, len(shape))
        if ax is not None:
            shape[ax] = _slice_len(shape[ax], b, e, st)
    s.set(out_name(n), x.dtype, tuple(shape))
    sym = s.sym(in_name(n, 0))
    bounds = (starts[:1], ends[:1], steps[:1])
    if sym is None or sym.scalar or len(axes) != 1 or norm_axis(axes[0], 1) != 0:
        return
    if all(len(b) == 1 and is_num(b[0]) for b in bounds):
        picked = sym.elems[slice(int(starts[0]), int(ends[0]), int(steps[0]))]
        s.set_sym(out_name(n), x.dtype, picked, False)


@rule("Gather")
def _gather(s: Scope, n: Node) -> None:
    x, idx = s.value(in_name(n, 0)), s.value(in_name(n, 1))
    if x.shape is None or idx.shape is None:
        s.set(out_name(n), x.dtype, None)
        return
    axis = norm_axis(n.attrs.get("axis", 0), len(x.shape))
    if axis is None:
        s.set(out_name(n), x.dtype, None)
        return
    s.set(out_name(n), x.dtype, x.shape[:axis] + idx.shape + x.shape[axis + 1 :])
    sym, picks = s.sym(in_name(n, 0)), s.ints(in_name(n, 1))
    if sym is not None and not sym.scalar and picks is not None and len(idx.shape) <= 1:
        size = len(sym.elems)
        if all(-size <= p < size for p in picks):
            s.set_sym(out_name(n), x.dtype, [sym.elems[p] for p in picks], len(idx.shape) == 0)


@rule("GatherElements")
def _gather_elements(s: Scope, n: Node) -> None:
    s.set(out_name(n), s.dtype(in_name(n, 0)), s.shape(in_name(n, 1)))


@rule("GatherND")
def _gather_nd(s: Scope, n: Node) -> None:
    x, idx = s.value(in_name(n, 0)), s.value(in_name(n, 1))
    b = n.attrs.get("batch_dims", 0)
    if x.shape is None or idx.shape is None or not idx.shape or not is_num(idx.shape[-1]):
        s.set(out_name(n), x.dtype, None)
        return
    s.set(out_name(n), x.dtype, idx.shape[:-1] + x.shape[b + int(idx.shape[-1]) :])  # type: ignore


@rule("Squeeze")
def _squeeze(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    axes, given = axes_of(s, n, 1)
    sym = s.sym(in_name(n, 0))
    if x.shape is None or (given and axes is None):
        s.set(out_name(n), x.dtype, None)
        return
    if given and axes:
        drop = {norm_axis(a, len(x.shape)) for a in axes}
    elif all(is_num(d) for d in x.shape):
        drop = {i for i, d in enumerate(x.shape) if d == 1}
    else:
        s.set(out_name(n), x.dtype, None)
        return
    s.set(out_name(n), x.dtype, tuple(d for i, d in enumerate(x.shape) if i not in drop))
    if sym is not None and len(sym.elems) == 1 and drop == {0}:
        s.set_sym(out_name(n), x.dtype, sym.elems, True)


@rule("Unsqueeze")
def _unsqueeze(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    axes, _ = axes_of(s, n, 1)
    if x.shape is None or axes is None:
        s.set(out_name(n), x.dtype, None)
        return
    rank = len(x.shape) + len(axes)
    where = {norm_axis(a, rank) for a in axes}
    rest = iter(x.shape)
    s.set(out_name(n), x.dtype, tuple(1 if i in where else next(rest) for i in range(rank)))
    sym = s.sym(in_name(n, 0))
    if sym is not None and sym.scalar and rank == 1:
        s.set_sym(out_name(n), x.dtype, sym.elems, False)


@rule("Flatten")
def _flatten(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    if x.shape is None:
        s.set(out_name(n), x.dtype, (None, None))
        return
    axis = n.attrs.get("axis", 1)
    axis = axis + len(x.shape) if axis < 0 else axis
    s.set(out_name(n), x.dtype, (dims_product(x.shape[:axis]), dims_product(x.shape[axis:])))


@rule("Expand")
def _expand(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    s.set(out_name(n), x.dtype, broadcast_shapes(x.shape, s.shape_held(in_name(n, 1))))


@rule("Tile")
def _tile(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    reps = s.sym(in_name(n, 1))
    if x.shape is None:
        s.set(out_name(n), x.dtype, None)
    elif reps is None or len(reps.elems) != len(x.shape):
        s.set(out_name(n), x.dtype, (None,) * len(x.shape))
    else:
        s.set(out_name(n), x.dtype, tuple(dim_mul(d, r) for d, r in zip(x.shape, reps.elems)))


@rule("Pad")
def _pad(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    pads = n.attrs.get("pads") if "pads" in n.attrs else s.ints(in_name(n, 1))
    if x.shape is None:
        s.set(out_name(n), x.dtype, None)
        return
    rank = len(x.shape)
    axes = s.ints(in_name(n, 3)) if in_name(n, 3) else list(range(rank))
    if pads is None or axes is None or len(pads) != 2 * len(axes):
        s.set(out_name(n), x.dtype, (None,) * rank)
        return
    shape = list(x.shape)
    for i, a in enumerate(axes):
        ax = norm_axis(a, rank)
        if ax is not None:
            shape[ax] = dim_add(shape[ax], pads[i] + pads[i + len(axes)])
    s.set(out_name(n), x.dtype, tuple(shape))


@rule("CenterCropPad")
def _center_crop_pad(s: Scope, n: Node) -> None:
    x, sizes = s.value(in_name(n, 0)), s.sym(in_name(n, 1))
    if x.shape is None or sizes is None:
        s.set(out_name(n), x.dtype, None if x.shape is None else (None,) * len(x.shape))
        return
    axes = n.attrs.get("axes") or list(range(len(x.shape)))
    shape = list(x.shape)
    for a, size in zip(axes, sizes.elems):
        if (ax := norm_axis(a, len(shape))) is not None:
            shape[ax] = size
    s.set(out_name(n), x.dtype, tuple(shape))


@rule("DepthToSpace", "SpaceToDepth")
def _depth_space(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    b = n.attrs.get("blocksize")
    if x.shape is None or len(x.shape) != 4 or not b:
        s.set(out_name(n), x.dtype, None if x.shape is None else (None,) * len(x.shape))
        return
    nb, c, h, w = x.shape
    if n.op_type == "DepthToSpace":
        shape = (nb, dim_floordiv(c, b * b), dim_mul(h, b), dim_mul(w, b))
    else:
        shape = (nb, dim_mul(c, b * b), dim_floordiv(h, b), dim_floordiv(w, b))
    s.set(out_name(n), x.dtype, shape)
