"""What static quantisation quantises: MatMul + bias Add as one linear op, Softmax inputs and
float-fed constant Add/Mul left float, data movement sharing its input's parameters."""

import numpy as np
import pytest
from gossamer.converter.quantization import quantize_static

from .graphs import build

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _attention_like():
    """x (1, 6, 8) -> MatMul W + b -> Transpose -> MatMul with x -> Softmax -> y; and
    x -> HardSwish -> Mul(c) -> MatMul V -> z."""
    rng = np.random.default_rng(0)
    return build(
        [
            ("MatMul", ["x", "w"], ["m"], {}),
            ("Add", ["m", "b"], ["q"], {}),
            ("Transpose", ["q"], ["qt"], {"perm": [0, 2, 1]}),
            ("MatMul", ["x", "qt"], ["logits"], {}),
            ("Softmax", ["logits"], ["y"], {}),
            ("HardSwish", ["x"], ["h"], {}),
            ("Mul", ["h", "c"], ["hc"], {}),
            ("MatMul", ["hc", "v"], ["z"], {}),
        ],
        [("x", [1, 6, 8])],
        [("y", None), ("z", None)],
        {
            "w": rng.standard_normal((8, 8)),
            "b": rng.standard_normal(8),
            "c": np.float32(0.7),
            "v": rng.standard_normal((8, 4)),
        },
    )


@pytest.fixture(scope="module")
def quantised():
    x = np.random.default_rng(1).standard_normal((8, 1, 6, 8)).astype(np.float32)
    return quantize_static(_attention_like(), {"x": x}, equalize=False)


def _producers(g):
    return {o: n for n in g.nodes for o in n.outputs}


def test_matmul_and_its_bias_add_are_one_linear_op_with_an_int32_bias(quantised):
    g, report = quantised
    prod = _producers(g)
    add = next(n for n in g.nodes if n.op_type == "Add")
    matmul_out = next(i for i in add.inputs if prod[i].op_type == "MatMul")  # no Q -> DQ between
    bias_dq = prod[next(i for i in add.inputs if i != matmul_out)]
    assert bias_dq.op_type == "DequantizeLinear"
    assert g.initializers[bias_dq.inputs[0]].dtype == np.int32
    w_scale = g.initializers[prod[prod[matmul_out].inputs[1]].inputs[1]]
    x_scale = g.initializers[prod[prod[matmul_out].inputs[0]].inputs[1]]
    np.testing.assert_allclose(g.initializers[bias_dq.inputs[1]], x_scale * w_scale, rtol=1e-6)
    assert {"Add_1", "MatMul_0"} <= {r.node for r in report.layers}


def test_softmax_input_and_float_fed_constant_mul_stay_float(quantised):
    g, report = quantised
    prod = _producers(g)
    softmax = next(n for n in g.nodes if n.op_type == "Softmax")
    assert prod[softmax.inputs[0]].op_type == "MatMul"  # the logits are not requantised
    mul = next(n for n in g.nodes if n.op_type == "Mul")
    assert prod[mul.inputs[0]].op_type == "HardSwish" and "Mul_6" not in {
        r.node for r in report.layers
    }
    last = next(n for n in g.nodes if n.op_type == "MatMul" and n.outputs == ["z"])
    assert prod[last.inputs[0]].op_type == "DequantizeLinear"  # quantised once, as its input


def test_a_transposed_quantised_tensor_keeps_its_parameters(quantised):
    g, _ = quantised
    prod = _producers(g)
    transpose = next(n for n in g.nodes if n.op_type == "Transpose")
    source = prod[transpose.inputs[0]]  # DQ of the linear op's output
    second = next(n for n in g.nodes if n.op_type == "MatMul" and n.outputs == ["logits"])
    moved = prod[second.inputs[1]]  # DQ of the transposed tensor
    for i in (1, 2):
        np.testing.assert_array_equal(
            g.initializers[source.inputs[i]], g.initializers[moved.inputs[i]]
        )


def test_elementwise_ops_whose_output_stays_float_are_not_quantised():
    """A detector's decoding tail: Conv -> Sigmoid -> Mul(stride) -> Concat -> graph output.
    Nothing after the Conv would run integer, so only the Conv is quantised."""
    rng = np.random.default_rng(2)
    graph = build(
        [
            ("Conv", ["x", "w", "b"], ["c"], {}),
            ("Sigmoid", ["c"], ["s"], {}),
            ("Mul", ["s", "stride"], ["m"], {}),
            ("Concat", ["m", "c"], ["y"], {"axis": 1}),
        ],
        [("x", [1, 3, 4, 4])],
        [("y", None)],
        {"w": rng.standard_normal((2, 3, 1, 1)), "b": rng.standard_normal(2), "stride": [8.0]},
    )
    x = rng.standard_normal((4, 1, 3, 4, 4)).astype(np.float32)
    qg, report = quantize_static(graph, {"x": x}, equalize=False)
    assert [r.node for r in report.layers] == ["Conv_0"]
    prod = _producers(qg)
    sigmoid = next(n for n in qg.nodes if n.op_type == "Sigmoid")
    assert prod[sigmoid.inputs[0]].op_type == "DequantizeLinear"  # the Conv's output, once
    quantized = {n.inputs[0] for n in qg.nodes if n.op_type == "QuantizeLinear"}
    assert quantized == {"x", "c"}  # not the Sigmoid's or the Mul's output
