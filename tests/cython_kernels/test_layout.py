"""Data-movement kernels (Transpose, Concat, Split, Slice, Gather, Reshape and friends, Cast) agree
with the reference bit for bit, on any dtype, strides, empty dims and thread count."""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np
import pytest
from gossamer.cython_kernels.backend import CythonBackend
from gossamer.plugins import RuntimeDecline
from gossamer.plugins.run_context import using_threads
from gossamer.refimpl.ir import Node
from gossamer.refimpl.ops import (
    op_cast,
    op_concat,
    op_flatten,
    op_gather,
    op_reshape,
    op_slice,
    op_split,
    op_squeeze,
    op_transpose,
    op_unsqueeze,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from ._helpers import assert_on_cython, one_node, run_both

DTYPES = [np.float32, np.int64, np.int32, np.bool_, np.float16, np.uint8, np.float64,
          np.complex64, ml_dtypes.bfloat16]  # fmt: skip


def _prepared(
    reference: Any, op: str, attrs: dict, constants: dict | None = None, outputs: int = 1
) -> Any:
    outs = [f"y{i}" for i in range(outputs)]
    node = Node(op, ["x", "c1", "c2", "c3", "c4"], outs, dict(attrs), name="n")
    return CythonBackend.kernels[reference].for_node(node, constants or {})


def _same(ours: Any, ref: Any) -> None:
    ours = ours if isinstance(ours, tuple) else (ours,)
    ref = ref if isinstance(ref, tuple) else (ref,)
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == np.ascontiguousarray(b).tobytes()


def _check(reference: Any, fn: Any, args: tuple, kwargs: dict, threads: int = 1) -> None:
    """The kernel gives the reference's result, or declines where the reference raises."""
    try:
        want = reference(*args, **kwargs)
    except ValueError:
        with pytest.raises(RuntimeDecline), using_threads(threads):
            fn(*args, **kwargs)
        return
    with using_threads(threads):
        _same(fn(*args, **kwargs), want)


def _data(shape: tuple[int, ...], dtype: Any, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal(shape) * 50
    return x.astype(dtype)


@st.composite
def _arrays(draw: Any, min_rank: int = 0, max_rank: int = 5, max_side: int = 6) -> np.ndarray:
    """A random array, sometimes a non-contiguous view (steps, negative steps, a transpose)."""
    shape = tuple(draw(st.lists(st.integers(0, max_side), min_size=min_rank, max_size=max_rank)))
    dtype = draw(st.sampled_from(DTYPES))
    view = draw(st.sampled_from(["plain", "step", "flip", "transposed"]))
    if view == "step":
        big = _data(tuple(2 * d for d in shape), dtype)
        return np.asarray(big[tuple(slice(None, None, 2) for _ in shape)])
    if view == "flip" and shape:
        return _data(shape, dtype)[::-1]
    if view == "transposed":
        return _data(shape[::-1], dtype).T
    return _data(shape, dtype)


@settings(max_examples=60)
@given(x=_arrays(), data=st.data(), threads=st.sampled_from([1, 2]))
def test_transpose_matches_reference_for_any_perm_dtype_and_strides(x, data, threads):
    perm = data.draw(st.one_of(st.none(), st.permutations(range(x.ndim))))
    attrs = {} if perm is None else {"perm": list(perm)}
    fn = _prepared(op_transpose.transpose_1, "Transpose", attrs)
    _check(op_transpose.transpose_1, fn, (x,), attrs, threads)


@pytest.mark.parametrize("shape, perm", [
    ((1, 128, 12, 32), (0, 2, 1, 3)),  # attention heads: rows of 32 floats
    ((1, 128, 12, 32), (0, 2, 3, 1)),  # keys: the blocked 8x8 transpose
    ((1, 12, 128, 32), (0, 2, 1, 3)),
    ((67, 45, 3), (2, 1, 0)),  # odd sizes: vector and block tails
    ((300, 257), (1, 0)),
    ((2, 3, 129, 70), (0, 3, 1, 2)),
    ((600, 520), (1, 0)),  # over 1 MiB (float32, int64): split between the threads
    ((4, 300, 3, 80), (0, 2, 1, 3)),
])  # fmt: skip
@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int64, np.bool_])
def test_large_transposes_match_reference(shape, perm, dtype, simd, threads):
    x = _data(shape, dtype)
    fn = _prepared(op_transpose.transpose_1, "Transpose", {"perm": list(perm)})
    _check(op_transpose.transpose_1, fn, (x,), {"perm": list(perm)}, threads)
    _check(op_transpose.transpose_1, fn, (x[..., ::-1],), {"perm": list(perm)}, threads)


