"""Symbolic dims' constant offsets: `_offset` splits "base+k" as the regex it replaced did; exact
division divides products as the Counter it replaced did."""

from __future__ import annotations

import re
from collections import Counter

from gossamer.refimpl.shape_inference.symbolic import (
    _format_product,
    _offset,
    _product,
    dim_add,
    dim_sub,
    divide_exact,
)
from hypothesis import given
from hypothesis import strategies as st


def _by_regex(s: str) -> tuple[str, int]:
    """The former definition: fullmatch (.+?)([+-]\\d+), unless the base ends in an operator."""
    m = re.fullmatch(r"(.+?)([+-]\d+)", s)
    if m and m.group(1)[-1] not in "*/(+-":
        return m.group(1), int(m.group(2))
    return s, 0


@given(st.text(alphabet="N+-*/()0123456789\u0663x", min_size=1, max_size=10))
def test_offset_splits_as_the_regex_did(s: str) -> None:
    assert _offset(s) == _by_regex(s)


def test_offsets_fold_into_one_constant() -> None:
    assert dim_add(dim_add("N", 3), -1) == "N+2"
    assert dim_sub(dim_add("(H-3)//2", 1), 1) == "(H-3)//2"
    assert dim_add("N*2", 4) == "N*2+4"
    assert dim_add("N-12", 12) == "N"


def _divided_by_counter(a: str, b: str) -> object:
    """divide_exact as a Counter of the symbols computed it before."""
    pa, pb = _product(a), _product(b)
    if pa is None or pb is None or pb[0] == 0 or pa[0] % pb[0]:
        return None
    rest = Counter(pa[1])
    rest.subtract(pb[1])
    if any(v < 0 for v in rest.values()):
        return None
    return _format_product(pa[0] // pb[0], rest.elements())


_PRODUCTS = st.lists(st.sampled_from(["N", "H", "W", "2", "3", "(N+1)"]), min_size=1, max_size=4)


@given(_PRODUCTS, _PRODUCTS)
def test_exact_division_divides_the_symbols_as_multisets(a: list[str], b: list[str]) -> None:
    x, y = "*".join(a), "*".join(b)
    assert divide_exact(x, y) == _divided_by_counter(x, y)


def test_exact_division_cancels_repeated_symbols_once_each() -> None:
    assert divide_exact("N*N*H*4", "N*2") == "H*N*2"
    assert divide_exact("N*H", "N*N") is None
