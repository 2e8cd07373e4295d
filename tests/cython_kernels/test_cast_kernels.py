"""Cast on the cython backend: bool, integers and float32/64 among themselves in C with numpy's
astype results (integers wrap, bool is x != 0), float32 <-> float16 and float32 -> int32/int64
through astype; float -> narrow integers stay on the reference."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext
from gossamer.cython_kernels.cast_kernels import CODES, in_c
from gossamer.refimpl.dtypes import ONNX_TYPE_CODES

from ._tailhelpers import assert_same, one_node_graph, run_both

NAMES = [d.name for d in CODES]
CODE_OF = {name: code for code, name in ONNX_TYPE_CODES.items()}


def to_onnx_code(name: str) -> int:
    return CODE_OF[name]


def _values(dtype: np.dtype) -> np.ndarray:
    if dtype == np.bool_:
        return np.array([True, False, True] * 7)
    if dtype.kind == "f":
        return np.array([0.0, -0.0, 1.5, -2.75, 3e9, np.nan, np.inf, -np.inf, 1e-40] * 2, dtype)
    info = np.iinfo(dtype)
    values = [0, 1, -1, int(info.min), int(info.max), 200, -129, 70000, 2**31] * 2
    size = dtype.itemsize  # each value wrapped into the type, two's complement
    return np.array([v % (1 << 8 * size) for v in values], f"u{size}").view(dtype)


@pytest.mark.parametrize("source", NAMES)
@pytest.mark.parametrize("target", NAMES)
def test_c_casts_equal_numpy_astype(source, target):
    s, t = np.dtype(source), np.dtype(target)
    x = _values(s).reshape(3, -1)
    graph = one_node_graph("Cast", {"x": x}, opset=21, to=to_onnx_code(target))
    got, want, sess = run_both(graph, {"x": x})
    on_c = sess.placement.backend_of["n"] == "cython"
    assert on_c == (in_c(s, t) or (source, target) in {("float32", "int32"), ("float32", "int64")})
    if s.kind == "f" and t.kind in "iu":  # out of range is undefined: compare the in-range ones
        ok = np.isfinite(x) & (np.abs(np.nan_to_num(x)) < 100)
        np.testing.assert_array_equal(got[ok], want[ok])
    else:
        assert_same(got, want)


def test_int8_weights_to_float32_on_two_threads_and_long_arrays():
    x = np.random.default_rng(0).integers(-128, 128, (3, 70001)).astype(np.int8)
    graph = one_node_graph("Cast", {"x": x}, opset=19, to=to_onnx_code("float32"))
    got, want, _ = run_both(graph, {"x": x}, threads=2)
    assert_same(got, want)


def test_the_extension_refuses_float_to_integer_and_mismatched_buffers():
    assert not ext().cast_supported(CODES[np.dtype("float32")], CODES[np.dtype("int8")])
    y = np.empty(4, np.int8)
    assert ext().cast(np.ones(4, np.float32), 9, y, 1, 1) == -1
    with pytest.raises(ValueError):
        ext().cast(np.ones(4, np.int64), 5, np.empty(4, np.int32), 5, 1)  # int64 is not code 5
    with pytest.raises(ValueError):
        ext().cast(np.ones(4, np.int64), 7, np.empty(3, np.int32), 5, 1)
