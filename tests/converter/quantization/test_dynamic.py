"""Dynamic int8 quantisation: MatMul/Gemm with int8 weights and activations quantised at run
time, in standard ONNX ops that onnxruntime runs."""

import numpy as np
import pytest
from gossamer.converter.quantization import quantize_dynamic
from gossamer.converter.quantization.runner import reference_runner

from .conftest import gossamer_run, one_step, ort_run, samples

pytestmark = pytest.mark.models


@pytest.mark.parametrize("per_channel", [False, True])
def test_matmul_weights_become_int8_with_dynamic_activations(real_model, per_channel):
    graph, inp, shape, _ = real_model
    qg, report = quantize_dynamic(graph, per_channel=per_channel)
    ops = [n.op_type for n in qg.nodes]
    assert "MatMulInteger" in ops and "DynamicQuantizeLinear" in ops
    assert not any(
        n.op_type in ("MatMul", "Gemm") and n.inputs[1] in qg.initializers for n in qg.nodes
    )
    int8 = [a for a in qg.initializers.values() if a.dtype == np.int8]
    assert int8 and report.layers and report.sizes["quantized"] < report.sizes["float"]


# onnxruntime's MatMulInteger is a u8s8 kernel: on x86 without VNNI (vpmaddubsw) int16 pair sums
# of full-range int8 weights saturate, at every optimisation level; 7-bit weights cannot.
@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("fused", [False, True])
def test_onnxruntime_agrees_with_7bit_weights(real_model, per_channel, fused):
    graph, inp, shape, _ = real_model
    qg, _ = quantize_dynamic(graph, per_channel=per_channel, reduce_range=True)
    feed = {inp: samples(shape, 1, seed=4)[0]}
    for ours, theirs in zip(gossamer_run(qg, feed), ort_run(qg, feed, fused=fused)):
        assert np.abs(ours - theirs).max() <= 1e-5 + 1e-3 * one_step(ours)


def test_calibration_data_measures_each_layer_and_output(real_model):
    graph, inp, shape, _ = real_model
    data = {inp: samples(shape, 4, seed=5)}
    qg, report = quantize_dynamic(graph, calibration=data)
    float_out = reference_runner(graph)({inp: data[inp][0]}, [])
    quant_out = gossamer_run(qg, {inp: data[inp][0]})
    assert len(float_out) == len(quant_out)
    assert all(0.99 < r.cosine <= 1.0 for r in report.layers)
    assert report.outputs and all(a["cosine"] > 0.99 for a in report.outputs.values())
