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


def _convs(counts):
    """Blocked convs, a depthwise conv fused with its 1x1 (NchwcDepthwisePointwise) two."""
    return counts["gossamer::NchwcConv"] + 2 * counts["gossamer::NchwcDepthwisePointwise"]


def _planned(graph):
    optimized, _ = optimize(graph, 3)
    planned = copy_graph(optimized)
    return optimized, planned, channel_blocking.run(planned)


def _run_ref(graph, x):
    return gossamer.Session(graph, backends=[]).run(None, {"x": x})[0]


def test_a_chain_of_convs_runs_blocked_with_no_reorder_at_a_stem_and_a_pool():
    _, planned, changes = _planned(_chain())
    counts = ops(planned)
    assert counts["gossamer::NchwcConv"] == 3 and "gossamer::NchwcDepthwisePointwise" not in counts
    assert counts["gossamer::NchwcGlobalAveragePool"] == 1
    assert "gossamer::NchwcReorderInput" not in counts  # the stem reads NCHW itself
    assert "gossamer::NchwcReorderOutput" not in counts  # the pool writes NCHW itself
    assert changes and "3 convs" in changes[0]
    plan = json.loads(planned.metadata[channel_blocking.METADATA_KEY])
    assert plan == {"layout": "NCHW8c", "chains": 1, "nodes": 3, "reorders": 0,
                    "fused_depthwise_pointwise": 0}  # fmt: skip


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


def test_load_skips_the_narrow_pass_for_a_graph_without_a_grouped_conv(monkeypatch):
    def never(graph, *args, **kwargs):
        raise AssertionError("the pass ran on a graph it cannot block")

    monkeypatch.setenv("GOSSAMER_BLOCKED_WIDE", "0")
    monkeypatch.setattr(channel_blocking, "planned", never)
    nodes = [node("Conv", ["x", "w0"], ["a"], kernel_shape=[1, 1]),
             node("Conv", ["a", "w1"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])]  # fmt: skip
    g = graph_of(nodes, [("x", [1, 8, 5, 5])], [("y", None)],
                 {"w0": _w(16, 8, 1, 1), "w1": _w(16, 16, 3, 3)})  # fmt: skip
    assert plan_for_backends(g, ["cython"]) is g


def test_a_grouped_conv_still_goes_through_the_pass(monkeypatch):
    seen = []
    monkeypatch.setattr(channel_blocking, "planned",
                        lambda graph, *a, **k: seen.append(graph) or graph)  # fmt: skip
    optimized, _ = optimize(_chain(), 3)
    plan_for_backends(optimized, ["cython"])
    assert seen == [optimized]


def test_the_environment_switch_turns_the_pass_off(monkeypatch):
    monkeypatch.setenv("GOSSAMER_BLOCKED_LAYOUT", "0")
    optimized, _ = optimize(_chain(), 3)
    assert plan_for_backends(optimized, ["cython"]) is optimized


