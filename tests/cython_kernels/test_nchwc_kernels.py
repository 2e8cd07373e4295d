"""The NCHW8c kernels (nchwc_kernels.py, src/nchwc.c) against the reference ops they override:
conv with an NCHW or a blocked input, depthwise conv, the epilogue (bias, residual, Relu/Clip),
the reorders and the blocked GlobalAveragePool; every SIMD level (the AVX-512 zmm tiles included),
1 and 2 threads."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

RNG = np.random.default_rng(16)
F32 = np.float32
OPSETS = {"": 17, "gossamer": 1}


def _graph(op: str, inputs: dict[str, np.ndarray], inits: dict[str, np.ndarray], **attrs) -> Graph:
    node = Node(op, [*inputs, *inits], ["y"], attrs, "n", "gossamer")
    feeds = [Value(k, "float32", v.shape) for k, v in inputs.items()]
    return Graph([node], feeds, [Value("y", "float32")], dict(inits), opsets=OPSETS)


def _both(graph: Graph, feeds: dict[str, np.ndarray], threads: int) -> tuple[np.ndarray, ...]:
    ours = gossamer.Session(graph, backends=["cython"], threads=threads)
    assert set(ours.placement.backend_of.values()) == {"cython"}, ours.placement.declined
    ref = gossamer.Session(graph, backends=[])
    return ours.run(None, feeds)[0], ref.run(None, feeds)[0]


def _blocked(x: np.ndarray) -> np.ndarray:
    n, c, h, w = x.shape
    return np.ascontiguousarray(x.reshape(n, c // 8, 8, h, w).transpose(0, 1, 3, 4, 2))


# (name, NCHW x shape, w shape, attributes, blocked input)
CONVS = [
    ("pointwise", (2, 24, 7, 9), (40, 24, 1, 1), {}, True),
    ("pointwise_wide", (1, 64, 3, 5), (136, 64, 1, 1), {}, True),
    ("stem_s2_nchw_input", (1, 3, 17, 16), (32, 3, 3, 3),
     {"strides": [2, 2], "pads": [1, 1, 1, 1]}, False),
    ("conv3x3_blocked", (1, 16, 9, 10), (24, 16, 3, 3), {"pads": [1, 0, 2, 1]}, True),
    ("conv3x3_blocked_w7", (1, 16, 9, 7), (40, 16, 3, 3), {"pads": [1, 1, 1, 1]}, True),
    ("conv3x3_blocked_s2_w13", (1, 24, 9, 13), (24, 24, 3, 3),
     {"strides": [2, 2], "pads": [1, 1, 1, 1]}, True),
    ("conv_dilated_s2", (1, 8, 13, 11), (8, 8, 3, 2),
     {"strides": [2, 1], "dilations": [2, 1], "pads": [2, 1, 0, 1]}, True),
    ("conv_nchw_input_s3", (1, 5, 11, 12), (16, 5, 3, 3), {"strides": [3, 3]}, False),
    # whole input blocks read channel by channel from block-major packed weights (nc_tap_w)
    ("conv3x3_nchw_input_c16", (1, 16, 9, 11), (24, 16, 3, 3), {"pads": [1, 1, 1, 1]}, False),
    ("depthwise_s1", (1, 24, 14, 14), (24, 1, 3, 3), {"group": 24, "pads": [1, 1, 1, 1]}, True),
    ("depthwise_s2", (2, 16, 15, 13), (16, 1, 3, 3), {"group": 16, "strides": [2, 2],
                                                      "pads": [1, 1, 1, 1]}, True),
    ("depthwise_5x5_same", (1, 8, 7, 6), (8, 1, 5, 5), {"group": 8, "auto_pad": "SAME_UPPER"},
     True),
    ("depthwise_7x7_tiny", (1, 8, 2, 3), (8, 1, 3, 3), {"group": 8, "pads": [1, 1, 1, 1]}, True),
]  # fmt: skip
ACTS = [({}, "none"), ({"activation": "Relu"}, "relu"),
        ({"activation": "Clip", "activation_params": [-0.25, 0.5]}, "clip")]  # fmt: skip


@pytest.mark.parametrize("act", [a for a, _ in ACTS], ids=[i for _, i in ACTS])
@pytest.mark.parametrize("residual", [False, True], ids=["plain", "residual"])
@pytest.mark.parametrize("name,xs,ws,attrs,blocked", CONVS, ids=[c[0] for c in CONVS])
def test_conv_matches_the_reference(level, threads, name, xs, ws, attrs, blocked, residual, act):
    x = RNG.standard_normal(xs).astype(F32)
    inits = {"w": (RNG.standard_normal(ws) * 0.3).astype(F32), "b": RNG.standard_normal(ws[0])}
    inits["b"] = inits["b"].astype(F32)
    feeds = {"x": _blocked(x) if blocked else x}
    probe = _graph("NchwcConv", feeds, inits, **attrs)
    shape = gossamer.Session(probe, backends=[]).run(None, feeds)[0].shape
    if residual:
        feeds["z"] = RNG.standard_normal(shape).astype(F32)
        inits = {"w": inits["w"], "b": inits["b"]}
    graph = _graph("NchwcConv", feeds, inits, **attrs, **act)
    if residual:  # inputs in the op's order: x, w, b, z
        graph.nodes[0].inputs[:] = ["x", "w", "b", "z"]
    ours, ref = _both(graph, feeds, threads)
    assert ours.shape == ref.shape == shape
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)


def test_conv_without_bias(level):
    x = _blocked(RNG.standard_normal((1, 16, 6, 6)).astype(F32))
    w = (RNG.standard_normal((16, 16, 3, 3)) * 0.3).astype(F32)
    ours, ref = _both(_graph("NchwcConv", {"x": x}, {"w": w}, pads=[1, 1, 1, 1]), {"x": x}, 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)


def test_nan_passes_through_the_clip(level):
    x = _blocked(RNG.standard_normal((1, 8, 4, 4)).astype(F32))
    x[0, 0, 1, 1, 3] = np.nan
    w = np.ones((8, 8, 1, 1), F32)
    graph = _graph("NchwcConv", {"x": x}, {"w": w}, activation="Relu")
    ours, ref = _both(graph, {"x": x}, 1)
    assert np.array_equal(np.isnan(ours), np.isnan(ref)) and np.isnan(ours).sum() == 8


# pixels: 35 (four 8 x 8 transposes and 3 single pixels), 1, 12, 81, and 3136 (ResNet's pooled stem:
# 200,704 values, split between the threads)
@pytest.mark.parametrize(
    "shape", [(2, 16, 5, 7), (1, 8, 1, 1), (1, 24, 3, 2, 2), (1, 16, 9, 9), (1, 64, 56, 56)]
)
def test_reorders_are_exact_inverses(level, threads, shape):
    x = RNG.standard_normal(shape).astype(F32)
    blocked, ref = _both(_graph("NchwcReorderInput", {"x": x}, {}), {"x": x}, threads)
    assert np.array_equal(blocked, ref)
    back, ref_back = _both(_graph("NchwcReorderOutput", {"x": blocked}, {}), {"x": blocked},
                           threads)  # fmt: skip
    assert np.array_equal(back, ref_back) and np.array_equal(back, x)


def test_blocked_global_average_pool_writes_nchw(threads):
    x = RNG.standard_normal((2, 4, 7, 7, 8)).astype(F32)
    ours, ref = _both(_graph("NchwcGlobalAveragePool", {"x": x}, {}), {"x": x}, threads)
    assert ours.shape == (2, 32, 1, 1)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "shape", [(1, 125, 13, 13, 8), (1, 160, 7, 7, 8), (2, 5, 7, 7, 8), (1, 3, 1, 1, 8)]
)
def test_blocked_global_average_pool_sums_each_channel_in_pixel_order(threads, shape):
    # four channel blocks summed side by side (nchwc.c's gap_blocks), a remainder of one to three:
    # each channel's float32 sum still in pixel order, then / hw: those bits exactly, whether
    # one thread or two share the blocks (MobileNetV2's 1280 x 7 x 7: two threads from Session 27)
    x = RNG.standard_normal(shape).astype(F32)
    n, cb, h, w, _ = shape
    ours, _ = _both(_graph("NchwcGlobalAveragePool", {"x": x}, {}), {"x": x}, threads)
    acc = np.zeros((n, cb, 8), F32)
    for p in range(h * w):
        acc += x.reshape(n, cb, h * w, 8)[:, :, p]
    assert np.array_equal(ours, (acc / F32(h * w)).reshape(n, cb * 8, 1, 1))


def test_results_do_not_depend_on_the_thread_count():
    x = _blocked(RNG.standard_normal((1, 32, 28, 28)).astype(F32))
    w = (RNG.standard_normal((96, 32, 1, 1)) * 0.3).astype(F32)
    dw = (RNG.standard_normal((32, 1, 3, 3)) * 0.3).astype(F32)
    depthwise = _graph("NchwcConv", {"x": x}, {"w": dw}, group=32, pads=[1, 1, 1, 1])
    for graph in (_graph("NchwcConv", {"x": x}, {"w": w}), depthwise):
        runs = [gossamer.Session(graph, backends=["cython"], threads=t).run(None, {"x": x})[0]
                for t in (1, 2, 3)]  # fmt: skip
        assert all(np.array_equal(runs[0], r) for r in runs[1:])


def test_a_block_other_than_eight_is_declined():
    x = RNG.standard_normal((1, 2, 5, 5, 16)).astype(F32)
    w = RNG.standard_normal((32, 32, 1, 1)).astype(F32)
    sess = gossamer.Session(_graph("NchwcConv", {"x": x}, {"w": w}), backends=["cython"])
    assert sess.placement.backend_of["n"] == "reference"
    assert "block 16" in sess.placement.declined["n"]["cython"]


@pytest.mark.parametrize("ktaps", [8, 72])
def test_summing_input_channels_in_several_passes_changes_no_bit(ktaps):
    """The conv sums a few input channel blocks per pass over a chunk (partial sums wait in y);
    any pass size gives the one-pass result exactly, residual and clip included."""
    from gossamer.cython_kernels._native import ext

    x = _blocked(RNG.standard_normal((1, 48, 7, 9)).astype(F32))
    inits = {"w": (RNG.standard_normal((24, 48, 3, 3)) * 0.3).astype(F32),
             "b": RNG.standard_normal(24).astype(F32)}  # fmt: skip
    z = RNG.standard_normal((1, 3, 7, 9, 8)).astype(F32)
    graph = _graph("NchwcConv", {"x": x}, inits, pads=[1, 1, 1, 1], activation="Relu")
    graph.inputs.append(Value("z", "float32", z.shape))
    graph.nodes[0].inputs[:] = ["x", "w", "b", "z"]
    sess = gossamer.Session(graph, backends=["cython"], threads=2)
    old = ext().nchwc_ktaps(0)
    try:
        whole = sess.run(None, {"x": x, "z": z})[0]
        ext().nchwc_ktaps(ktaps)
        parts = sess.run(None, {"x": x, "z": z})[0]
    finally:
        ext().nchwc_ktaps(old)
    assert np.array_equal(whole, parts)


def test_a_kxk_conv_in_default_passes_matches_one_pass(level):
    """At the default gk_nchwc_ktaps a 3x3 sums 8 input blocks per pass (4.5x a 1x1's pairs): 10
    blocks are two passes, on a 7x7 plane whose rows are one masked tile at AVX-512."""
    from gossamer.cython_kernels._native import ext

    x = _blocked(RNG.standard_normal((1, 80, 7, 7)).astype(F32))
    inits = {"w": (RNG.standard_normal((24, 80, 3, 3)) * 0.1).astype(F32),
             "b": RNG.standard_normal(24).astype(F32)}  # fmt: skip
    graph = _graph("NchwcConv", {"x": x}, inits, pads=[1, 1, 1, 1], activation="Relu")
    sess = gossamer.Session(graph, backends=["cython"], threads=2)
    default = sess.run(None, {"x": x})[0]
    old = ext().nchwc_ktaps(0)
    try:
        whole = sess.run(None, {"x": x})[0]
    finally:
        ext().nchwc_ktaps(old)
    assert np.array_equal(whole, default)
    ref = gossamer.Session(graph, backends=[]).run(None, {"x": x})[0]
    np.testing.assert_allclose(default, ref, rtol=1e-4, atol=1e-4)


POST_ACTS = [({"activation": "HardSwish"}, "hardswish"),
             ({"activation": "LeakyRelu", "activation_params": [0.15]}, "leakyrelu"),
             ({"activation": "HardSigmoid", "activation_params": [0.2, 0.5]}, "hardsigmoid"),
             ({"activation": "Sigmoid"}, "sigmoid"),
             ({"activation": "Swish", "activation_params": [1.7]}, "swish")]  # fmt: skip
AFFINE = {"none": (None, None), "scalar": ((1,), (1,)), "channel": ((1, 16, 1, 1), (16, 1, 1)),
          "scale_only": ((16, 1, 1), None), "shift_only": (None, (1,))}  # fmt: skip


def _post_graph(kind: str, act: dict, affine: str) -> tuple[Graph, dict[str, np.ndarray]]:
    """A depthwise 5x5, a 1x1 or a 3x3 conv (16 channels out) with `act` and a scale / shift."""
    x = _blocked(RNG.standard_normal((1, 16, 9, 13)).astype(F32) * 3)
    depthwise = kind == "depthwise"
    shape = {"depthwise": (16, 1, 5, 5), "pointwise": (16, 16, 1, 1), "3x3": (16, 16, 3, 3)}
    w = (RNG.standard_normal(shape[kind]) * 0.3).astype(F32)
    inits = {"w": w, "b": RNG.standard_normal(16).astype(F32)}
    scale, shift = AFFINE[affine]
    names = ["x", "w", "b", ""]
    for name, shape in (("scale", scale), ("shift", shift)):
        names.append(name if shape else "")
        if shape:
            inits[name] = (RNG.standard_normal(shape) + 1).astype(F32)
    attrs = {"group": 16, "pads": [2, 2, 2, 2]} if depthwise else {}
    if kind == "3x3":
        attrs = {"pads": [1, 1, 1, 1]}
    graph = _graph("NchwcConv", {"x": x}, inits, **attrs, **act)
    while not names[-1]:
        names.pop()
    graph.nodes[0].inputs[:] = names
    return graph, {"x": x}


@pytest.mark.parametrize("affine", list(AFFINE))
@pytest.mark.parametrize("act", [a for a, _ in POST_ACTS], ids=[i for _, i in POST_ACTS])
@pytest.mark.parametrize("kind", ["depthwise", "pointwise", "3x3"])
def test_the_epilogue_activation_and_affine_match_the_reference(level, kind, act, affine):
    graph, feeds = _post_graph(kind, act, affine)
    ours, ref = _both(graph, feeds, 2)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("act", ["Swish", "Sigmoid", "HardSigmoid"])
@pytest.mark.parametrize("kind,xs", [("stem", (1, 3, 21, 34)), ("3x3", (1, 16, 11, 30)),
                                     ("pointwise", (1, 24, 9, 40)), ("short", (1, 16, 4, 5)),
                                     ("one pixel", (1, 16, 1, 1))])  # fmt: skip
def test_a_row_epilogue_adds_the_residual_then_activates_then_scales(level, kind, xs, act):
    """An activation computed in memory runs over a row's pixels after the row's tiles (in the
    last pass over the input blocks; rows of under 8 pixels per tile, one pixel per vector):
    + z, the clip, the activation, scale and shift as the reference orders them, also with a
    stem's NCHW input, stride 2 and 2 threads."""
    x = RNG.standard_normal(xs).astype(F32) * 2
    m, c = 16, xs[1]
    k = {"stem": 3, "3x3": 3, "pointwise": 1, "short": 3, "one pixel": 1}[kind]
    stride = 2 if kind == "stem" else 1
    oh, ow = (xs[2] - 1) // stride + 1, (xs[3] - 1) // stride + 1
    inits = {"w": (RNG.standard_normal((m, c, k, k)) * 0.3).astype(F32),
             "b": RNG.standard_normal(m).astype(F32),
             "scale": (RNG.standard_normal((1, m, 1, 1)) + 1).astype(F32),
             "shift": RNG.standard_normal((m, 1, 1)).astype(F32)}  # fmt: skip
    params = {"Swish": [0.9], "HardSigmoid": [0.2, 0.5]}.get(act)
    extra = {"activation_params": params} if params else {}
    feeds = {"x": x if kind == "stem" else _blocked(x),
             "z": _blocked(RNG.standard_normal((1, m, oh, ow)).astype(F32))}  # fmt: skip
    graph = _graph("NchwcConv", feeds, inits, kernel_shape=[k, k], pads=[k // 2] * 4,
                   strides=[stride] * 2, activation=act, **extra)  # fmt: skip
    graph.nodes[0].inputs[:] = ["x", "w", "b", "z", "scale", "shift"]
    for threads in (1, 2):
        ours, ref = _both(graph, feeds, threads)
        np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("act", ["HardSwish", "LeakyRelu", "HardSigmoid", "Sigmoid"])
def test_a_fused_activation_and_affine_give_the_unfused_kernels_bits(level, act):
    """NchwcConv with the activation, scale and shift = the bare NchwcConv, then the cython
    element-wise kernels (the activation op, Mul, Add) on its blocked result, bit for bit."""
    params = {"LeakyRelu": [0.15], "HardSigmoid": [0.2, 0.5]}.get(act)
    fused, feeds = _post_graph("depthwise", {"activation": act, "activation_params": params},
                               "channel")  # fmt: skip
    inits = fused.initializers
    bare = Node("NchwcConv", ["x", "w", "b"], ["c"], {"group": 16, "pads": [2, 2, 2, 2]}, "c",
                "gossamer")  # fmt: skip
    attrs = {"LeakyRelu": {"alpha": 0.15}, "HardSigmoid": {"alpha": 0.2, "beta": 0.5}}.get(act, {})
    blocked = {k: np.ascontiguousarray(v.reshape(1, 2, 1, 1, 8)) for k, v in inits.items()
               if k in ("scale", "shift")}  # fmt: skip
    nodes = [bare, Node(act, ["c"], ["a"], attrs, "a"), Node("Mul", ["a", "scale"], ["m"], {}, "m"),
             Node("Add", ["m", "shift"], ["y"], {}, "s")]  # fmt: skip
    plain = {k: v for k, v in inits.items() if k in ("w", "b")} | blocked
    unfused = Graph(nodes, [Value("x", "float32", feeds["x"].shape)], [Value("y", "float32")],
                    plain, opsets=OPSETS)  # fmt: skip
    a = gossamer.Session(fused, backends=["cython"]).run(None, feeds)[0]
    sess = gossamer.Session(unfused, backends=["cython"])
    assert set(sess.placement.backend_of.values()) == {"cython"}, sess.placement.declined
    b = sess.run(None, feeds)[0]
    assert np.array_equal(a, b)


def test_a_per_channel_scale_of_another_shape_is_declined():
    graph, _ = _post_graph("pointwise", {}, "none")
    graph.initializers["scale"] = np.ones((16,), F32)  # broadcasts along W, not the channels
    graph.nodes[0].inputs[:] = ["x", "w", "b", "", "scale"]
    sess = gossamer.Session(graph, backends=["cython"])
    assert "not a scalar or one value per output channel" in sess.placement.declined["n"]["cython"]


def test_a_chain_with_epilogue_activations_and_affine_replays_as_one_segment():
    """A 1x1 conv (HardSwish, scalar scale and shift) into a 5x5 depthwise conv (LeakyRelu,
    per-channel scale and shift): its C calls recorded (activation, alpha, scale and shift
    pointers included) replay as one segment equal to node by node, bit for bit."""
    x = _blocked(RNG.standard_normal((1, 16, 9, 13)).astype(F32))
    inits = {"w0": (RNG.standard_normal((16, 16, 1, 1)) * 0.3).astype(F32),
             "s0": np.array([1.25], F32), "t0": np.array([-0.5], F32),
             "w1": (RNG.standard_normal((16, 1, 5, 5)) * 0.3).astype(F32),
             "b1": RNG.standard_normal(16).astype(F32),
             "s1": RNG.standard_normal((1, 16, 1, 1)).astype(F32),
             "t1": RNG.standard_normal((16, 1, 1)).astype(F32)}  # fmt: skip
    nodes = [Node("NchwcConv", ["x", "w0", "", "", "s0", "t0"], ["a"],
                  {"activation": "HardSwish"}, "a", "gossamer"),
             Node("NchwcConv", ["a", "w1", "b1", "", "s1", "t1"], ["y"],
                  {"group": 16, "pads": [2, 2, 2, 2], "activation": "LeakyRelu",
                   "activation_params": [0.1]}, "y", "gossamer")]  # fmt: skip
    graph = Graph(nodes, [Value("x", "float32", x.shape)], [Value("y", "float32")], inits,
                  opsets=OPSETS)  # fmt: skip
    fast = gossamer.load(graph, backends=["cython"], threads=1, optimize=0)
    slow = gossamer.load(graph, backends=["cython"], threads=1, optimize=0)
    slow._program.use_segments = False
    ref = gossamer.Session(graph, backends=[]).run(None, {"x": x})[0]
    for _ in range(4):
        (a,), (b,) = fast.run(None, {"x": x}), slow.run(None, {"x": x})
        assert a.tobytes() == b.tobytes()
    np.testing.assert_allclose(a, ref, rtol=1e-4, atol=1e-5)
    assert any(seg is not None for _, _, seg, _ in fast._program.schedule or ())


def test_output_blocks_are_grouped_in_fours_then_the_rest():
    """The conv's groups of output blocks (the packed weights' groups): fours, then the remainder
    as one group; they cover the blocks in order."""
    from gossamer.cython_kernels.nchwc_conv import conv_weight_groups

    assert conv_weight_groups(4) == [4] and conv_weight_groups(1) == [1]
    assert conv_weight_groups(7) == [4, 3] and conv_weight_groups(18) == [4, 4, 4, 4, 2]
    for blocks in range(1, 200):
        groups = conv_weight_groups(blocks)
        assert sum(groups) == blocks
        assert groups[:-1] == [4] * (len(groups) - 1) and 1 <= groups[-1] <= 4


# (N, C, H, W) of x: a 1x1 / stride 1 conv computes the plane as one row of H*W pixels; these leave
# every remainder of its 3 x 4, 2 x 6 and 1 x 8 pixel tiles (1 to 7 pixels); 136 input channels
# take two passes over the channels (partial sums in y)
PLANES = [(1, 16, 1, 1), (1, 16, 1, 5), (2, 24, 3, 3), (1, 136, 7, 7), (1, 32, 2, 13),
          (1, 16, 1, 23), (1, 8, 2, 11)]  # fmt: skip


@pytest.mark.parametrize("m", [8, 16, 24, 32, 40, 48, 56, 64], ids=lambda m: f"m{m}")
@pytest.mark.parametrize("xs", PLANES, ids=lambda s: "x".join(map(str, s)))
def test_pointwise_tiles_and_remainders_match_the_reference(level, threads, m, xs):
    """Every grouping of output blocks (1, 2, 3, 4, 4+1, 4+2, 4+3, 4+4) on planes that leave
    every remainder of the tiles (AVX-512's 12 pixels: 8, 4, 3, 2, 1; AVX2's 8, 6 and 4), with
    the residual and a Relu6 clip."""
    x = _blocked(RNG.standard_normal(xs).astype(F32))
    inits = {"w": (RNG.standard_normal((m, xs[1], 1, 1)) * 0.3).astype(F32),
             "b": RNG.standard_normal(m).astype(F32)}  # fmt: skip
    z = RNG.standard_normal((xs[0], m // 8, xs[2], xs[3], 8)).astype(F32)
    graph = _graph("NchwcConv", {"x": x, "z": z}, inits, activation="Clip",
                   activation_params=[0.0, 6.0])  # fmt: skip
    graph.nodes[0].inputs[:] = ["x", "w", "b", "z"]
    ours, ref = _both(graph, {"x": x, "z": z}, threads)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("m", [24, 32, 56], ids=lambda m: f"m{m}")
def test_pointwise_epilogue_on_every_group_matches_the_reference(level, m):
    """HardSwish, a per-channel scale and shift on 1x1 convs whose groups are 3, 4, 4+3 blocks,
    over two channel passes and a 7x7 plane (a 1-pixel remainder)."""
    x = _blocked(RNG.standard_normal((1, 136, 7, 7)).astype(F32) * 2)
    inits = {"w": (RNG.standard_normal((m, 136, 1, 1)) * 0.1).astype(F32),
             "b": RNG.standard_normal(m).astype(F32),
             "scale": (RNG.standard_normal((m, 1, 1)) + 1).astype(F32),
             "shift": RNG.standard_normal((m, 1, 1)).astype(F32)}  # fmt: skip
    graph = _graph("NchwcConv", {"x": x}, inits, activation="HardSwish")
    graph.nodes[0].inputs[:] = ["x", "w", "b", "", "scale", "shift"]
    for threads in (1, 2):
        ours, ref = _both(graph, {"x": x}, threads)
        np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("m", [8, 24, 32, 40, 64], ids=lambda m: f"m{m}")
def test_stem_conv_of_an_nchw_input_matches_the_reference(level, threads, m):
    """The 3x3 stride-2 conv of a 3-channel NCHW image (its taps unrolled), every grouping of
    output blocks, odd sizes (a padded border pixel on each side)."""
    x = RNG.standard_normal((1, 3, 19, 23)).astype(F32)
    inits = {"w": (RNG.standard_normal((m, 3, 3, 3)) * 0.3).astype(F32),
             "b": RNG.standard_normal(m).astype(F32)}  # fmt: skip
    graph = _graph("NchwcConv", {"x": x}, inits, strides=[2, 2], pads=[1, 1, 1, 1],
                   activation="Clip", activation_params=[0.0, 6.0])  # fmt: skip
    ours, ref = _both(graph, {"x": x}, threads)
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-4)


def test_pointwise_results_do_not_depend_on_the_thread_count_on_small_planes():
    """A 7x7 plane is split by output-channel groups between the threads (and its one chunk
    halved): the same bits at 1, 2 and 3 threads."""
    x = _blocked(RNG.standard_normal((1, 160, 7, 7)).astype(F32))
    w = (RNG.standard_normal((320, 160, 1, 1)) * 0.1).astype(F32)
    graph = _graph("NchwcConv", {"x": x}, {"w": w}, activation="Relu")
    runs = [gossamer.Session(graph, backends=["cython"], threads=t).run(None, {"x": x})[0]
            for t in (1, 2, 3)]  # fmt: skip
    assert all(np.array_equal(runs[0], r) for r in runs[1:])
    ref = gossamer.Session(graph, backends=[]).run(None, {"x": x})[0]
    np.testing.assert_allclose(runs[0], ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("xs", [(1, 136, 13, 13), (1, 16, 20, 20), (1, 24, 15, 23)],
                         ids=lambda s: "x".join(map(str, s)))  # fmt: skip
def test_pointwise_chunks_of_a_large_plane_change_no_bit(level, xs):
    """A 1x1 conv's plane (one row of h*w pixels) in work items of at least 144 pixels (nchwc.c's
    NC_CHUNK_1X1), halved for 2 and 3 threads (169 pixels: one chunk, then 96 + 73, then 48s),
    over two passes of input channels (136): the same bits at 1, 2 and 3 threads, and the
    reference's values."""
    x = _blocked(RNG.standard_normal(xs).astype(F32))
    w = (RNG.standard_normal((40, xs[1], 1, 1)) * 0.2).astype(F32)
    b = RNG.standard_normal(40).astype(F32)
    graph = _graph("NchwcConv", {"x": x}, {"w": w, "b": b}, activation="Relu")
    runs = [gossamer.Session(graph, backends=["cython"], threads=t).run(None, {"x": x})[0]
            for t in (1, 2, 3)]  # fmt: skip
    assert all(np.array_equal(runs[0], r) for r in runs[1:])
    ref = gossamer.Session(graph, backends=[]).run(None, {"x": x})[0]
    np.testing.assert_allclose(runs[0], ref, rtol=1e-4, atol=1e-4)


# pixels of a 1x1 conv's plane (one row): every remainder of the 12-pixel tiles (1 to 11 past
# one to three of them, and under 12), 49 (a 7x7 plane: 12 + 12 + 12 + 7 + 6) and 196
PW_ROWS = [*range(1, 32), 37, 41, 49, 196]


@pytest.mark.parametrize("m", [8, 16, 24, 32, 40], ids=lambda m: f"m{m}")
def test_pointwise_even_tiles_and_prefetch_change_no_bit(level, m):
    """nchwc_pw_even (AVX-512: a row's last 6 to 17 pixels as one or two tiles of 6 to 12) gives
    the narrow tiles' bits on every row length, and nchwc_pw_xpf (the input prefetch) changes
    none, at 1 and 2 threads, with a residual and a clip, over two passes of input channels (136:
    16 blocks, then 1); and the reference's values."""
    from gossamer.cython_kernels._native import ext

    inits = {"w": (RNG.standard_normal((m, 136, 1, 1)) * 0.2).astype(F32),
             "b": RNG.standard_normal(m).astype(F32)}  # fmt: skip
    old = ext().nchwc_pw_even(), ext().nchwc_pw_xpf()
    try:
        for hw in PW_ROWS:
            x = _blocked(RNG.standard_normal((1, 136, 1, hw)).astype(F32))
            z = RNG.standard_normal((1, m // 8, 1, hw, 8)).astype(F32)
            graph = _graph("NchwcConv", {"x": x, "z": z}, inits, activation="Clip",
                           activation_params=[-1.0, 2.0])  # fmt: skip
            graph.nodes[0].inputs[:] = ["x", "w", "b", "z"]
            feeds = {"x": x, "z": z}
            runs = []
            for threads in (1, 2):
                sess = gossamer.Session(graph, backends=["cython"], threads=threads)
                for even, xpf in ((0, 0), (1, 0), (1, 1), (1, 4)):
                    ext().nchwc_pw_even(even)
                    ext().nchwc_pw_xpf(xpf)
                    runs.append(sess.run(None, feeds)[0])
            assert all(np.array_equal(runs[0], r) for r in runs[1:]), hw
            ref = gossamer.Session(graph, backends=[]).run(None, feeds)[0]
            np.testing.assert_allclose(runs[0], ref, rtol=1e-4, atol=1e-4)
    finally:
        ext().nchwc_pw_even(old[0])
        ext().nchwc_pw_xpf(old[1])


TALL = [((1, 24, 56, 13), 1), ((1, 16, 57, 19), 2), ((2, 8, 60, 9), 1)]


@pytest.mark.parametrize("xs,stride", TALL, ids=["h56", "h57_s2", "n2_h60"])
def test_depthwise_row_parts_of_a_tall_input_change_no_bit(level, xs, stride):
    """nchwc_dw_parts_h: a depthwise conv of an input of 56 rows or more runs in static row parts
    at 2 threads (one image; two images keep the dynamic split): the same bits as the dynamic
    split and as one thread, and the reference's values."""
    from gossamer.cython_kernels._native import ext

    x = _blocked(RNG.standard_normal(xs).astype(F32))
    c = xs[1]
    inits = {"w": (RNG.standard_normal((c, 1, 3, 3)) * 0.3).astype(F32),
             "b": RNG.standard_normal(c).astype(F32)}  # fmt: skip
    graph = _graph("NchwcConv", {"x": x}, inits, group=c, strides=[stride, stride],
                   pads=[1, 1, 1, 1], activation="Clip", activation_params=[0.0, 6.0])  # fmt: skip
    old = ext().nchwc_dw_parts_h()
    try:
        runs = []
        for threads, rows in ((1, 56), (2, 0), (2, 56), (2, 1)):
            ext().nchwc_dw_parts_h(rows)
            sess = gossamer.Session(graph, backends=["cython"], threads=threads)
            runs.append(sess.run(None, {"x": x})[0])
    finally:
        ext().nchwc_dw_parts_h(old)
    assert all(np.array_equal(runs[0], r) for r in runs[1:])
    ref = gossamer.Session(graph, backends=[]).run(None, {"x": x})[0]
    np.testing.assert_allclose(runs[0], ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("threads_", [1, 2], ids=["1thread", "2threads"])
def test_the_work_item_order_changes_no_bit(threads_):
    """Weights-major, pixel-major, and the default choice between them (pixel-major for an input
    larger than the weights, here with a 1 KB threshold) give the same bits."""
    from gossamer.cython_kernels._native import ext

    x = _blocked(RNG.standard_normal((1, 64, 9, 11)).astype(F32))
    inits = {"w": (RNG.standard_normal((40, 64, 1, 1)) * 0.3).astype(F32),
             "b": RNG.standard_normal(40).astype(F32)}  # fmt: skip
    sess = gossamer.Session(_graph("NchwcConv", {"x": x}, inits), backends=["cython"],
                            threads=threads_)  # fmt: skip
    old = ext().nchwc_order()
    try:
        runs = []
        for order in (0, 1, 2, 3):
            ext().nchwc_order(order, 1024)
            runs.append(sess.run(None, {"x": x})[0])
    finally:
        ext().nchwc_order(*old)
    assert all(np.array_equal(runs[0], r) for r in runs[1:])
    with pytest.raises(ValueError, match="not 0, 1, 2 or 3"):
        ext().nchwc_order(4)
    ref = gossamer.Session(sess.graph, backends=[]).run(None, {"x": x})[0]
    np.testing.assert_allclose(runs[0], ref, rtol=1e-4, atol=1e-4)


# (name, NCHW x shape, w shape, attributes, blocked input): rows whose interior leaves every
# AVX-512 depthwise tile (16, 8, 4, 2 pixels, then one; rows of at most 16 pixels as one masked
# tile) and conv tile (12, 4, 1 pixels)
WIDE = [
    ("depthwise_w40", (1, 16, 3, 40), (16, 1, 3, 3), {"group": 16, "pads": [1, 1, 1, 1]}, True),
    ("depthwise_w33_dil2", (1, 8, 5, 33), (8, 1, 3, 3),
     {"group": 8, "pads": [2, 2, 2, 2], "dilations": [2, 2]}, True),
    ("depthwise_w7", (1, 24, 7, 7), (24, 1, 3, 3), {"group": 24, "pads": [1, 1, 1, 1]}, True),
    ("depthwise_w13_5x5_dil", (1, 16, 9, 13), (16, 1, 5, 5),
     {"group": 16, "pads": [3, 2, 1, 4], "dilations": [1, 2]}, True),
    ("conv3x3_w31", (1, 16, 4, 31), (40, 16, 3, 3), {"pads": [1, 1, 1, 1]}, True),
    # AVX-512: a row interior's last 6 to 23 pixels as one or two tiles of 6 to 12 (interiors of
    # 25: 12 + 7 + 6; 32: 12 + 10 + 10; 34: 12 + 11 + 11; stride 2, 28 outputs: 12 + 8 + 7)
    ("conv3x3_w27", (1, 16, 3, 27), (40, 16, 3, 3), {"pads": [1, 1, 1, 1]}, True),
    ("conv3x3_w34", (1, 8, 3, 34), (24, 8, 3, 3), {"pads": [1, 1, 1, 1]}, True),
    ("conv3x3_w36", (1, 8, 3, 36), (32, 8, 3, 3), {"pads": [1, 1, 1, 1]}, True),
    ("conv3x3_s2_w56", (1, 8, 4, 56), (16, 8, 3, 3), {"strides": [2, 2], "pads": [1, 1, 1, 1]},
     True),
    ("pointwise_w29", (1, 24, 2, 29), (56, 24, 1, 1), {}, True),
    # blocked 3x3 rows of at most 23 pixels with a quarter left to single pixels: whole rows as
    # one or two tiles with masked end pixels (AVX-512: nz_conv_row_edges): a 7-pixel tile of
    # 4 + 1 output blocks, 7 + 6 of a group of 3, stride 2 with the last pixel's last tap
    # outside the row (odd w) and inside (even w), no left pad, and an 11 (one tile)
    ("conv3x3_w7_edges", (1, 16, 5, 7), (40, 16, 3, 3), {"pads": [1, 1, 1, 1]}, True),
    ("conv3x3_w13_edges", (1, 24, 4, 13), (24, 24, 3, 3), {"pads": [1, 1, 1, 1]}, True),
    ("conv3x3_s2_w13_edges", (1, 16, 6, 13), (16, 16, 3, 3),
     {"strides": [2, 2], "pads": [1, 1, 1, 1]}, True),
    ("conv3x3_s2_w12_edges", (1, 8, 5, 12), (32, 8, 3, 3),
     {"strides": [2, 2], "pads": [1, 1, 1, 1]}, True),
    ("conv3x3_w8_no_left_pad", (1, 16, 4, 8), (16, 16, 3, 3), {"pads": [1, 0, 1, 1]}, True),
    ("conv3x3_w11_edges", (1, 8, 3, 11), (8, 8, 3, 3), {"pads": [0, 1, 2, 1]}, True),
    # stride-2 depthwise rows: the borders as checked tiles of up to 8 pixels (7 outputs: 3 +
    # 4; 14: 2 + 8 + 4; 4: one tile of 4)
    ("depthwise_s2_w14", (1, 16, 5, 14), (16, 1, 3, 3),
     {"group": 16, "strides": [2, 2], "pads": [1, 1, 1, 1]}, True),
    ("depthwise_s2_w28", (1, 8, 3, 28), (8, 1, 3, 3),
     {"group": 8, "strides": [2, 2], "pads": [1, 1, 1, 1]}, True),
    ("depthwise_s2_w7", (1, 8, 3, 7), (8, 1, 3, 3),
     {"group": 8, "strides": [2, 2], "pads": [1, 1, 1, 1]}, True),
]  # fmt: skip


@pytest.mark.parametrize("name,xs,ws,attrs,blocked", WIDE, ids=[c[0] for c in WIDE])
def test_every_level_gives_the_same_bits(name, xs, ws, attrs, blocked):
    """The AVX-512 zmm tiles (two output blocks or two pixels per register) and the AVX2 tiles
    sum each output with the same FMAs in the same order: the same bits, with a Relu, a
    HardSwish or a Swish epilogue (computed over runs of pixels at each level's width);
    weights packed at one level run at every other (the generic level, which rounds each
    product, within the tolerance)."""
    from gossamer.cython_kernels import set_simd_level
    from gossamer.cython_kernels._native import ext, simd_level

    x = RNG.standard_normal(xs).astype(F32)
    x = _blocked(x) if blocked else x
    inits = {"w": (RNG.standard_normal(ws) * 0.3).astype(F32),
             "b": RNG.standard_normal(ws[0]).astype(F32)}  # fmt: skip
    levels = ["generic"] + (["avx2+fma"] if ext().cpu_has_avx2_fma() else [])
    levels += ["avx512f"] if ext().cpu_has_avx512f() else []
    before = simd_level()
    try:
        for act in ({"activation": "Relu"}, {"activation": "HardSwish"},
                    {"activation": "Swish", "activation_params": [1.0]}):  # fmt: skip
            graph = _graph("NchwcConv", {"x": x}, inits, **attrs, **act)
            outs = {}
            for packed_at in levels:
                set_simd_level(packed_at)
                sess = gossamer.Session(graph, backends=["cython"], threads=2)
                for run_at in levels:
                    set_simd_level(run_at)
                    outs[packed_at, run_at] = sess.run(None, {"x": x})[0]
            ref = gossamer.Session(graph, backends=[]).run(None, {"x": x})[0]
            for (packed_at, run_at), out in outs.items():
                np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-4)
                assert out.tobytes() == outs[run_at, run_at].tobytes(), (packed_at, run_at)
            fma = [lv for lv in levels if lv != "generic"]  # generic C rounds each product
            assert all(outs[lv, lv].tobytes() == outs[fma[0], fma[0]].tobytes() for lv in fma)
    finally:
        set_simd_level(before)


# (name, NCHW x shape, w shape, attributes, blocked input): large enough that 2 and 3 threads
# share the call; pieces of whole rows, of pixels cutting rows (a flattened 1x1 conv, a padded
# 3x3 conv of 8 rows on 3 threads), a strided stem conv, depthwise convs; the dynamic split or
# the channel parts where the weights outweigh the activations (13 groups, the last of one
# block), the planes are small or the rows fewer than the pieces (depthwise convs of 3 and 2
# groups, the last of one block)
SPLITS = [
    ("pointwise_14x14", (1, 32, 14, 14), (48, 32, 1, 1), {}, True),
    ("pointwise_5x61", (1, 64, 5, 61), (40, 64, 1, 1), {}, True),
    ("pointwise_heavy_weights", (1, 256, 7, 7), (256, 256, 1, 1), {}, True),
    ("stem_s2_nchw_input", (1, 3, 33, 31), (32, 3, 3, 3),
     {"strides": [2, 2], "pads": [1, 1, 1, 1]}, False),
    ("conv3x3_uneven_pads", (1, 16, 7, 45), (24, 16, 3, 3), {"pads": [1, 0, 2, 1]}, True),
    ("depthwise_s1", (1, 32, 14, 14), (32, 1, 3, 3), {"group": 32, "pads": [1, 1, 1, 1]}, True),
    ("depthwise_s2", (1, 64, 29, 27), (64, 1, 3, 3),
     {"group": 64, "strides": [2, 2], "pads": [1, 1, 1, 1]}, True),
    ("depthwise_2_rows", (1, 64, 2, 40), (64, 1, 3, 3), {"group": 64, "pads": [1, 1, 1, 1]},
     True),
    ("pointwise_odd_groups", (1, 192, 5, 5), (392, 192, 1, 1), {}, True),
    ("depthwise_7x7_3_groups", (1, 96, 7, 7), (96, 1, 3, 3), {"group": 96, "pads": [1, 1, 1, 1]},
     True),
    ("depthwise_odd_groups_s2", (1, 40, 19, 21), (40, 1, 3, 3),
     {"group": 40, "strides": [2, 2], "pads": [1, 1, 1, 1]}, True),
]  # fmt: skip


@pytest.mark.parametrize("name,xs,ws,attrs,blocked", SPLITS, ids=[c[0] for c in SPLITS])
def test_static_pixel_parts_change_no_bit(level, name, xs, ws, attrs, blocked):
    """One static part of the output pixels per thread (nchwc_split_mode 1, 2 the conv's only,
    3 the depthwise conv's only, 0 with nchwc_parts_h: outputs of at least that many rows; part
    p's 1, 4 or 16 pieces on seat p first, the rest taken by whoever is free), the static channel
    parts (nchwc_channel_parts, 1, 4 or 16 pieces) and the pool's dynamic chunks (mode 0,
    channel parts off) give the same bits at 1, 2 and 3 threads, residual and Relu6 included."""
    from gossamer.cython_kernels._native import ext

    x = RNG.standard_normal(xs).astype(F32)
    inits = {"w": (RNG.standard_normal(ws) * 0.3).astype(F32),
             "b": RNG.standard_normal(ws[0]).astype(F32)}  # fmt: skip
    feeds = {"x": _blocked(x) if blocked else x}
    shape = (
        gossamer.Session(_graph("NchwcConv", feeds, inits, **attrs), backends=[])
        .run(None, feeds)[0]
        .shape
    )
    feeds["z"] = RNG.standard_normal(shape).astype(F32)
    graph = _graph("NchwcConv", feeds, inits, **attrs, activation="Clip",
                   activation_params=[0.0, 6.0])  # fmt: skip
    graph.nodes[0].inputs[:] = ["x", "w", "b", "z"]
    sessions = [gossamer.Session(graph, backends=["cython"], threads=t) for t in (1, 2, 3)]
    old, old_h = ext().nchwc_split_mode(), ext().nchwc_parts_h()
    old_c = ext().nchwc_channel_parts()
    try:
        runs = []
        for mode, pieces, rows, cparts in (
            (0, 4, 0, 0), (1, 1, 0, 1), (1, 4, 0, 1), (1, 16, 0, 1), (2, 4, 0, 1), (3, 2, 0, 1),
            (0, 4, 1, 1), (0, 1, 2, 1), (0, 4, 28, 1), (0, 1, 0, 1), (0, 4, 0, 1), (0, 16, 0, 1),
        ):  # fmt: skip
            ext().nchwc_split_mode(mode, pieces)
            ext().nchwc_parts_h(rows)
            ext().nchwc_channel_parts(cparts)
            runs += [s.run(None, feeds)[0] for s in sessions]
    finally:
        ext().nchwc_split_mode(*old)
        ext().nchwc_parts_h(old_h)
        ext().nchwc_channel_parts(old_c)
    assert all(np.array_equal(runs[0], r) for r in runs[1:])
    ref = gossamer.Session(graph, backends=[]).run(None, feeds)[0]
    np.testing.assert_allclose(runs[0], ref, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="not 0, 1, 2 or 3"):
        ext().nchwc_split_mode(4)
    with pytest.raises(ValueError, match="not 1 to 16"):
        ext().nchwc_split_mode(-1, 17)


# (NCHW x shape, w shape): 1x1 convs whose weights outweigh the input (weights-major) with
# enough groups of four output blocks for static channel parts at 2 and 3 threads (13 groups, the last of
# one block; 32 groups, SqueezeNet's classifier on a 13 x 13 plane), and one too few for 3 threads
BLOCK_PARTS = [((1, 64, 5, 7), (392, 64, 1, 1)), ((1, 512, 13, 13), (1000, 512, 1, 1)),
               ((1, 128, 3, 3), (328, 128, 1, 1))]  # fmt: skip


@pytest.mark.parametrize("xs,ws", BLOCK_PARTS, ids=lambda v: "x".join(map(str, v)))
def test_channel_parts_of_a_weights_major_conv_change_no_bit_and_its_pool_sums_in_order(
    level, xs, ws
):
    """nchwc_channel_parts 1: a weights-major 1x1 conv of one image shares its groups of output
    blocks in static parts (part p's pieces on seat p first); 0: the pool's dynamic ranges. The
    conv (Relu) and the blocked GlobalAveragePool after it give the same bits either way at 1, 2
    and 3 threads, 1, 4 and 16 pieces (each output's sum keeps its order), and the pool's means
    are each channel's float32 sum in pixel order over hw (its vector sums)."""
    from gossamer.cython_kernels._native import ext

    x = _blocked(RNG.standard_normal(xs).astype(F32))
    inits = {"w": (RNG.standard_normal(ws) * 0.1).astype(F32),
             "b": RNG.standard_normal(ws[0]).astype(F32)}  # fmt: skip
    conv = _graph("NchwcConv", {"x": x}, inits, activation="Relu")
    convs = [gossamer.Session(conv, backends=["cython"], threads=t) for t in (1, 2, 3)]
    old, old_split = ext().nchwc_channel_parts(), ext().nchwc_split_mode()
    try:
        runs, pools = [], []
        for on, pieces in ((0, 4), (1, 4), (1, 1), (1, 16)):
            ext().nchwc_channel_parts(on)
            ext().nchwc_split_mode(0, pieces)
            for t, s in zip((1, 2, 3), convs):
                y = s.run(None, {"x": x})[0]
                runs.append(y)
                pool = gossamer.Session(
                    _graph("NchwcGlobalAveragePool", {"x": y}, {}), backends=["cython"], threads=t
                )
                pools.append(pool.run(None, {"x": y})[0])
    finally:
        ext().nchwc_channel_parts(old)
        ext().nchwc_split_mode(*old_split)
    assert all(np.array_equal(runs[0], r) for r in runs[1:])
    assert all(np.array_equal(pools[0], p) for p in pools[1:])
    ref = gossamer.Session(conv, backends=[]).run(None, {"x": x})[0]
    np.testing.assert_allclose(runs[0], ref, rtol=1e-4, atol=1e-4)
    n, cb, h, w, _ = runs[0].shape
    acc = np.zeros((n, cb, 8), F32)
    for p in range(h * w):  # each channel's float32 sum in pixel order, then / hw
        acc += runs[0].reshape(n, cb, h * w, 8)[:, :, p]
    assert np.array_equal(pools[0], (acc / F32(h * w)).reshape(n, cb * 8, 1, 1))


# (NCHW x shape, kernel, pads [top, left, bottom, right], dilation): stride-2 depthwise rows
# whose borders the kernels compute as tiles of up to 8 pixels with taps checked pixel by pixel
S2_ROWS = [
    ((1, 16, 4, 14), 3, [1, 1, 1, 1], 1),  # MobileNetV2's 14 -> 7: 3 checked + 4
    ((1, 8, 3, 28), 3, [1, 1, 1, 1], 1),  # 28 -> 14: 2 checked + 8 + 4
    ((1, 8, 3, 25), 3, [0, 1, 1, 1], 1),  # odd width, 13 outputs
    ((1, 8, 3, 7), 3, [1, 1, 1, 1], 1),  # 4 outputs: one tile
    ((1, 8, 3, 40), 5, [2, 2, 2, 3], 1),  # a 5-wide window
    ((1, 8, 3, 30), 3, [1, 3, 1, 0], 2),  # dilated, a wide left pad
    ((1, 8, 3, 60), 3, [1, 9, 1, 9], 1),  # borders wider than one tile
]  # fmt: skip


@pytest.mark.parametrize("xs,k,pads,dil", S2_ROWS, ids=lambda v: "x".join(map(str, v))
                         if isinstance(v, tuple) else str(v))  # fmt: skip
def test_a_stride_2_depthwise_pixel_is_the_pixel_computed_alone(level, xs, k, pads, dil):
    """A stride-2 depthwise row's pixels, computed in tiles of several pixels (the borders'
    taps checked pixel by pixel), have the bits of each pixel computed alone (an input cropped
    to one output's window: a one-pixel tile, as the kernels computed every border pixel
    before): each pixel's taps are summed in the same order whatever tile holds it."""
    c, w = xs[1], xs[3]
    x = RNG.standard_normal(xs).astype(F32)
    inits = {"w": (RNG.standard_normal((c, 1, k, k)) * 0.3).astype(F32),
             "b": RNG.standard_normal(c).astype(F32)}  # fmt: skip
    top, left, bottom, _ = pads
    attrs = {"group": c, "strides": [2, 2], "dilations": [dil, dil], "activation": "Relu"}
    feeds = {"x": _blocked(x)}
    whole, ref = _both(_graph("NchwcConv", feeds, inits, **attrs, pads=pads), feeds, 1)
    np.testing.assert_allclose(whole, ref, rtol=1e-4, atol=1e-4)
    span = (k - 1) * dil + 1
    relu_bias = np.maximum(inits["b"], 0).reshape(c // 8, 1, 8)
    for ox in range(whole.shape[3]):
        x0 = 2 * ox - left  # the window's first column (< 0: in the left pad)
        lo, hi = max(0, x0), min(w, x0 + span)
        if hi <= lo:  # the window all padding: the bias alone
            assert np.array_equal(
                whole[0, :, :, ox], np.broadcast_to(relu_bias, whole[0, :, :, ox].shape)
            )
            continue
        crop = _blocked(np.ascontiguousarray(x[..., lo:hi]))
        one_pads = [top, lo - x0, bottom, x0 + span - hi]
        graph = _graph("NchwcConv", {"x": crop}, inits, **attrs, pads=one_pads)
        sess = gossamer.Session(graph, backends=["cython"], threads=1)
        alone = sess.run(None, {"x": crop})[0]
        assert alone.shape[3] == 1
        assert alone[:, :, :, 0].tobytes() == whole[:, :, :, ox].tobytes(), ox
