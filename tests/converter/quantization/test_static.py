"""Static int8 quantisation of real and built-in models: standard QDQ that onnxruntime runs and
agrees with, per-channel weights, calibration methods, skipping, Relu folding, the target cosine,
bias correction on a model with depthwise convolutions, and the QOperator format."""

import numpy as np
import pytest
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.converter.quantization import load_calibration, quantize_static
from gossamer.converter.quantization.evaluate import output_agreement, worst_cosine
from gossamer.converter.quantization.prepare import prepare_float_graph
from gossamer.converter.quantization.runner import reference_runner
from gossamer.refimpl.errors import InputError
from gossamer.refimpl.ir import Node

from gossamer.builtin_models import tiny_cnn

from .conftest import gossamer_run, one_step, ort_run, samples

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _calibration(inp, shape, count=8, seed=0):
    return {inp: samples(shape, count, seed)}


_QUANTIZED: dict = {}


def _quantized(real_model, per_channel):
    """The real model quantised with 7-bit weights (reduce_range), once per test session."""
    graph, inp, shape, stem = real_model
    key = (stem, per_channel)
    if key not in _QUANTIZED:
        _QUANTIZED[key] = quantize_static(
            graph, _calibration(inp, shape), per_channel=per_channel, reduce_range=True
        )
    return _QUANTIZED[key]


