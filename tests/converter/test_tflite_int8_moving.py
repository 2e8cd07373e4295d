"""Data movement on quantised TFLite tensors (reshape, slicing, concatenation, padding, transposes,
comparisons of raw values) against LiteRT: exact on the integers."""

import numpy as np
import pytest

pytest.importorskip("tflite")

import gossamer  # noqa: E402
from tests.converter.tflite_int8_models import (  # noqa: E402
    CONCAT,
    FLOAT32,
    INT32,
    PAD,
    RESHAPE,
    SPLIT_V,
    STRIDED_SLICE,
    T,
    check,
    i32,
    ints,
    q_model,
    qt,
)


def test_data_movement_on_integers_matches_litert():
    """RESHAPE / CONCATENATION / STRIDED_SLICE / SPLIT_V / PAD on int8 as mww uses them."""
    rng = np.random.default_rng(6)
    q = dict(scale=0.0461, zero_point=-128)
    x = ints(rng, (1, 9, 1, 64))
    cases = [
        (RESHAPE, [qt("x", "int8", (1, 3, 40), **q),
                   T("s", INT32, (4,), np.array([1, 3, 1, 40], np.int32))],
         [qt("y", "int8", (1, 3, 1, 40), **q)], None, ints(rng, (1, 3, 40))),
        (STRIDED_SLICE, [qt("x", "int8", (1, 9, 1, 64), **q),
                         T("b", INT32, (4,), np.array([0, 1, 0, 0], np.int32)),
                         T("e", INT32, (4,), np.array([0, 0, 0, 0], np.int32)),
                         T("st", INT32, (4,), np.array([1, 1, 1, 1], np.int32))],
         [qt("y", "int8", (1, 8, 1, 64), **q)],
         ("StridedSliceOptions", {"begin_mask": 13, "end_mask": 15}), x),
        (PAD, [qt("x", "int8", (1, 9, 1, 64), **q),
               T("p", INT32, (4, 2), np.array([[0, 0], [2, 1], [0, 0], [0, 3]], np.int32))],
         [qt("y", "int8", (1, 12, 1, 67), **q)], None, x),
    ]  # fmt: skip
    for code, tensors, outs, options, feed in cases:
        check(q_model(code, tensors, outs, options, version=1 if code == RESHAPE else 2), [feed])
    split = q_model(SPLIT_V, [qt("x", "int8", (1, 9, 1, 64), **q),
                              T("sizes", INT32, (2,), np.array([32, 32], np.int32)),
                              T("axis", INT32, (), np.array(3, np.int32))],
                    [qt("y0", "int8", (1, 9, 1, 32), **q), qt("y1", "int8", (1, 9, 1, 32), **q)],
                    ("SplitVOptions", {"num_splits": 2}), version=2)  # fmt: skip
    check(split, [x])
    parts = [qt("a", "int8", (1, 2, 1, 64), **q), qt("b", "int8", (1, 1, 1, 64), **q)]
    concat = q_model(CONCAT, parts, [qt("y", "int8", (1, 3, 1, 64), **q)],
                     ("ConcatenationOptions", {"axis": 1}), version=2)  # fmt: skip
    check(concat, [ints(rng, (1, 2, 1, 64)), ints(rng, (1, 1, 1, 64))])


def test_more_data_movement_and_comparisons_on_integers_match_litert():
    """MAXIMUM / MINIMUM / REDUCE_MAX / ARG_MAX compare raw values; TRANSPOSE, MIRROR_PAD and
    RESIZE_NEAREST_NEIGHBOR move them."""
    rng = np.random.default_rng(11)
    q = dict(scale=0.07, zero_point=5)
    x = ints(rng, (2, 5, 4, 9))
    axis = T("axes", INT32, (1,), np.array([2], np.int32))
    cases = [
        (55, [qt("a", "int8", (2, 5, 4, 9), **q), qt("b", "int8", (9,), **q)],
         [qt("y", "int8", (2, 5, 4, 9), **q)], None, [x, ints(rng, (9,))], 2),
        (57, [qt("a", "int8", (2, 5, 4, 9), **q), qt("b", "int8", (2, 5, 4, 9), **q)],
         [qt("y", "int8", (2, 5, 4, 9), **q)], None, [x, ints(rng, (2, 5, 4, 9))], 2),
        (82, [qt("x", "int8", (2, 5, 4, 9), **q), axis], [qt("y", "int8", (2, 5, 9), **q)],
         ("ReducerOptions", {"keep_dims": False}), [x], 2),
        (56, [qt("x", "int8", (2, 5, 4, 9), **q), axis], [T("y", 4, (2, 5, 9))],
         ("ArgMaxOptions", {"output_type": 4}), [x], 2),
        (39, [qt("x", "int8", (2, 5, 4, 9), **q),
              T("perm", INT32, (4,), np.array([0, 3, 1, 2], np.int32))],
         [qt("y", "int8", (2, 9, 5, 4), **q)], None, [x], 2),
        (100, [qt("x", "int8", (2, 5, 4, 9), **q),
               T("p", INT32, (4, 2), np.array([[0, 0], [1, 2], [2, 1], [0, 0]], np.int32))],
         [qt("y", "int8", (2, 8, 7, 9), **q)], ("MirrorPadOptions", {"mode": 0}), [x], 2),
        (97, [qt("x", "int8", (2, 5, 4, 9), **q),
              T("size", INT32, (2,), np.array([9, 7], np.int32))],
         [qt("y", "int8", (2, 9, 7, 9), **q)],
         ("ResizeNearestNeighborOptions", {"half_pixel_centers": True}), [x], 3),
    ]  # fmt: skip
    for code, tensors, outs, options, feeds, version in cases:
        check(q_model(code, tensors, outs, options, version=version), feeds)


