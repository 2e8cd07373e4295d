"""Sparse constants (SparsityParameters) and DENSIFY against LiteRT, and hostile sparsity
parameters refused with a typed error."""

import copy

import numpy as np
import pytest

pytest.importorskip("tflite")

import gossamer  # noqa: E402
from gossamer import ModelFormatError  # noqa: E402
from tests.converter.tflite_models import FLOAT32, Op, Spec, T, build_model  # noqa: E402
from tests.converter.tflite_sparse_models import CSR, DENSE, encode, writer  # noqa: E402

litert = pytest.importorskip("ai_edge_litert.interpreter")
BuiltinOperator = pytest.importorskip("tflite").BuiltinOperator

# (dense shape, traversal order, block map, block sizes, formats)
LAYOUTS = {
    "csr": ((6, 8), [0, 1], [], [], [DENSE, CSR]),
    "csr_outer": ((6, 8), [0, 1], [], [], [CSR, CSR]),
    "column_major": ((6, 8), [1, 0], [], [], [DENSE, CSR]),
    "block_1x4": ((6, 8), [0, 1, 2], [1], [4], [DENSE, CSR, DENSE]),
    "block_2x2": ((6, 8), [0, 1, 2, 3], [0, 1], [2, 2], [DENSE, CSR, DENSE, DENSE]),
    "dense": ((6, 8), [0, 1], [], [], [DENSE, DENSE]),
}


def _weights(shape) -> np.ndarray:
    rng = np.random.default_rng(0)
    w = rng.standard_normal(shape).astype(np.float32)
    w[rng.random(shape) < 0.6] = 0  # mostly zeros, some whole rows and blocks empty
    w[1] = 0
    return w


def _model(layout: str, densify: bool = True, meta_edit=None, values_edit=None) -> bytes:
    shape, order, block_map, blocks, formats = LAYOUTS[layout]
    w = _weights(shape)
    values, meta = encode(w, order, block_map, blocks, formats)
    if meta_edit is not None:
        meta = copy.deepcopy(meta)
        meta_edit(meta)
    if values_edit is not None:
        values = values_edit(values)
    n_out, k = shape
    sparse = T("w_sparse", FLOAT32, shape, values.reshape(-1),
               sparsity=writer(order, block_map, meta))  # fmt: skip
    tensors = [T("serving_default_x:0", FLOAT32, (2, k)), sparse]
    ops = []
    if densify:
        tensors.append(T("w", FLOAT32, shape))
        ops.append(Op(BuiltinOperator.DENSIFY, [1], [2]))
    weights = len(tensors) - 1
    tensors.append(T("y", FLOAT32, (2, n_out)))
    ops.append(Op(BuiltinOperator.FULLY_CONNECTED, [0, weights, -1], [len(tensors) - 1]))
    return build_model(Spec(tensors, ops, [0], [len(tensors) - 1]))


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_densify_then_fully_connected_matches_litert(layout):
    model = _model(layout)
    x = np.random.default_rng(1).standard_normal((2, 8)).astype(np.float32)
    it = litert.Interpreter(model_content=model)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    theirs = it.get_tensor(it.get_output_details()[0]["index"])
    for level in (0, 3):
        (ours,) = gossamer.load(model, optimize=level).run(None, {"serving_default_x:0": x})
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(ours, x @ _weights((6, 8)).T, rtol=1e-5, atol=1e-5)


def test_densify_folds_into_one_constant():
    sess = gossamer.load(_model("block_1x4"), optimize=0)
    # DENSIFY leaves no node: FULLY_CONNECTED's Gemm reads a dense [6, 8] constant
    assert [n.op_type for n in sess.graph.nodes] == ["Gemm", "Identity"]
    gemm = sess.graph.nodes[0]
    np.testing.assert_array_equal(sess.graph.initializers[gemm.inputs[1]], _weights((6, 8)))


def test_a_sparse_constant_used_directly_is_densified():
    model = _model("csr", densify=False)
    x = np.ones((2, 8), np.float32)
    (ours,) = gossamer.load(model, optimize=0).run(None, {"serving_default_x:0": x})
    np.testing.assert_allclose(ours, x @ _weights((6, 8)).T, rtol=1e-5, atol=1e-5)


def _segments(value):
    def edit(meta):
        meta[1]["segments"] = value

    return edit


def _indices(value):
    def edit(meta):
        meta[1]["indices"] = value

    return edit


def _dense_size(level, value):
    def edit(meta):
        meta[level]["dense_size"] = value

    return edit


HOSTILE = {
    "segments too short": dict(meta_edit=_segments([0, 1])),
    "segments decreasing": dict(meta_edit=_segments([0, 5, 3, 8, 9, 10, 12])),
    "segment past the indices": dict(meta_edit=_segments([0, 1, 2, 3, 4, 5, 10**6])),
    "index outside the dim": dict(meta_edit=_indices([10**6] * 40)),
    "negative index": dict(meta_edit=_indices([-1] * 40)),
    "dense size wrong": dict(meta_edit=_dense_size(0, 7)),
    "huge dense size": dict(meta_edit=_dense_size(0, 2**31 - 1)),
    "too few values": dict(values_edit=lambda v: v[:-1]),
    "too many values": dict(values_edit=lambda v: np.concatenate([v, v])),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_sparsity_refused(case):
    model = _model("csr", **HOSTILE[case])
    with pytest.raises(ModelFormatError, match="w_sparse"):
        gossamer.load(model)


@pytest.mark.parametrize(
    "order,block_map,blocks,formats",
    [
        ([0, 0], [], [], [DENSE, CSR]),  # not a permutation
        ([0, 1, 5], [1], [4], [DENSE, CSR, DENSE]),  # block level out of range
        ([0, 1], [], [], [DENSE]),  # one level missing
        ([0, 1, 2], [3], [4], [DENSE, CSR, DENSE]),  # block map outside the rank
        ([0, 1, 2], [1], [3], [DENSE, CSR, DENSE]),  # a block that does not divide the dim
    ],
)
def test_hostile_layout_refused(order, block_map, blocks, formats):
    w = _weights((6, 8))
    values, meta = encode(w, [0, 1], [], [], [DENSE, CSR])
    if blocks:  # metadata for the block level as declared
        meta.append({"format": DENSE, "dense_size": blocks[0], "segments": [0], "indices": []})
    meta = meta[: len(formats)]
    sparse = T("w_sparse", FLOAT32, (6, 8), values, sparsity=writer(order, block_map, meta))
    spec = Spec(
        [T("x", FLOAT32, (2, 8)), sparse, T("w", FLOAT32, (6, 8)), T("y", FLOAT32, (2, 6))],
        [
            Op(BuiltinOperator.DENSIFY, [1], [2]),
            Op(BuiltinOperator.FULLY_CONNECTED, [0, 2, -1], [3]),
        ],
        [0],
        [3],
    )
    with pytest.raises(ModelFormatError, match="w_sparse"):
        gossamer.load(build_model(spec))
