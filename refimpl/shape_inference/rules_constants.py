"""Rules for the ops that make constant and shape tensors: Constant, Shape, Size, ConstantOfShape,
Range. Their outputs start the element-by-element tracking that later rules build on.
"""

from __future__ import annotations

import math

import numpy as np

from ..dtypes import FLOAT
from ..ir import Dim, Node
from .scope import SYM_LIMIT, Rule, Scope, array_dtype, in_name, out_name, rule_table
from .symbolic import dim_ceildiv, dim_sub, dims_product, is_num

RULES: dict[str, Rule] = {}
rule = rule_table(RULES)


@rule("Constant")
def _constant(s: Scope, n: Node) -> None:
    a = n.attrs
    arr: np.ndarray | None = None
    if isinstance(a.get("value"), np.ndarray):
        arr = a["value"]
    elif isinstance(a.get("sparse_value"), np.ndarray):
        arr = a["sparse_value"]
    elif "value_float" in a:
        arr = np.array(a["value_float"], dtype=np.float32)
    elif "value_floats" in a:
        arr = np.array(a["value_floats"], dtype=np.float32)
    elif "value_int" in a:
        arr = np.array(a["value_int"], dtype=np.int64)
    elif "value_ints" in a:
        arr = np.array(a["value_ints"], dtype=np.int64)
    elif "value_string" in a:
        arr = np.array(a["value_string"], dtype=object)
    elif "value_strings" in a:
        arr = np.array(a["value_strings"], dtype=object)
    if arr is None:
        return
    s.set(out_name(n), array_dtype(arr), tuple(arr.shape))
    s.consts[out_name(n)] = arr


@rule("Shape")
def _shape_op(s: Scope, n: Node) -> None:
    shape = s.shape(in_name(n, 0))
    if shape is None:
        s.set(out_name(n), "int64", (None,))
        return
    start, end = n.attrs.get("start", 0), n.attrs.get("end")
    dims = list(shape)[slice(start, end)]
    s.set_sym(out_name(n), "int64", dims, False)


@rule("Size")
def _size(s: Scope, n: Node) -> None:
    shape = s.shape(in_name(n, 0))
    s.set(out_name(n), "int64", ())
    if shape is not None:
        s.set_sym(out_name(n), "int64", [dims_product(shape)], True)


@rule("ConstantOfShape")
def _constant_of_shape(s: Scope, n: Node) -> None:
    value = n.attrs.get("value")
    fill = np.asarray(value) if value is not None else np.zeros(1, np.float32)
    dtype = array_dtype(fill)
    s.set(out_name(n), dtype, s.shape_held(in_name(n, 0)))


@rule("Range")
def _range(s: Scope, n: Node) -> None:
    dtype = s.dtype(in_name(n, 0)) or s.dtype(in_name(n, 1))
    start, limit, delta = (s.sym(in_name(n, i)) for i in range(3))
    length: Dim = None
    if start and limit and delta:
        a, b, d = start.elems[0], limit.elems[0], delta.elems[0]
        if is_num(a) and is_num(b) and is_num(d) and d != 0:
            length = max(int(math.ceil((b - a) / d)), 0)
            if length <= SYM_LIMIT and dtype not in FLOAT:
                s.set_sym(out_name(n), dtype, [int(a + i * d) for i in range(length)], False)
                return
        elif d == 1:
            length = dim_sub(b, a)
        elif is_num(d) and a == 0 and d > 0:
            length = dim_ceildiv(b, d)
    s.set(out_name(n), dtype, (length,))
