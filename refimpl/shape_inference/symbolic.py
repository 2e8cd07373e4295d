"""Symbolic dim arithmetic.

A dim is an int, a symbol ("N", or a derived expression such as "N*2" or "(H-3)//2+1") or
None (unknown); a shape of None means the rank is unknown. The operations here simplify products
and constant offsets so that the same size is spelled the same way wherever it is derived.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np

from ..ir import Dim

Shape = tuple[Dim, ...] | None
Elem = Any  # an element of a tracked vector: int, float, bool, symbol string or None


def is_num(d: object) -> bool:
    kind = type(d)
    return kind is int or kind is float or isinstance(d, (int, float, np.integer, np.floating))


@lru_cache(maxsize=4096)  # the same few expressions come back in every node and inference
def _top_level(s: str) -> str:
    """The characters of s outside any parentheses."""
    depth, out = 0, []
    for ch in s:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def _wrap(s: Dim) -> str:
    text = str(s)
    return f"({text})" if any(ch in _top_level(text) for ch in "+-*/") else text


def _unwrap(s: str) -> str:
    """s without parentheses that enclose all of it."""
    while s.startswith("(") and s.endswith(")"):
        depth = 0
        for i, ch in enumerate(s):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(s) - 1:
                return s
        s = s[1:-1]
    return s


def _product(d: Elem) -> tuple[int, tuple[str, ...]] | None:
    """d as coefficient * symbols, or None when unknown or not integral."""
    if d is None:
        return None
    if is_num(d):
        return (int(d), ()) if float(d).is_integer() else None
    return _symbol_product(d)


@lru_cache(maxsize=4096)
def _symbol_product(d: str) -> tuple[int, tuple[str, ...]]:
    d = _unwrap(d)
    top = _top_level(d)
    if any(ch in top for ch in "+-/") or "*" not in top:
        return 1, (d,)
    coef, syms = 1, []
    for token in d.split("*"):
        if token.isdigit():
            coef *= int(token)
        else:
            syms.append(_unwrap(token))
    return coef, tuple(syms)


def _format_product(coef: int, syms: Iterable[str]) -> Dim:
    names = sorted(syms)
    if coef == 0 or not names:
        return coef
    if coef == 1 and len(names) == 1:
        return names[0]
    return "*".join([_wrap(t) for t in names] + ([] if coef == 1 else [str(coef)]))


def _offset(s: str) -> tuple[str, int]:
    """s as base + constant offset ("N+3" -> ("N", 3)); (s, 0) when it ends in no offset.
    Scanned by hand: a regex costs ~0.2 ms to compile in every process's first inference."""
    sign = len(s) - 1
    while sign >= 0 and s[sign].isdecimal():  # back over the trailing decimal digits
        sign -= 1
    if sign < len(s) - 1 and sign > 0 and s[sign] in "+-" and s[sign - 1] not in "*/(+-":
        return s[:sign], int(s[sign:])
    return s, 0


def dim_add(a: Elem, b: Elem) -> Dim:
    if a is None or b is None:
        return None
    if is_num(a) and is_num(b):
        return a + b
    if is_num(a):
        a, b = b, a
    if is_num(b):
        if not float(b).is_integer():
            return None
        base, off = _offset(a)
        total = off + int(b)
        return base if total == 0 else f"{base}{total:+d}"
    if a == b:
        return dim_mul(a, 2)
    return f"{a}+{_wrap(b) if '-' in _top_level(b) else b}"


def dim_sub(a: Elem, b: Elem) -> Dim:
    if a is None or b is None:
        return None
    if a == b:
        return 0
    if is_num(b):
        return dim_add(a, -b)
    return f"{a}-{_wrap(b) if any(c in _top_level(b) for c in '+-') else b}"


def dim_mul(a: Elem, b: Elem) -> Dim:
    if (is_num(a) and a == 0) or (is_num(b) and b == 0):
        return 0
    if is_num(a) and is_num(b):
        return a * b
    pa, pb = _product(a), _product(b)
    if pa is None or pb is None:
        return None
    return _format_product(pa[0] * pb[0], pa[1] + pb[1])


