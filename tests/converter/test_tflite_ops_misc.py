"""TFLite softmax/compare/select/cast/arg/split/stack/slice/gather/tile/depth-space ops against
LiteRT's reference kernels, on single-op models written with the `tflite` package's builders."""

import numpy as np
import pytest

pytest.importorskip("tflite")

import gossamer  # noqa: E402
from tests.converter.tflite_more_models import BOOL, F32, I32, I64, single_op  # noqa: E402

litert = pytest.importorskip("ai_edge_litert.interpreter")


def _model(code, inputs, outputs, options=None) -> bytes:
    """inputs: (type, shape) for a graph input, an array for a constant; outputs: (type, shape)."""
    version = 2 if code == "BROADCAST_TO" else 1  # LiteRT registers BROADCAST_TO from version 2
    return single_op(code, inputs, outputs, options, version)


def _check(model: bytes, reference: bool = True) -> None:
    sess = gossamer.load(model, optimize=0)
    it = litert.Interpreter(
        model_content=model,
        **(
            {"experimental_op_resolver_type": litert.OpResolverType.BUILTIN_REF}
            if reference
            else {}
        ),
    )
    it.allocate_tensors()
    rng = np.random.default_rng(0)
    feeds = {}
    for d in it.get_input_details():
        if d["dtype"] == np.bool_:
            feeds[d["name"]] = rng.random(d["shape"]) > 0.5
        elif np.issubdtype(d["dtype"], np.integer):
            feeds[d["name"]] = rng.integers(-3, 4, d["shape"]).astype(d["dtype"])
        else:
            feeds[d["name"]] = (rng.standard_normal(d["shape"]) * 2).astype(d["dtype"])
        it.set_tensor(d["index"], feeds[d["name"]])
    it.invoke()
    theirs = [it.get_tensor(d["index"]) for d in it.get_output_details()]
    ours = sess.run(None, feeds)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("beta", [1.0, 0.5])
def test_softmax(beta):
    _check(_model("SOFTMAX", [(F32, (2, 5))], [(F32, (2, 5))], ("SoftmaxOptions", {"beta": beta})))


def test_log_softmax_and_l2_normalization():
    _check(_model("LOG_SOFTMAX", [(F32, (2, 5))], [(F32, (2, 5))]))
    _check(_model("L2_NORMALIZATION", [(F32, (2, 3, 5))], [(F32, (2, 3, 5))]))


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu(approximate):
    options = ("GeluOptions", {"approximate": approximate})
    _check(_model("GELU", [(F32, (3, 4))], [(F32, (3, 4))], options), reference=False)


@pytest.mark.parametrize(
    "code", ["LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL", "EQUAL", "NOT_EQUAL"]
)
def test_comparisons(code):
    _check(_model(code, [(I32, (2, 3)), (I32, (1, 3))], [(BOOL, (2, 3))]))


def test_logical_and_select_v2():
    _check(_model("LOGICAL_AND", [(BOOL, (2, 3)), (BOOL, (2, 3))], [(BOOL, (2, 3))]))
    _check(_model("LOGICAL_NOT", [(BOOL, (2, 3))], [(BOOL, (2, 3))]))
    _check(_model("SELECT_V2", [(BOOL, (2, 1)), (F32, (2, 3)), (F32, (1, 3))], [(F32, (2, 3))]))


@pytest.mark.parametrize(("src", "dst"), [(F32, I32), (I32, F32), (BOOL, F32), (F32, BOOL)])
def test_cast(src, dst):
    _check(_model("CAST", [(src, (2, 3))], [(dst, (2, 3))]))


@pytest.mark.parametrize("code", ["ARG_MAX", "ARG_MIN"])
@pytest.mark.parametrize("out", [I32, I64])
def test_arg_max_min(code, out):
    kind = "ArgMaxOptions" if code == "ARG_MAX" else "ArgMinOptions"
    options = (kind, {"output_type": out})
    _check(_model(code, [(F32, (2, 5, 3)), np.array([-2], np.int32)], [(out, (2, 3))], options))


def test_split_and_split_v():
    options = ("SplitOptions", {"num_splits": 3})
    _check(_model("SPLIT", [np.array(1, np.int32), (F32, (2, 6))], [(F32, (2, 2))] * 3, options))
    sizes = np.array([1, -1, 2], np.int32)
    options = ("SplitVOptions", {"num_splits": 3})
    outs = [(F32, (1, 4)), (F32, (3, 4)), (F32, (2, 4))]
    _check(_model("SPLIT_V", [(F32, (6, 4)), sizes, np.array(0, np.int32)], outs, options))