def test_transpose_with_a_bad_perm_is_declined():
    fn = _prepared(op_transpose.transpose_1, "Transpose", {"perm": [0, 0]})
    with pytest.raises(RuntimeDecline):
        fn(np.zeros((2, 3), np.float32), perm=[0, 0])


@settings(max_examples=60)
@given(
    shape=st.lists(st.integers(0, 5), min_size=1, max_size=4),
    sizes=st.lists(st.integers(0, 4), min_size=1, max_size=4),
    data=st.data(),
    threads=st.sampled_from([1, 2]),
)
def test_concat_matches_reference_on_any_axis(shape, sizes, data, threads):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    dtype = data.draw(st.sampled_from(DTYPES))
    inputs = []
    for i, n in enumerate(sizes):
        s = list(shape)
        s[axis] = n
        x = _data(tuple(s), dtype, i)
        inputs.append(x if i % 2 == 0 else np.asfortranarray(x))
    fn = _prepared(op_concat.concat_4, "Concat", {"axis": axis})
    _check(op_concat.concat_4, fn, tuple(inputs), {"axis": axis}, threads)


def test_concat_of_mismatched_shapes_is_declined():
    fn = _prepared(op_concat.concat_4, "Concat", {"axis": 0})
    a, b = np.zeros((2, 3), np.float32), np.zeros((2, 4), np.float32)
    _check(op_concat.concat_4, fn, (a, b), {"axis": 0})


def test_squeezenet_style_concat_runs_on_cython(threads):
    a = _data((1, 64, 55, 55), np.float32, 1)
    b = _data((1, 64, 55, 55), np.float32, 2)
    ours, ref, placement = run_both(one_node("Concat", {"a": a, "b": b}, axis=1), {"a": a, "b": b},
                                    threads)  # fmt: skip
    assert_on_cython(placement)
    _same(ours[0], ref[0])


@settings(max_examples=50)
@given(x=_arrays(min_rank=1), data=st.data(), threads=st.sampled_from([1, 2]))
def test_split_matches_reference_in_every_version(x, data, threads):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    n = x.shape[axis]
    first = data.draw(st.integers(0, n))
    sizes = [first, n - first]
    parts = data.draw(st.integers(1, 4))
    cases = [  # (reference, node attributes, extra inputs, outputs)
        (op_split.split_2, {"axis": axis, "split": sizes}, (), 2),
        (op_split.split_2, {"axis": axis}, (), parts),
        (op_split.split_13, {"axis": axis}, (np.array(sizes, np.int64),), 2),
        (op_split.split_13, {"axis": axis}, (None,), parts),
        (op_split.split_18, {"axis": axis, "num_outputs": parts}, (), parts),
        (op_split.split_18, {"axis": axis}, (np.array(sizes, np.int64),), 2),
    ]
    for ref, attrs, extra, outputs in cases:
        constants = {1: extra[0]} if extra and extra[0] is not None else {}
        fn = _prepared(ref, "Split", attrs, constants, outputs)
        _check(ref, fn, (x, *extra), {"num_outputs": outputs} | attrs, threads)


def test_split_with_a_run_time_split_input_matches_reference():
    x = _data((4, 9), np.float32)
    fn = _prepared(op_split.split_13, "Split", {"axis": 1}, outputs=2)
    _check(op_split.split_13, fn, (x, np.array([2, 7], np.int64)), {"axis": 1, "num_outputs": 2})
    _check(op_split.split_13, fn, (x, np.array([2, 6], np.int64)), {"axis": 1, "num_outputs": 2})


