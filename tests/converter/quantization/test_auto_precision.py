"""Auto precision: where the all-int8 model's output cosine on the calibration data is below
AUTO_BELOW, the default static quantiser gives its first layers 16-bit codes until the cosine
reaches AUTO_TARGET; a model that int8 serves is left all int8. 16-bit ranges are widened."""

import numpy as np
import pytest
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.converter.quantization import load_calibration, quantize_static
from gossamer.converter.quantization import static as static_module
from gossamer.converter.quantization.calibrate import calibrate
from gossamer.converter.quantization.evaluate import output_agreement, worst_cosine
from gossamer.converter.quantization.plan import plan_static
from gossamer.converter.quantization.prepare import prepare_float_graph
from gossamer.converter.quantization.qdq_writer import WIDE_MARGIN, activation_ranges
from gossamer.converter.quantization.runner import reference_runner
from gossamer.refimpl.shape_inference import infer_shapes

from gossamer.builtin_models import tiny_cnn

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _images(count, seed, size=32):
    x = np.random.default_rng(seed).standard_normal((count, 1, 3, size // 4, size // 4))
    return {"image": np.repeat(np.repeat(x, 4, axis=3), 4, axis=4).astype(np.float32)}


def _all_int8_cosine(graph, data):
    _, report = quantize_static(graph, data, auto_precision=False)
    return min(a["cosine"] for a in report.outputs.values())


def test_a_model_that_int8_serves_stays_all_int8():
    graph = graph_from_onnx(tiny_cnn(size=32))
    data = _images(8, seed=1)
    assert _all_int8_cosine(graph, data) >= static_module.AUTO_BELOW
    _, report = quantize_static(graph, data)
    assert not report.sixteen_bit and not report.kept_float
    assert not any("auto precision" in n for n in report.notes)
    assert all(r.bits == 8 for r in report.layers)


def test_a_model_far_from_float_gets_its_first_layers_16_bit_until_the_target(monkeypatch):
    graph = graph_from_onnx(tiny_cnn(size=32))
    data = _images(8, seed=1)
    before = _all_int8_cosine(graph, data)
    target = 1.0 - (1.0 - before) / 2.0
    # this model is served by int8: pretend the trigger is above its cosine
    monkeypatch.setattr(static_module, "AUTO_BELOW", 1.0)
    monkeypatch.setattr(static_module, "AUTO_TARGET", target)
    qg, report = quantize_static(graph, data)
    assert report.sixteen_bit and not report.kept_float
    order = [r.node for r in report.layers]
    assert set(report.sixteen_bit) == set(order[: len(report.sixteen_bit)])  # earliest first
    assert len(report.sixteen_bit) < len(order)
    assert any(n.startswith("auto precision") for n in report.notes)
    assert qg.opsets[""] == 21
    reached = output_agreement(
        prepare_float_graph(graph),
        qg,
        load_calibration(data, graph.inputs),
        runner=reference_runner,
    )
    # the search scores candidates without bias correction; the result has it, and is closer
    assert worst_cosine(reached) >= target - (1.0 - target)
    _, off = quantize_static(graph, data, auto_precision=False)
    assert not off.sixteen_bit


def test_16_bit_ranges_are_widened_but_those_of_folded_activations():
    float_graph = prepare_float_graph(graph_from_onnx(tiny_cnn(size=32)))
    types = infer_shapes(float_graph)
    first = plan_static(float_graph, types, skip=set(), per_channel=True).nodes[0]
    plan = plan_static(float_graph, types, skip=set(), per_channel=True, wide={first})
    data = load_calibration(_images(4, seed=2), float_graph.inputs)
    ranges, _ = calibrate(float_graph, data, plan.activations)
    params = activation_ranges(plan, ranges, "uint8")
    wide = plan.wide_tensors() & set(plan.activations)
    folded = {post for _, post in plan.folded.values()}
    assert wide - folded and wide & folded  # tiny_cnn's first Conv folds a Relu6
    for name in wide:
        low, high = ranges[name]
        span = float(params[name].scale) * 65535
        # a folded Clip(0, 6) is computed by its range's ends: that range stays as calibrated
        factor = 1.0 if name in folded else WIDE_MARGIN
        assert span == pytest.approx(factor * (high - low), rel=1e-4)
    name = next(a for a in plan.activations if a not in plan.wide_tensors())
    low, high = ranges[name]
    assert float(params[name].scale) * 255 == pytest.approx(high - low, rel=1e-4)
