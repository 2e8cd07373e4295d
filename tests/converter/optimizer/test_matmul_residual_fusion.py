"""O2 MatMul residual fusion: Add(FusedMatMul(a, B, b), z) -> gossamer::FusedMatMul(a, B, b, "", z)."""

import numpy as np
from gossamer.converter.optimizer import optimize

from ._helpers import graph_of, node, ops, optimized_matches

F32 = np.float32
RNG = np.random.default_rng(11)
W = {"w": RNG.standard_normal((8, 6)).astype(F32), "b": RNG.standard_normal(6).astype(F32)}


def _block(bias=True, z_shape=(2, 5, 6), extra_out=False, act=None):
    """y = MatMul(x, W) [+ b] [act] + Relu(z) (z's producer makes it a computed tensor)."""
    nodes = [node("Relu", ["z"], ["zr"]), node("MatMul", ["x", "w"], ["m"])]
    y = "m"
    if bias:
        nodes.append(node("Add", [y, "b"], ["mb"]))
        y = "mb"
    if act:
        nodes.append(node(act, [y], ["ma"]))
        y = "ma"
    nodes.append(node("Add", ["zr", y], ["y"]))
    outs = [("y", [2, 5, 6])] + ([(y, [2, 5, 6])] if extra_out else [])
    return graph_of(nodes, [("x", [2, 5, 8]), ("z", list(z_shape))], outs, W)


def test_biased_product_plus_residual_becomes_one_fused_mat_mul_bit_for_bit():
    out = optimized_matches(_block(), ["bias_fusion", "matmul_residual_fusion"], rtol=0)
    assert ops(out) == {"Relu": 1, "gossamer::FusedMatMul": 1}
    fused = next(n for n in out.nodes if n.op_type == "FusedMatMul")
    assert fused.inputs[2] == "b" and fused.inputs[3] == "" and fused.inputs[4] == "zr"


def test_a_plain_mat_mul_takes_the_residual_without_a_bias():
    out = optimized_matches(_block(bias=False), ["matmul_residual_fusion"], rtol=0)
    fused = next(n for n in out.nodes if n.op_type == "FusedMatMul")
    assert fused.inputs == ["x", "w", "", "", "zr"]


def test_a_broadcast_residual_is_not_fused():
    out, report = optimize(_block(z_shape=(1, 1, 6)), passes=["matmul_residual_fusion"])
    assert report.changed("matmul_residual_fusion") == 0 and ops(out)["Add"] == 2


def test_a_product_read_elsewhere_is_not_fused():
    passes = ["bias_fusion", "matmul_residual_fusion"]
    out, report = optimize(_block(extra_out=True), passes=passes)
    assert report.changed("matmul_residual_fusion") == 0


def test_a_product_with_an_activation_is_not_fused():
    passes = ["bias_fusion", "activation_fusion", "matmul_residual_fusion"]
    out = optimized_matches(_block(act="Relu"), passes, rtol=0)
    assert ops(out)["Add"] == 1  # relu(x @ W + b) + z is not relu(x @ W + b + z)


def test_a_minilm_encoder_fuses_both_residuals_of_every_layer():
    from gossamer.converter.onnx_import import graph_from_onnx

    from gossamer.builtin_models import minilm_encoder

    out, report = optimize(graph_from_onnx(minilm_encoder(layers=2, seq=16)), 3)
    assert report.changed("matmul_residual_fusion") == 4
    fused = [n for n in out.nodes if n.op_type == "FusedMatMul" and len(n.inputs) > 4]
    assert len(fused) == 4 and all(n.inputs[4] for n in fused)