_BOUND = st.integers(-8, 8) | st.sampled_from([2**62, -(2**62)])


@settings(max_examples=60)
@given(x=_arrays(min_rank=1), data=st.data(), threads=st.sampled_from([1, 2]))
def test_slice_matches_reference_with_steps_and_negative_bounds(x, data, threads):
    axes = data.draw(st.lists(st.integers(-x.ndim, x.ndim - 1), min_size=1, max_size=x.ndim))
    k = len(axes)
    starts = data.draw(st.lists(_BOUND, min_size=k, max_size=k))
    ends = data.draw(st.lists(_BOUND, min_size=k, max_size=k))
    steps = data.draw(st.lists(st.sampled_from([1, 2, -1, -3]), min_size=k, max_size=k))
    consts = [np.array(v, np.int64) for v in (starts, ends, axes, steps)]
    fn = _prepared(op_slice.slice_10, "Slice", {}, dict(enumerate(consts, start=1)))
    _check(op_slice.slice_10, fn, (x, *consts), {}, threads)
    dynamic = _prepared(op_slice.slice_10, "Slice", {})
    _check(op_slice.slice_10, dynamic, (x, *consts), {}, threads)
    attrs = {"starts": starts, "ends": ends, "axes": axes}
    _check(op_slice.slice_1, _prepared(op_slice.slice_1, "Slice", attrs), (x,), attrs, threads)


@settings(max_examples=60)
@given(x=_arrays(min_rank=1), data=st.data(), threads=st.sampled_from([1, 2]))
def test_gather_matches_reference_with_negative_and_bad_indices(x, data, threads):
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    dim = x.shape[axis]
    shape = data.draw(st.lists(st.integers(0, 3), max_size=2))
    lo, hi = (-dim, dim - 1) if not data.draw(st.integers(0, 5)) == 0 else (-dim - 2, dim + 1)
    if hi < lo:
        lo, hi = -1, 1
    idx = np.random.default_rng(dim).integers(lo, hi + 1, shape)
    idx = idx.astype(data.draw(st.sampled_from([np.int64, np.int32])))
    fn = _prepared(op_gather.gather_1, "Gather", {"axis": axis})
    _check(op_gather.gather_1, fn, (x, idx), {"axis": axis}, threads)


def test_embedding_lookup_matches_reference(threads):
    table = _data((1000, 384), np.float32)
    ids = np.random.default_rng(3).integers(-1000, 1000, (1, 128))
    fn = _prepared(op_gather.gather_1, "Gather", {})
    _check(op_gather.gather_1, fn, (table, ids), {}, threads)
    ids[0, 5] = 1000
    _check(op_gather.gather_1, fn, (table, ids), {}, threads)


@settings(max_examples=40)
@given(x=_arrays(max_side=4), data=st.data())
def test_reshape_flatten_squeeze_unsqueeze_match_reference(x, data):
    size = x.size
    target = [size] if data.draw(st.booleans()) else [-1, 1]
    if data.draw(st.booleans()) and x.ndim:
        target = [0] + [-1]
    shape = np.array(target, np.int64)
    for ref in (op_reshape.reshape_5, op_reshape.reshape_14):
        _check(ref, _prepared(ref, "Reshape", {}, {1: shape}), (x, shape), {})
        _check(ref, _prepared(ref, "Reshape", {}), (x, shape), {})
    axis = data.draw(st.integers(-x.ndim - 1, x.ndim + 1))
    fn = _prepared(op_flatten.flatten_1, "Flatten", {"axis": axis})
    _check(op_flatten.flatten_1, fn, (x,), {"axis": axis})
    axes = data.draw(st.lists(st.integers(-x.ndim - 1, x.ndim), max_size=2))
    consts = {1: np.array(axes, np.int64)}
    _check(op_unsqueeze.unsqueeze_1, _prepared(op_unsqueeze.unsqueeze_1, "Unsqueeze",
                                               {"axes": axes}), (x,), {"axes": axes})  # fmt: skip
    _check(op_unsqueeze.unsqueeze_13, _prepared(op_unsqueeze.unsqueeze_13, "Unsqueeze", {}, consts),
           (x, consts[1]), {})  # fmt: skip
    _check(op_squeeze.squeeze_13, _prepared(op_squeeze.squeeze_13, "Squeeze", {}, consts),
           (x, consts[1]), {})  # fmt: skip
    _check(op_squeeze.squeeze_13, _prepared(op_squeeze.squeeze_13, "Squeeze", {}), (x, None), {})
    attrs = {"axes": axes} if axes else {}
    _check(op_squeeze.squeeze_1, _prepared(op_squeeze.squeeze_1, "Squeeze", attrs), (x,), attrs)