def divide_exact(a: Elem, b: Elem) -> Dim:
    pa, pb = _product(a), _product(b)
    if pa is None or pb is None or pb[0] == 0 or pa[0] % pb[0]:
        return None
    # a's symbols less b's, as multisets (not a Counter: ~60 us at its first use in a process)
    rest = list(pa[1])
    for sym in pb[1]:
        if sym not in rest:
            return None
        rest.remove(sym)
    return _format_product(pa[0] // pb[0], rest)


def dim_floordiv(a: Elem, b: Elem) -> Dim:
    if a is None or b is None or (is_num(b) and b == 0):
        return None
    if is_num(a) and is_num(b):
        return int(a // b)
    if b == 1:
        return a
    exact = divide_exact(a, b)
    return exact if exact is not None else f"{_wrap(a)}//{_wrap(b)}"


def dim_ceildiv(a: Elem, b: Elem) -> Dim:
    if a is None or b is None or (is_num(b) and b == 0):
        return None
    if is_num(a) and is_num(b):
        return int(-(-a // b))
    if b == 1:
        return a
    exact = divide_exact(a, b)
    return exact if exact is not None else f"ceil({_wrap(a)}/{_wrap(b)})"


def dims_product(dims: Iterable[Dim]) -> Dim:
    out: Dim = 1
    for d in dims:
        out = dim_mul(out, d)
    return out


def broadcast_dim(a: Elem, b: Elem) -> Dim:
    """Multidirectional broadcast of one dim: 1 vs N -> N, N vs N -> N, N vs M -> unknown."""
    if a == b:
        return a
    if a == 1:
        return b
    if b == 1:
        return a
    if is_num(a) and b is None:
        return a
    if is_num(b) and a is None:
        return b
    if is_num(a) and isinstance(b, str):
        return a
    if is_num(b) and isinstance(a, str):
        return b
    return None


def broadcast_shapes(*shapes: Shape) -> Shape:
    if any(s is None for s in shapes):
        return None
    rank = max((len(s) for s in shapes), default=0)  # type: ignore[arg-type]
    out: list[Dim] = []
    for i in range(rank):
        dims = [s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0]  # type: ignore
        d = dims[0]
        for other in dims[1:]:
            d = broadcast_dim(d, other)
        out.append(d)
    return tuple(out)


def merge_dim(a: Elem, b: Elem) -> Dim:
    """Two facts about the same dim (Concat's inputs off its axis): keep the known one, drop
    contradicting numbers. Two different expressions are both true of every run that can run
    (the op fails on feeds where they differ), so the shorter one stands for the dim, as ONNX's
    own inference keeps one: the dims after it stay evaluable at the feeds (a YOLO neck
    concatenates an upsampled map with a skip whose expressions differ in their floors)."""
    if a == b or b is None:
        return a
    if a is None:
        return b
    if is_num(a) and not is_num(b):
        return a
    if is_num(b) and not is_num(a):
        return b
    if isinstance(a, str) and isinstance(b, str):
        return b if len(b) < len(a) else a
    return None


def join_shapes(a: Shape, b: Shape) -> Shape:
    """A shape valid for both branches (If) or all iterations (Loop)."""
    if a is None or b is None or len(a) != len(b):
        return None
    return tuple(x if x == y else None for x, y in zip(a, b))


def chain(fn: Callable[[Elem, Elem], Elem], xs: tuple[Elem, ...]) -> Elem:
    out = xs[0]
    for x in xs[1:]:
        out = fn(out, x)
    return out


# ---- a derived dim's value at given input dims ---------------------------------------------------
# ceil / floor of numerator / denominator, exactly
_ROUND: dict[str, Callable[[int, int], int]] = {
    "ceil(": lambda num, den: -(-num // den),
    "floor(": lambda num, den: num // den,
}


def evaluate_dim(
    expr: str, dims: Mapping[str, int], memo: dict[str, tuple[int, int]] | None = None
) -> int | None:
    """The value of the derived dim `expr` (as the operations above write it: + - * // % and
    ceil(a/b), around names and integers) with its symbols bound to `dims`, in exact integer
    arithmetic; None where a symbol is unbound, a division is by zero, the result is not an
    integer or the text is not such an expression. `memo` (sub-expression -> value, for one
    `dims`) lets expressions that share parts evaluate them once."""
    try:
        num, den = _value(expr, dims, {} if memo is None else memo)
    except (KeyError, ValueError, ZeroDivisionError, RecursionError):
        return None
    return num if den == 1 else None


def _value(s: str, dims: Mapping[str, int], memo: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """s's value as (numerator, positive denominator) in lowest terms; ValueError if s is not
    an expression of the dim operations."""
    found = memo.get(s)
    if found is None:
        found = memo[s] = _evaluate(s, dims, memo)
    return found


def _evaluate(s: str, dims: Mapping[str, int], memo: dict[str, tuple[int, int]]) -> tuple[int, int]:
    depth, add, mul = 0, 0, 0  # the last top-level + or -, and * / or %, after position 0
    for i, ch in enumerate(s):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(s)
        elif depth == 0 and i:
            if ch in "+-":
                before = s[i - 1]
                if before.isalnum() or before in "_)":  # binary, not a sign
                    add = i
            elif ch in "*/%":
                mul = i
    if depth:
        raise ValueError(s)
    if add:
        (a, p), (b, q) = _value(s[:add], dims, memo), _value(s[add + 1 :], dims, memo)
        return _reduced(a * q + b * p if s[add] == "+" else a * q - b * p, p * q)
    if mul:
        op, left = s[mul], s[:mul]
        if op == "/" and left.endswith("/"):
            op, left = "//", left[:-1]
        (a, p), (b, q) = _value(left, dims, memo), _value(s[mul + 1 :], dims, memo)
        if op == "*":
            return _reduced(a * b, p * q)
        if op == "/":
            return _reduced(a * q, p * b)
        if p != 1 or q != 1:
            raise ValueError(s)
        return (a // b if op == "//" else a % b), 1
    if s.startswith("-"):
        a, p = _value(s[1:], dims, memo)
        return -a, p
    if s.endswith(")"):
        if s.startswith("("):
            return _value(s[1:-1], dims, memo)
        head = s[: s.index("(") + 1]
        rounding = _ROUND.get(head)
        if rounding is None:
            raise ValueError(s)
        a, p = _value(s[len(head) : -1], dims, memo)
        return rounding(a, p), 1
    if s.isdigit():
        return int(s), 1
    if not DIM_NAME.match(s):
        raise ValueError(s)
    return dims[s], 1


# a symbol in a derived dim: a name, dots allowed after its first letter (exporters write
# "p2o.DynamicDimension.0"; a dot is no operator here)
DIM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")


def _reduced(num: int, den: int) -> tuple[int, int]:
    if den == 0:
        raise ZeroDivisionError
    if den < 0:
        num, den = -num, -den
    g = math.gcd(num, den)
    return (num // g, den // g) if g > 1 else (num, den)