@pytest.mark.models
def test_qdq_model_runs_in_onnxruntime_exactly_as_written(real_model, tmp_path):
    graph, inp, shape, _ = real_model
    qg, report = _quantized(real_model, False)
    from gossamer.converter.onnx_export import save_onnx

    save_onnx(qg, tmp_path / "q.onnx")  # raises unless onnx.checker passes
    ops = {n.op_type for n in qg.nodes}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    feed = {inp: samples(shape, 1, seed=5)[0]}
    for ours, theirs in zip(gossamer_run(qg, feed), ort_run(qg, feed, fused=False)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
    assert report.layers and all(r.cosine is not None for r in report.layers)


# onnxruntime's fused integer ops round a requantised value 1 step apart from the QDQ graph on
# a few elements (its QLinearAdd on ~1 %: see converter/optimizer/qdq_to_qoperator.py); through
# ppocr_mobile_v2_cls's 53 convolutions and 44 additions such steps carry to the probabilities
# (measured: 0 to 11.7 steps over 8 seeded inputs, per tensor and per channel, since HardSwish
# inputs are calibrated on their live domain: saturation.py), through mtcnn_rnet's 3 not.
ORT_FUSED_STEPS = {"mtcnn_rnet": 1.0, "ppocr_mobile_v2_cls": 14.0}


@pytest.mark.models
@pytest.mark.parametrize("per_channel", [False, True])
def test_onnxruntime_integer_kernels_agree_within_rounding_steps(real_model, per_channel):
    """With 7-bit weights (reduce_range) onnxruntime's fused integer kernels cannot saturate on
    CPUs without VNNI; its outputs then agree with Gossamer's within one quantisation step, plus
    the rounding steps a deep network carries forward."""
    graph, inp, shape, stem = real_model
    qg, _ = _quantized(real_model, per_channel)
    feed = {inp: samples(shape, 1, seed=6)[0]}
    steps = ORT_FUSED_STEPS[stem]
    for ours, theirs in zip(gossamer_run(qg, feed), ort_run(qg, feed, fused=True)):
        assert np.abs(ours - theirs).max() <= steps * one_step(ours)


@pytest.mark.models
def test_quantized_model_stays_close_to_float(real_model):
    graph, inp, shape, _ = real_model
    qg, report = _quantized(real_model, True)
    held = load_calibration(_calibration(inp, shape, 4, seed=9), graph.inputs)
    agree = output_agreement(prepare_float_graph(graph), qg, held, runner=reference_runner)
    assert worst_cosine(agree) > 0.98
    # int8 weights are a quarter; the int32 biases (each with int32 per-channel zero points, as
    # onnxruntime writes them) and per-channel scales keep ppocr_mobile_v2_cls at 1 / 2.8
    assert report.sizes["quantized"] < report.sizes["float"] / 2.5


@pytest.mark.models
def test_per_channel_weights_have_one_scale_per_output_channel(real_model):
    qg, _ = _quantized(real_model, True)
    convs = [n for n in qg.nodes if n.op_type == "Conv"]
    producer = {o: n for n in qg.nodes for o in n.outputs}
    for conv in convs:
        dq = producer[conv.inputs[1]]
        assert dq.op_type == "DequantizeLinear" and dq.attrs.get("axis") == 0
        codes = qg.initializers[dq.inputs[0]]
        assert codes.dtype == np.int8 and np.abs(codes).max() <= 63  # 7-bit: reduce_range
        assert qg.initializers[dq.inputs[1]].shape == (codes.shape[0],)
        assert qg.quant[dq.inputs[0]].axis == 0
        if len(conv.inputs) > 2:
            assert qg.initializers[producer[conv.inputs[2]].inputs[0]].dtype == np.int32


def _tiny(size=32, spread_depthwise=False, seed=7):
    """The built-in mobilenet-style tiny_cnn; with spread_depthwise its depthwise channels'
    scales spread over 2.5 decades, as trained MobileNets' do (what makes per-tensor int8
    weights round coarsely and bias the outputs)."""
    from onnx import numpy_helper

    model = tiny_cnn(size=size)
    if spread_depthwise:
        rng = np.random.default_rng(seed)
        nodes = list(model.graph.node)
        scales = {
            nodes[i + 1].input[1]
            for i, n in enumerate(nodes)
            if n.op_type == "Conv" and any(a.name == "group" and a.i > 1 for a in n.attribute)
        }
        for init in model.graph.initializer:
            if init.name in scales:
                a = numpy_helper.to_array(init)
                a = (a * 10 ** rng.uniform(-2, 0.5, a.shape)).astype(np.float32)
                init.CopyFrom(numpy_helper.from_array(a, init.name))
    return graph_from_onnx(model)


def _images(count, seed, size=32):
    x = np.random.default_rng(seed).standard_normal((count, 1, 3, size // 4, size // 4))
    return {"image": np.repeat(np.repeat(x, 4, axis=3), 4, axis=4).astype(np.float32)}


@pytest.mark.parametrize("per_channel", [False, True])
def test_bias_correction_improves_held_out_accuracy_of_a_depthwise_model(per_channel):
    graph = _tiny(spread_depthwise=True)
    held = load_calibration(_images(32, seed=2), graph.inputs)
    float_graph = prepare_float_graph(graph)
    sqnr = {}
    for corrected in (False, True):
        qg, _ = quantize_static(
            graph, _images(16, seed=1), bias_correction=corrected, per_channel=per_channel
        )
        agree = output_agreement(float_graph, qg, held, runner=reference_runner)
        sqnr[corrected] = agree["probabilities"].sqnr_db
    # measured: per tensor 32.5 -> 40.5 dB, per channel 35.6 -> 41.4 dB
    assert sqnr[True] > sqnr[False] + 3.0


def test_relu_and_clip_fold_into_the_preceding_op_exactly():
    graph = _tiny()
    qg, _ = quantize_static(graph, _images(4, seed=1))
    assert not any(n.op_type in ("Relu", "Clip") for n in qg.nodes)
    # put every Clip(0, 6) back before its QuantizeLinear: the outputs must not change
    restored = _with_clips_before_quantize(qg)
    feed = {"image": _images(1, seed=3)["image"][0]}
    for a, b in zip(gossamer_run(qg, feed), gossamer_run(restored, feed)):
        np.testing.assert_array_equal(a, b)


def _with_clips_before_quantize(qg):
    import copy

    g = copy.deepcopy(qg)
    g.initializers["six"] = np.asarray(6.0, np.float32)
    g.initializers["zero"] = np.asarray(0.0, np.float32)
    extra = []
    for n in g.nodes:
        if n.op_type == "QuantizeLinear" and float(g.initializers[n.inputs[2]]) == 0:
            clipped = n.inputs[0] + "_clipped"
            extra.append(Node("Clip", [n.inputs[0], "zero", "six"], [clipped], name=clipped))
            n.inputs[0] = clipped
    g.nodes = g.nodes + extra
    g.nodes = g.topological_nodes()
    return g


def test_methods_choose_ranges_no_wider_than_minmax():
    graph = _tiny(size=16)
    data = _images(4, seed=1, size=16)
    widths = {}
    for method in ("minmax", "percentile", "kl", "mse"):
        _, report = quantize_static(graph, data, method=method, percentile=99.9)
        widths[method] = {r.node: r.high - r.low for r in report.layers if r.low is not None}
    for method in ("percentile", "kl", "mse"):
        assert all(widths[method][n] <= widths["minmax"][n] * 1.0001 for n in widths[method])
        assert any(widths[method][n] < widths["minmax"][n] * 0.99 for n in widths[method])


def test_skipped_nodes_stay_float():
    graph = _tiny()
    first_conv = next(n.name for n in graph.nodes if n.op_type == "Conv")
    qg, report = quantize_static(graph, _images(4, seed=1), skip=(first_conv,))
    conv = next(n for n in qg.nodes if n.name == first_conv)
    assert conv.inputs[1] in qg.initializers  # its float weight, no DequantizeLinear
    assert report.kept_float == {first_conv: "--skip"}
    assert first_conv not in {r.node for r in report.layers}


def test_unknown_skip_and_bad_options_are_input_errors():
    graph = _tiny()
    with pytest.raises(InputError, match="names no node"):
        quantize_static(graph, _images(2, seed=1), skip=("nope",))
    with pytest.raises(InputError, match="unknown"):
        quantize_static(graph, _images(2, seed=1), method="entropy2")
    with pytest.raises(InputError, match="target cosine"):
        quantize_static(graph, _images(2, seed=1), target_cosine=1.5)


@pytest.mark.models
def test_target_cosine_keeps_sensitive_layers_float_until_reached(models_dir):
    from gossamer.session import read_model

    graph = read_model(models_dir / "mtcnn_rnet.onnx")
    data = {"input_2": samples((1, 24, 24, 3), 8)}
    _, plain_report = quantize_static(graph, data)
    target = 0.9995
    before = min(a["cosine"] for a in plain_report.outputs.values())
    assert before < target  # else the test would prove nothing
    qg, report = quantize_static(graph, data, target_cosine=target, sixteen_bit=False)
    reached = output_agreement(
        prepare_float_graph(graph),
        qg,
        load_calibration(data, graph.inputs),
        runner=reference_runner,
    )
    assert worst_cosine(reached) >= target
    assert report.kept_float and all("target-cosine" in why for why in report.kept_float.values())
    assert len(report.kept_float) < len(plain_report.layers)
    assert not {r.node for r in report.layers} & set(report.kept_float)


def test_qoperator_format_runs_in_onnxruntime():
    pytest.importorskip("gossamer.converter.optimizer.qdq_to_qoperator")
    graph = _tiny()
    qg, _ = quantize_static(graph, _images(4, seed=1), format="qoperator", reduce_range=True)
    ops = {n.op_type for n in qg.nodes}
    assert "QLinearConv" in ops and "Conv" not in ops
    feed = {"image": _images(1, seed=3)["image"][0]}
    qdq, _ = quantize_static(graph, _images(4, seed=1), reduce_range=True)
    for ours, theirs, exact in zip(
        gossamer_run(qg, feed), ort_run(qg, feed, fused=True), gossamer_run(qdq, feed)
    ):
        assert np.abs(ours - theirs).max() <= one_step(exact)
        assert np.abs(ours - exact).max() <= 3 * one_step(exact)
