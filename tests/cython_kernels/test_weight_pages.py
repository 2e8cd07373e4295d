"""Packed weights in 2 MiB pages (cython_kernels/weight_pages.py): a large weight is a 64-byte
aligned view of a chunk advised MADV_HUGEPAGE (Linux), weights never overlap, small ones and the
switched-off path use aligned_empty; a session's MatMul chain on such weights records its segment
and gives the bits of the same session on 4 KiB pages, at 1 and 2 threads."""

from __future__ import annotations

import sys

import numpy as np
import onnx
import pytest
from gossamer.cython_kernels import gemm_kernels, weight_pages
from gossamer.cython_kernels.gemm_kernels import pack_weights
from gossamer.plugins import prepacked
from onnx import helper, numpy_helper

import gossamer
from gossamer.cli import main

F32 = np.float32
HUGE = 2 << 20
linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or weight_pages._madvise is None,
    reason="MADV_HUGEPAGE is Linux's",
)


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


@linux_only
def test_large_weights_are_cut_from_advised_chunks():
    sizes = [weight_pages.MIN_BYTES // 4, 1_000_003, 3 << 20, 5 << 20, 70_000]
    got = [weight_pages.weight_empty(n) for n in sizes]
    spans = []
    for n, a in zip(sizes, got):
        assert a.shape == (n,) and a.dtype == F32 and a.flags.writeable
        assert a.ctypes.data % 64 == 0
        a[:] = n  # every byte is ours
        root = _root(a)
        assert root.base is None  # a plain ndarray owns the chunk (segments.py's _root)
        lo = root.ctypes.data + (-root.ctypes.data) % HUGE  # the advised, 2 MiB aligned part
        assert lo <= a.ctypes.data and a.ctypes.data + a.nbytes <= root.ctypes.data + root.nbytes
        spans.append((a.ctypes.data, a.ctypes.data + a.nbytes))
    for n, a in zip(sizes, got):
        assert (a == F32(n)).all()
    spans.sort()
    assert all(hi <= lo for (_, hi), (lo, _) in zip(spans, spans[1:]))


def test_small_weights_and_the_switch_use_aligned_empty(monkeypatch):
    n = weight_pages.MIN_BYTES // 4 - 1
    small = weight_pages.weight_empty(n)
    assert _root(small).nbytes == 4 * n + 64  # aligned_empty's own buffer
    monkeypatch.setattr(weight_pages, "ENABLED", False)
    off = weight_pages.weight_empty(1 << 20)
    assert _root(off).nbytes == (1 << 22) + 64 and off.ctypes.data % 64 == 0


def test_packed_weights_are_the_same_on_either_pages(monkeypatch):
    b = np.random.default_rng(0).standard_normal((384, 400), dtype=F32)
    huge = pack_weights(b)
    monkeypatch.setattr(weight_pages, "ENABLED", False)
    small = pack_weights(b)
    assert np.array_equal(huge.view(np.int32), small.view(np.int32))


def _matmul_chain(rng: np.random.Generator) -> bytes:
    """x [1, 37, 384] -> MatMul 384x1152 -> MatMul 1152x384 + residual -> y (weights of 1.7 MiB)."""
    w1 = rng.standard_normal((384, 1152), dtype=F32) / 20
    w2 = rng.standard_normal((1152, 384), dtype=F32) / 30
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]),
             helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["p"]),
             helper.make_node("Add", ["p", "x"], ["y"])]  # fmt: skip
    graph = helper.make_graph(
        nodes, "chain",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 37, 384])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 37, 384])],
        [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model.SerializeToString()


@pytest.mark.parametrize("threads", [1, 2])
def test_a_session_on_large_pages_records_and_keeps_the_bits(threads, monkeypatch):
    rng = np.random.default_rng(threads)
    model = _matmul_chain(rng)
    feeds = {"x": rng.standard_normal((1, 37, 384), dtype=F32)}
    huge = gossamer.load(model, backends=["cython"], threads=threads)
    monkeypatch.setattr(weight_pages, "ENABLED", False)
    small = gossamer.load(model, backends=["cython"], threads=threads)
    outs = []
    for sess in (huge, small):
        for _ in range(3):  # the first runs record, the later replay
            (y,) = sess.run(None, feeds)
        outs.append(y)
        segs = [seg for _, _, seg, _ in sess._program.schedule or () if seg is not None]
        assert segs, "the MatMul chain did not become a segment"
    assert np.array_equal(outs[0].view(np.int32), outs[1].view(np.int32))
    x = feeds["x"].astype(np.float64)
    want = np.maximum(
        x @ numpy_helper.to_array(onnx.load_from_string(model).graph.initializer[0]), 0
    ) @ numpy_helper.to_array(onnx.load_from_string(model).graph.initializer[1])
    np.testing.assert_allclose(outs[0], want + x, rtol=1e-4, atol=1e-3)


@linux_only
@pytest.mark.parametrize("threads", [1, 2])
def test_forms_read_from_a_packed_file_run_from_large_pages(threads, tmp_path, monkeypatch):
    """`convert --pack cython` stores the MatMuls' packed forms; a load maps them from the file
    (4 KiB page-cache pages), so each is copied into the weight pages (gemm_kernels' `place`),
    and the runs give the bits of packing at load."""
    rng = np.random.default_rng(10 + threads)
    source, packed = tmp_path / "chain.onnx", tmp_path / "chain.gsm"
    source.write_bytes(_matmul_chain(rng))
    assert main(["convert", str(source), "-o", str(packed), "--pack", "cython"]) == 0
    feeds = {"x": rng.standard_normal((1, 37, 384), dtype=F32)}
    placed: list[tuple[np.ndarray, np.ndarray]] = []

    def spy(form: np.ndarray) -> np.ndarray:
        placed.append((form, weight_pages.in_weight_pages(form)))
        return placed[-1][1]

    monkeypatch.setattr(gemm_kernels, "in_weight_pages", spy)
    before = prepacked.stats["reused"]
    from_file = gossamer.load(str(packed), backends=["cython"], threads=threads)
    packed_now = gossamer.load(source.read_bytes(), backends=["cython"], threads=threads)
    assert prepacked.stats["reused"] - before == 2 and len(placed) == 2  # both MatMuls' forms
    for form, moved in placed:
        assert moved is not form and np.array_equal(moved.view(np.int32), form.view(np.int32))
        root = _root(moved)
        assert root.base is None and root.nbytes >= weight_pages._CHUNK  # a weight chunk
    outs = []
    for sess in (from_file, packed_now):
        for _ in range(3):  # recorded, then replayed
            (y,) = sess.run(None, feeds)
        outs.append(y)
    assert np.array_equal(outs[0].view(np.int32), outs[1].view(np.int32))


def test_forms_stay_where_they_are_when_small_or_switched_off(monkeypatch):
    small = np.ones(weight_pages.MIN_BYTES // 4 - 16, F32)
    assert weight_pages.in_weight_pages(small) is small
    monkeypatch.setattr(weight_pages, "ENABLED", False)
    large = np.ones(1 << 20, F32)
    assert weight_pages.in_weight_pages(large) is large
