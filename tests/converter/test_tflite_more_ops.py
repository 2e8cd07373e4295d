"""The less common TFLite builtins (GATHER_ND, SCATTER_ND, REVERSE_V2, ONE_HOT, MATRIX_DIAG, WHERE,
TOPK_V2, EMBEDDING_LOOKUP, SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND, SHAPE, RANK, FILL, ZEROS_LIKE,
RANGE, ADD_N, CUMSUM, REDUCE_ANY / REDUCE_ALL, LOCAL_RESPONSE_NORMALIZATION) against LiteRT's
reference kernels, on single-op models."""

import numpy as np
import pytest

pytest.importorskip("tflite")

from gossamer.refimpl.errors import UnsupportedModelError  # noqa: E402

import gossamer  # noqa: E402
from tests.converter.tflite_more_models import BOOL, F32, I32, I64, single_op  # noqa: E402

litert = pytest.importorskip("ai_edge_litert.interpreter")


def _check(model: bytes, feeds: dict | None = None, reference: bool = True) -> None:
    """Our outputs equal LiteRT's (BUILTIN_REF kernels unless not `reference`) on random feeds
    (or the given ones)."""
    resolver = litert.OpResolverType.BUILTIN_REF if reference else litert.OpResolverType.AUTO
    it = litert.Interpreter(model_content=model, experimental_op_resolver_type=resolver)
    it.allocate_tensors()
    rng = np.random.default_rng(0)
    feeds = dict(feeds or {})
    for d in it.get_input_details():
        if d["name"] not in feeds:
            if d["dtype"] == np.bool_:
                feeds[d["name"]] = rng.random(d["shape"]) > 0.5
            elif np.issubdtype(d["dtype"], np.integer):
                feeds[d["name"]] = rng.integers(-3, 4, d["shape"]).astype(d["dtype"])
            else:
                feeds[d["name"]] = (rng.standard_normal(d["shape"]) * 2).astype(d["dtype"])
        it.set_tensor(d["index"], feeds[d["name"]])
    it.invoke()
    theirs = [it.get_tensor(d["index"]) for d in it.get_output_details()]
    for optimize in (0, 3):
        ours = gossamer.load(model, optimize=optimize).run(None, feeds)
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert a.shape == b.shape and a.dtype == b.dtype, (a.shape, b.shape, a.dtype, b.dtype)
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


X = "serving_default_in0:0"


def test_gather_nd():
    indices = np.array([[[0, 1], [2, 0]], [[1, 1], [0, 2]]], np.int32)
    _check(single_op("GATHER_ND", [(F32, (3, 3, 4)), indices], [(F32, (2, 2, 4))]))


def test_scatter_nd_adds_duplicate_indices():
    indices = np.array([[1], [3], [1]], np.int32)
    shape = np.array([5, 2], np.int32)
    _check(single_op("SCATTER_ND", [indices, (F32, (3, 2)), shape], [(F32, (5, 2))]))


@pytest.mark.parametrize("axes", [[1], [0, 1], [-2, -1]])  # LiteRT: contiguous axes only
def test_reverse_v2(axes):
    axis = np.array(axes, np.int32)
    _check(single_op("REVERSE_V2", [(F32, (2, 3, 4)), axis], [(F32, (2, 3, 4))]))


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot_gives_off_values_for_indices_out_of_range(axis):
    indices = np.array([[0, 2, -1], [3, 1, 5]], np.int32)  # -1 and 5 are outside depth 4
    shape = {-1: (2, 3, 4), 0: (4, 2, 3), 1: (2, 4, 3)}[axis]
    inputs = [(I32, (2, 3)), np.array(4, np.int32), np.array(2.5, np.float32),
              np.array(-1.0, np.float32)]  # fmt: skip
    model = single_op("ONE_HOT", inputs, [(F32, shape)], ("OneHotOptions", {"axis": axis}))
    _check(model, {X: indices})


def test_matrix_diag():
    _check(single_op("MATRIX_DIAG", [(F32, (2, 3))], [(F32, (2, 3, 3))]))


@pytest.mark.parametrize("kind", [BOOL, F32])
def test_where_lists_the_coordinates_of_true_elements(kind):
    x = np.array([[True, False, True], [False, False, True]])
    feed = x if kind == BOOL else x.astype(np.float32) * 3
    _check(single_op("WHERE", [(kind, (2, 3))], [(I64, (3, 2))]), {X: feed})


