"""Online fusion: chains of element-wise nodes become one generated kernel each, and a chain
whose only reader is a Softmax (the attention mask's Add) runs inside a generated Softmax.

Grouping (structure only, so `get_capability` can show it): walking the nodes backwards, an
element-wise node joins the group of its consumers when all of them are in one group and its
output is not needed outside the partition; such a group only lets its last node's value out, so
the intermediates stay in registers. Code generation (`emit_group`) happens per input-shape plan:
shapes are baked in, so broadcast indexing is constant arithmetic.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable

import numpy as np

from ..refimpl.ir import Node
from .builder import Builder, i32, row_major_strides
from .kernels import elementwise as ew


def elementwise_groups(
    nodes: list[Node], fusible: set[str], escaping: Iterable[str]
) -> list[list[Node]]:
    """Groups of fusible nodes (each in topological order); every fusible node is in one."""
    escape = set(escaping)
    consumers: dict[str, list[str]] = {}
    for node in nodes:
        for name in node.inputs:
            if name:
                consumers.setdefault(name, []).append(node.name)
    group_of: dict[str, str] = {}
    groups: dict[str, list[Node]] = {}
    for node in reversed(nodes):
        if node.name not in fusible:
            continue
        out = node.outputs[0]
        owners = {group_of.get(c) for c in consumers.get(out, [])}
        if out not in escape and len(owners) == 1 and None not in owners:
            root = owners.pop()
            assert root is not None
            group_of[node.name] = root
            groups[root].append(node)
        else:
            group_of[node.name] = node.name
            groups[node.name] = [node]
    order = {n.name: i for i, n in enumerate(nodes)}
    return sorted((g[::-1] for g in groups.values()), key=lambda g: order[g[-1].name])


def describe(groups: list[list[Node]]) -> str:
    """'Add+Relu, Mul+Sigmoid': the fused groups of more than one node."""
    return ", ".join("+".join(n.op_type for n in g) for g in groups if len(g) > 1)


def softmax_prologues(
    nodes: list[Node], groups: list[list[Node]], escaping: Iterable[str]
) -> dict[str, list[Node]]:
    """Softmax node -> the element-wise group computing its input (e.g. the attention mask's
    Add), where the Softmax is that value's only reader and it is not needed elsewhere: the group
    then runs inside the Softmax kernel instead of through a buffer."""
    escape = set(escaping)
    readers: dict[str, list[Node]] = {}
    for node in nodes:
        for name in node.inputs:
            if name:
                readers.setdefault(name, []).append(node)
    by_root = {g[-1].outputs[0]: g for g in groups}
    found: dict[str, list[Node]] = {}
    for node in nodes:
        if node.op_type != "Softmax" or node.domain not in ("", "ai.onnx"):
            continue
        x = node.inputs[0]
        if x in by_root and x not in escape and [r.name for r in readers[x]] == [node.name]:
            found[node.name] = by_root[x]
    return found


def emit_group(bld: Builder, group: list[Node], opset: int) -> None:
    """Generates the kernel for `group` at the current shapes and launches it: 8 elements a
    work-item in float8 when the output's rows are a multiple of 8 long (every operand is then
    either contiguous or one value across the 8), else one."""
    root = group[-1]
    shape = bld.shape(root.outputs[0])
    total = math.prod(shape)
    vector = bool(shape) and shape[-1] % 8 == 0 and total > 0
    params, args, body, result = _expression(bld, group, opset, vector)
    sig = ", ".join(["__global data_t* restrict y", *params, "const int total"])
    if vector:
        head = "  const int i = get_global_id(0) * 8;\n  if (i >= total) return;\n"
        text = f"({sig}) {{\n{head}  {body}\n  ST8({result}, y + i, 0);\n}}\n"
    else:
        head = "  const int i = get_global_id(0);\n  if (i >= total) return;\n"
        text = f"({sig}) {{\n{head}  {body}\n  ST({result}, y, i);\n}}\n"
    native = bld.half_arith and all(n.op_type in HALF_OPS for n in group)
    name = _add_kernel(bld, "ewh" if native else "ew", in_half(text) if native else text)
    items = total // 8 if vector else max(total, 1)
    bld.launch(name, (items,), [bld.out(root.outputs[0]), *args, i32(total)], program="gen")


# ops computed in half by a generated kernel under native half arithmetic: each rounds once to
# half as IEEE half arithmetic does, or is piecewise linear; groups with any other op (exp,
# tanh, erf, log, sqrt, pow: Sigmoid, Swish, Gelu, ...) keep float arithmetic
HALF_OPS = frozenset(
    ("Add", "Sub", "Mul", "Div", "Max", "Min", "PRelu", "Relu", "Neg", "Abs", "Floor", "Ceil")
    + ("Identity", "Dropout", "Expand", "Cast", "Clip", "LeakyRelu", "HardSigmoid", "HardSwish")
    + ("BatchNormalization",)
)
_FLOAT_LITERAL = re.compile(
    r"(?<![\w.])((?:0x[0-9a-fA-F.]+p[+-]?\d+)|(?:\d+\.\d*(?:e[+-]?\d+)?))f\b"
)


def in_half(text: str) -> str:
    """A generated element-wise kernel's text with its arithmetic in half: values half / half8,
    loads and stores of the half tensors without widening, literals rounded to half, numpy's
    NaN-propagating max / min / clip in their half versions (common.cl, GSM_HALF_ARITH)."""
    text = re.sub(r"\b(LD8|LD|ST8|ST)\(", r"H\1(", text)
    text = re.sub(r"\b(npmax8|npmin8|npclip8|npmax|npmin|npclip)\(", r"\1h(", text)
    text = _FLOAT_LITERAL.sub(r"((half)\1f)", text)
    text = re.sub(r"\b(INFINITY|NAN)\b", r"((half)\1)", text)
    return re.sub(r"\bfloat(8?)\b", r"half\1", text)


def emit_softmax(
    bld: Builder, group: list[Node], softmax: Node, geometry: tuple[int, int, int], opset: int
) -> None:
    """Softmax over rows of length L (stride `inner`) of the value `group` computes, generated
    as one kernel: the group's expression is evaluated where the Softmax reads its input."""
    L, inner, total = geometry
    params, args, body, result = _expression(bld, group, opset)
    sig = ", ".join(["__global data_t* restrict y", *params, "const int L", "const int inner"])
    at = "const int i = (int)(base + (long)j * inner);"
    head = f"""({sig}, const int total) {{
  const int r = get_global_id(0);
  if (r >= total) return;
  const long base = (long)(r / inner) * L * inner + r % inner;
  float m = -INFINITY;
  for (int j = 0; j < L; ++j) {{
    {at}
    {body}
    m = npmax(m, {result});
  }}
"""
    if inner == 1 and L % 8 == 0:  # contiguous rows (attention): exp and the division in float8
        text = (
            head
            + f"""  float8 s8 = 0.0f;
  for (int j0 = 0; j0 < L; j0 += 8) {{
    float t[8];
    for (int u = 0; u < 8; ++u) {{
      const int j = j0 + u;
      {at}
      {body}
      t[u] = {result};
    }}
    const float8 e = exp(vload8(0, t) - m);
    ST8(e, y + base + j0, 0);
    s8 += e;
  }}
  const float s = ((s8.s0 + s8.s1) + (s8.s2 + s8.s3)) + ((s8.s4 + s8.s5) + (s8.s6 + s8.s7));
  for (int j0 = 0; j0 < L; j0 += 8) ST8(LD8(y + base + j0, 0) / s, y + base + j0, 0);
}}
"""
        )
    else:
        text = (
            head
            + f"""  float s = 0.0f;
  for (int j = 0; j < L; ++j) {{
    {at}
    {body}
    const float e = exp({result} - m);
    ST(e, y, i);
    s += e;
  }}
  for (int j = 0; j < L; ++j) {{
    {at}
    ST(LD(y, i) / s, y, i);
  }}
}}
"""
        )
    name = _add_kernel(bld, "softmax", text)
    out = bld.out(softmax.outputs[0])
    args = [out, *args, i32(L), i32(inner), i32(total)]
    bld.launch(name, (max(total, 1),), args, program="gen")


