"""Symbolic dims' constant offsets: `_offset` splits "base+k" as the regex it replaced did."""

from __future__ import annotations

import re

from gossamer.refimpl.shape_inference.symbolic import _offset, dim_add, dim_sub
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
