"""Data movement between differently quantised int8 tensors: where LiteRT's kernels copy the raw
integers whatever the params, so does the importer (exact against the reference kernels); where
LiteRT's prepare refuses, the importer refuses with the reason."""

import numpy as np
import pytest

pytest.importorskip("tflite")

import gossamer  # noqa: E402
from tests.converter.tflite_int8_models import INT32, T, exact, i32, ints, q_model, qt  # noqa: E402

Q_IN, Q_OUT = dict(scale=0.03, zero_point=-9), dict(scale=0.07, zero_point=4)
BOOL = 6


def _x(shape=(3, 17), name="x"):
    return qt(name, "int8", shape, **Q_IN)


def _y(shape, name="y"):
    return qt(name, "int8", shape, **Q_OUT)


PADS = np.array([[1, 0], [0, 2]], np.int32)
RAW = {
    "RESHAPE": (22, [_x(), T("s", INT32, (2,), i32(17, 3))], [_y((17, 3))], None, 1),
    "SQUEEZE": (43, [_x((3, 1, 17))], [_y((3, 17))], ("SqueezeOptions", {"squeeze_dims": [1]}), 1),
    "TRANSPOSE": (39, [_x(), T("p", INT32, (2,), i32(1, 0))], [_y((17, 3))], None, 2),
    "SLICE": (65, [_x(), T("b", INT32, (2,), i32(1, 2)), T("s", INT32, (2,), i32(2, 9))],
              [_y((2, 9))], None, 2),
    "STRIDED_SLICE": (45, [_x(), T("b", INT32, (2,), i32(0, 1)), T("e", INT32, (2,), i32(3, 9)),
                           T("s", INT32, (2,), i32(1, 2))], [_y((3, 4))],
                      ("StridedSliceOptions", {}), 2),
    "GATHER": (36, [_x(), T("i", INT32, (4,), i32(2, 0, 2, 1))], [_y((4, 17))],
               ("GatherOptions", {"axis": 0}), 2),
    "GATHER_ND": (107, [_x(), T("i", INT32, (2, 1), np.array([[2], [0]], np.int32))],
                  [_y((2, 17))], None, 2),
    "REVERSE_V2": (105, [_x(), T("a", INT32, (1,), i32(1))], [_y((3, 17))], None, 2),
    "TILE": (69, [_x(), T("m", INT32, (2,), i32(2, 3))], [_y((6, 51))], None, 2),
    "BROADCAST_TO": (130, [_x((1, 17)), T("s", INT32, (2,), i32(4, 17))], [_y((4, 17))], None, 2),
    "DEPTH_TO_SPACE": (5, [_x((1, 2, 3, 8))], [_y((1, 4, 6, 2))],
                       ("DepthToSpaceOptions", {"block_size": 2}), 1),
    "SPLIT": (49, [T("axis", INT32, (), i32(1).reshape(())), _x((3, 18))],
              [_y((3, 9), "y0"), _y((3, 9), "y1")], ("SplitOptions", {"num_splits": 2}), 2),
    "MAXIMUM": (55, [_x(), qt("b", "int8", (17,), scale=0.5, zero_point=20)], [_y((3, 17))],
                None, 2),
    "RESIZE_NEAREST_NEIGHBOR": (97, [_x((1, 3, 3, 2)), T("size", INT32, (2,), i32(6, 5))],
                                [_y((1, 6, 5, 2))], None, 2),
    "SELECT_V2": (123, [T("c", BOOL, (3, 17)), _x(), qt("b", "int8", (17,), scale=0.5,
                                                        zero_point=20)], [_y((3, 17))], None, 1),
    "PAD": (34, [_x(), T("p", INT32, (2, 2), PADS)], [_y((4, 19))], None, 2),
    "UNIQUE": (103, [qt("x", "int8", (40,), **Q_IN)], [_y((40,)), T("idx", INT32, (40,))],
               ("UniqueOptions", {"idx_out_type": INT32}), 1),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(RAW))
def test_litert_moves_raw_integers_between_differently_quantised_tensors(name):
    """The output holds the input's integers (PAD: padded with the output's zero point), read
    with the output's own params."""
    code, tensors, outs, options, version = RAW[name]
    rng = np.random.default_rng(code)
    feeds = [
        rng.integers(0, 2, t.shape).astype(bool) if t.type == BOOL else ints(rng, t.shape)
        for t in tensors
        if t.data is None
    ]
    exact(q_model(code, tensors, outs, options, version=version), feeds)


REFUSED = {
    "EXPAND_DIMS": (70, [_x(), T("a", INT32, (), i32(1).reshape(()))], [_y((3, 1, 17))], None, 1),
    "PACK": (83, [_x(), _x(name="x2")], [_y((2, 3, 17))],
             ("PackOptions", {"values_count": 2, "axis": 0}), 1),
    "REDUCE_MAX": (82, [_x(), T("a", INT32, (1,), i32(1))], [_y((3,))], ("ReducerOptions", {}),
                   2),
    "MIRROR_PAD": (100, [_x(), T("p", INT32, (2, 2), PADS)], [_y((4, 19))],
                   ("MirrorPadOptions", {"mode": 0}), 2),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_moves_litert_refuses_between_different_params_are_refused(name):
    code, tensors, outs, options, version = REFUSED[name]
    with pytest.raises(gossamer.UnsupportedModelError, match=f"LiteRT refuses it for {name}"):
        gossamer.load(q_model(code, tensors, outs, options, version=version))
