"""gossamer::PackedAttention: the fusion (converter/optimizer/attention_fusion.py, run at load
for the cython backend), its reference, and the cython kernel (src/attention.c) on every SIMD
level and thread count, against the reference and (MiniLM) onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.converter.optimizer.attention_fusion import fused
from gossamer.cython_kernels._native import ext
from gossamer.refimpl.errors import OpArgumentError
from gossamer.refimpl.ir import Graph
from gossamer.refimpl.ops.op_packed_attention import packed_attention_1

import gossamer
from gossamer import builtin_models

from ._helpers import assert_close, one_node

# the kernel's sums differ from numpy's matmul in order (FMA, K blocks): a few ulp of the scores,
# which the softmax and P v carry into the output
RTOL, ATOL = 2e-5, 2e-6


def _unfused(qkv: np.ndarray, mask: np.ndarray | None, heads: int, scale: float) -> np.ndarray:
    """The block as numpy ops, in the unfused graph's order (float32 throughout)."""
    b, s, e3 = qkv.shape
    e = e3 // 3
    d = e // heads
    q, k, v = (qkv[..., i * e : (i + 1) * e].reshape(b, s, heads, d) for i in range(3))
    scores = np.matmul(q.transpose(0, 2, 1, 3), k.transpose(0, 2, 3, 1))
    scores = scores * np.float32(scale)
    if mask is not None:
        scores = scores + mask
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p = p / p.sum(-1, keepdims=True)
    return np.matmul(p, v.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3).reshape(b, s, e)


def _case(b: int, s: int, heads: int, d: int, mask: str, seed: int = 0):
    rng = np.random.default_rng(seed)
    qkv = rng.standard_normal((b, s, 3 * heads * d)).astype(np.float32)
    m = None
    if mask == "row":
        m = np.where(rng.random((1, 1, 1, s)) < 0.2, -10000.0, 0.0).astype(np.float32)
    elif mask == "batch":
        m = rng.standard_normal((b, 1, 1, s)).astype(np.float32)
    elif mask == "2d":
        m = rng.standard_normal((1, s)).astype(np.float32)
    return qkv, m


@pytest.mark.parametrize("mask", ["none", "row", "batch", "2d"])
def test_reference_is_the_unfused_block(mask):
    qkv, m = _case(2, 9, 3, 4, mask)
    got = packed_attention_1(qkv, m, num_heads=3, scale=0.5)
    np.testing.assert_allclose(got, _unfused(qkv, m, 3, 0.5), rtol=1e-6, atol=1e-7)
    assert got.shape == (2, 9, 12) and got.dtype == np.float32


def test_reference_refuses_bad_shapes():
    with pytest.raises(OpArgumentError):
        packed_attention_1(np.zeros((1, 4, 10), np.float32), num_heads=3)
    with pytest.raises(OpArgumentError):  # a mask that broadcasts the scores to more
        packed_attention_1(np.zeros((1, 4, 12), np.float32), np.zeros((2, 1, 4, 4), np.float32),
                           num_heads=2)  # fmt: skip


@pytest.mark.parametrize(
    "b,s,heads,d,mask",
    [(1, 128, 12, 32, "row"), (2, 37, 3, 8, "batch"), (1, 5, 2, 3, "none"), (3, 20, 4, 16, "2d"),
     (1, 1, 1, 1, "row"), (2, 200, 2, 64, "row")],
)  # fmt: skip
def test_kernel_matches_the_reference(level, nthreads, b, s, heads, d, mask):
    qkv, m = _case(b, s, heads, d, mask, seed=s)
    feeds = {"qkv": qkv} | ({"mask": m} if m is not None else {})
    model = one_node("PackedAttention", feeds, domain="gossamer", num_heads=heads, scale=0.3)
    ours = gossamer.load(model, backends=["cython"], threads=nthreads)
    assert set(ours.placement.backend_of.values()) == {"cython"}
    want = packed_attention_1(qkv, m, num_heads=heads, scale=0.3)
    for _ in range(2):  # the second run is the recorded one (segments)
        got = ours.run(None, feeds)[0]
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    got = ours.run(None, feeds)[0]  # replayed
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_a_mask_per_query_row_runs_the_reference():
    rng = np.random.default_rng(1)
    qkv = rng.standard_normal((1, 6, 12)).astype(np.float32)
    m = rng.standard_normal((1, 1, 6, 6)).astype(np.float32)  # varies over query rows
    model = one_node("PackedAttention", {"qkv": qkv, "mask": m}, domain="gossamer", num_heads=2)
    got = gossamer.load(model, backends=["cython"]).run(None, {"qkv": qkv, "mask": m})[0]
    np.testing.assert_allclose(got, packed_attention_1(qkv, m, num_heads=2), rtol=1e-6, atol=1e-7)


def test_wrapper_checks_its_arguments():
    qkv = np.zeros((1, 4, 12), np.float32)
    y = np.zeros((1, 4, 4), np.float32)
    with pytest.raises(ValueError):
        ext().attention(qkv, None, y, 5, 1.0, 1)  # 12 columns are not 3 x 5 heads
    with pytest.raises(ValueError):
        ext().attention(qkv, None, np.zeros((1, 4, 5), np.float32), 2, 1.0, 1)
    with pytest.raises(ValueError):
        ext().attention(qkv, np.zeros((1, 3), np.float32), y, 2, 1.0, 1)


def _minilm() -> tuple[bytes, dict]:
    rng = np.random.default_rng(0)
    feeds = {"input_ids": rng.integers(0, 1000, (1, 128)).astype(np.int64),
             "attention_mask": (rng.random((1, 128)) < 0.9).astype(np.int64)}  # fmt: skip
    return builtin_models.minilm_encoder().SerializeToString(), feeds