def test_topk_v2_breaks_ties_by_lower_index():
    x = np.array([[1, 3, 3, 0, 2], [5, 5, 5, 5, 5]], np.float32)
    model = single_op("TOPK_V2", [(F32, (2, 5)), np.array(3, np.int32)],
                      [(F32, (2, 3)), (I32, (2, 3))])  # fmt: skip
    _check(model, {X: x})
    _check(single_op("TOPK_V2", [(F32, (3, 7)), np.array(4, np.int32)],
                     [(F32, (3, 4)), (I32, (3, 4))]))  # fmt: skip


def test_embedding_lookup():
    table = np.arange(15, dtype=np.float32).reshape(5, 3)
    model = single_op("EMBEDDING_LOOKUP", [(I32, (4,)), table], [(F32, (4, 3))])
    _check(model, {X: np.array([4, 0, 2, 2], np.int32)})


@pytest.mark.parametrize(
    "shape,block,pads",
    [((1, 4, 4, 2), [2, 2], [0, 0, 0, 0]), ((2, 5, 3, 1), [2, 3], [1, 0, 0, 0]),
     ((2, 6, 3), [3], [1, 2])],
)  # fmt: skip
def test_space_to_batch_nd_and_back(shape, block, pads):
    m = len(block)
    padded = [shape[1 + i] + pads[2 * i] + pads[2 * i + 1] for i in range(m)]
    out = (
        shape[0] * int(np.prod(block)),
        *[p // b for p, b in zip(padded, block)],
        *shape[m + 1 :],
    )
    b, p = np.array(block, np.int32), np.array(pads, np.int32).reshape(m, 2)
    _check(single_op("SPACE_TO_BATCH_ND", [(F32, shape), b, p], [(F32, out)]))
    back = (shape[0], *padded, *shape[m + 1 :])
    _check(single_op("BATCH_TO_SPACE_ND", [(F32, out), b, np.zeros((m, 2), np.int32)],
                     [(F32, back)]))  # fmt: skip
    _check(single_op("BATCH_TO_SPACE_ND", [(F32, out), b, p], [(F32, shape)]))


@pytest.mark.parametrize("out_type", [I32, I64])
def test_shape_and_rank(out_type):
    options = ("ShapeOptions", {"out_type": out_type})
    _check(single_op("SHAPE", [(F32, (2, 3, 4))], [(out_type, (3,))], options))
    _check(single_op("RANK", [(F32, (2, 3, 4))], [(I32, ())]))


def test_fill_with_computed_dims():
    dims = np.array([2, 3], np.int32)
    _check(single_op("FILL", [dims, (F32, ())], [(F32, (2, 3))]))
    _check(single_op("FILL", [(I32, (2,)), np.array(7, np.int32)], [(I32, (2, 3))]),
           {X: dims})  # fmt: skip


@pytest.mark.parametrize("kind", [F32, I32])
def test_zeros_like(kind):
    _check(single_op("ZEROS_LIKE", [(kind, (2, 3))], [(kind, (2, 3))]))


@pytest.mark.parametrize(
    "start,limit,delta", [(0, 7, 2), (5, -3, -3), (1.5, 4.0, 0.5)]
)  # fmt: skip
def test_range(start, limit, delta):
    kind, dtype = (F32, np.float32) if isinstance(start, float) else (I32, np.int32)
    n = len(np.arange(start, limit, delta))
    model = single_op("RANGE", [(kind, ()), np.array(limit, dtype), np.array(delta, dtype)],
                      [(kind, (n,))])  # fmt: skip
    _check(model, {X: np.array(start, dtype)})


def test_add_n():
    _check(single_op("ADD_N", [(F32, (2, 3)), (F32, (2, 3)), (F32, (2, 3))], [(F32, (2, 3))]))


@pytest.mark.parametrize("exclusive", [False, True])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum(exclusive, reverse):
    options = ("CumsumOptions", {"exclusive": exclusive, "reverse": reverse})
    inputs = [(F32, (2, 5)), np.array(1, np.int32)]
    _check(single_op("CUMSUM", inputs, [(F32, (2, 5))], options))


@pytest.mark.parametrize("code", ["REDUCE_ANY", "REDUCE_ALL"])
@pytest.mark.parametrize("keep", [False, True])
def test_reduce_any_all(code, keep):
    out = (2, 1, 4) if keep else (2, 4)
    options = ("ReducerOptions", {"keep_dims": keep})
    _check(single_op(code, [(BOOL, (2, 3, 4)), np.array([1], np.int32)], [(BOOL, out)], options))


def test_local_response_normalization_as_litert_runs_it_by_default():
    # LiteRT's optimised kernel (the default) sums channels c - radius .. c + radius, as ONNX LRN;
    # its reference kernel leaves c + radius out (a window one shorter), so it is not the oracle
    options = ("LocalResponseNormalizationOptions",
               {"radius": 2, "bias": 1.5, "alpha": 0.3, "beta": 0.75})  # fmt: skip
    _check(single_op("LOCAL_RESPONSE_NORMALIZATION", [(F32, (1, 3, 3, 7))], [(F32, (1, 3, 3, 7))],
                     options), reference=False)  # fmt: skip


@pytest.mark.parametrize("kind", ["SUM", "PROD", "MAX", "MIN"])
def test_unsorted_segment_ops_skip_negative_ids(kind):
    # LiteRT refuses an id >= num_segments when preparing; here segment 1 stays empty
    ids = np.array([2, 0, 2, -1, 3, 0], np.int32)
    inputs = [(F32, (6, 3)), ids, np.array(4, np.int32)]
    _check(single_op(f"UNSORTED_SEGMENT_{kind}", inputs, [(F32, (4, 3))]))


def test_unsorted_segment_sum_over_two_leading_dims():
    ids = np.array([[1, 0, 1], [2, 2, 0]], np.int32)
    inputs = [(F32, (2, 3, 4)), ids, np.array([3], np.int32)]
    _check(single_op("UNSORTED_SEGMENT_SUM", inputs, [(F32, (3, 4))]))


def test_segment_sum_takes_its_size_from_the_ids():
    ids = np.array([0, 0, 1, 2, 2], np.int32)  # LiteRT: sorted, no gaps
    model = single_op("SEGMENT_SUM", [(F32, (5, 2)), (I32, (5,))], [(F32, (3, 2))])
    _check(model, {"serving_default_in1:0": ids}, reference=False)  # not in BUILTIN_REF


@pytest.mark.parametrize("start", [[1, 2], [0, 0], [-3, 9], [3, 1]])  # clamped to fit
def test_dynamic_update_slice(start):
    inputs = [(F32, (4, 5)), (F32, (2, 3)), (I32, (2,))]
    model = single_op("DYNAMIC_UPDATE_SLICE", inputs, [(F32, (4, 5))])
    _check(model, {"serving_default_in2:0": np.array(start, np.int32)})


@pytest.mark.parametrize("padding", [0, 1])  # SAME, VALID
@pytest.mark.parametrize("stride", [1, 2])
def test_l2_pool_2d(padding, stride):
    options = ("Pool2DOptions", {"padding": padding, "stride_w": stride, "stride_h": stride,
                                 "filter_width": 3, "filter_height": 2})  # fmt: skip
    _check(single_op("L2_POOL_2D", [(F32, (1, 5, 6, 3))], [(F32, _pool_out(padding, stride))],
                     options))  # fmt: skip


def _pool_out(padding: int, stride: int) -> tuple[int, ...]:
    if padding == 0:
        return (1, -(-5 // stride), -(-6 // stride), 3)
    return (1, (5 - 2) // stride + 1, (6 - 3) // stride + 1, 3)


def test_relu_0_to_1():
    _check(single_op("RELU_0_TO_1", [(F32, (3, 4))], [(F32, (3, 4))]))


def test_a_computed_operand_that_must_be_constant_is_refused_with_the_reason():
    model = single_op("REVERSE_V2", [(F32, (2, 3)), (I32, (1,))], [(F32, (2, 3))])
    with pytest.raises(UnsupportedModelError, match=r"REVERSE_V2.*axis.*not a constant"):
        gossamer.load(model)


@pytest.mark.parametrize("code", ["GATHER_ND", "ONE_HOT", "UNSORTED_SEGMENT_MAX", "TOPK_V2"])
def test_an_operator_missing_inputs_is_refused_not_crashed_on(code):
    model = single_op(code, [(F32, (2, 3))], [(F32, (2, 3))])
    with pytest.raises(UnsupportedModelError, match=rf"{code}.*needs \d input"):
        gossamer.load(model)


@pytest.mark.parametrize("shape", [(2, 3, 3), (3, 5), (5, 3)])
def test_matrix_set_diag(shape):
    diag = (*shape[:-2], min(shape[-2:]))
    _check(single_op("MATRIX_SET_DIAG", [(F32, shape), (F32, diag)], [(F32, shape)]))


@pytest.mark.parametrize("seq_dim,batch_dim", [(1, 0), (0, 1), (2, 0), (1, 2)])
def test_reverse_sequence(seq_dim, batch_dim):
    shape = (3, 4, 5)
    lengths = np.array([2, 0, 3, 1, 5][: shape[batch_dim]], np.int32)
    lengths = np.minimum(lengths, shape[seq_dim])
    options = ("ReverseSequenceOptions", {"seq_dim": seq_dim, "batch_dim": batch_dim})
    _check(single_op("REVERSE_SEQUENCE", [(F32, shape), lengths], [(F32, shape)], options))


def test_broadcast_args_computed_and_constant():
    model = single_op("BROADCAST_ARGS", [(I32, (3,)), (I32, (2,))], [(I32, (3,))])
    _check(
        model,
        {X: np.array([2, 1, 4], np.int32), "serving_default_in1:0": np.array([3, 1], np.int32)},
    )
    model = single_op("BROADCAST_ARGS", [np.array([5, 1], np.int64), (I64, (3,))], [(I64, (3,))])
    _check(model, {"serving_default_in1:0": np.array([2, 1, 7], np.int64)})


@pytest.mark.parametrize("kind", ["matrix", "vector", "scalar"])
def test_sparse_to_dense(kind):
    if kind == "matrix":
        indices, shape = np.array([[0, 1], [2, 3], [1, 0]], np.int32), np.array([3, 4], np.int32)
        values = (F32, (3,))
    elif kind == "vector":
        indices, shape, values = np.array([4, 1], np.int32), np.array([6], np.int32), (F32, (2,))
    else:
        indices, shape, values = np.array(2, np.int32), np.array([5], np.int32), (F32, ())
    out = tuple(int(d) for d in shape)
    inputs = [indices, shape, values, np.array(-1.5, np.float32)]
    _check(single_op("SPARSE_TO_DENSE", inputs, [(F32, out)]))


def test_atan2_in_every_quadrant_and_on_the_axes():
    y = np.array([1, 1, -1, -1, 0, 0, 2, -2, 0, 3e-8], np.float32)
    x = np.array([1, -1, 1, -1, 1, -1, 0, 0, 0, -5.0], np.float32)
    model = single_op("ATAN2", [(F32, (10,)), (F32, (10,))], [(F32, (10,))])
    _check(model, {X: y, "serving_default_in1:0": x})
    _check(single_op("ATAN2", [(F32, (4, 50)), (F32, (4, 50))], [(F32, (4, 50))]))


def test_one_hot_and_topk_with_computed_depth_and_k():
    inputs = [(I32, (2, 3)), (I32, ()), np.array(1.0, np.float32), np.array(0.0, np.float32)]
    model = single_op("ONE_HOT", inputs, [(F32, (2, 3, 4))], ("OneHotOptions", {"axis": -1}))
    indices = np.array([[0, 2, -1], [3, 1, 5]], np.int32)
    _check(model, {X: indices, "serving_default_in1:0": np.array(4, np.int32)})
    model = single_op("TOPK_V2", [(F32, (3, 7)), (I32, ())], [(F32, (3, 2)), (I32, (3, 2))])
    _check(model, {"serving_default_in1:0": np.array(2, np.int32)})


@pytest.mark.parametrize("v5", [False, True])
@pytest.mark.parametrize(
    "limit,iou,score,spread",
    [(5, 0.3, 0.0, 1.0), (10, 0.5, 0.5, 1.0), (3, 0.9, -10.0, 1.0), (10, 0.4, -10.0, 0.3)],
)  # spread 0.3: boxes crowd together, so most are suppressed
def test_non_max_suppression_pads_to_max_output_size(v5, limit, iou, score, spread):
    rng = np.random.default_rng(limit)
    corner = rng.uniform(0, spread, (12, 2))
    boxes = np.concatenate([corner, corner + rng.uniform(0.1, 0.5, (12, 2))], 1).astype(np.float32)
    scores = rng.uniform(-1, 1, 12).astype(np.float32)
    consts = [np.array(limit, np.int32), np.array(iou, np.float32), np.array(score, np.float32)]
    inputs = [(F32, (12, 4)), (F32, (12,)), *consts]
    outputs = [(I32, (limit,)), (I32, ())]
    if v5:
        inputs.append(np.array(0.0, np.float32))
        outputs.insert(1, (F32, (limit,)))
    model = single_op(f"NON_MAX_SUPPRESSION_V{5 if v5 else 4}", inputs, outputs)
    _check(model, {X: boxes, "serving_default_in1:0": scores})


def test_soft_non_max_suppression_is_refused():
    inputs = [(F32, (4, 4)), (F32, (4,)), np.array(2, np.int32), np.array(0.5, np.float32),
              np.array(0.0, np.float32), np.array(0.5, np.float32)]  # fmt: skip
    model = single_op("NON_MAX_SUPPRESSION_V5", inputs, [(I32, (2,)), (F32, (2,)), (I32, ())])
    with pytest.raises(UnsupportedModelError, match="soft NMS"):
        gossamer.load(model)
