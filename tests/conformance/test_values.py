"""The generators: shape families reach the sizes where SIMD and tiled kernels break, special
values include what overflows naive formulas, and the extremes examples hold every one of them."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.conformance import special_values, values
from gossamer.conformance.cases import all_cases
from gossamer.conformance.cases.matmul import _mkn
from gossamer.conformance.cases.nn import _conv_shapes
from gossamer.conformance.runner import _fixed
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

WIDE = {15, 16, 17, 31, 32, 33, 63, 64, 65}
FIND = settings(database=None, max_examples=2000, suppress_health_check=list(HealthCheck),
                phases=[Phase.generate])  # fmt: skip


@pytest.mark.parametrize(
    "strategy, wide",
    [
        (values.shapes(), lambda s: bool(WIDE & set(s))),
        (values.broadcast(2), lambda t: bool(WIDE & set(t[0]) & set(t[1]))),
        (values.nchw(), lambda s: s[1] in WIDE and s[0] > 1),
        (values.nchw(spatial=1), lambda s: s[2] in WIDE),
        (_mkn(), lambda mkn: mkn[1] in WIDE),
    ],
    ids=["shapes", "broadcast", "nchw-channels-batch", "nchw-width", "matmul-k"],
)
def test_shape_families_draw_block_sizes(strategy, wide):
    shape = find(strategy, wide, settings=FIND)
    assert int(np.prod(shape if isinstance(shape[0], int) else shape[0])) <= values.MAX_ELEMENTS


def test_conv_draws_wide_depthwise_and_grouped_convolutions():
    depthwise = find(_conv_shapes(), lambda t: t[3].get("group", 1) == t[0][1] >= 17, settings=FIND)
    assert depthwise[1][1] == 1  # (cout, cin / group, ...)
    grouped = find(_conv_shapes(), lambda t: 1 < t[3].get("group", 1) < t[0][1] and t[0][1] >= 16,
                   settings=FIND)  # fmt: skip
    assert grouped[0][1] % grouped[3]["group"] == 0


@given(values.shapes(max_rank=4))
@settings(max_examples=200, database=None)
def test_shapes_stay_small_in_elements(shape):
    assert int(np.prod(shape)) <= values.MAX_ELEMENTS


def test_float_specials_overflow_naive_formulas():
    pool = special_values.specials(np.dtype(np.float32)).astype(np.float64)
    assert np.isnan(pool).any() and np.inf in pool and -np.inf in pool
    assert any(v == 0 and np.signbit(v) for v in pool)  # -0.0
    assert any(0 < abs(v) < np.finfo(np.float32).tiny for v in pool)  # subnormal
    assert (pool > 88.8).any() and (pool < -88.8).any()  # exp overflows in float32
    big = pool[np.isfinite(pool) & (np.abs(pool) >= 1e4)]
    with np.errstate(over="ignore"):
        squares = np.square(big.astype(np.float32))
    assert (big > 0).any() and (big < 0).any() and np.isinf(squares).any()  # squares overflow
    half = special_values.specials(np.dtype(np.float16)).astype(np.float64)
    assert (half > np.log(65504)).any()  # float16 exp overflows above 11.09


def test_accumulating_ops_leave_out_order_dependent_values():
    pool = special_values.specials(np.dtype(np.float32), accumulate=True).astype(np.float64)
    finite = pool[np.isfinite(pool)]
    assert np.abs(finite).max() <= 1 and np.isnan(pool).any() and np.inf in pool


def test_integer_specials_hold_the_extremes_and_spare_divisors():
    assert {-128, 127, 0, -1} <= set(special_values.specials(np.dtype(np.int8)).tolist())
    assert {0, 255} <= set(special_values.specials(np.dtype(np.uint8)).tolist())
    divisors = set(special_values.specials(np.dtype(np.int32), "nonzero").tolist())
    assert 0 not in divisors and -1 not in divisors  # x / 0 traps, INT_MIN / -1 overflows


@pytest.mark.parametrize("case_id", ["Sigmoid", "Softmax", "Add", "Exp"])
def test_extremes_examples_hold_every_special_value(case_id):
    case = next(c for c in all_cases() if c.id == case_id)
    fixed = [(e, x) for e, x, _ in _fixed(case, "float32") if x is not None]
    assert fixed
    pool = special_values.specials(np.dtype(np.float32))
    seen: list[float] = []

    @given(st.data())
    @settings(max_examples=1, database=None, phases=[Phase.generate])
    def draw(data):
        from gossamer.conformance.case import build_example

        for edge, offset in fixed:
            ex = build_example(data.draw, case, "float32", edge, offset)
            seen.extend(ex.inputs[0].ravel().tolist())

    draw()
    got = np.asarray(seen, np.float32)
    for v in pool:
        assert np.isnan(got).any() if np.isnan(v) else (got == v).any(), v
