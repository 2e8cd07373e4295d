"""optimize_for_saving (converter/optimizer/weight_compaction.py): a model that stores its weights
as int8 codes is saved optimised as the load runs it, its new float32 weights stored as codes
again; the load expands it and runs it without optimising, with the same bits; anything that
would not round-trip, or would make the file larger, is saved as before."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.converter.optimizer import optimize, pipeline
from gossamer.converter.optimizer.record import optimized_level
from gossamer.converter.optimizer.weight_compaction import compact_weights, optimize_for_saving
from gossamer.converter.optimizer.weight_expansion import expand_stored_weights
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.model_format import load_gsm, save_gsm

import gossamer
from tests.conftest import MODELS_DIR

RNG = np.random.default_rng(0)
K, N = 32, 24


def _codes_model(k: int = K, n: int = N) -> Graph:
    """y = relu(x @ (float32(q) * s) + b): the weight stored as Cast(int8 codes) * column
    scales, which only the expanded graph's bias and activation fusions can reach."""
    q = RNG.integers(-127, 128, (k, n)).astype(np.int8)
    q[RNG.integers(0, k, n), np.arange(n)] = 127  # a symmetric quantiser's column peak
    s = (RNG.random(n).astype(np.float32) + 0.5) / 64
    return Graph(
        nodes=[
            Node("Cast", ["q"], ["qf"], {"to": 1}, "cast"),
            Node("Mul", ["qf", "s"], ["w"], {}, "scale"),
            Node("MatMul", ["x", "w"], ["xw"], {}, "mm"),
            Node("Add", ["xw", "b"], ["pre"], {}, "bias"),
            Node("Relu", ["pre"], ["y"], {}, "relu"),
        ],
        inputs=[Value("x", "float32", ("N", k))],
        outputs=[Value("y", "float32", ("N", n))],
        initializers={"q": q, "s": s, "b": RNG.standard_normal(n).astype(np.float32)},
        opsets={"": 21},
    )


def _run(graph: Graph, x: np.ndarray, **load) -> np.ndarray:
    return gossamer.load(graph, **load).run(None, {"x": x})[0]


def test_the_saved_graph_is_the_optimised_expansion_with_its_weights_as_codes(tmp_path):
    graph = _codes_model()
    saved, _ = optimize_for_saving(graph, 3)
    assert optimized_level(saved, expanded=True) == 3 and optimized_level(saved) == 0
    assert [n.op_type for n in saved.nodes] == ["Cast", "Mul", "FusedGemm"]  # bias, Relu fused
    assert not any(a.dtype == np.float32 and a.size == K * N for a in saved.initializers.values())
    # the load expands it and runs it as it is: no optimiser
    path = tmp_path / "m.gsm"
    save_gsm(saved, path)
    x = RNG.standard_normal((5, K)).astype(np.float32)
    expected = _run(graph, x)
    ran = []
    real = pipeline.optimize
    try:
        pipeline.optimize = lambda *a, **k: ran.append(1) or real(*a, **k)
        got = _run(load_gsm(path), x)
        assert ran == []
    finally:
        pipeline.optimize = real
    assert got.tobytes() == expected.tobytes()  # (the same graph once expanded: the same bits)
    for backends in ([], ["cython"]):
        np.testing.assert_array_equal(_run(load_gsm(path), x, backends=backends),
                                      _run(graph, x, backends=backends))  # fmt: skip


def test_the_load_of_a_saved_graph_takes_the_codes_as_stored(monkeypatch):
    """The expansion files each weight's codes (refimpl/int8_codes.remember): the int8 kernels
    take them as stored, never searching the floats, and give the float32 weight's bits."""
    from gossamer.cython_kernels import int8_weights

    saved, _ = optimize_for_saving(_codes_model(), 3)
    x = RNG.standard_normal((7, K)).astype(np.float32)
    monkeypatch.setenv("GOSSAMER_INT8_WEIGHTS", "0")
    floats = _run(saved, x, backends=["cython"])
    monkeypatch.delenv("GOSSAMER_INT8_WEIGHTS")

    def no_search(w):
        raise AssertionError("searched the floats for codes the load knew")

    monkeypatch.setattr(int8_weights, "int8_form", no_search)
    assert _run(saved, x, backends=["cython"]).tobytes() == floats.tobytes()