@pytest.mark.parametrize(
    "code, x_shape, extra, outs, options, version",
    [
        (43, (2, 1, 9), [], [(2, 9)], ("SqueezeOptions", {"squeeze_dims": [1]}), 1),
        (70, (2, 9), [("axis", (), i32(1).reshape(()))], [(2, 1, 9)], None, 1),
        (65, (3, 17), [("b", (2,), i32(1, 2)), ("s", (2,), i32(2, 9))], [(2, 9)], None, 2),
        (36, (3, 17), [("i", (4,), i32(2, 0, 2, 1))], [(4, 17)], ("GatherOptions", {"axis": 0}),
         2),
        (83, (3, 17), [], [(3, 17)], None, 1),  # PACK of one input (placeholder, replaced below)
        (88, (3, 17), [], [(17,)] * 3, ("UnpackOptions", {"num": 3, "axis": 0}), 2),
        (69, (2, 9), [("m", (2,), i32(2, 3))], [(4, 27)], None, 2),
        (130, (1, 9), [("s", (2,), i32(4, 9))], [(4, 9)], None, 2),
        (5, (1, 2, 3, 8), [], [(1, 4, 6, 2)], ("DepthToSpaceOptions", {"block_size": 2}), 1),
        (26, (1, 4, 6, 2), [], [(1, 2, 3, 8)], ("SpaceToDepthOptions", {"block_size": 2}), 2),
        (89, (3, 17), [("axes", (1,), i32(1))], [(3,)], ("ReducerOptions", {}), 2),
        (49, (3, 18), [], [(3, 6)] * 3, ("SplitOptions", {"num_splits": 3}), 2),
    ],
)  # fmt: skip
def test_each_moving_op_is_exact_on_int8(code, x_shape, extra, outs, options, version):
    rng = np.random.default_rng(12)
    q = dict(scale=0.03, zero_point=-9)
    x = qt("x", "int8", x_shape, **q)
    consts = [T(name, INT32, shape, value) for name, shape, value in extra]
    tensors = [x, *consts]
    if code == 83:  # PACK two inputs on a new axis
        tensors = [x, qt("x2", "int8", x_shape, **q)]
        outs, options = [(2, *x_shape)], ("PackOptions", {"values_count": 2, "axis": 0})
    if code == 49:  # SPLIT takes (axis, x)
        tensors = [T("axis", INT32, (), i32(1).reshape(())), x]
    outputs = [qt(f"y{i}", "int8", shape, **q) for i, shape in enumerate(outs)]
    model = q_model(code, tensors, outputs, options, version=version)
    check(model, [ints(rng, t.shape) for t in tensors if t.data is None])


def test_select_v2_and_arg_min_on_int8_match_litert():
    rng = np.random.default_rng(13)
    q = dict(scale=0.03, zero_point=-9)
    select = q_model(
        123,
        [T("c", 6, (3, 17)), qt("a", "int8", (3, 17), **q), qt("b", "int8", (17,), **q)],
        [qt("y", "int8", (3, 17), **q)],
    )
    check(select, [rng.integers(0, 2, (3, 17)).astype(bool), ints(rng, (3, 17)), ints(rng, (17,))])
    arg_min = q_model(
        79,
        [qt("x", "int8", (3, 17), **q), T("axis", INT32, (1,), i32(1))],
        [T("y", INT32, (3,))],
        ("ArgMinOptions", {"output_type": 2}),
        version=2,
    )
    check(arg_min, [ints(rng, (3, 17))])


def test_uint8_concatenation_of_differently_quantised_inputs_matches_litert():
    """uint8 inputs are rescaled to the output's params in float32 (ConcatenationWithScaling)."""
    rng = np.random.default_rng(21)
    parts = [qt("a", "uint8", (2, 3, 17), 0.1, 128), qt("b", "uint8", (2, 5, 17), 0.037, 3),
             qt("c", "uint8", (2, 1, 17), 0.05, 100)]  # fmt: skip
    model = q_model(CONCAT, parts, [qt("y", "uint8", (2, 9, 17), 0.05, 100)],
                    ("ConcatenationOptions", {"axis": 1}), version=2)  # fmt: skip
    check(model, [ints(rng, t.shape, "uint8") for t in parts])


def test_int8_concatenation_of_differently_quantised_inputs_is_refused_as_by_litert():
    parts = [qt("a", "int8", (2, 3), 0.1, 0), qt("b", "int8", (2, 3), 0.2, 0)]
    model = q_model(CONCAT, parts, [qt("y", "int8", (2, 6), 0.2, 0)],
                    ("ConcatenationOptions", {"axis": 1}), version=2)  # fmt: skip
    with pytest.raises(
        gossamer.UnsupportedModelError, match="CONCATENATION.*quantised differently"
    ):
        gossamer.load(model)


@pytest.mark.parametrize("to", [INT32, FLOAT32])
def test_cast_of_a_quantised_tensor_converts_the_raw_integers_as_litert(to):
    rng = np.random.default_rng(23)
    model = q_model(53, [qt("x", "int8", (3, 17), 0.1, 5)], [T("y", to, (3, 17))], version=1)
    check(model, [ints(rng, (3, 17))])
