"""Reflect, edge and wrap Pad on the cython backend (pad_modes.py): the borders as strided copies
inside the output, equal to numpy.pad (the reference) for every dtype; pads one window per side
cannot cover are declined per call."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels.pad_modes import border_refusal
from hypothesis import given, settings
from hypothesis import strategies as st

from ._tailhelpers import assert_same, one_node_graph, run_both


@st.composite
def _case(draw):
    rank = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(1, 6)) for _ in range(rank))
    mode = draw(st.sampled_from(["reflect", "edge", "wrap"]))
    limit = {"reflect": lambda d: d - 1, "edge": lambda d: 4, "wrap": lambda d: d}[mode]
    pads = [draw(st.integers(0, limit(d))) for d in shape] + \
        [draw(st.integers(0, limit(d))) for d in shape]  # fmt: skip
    return np.arange(np.prod(shape), dtype=np.float32).reshape(shape), pads, mode


@settings(max_examples=40, deadline=None)
@given(case=_case())
def test_borders_equal_numpy_pad(case):
    x, pads, mode = case
    graph = one_node_graph("Pad", {"x": x}, {"pads": np.array(pads, np.int64)}, opset=19, mode=mode)
    got, want, sess = run_both(graph, {"x": x})
    assert sess.placement.backend_of["n"] == "cython" and not sess.runtime_fallbacks
    assert_same(got, want)


@pytest.mark.parametrize("dtype", ["int8", "int64", "float16", "bool", "bfloat16"])
@pytest.mark.parametrize("mode", ["reflect", "edge"])
def test_every_fixed_size_dtype(dtype, mode):
    from gossamer.refimpl.dtypes import to_numpy

    x = (np.arange(24).reshape(2, 3, 4) % 2).astype(to_numpy(dtype))
    graph = one_node_graph("Pad", {"x": x}, {"pads": np.array([0, 1, 2, 1, 2, 3], np.int64)},
                           mode=mode)  # fmt: skip
    got, want, sess = run_both(graph, {"x": x})
    assert sess.placement.backend_of["n"] == "cython"
    assert_same(got, want)


def test_silero_stft_reflect_pad_on_two_threads():
    x = np.random.default_rng(0).standard_normal((4, 576)).astype(np.float32)
    graph = one_node_graph("Pad", {"x": x}, {"pads": np.array([0, 128, 0, 128], np.int64)},
                           mode="reflect")  # fmt: skip
    got, want, _ = run_both(graph, {"x": x}, threads=2)
    assert_same(got, want)


def test_pads_past_one_reflection_fall_back_to_the_reference():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    graph = one_node_graph("Pad", {"x": x}, {"pads": np.array([0, 3, 0, 0], np.int64)},
                           mode="reflect")  # fmt: skip
    got, want, sess = run_both(graph, {"x": x})
    assert_same(got, want)
    assert "reflect pads" in sess.runtime_fallbacks["n"][1]


def test_wrap_before_opset_19_is_the_reference_error():
    x = np.ones((2, 3), np.float32)
    graph = one_node_graph("Pad", {"x": x}, {"pads": np.array([0, 1, 0, 1], np.int64)},
                           opset=18, mode="wrap")  # fmt: skip
    import gossamer

    with pytest.raises(gossamer.GossamerError, match="wrap"):
        gossamer.load(graph, backends=["cython"], optimize=0).run(None, {"x": x})


def test_border_refusal_names_the_axis():
    assert border_refusal("reflect", (3, 1), (0, 0), (2, 1)) == \
        "reflect pads 0, 1 on axis 1 of size 1 (at most 0)"  # fmt: skip
    assert border_refusal("edge", (3, 4), (5, 9), (5, 9)) == ""
    assert "wrap" in border_refusal("wrap", (3,), (4,), (0,))
