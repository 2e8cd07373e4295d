"""Live domains: a tensor read only by ops that saturate (HardSwish, HardSigmoid, Relu, Clip) is
calibrated on the values its readers tell apart, which lowers the quantised model's error."""

import numpy as np
import pytest
from gossamer.converter.quantization import quantize_static
from gossamer.converter.quantization import static as static_module
from gossamer.converter.quantization.calibrate import calibrate
from gossamer.converter.quantization.calibration_data import load_calibration
from gossamer.converter.quantization.evaluate import output_agreement
from gossamer.converter.quantization.prepare import prepare_float_graph
from gossamer.converter.quantization.runner import reference_runner
from gossamer.converter.quantization.saturation import clip_to_domains, live_domains

from .graphs import build

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _chain(op, attrs=None, extra_reader=None):
    """x -> Add(c) -> t -> op -> y (and t -> extra_reader -> z where given)."""
    nodes = [("Add", ["x", "c"], ["t"], {}), (op, ["t"], ["y"], attrs or {})]
    outputs = [("y", None)]
    if extra_reader:
        nodes.append((extra_reader, ["t", "c"], ["z"], {}))
        outputs.append(("z", None))
    return build(nodes, [("x", [1, 4])], outputs, {"c": np.ones(4)})


def test_hardswish_input_is_live_from_minus_three():
    assert live_domains(_chain("HardSwish"), ["t"]) == {"t": (-3.03, np.inf)}  # EDGE_MARGIN


def test_hardsigmoid_input_is_live_between_its_two_bends():
    g = _chain("HardSigmoid", {"alpha": 0.25, "beta": 0.5})
    assert live_domains(g, ["t"]) == {"t": (-2.02, 2.02)}


def test_relu_input_is_live_from_zero():
    assert live_domains(_chain("Relu"), ["t"]) == {"t": (0.0, np.inf)}


def test_a_reader_that_does_not_saturate_keeps_the_whole_range():
    assert live_domains(_chain("HardSwish", extra_reader="Mul"), ["t"]) == {}


def test_a_graph_output_keeps_the_whole_range():
    g = build(
        [("Add", ["x", "c"], ["t"], {}), ("HardSwish", ["t"], ["y"], {})],
        [("x", [1, 4])],
        [("y", None), ("t", None)],
        {"c": np.ones(4)},
    )
    assert live_domains(g, ["t"]) == {}


def test_domains_are_found_through_data_movement_and_joined_over_readers():
    g = build(
        [
            ("Add", ["x", "c"], ["t"], {}),
            ("Reshape", ["t", "shape"], ["r"], {}),
            ("HardSwish", ["r"], ["y"], {}),
            ("Clip", ["t", "lo", "hi"], ["z"], {}),
        ],
        [("x", [1, 4])],
        [("y", None), ("z", None)],
        {"c": np.ones(4), "shape": np.array([4]), "lo": np.array(-5.0), "hi": np.array(1.0)},
    )
    g.initializers["shape"] = np.array([4], np.int64)
    assert live_domains(g, ["t"]) == {"t": (-5.05, np.inf)}


def test_clip_to_domains_keeps_zero_inside():
    ranges = {"a": (-20.0, 7.0), "b": (1.0, 9.0), "c": (-4.0, 4.0)}
    domains = {"a": (-3.0, np.inf), "b": (2.5, 5.0)}
    assert clip_to_domains(ranges, domains) == {"a": (-3.0, 7.0), "b": (0.0, 5.0), "c": (-4.0, 4.0)}


def _conv_hardswish_model():
    """Conv -> HardSwish -> Conv whose first output reaches far below -3 (a large negative bias
    on half the channels), as PP-LCNet's do."""
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((8, 3, 3, 3)) * 0.5
    b1 = np.where(np.arange(8) % 2 == 0, -12.0, 1.0)
    w2 = rng.standard_normal((4, 8, 1, 1)) * 0.5
    return build(
        [
            ("Conv", ["x", "w1", "b1"], ["c1"], {"pads": [1, 1, 1, 1]}),
            ("HardSwish", ["c1"], ["h"], {}),
            ("Conv", ["h", "w2", "b2"], ["y"], {}),
        ],
        [("x", [1, 3, 8, 8])],
        [("y", None)],
        {"w1": w1, "b1": b1, "w2": w2, "b2": np.zeros(4)},
    )


def _data(count, seed):
    return {"x": np.random.default_rng(seed).standard_normal((count, 1, 3, 8, 8)).astype("f4")}


def test_calibration_clips_values_to_the_live_domain():
    g = prepare_float_graph(_conv_hardswish_model())
    data = load_calibration(_data(4, 0), [v for v in g.inputs if v.name == "x"])
    plain, _ = calibrate(g, data, ["c1"])
    clipped, _ = calibrate(g, data, ["c1"], domains=live_domains(g, ["c1"]))
    assert plain["c1"][0] < -6.0
    assert clipped["c1"] == (pytest.approx(-3.03), plain["c1"][1])


def test_live_domains_lower_the_quantised_error_of_a_conv_hardswish_model(monkeypatch):
    graph = _conv_hardswish_model()
    cal, test = _data(16, 1), _data(16, 2)
    opts = {"auto_precision": False, "bias_correction": False, "equalize": False}
    clipped, report = quantize_static(graph, cal, **opts)
    monkeypatch.setattr(static_module, "live_domains", lambda g, names: {})
    whole, _ = quantize_static(graph, cal, **opts)
    float_graph = prepare_float_graph(graph)
    data = load_calibration(test, [v for v in float_graph.inputs if v.name == "x"])

    def sqnr(q):
        return output_agreement(float_graph, q, data, runner=reference_runner)["y"].sqnr_db

    row = next(r for r in report.layers if r.tensor == "c1")
    assert row.low == pytest.approx(-3.03, abs=0.05)
    assert sqnr(clipped) > sqnr(whole) + 2.0  # measured: 35.6 against 32.9 dB
