"""Channel equalisation: output-preserving in float, equal channel ranges after it, and a better
quantised model where the input channels of a depthwise convolution differ widely."""

import numpy as np
import pytest
from gossamer.converter.quantization import load_calibration, quantize_static
from gossamer.converter.quantization.equalize import equalize_channels
from gossamer.converter.quantization.evaluate import output_agreement
from gossamer.converter.quantization.prepare import prepare_float_graph
from gossamer.converter.quantization.runner import OutputTap, reference_runner

from .graphs import build, spread_channels

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _depthwise_after(first: str):
    """x -> Conv (or HardSwish, or Add) -> depthwise Conv 3x3 -> 1x1 Conv -> y; the first
    layer's output channels are spread over two decades."""
    rng = np.random.default_rng(3)
    spread = 10 ** rng.uniform(-2, 0, 8)
    w0 = rng.standard_normal((8, 8, 1, 1)) * spread[:, None, None, None]
    head = {
        "conv": [("Conv", ["x", "w0", "b0"], ["a"], {})],
        "hardswish": [("HardSwish", ["x"], ["a"], {})],
        "add": [("Add", ["x", "x"], ["a"], {})],
    }[first]
    return build(
        head
        + [
            ("Conv", ["a", "wd", "bd"], ["d"], {"group": 8, "pads": [1, 1, 1, 1]}),
            ("Relu", ["d"], ["r"], {}),
            ("Conv", ["r", "w2"], ["y"], {}),
        ],
        [("x", [1, 8, 6, 6])],
        [("y", None)],
        {
            "w0": w0,
            "b0": rng.standard_normal(8) * spread,
            "wd": rng.standard_normal((8, 1, 3, 3)),
            "bd": rng.standard_normal(8) * 0.1,
            "w2": rng.standard_normal((4, 8, 1, 1)),
        },
    )


def _data(graph, count=8, seed=0):
    x = spread_channels((count, 8, 6, 6), seed=seed)
    return load_calibration({"x": x[:, None]}, graph.inputs)


def _channel_spread(graph, data, name):
    found = []
    tap = OutputTap({name}, lambda n, v: found.append(np.abs(v).max(axis=(0, 2, 3))))
    run = reference_runner(graph)
    for feed, _ in data.feeds(8):
        run(feed, [tap])
    r = np.max(found, axis=0)
    return r.max() / r.min()


@pytest.mark.parametrize("first", ["conv", "hardswish"])
def test_equalisation_keeps_the_float_outputs(first):
    graph = _depthwise_after(first)
    data = _data(graph)
    x = next(data.feeds(8))[0]
    (before,) = reference_runner(graph)(x, [])
    changes = equalize_channels(graph, data, runner=reference_runner)
    assert any(c.startswith("Conv_1:") for c in changes)  # the depthwise conv
    (after,) = reference_runner(graph)(x, [])
    np.testing.assert_allclose(after, before, rtol=1e-4, atol=1e-4 * np.abs(before).max())


def test_depthwise_input_channels_end_up_with_equal_ranges():
    graph = _depthwise_after("conv")
    data = _data(graph)
    depthwise = next(n for n in graph.nodes if n.attrs.get("group", 1) > 1)
    assert _channel_spread(graph, data, depthwise.inputs[0]) > 10
    changes = equalize_channels(graph, data, runner=reference_runner)
    assert "Conv_1: 8 input channels equalised (into Conv_0)" in changes  # cross-layer
    assert [n.op_type for n in graph.nodes] == ["Mul", "Conv", "Conv", "Relu", "Conv"]
    assert _channel_spread(graph, data, depthwise.inputs[0]) == pytest.approx(1.0, rel=1e-3)


def test_an_input_made_by_a_quantised_op_is_left_alone():
    graph = _depthwise_after("add")
    assert not any(
        c.startswith("Conv_1:")
        for c in equalize_channels(graph, _data(graph), runner=reference_runner)
    )
    assert [n.op_type for n in graph.nodes] == ["Add", "Conv", "Relu", "Conv"]


def test_equalisation_makes_the_quantised_model_closer_to_float():
    graph = _depthwise_after("conv")
    held = _data(graph, count=16, seed=5)
    float_graph = prepare_float_graph(graph)
    sqnr = {}
    for equalize in (False, True):
        qg, report = quantize_static(
            graph, {"x": spread_channels((16, 8, 6, 6), 1)[:, None]}, equalize=equalize
        )
        sqnr[equalize] = output_agreement(float_graph, qg, held, runner=reference_runner)[
            "y"
        ].sqnr_db
        assert any("equalised" in n for n in report.notes) == equalize
    assert sqnr[True] > sqnr[False] + 3.0