@pytest.mark.parametrize("src, to", [
    (np.float32, 7), (np.float32, 6), (np.float32, 10), (np.int64, 1), (np.int32, 1),
    (np.float16, 1),
])  # fmt: skip
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_cast_matches_reference_including_nan_and_overflow(src, to):
    x = (np.random.default_rng(0).standard_normal(1000) * 1e5).astype(src)
    if x.dtype.kind == "f":
        x[:4] = [np.nan, np.inf, -np.inf, -0.0]
    for ref in (op_cast.cast_6, op_cast.cast_19, op_cast.cast_24):
        fn = _prepared(ref, "Cast", {"to": to})
        _check(ref, fn, (x[::2],), {"to": to})


def test_cast_outside_its_pairs_is_not_claimed():
    x = np.zeros(4, np.float32)
    _, _, placement = run_both(one_node("Cast", {"x": x}, to=3), {"x": x}, 1)  # to int8
    (reasons,) = placement.declined.values()
    assert "cast float32 -> int8 (floats go to floats and bool" in reasons["cython"]


# ---- Softmax / LayerNorm rows at every SIMD level (AVX-512 row kernels run only at avx512f) ----


@pytest.fixture(params=["avx512f", "avx2+fma", "generic"])
def any_level(request: pytest.FixtureRequest) -> Any:
    from gossamer.cython_kernels import set_simd_level, simd_level

    before = simd_level()
    got = set_simd_level(request.param)
    if got != request.param:
        set_simd_level(before)
        pytest.skip(f"this CPU has no {request.param}")
    yield got
    set_simd_level(before)


