"""Weight-only quantisation: N-bit codes that run everywhere, pack in .gsm, export to ONNX."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from gossamer.converter.onnx_export import graph_to_onnx
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.converter.quantization.weight_only import quantize_weights
from gossamer.converter.quantization.weight_sweep import cosine, weight_sweep
from gossamer.refimpl import model_format as mf
from gossamer.refimpl.errors import InputError
from gossamer.refimpl.interpreter import Program
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper

import gossamer
from tests.conftest import make_model, tensor_info
from tests.converter.quantization.conftest import ort_run, samples


def small_net(opset: int = 17, seed: int = 0):  # noqa: ANN201
    """Conv -> Relu -> Flatten -> MatMul -> Softmax, with a Gather embedding on a second path."""
    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "w")
    m = numpy_helper.from_array(rng.standard_normal((8 * 6 * 6, 10)).astype(np.float32), "m")
    e = numpy_helper.from_array(rng.standard_normal((50, 40)).astype(np.float32), "emb")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flat"),
        helper.make_node("MatMul", ["f", "m"], ["z"], name="mm"),
        helper.make_node("Softmax", ["z"], ["y"], axis=1, name="softmax"),
        helper.make_node("Gather", ["emb", "ids"], ["g"], name="gather"),
    ]
    inputs = [tensor_info("x", np.float32, [1, 3, 8, 8]), tensor_info("ids", np.int64, [4])]
    outputs = [tensor_info("y", np.float32, [1, 10]), tensor_info("g", np.float32, [4, 40])]
    return graph_from_onnx(make_model(nodes, inputs, outputs, [w, m, e], opset=opset))


FEEDS = {
    "x": np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32),
    "ids": np.array([0, 7, 49, 3]),
}


def run(graph, **kw):  # noqa: ANN001, ANN201
    return gossamer.load(graph, backends=kw.pop("backends", ["reference"]), **kw).run(None, FEEDS)


def dequantize_node(graph, name):  # noqa: ANN001, ANN201
    return next(n for n in graph.nodes if name in n.outputs)


@pytest.mark.parametrize("bits", range(1, 17))
def test_every_bit_width_runs_and_round_trips_through_gsm(bits: int) -> None:
    graph = small_net()
    quantized, report = quantize_weights(graph, bits=bits, min_elements=100)
    assert sorted(w.name for w in report.weights) == ["emb", "m", "w"]
    for name in ("w", "m", "emb"):
        assert name not in quantized.initializers
        codes_name = dequantize_node(quantized, name).inputs[0]
        codes = quantized.initializers[codes_name]
        assert codes.dtype == (np.int8 if bits <= 8 else np.int16)
        assert quantized.quant[codes_name].bits == bits
        low = -1 if bits == 1 else -(2 ** (bits - 1) - 1)
        assert codes.min() >= low and codes.max() <= 2 ** (bits - 1) - (bits > 1)
    ours = run(quantized, optimize=0)
    loaded = mf.load_gsm(mf.dump_gsm(quantized))
    assert all(np.array_equal(a, b) for a, b in zip(ours, run(loaded, optimize=0)))


def test_gsm_stores_n_bits_per_code() -> None:
    graph = small_net()
    sizes = {}
    for bits in (2, 4, 8):
        quantized, report = quantize_weights(graph, bits=bits, min_elements=100)
        sizes[bits] = len(mf.dump_gsm(quantized))
        assert report.stored_bytes < report.original_bytes * bits / 32 + 2000
    weights = sum(np.asarray(graph.initializers[n]).size for n in ("w", "m", "emb"))
    assert sizes[8] - sizes[4] >= weights * 4 / 8 - 256  # each step saves its bits, minus padding
    assert sizes[4] - sizes[2] >= weights * 2 / 8 - 256


def test_error_falls_as_bits_grow() -> None:
    graph = small_net()
    sqnr = [quantize_weights(graph, bits=b, min_elements=100)[1].sqnr_db for b in (1, 2, 4, 8, 16)]
    assert sqnr == sorted(sqnr) and sqnr[-1] > 90 and sqnr[3] > 35
    float_out = run(graph, optimize=0)
    out8 = run(quantize_weights(graph, bits=8, min_elements=100)[0], optimize=0)
    assert all(cosine(a, b) > 0.9999 for a, b in zip(float_out, out8))


def test_one_bit_is_sign_times_mean_magnitude_per_channel() -> None:
    graph = small_net()
    quantized, _ = quantize_weights(graph, bits=1, min_elements=100)
    node = dequantize_node(quantized, "w")
    codes, scale = (quantized.initializers[n] for n in node.inputs[:2])
    w = np.asarray(graph.initializers["w"])
    assert set(np.unique(codes)) <= {-1, 1}
    assert np.array_equal(codes, np.where(w >= 0, 1, -1))
    np.testing.assert_allclose(scale, np.abs(w).reshape(8, -1).mean(axis=1), rtol=1e-6)


def test_two_bit_symmetric_codes_are_ternary() -> None:
    quantized, _ = quantize_weights(small_net(), bits=2, min_elements=100)
    codes = quantized.initializers[dequantize_node(quantized, "m").inputs[0]]
    assert set(np.unique(codes)) == {-1, 0, 1}


def test_asymmetric_codes_are_unsigned_with_a_zero_point() -> None:
    quantized, _ = quantize_weights(small_net(), bits=4, symmetric=False, min_elements=100)
    node = dequantize_node(quantized, "m")
    codes, zero = quantized.initializers[node.inputs[0]], quantized.initializers[node.inputs[2]]
    assert codes.dtype == np.uint8 and codes.max() <= 15 and zero.dtype == np.uint8
    assert quantized.quant[node.inputs[0]].zero_point is not None


def test_layouts_follow_each_op() -> None:
    quantized, _ = quantize_weights(small_net(), bits=8, min_elements=100)
    assert dequantize_node(quantized, "w").attrs == {"axis": 0}  # Conv: output channels
    assert dequantize_node(quantized, "m").attrs == {"axis": 1}  # MatMul: columns
    assert dequantize_node(quantized, "emb").attrs == {"axis": 0}  # Gather: rows
    per_tensor, _ = quantize_weights(small_net(), bits=8, per_channel=False, min_elements=100)
    assert dequantize_node(per_tensor, "w").attrs == {}


def test_groups_use_blocked_dequantize_along_the_reduction_axis() -> None:
    quantized, report = quantize_weights(small_net(), bits=4, group_size=16, min_elements=100)
    node = dequantize_node(quantized, "m")  # [288, 10]: blocks of 16 rows
    assert node.attrs == {"axis": 0, "block_size": 16}
    assert quantized.initializers[node.inputs[1]].shape == (18, 10)
    assert dequantize_node(quantized, "w").attrs == {"axis": 0}  # 3 input channels: no blocks
    assert report.opset == 21 and quantized.opsets[""] == 21
    run(quantized, optimize=0)


def test_an_old_opset_that_cannot_be_raised_dequantizes_with_cast_and_mul() -> None:
    graph = small_net(opset=12)  # Softmax changed meaning at 13: the opset must stay
    quantized, report = quantize_weights(graph, bits=4, min_elements=100)
    assert report.opset == 12 and quantized.opsets[""] == 12
    assert {dequantize_node(quantized, n).op_type for n in ("w", "m", "emb")} == {"Mul"}
    assert not any(n.op_type == "DequantizeLinear" for n in quantized.nodes)
    float_out, ours = run(graph, optimize=0), run(quantized, optimize=0)
    assert cosine(float_out[0], ours[0]) > 0.99


def test_an_old_opset_splits_blocks_with_reshape() -> None:
    graph = small_net(opset=12)
    quantized, report = quantize_weights(graph, bits=4, group_size=16, min_elements=100)
    assert report.opset == 12
    node = dequantize_node(quantized, "m")  # [288, 10]: 18 blocks of 16 rows
    assert node.op_type == "Reshape"
    codes = next(n for n in quantized.nodes if n.op_type == "Cast" and n.outputs[0] == "m_cast")
    assert quantized.quant[codes.inputs[0]].block_size == 16
    ours = run(quantized, optimize=0)
    expected = run(quantize_weights(small_net(), bits=4, group_size=16, min_elements=100)[0],
                   optimize=0)  # fmt: skip
    np.testing.assert_allclose(ours[0], expected[0], rtol=1e-5, atol=1e-6)
    # the embedding's 40 columns do not split into blocks of 16: per row there, blocked at 21
    assert dequantize_node(quantized, "emb").op_type == "Mul"
    assert gossamer.load(quantized).graph.nodes[0].op_type != "Cast"  # expanded at load


def test_a_compatible_old_opset_is_raised_for_per_channel_dequantize() -> None:
    graph = small_net(opset=11)
    graph.nodes = [n for n in graph.nodes if n.op_type != "Softmax"]
    graph.nodes[3].outputs = ["y"]
    quantized, report = quantize_weights(graph, bits=8, min_elements=100)
    assert report.opset == 13 and dequantize_node(quantized, "w").op_type == "DequantizeLinear"


def test_small_weights_are_skipped_with_a_reason() -> None:
    graph = small_net()
    _, report = quantize_weights(graph, bits=8, min_elements=2500)
    assert dict(report.skipped) == {
        "w": "has 216 elements, fewer than min_elements 2500",
        "emb": "has 2000 elements, fewer than min_elements 2500",
    }
    assert [w.name for w in report.weights] == ["m"]


def test_the_input_graph_is_not_changed() -> None:
    graph = small_net()
    before = (list(graph.initializers), len(graph.nodes), dict(graph.opsets))
    quantize_weights(graph, bits=4, group_size=16, min_elements=100)
    assert (list(graph.initializers), len(graph.nodes), dict(graph.opsets)) == before


@pytest.mark.parametrize(
    "kwargs", [{"bits": 0}, {"bits": 17}, {"bits": True}, {"bits": 4, "group_size": 1}]
)
def test_bad_options_raise_input_error(kwargs: dict) -> None:
    with pytest.raises(InputError):
        quantize_weights(small_net(), **kwargs)


@settings(max_examples=25, deadline=None)
@given(bits=st.integers(1, 16), symmetric=st.booleans(), seed=st.integers(0, 1000))
def test_dequantized_weights_are_within_half_a_step_unless_clipped(bits, symmetric, seed) -> None:
    graph = small_net(seed=seed)
    quantized, _ = quantize_weights(graph, bits=bits, symmetric=symmetric, min_elements=100)
    env = Program(quantized).run({"x": FEEDS["x"], "ids": FEEDS["ids"]}, keep_all=True)
    w, got = np.asarray(graph.initializers["m"]), env["m"]
    node = dequantize_node(quantized, "m")
    scale = quantized.initializers[node.inputs[1]]
    codes = quantized.initializers[node.inputs[0]].astype(np.int64)
    zero = quantized.initializers[node.inputs[2]].astype(np.int64) if len(node.inputs) > 2 else 0
    np.testing.assert_array_equal(got, ((codes - zero) * scale).astype(np.float32))
    if bits >= 2:  # rounding: half a step, or clipping at the ends of the (shrunk) range
        err = np.abs(got - w)
        top = 2 ** (bits - 1) - 1 if symmetric else 2**bits - 1
        inner = (codes - zero > -top) & (codes - zero < top) if symmetric else codes % top != 0
        bound = scale[np.nonzero(inner)[1]] * 0.5 + np.spacing(np.abs(w[inner]))  # + rounding
        assert np.all(err[inner] <= bound)


def test_load_expands_the_weights_once_for_every_backend() -> None:
    quantized, _ = quantize_weights(small_net(), bits=4, min_elements=100)
    session = gossamer.load(quantized)
    assert not any(n.op_type == "DequantizeLinear" for n in session.graph.nodes)
    np.testing.assert_allclose(
        session.run(None, FEEDS)[0], run(quantized, optimize=0)[0], rtol=1e-5, atol=1e-6
    )
    assert any(n.op_type == "DequantizeLinear" for n in quantized.nodes)  # the model is unchanged


def _cython_available() -> bool:
    from gossamer.plugins.manager import all_backends, availability

    backend = all_backends().get("cython")
    return backend is not None and availability(backend) is None


@pytest.mark.skipif(not _cython_available(), reason="the cython backend is not built here")
@pytest.mark.parametrize("bits", [2, 4, 8])
def test_cython_runs_the_quantized_model_like_the_reference(bits: int) -> None:
    quantized, _ = quantize_weights(small_net(), bits=bits, group_size=16, min_elements=100)
    cy = gossamer.load(quantized, backends=["cython"]).run(None, FEEDS)
    for a, b in zip(cy, run(quantized, optimize=0)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("bits", "group"), [(8, 0), (4, 0), (4, 16), (2, 16)])
def test_onnxruntime_runs_the_exported_model_and_agrees(bits: int, group: int) -> None:
    quantized, _ = quantize_weights(small_net(), bits=bits, group_size=group, min_elements=100)
    model = graph_to_onnx(quantized)
    onnx.checker.check_model(model)
    theirs = ort_run(quantized, FEEDS, fused=False)
    for a, b in zip(run(quantized, optimize=0), theirs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    codes = {t.name: t.data_type for t in model.graph.initializer if t.name.endswith("quantized")}
    four = bits <= 4 and quantized.opsets[""] >= 21
    expected = onnx.TensorProto.INT4 if four else onnx.TensorProto.INT8
    assert set(codes.values()) == {expected}


def test_sweep_reports_size_and_cosine_per_width() -> None:
    rows = weight_sweep(small_net(), bits=(8, 4, 2), samples=1, shapes={"ids": (4,)})
    assert [r.label for r in rows] == ["float32", "float16", "8-bit", "4-bit", "2-bit"]
    sizes = [r.file_bytes for r in rows]
    assert sizes == sorted(sizes, reverse=True)
    assert rows[0].min_cosine == pytest.approx(1.0) and rows[2].min_cosine > 0.999
    assert rows[2].report is not None and rows[2].report.bits == 8


@pytest.mark.models
@pytest.mark.parametrize(("bits", "floor"), [(8, 0.999), (6, 0.99), (4, 0.9)])
def test_real_model_accuracy_per_bit_width(real_model, bits: int, floor: float) -> None:
    graph, name, shape = real_model[:3]
    feeds = [{name: s} for s in samples(shape, 3)]
    float_out = [Program(graph).run(f)[graph.outputs[0].name] for f in feeds]
    quantized, report = quantize_weights(graph, bits=bits, symmetric=False)
    assert report.weights, "the model's weights were quantised"
    got = [Program(quantized).run(f)[graph.outputs[0].name] for f in feeds]
    assert cosine(np.stack(float_out), np.stack(got)) >= floor
    # the file shrinks by what the report says the weights save (less alignment and JSON)
    saved = report.original_bytes - report.stored_bytes
    slack = 2000 * len(report.weights)  # per weight: new nodes, scales, alignment
    assert len(mf.dump_gsm(quantized)) <= len(mf.dump_gsm(graph)) - saved + slack


def test_an_onnx_round_trip_recovers_the_quant_params_and_packs_int4() -> None:
    quantized, _ = quantize_weights(small_net(), bits=4, group_size=16, min_elements=100)
    back = graph_from_onnx(graph_to_onnx(quantized))
    codes = dequantize_node(back, "m").inputs[0]
    assert back.initializers[codes].dtype.name == "int4"
    qp, original = back.quant[codes], quantized.quant[codes]
    assert (qp.bits, qp.axis, qp.block_size) == (4, original.axis, original.block_size)
    assert np.array_equal(qp.scale, original.scale)
    assert len(mf.dump_gsm(back)) <= len(mf.dump_gsm(quantized)) + 512
    assert all(
        np.array_equal(a, b) for a, b in zip(run(back, optimize=0), run(quantized, optimize=0))
    )
