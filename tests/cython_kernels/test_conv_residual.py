"""FusedConv with a residual input z (input 4): y = act(conv(x) + b + z) on every conv path."""

from __future__ import annotations

import numpy as np
import pytest

import gossamer

from ._helpers import assert_close, assert_on_cython, one_node, run_both

RNG = np.random.default_rng(11)
F32 = np.float32

# (name, x shape, w shape, conv attributes): one per path of conv_kernels._Conv.run
PATHS = [
    ("gemm_1x1", (1, 24, 9, 11), (20, 24, 1, 1), {}),
    ("gemm_im2col_s2", (2, 8, 13, 12), (12, 8, 3, 3), {"strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ("winograd", (1, 32, 14, 14), (32, 32, 3, 3), {"pads": [1, 1, 1, 1]}),
    ("winograd_f2_7x7", (1, 32, 7, 7), (24, 32, 3, 3), {"pads": [1, 1, 1, 1]}),  # 16 2x2 tiles
    ("depthwise", (1, 19, 10, 9), (19, 1, 3, 3), {"group": 19, "pads": [1, 1, 1, 1]}),
    ("direct_stem", (1, 3, 17, 16), (16, 3, 3, 3), {"strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ("grouped", (1, 8, 7, 7), (8, 4, 3, 3), {"group": 2, "pads": [1, 1, 1, 1]}),
    ("conv1d", (2, 6, 20), (10, 6, 3), {"pads": [1, 1]}),
    ("small_plane", (3, 20, 3, 4), (40, 20, 3, 3), {"pads": [1, 1, 1, 1]}),  # gk_conv_cvec
    ("small_plane_1d", (2, 6, 5), (24, 6, 3), {"pads": [1, 1]}),
]
ACTS = [
    ("", None),
    ("Relu", None),
    ("Clip", [-0.5, 0.75]),
    ("Sigmoid", None),
    ("PRelu", None),
]


@pytest.mark.parametrize("act,params", ACTS, ids=[a or "none" for a, _ in ACTS])
@pytest.mark.parametrize("name,xs,ws,attrs", PATHS, ids=[p[0] for p in PATHS])
def test_residual_matches_the_reference(simd, threads, name, xs, ws, attrs, act, params):
    x = RNG.standard_normal(xs).astype(F32)
    w = (RNG.standard_normal(ws) * 0.3).astype(F32)
    b = RNG.standard_normal(ws[0]).astype(F32)
    slope = RNG.random((ws[0],) + (1,) * (len(ws) - 2)).astype(F32)
    ref_out = gossamer.load(one_node("Conv", {"x": x}, {"w": w, "b": b}, **attrs), backends=[]).run(
        None, {"x": x}
    )[0]
    z = RNG.standard_normal(ref_out.shape).astype(F32)
    model = _model_with_inputs_in_order(x, w, b, slope if act == "PRelu" else None, z, attrs,
                                        act, params)  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x, "z": z}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=1e-4, atol=1e-4)


def _model_with_inputs_in_order(x, w, b, slope, z, attrs, act, params):
    """FusedConv(x, w, b, slope or "", z) with x and z graph inputs."""
    import onnx
    from onnx import TensorProto, helper

    extra = {"activation": act} if act else {}
    if params:
        extra["activation_params"] = params
    inits = [onnx.numpy_helper.from_array(w, "w"), onnx.numpy_helper.from_array(b, "b")]
    if slope is not None:
        inits.append(onnx.numpy_helper.from_array(slope, "slope"))
    node = helper.make_node(
        "FusedConv", ["x", "w", "b", "slope" if slope is not None else "", "z"], ["y"],
        domain="gossamer", **attrs, **extra,
    )  # fmt: skip
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, z.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=inits,
    )  # fmt: skip
    imports = [helper.make_opsetid("", 17), helper.make_opsetid("gossamer", 1)]
    return helper.make_model(graph, opset_imports=imports).SerializeToString()


def test_a_residual_of_another_shape_gets_the_reference_error():
    x = RNG.standard_normal((1, 4, 6, 6)).astype(F32)
    w = RNG.standard_normal((4, 4, 1, 1)).astype(F32)
    b = np.zeros(4, F32)
    z = RNG.standard_normal((1, 4, 6, 1)).astype(F32)  # broadcastable, but z is not broadcast
    model = _model_with_inputs_in_order(x, w, b, None, z, {}, "Relu", None)
    session = gossamer.load(model, backends=["cython"])
    with pytest.raises(gossamer.NodeExecutionError, match="residual z has shape"):
        session.run(None, {"x": x, "z": z})
    assert session.runtime_fallbacks  # the kernel declined the call; the reference raised


def test_resnet18_with_fused_shortcuts_matches_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    from gossamer.builtin_models import resnet18

    model = resnet18().SerializeToString()
    x = RNG.standard_normal((1, 3, 224, 224)).astype(F32)
    session = gossamer.load(model, backends=["cython"], optimize=3)
    kinds = [n for n in session.graph.nodes if n.op_type == "FusedConv" and len(n.inputs) > 4]
    assert len(kinds) == 8
    name = session.get_inputs()[0].name
    want = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {name: x})
    got = session.run(None, {name: x})
    np.testing.assert_allclose(got[0], want[0], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("plane,f2_at_avx512", [(7, True), (8, True), (10, False), (12, False)])
def test_small_planes_take_winograd_f2_where_its_tiles_fill_one_panel(plane, f2_at_avx512):
    """7x7 / 8x8 planes (16 2x2 tiles: one packed panel) run F(2x2) at every SIMD level; larger
    planes below F(4x4)'s 16 tiles only without the AVX-512 GEMM; fewer than 32 input channels
    never."""
    from gossamer.cython_kernels import conv_kernels
    from gossamer.refimpl.ir import Node

    w = np.zeros((64, 64, 3, 3), F32)
    conv = conv_kernels._Conv(Node("Conv", ["x", "w"], ["y"], {"pads": [1, 1, 1, 1]}), {1: w})
    want = 2 if f2_at_avx512 or not conv_kernels._avx512_gemm() else 0
    assert conv.use_winograd(64, 64, plane, plane) == want
    assert conv.use_winograd(16, 64, plane, plane) == 0
    assert conv.use_winograd(64, 64, 14, 14) == 4


def test_winograd_f2_on_a_7x7_plane_matches_at_every_level(level, nthreads):
    """ResNet's last-stage shape (one 16-tile panel of F(2x2)) with a residual and Relu, on every
    SIMD path (the AVX-512 GEMM's included: the `simd` fixture above leaves it out)."""
    from gossamer.cython_kernels import conv_kernels
    from gossamer.refimpl.ir import Node

    x = RNG.standard_normal((1, 64, 7, 7)).astype(F32)
    w = (RNG.standard_normal((48, 64, 3, 3)) * 0.1).astype(F32)
    b = RNG.standard_normal(48).astype(F32)
    conv = conv_kernels._Conv(Node("Conv", ["x", "w"], ["y"], {"pads": [1, 1, 1, 1]}), {1: w})
    assert conv.use_winograd(64, 48, 7, 7) == 2
    z = RNG.standard_normal((1, 48, 7, 7)).astype(F32)
    model = _model_with_inputs_in_order(x, w, b, None, z, {"pads": [1, 1, 1, 1]}, "Relu", None)
    ours, ref, placement = run_both(model, {"x": x, "z": z}, nthreads)
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=1e-4, atol=1e-4)