def _varies_last(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> bool:
    """Whether an operand of `shape` (broadcast to `out_shape`) varies along the last axis."""
    return bool(out_shape) and len(shape) > 0 and shape[-1] == out_shape[-1] != 1


def _add_kernel(bld: Builder, kind: str, text: str) -> str:
    name = f"{kind}_" + hashlib.sha1(text.encode()).hexdigest()[:16]
    source = f"__kernel void {name}{text}"
    if source not in bld.sources:
        bld.sources.append(source)
    return name


def _expression(
    bld: Builder, group: list[Node], opset: int, vector: bool = False
) -> tuple[list[str], list[object], str, str]:
    """(kernel parameters, their arguments, C statements computing the group's value at flat
    index `i` of its output, the variable holding it); with `vector` the float8 of the values at
    i .. i + 7 (i a multiple of 8 within one row of the output's last axis)."""
    vtype = "float8" if vector else "float"
    out_shape = bld.shape(group[-1].outputs[0])
    rank = len(out_shape)
    ostr = row_major_strides(out_shape)
    inside: dict[str, str] = {}
    params: list[str] = []
    args: list[object] = []
    loads: list[str] = []
    coords: dict[int, str] = {}
    seen: dict[str, str] = {}

    def index(shape: tuple[int, ...]) -> str:
        shape = (1,) * (rank - len(shape)) + tuple(shape)
        if shape == tuple(out_shape):
            return "i"
        terms, acc = [], 1
        for d in range(rank - 1, -1, -1):
            if shape[d] != 1:
                coords.setdefault(d, f"const int c{d} = (i / {ostr[d]}) % {out_shape[d]};")
                terms.append(f"c{d} * {acc}" if acc != 1 else f"c{d}")
            acc *= shape[d]
        return " + ".join(terms) or "0"

    def operand(key: str, buf: object, shape: tuple[int, ...]) -> str:
        if key in seen:
            return seen[key]
        j = len(params)
        params.append(f"__global const data_t* restrict p{j}")
        args.append(buf)
        at = index(shape)
        if not vector:
            loads.append(f"const float v{j} = LD(p{j}, {at});")
        elif _varies_last(shape, out_shape):
            loads.append(f"const float8 v{j} = LD8(p{j} + {at}, 0);")  # contiguous along the row
        else:
            loads.append(f"const float8 v{j} = (float8)(LD(p{j}, {at}));")  # one value
        seen[key] = f"v{j}"
        return seen[key]

    def value(name: str) -> str:
        if name in inside:
            return inside[name]
        c = bld.const(name)
        if c is not None and c.size == 1:
            return ew.literal(float(c.reshape(-1)[0]), vector)
        return operand(name, bld.ref(name), bld.shape(name))

    lines: list[str] = []
    for k, node in enumerate(group):
        x_rank = len(bld.shape(node.inputs[0]))

        def extra(
            tag: str, array: np.ndarray, _: tuple[int, ...], node: Node = node, rank: int = x_rank
        ) -> str:
            key = f"{node.name}::{tag}"
            shape = ew.channel_shape(rank, array.size)
            return operand(key, bld.weight(key, ew.as_float32(array)), shape)

        argv = [value(node.inputs[i]) for i in ew.operands(node)]
        expr = ew.expression(node, argv, bld.constants, opset, extra, vector)
        lines.append(f"const {vtype} t{k} = {expr};")
        inside[node.outputs[0]] = f"t{k}"
    body = "\n    ".join(list(coords.values()) + loads + lines)
    return params, args, body, f"t{len(group) - 1}"
