"""The int8 kernels replay inside segments (segments.py): a chain of QuantizeLinear, QLinearConv
(Winograd 3x3, depthwise, 1x1, strided im2col), QLinearAdd, QLinearMul, QLinearGlobalAveragePool,
QGemm, QLinearMatMul and DequantizeLinear becomes one segment whose replays equal the reference
bit for bit, at every SIMD level this CPU has and 1 and 2 threads; a zero point or scale given at
run time keeps its node out of segments (its value is read by Python, not by a recorded call)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from gossamer.cython_kernels import segments
from onnx import helper, numpy_helper

import gossamer

F32 = np.float32


def _segments(session: gossamer.Session) -> list:
    return [seg for _, _, seg, _ in session._program.schedule or () if seg is not None]


def _chain(rng: np.random.Generator, c: int = 8, hw: int = 9) -> bytes:
    """float x [1, c, hw, hw] -> int8 chain -> float y [1, 10]."""
    inits: dict[str, np.ndarray] = {}
    nodes = []

    def const(name: str, value: np.ndarray) -> str:
        inits[name] = value
        return name

    def scale(name: str) -> str:
        return const(name, F32(rng.random() * 0.05 + 0.01))

    def conv(x: str, y: str, cin: int, cout: int, k: int, group: int = 1, stride: int = 1) -> str:
        w = rng.integers(-127, 128, (cout, cin // group, k, k)).astype(np.int8)
        ins = [x, "s_" + x, "z_" + x, const("w_" + y, w),
               const("ws_" + y, (rng.random(cout) * 0.02 + 1e-3).astype(F32)),
               const("wz_" + y, np.zeros(cout, np.int8)), scale("s_" + y),
               const("z_" + y, np.uint8(rng.integers(0, 256))),
               const("b_" + y, rng.integers(-3000, 3000, cout).astype(np.int32))]  # fmt: skip
        nodes.append(helper.make_node("QLinearConv", ins, [y], group=group, pads=[k // 2] * 4,
                                      strides=[stride] * 2, kernel_shape=[k, k]))  # fmt: skip
        return y

    scale("s_q")
    const("z_q", np.uint8(128))
    nodes.append(helper.make_node("QuantizeLinear", ["x", "s_q", "z_q"], ["q"]))
    conv("q", "wino", c, c, 3)  # 3x3 stride 1, 8 channels: Winograd
    conv("wino", "dw", c, c, 3, group=c)  # depthwise
    conv("dw", "pw", c, c, 1)  # 1x1
    conv("pw", "strided", c, c, 3, stride=2)  # im2col
    conv("wino", "down", c, c, 3, stride=2)
    ms = ["strided", "s_strided", "z_strided", "down", "s_down", "z_down", scale("s_add"),
          const("z_add", np.uint8(100))]  # fmt: skip
    nodes.append(helper.make_node("QLinearAdd", ms, ["add"], domain="com.microsoft"))
    ms = ["add", "s_add", "z_add", "down", "s_down", "z_down", scale("s_mul"),
          const("z_mul", np.uint8(3))]  # fmt: skip
    nodes.append(helper.make_node("QLinearMul", ms, ["mul"], domain="com.microsoft"))
    ms = ["mul", "s_mul", "z_mul", scale("s_gap"), const("z_gap", np.uint8(7))]
    nodes.append(helper.make_node("QLinearGlobalAveragePool", ms, ["gap"], domain="com.microsoft"))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"]))
    ms = ["flat", "s_gap", "z_gap", const("wg", rng.integers(-127, 128, (c, 12)).astype(np.int8)),
          scale("s_wg"), const("z_wg", np.int8(0)), const("bg", np.arange(12, dtype=np.int32)),
          scale("s_g"), const("z_g", np.uint8(120))]  # fmt: skip
    nodes.append(helper.make_node("QGemm", ms, ["g"], domain="com.microsoft"))
    ms = [
        "g",
        "s_g",
        "z_g",
        const("wm", rng.integers(0, 256, (12, 10)).astype(np.uint8)),
        scale("s_wm"),
        const("z_wm", np.uint8(128)),
        scale("s_m"),
        const("z_m", np.uint8(9)),
    ]
    nodes.append(helper.make_node("QLinearMatMul", ms, ["m"]))
    nodes.append(helper.make_node("DequantizeLinear", ["m", "s_m", "z_m"], ["y"]))
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, c, hw, hw])
    y = helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None)
    graph = helper.make_graph(
        nodes,
        "chain",
        [x],
        [y],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    imports = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=imports).SerializeToString()


def test_an_int8_chain_is_one_segment_equal_to_the_reference(level, nthreads):
    fast = _replays_like_the_reference(_chain(np.random.default_rng(0)), nthreads, 8, 9, 5)
    assert set(fast.placement.backend_of.values()) == {"cython"}
    (seg,) = _segments(fast)
    assert (seg.start, seg.stop) == (0, len(fast._program.nodes))


@pytest.mark.parametrize("nthreads", [2, 3])
def test_convolutions_packing_and_multiplying_in_one_pool_call_replay(nthreads):
    """The chain at 64 channels of 16 x 16: its 3x3, 1x1 and strided convolutions (weights' zero
    point 0) are big enough for the packer and the 8-bit GEMM to run as one pool call
    (ext.q8_conv_gemm, src/qgemm.h gk_q8_gemm_fusable); the recorded call replays bit for bit
    with new inputs, on 2 and 3 threads."""
    fast = _replays_like_the_reference(_chain(np.random.default_rng(2), c=64, hw=16), nthreads,
                                       64, 16, 4)  # fmt: skip
    assert len(_segments(fast)) == 1


def _replays_like_the_reference(
    model: bytes, nthreads: int, c: int, hw: int, runs: int
) -> gossamer.Session:
    """The cython session of `model` (optimize=0), after `runs` runs on new inputs (the second
    records, the later ones replay), each bit-identical to the reference; no segment split."""
    fast = gossamer.load(model, backends=["cython"], threads=nthreads, optimize=0)
    ref = gossamer.load(model, backends=[], optimize=0)
    rng = np.random.default_rng(c + hw)
    for _ in range(runs):
        x = (rng.standard_normal((1, c, hw, hw)) * 2).astype(F32)
        (got,), (want,) = fast.run(None, {"x": x}), ref.run(None, {"x": x})
        assert got.tobytes() == want.tobytes()
    assert segments.split_reasons(fast._program) == {}
    return fast


@pytest.mark.parametrize("runtime", ["x_zero_point", "x_scale"])
def test_a_parameter_given_at_run_time_keeps_its_node_out(runtime):
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, (1, 4, 6, 6)).astype(np.uint8)
    consts = {
        "x_scale": np.array(0.02, F32), "x_zero_point": np.array(120, np.uint8),
        "w": rng.integers(-127, 128, (4, 4, 1, 1)).astype(np.int8),
        "w_scale": np.array(0.01, F32), "w_zero_point": np.array(0, np.int8),
        "y_scale": np.array(0.05, F32), "y_zero_point": np.array(128, np.uint8),
    }  # fmt: skip
    order = list(consts)
    feeds = {"x": x, runtime: consts.pop(runtime)}
    typed = [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
             for k, v in feeds.items()]  # fmt: skip
    node = helper.make_node("QLinearConv", ["x", *order], ["y"])
    out = helper.make_tensor_value_info("y", onnx.TensorProto.UINT8, None)
    graph = helper.make_graph(
        [node], "g", typed, [out], [numpy_helper.from_array(v, k) for k, v in consts.items()]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    fast = gossamer.load(model.SerializeToString(), backends=["cython"], threads=1, optimize=0)
    ref = gossamer.load(model.SerializeToString(), backends=[], optimize=0)
    for value in (120, 120, 7, 200, 120) if runtime == "x_zero_point" else (0.02, 0.02, 0.5, 1e-3):
        feeds[runtime] = np.array(value, feeds[runtime].dtype)
        (got,), (want,) = fast.run(None, feeds), ref.run(None, feeds)
        assert got.tobytes() == want.tobytes()
    assert not _segments(fast)
    (why,) = segments.split_reasons(fast._program).values()
    assert runtime in why


@pytest.mark.parametrize("op", ["ConvInteger", "MatMulInteger"])
def test_integer_products_with_constant_zero_points_replay(op):
    rng = np.random.default_rng(3)
    if op == "ConvInteger":
        x = rng.integers(0, 256, (1, 3, 7, 7)).astype(np.uint8)
        w = rng.integers(-128, 128, (5, 3, 3, 3)).astype(np.int8)
        attrs = {"pads": [1, 1, 1, 1]}
    else:
        x = rng.integers(0, 256, (2, 7, 6)).astype(np.uint8)
        w = rng.integers(-128, 128, (6, 9)).astype(np.int8)
        attrs = {}
    inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.array(77, np.uint8), "zx")]
    node = helper.make_node(op, ["x", "w", "zx"], ["y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 2, x.shape)],
                              [helper.make_tensor_value_info("y", 6, None)], inits)  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    fast = gossamer.load(model.SerializeToString(), backends=["cython"], threads=2, optimize=0)
    ref = gossamer.load(model.SerializeToString(), backends=[], optimize=0)
    for _ in range(4):
        x = rng.integers(0, 256, x.shape).astype(np.uint8)
        (got,), (want,) = fast.run(None, {"x": x}), ref.run(None, {"x": x})
        assert got.tobytes() == want.tobytes()
    assert segments.split_reasons(fast._program) == {} and len(_segments(fast)) == 1