@pytest.mark.parametrize("n", [1, 7, 16, 17, 128, 301])
def test_softmax_and_layernorm_rows_match_reference_at_every_level(n, any_level):
    from gossamer.refimpl.ops.op_layer_normalization import layer_normalization_17
    from gossamer.refimpl.ops.op_softmax import softmax_13

    x = _data((3, 5, n), np.float32) / 10
    x[0, 0, 0] = np.nan
    x[0, 1, -1] = np.inf
    x[0, 2, :] = -np.inf
    x[1, 0, n // 2] = 80.0  # exp near float32 overflow after the max shift
    for threads in (1, 2):
        fn = _prepared(softmax_13, "Softmax", {"axis": -1})
        with using_threads(threads), np.errstate(all="ignore"):
            ours, want = fn(x, axis=-1), softmax_13(x, axis=-1)
        np.testing.assert_allclose(ours, want, rtol=2e-6, atol=1e-7)
        scale, bias = _data((n,), np.float32, 1), _data((n,), np.float32, 2)
        attrs = {"axis": -1, "epsilon": 1e-5}
        fn = _prepared(layer_normalization_17, "LayerNormalization", attrs, {1: scale, 2: bias}, 3)
        finite = x[1:]
        with using_threads(threads):
            ours = fn(finite, scale, bias, **attrs)
        want = layer_normalization_17(finite, scale, bias, **attrs)
        for a, b in zip(ours, want):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


BINARY_SHAPES = [
    ((1, 12, 128, 128), ()),  # attention scores times a scalar
    ((1, 12, 128, 128), (1, 1, 1, 128)),  # plus the mask
    ((3, 1), (2, 3, 5)),  # the first operand broadcasts: run swapped
    ((3, 1), (1, 4)),  # both broadcast: declined
]


@pytest.mark.parametrize("a_shape, b_shape", BINARY_SHAPES)
def test_binary_ops_with_cached_broadcast_plans_match_reference(a_shape, b_shape):
    from gossamer.refimpl.ops.op_add import add_7
    from gossamer.refimpl.ops.op_mul import mul_7

    a, b = _data(a_shape, np.float32, 1), _data(b_shape, np.float32, 2)
    for ref, op in ((mul_7, "Mul"), (add_7, "Add")):
        fn = _prepared(ref, op, {})
        for _ in range(2):  # the second call reuses the cached plan
            try:
                want = ref(a, b)
            except ValueError:
                with pytest.raises(RuntimeDecline):
                    fn(a, b)
                continue
            if want.shape not in (a.shape, b.shape):
                with pytest.raises(RuntimeDecline):  # both operands broadcast
                    fn(a, b)
                continue
            _same(fn(a, b), want)
            _same(fn(a[..., ::-1], b), ref(a[..., ::-1], b))  # a non-contiguous operand


@pytest.mark.parametrize(
    "pads, value, opset",
    [
        ([0, 0, 1, 2, 0, 3, 2, 1], None, 17),  # spatial padding, zeros
        ([0, 0, 0, 0, 0, 5, 0, 0], 1.5, 17),  # channel padding (TFLite residual branches)
        ([0, 2, 0, 0, 0, 0, 0, 3], -2.0, 19),
    ],
)
def test_constant_pad_matches_reference(pads, value, opset, threads):
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 4)).astype(np.float32)
    constants = {"pads": np.array(pads, np.int64)}
    if value is not None:
        constants["value"] = np.array(value, np.float32)
    model = one_node("Pad", {"x": x}, constants, opset=opset)
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    np.testing.assert_array_equal(ours[0], ref[0])


def test_pad_with_negative_pads_falls_back_and_matches():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    model = one_node("Pad", {"x": x}, {"pads": np.array([0, -1, 1, 0, 0, 2], np.int64)})
    ours, ref, _ = run_both(model, {"x": x}, 1)
    np.testing.assert_array_equal(ours[0], ref[0])


def test_an_unknown_pad_mode_is_declined_with_the_mode():
    import gossamer

    x = np.ones((1, 2, 4, 4), np.float32)
    model = one_node("Pad", {"x": x}, {"pads": np.ones(8, np.int64)}, mode="mirror")
    placement = gossamer.load(model, backends=["cython"]).placement
    (reasons,) = placement.declined.values()
    assert reasons["cython"] == "mode 'mirror' (constant, reflect, edge, wrap only)"


def test_pad_with_pads_computed_at_run_time_matches_reference():
    from onnx import TensorProto, helper

    import gossamer

    x = np.random.default_rng(1).standard_normal((1, 2, 3, 3)).astype(np.float32)
    shape = helper.make_node("Shape", ["x"], ["s"], start=2, end=4)  # [3, 3]: pads from the data
    cat = helper.make_node("Concat", ["zeros", "s", "zeros", "s"], ["pads"], axis=0)
    pad = helper.make_node("Pad", ["x", "pads"], ["y"], name="pad")
    graph = helper.make_graph(
        [shape, cat, pad], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[helper.make_tensor("zeros", TensorProto.INT64, [2], [0, 0])],
    )  # fmt: skip
    blob = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
    ours = gossamer.load(blob, backends=["cython"], optimize=0)  # keeps Shape -> Concat -> Pad
    assert ours.placement.backend_of["pad"] == "cython"
    ref = gossamer.load(blob, backends=[], optimize=0)
    np.testing.assert_array_equal(ours.run(None, {"x": x})[0], ref.run(None, {"x": x})[0])