def test_minilm_is_fused_for_cython_only():
    model, _ = _minilm()
    ops = [n.op_type for n in gossamer.load(model, backends=["cython"]).graph.nodes]
    assert ops.count("PackedAttention") == 6 and "Softmax" not in ops
    ref = gossamer.load(model, backends=[])
    assert "PackedAttention" not in [n.op_type for n in ref.graph.nodes]


def test_fusion_is_exact_on_the_reference():
    from gossamer.converter.onnx_import import graph_from_onnx
    from gossamer.converter.optimizer import optimize

    model, feeds = _minilm()
    graph, _ = optimize(graph_from_onnx(builtin_models.minilm_encoder()), 3)
    after = fused(graph)
    assert isinstance(after, Graph) and after is not graph
    assert [n.op_type for n in after.nodes].count("PackedAttention") == 6
    want = gossamer.load(graph, backends=[], optimize=0).run(None, feeds)[0]
    got = gossamer.load(after, backends=[], optimize=0).run(None, feeds)[0]
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_minilm_matches_onnxruntime(simd, n):
    ort = pytest.importorskip("onnxruntime")
    model, feeds = _minilm()
    want = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    sess = gossamer.load(model, backends=["cython"], threads=n)
    for _ in range(3):  # node by node, recorded, replayed
        got = sess.run(None, feeds)[0]
        assert_close([got], [want], rtol=1e-4, atol=1e-4)


def _both_paths(qkv: np.ndarray, mask: np.ndarray | None, heads: int, threads: int):
    """ext().attention's output with the fused head and with the packed GEMM path, in one
    process (where the level has no fused head, e.g. AVX2 and generic, both are the GEMM path)."""
    b, s, e3 = qkv.shape
    out = []
    before = ext().attention_tune_fused(1)
    try:
        for fused_on in (1, 0):
            ext().attention_tune_fused(fused_on)
            y = np.full((b, s, e3 // 3), np.nan, np.float32)
            ext().attention(qkv, mask, y, heads, 0.1767767, threads)
            out.append(y)
    finally:
        ext().attention_tune_fused(before)
    return out


@pytest.mark.parametrize(
    "b,s,heads,d,mask",
    [(1, 128, 12, 32, "row"), (1, 128, 12, 32, "none"), (2, 37, 3, 8, "batch"),
     (1, 41, 4, 64, "row"), (3, 97, 1, 48, "2d"), (1, 13, 5, 17, "none"), (1, 400, 2, 32, "row"),
     (1, 1, 1, 1, "row"), (2, 25, 3, 16, "batch"), (1, 272, 1, 24, "2d")],
)  # fmt: skip
def test_fused_head_is_the_gemm_path_bit_for_bit(level, nthreads, b, s, heads, d, mask):
    """The fused head (AVX-512: q k^T, softmax and P v per 12-row panel, q and P read in place)
    gives the GEMM path's bits: odd sequence lengths (a last panel of 1-11 rows, softmax rows
    past the registers' 256), head widths of partial column vectors, K blocks (s = 400: P v in
    two), heads that do not divide over the threads (cut into row ranges), masks per batch."""
    qkv, m = _case(b, s, heads, d, mask, seed=s + d)
    m2 = None if m is None else np.ascontiguousarray(m.reshape(-1, s))
    fused_y, gemm_y = _both_paths(qkv, m2, heads, nthreads)
    assert np.array_equal(fused_y.view(np.int32), gemm_y.view(np.int32))
    want = packed_attention_1(qkv, m, num_heads=heads, scale=0.1767767)
    np.testing.assert_allclose(fused_y, want, rtol=RTOL, atol=ATOL)


def test_fused_head_k_blocks_are_the_gemm_paths(level, nthreads):
    """Both products cut along K (a K block of 16: q k^T over d = 40 in three, P v over s = 70 in
    five), each block's sums added to C as gemm.h's drivers do: the same bits."""
    qkv, m = _case(1, 70, 3, 40, "row", seed=7)
    old = ext().gemm_tune(16, 0)
    try:
        fused_y, gemm_y = _both_paths(qkv, m.reshape(1, 70), 3, nthreads)
    finally:
        ext().gemm_tune(old[0], old[1])
    assert np.array_equal(fused_y.view(np.int32), gemm_y.view(np.int32))
    want = packed_attention_1(qkv, m, num_heads=3, scale=0.1767767)
    np.testing.assert_allclose(fused_y, want, rtol=RTOL, atol=ATOL)


def test_fused_head_knob_asks_and_sets():
    before = ext().attention_tune_fused(-1)
    assert before in (0, 1)
    assert ext().attention_tune_fused(0) == before
    assert ext().attention_tune_fused(-1) == 0
    ext().attention_tune_fused(before)
    assert ext().attention_tune_fused(-1) == before


@pytest.mark.parametrize("heads,threads", [(2, 3), (4, 3), (1, 4), (6, 4)])
def test_fused_head_cut_into_row_ranges(level, heads, threads):
    """Heads that do not divide over the threads (fewer than 4 a thread) are cut into the fewest
    row ranges that do (2 heads on 3 threads: 3 ranges each; 6 on 4: 2): the same bits."""
    qkv, m = _case(1, 61, heads, 32, "row", seed=heads)
    fused_y, gemm_y = _both_paths(qkv, m.reshape(1, 61), heads, threads)
    assert np.array_equal(fused_y.view(np.int32), gemm_y.view(np.int32))
    want = packed_attention_1(qkv, m, num_heads=heads, scale=0.1767767)
    np.testing.assert_allclose(fused_y, want, rtol=RTOL, atol=ATOL)
