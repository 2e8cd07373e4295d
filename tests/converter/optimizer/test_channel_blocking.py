"""The channel_blocking pass: which convs it blocks, where it puts reorders, what it records,
and that the planned graph computes what the original computes (on the reference)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from gossamer.converter.optimizer import channel_blocking, optimize
from gossamer.converter.optimizer.rewrite import copy_graph

import gossamer
from gossamer.layout_planning import LAYOUT_KEY, describe_layout, plan_for_backends

from ._helpers import graph_of, node, ops

RNG = np.random.default_rng(5)
F32 = np.float32


def _w(*shape):
    return (RNG.standard_normal(shape) * 0.3).astype(F32)


def _chain(c_in=3, act_clip=True, tail="GlobalAveragePool", residual=True):
    """stem 3x3 s2 -> depthwise 3x3 -> 1x1 (+ residual of the stem) -> tail."""
    nodes = [
        node("Conv", ["x", "w0", "b0"], ["a"], kernel_shape=[3, 3], strides=[2, 2],
             pads=[1, 1, 1, 1]),
        node("Clip" if act_clip else "Relu", ["a", "lo", "hi"] if act_clip else ["a"], ["a1"]),
        node("Conv", ["a1", "w1"], ["d"], kernel_shape=[3, 3], group=16, pads=[1, 1, 1, 1]),
        node("Relu", ["d"], ["d1"]),
        node("Conv", ["d1", "w2", "b2"], ["p"], kernel_shape=[1, 1]),
    ]  # fmt: skip
    last = "p"
    if residual:
        nodes.append(node("Add", ["p", "a1"], ["s"]))
        last = "s"
    nodes.append(node(tail, [last], ["y"]))
    inits = {"w0": _w(16, c_in, 3, 3), "b0": _w(16), "w1": _w(16, 1, 3, 3), "w2": _w(16, 16, 1, 1),
             "b2": _w(16), "lo": np.array(0, F32), "hi": np.array(6, F32)}  # fmt: skip
    return graph_of(nodes, [("x", [1, c_in, 20, 18])], [("y", None)], inits)


@pytest.fixture
def cheap_reorders(monkeypatch):
    """Blocks chains whatever their reorders cost (these tests are about where reorders go)."""
    monkeypatch.setattr(channel_blocking, "MAX_CONVS_PER_REORDER", 1)


def _planned(graph):
    optimized, _ = optimize(graph, 3)
    planned = copy_graph(optimized)
    return optimized, planned, channel_blocking.run(planned)


def _run_ref(graph, x):
    return gossamer.Session(graph, backends=[]).run(None, {"x": x})[0]


def test_a_chain_of_convs_runs_blocked_with_no_reorder_at_a_stem_and_a_pool():
    _, planned, changes = _planned(_chain())
    counts = ops(planned)
    assert counts["gossamer::NchwcConv"] == 3
    assert counts["gossamer::NchwcGlobalAveragePool"] == 1
    assert "gossamer::NchwcReorderInput" not in counts  # the stem reads NCHW itself
    assert "gossamer::NchwcReorderOutput" not in counts  # the pool writes NCHW itself
    assert changes and "3 convs" in changes[0]
    plan = json.loads(planned.metadata[channel_blocking.METADATA_KEY])
    assert plan == {"layout": "NCHW8c", "chains": 1, "nodes": 3, "reorders": 0}


def test_the_planned_graph_computes_what_the_original_computes():
    optimized, planned, _ = _planned(_chain())
    x = RNG.standard_normal((1, 3, 20, 18)).astype(F32)
    np.testing.assert_allclose(_run_ref(planned, x), _run_ref(optimized, x), rtol=1e-5, atol=1e-5)


def test_a_reader_outside_the_chain_reads_through_one_reorder_keeping_the_value_name(
    cheap_reorders,
):
    optimized, planned, _ = _planned(_chain(tail="Flatten"))
    reorders = [n for n in planned.nodes if n.op_type == "NchwcReorderOutput"]
    assert len(reorders) == 1
    assert reorders[0].outputs == optimized.nodes[-1].inputs  # the Flatten's input, by name
    assert [v.name for v in planned.outputs] == ["y"]
    x = RNG.standard_normal((1, 3, 20, 18)).astype(F32)
    np.testing.assert_allclose(_run_ref(planned, x), _run_ref(optimized, x), rtol=1e-5, atol=1e-5)


def test_a_lone_conv_is_left_in_nchw():
    g = graph_of([node("Conv", ["x", "w"], ["y"], kernel_shape=[1, 1])], [("x", [1, 8, 5, 5])],
                 [("y", None)], {"w": _w(16, 8, 1, 1)})  # fmt: skip
    _, planned, changes = _planned(g)
    assert changes == [] and "gossamer::NchwcConv" not in ops(planned)
    assert channel_blocking.METADATA_KEY not in planned.metadata


def test_output_channels_not_a_multiple_of_the_block_stay_in_nchw():
    nodes = [node("Conv", ["x", "w0"], ["a"], kernel_shape=[1, 1]),
             node("Conv", ["a", "w1"], ["y"], kernel_shape=[1, 1])]  # fmt: skip
    g = graph_of(nodes, [("x", [1, 8, 5, 5])], [("y", None)],
                 {"w0": _w(12, 8, 1, 1), "w1": _w(12, 12, 1, 1)})  # fmt: skip
    assert _planned(g)[2] == []


def test_a_depthwise_conv_on_an_nchw_input_is_not_blocked():
    nodes = [node("Conv", ["x", "w0"], ["a"], kernel_shape=[3, 3], group=8, pads=[1, 1, 1, 1]),
             node("Conv", ["a", "w1"], ["y"], kernel_shape=[1, 1])]  # fmt: skip
    g = graph_of(nodes, [("x", [1, 8, 5, 5])], [("y", None)],
                 {"w0": _w(8, 1, 3, 3), "w1": _w(16, 8, 1, 1)})  # fmt: skip
    assert _planned(g)[2] == []  # the 1x1 alone would be a chain of one


def test_load_plans_the_layout_only_when_the_cython_backend_is_selected():
    optimized, _ = optimize(_chain(), 3)
    assert plan_for_backends(optimized, []) is optimized  # reference only
    planned = plan_for_backends(optimized, ["cython"])
    assert channel_blocking.METADATA_KEY in planned.metadata
    assert channel_blocking.METADATA_KEY not in optimized.metadata  # a copy was planned


def test_the_environment_switch_turns_the_pass_off(monkeypatch):
    monkeypatch.setenv("GOSSAMER_BLOCKED_LAYOUT", "0")
    optimized, _ = optimize(_chain(), 3)
    assert plan_for_backends(optimized, ["cython"]) is optimized


def test_describe_says_what_was_planned():
    _, planned, _ = _planned(_chain())
    line = describe_layout(planned)
    assert line is not None and "NCHW8c" in line and "3 convs in 1 blocked chain" in line
    assert describe_layout(_chain()) is None
    assert LAYOUT_KEY == channel_blocking.METADATA_KEY


def _pair(first, second_attrs=None, first_w=(16, 16, 1, 1), c=16, extra=()):
    """x -> first conv -> depthwise 3x3 -> extra nodes; y the last output."""
    nodes = [node("Conv", ["x", "w0"], ["a"], kernel_shape=list(first_w[2:]), **(first or {})),
             node("Conv", ["a", "w1"], ["d"], kernel_shape=[3, 3], group=16, pads=[1, 1, 1, 1]),
             *extra]  # fmt: skip
    out = extra[-1].output[0] if extra else "d"
    inits = {"w0": _w(*first_w), "w1": _w(16, 1, 3, 3), "w2": _w(16, 16, 1, 1)}
    return graph_of(nodes, [("x", [1, c, 6, 6])], [(out, None)], inits)


@pytest.mark.parametrize("residual", [True, False])
def test_a_residual_from_outside_the_chain_is_reordered_in(cheap_reorders, residual):
    """z read by a blocked conv but produced outside the chain: one NchwcReorderInput."""
    extra = [node("Conv", ["d", "w2"], ["p"], kernel_shape=[1, 1]),
             node("Add", ["p", "x"] if residual else ["p", "p"], ["y"])]  # fmt: skip
    optimized, planned, _ = _planned(_pair({}, extra=extra))
    assert ops(planned)["gossamer::NchwcConv"] == 3
    assert ("gossamer::NchwcReorderInput" in ops(planned)) == residual
    x = RNG.standard_normal((1, 16, 6, 6)).astype(F32)
    np.testing.assert_allclose(_run_ref(planned, x), _run_ref(optimized, x), rtol=1e-5, atol=1e-5)


def test_an_elementwise_op_of_two_blocked_values_runs_blocked(cheap_reorders):
    extra = [node("Conv", ["d", "w2"], ["p"], kernel_shape=[1, 1]),
             node("Mul", ["p", "a"], ["m"]), node("Relu", ["m"], ["y"])]  # fmt: skip
    optimized, planned, _ = _planned(_pair({}, extra=extra))
    counts = ops(planned)
    assert counts["gossamer::NchwcConv"] == 3 and counts["gossamer::NchwcReorderOutput"] == 1
    mul = next(n for n in planned.nodes if n.op_type == "Mul")
    assert all(i.endswith("_nchwc") for i in mul.inputs)  # on the blocked values, no reorder
    x = RNG.standard_normal((1, 16, 6, 6)).astype(F32)
    np.testing.assert_allclose(_run_ref(planned, x), _run_ref(optimized, x), rtol=1e-5, atol=1e-5)


def test_chains_without_a_depthwise_conv_stay_in_nchw():
    nodes = [node("Conv", ["x", "w0"], ["a"], kernel_shape=[1, 1]),
             node("Conv", ["a", "w1"], ["y"], kernel_shape=[1, 1])]  # fmt: skip
    g = graph_of(nodes, [("x", [1, 8, 5, 5])], [("y", None)],
                 {"w0": _w(16, 8, 1, 1), "w1": _w(16, 16, 1, 1)})  # fmt: skip
    assert _planned(g)[2] == []


def test_a_wide_3x3_conv_keeps_nchw_and_splits_the_chain():
    g = _pair({"pads": [1, 1, 1, 1]}, first_w=(16, 16, 3, 3))
    _, planned, _ = _planned(g)
    assert "gossamer::NchwcConv" not in ops(planned)  # the depthwise alone is no chain


def test_a_chain_needing_more_reorders_than_it_saves_stays_in_nchw():
    """3 convs and a reader of each blocked value outside the chain: 3 reorders."""
    extra = [node("Conv", ["d", "w2"], ["p"], kernel_shape=[1, 1]),
             node("Mul", ["a", "d"], ["m"]), node("Sub", ["m", "p"], ["y"])]  # fmt: skip
    g = _pair({}, extra=extra)
    g.nodes[3].op_type = "Pow"  # Mul would run blocked: an op the pass does not carry instead
    assert _planned(g)[2] == []


def test_a_planned_graph_exports_to_onnx_that_onnxruntime_runs_alike():
    ort = pytest.importorskip("onnxruntime")
    from gossamer.converter.onnx_export import graph_to_onnx

    optimized, planned, _ = _planned(_chain())
    model = graph_to_onnx(planned)
    assert {f.name.split("_")[0] for f in model.functions} >= {"NchwcConv"}
    x = RNG.standard_normal((1, 3, 20, 18)).astype(F32)
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y = got.run(None, {"x": x})[0]
    np.testing.assert_allclose(y, _run_ref(optimized, x), rtol=1e-5, atol=1e-5)