def test_a_float_model_is_saved_as_optimize_saves_it():
    graph = _codes_model()
    graph.initializers["w"] = np.asarray(expand_stored_weights(graph).initializers["w"])
    graph.nodes[:] = graph.nodes[2:]
    del graph.initializers["q"], graph.initializers["s"]
    saved, _ = optimize_for_saving(graph, 3)
    plain, _ = optimize(graph, 3)
    assert [n.op_type for n in saved.nodes] == [n.op_type for n in plain.nodes]
    assert optimized_level(saved) == 3


def test_a_large_new_weight_that_is_not_codes_refuses_the_compaction():
    """A weight the passes turned into something that is not codes times column scales would be
    stored as float32 (4x the bytes): no compacted graph; a small one (a joined bias) may."""
    graph = _codes_model(k=256, n=96)
    optimized, _ = optimize(expand_stored_weights(graph), 3)
    assert compact_weights(optimized, graph, 3) is not None
    optimized.initializers["w"] = RNG.standard_normal((256, 96)).astype(np.float32)
    assert compact_weights(optimized, graph, 3) is None
    small = _codes_model()
    optimized, _ = optimize(expand_stored_weights(small), 3)
    optimized.initializers["b"] = optimized.initializers["b"] + np.float32(1)  # a new float
    assert compact_weights(optimized, small, 3) is not None


def test_without_a_compaction_the_compact_form_is_saved_as_before(monkeypatch):
    from gossamer.converter.optimizer import weight_compaction

    graph = _codes_model(k=256, n=96)
    monkeypatch.setattr(weight_compaction, "compact_weights", lambda *a: None)
    saved, _ = optimize_for_saving(graph, 3)
    plain, _ = optimize(graph, 3)
    assert optimized_level(saved, expanded=True) == 0 and optimized_level(saved) == 3
    assert [n.op_type for n in saved.nodes] == [n.op_type for n in plain.nodes]
    assert "Cast" in {n.op_type for n in saved.nodes}  # (a weight this size is kept compact)


def test_compaction_refuses_a_graph_its_expansion_would_not_give_back(monkeypatch):
    from gossamer.converter.optimizer import weight_compaction

    graph = _codes_model()
    optimized, _ = optimize(expand_stored_weights(graph), 3)
    assert compact_weights(optimized, graph, 3) is not None
    monkeypatch.setattr(weight_compaction, "expand_stored_weights", lambda g: g)
    assert compact_weights(optimized, graph, 3) is None


def test_a_record_for_the_expanded_graph_is_not_one_for_the_graph_as_written():
    saved, _ = optimize_for_saving(_codes_model(), 3)
    assert optimized_level(saved, expanded=True) == 3
    assert optimized_level(saved, expanded=False) == 0  # optimize=0 runs it as written
    x = RNG.standard_normal((3, K)).astype(np.float32)
    written = gossamer.load(saved, optimize=0)
    assert "Cast" in {n.op_type for n in written.graph.nodes}
    np.testing.assert_allclose(written.run(None, {"x": x})[0], _run(saved, x), rtol=1e-5, atol=1e-6)


@pytest.mark.models
def test_minilm_l6_int8_saved_for_its_expanded_weights_loads_without_optimising(models_dir):
    from gossamer.converter.onnx_import import graph_from_onnx

    graph = graph_from_onnx(MODELS_DIR / "minilm_l6_int8.onnx")
    saved, _ = optimize_for_saving(graph, 3)
    plain, _ = optimize(graph, 3)
    assert optimized_level(saved, expanded=True) == 3
    size = sum(np.asarray(a).nbytes for a in saved.initializers.values())
    assert size <= 1.02 * sum(np.asarray(a).nbytes for a in plain.initializers.values())
    loaded = gossamer.load(saved)
    again = gossamer.load(plain)
    assert len(loaded.graph.nodes) == len(again.graph.nodes)
    feeds = {
        "input_ids": RNG.integers(0, 1000, (1, 24)).astype(np.int64),
        "attention_mask": np.ones((1, 24), np.int64),
        "token_type_ids": np.zeros((1, 24), np.int64),
    }
    feeds = {k: v for k, v in feeds.items() if k in {i.name for i in loaded.get_inputs()}}
    for a, b in zip(loaded.run(None, feeds), again.run(None, feeds)):
        assert np.asarray(a).tobytes() == np.asarray(b).tobytes()