def _plain_chain(c=16, hw=7, first_k=1):
    """x -> conv (first_k x first_k) -> 3x3 (c -> c, pad 1) -> 1x1 -> y, no depthwise conv."""
    pad = [first_k // 2] * 4
    nodes = [node("Conv", ["x", "w0", "b0"], ["a"], kernel_shape=[first_k] * 2, pads=pad),
             node("Relu", ["a"], ["a1"]),
             node("Conv", ["a1", "w1", "b1"], ["k"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             node("Relu", ["k"], ["k1"]),
             node("Conv", ["k1", "w2"], ["y"], kernel_shape=[1, 1])]  # fmt: skip
    inits = {"w0": _w(c, c, first_k, first_k), "b0": _w(c), "w1": _w(c, c, 3, 3), "b1": _w(c),
             "w2": _w(16, c, 1, 1)}  # fmt: skip
    return graph_of(nodes, [("x", [1, c, hw, hw])], [("y", None)], inits)


def _planned_wide(graph):
    optimized, _ = optimize(graph, 3)
    planned = copy_graph(optimized)
    return optimized, planned, channel_blocking.run(planned, wide=True)


@pytest.mark.parametrize("first_k", [1, 3])
def test_the_wide_pass_blocks_a_chain_without_a_depthwise_conv(cheap_reorders, first_k):
    """1x1 or 3x3, then a 3x3 of 16 channels on 7x7, then 1x1: one chain (the narrow pass keeps
    it NCHW); a 3x3 first conv reads the NCHW input through one reorder, a 1x1 as it comes."""
    g = _plain_chain(first_k=first_k)
    assert _planned(g)[2] == []
    optimized, planned, lines = _planned_wide(g)
    counts = ops(planned)
    assert len(lines) == 1 and counts["gossamer::NchwcConv"] == 3
    assert counts["gossamer::NchwcReorderInput"] == (1 if first_k == 3 else 0)
    assert counts["gossamer::NchwcReorderOutput"] == 1  # the graph output
    x = RNG.standard_normal((1, 16, 7, 7)).astype(F32)
    np.testing.assert_allclose(_run_ref(planned, x), _run_ref(optimized, x), rtol=1e-5, atol=1e-5)
    ours = gossamer.Session(planned, backends=["cython"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(ours, _run_ref(optimized, x), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("c,hw,blocked", [(64, 28, False), (64, 14, False), (64, 13, True),
                                          (64, 7, True), (32, 28, True)])  # fmt: skip
def test_the_wide_pass_leaves_winograds_3x3_convs_in_nchw(cheap_reorders, c, hw, blocked):
    """A 3x3 stride-1 conv of at least WINOGRAD_MIN_CIN channels whose F(4x4) tiles are mostly
    full stays NCHW (and the chain around it is cut: the 1x1s alone are two chains of one)."""
    _, planned, _ = _planned_wide(_plain_chain(c=c, hw=hw))
    convs = [n for n in planned.nodes if n.op_type == "NchwcConv"]
    assert len(convs) == (3 if blocked else 0)


def test_a_wide_conv_with_more_weights_than_the_limit_stays_nchw(cheap_reorders, monkeypatch):
    """A 3x3 on 7x7 (no Winograd) is blocked up to WIDE_MAX_WEIGHT_BYTES of weights only."""
    g = _plain_chain(c=32, hw=7)  # 32 x 32 x 3 x 3 floats: 36 KB
    assert len(_planned_wide(g)[2]) == 1
    monkeypatch.setattr(channel_blocking, "WIDE_MAX_WEIGHT_BYTES", 32 * 32 * 9 * 4 - 1)
    assert _planned_wide(g)[2] == []  # the two 1x1s alone: two chains of one


def test_a_wide_conv_whose_input_is_not_whole_blocks_stays_nchw(cheap_reorders):
    nodes = [node("Conv", ["x", "w0"], ["a"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             node("Conv", ["a", "w1"], ["y"], kernel_shape=[1, 1])]  # fmt: skip
    g = graph_of(nodes, [("x", [1, 12, 7, 7])], [("y", None)],
                 {"w0": _w(16, 12, 3, 3), "w1": _w(16, 16, 1, 1)})  # fmt: skip
    assert _planned_wide(g)[2] == []  # the 1x1 alone would be a chain of one


def test_the_wide_pass_reorders_a_shared_nchw_input_once(cheap_reorders):
    """Two wide 3x3 convs and a 1x1 reading one NCHW input (a ResNet downsampling block's conv and
    shortcut): one reorder, which the 1x1 reads too."""
    nodes = [node("Conv", ["x", "w0"], ["a"], kernel_shape=[3, 3], strides=[2, 2],
                  pads=[1, 1, 1, 1]),
             node("Relu", ["a"], ["a1"]),
             node("Conv", ["a1", "w1"], ["b"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             node("Conv", ["x", "w2"], ["s"], kernel_shape=[1, 1], strides=[2, 2]),
             node("Add", ["b", "s"], ["y0"]),
             node("Conv", ["x", "w3"], ["y1"], kernel_shape=[3, 3], strides=[2, 2],
                  pads=[1, 1, 1, 1]),
             node("Add", ["y0", "y1"], ["y"])]  # fmt: skip
    inits = {"w0": _w(32, 16, 3, 3), "w1": _w(32, 32, 3, 3), "w2": _w(32, 16, 1, 1),
             "w3": _w(32, 16, 3, 3)}  # fmt: skip
    g = graph_of(nodes, [("x", [1, 16, 14, 14])], [("y", None)], inits)
    optimized, planned, lines = _planned_wide(g)
    counts = ops(planned)
    assert len(lines) == 1 and counts["gossamer::NchwcConv"] == 4
    assert counts["gossamer::NchwcReorderInput"] == 1
    (reorder,) = [n for n in planned.nodes if n.op_type == "NchwcReorderInput"]
    readers = [n for n in planned.nodes if reorder.outputs[0] in n.inputs]
    assert len(readers) == 3
    x = RNG.standard_normal((1, 16, 14, 14)).astype(F32)
    np.testing.assert_allclose(_run_ref(planned, x), _run_ref(optimized, x), rtol=1e-5, atol=1e-5)


def test_load_plans_wide_where_the_cython_backend_asks_unless_switched_off(monkeypatch):
    """The cython backend says whether its kernels favour the wide pass (AVX-512); the session
    layer asks it (it may not import the kernels itself: tests/test_layering.py)."""
    from gossamer.cython_kernels.backend import CythonBackend

    from gossamer import layout_planning

    seen = []
    monkeypatch.setattr(channel_blocking, "planned",
                        lambda graph, *a, wide=False: seen.append(wide) or graph)  # fmt: skip
    optimized, _ = optimize(_plain_chain(), 3)
    monkeypatch.setattr(CythonBackend, "blocked_layout_wide", lambda self: True)
    plan_for_backends(optimized, ["cython"])
    monkeypatch.setattr(CythonBackend, "blocked_layout_wide", lambda self: False)
    plan_for_backends(optimized, ["cython"])  # no grouped conv: the narrow pass is not run
    assert seen == [True]
    monkeypatch.setattr(CythonBackend, "blocked_layout_wide", lambda self: True)
    monkeypatch.setenv("GOSSAMER_BLOCKED_WIDE", "0")
    plan_for_backends(optimized, ["cython"])
    assert seen == [True] and layout_planning._wide_allowed() is False


def test_the_cython_backend_asks_for_the_wide_pass_with_its_avx512_kernels():
    from gossamer.cython_kernels import simd_level
    from gossamer.cython_kernels.backend import CythonBackend

    assert CythonBackend().blocked_layout_wide() == (simd_level() == "avx512f")


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
    assert _convs(ops(planned)) == 3
    assert ("gossamer::NchwcReorderInput" in ops(planned)) == residual
    x = RNG.standard_normal((1, 16, 6, 6)).astype(F32)
    np.testing.assert_allclose(_run_ref(planned, x), _run_ref(optimized, x), rtol=1e-5, atol=1e-5)


def test_an_elementwise_op_of_two_blocked_values_runs_blocked(cheap_reorders):
    extra = [node("Conv", ["d", "w2"], ["p"], kernel_shape=[1, 1]),
             node("Mul", ["p", "a"], ["m"]), node("Relu", ["m"], ["y"])]  # fmt: skip
    optimized, planned, _ = _planned(_pair({}, extra=extra))
    counts = ops(planned)
    assert _convs(counts) == 3 and counts["gossamer::NchwcReorderOutput"] == 1
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


def _mobilenet_v3_block(act="HardSwish", affine=("Mul", "Add"), se=True, head="Conv", more=()):
    """1x1 (act) -> [Mul, Add by scalars] -> depthwise 5x5 (act) -> [Mul, Add per channel] ->
    [squeeze-and-excitation: GAP -> 1x1 Relu -> 1x1 HardSigmoid -> Mul] -> 1x1 (or a
    GlobalAveragePool) -> y; `more` nodes added (their outputs graph outputs too)"""
    nodes, last = [node("Conv", ["x", "w0", "b0"], ["a"], kernel_shape=[1, 1])], "a"
    inits = {"w0": _w(16, 8, 1, 1), "b0": _w(16), "w1": _w(16, 1, 5, 5), "w3": _w(16, 16, 1, 1),
             "s0": np.array([1.3], F32), "t0": np.array([-0.2], F32),
             "s1": (1 + _w(1, 16, 1, 1)), "t1": _w(16, 1, 1),
             "wse0": _w(4, 16, 1, 1), "wse1": _w(16, 4, 1, 1), "bse1": _w(16)}  # fmt: skip

    def activation(x, out):
        if act == "LeakyRelu":
            return node("LeakyRelu", [x], [out], alpha=0.2)
        return node(act, [x], [out])

    def tail(x, scale, shift):
        out = [activation(x, f"{x}_act")]
        y = f"{x}_act"
        if "Mul" in affine:
            out.append(node("Mul", [scale, y], [f"{x}_m"]))  # the constant first (ppocr's order)
            y = f"{x}_m"
        if "Add" in affine:
            out.append(node("Add", [y, shift], [f"{x}_s"]))
            y = f"{x}_s"
        return out, y

    part, last = tail(last, "s0", "t0")
    nodes += part
    nodes.append(node("Conv", [last, "w1"], ["d"], kernel_shape=[5, 5], group=16,
                      pads=[2, 2, 2, 2]))  # fmt: skip
    part, last = tail("d", "s1", "t1")
    nodes += part
    if se:
        nodes += [node("GlobalAveragePool", [last], ["g"]),
                  node("Conv", ["g", "wse0"], ["g1"], kernel_shape=[1, 1]),
                  node("Relu", ["g1"], ["g2"]),
                  node("Conv", ["g2", "wse1", "bse1"], ["g3"], kernel_shape=[1, 1]),
                  node("HardSigmoid", ["g3"], ["g4"], alpha=0.2, beta=0.5),
                  node("Mul", [last, "g4"], ["e"])]  # fmt: skip
        last = "e"
    if head == "Conv":
        nodes.append(node("Conv", [last, "w3"], ["y"], kernel_shape=[1, 1]))
    else:
        nodes.append(node(head, [last], ["y"]))
    outputs = [("y", None)] + [(n.output[0], None) for n in more]
    return graph_of(nodes + list(more), [("x", [1, 8, 9, 11])], outputs, inits)


@pytest.mark.parametrize("act", ["HardSwish", "LeakyRelu", "Sigmoid", "HardSigmoid"])
def test_activations_the_blocked_epilogue_computes_keep_the_chain_blocked(act):
    optimized, planned, changes = _planned(_mobilenet_v3_block(act))
    counts = ops(planned)
    assert changes, counts
    assert "Mul" not in counts or counts["Mul"] == 1  # only the excitation Mul stays a node
    assert "Add" not in counts and act not in counts
    assert counts["gossamer::NchwcConv"] == 4  # 1x1, depthwise, the excitation 1x1, last 1x1
    x = RNG.standard_normal((1, 8, 9, 11)).astype(F32)
    np.testing.assert_allclose(_run_ref(planned, x), _run_ref(optimized, x), rtol=1e-5, atol=1e-5)


def test_a_constant_mul_and_add_after_the_activation_become_the_convs_scale_and_shift(
    cheap_reorders,
):
    _, planned, _ = _planned(_mobilenet_v3_block(se=False, head="GlobalAveragePool"))
    convs = [n for n in planned.nodes if n.op_type == "NchwcConv"]
    assert [len(n.inputs) for n in convs] == [6, 6]  # x w b z scale shift
    assert convs[0].attrs["activation"] == "HardSwish"
    assert planned.initializers[convs[1].inputs[4]].shape == (1, 16, 1, 1)


@pytest.mark.parametrize("affine", [("Mul",), ("Add",)])
def test_a_lone_mul_or_add_is_taken_alone(cheap_reorders, affine):
    g = _mobilenet_v3_block(affine=affine, se=False, head="GlobalAveragePool")
    optimized, planned, _ = _planned(g)
    assert not ({"Mul", "Add"} & set(ops(planned)))
    x = RNG.standard_normal((1, 8, 9, 11)).astype(F32)
    np.testing.assert_allclose(_run_ref(planned, x), _run_ref(optimized, x), rtol=1e-5, atol=1e-5)


def test_a_mul_of_a_result_read_twice_is_not_taken_in(cheap_reorders):
    g = _mobilenet_v3_block(affine=("Mul",), se=False, head="GlobalAveragePool",
                            more=[node("Relu", ["d_act"], ["r"])])  # fmt: skip
    optimized, planned, _ = _planned(g)
    depthwise = next(n for n in planned.nodes if n.op_type == "NchwcConv" and n.attrs.get("group"))
    assert len(depthwise.inputs) <= 4  # its Mul stays a node (blocked): the Relu reads its x
    x = RNG.standard_normal((1, 8, 9, 11)).astype(F32)
    got = gossamer.Session(planned, backends=[]).run(None, {"x": x})
    want = gossamer.Session(optimized, backends=[]).run(None, {"x": x})
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_the_excitation_mul_broadcasts_on_the_blocked_values():
    _, planned, _ = _planned(_mobilenet_v3_block())
    mul = next(n for n in planned.nodes if n.op_type == "Mul")
    assert all(i.endswith("_nchwc") for i in mul.inputs)
    assert ops(planned)["gossamer::NchwcReorderOutput"] == 1  # y, the graph output


def test_a_planned_block_with_scale_shift_and_excitation_exports_to_onnx_alike():
    ort = pytest.importorskip("onnxruntime")
    from gossamer.converter.onnx_export import graph_to_onnx

    optimized, planned, _ = _planned(_mobilenet_v3_block())
    assert any(len(n.inputs) == 6 for n in planned.nodes if n.op_type == "NchwcConv")
    model = graph_to_onnx(planned)
    x = RNG.standard_normal((1, 8, 9, 11)).astype(F32)
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y = got.run(None, {"x": x})[0]
    np.testing.assert_allclose(y, _run_ref(optimized, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("axis", [1, -3])
def test_a_concat_of_blocked_values_along_the_channels_runs_blocked(cheap_reorders, axis):
    extra = [node("Conv", ["d", "w2"], ["p"], kernel_shape=[1, 1]),
             node("Concat", ["p", "a"], ["c"], axis=axis),
             node("GlobalAveragePool", ["c"], ["y"])]  # fmt: skip
    optimized, planned, _ = _planned(_pair({}, extra=extra))
    concat = next(n for n in planned.nodes if n.op_type == "Concat")
    assert all(i.endswith("_nchwc") for i in concat.inputs)
    assert "gossamer::NchwcReorderOutput" not in ops(planned)
    x = RNG.standard_normal((1, 16, 6, 6)).astype(F32)
    np.testing.assert_allclose(_run_ref(planned, x), _run_ref(optimized, x), rtol=1e-5, atol=1e-5)
    ours = gossamer.Session(planned, backends=["cython"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(ours, _run_ref(optimized, x), rtol=1e-5, atol=1e-5)


def test_a_concat_along_another_axis_ends_the_chain(cheap_reorders):
    extra = [node("Conv", ["d", "w2"], ["p"], kernel_shape=[1, 1]),
             node("Concat", ["p", "a"], ["y"], axis=2)]  # fmt: skip
    _, planned, _ = _planned(_pair({}, extra=extra))
    concat = next(n for n in planned.nodes if n.op_type == "Concat")
    assert not any(i.endswith("_nchwc") for i in concat.inputs)


def _with_classifier(trans_b=1, m=24, bias_shape=(24,)):
    """_chain's stem, depthwise and 1x1 convs and pool, then Flatten and a Gemm by constant
    weights (a classifier head)."""
    nodes = [
        node("Conv", ["x", "w0", "b0"], ["a"], kernel_shape=[3, 3], strides=[2, 2],
             pads=[1, 1, 1, 1]),
        node("Relu", ["a"], ["a1"]),
        node("Conv", ["a1", "w1"], ["d"], kernel_shape=[3, 3], group=16, pads=[1, 1, 1, 1]),
        node("Conv", ["d", "w2", "b2"], ["p"], kernel_shape=[1, 1]),
        node("GlobalAveragePool", ["p"], ["g"]),
        node("Flatten", ["g"], ["f"], axis=1),
        node("Gemm", ["f", "gw"] + (["gb"] if bias_shape else []), ["y"], transB=trans_b),
    ]  # fmt: skip
    inits = {"w0": _w(16, 3, 3, 3), "b0": _w(16), "w1": _w(16, 1, 3, 3), "w2": _w(16, 16, 1, 1),
             "b2": _w(16), "gw": _w(m, 16) if trans_b else _w(16, m)}  # fmt: skip
    if bias_shape:
        inits["gb"] = _w(*bias_shape)
    return graph_of(nodes, [("x", [1, 3, 20, 18])], [("y", None)], inits)


@pytest.mark.parametrize("trans_b,bias_shape", [(1, (24,)), (0, (1, 24)), (1, None)],
                         ids=["transB", "B_KxM_bias_1xM", "no_bias"])  # fmt: skip
def test_a_classifier_gemm_after_the_pool_becomes_a_pointwise_conv(trans_b, bias_shape):
    optimized, planned, _ = _planned(_with_classifier(trans_b, 24, bias_shape))
    counts = ops(planned)
    assert _convs(counts) == 4 and "Gemm" not in counts and "Flatten" not in counts
    assert counts["Reshape"] == 2 and "gw" not in planned.initializers
    x = RNG.standard_normal((1, 3, 20, 18)).astype(F32)
    np.testing.assert_allclose(_run_ref(planned, x), _run_ref(optimized, x), rtol=1e-5, atol=1e-5)
    ours = gossamer.Session(planned, backends=["cython"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(ours, _run_ref(optimized, x), rtol=1e-4, atol=1e-5)


def test_a_classifier_with_outputs_not_a_multiple_of_the_block_keeps_its_gemm():
    _, planned, _ = _planned(_with_classifier(1, 20, (20,)))
    counts = ops(planned)
    assert counts["Gemm"] == 1 and _convs(counts) == 3


def _pooled_chain(indices=False, tap=False):
    """SqueezeNet's start: stem 3x3 s2 -> Relu -> MaxPool 3x3 s2 ceil -> 1x1 -> Relu -> 1x1 ->
    GlobalAveragePool."""
    pool_out = ["m", "i"] if indices else ["m"]
    nodes = [node("Conv", ["x", "w0", "b0"], ["a"], kernel_shape=[3, 3], strides=[2, 2]),
             node("Relu", ["a"], ["a1"]),
             node("MaxPool", ["a1"], pool_out, kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
             node("Conv", ["m", "w1", "b1"], ["p"], kernel_shape=[1, 1]),
             node("Relu", ["p"], ["p1"]),
             node("Conv", ["p1", "w2"], ["q"], kernel_shape=[1, 1]),
             node("GlobalAveragePool", ["q"], ["y"])]  # fmt: skip
    inits = {"w0": _w(16, 3, 3, 3), "b0": _w(16), "w1": _w(8, 16, 1, 1), "b1": _w(8),
             "w2": _w(24, 8, 1, 1)}  # fmt: skip
    outs = [("y", None)] + ([("i", None)] if indices else []) + ([("a1", None)] if tap else [])
    return graph_of(nodes, [("x", [1, 3, 23, 21])], outs, inits)


def test_a_max_pool_inside_a_chain_runs_blocked_fused_with_its_conv_and_no_reorder():
    optimized, planned, lines = _planned_wide(_pooled_chain())
    counts = ops(planned)
    assert len(lines) == 1 and counts["gossamer::NchwcConv"] == 2
    assert counts["gossamer::NchwcConvMaxPool"] == 1 and "MaxPool" not in counts
    assert "gossamer::NchwcReorderOutput" not in counts
    assert "gossamer::NchwcReorderInput" not in counts
    fused = next(n for n in planned.nodes if n.op_type == "NchwcConvMaxPool")
    assert fused.attrs["pool_ceil_mode"] == 1 and fused.attrs["pool_kernel_shape"] == [3, 3]
    assert fused.attrs["strides"] == [2, 2] and fused.attrs["activation"] == "Relu"
    assert fused.inputs[:3] == ["x", "w0", "b0"]
    x = RNG.standard_normal((1, 3, 23, 21)).astype(F32)
    want = _run_ref(optimized, x)
    np.testing.assert_allclose(_run_ref(planned, x), want, rtol=1e-5, atol=1e-5)
    ours = gossamer.Session(planned, backends=["cython"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-5)


def test_a_conv_whose_result_another_node_reads_keeps_its_max_pool_apart(cheap_reorders):
    optimized, planned, _ = _planned_wide(_pooled_chain(tap=True))
    counts = ops(planned)
    assert counts["gossamer::NchwcMaxPool"] == 1 and "gossamer::NchwcConvMaxPool" not in counts
    x = RNG.standard_normal((1, 3, 23, 21)).astype(F32)
    want = gossamer.Session(optimized, backends=[]).run(None, {"x": x})
    got = gossamer.Session(planned, backends=["cython"]).run(None, {"x": x})
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_a_max_pool_with_its_indices_output_ends_the_chain(cheap_reorders):
    _, planned, _ = _planned_wide(_pooled_chain(indices=True))
    counts = ops(planned)
    assert "gossamer::NchwcMaxPool" not in counts and counts["MaxPool"] == 1


def _resnet_start(stem_k=7, c_in=3):
    """ResNet's start: stem k x k s2 -> Relu -> MaxPool 3x3 s2 -> 3x3 of 64 channels on 14x14
    (Winograd's: stays NCHW) -> y."""
    nodes = [node("Conv", ["x", "w0", "b0"], ["a"], kernel_shape=[stem_k] * 2, strides=[2, 2],
                  pads=[stem_k // 2] * 4),
             node("Relu", ["a"], ["a1"]),
             node("MaxPool", ["a1"], ["m"], kernel_shape=[3, 3], strides=[2, 2],
                  pads=[1, 1, 1, 1]),
             node("Conv", ["m", "w1", "b1"], ["y"], kernel_shape=[3, 3],
                  pads=[1, 1, 1, 1])]  # fmt: skip
    inits = {"w0": _w(64, c_in, stem_k, stem_k), "b0": _w(64), "w1": _w(64, 64, 3, 3) * 0.2,
             "b1": _w(64)}  # fmt: skip
    return graph_of(nodes, [("x", [1, c_in, 56, 56])], [("y", None)], inits)


def test_the_wide_pass_blocks_a_stem_and_its_max_pool_alone_with_one_reorder():
    """ResNet's stem + pool: one NchwcConvMaxPool and one reorder of the pooled plane, the 3x3
    after it NCHW (Winograd's); the narrow pass leaves it all NCHW."""
    g = _resnet_start()
    assert _planned(g)[2] == []
    optimized, planned, lines = _planned_wide(g)
    counts = ops(planned)
    assert len(lines) == 1 and counts["gossamer::NchwcConvMaxPool"] == 1
    assert counts["gossamer::NchwcReorderOutput"] == 1 and counts["Conv"] == 1
    assert "gossamer::NchwcReorderInput" not in counts and "MaxPool" not in counts
    x = RNG.standard_normal((1, 3, 56, 56)).astype(F32)
    want = _run_ref(optimized, x)
    np.testing.assert_allclose(_run_ref(planned, x), want, rtol=1e-5, atol=1e-5)
    ours = gossamer.Session(planned, backends=["cython"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-4)


def test_a_stem_whose_result_another_node_reads_keeps_its_max_pool_in_nchw():
    """The conv's own result read outside the chain (here a graph output) would need a second
    reorder and split the fused conv + pool: the pair stays NCHW."""
    g = _resnet_start()
    g.outputs.append(type(g.outputs[0])("a1", "float32"))
    _, planned, lines = _planned_wide(g)
    assert lines == [] and "gossamer::NchwcConvMaxPool" not in ops(planned)


def test_a_refused_chain_keeps_its_stem_and_max_pool_blocked_with_one_reorder():
    """ResNet-50's start: the pooled plane feeds two 1x1 convs whose results leave the chain
    (here graph outputs: 3 reorders for 3 convs, refused whole); its stem and pool are split off
    and run as ResNet-18's, the 1x1s NCHW reading the one reorder of the pooled plane."""
    nodes = [node("Conv", ["x", "w0", "b0"], ["a"], kernel_shape=[7, 7], strides=[2, 2],
                  pads=[3, 3, 3, 3]),
             node("Relu", ["a"], ["a1"]),
             node("MaxPool", ["a1"], ["m"], kernel_shape=[3, 3], strides=[2, 2],
                  pads=[1, 1, 1, 1]),
             node("Conv", ["m", "w1", "b1"], ["y"], kernel_shape=[1, 1]),
             node("Conv", ["m", "w2", "b2"], ["z"], kernel_shape=[1, 1])]  # fmt: skip
    inits = {"w0": _w(64, 3, 7, 7), "b0": _w(64), "w1": _w(32, 64, 1, 1) * 0.2, "b1": _w(32),
             "w2": _w(16, 64, 1, 1) * 0.2, "b2": _w(16)}  # fmt: skip
    g = graph_of(nodes, [("x", [1, 3, 56, 56])], [("y", None), ("z", None)], inits)
    optimized, planned, lines = _planned_wide(g)
    counts = ops(planned)
    assert len(lines) == 1 and counts["gossamer::NchwcConvMaxPool"] == 1
    assert counts["gossamer::NchwcReorderOutput"] == 1 and counts["Conv"] == 2
    assert "gossamer::NchwcConv" not in counts
    x = RNG.standard_normal((1, 3, 56, 56)).astype(F32)
    want = gossamer.Session(optimized, backends=[]).run(None, {"x": x})
    got = gossamer.Session(planned, backends=["cython"]).run(None, {"x": x})
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("stem_k,c_in", [(1, 3), (3, 16)], ids=["1x1", "16_channels"])
def test_a_conv_and_max_pool_alone_stay_nchw_unless_the_conv_is_a_stem(stem_k, c_in):
    _, planned, lines = _planned_wide(_resnet_start(stem_k, c_in))
    assert lines == [] and "gossamer::NchwcConvMaxPool" not in ops(planned)


def test_a_planned_max_pool_exports_to_onnx_that_onnxruntime_runs_alike():
    ort = pytest.importorskip("onnxruntime")
    from gossamer.converter.onnx_export import graph_to_onnx

    optimized, planned, _ = _planned_wide(_pooled_chain())
    model = graph_to_onnx(planned)
    assert any(f.name.startswith("NchwcConvMaxPool") for f in model.functions)
    x = RNG.standard_normal((1, 3, 23, 21)).astype(F32)
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y = got.run(None, {"x": x})[0]
    np.testing.assert_allclose(y, _run_ref(optimized, x), rtol=1e-5, atol=1e-5)


def _c2f(c=32, halves=(16, 16), hw=(10, 9), symbolic=False, side=None):
    """YOLOv8's C2f block: 1x1 (c -> c) -> Split in `halves` -> 3x3 -> 3x3 (+ the second half,
    the bottleneck's residual) -> Concat of the halves and the sum -> 1x1 -> y; `side`: a name
    of an NCHW input concatenated too (its channels, a multiple of 8)."""
    h2 = halves[1]
    nodes = [node("Conv", ["x", "w0", "b0"], ["a"], kernel_shape=[1, 1]),
             node("Sigmoid", ["a"], ["as"]), node("Mul", ["a", "as"], ["a1"]),
             node("Split", ["a1", "parts"], ["s0", "s1"], axis=1),
             node("Conv", ["s1", "w1", "b1"], ["k"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             node("Relu", ["k"], ["k1"]),
             node("Conv", ["k1", "w2", "b2"], ["q"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             node("Add", ["s1", "q"], ["r"]),
             node("Concat", ["s0", "s1", "r"] + ([side] if side else []), ["cat"], axis=1),
             node("Conv", ["cat", "w3"], ["y"], kernel_shape=[1, 1])]  # fmt: skip
    cat = c + h2 + (8 if side else 0)
    inits = {"w0": _w(c, c, 1, 1), "b0": _w(c), "parts": np.array(halves, np.int64),
             "w1": _w(h2, h2, 3, 3), "b1": _w(h2), "w2": _w(h2, h2, 3, 3), "b2": _w(h2),
             "w3": _w(16, cat, 1, 1)}  # fmt: skip
    dims = ["n", c, "h", "w"] if symbolic else [1, c, *hw]
    inputs = [("x", dims)] + ([(side, [1, 8, *hw])] if side else [])
    return graph_of(nodes, inputs, [("y", None)], inits)


def _c2f_feeds(side=None, hw=(10, 9), c=32):
    feeds = {"x": RNG.standard_normal((1, c, *hw)).astype(F32)}
    if side:
        feeds[side] = RNG.standard_normal((1, 8, *hw)).astype(F32)
    return feeds


def _agree(optimized, planned, feeds):
    want = gossamer.Session(optimized, backends=[]).run(None, feeds)[0]
    got = gossamer.Session(planned, backends=[]).run(None, feeds)[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    ours = gossamer.Session(planned, backends=["cython"]).run(None, feeds)[0]
    np.testing.assert_allclose(ours, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("symbolic", [False, True])
def test_a_c2f_block_split_along_whole_blocks_stays_one_chain(symbolic):
    """The Split of a blocked value into halves of whole blocks is the same Split of the blocked
    value (its parts' blocks), so the split, the residual Add of a half and the Concat of the
    halves all stay blocked: one chain, no reorder but the graph output's, also with the
    plane's size symbolic."""
    optimized, planned, lines = _planned_wide(_c2f(symbolic=symbolic))
    counts = ops(planned)
    assert len(lines) == 1 and counts["gossamer::NchwcConv"] == 4
    assert "gossamer::NchwcReorderInput" not in counts
    assert counts["gossamer::NchwcReorderOutput"] == 1  # y
    split = next(n for n in planned.nodes if n.op_type == "Split")
    assert split.attrs["axis"] == 1 and all(o.endswith("_nchwc") for o in split.outputs)
    assert planned.initializers[split.inputs[1]].tolist() == [2, 2]
    _agree(optimized, planned, _c2f_feeds())


def test_a_split_into_parts_that_are_not_whole_blocks_ends_the_chain(cheap_reorders):
    _, planned, _ = _planned_wide(_c2f(c=24, halves=(12, 12)))
    split = next(n for n in planned.nodes if n.op_type == "Split")
    assert not any(o.endswith("_nchwc") for o in split.outputs)


def test_a_concat_reorders_in_a_part_from_outside_the_chain(cheap_reorders):
    optimized, planned, _ = _planned_wide(_c2f(side="z"))
    concat = next(n for n in planned.nodes if n.op_type == "Concat")
    assert all(i.endswith("_nchwc") for i in concat.inputs)
    reorder = next(n for n in planned.nodes if n.op_type == "NchwcReorderInput")
    assert reorder.inputs == ["z"]
    _agree(optimized, planned, _c2f_feeds(side="z"))


def test_a_planned_c2f_block_exports_to_onnx_that_onnxruntime_runs_alike():
    ort = pytest.importorskip("onnxruntime")
    from gossamer.converter.onnx_export import graph_to_onnx

    optimized, planned, _ = _planned_wide(_c2f())
    got = ort.InferenceSession(graph_to_onnx(planned).SerializeToString(),
                               providers=["CPUExecutionProvider"])  # fmt: skip
    feeds = _c2f_feeds()
    want = gossamer.Session(optimized, backends=[]).run(None, feeds)[0]
    np.testing.assert_allclose(got.run(None, feeds)[0], want, rtol=1e-4, atol=1e-4)


def _unfused_too(graph, monkeypatch):
    """The graph planned with its depthwise + 1x1 pairs fused (GOSSAMER_NCHWC_DWPW=1), and
    without (the default)."""
    _, apart, _ = _planned(graph)
    with monkeypatch.context() as m:
        m.setenv("GOSSAMER_NCHWC_DWPW", "1")
        optimized, fused, _ = _planned(graph)
    return optimized, fused, apart


@pytest.mark.parametrize("threads", [1, 2])
def test_a_depthwise_conv_and_the_1x1_after_it_run_as_one_node_with_the_same_bits(
    monkeypatch, threads
):
    from gossamer.cython_kernels import _native as native

    optimized, fused, apart = _unfused_too(_chain(), monkeypatch)
    node_ = next(n for n in fused.nodes if n.op_type == "NchwcDepthwisePointwise")
    assert node_.attrs["group"] == 16 and node_.attrs["activation"] == "Relu"
    assert "pw_activation" not in node_.attrs  # the residual Add is the 1x1's last step
    assert node_.inputs[1:] == ["w1", "", "w2", "b2", node_.inputs[0]]  # z: the stem's result
    x = RNG.standard_normal((1, 3, 20, 18)).astype(F32)
    np.testing.assert_allclose(_run_ref(fused, x), _run_ref(optimized, x), rtol=1e-5, atol=1e-5)
    e = native.ext()
    old = e.nchwc_dwpw(0, 0)  # fused at any plane (10 x 9 here)
    try:
        sess = gossamer.Session(fused, backends=["cython"], threads=threads)
        ours = [sess.run(None, {"x": x})[0] for _ in range(3)]  # recorded, then a segment
        want = gossamer.Session(apart, backends=["cython"], threads=threads).run(None, {"x": x})
    finally:
        e.nchwc_dwpw(*old)
    assert all(np.array_equal(y, want[0]) for y in ours)


def test_a_depthwise_conv_whose_result_another_node_reads_keeps_its_1x1_apart(
    cheap_reorders, monkeypatch
):
    monkeypatch.setenv("GOSSAMER_NCHWC_DWPW", "1")
    graph = _chain(tail="GlobalAveragePool")
    graph.outputs.append(graph.outputs[0].__class__("d1", None, None))
    _, planned, _ = _planned(graph)
    assert "gossamer::NchwcDepthwisePointwise" not in ops(planned)
    assert ops(planned)["gossamer::NchwcConv"] == 3


def test_a_fused_depthwise_pointwise_exports_to_onnx_that_onnxruntime_runs_alike(monkeypatch):
    ort = pytest.importorskip("onnxruntime")
    from gossamer.converter.onnx_export import graph_to_onnx

    monkeypatch.setenv("GOSSAMER_NCHWC_DWPW", "1")
    optimized, planned, _ = _planned(_chain())
    model = graph_to_onnx(planned)
    assert any(f.name.startswith("NchwcDepthwisePointwise") for f in model.functions)
    x = RNG.standard_normal((1, 3, 20, 18)).astype(F32)
    got = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    y = got.run(None, {"x": x})[0]
    np.testing.assert_allclose(y, _run_ref(optimized, x), rtol=1e-5, atol=1e-5)
