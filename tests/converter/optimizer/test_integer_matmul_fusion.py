"""integer_matmul_fusion: quantize_dynamic's DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul
(-> Add) chains become com.microsoft MatMulIntegerToFloat / DynamicQuantizeMatMul, bit-identical
to the unfused graph on the reference and on cython."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.converter.optimizer import optimize
from onnx import helper, numpy_helper

import gossamer

from ._helpers import ops

F32 = np.float32
PASS = ["integer_matmul_fusion"]


def _model(heads: int = 1, *, bias: bool = True, per_col: bool = False, to: int = 1,
           bias_shape: tuple[int, ...] | None = None, extra_reader: str = "",
           zp_in_matmul: bool = True) -> onnx.ModelProto:  # fmt: skip
    """x -> DynamicQuantizeLinear -> `heads` quantize_dynamic MatMul chains (K 24, N 10) -> y<i>."""
    rng = np.random.default_rng(heads)
    k, n = 24, 10
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "s", "zp"])]
    inits, outs = [], []
    for h in range(heads):
        w = rng.integers(-128, 128, (k, n)).astype(np.int8)
        sb = (rng.random(n if per_col else ()) * 0.01 + 1e-3).astype(F32)
        zb = rng.integers(-5, 5, n if per_col else ()).astype(np.int8)
        inits += [numpy_helper.from_array(w, f"w{h}"), numpy_helper.from_array(sb, f"sb{h}"),
                  numpy_helper.from_array(zb, f"zb{h}")]  # fmt: skip
        zp = "zp" if zp_in_matmul else ""
        nodes += [
            helper.make_node("Mul", ["s", f"sb{h}"], [f"ss{h}"]),
            helper.make_node("MatMulInteger", ["q", f"w{h}", zp, f"zb{h}"], [f"acc{h}"]),
            helper.make_node("Cast", [f"acc{h}"], [f"f{h}"], to=to),
            helper.make_node("Mul", [f"f{h}", f"ss{h}"], [f"m{h}" if bias else f"y{h}"]),
        ]
        if bias:
            b = rng.standard_normal(bias_shape or (n,)).astype(F32)
            inits.append(numpy_helper.from_array(b, f"b{h}"))
            nodes.append(helper.make_node("Add", [f"b{h}", f"m{h}"], [f"y{h}"]))
        elem = onnx.TensorProto.FLOAT if to == 1 else onnx.TensorProto.DOUBLE
        outs.append(helper.make_tensor_value_info(f"y{h}", elem, None))
    if extra_reader:
        nodes.append(helper.make_node("Identity", [extra_reader], ["extra"]))
        outs.append(helper.make_tensor_value_info("extra", onnx.TensorProto.UNDEFINED, None))
    x = helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 7, k])
    graph = helper.make_graph(nodes, "g", [x], outs, initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _fused_equal(model: onnx.ModelProto, backends: list[str]) -> object:
    """The pass's result; its outputs equal the unfused graph's bit for bit on these backends."""
    graph = graph_from_onnx(model)
    out, _ = optimize(graph, passes=PASS)
    x = (np.random.default_rng(0).standard_normal((2, 7, 24)) * 3).astype(F32)
    x[0, 0, 0] = 0.5  # values landing between steps
    for be in (backends, []):
        want = gossamer.load(graph, backends=be, optimize=0).run(None, {"x": x})
        got = gossamer.load(out, backends=be, optimize=0).run(None, {"x": x})
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_array_equal(g, w)
    return out


@pytest.mark.parametrize("per_col", [False, True])
def test_one_reader_becomes_dynamic_quantize_matmul(per_col):
    out = _fused_equal(_model(1, per_col=per_col), ["cython"])
    assert ops(out) == {"com.microsoft::DynamicQuantizeMatMul": 1}
    assert out.opsets["com.microsoft"] == 1


def test_shared_quantizer_becomes_matmul_integer_to_float_each():
    out = _fused_equal(_model(3), ["cython"])
    assert ops(out) == {"DynamicQuantizeLinear": 1, "com.microsoft::MatMulIntegerToFloat": 3}


def test_without_bias_the_mul_is_the_end():
    out = _fused_equal(_model(2, bias=False), ["cython"])
    assert ops(out) == {"DynamicQuantizeLinear": 1, "com.microsoft::MatMulIntegerToFloat": 2}


def test_a_broadcasting_bias_stays_an_add():
    out = _fused_equal(_model(1, bias_shape=(7, 10)), ["cython"])
    assert ops(out) == {"com.microsoft::DynamicQuantizeMatMul": 1, "Add": 1}


def test_a_zero_point_left_out_of_the_product_keeps_the_quantizer():
    out = _fused_equal(_model(1, zp_in_matmul=False), ["cython"])
    assert ops(out) == {"DynamicQuantizeLinear": 1, "com.microsoft::MatMulIntegerToFloat": 1}


@pytest.mark.parametrize("reader", ["acc0", "f0", "ss0"])
def test_an_intermediate_read_elsewhere_is_not_fused(reader):
    out, _ = optimize(graph_from_onnx(_model(1, extra_reader=reader)), passes=PASS)
    assert "MatMulInteger" in ops(out)


def test_a_quantizer_output_read_elsewhere_keeps_the_quantizer():
    out = _fused_equal(_model(1, extra_reader="s"), ["cython"])
    assert ops(out)["com.microsoft::MatMulIntegerToFloat"] == 1


def test_a_cast_to_double_is_not_fused():
    out, _ = optimize(graph_from_onnx(_model(1, bias=False, to=11)), passes=PASS)
    assert "MatMulInteger" in ops(out)


def test_quantize_dynamic_model_is_fused_and_identical(tmp_path):
    """A model onnxruntime's quantize_dynamic wrote (MatMul + bias, shared inputs)."""
    pytest.importorskip("onnxruntime")
    from onnxruntime.quantization import QuantType, quantize_dynamic

    rng = np.random.default_rng(4)
    w1, w2 = (rng.standard_normal((16, 16)).astype(F32) for _ in range(2))
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["a"]),
             helper.make_node("Add", ["a", "b1"], ["c"]),
             helper.make_node("MatMul", ["x", "w2"], ["d"]),
             helper.make_node("Add", ["c", "d"], ["y"])]  # fmt: skip
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2"),
             numpy_helper.from_array(rng.standard_normal(16).astype(F32), "b1")]  # fmt: skip
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [3, 16])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [3, 16])], initializer=inits,
    )  # fmt: skip
    src, dst = tmp_path / "f.onnx", tmp_path / "q.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), src)
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8)
    x = rng.standard_normal((3, 16)).astype(F32)
    want = gossamer.load(str(dst), backends=[], optimize=0).run(None, {"x": x})[0]
    for be in (["cython"], []):
        sess = gossamer.load(str(dst), backends=be)
        fused = ops(sess.graph)
        assert fused["com.microsoft::MatMulIntegerToFloat"] == 2 and "MatMulInteger" not in fused
        np.testing.assert_array_equal(sess.run(None, {"x": x})[0], want)
