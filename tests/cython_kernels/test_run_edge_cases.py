"""Edges of a cython run: an empty intermediate recorded for segments, an initializer a feed
replaces (kernels, segments, partitions), graph outputs that would share the caller's feed, one
pool wake-up per run of a symbolic-shape model, a LayerNorm without statistics in a segment."""

from __future__ import annotations

import numpy as np
import pytest

import gossamer

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _ints(values: list[int], name: str):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def _model(nodes, inputs, outputs, inits, opset=13):
    g = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
        [helper.make_tensor_value_info(n, t, None) for n, t in outputs],
        initializer=inits,
    )
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


W = np.random.default_rng(0).standard_normal((24, 4, 1, 1)).astype(np.float32)


def test_an_empty_intermediate_survives_the_segment_recording():
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["t"]),
        helper.make_node("Slice", ["t", "s", "e", "ax"], ["q"]),  # t[:, 4:4]: empty
        helper.make_node("Shape", ["q"], ["qs"]),
        helper.make_node("Relu", ["t"], ["y"]),
    ]
    inits = [numpy_helper.from_array(W, "w"), _ints([4], "s"), _ints([4], "e"), _ints([1], "ax")]
    m = _model(nodes, [("x", TensorProto.FLOAT, [1, 4, 4, 4])],
               [("y", TensorProto.FLOAT), ("qs", TensorProto.INT64)], inits)  # fmt: skip
    s = gossamer.load(m, backends=["cython"], optimize=0)
    x = np.ones((1, 4, 4, 4), np.float32)
    for _ in range(3):  # node by node, recorded, segments
        y, qs = s.run(None, {"x": x})
        assert qs.tolist() == [1, 0, 4, 4] and y.shape == (1, 24, 4, 4)


def test_a_feed_replaces_an_initializer_that_is_also_a_graph_input():
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["t"]),
        helper.make_node("Slice", ["t", "s", "e", "ax"], ["q"]),
        helper.make_node("Relu", ["q"], ["y"]),
    ]
    inits = [numpy_helper.from_array(W, "w"), _ints([0], "s"), _ints([8], "e"), _ints([1], "ax")]
    inputs = [("x", TensorProto.FLOAT, [1, 4, 4, 4]), ("s", TensorProto.INT64, [1]),
              ("e", TensorProto.INT64, [1])]  # fmt: skip
    m = _model(nodes, inputs, [("y", TensorProto.FLOAT)], inits)
    x = np.random.default_rng(1).standard_normal((1, 4, 4, 4)).astype(np.float32)
    feeds = {"x": x, "s": np.array([8], np.int64), "e": np.array([16], np.int64)}
    want = gossamer.load(m, backends=[], optimize=0).run(None, feeds)[0]
    s = gossamer.load(m, backends=["cython"], optimize=0)
    for _ in range(3):
        np.testing.assert_allclose(s.run(None, feeds)[0], want, rtol=1e-5, atol=1e-6)
    default = gossamer.load(m, backends=[], optimize=0).run(None, {"x": x})[0]
    for _ in range(2):  # without the feeds: the initializers' bounds, not the recorded ones
        np.testing.assert_allclose(s.run(None, {"x": x})[0], default, rtol=1e-5, atol=1e-6)
    assert not np.allclose(default, want)


@pytest.mark.parametrize("backends", [[], ["cython"]])
def test_graph_outputs_never_share_the_callers_feed(backends):
    nodes = [
        helper.make_node("Reshape", ["x", "shp"], ["t"]),
        helper.make_node("Split", ["t", "sp"], ["a", "b"], axis=1),
        helper.make_node("Slice", ["t", "s", "e", "ax"], ["q"]),
        helper.make_node("Flatten", ["a"], ["ya"]),
        helper.make_node("Flatten", ["q"], ["yq"]),
        helper.make_node("Relu", ["b"], ["yb"]),
        helper.make_node("Identity", ["x"], ["yx"]),
    ]
    inits = [_ints([1, 32, 4, 4], "shp"), _ints([16, 16], "sp"), _ints([4], "s"),
             _ints([8], "e"), _ints([1], "ax")]  # fmt: skip
    outs = [(n, TensorProto.FLOAT) for n in ("ya", "yq", "yb", "yx")]
    m = _model(nodes, [("x", TensorProto.FLOAT, [1, 32, 16])], outs, inits)
    s = gossamer.load(m, backends=backends, optimize=0)
    x = np.random.default_rng(0).standard_normal((1, 32, 16)).astype(np.float32)
    for _ in range(3):
        got = s.run(None, {"x": x})
        assert not any(np.shares_memory(y, x) for y in got)
    np.testing.assert_array_equal(got[0], x[:, :16].reshape(1, -1))


def test_a_symbolic_shape_run_wakes_the_pool_once(monkeypatch):
    from gossamer.cython_kernels import segments

    calls: list[int] = []
    monkeypatch.setattr(segments, "_PREWAKE", calls.append)
    m = _model([helper.make_node("Relu", ["x"], ["y"])], [("x", TensorProto.FLOAT, ["N", 8])],
               [("y", TensorProto.FLOAT)], [], opset=17)  # fmt: skip
    s = gossamer.load(m, backends=["cython"], threads=2, optimize=0)
    for _ in range(3):
        s.run(None, {"x": np.ones((1, 8), np.float32)})
    assert calls == [2, 2, 2]


def test_a_compiled_partition_takes_a_replaced_initializer_as_an_input():
    from gossamer.plugins.partition import extract_partition
    from gossamer.refimpl.ir import Graph, Node, Value

    g = Graph(
        [Node("Add", ["x", "b"], ["y"], name="add"), Node("Mul", ["y", "k"], ["z"], name="mul")],
        [Value("x", "float32", (2,)), Value("b", "float32", (2,))],
        [Value("z", "float32", (2,))],
        initializers={"b": np.ones(2, np.float32), "k": np.full(2, 3, np.float32)},
    )
    part = extract_partition(g, ("add", "mul"), "p")
    assert [v.name for v in part.inputs] == ["x", "b"] and list(part.initializers) == ["k"]


def test_a_layer_norm_whose_statistics_nobody_reads_stays_in_its_segment():
    from gossamer.cython_kernels import segments

    rng = np.random.default_rng(3)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"]),
        helper.make_node("LayerNormalization", ["h", "g", "b"], ["n"], axis=-1),
        helper.make_node("Relu", ["n"], ["y"]),
    ]
    inits = [numpy_helper.from_array(rng.standard_normal((16, 32)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.standard_normal(32).astype(np.float32), "g"),
             numpy_helper.from_array(rng.standard_normal(32).astype(np.float32), "b")]  # fmt: skip
    m = _model(nodes, [("x", TensorProto.FLOAT, [4, 16])], [("y", TensorProto.FLOAT)], inits, 17)
    x = rng.standard_normal((4, 16)).astype(np.float32)
    want = gossamer.load(m, backends=[], optimize=0).run(None, {"x": x})[0]
    s = gossamer.load(m, backends=["cython"], optimize=0)
    for _ in range(4):
        np.testing.assert_allclose(s.run(None, {"x": x})[0], want, rtol=1e-5, atol=1e-5)
    assert segments.split_reasons(s._program) == {}
    assert [(a, b, g is not None) for a, b, g, _ in s._program.schedule] == [(0, 3, True)]
