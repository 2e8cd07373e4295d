"""Rules for element-wise ops: unary (shape kept), binary and comparisons (broadcast), Where, Cast.

On small tracked tensors (shape arithmetic) the rules also compute the result element by element.
"""

from __future__ import annotations

from collections.abc import Callable

from ..dtypes import FLOAT
from ..ir import Node
from .scope import Rule, Scope, dtype_from_onnx, in_name, out_name, rule_table
from .shape_values import elementwise_syms
from .symbolic import (
    Elem,
    broadcast_shapes,
    chain,
    dim_add,
    dim_floordiv,
    dim_mul,
    dim_sub,
    divide_exact,
    is_num,
)

RULES: dict[str, Rule] = {}
rule = rule_table(RULES)

_UNARY = (
    "Abs Acos Acosh Asin Asinh Atan Atanh Ceil Celu Clip Cos Cosh CumSum Elu Erf Exp Floor Gelu "
    "HardSigmoid HardSwish Hardmax Identity LeakyRelu Log LogSoftmax LpNormalization LRN "
    "MeanVarianceNormalization Mish Neg Reciprocal Relu ReverseSequence Round Selu Shrink Sigmoid "
    "Sign Sin Sinh Softmax Softplus Softsign Sqrt Tan Tanh ThresholdedRelu Trilu BitwiseNot Swish "
    "InstanceNormalization GroupNormalization Scatter ScatterElements ScatterND FastGelu BiasGelu "
    "QuickGelu QLinearSigmoid QLinearLeakyRelu QLinearSoftmax SkipLayerNormalization "
    "SimplifiedLayerNormalization SkipSimplifiedLayerNormalization"
).split()
_BINARY = (
    "Add Sub Mul Div Pow Mod BitShift BitwiseAnd BitwiseOr BitwiseXor Max Min Sum Mean PRelu"
).split()
_COMPARE = "Equal Less Greater LessOrEqual GreaterOrEqual And Or Xor".split()


@rule(*_UNARY)
def _same_as_input(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    s.set(out_name(n), x.dtype, x.shape, x.kind)
    if n.op_type == "Identity":
        if (arr := s.const(in_name(n, 0))) is not None:
            s.consts[out_name(n)] = arr
        if (sym := s.sym(in_name(n, 0))) is not None:
            s.set_sym(out_name(n), x.dtype, sym.elems, sym.scalar)
    elif n.op_type in ("Neg", "Abs") and (sym := s.sym(in_name(n, 0))) is not None:
        fn = (
            (lambda e: dim_mul(e, -1))
            if n.op_type == "Neg"
            else (lambda e: abs(e) if is_num(e) else None)
        )
        s.set_sym(out_name(n), x.dtype, [fn(e) for e in sym.elems], sym.scalar)
    for i in range(1, len(n.outputs)):  # training-mode outputs of normalisations
        s.set(out_name(n, i), x.dtype, None)


@rule("Dropout")
def _dropout(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 0))
    s.set(out_name(n), x.dtype, x.shape)
    s.set(out_name(n, 1), "bool", x.shape)


@rule("Not", "IsNaN", "IsInf")
def _bool_unary(s: Scope, n: Node) -> None:
    s.set(out_name(n), "bool", s.shape(in_name(n, 0)))


def _true_div(a: Elem, b: Elem) -> Elem:
    if is_num(a) and is_num(b):
        return a / b if b else None
    return divide_exact(a, b)


def _int_div(a: Elem, b: Elem) -> Elem:
    if is_num(a) and is_num(b):
        return int(a / b) if b else None  # ONNX integer Div truncates
    return dim_floordiv(a, b)


def _max(a: Elem, b: Elem) -> Elem:
    return max(a, b) if is_num(a) and is_num(b) else (a if a == b else None)


def _min(a: Elem, b: Elem) -> Elem:
    return min(a, b) if is_num(a) and is_num(b) else (a if a == b else None)


def _reduce(fn: Callable[[Elem, Elem], Elem]) -> Callable[..., Elem]:
    return lambda *xs: chain(fn, xs)


@rule(*_BINARY)
def _binary(s: Scope, n: Node) -> None:
    values = [s.value(i) for i in n.inputs if i]
    if not values:
        return
    dtype = values[0].dtype
    s.set(out_name(n), dtype, broadcast_shapes(*(v.shape for v in values)))
    floats = dtype in FLOAT
    fns: dict[str, Callable[..., Elem]] = {
        "Add": dim_add, "Sub": dim_sub, "Mul": dim_mul,
        "Div": _true_div if floats else _int_div,
        "Max": _reduce(_max), "Min": _reduce(_min), "Sum": _reduce(dim_add),
    }  # fmt: skip
    if n.op_type in fns and dtype not in ("bool", "string"):
        elementwise_syms(s, n, fns[n.op_type], dtype)


def _sym_compare(op: str) -> Callable[[Elem, Elem], Elem]:
    import operator

    table = {
        "Equal": operator.eq, "Less": operator.lt, "Greater": operator.gt,
        "LessOrEqual": operator.le, "GreaterOrEqual": operator.ge,
        "And": lambda a, b: bool(a) and bool(b), "Or": lambda a, b: bool(a) or bool(b),
        "Xor": lambda a, b: bool(a) != bool(b),
    }  # fmt: skip

    def compare(a: Elem, b: Elem) -> Elem:
        if is_num(a) and is_num(b):
            return bool(table[op](a, b))
        if op == "Equal" and a is not None and a == b:
            return True
        return None

    return compare


@rule(*_COMPARE)
def _compare(s: Scope, n: Node) -> None:
    shapes = [s.shape(i) for i in n.inputs if i]
    s.set(out_name(n), "bool", broadcast_shapes(*shapes))
    elementwise_syms(s, n, _sym_compare(n.op_type), "bool")


@rule("Where")
def _where(s: Scope, n: Node) -> None:
    x = s.value(in_name(n, 1))
    dtype = x.dtype or s.dtype(in_name(n, 2))
    s.set(out_name(n), dtype, broadcast_shapes(*(s.shape(i) for i in n.inputs[:3])))
    pick = lambda c, a, b: None if c is None else (a if c else b)  # noqa: E731
    elementwise_syms(s, n, pick, dtype)


@rule("Cast", "CastLike")
def _cast(s: Scope, n: Node) -> None:
    if n.op_type == "Cast":
        dtype = dtype_from_onnx(n.attrs.get("to"))
    else:
        dtype = s.dtype(in_name(n, 1))
    x = s.value(in_name(n, 0))
    s.set(out_name(n), dtype, x.shape)
    sym = s.sym(in_name(n, 0))
    if sym is None or dtype is None or dtype == "string":
        return
    elems: list[Elem]
    if dtype == "bool":
        elems = [bool(e) if is_num(e) else None for e in sym.elems]
    elif dtype in FLOAT:
        elems = [float(e) if is_num(e) else e for e in sym.elems]
    else:
        elems = [int(e) if is_num(e) else e for e in sym.elems]
    s.set_sym(out_name(n), dtype, elems, sym.scalar)