def test_slice_gather_tile_broadcast():
    begin, size = np.array([0, 1, 2], np.int32), np.array([2, -1, 1], np.int32)
    _check(_model("SLICE", [(F32, (3, 4, 5)), begin, size], [(F32, (2, 3, 1))]))
    indices = np.array([[2, 0], [1, 1]], np.int32)
    options = ("GatherOptions", {"axis": 1})
    _check(_model("GATHER", [(F32, (3, 4)), indices], [(F32, (3, 2, 2))], options))
    _check(_model("TILE", [(F32, (2, 3)), np.array([2, 1], np.int32)], [(F32, (4, 3))]))
    shape = np.array([2, 3, 4], np.int32)
    _check(_model("BROADCAST_TO", [(F32, (3, 1)), shape], [(F32, (2, 3, 4))]))


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_pack_unpack(axis):
    out = {0: (3, 2, 4), 1: (2, 3, 4), -1: (2, 4, 3)}[axis]
    options = ("PackOptions", {"values_count": 3, "axis": axis})
    _check(_model("PACK", [(F32, (2, 4))] * 3, [(F32, out)], options))
    options = ("UnpackOptions", {"num": 3, "axis": axis})
    _check(_model("UNPACK", [(F32, out)], [(F32, (2, 4))] * 3, options))


def test_depth_to_space_and_back():
    options = ("DepthToSpaceOptions", {"block_size": 2})
    _check(_model("DEPTH_TO_SPACE", [(F32, (1, 2, 3, 8))], [(F32, (1, 4, 6, 2))], options))
    options = ("SpaceToDepthOptions", {"block_size": 2})
    _check(_model("SPACE_TO_DEPTH", [(F32, (1, 4, 6, 2))], [(F32, (1, 2, 3, 8))], options))


def test_mirror_pad_reflect():  # SYMMETRIC: tests/converter/test_tflite_indexing.py
    pads = np.array([[1, 2], [0, 1]], np.int32)
    options = ("MirrorPadOptions", {"mode": 0})
    _check(_model("MIRROR_PAD", [(F32, (4, 3)), pads], [(F32, (7, 4))], options))


@pytest.mark.parametrize(
    ("begin", "end", "strides", "masks", "out"),
    [
        ([0, 1, 0], [2, 4, 5], [1, 2, 2], {}, (2, 2, 3)),
        ([1, -1, 0], [3, 0, 5], [1, -1, 1], {"end_mask": 0b001}, (2, 4, 5)),
        ([0, 2, 0], [0, 3, 0], [1, 1, 1], {"begin_mask": 0b101, "end_mask": 0b101,
                                           "shrink_axis_mask": 0b010}, (3, 5)),
        ([0, 0, 1], [0, 0, 3], [1, 1, 1], {"ellipsis_mask": 0b001, "new_axis_mask": 0b010},
         (3, 4, 1, 2)),
        ([-1, 0, 0], [0, 4, 5], [-1, 1, 1], {"end_mask": 0b001}, (3, 4, 5)),
        ([-2, 0, 0], [0, 0, 0], [1, 1, 1], {"begin_mask": 0b110, "end_mask": 0b110,
                                            "shrink_axis_mask": 0b001}, (4, 5)),
    ],
)  # fmt: skip
def test_strided_slice(begin, end, strides, masks, out):
    consts = [np.array(v, np.int32) for v in (begin, end, strides)]
    options = ("StridedSliceOptions", masks) if masks else None
    _check(_model("STRIDED_SLICE", [(F32, (3, 4, 5)), *consts], [(F32, out)], options))


@pytest.mark.parametrize("code", ["RESIZE_BILINEAR", "RESIZE_NEAREST_NEIGHBOR"])
@pytest.mark.parametrize("flags", [{}, {"align_corners": True}, {"half_pixel_centers": True}])
@pytest.mark.parametrize("size", [(7, 9), (2, 3), (15, 4)])
def test_resize(code, flags, size):
    kind = "ResizeBilinearOptions" if code == "RESIZE_BILINEAR" else "ResizeNearestNeighborOptions"
    options = (kind, flags) if flags else None
    inputs = [(F32, (1, 5, 3, 2)), np.array(size, np.int32)]
    _check(_model(code, inputs, [(F32, (1, *size, 2))], options))
