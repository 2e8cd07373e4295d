"""16-bit layers (the step --target-cosine takes before keeping a layer float): uint16 activations
and int16 weights in standard QDQ at opset 21 that onnxruntime runs as Gossamer does, closer to
float than 8 bits; the target search trying them first; and bias correction applied only to
channels whose shift stands out from the noise of the calibration samples."""

import numpy as np
import pytest
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.converter.quantization import load_calibration, quantize_static
from gossamer.converter.quantization.bias_correction import significant_mean
from gossamer.converter.quantization.calibrate import calibrate
from gossamer.converter.quantization.evaluate import output_agreement, worst_cosine
from gossamer.converter.quantization.plan import plan_static
from gossamer.converter.quantization.prepare import prepare_float_graph
from gossamer.converter.quantization.qdq_writer import activation_ranges, write_qdq
from gossamer.converter.quantization.runner import reference_runner
from gossamer.converter.quantization.sensitivity import choose_precision
from gossamer.refimpl.shape_inference import infer_shapes

from gossamer.builtin_models import tiny_cnn

from .conftest import gossamer_run, ort_run

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _images(count, seed, size=32):
    x = np.random.default_rng(seed).standard_normal((count, 1, 3, size // 4, size // 4))
    return {"image": np.repeat(np.repeat(x, 4, axis=3), 4, axis=4).astype(np.float32)}


def _written(wide_count):
    """tiny_cnn's QDQ graph with its first `wide_count` quantised nodes at 16 bits (-1: all),
    the plan, and the prepared float graph."""
    float_graph = prepare_float_graph(graph_from_onnx(tiny_cnn(size=32)))
    types = infer_shapes(float_graph)
    plan = plan_static(float_graph, types, skip=set(), per_channel=True)
    wide = set(plan.nodes if wide_count < 0 else plan.nodes[:wide_count])
    plan = plan_static(float_graph, types, skip=set(), per_channel=True, wide=wide)
    data = load_calibration(_images(8, seed=1), float_graph.inputs)
    ranges, _ = calibrate(float_graph, data, [*plan.activations, *plan.shared.values()])
    qdq = write_qdq(plan, activation_ranges(plan, ranges, "uint8"), "uint8")
    return qdq, plan, float_graph


def test_wide_nodes_get_uint16_activations_int16_weights_float_bias_at_opset_21():
    qdq, plan, _ = _written(1)
    g = qdq.graph
    conv = next(n for n in g.nodes if n.name == plan.nodes[0])
    producer = {o: n for n in g.nodes for o in n.outputs}
    x_dq, w_dq = producer[conv.inputs[0]], producer[conv.inputs[1]]
    assert g.initializers[x_dq.inputs[2]].dtype == np.uint16
    assert g.initializers[w_dq.inputs[0]].dtype == np.int16
    assert np.abs(g.initializers[w_dq.inputs[0]]).max() == 32767
    assert conv.inputs[2] in g.initializers  # the bias stays float
    assert g.initializers[conv.inputs[2]].dtype == np.float32
    assert g.opsets[""] == 21
    later = next(n for n in g.nodes if n.name == plan.nodes[2])  # an 8-bit node
    assert g.initializers[producer[later.inputs[1]].inputs[0]].dtype == np.int8
    assert qdq.params[conv.inputs[0].removesuffix("_DequantizeLinear_Output")].bits == 16


def test_without_wide_nodes_the_graph_keeps_its_opset():
    qdq, _, _ = _written(0)
    assert qdq.graph.opsets[""] == 17
    assert not any(p.bits > 8 for p in qdq.params.values())


def test_onnxruntime_runs_16_bit_qdq_as_gossamer_does():
    qdq, _, _ = _written(3)
    feed = {"image": _images(1, seed=4)["image"][0]}
    for ours, theirs in zip(gossamer_run(qdq.graph, feed), ort_run(qdq.graph, feed, fused=False)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_16_bit_layers_stay_closer_to_float_than_8_bit_ones():
    held = load_calibration(_images(8, seed=5), tiny_cnn_inputs())
    sqnr = {}
    for wide in (0, -1):
        qdq, _, float_graph = _written(wide)
        sqnr[wide] = output_agreement(float_graph, qdq.graph, held, runner=reference_runner)[
            "probabilities"
        ].sqnr_db
    assert sqnr[-1] > sqnr[0] + 20.0  # 256 times finer steps; measured about +40 dB


def tiny_cnn_inputs():
    return graph_from_onnx(tiny_cnn(size=32)).inputs


def _target_between_8_bit_and_float():
    graph = graph_from_onnx(tiny_cnn(size=32))
    data = _images(8, seed=1)
    _, plain = quantize_static(graph, data)
    before = min(a["cosine"] for a in plain.outputs.values())
    target = 1.0 - (1.0 - before) / 4.0
    assert before < target  # else the tests below would prove nothing
    return graph, data, target, plain


def test_target_cosine_takes_16_bit_layers_before_float_ones():
    graph, data, target, plain = _target_between_8_bit_and_float()
    qg, report = quantize_static(graph, data, target_cosine=target)
    reached = output_agreement(
        prepare_float_graph(graph),
        qg,
        load_calibration(data, graph.inputs),
        runner=reference_runner,
    )
    assert worst_cosine(reached) >= target
    assert report.sixteen_bit and not report.kept_float
    assert len(report.sixteen_bit) < len(plain.layers)
    assert set(report.sixteen_bit) <= {r.node for r in report.layers if r.bits == 16}
    assert qg.opsets[""] == 21
    assert "16-bit" in report.format() and "16-bit" in report.to_markdown()


def test_target_cosine_without_16_bit_keeps_layers_float():
    graph, data, target, _ = _target_between_8_bit_and_float()
    qg, report = quantize_static(graph, data, target_cosine=target, sixteen_bit=False)
    assert report.kept_float and not report.sixteen_bit
    assert all(r.bits == 8 for r in report.layers)
    assert qg.opsets[""] == 17


def test_bias_shift_kept_only_where_it_stands_out_from_sample_noise():
    rng = np.random.default_rng(0)
    n = 24
    means = np.stack([rng.normal(0.5, 0.1, n), rng.normal(0.0, 1.0, n)], axis=1)  # (n, channels)
    shift = significant_mean(means.sum(axis=0), (means * means).sum(axis=0), n, 2.0)
    assert shift[0] == pytest.approx(means[:, 0].mean())  # t about 25: a real shift
    assert shift[1] == 0.0  # t about 0: noise
    everything = significant_mean(means.sum(axis=0), (means * means).sum(axis=0), n, 0.0)
    np.testing.assert_allclose(everything, means.mean(axis=0))


def _scored(gain16, gain_float):
    """A cosine that each 16-bit node raises by gain16 and each float node by gain_float."""
    calls = []

    def cosine(wide, kept):
        calls.append((list(wide), list(kept)))
        wide = [n for n in wide if n not in kept]
        return 0.9 + gain16 * len(wide) + gain_float * len(kept)

    return cosine, calls


def test_choose_precision_stops_at_the_fewest_16_bit_nodes_that_reach_the_target():
    ranking = [f"n{i}" for i in range(10)]
    cosine, _ = _scored(0.01, 0.01)
    assert choose_precision(ranking, 0.935, cosine) == (ranking[:4], [])


def test_choose_precision_keeps_nodes_float_where_16_bits_everywhere_fall_short():
    ranking = [f"n{i}" for i in range(10)]
    cosine, calls = _scored(0.001, 0.02)  # all 16-bit: 0.91
    wide, kept = choose_precision(ranking, 0.95, cosine)
    assert wide == ranking and kept == ranking[:3]  # 7 x 0.001 + 3 x 0.02 = 0.067
    assert ([], []) in calls and (ranking, []) in calls


def test_choose_precision_without_16_bit_goes_straight_to_float():
    ranking = [f"n{i}" for i in range(10)]
    cosine, calls = _scored(0.01, 0.02)
    assert choose_precision(ranking, 0.935, cosine, sixteen_bit=False) == ([], ranking[:2])
    assert all(not wide for wide, _ in calls)
