"""float16 conversion: half-size weights, optional float16 compute, unsafe weights kept float32."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.converter.quantization.fp16 import quantize_fp16, quantize_fp16_report
from gossamer.converter.quantization.weight_sweep import cosine
from gossamer.refimpl import model_format as mf
from gossamer.refimpl.errors import InputError
from gossamer.refimpl.shape_inference import infer_shapes
from onnx import helper, numpy_helper

import gossamer
from tests.conftest import make_model, tensor_info
from tests.converter.quantization.conftest import ort_run, samples


def conv_net(w_scale: float = 1.0, opset: int = 17):  # noqa: ANN201
    """Conv -> Relu -> Resize (float32 scales) -> GlobalAveragePool -> Flatten -> Gemm."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(
            (rng.standard_normal((16, 3, 3, 3)) * w_scale).astype(np.float32), "w"
        ),
        numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), "b"),
        numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales"),
        numpy_helper.from_array(rng.standard_normal((10, 16)).astype(np.float32), "fc"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Resize", ["r", "", "scales"], ["u"], mode="nearest", name="resize"),
        helper.make_node("GlobalAveragePool", ["u"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fc"], ["y"], transB=1, name="gemm"),
    ]
    model = make_model(
        nodes,
        [tensor_info("x", np.float32, [1, 3, 8, 8])],
        [tensor_info("y", np.float32, [1, 10])],
        inits,
        opset=opset,
    )
    return graph_from_onnx(model)


FEEDS = {"x": np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)}


def run(graph, **kw):  # noqa: ANN001, ANN201
    backends = kw.pop("backends", ["reference"])
    return gossamer.load(graph, backends=backends, **kw).run(None, FEEDS)[0]


# ---- weights only --------------------------------------------------------------------------------
def test_weights_become_float16_behind_a_cast_that_keeps_their_name() -> None:
    half = quantize_fp16(conv_net(), min_elements=100)
    assert half.initializers["w_fp16"].dtype == np.float16
    assert half.initializers["fc_fp16"].dtype == np.float16
    assert half.initializers["b"].dtype == np.float32  # 16 elements: below min_elements
    cast = next(n for n in half.nodes if n.outputs == ["w"])
    assert (cast.op_type, cast.inputs, cast.attrs) == ("Cast", ["w_fp16"], {"to": 1})


def test_weights_mode_computes_in_float32_from_rounded_weights() -> None:
    graph = conv_net()
    half = quantize_fp16(graph, min_elements=100)
    rounded = run(graph, optimize=0)
    assert cosine(run(half, optimize=0), rounded) > 0.99999
    types = infer_shapes(half)
    assert types["c"].dtype == "float32" and types["y"].dtype == "float32"


def test_the_file_halves_and_load_converts_the_weights_once_in_memory() -> None:
    graph = conv_net()
    half = quantize_fp16(graph, min_elements=100)
    before = mf.dump_gsm(half)
    w_bytes = sum(np.asarray(graph.initializers[n]).nbytes for n in ("w", "fc"))
    # half the weights' bytes, less a Cast node and alignment per weight
    assert len(mf.dump_gsm(graph)) - len(before) >= w_bytes / 2 - 2 * 200
    session = gossamer.load(mf.load_gsm(before))
    assert not any(n.op_type == "Cast" for n in session.graph.nodes)  # no per-run Cast
    np.testing.assert_allclose(session.run(None, FEEDS)[0], run(half, optimize=0), rtol=1e-5)
    assert mf.dump_gsm(half) == before  # loading never changes the model


def test_overflowing_weights_stay_float32_by_default_and_are_reported(caplog) -> None:
    graph = conv_net(w_scale=1e5)  # many weights beyond 65504
    with caplog.at_level(logging.WARNING):
        half = quantize_fp16(graph, min_elements=100)
    assert half.initializers["w"].dtype == np.float32 and "w_fp16" not in half.initializers
    assert "'w' stays float32" in caplog.text
    _, report = quantize_fp16_report(graph, min_elements=100)
    entry = next(w for w in report.weights if w.name == "w")
    assert entry.clipped > 0 and not entry.converted and report.kept_float32 == ["w"]


def test_keep_unsafe_false_converts_and_clips() -> None:
    graph = conv_net(w_scale=1e5)
    half, report = quantize_fp16_report(graph, min_elements=100, keep_unsafe=False)
    assert half.initializers["w_fp16"].dtype == np.float16
    assert np.isfinite(half.initializers["w_fp16"]).all()
    assert np.abs(half.initializers["w_fp16"]).max() == np.float16(65504)
    assert report.clipped == next(w for w in report.weights if w.name == "w").clipped > 0


def test_underflowing_weights_stay_float32() -> None:
    graph = conv_net(w_scale=1e-8)  # below float16's smallest subnormals
    half, report = quantize_fp16_report(graph, min_elements=100)
    entry = next(w for w in report.weights if w.name == "w")
    assert entry.underflowed > 0 and entry.rel_error > 1e-3 and not entry.converted
    assert half.initializers["w"].dtype == np.float32


@pytest.mark.parametrize("kwargs", [{"min_elements": 0}, {"max_rel_error": -1.0}])
def test_bad_options_raise_input_error(kwargs: dict) -> None:
    with pytest.raises(InputError):
        quantize_fp16(conv_net(), **kwargs)


# ---- float16 compute -----------------------------------------------------------------------------
def test_activations_compute_in_float16_with_float32_io() -> None:
    graph = conv_net()
    half = quantize_fp16(graph, activations=True)
    types = infer_shapes(half)
    assert types["r"].dtype == "float16" and types["u"].dtype == "float16"
    assert half.initializers["scales"].dtype == np.float32  # Resize scales stay float32
    assert half.initializers["w"].dtype == np.float16 and half.initializers["b"].dtype == np.float16
    assert [v.dtype for v in half.inputs] == ["float32"] and types["y"].dtype == "float32"
    out = run(half, optimize=0)
    assert out.dtype == np.float32
    assert cosine(out, run(graph, optimize=0)) > 0.9999


def test_without_keep_io_types_inputs_and_outputs_are_float16() -> None:
    half = quantize_fp16(conv_net(), activations=True, keep_io_types=False)
    assert [v.dtype for v in half.inputs] == ["float16"]
    assert [v.dtype for v in half.outputs] == ["float16"]
    feeds = {"x": FEEDS["x"].astype(np.float16)}
    out = gossamer.load(half, backends=["reference"], optimize=0).run(None, feeds)[0]
    assert out.dtype == np.float16


def test_float16_graph_runs_optimised_and_in_onnxruntime() -> None:
    graph = conv_net()
    half = quantize_fp16(graph, activations=True)
    np.testing.assert_allclose(run(half), run(half, optimize=0), rtol=2e-3, atol=2e-3)
    np.testing.assert_allclose(ort_run(half, FEEDS, fused=False)[0], run(half, optimize=0),
                               rtol=2e-3, atol=2e-3)  # fmt: skip


@pytest.mark.models
@pytest.mark.parametrize("activations", [False, True])
def test_real_model_float16_matches_float_and_onnxruntime(real_model, activations: bool) -> None:
    graph, name, shape = real_model[:3]
    feeds = {name: samples(shape, 1)[0]}
    half = quantize_fp16(graph, activations=activations)
    ours = gossamer.load(half).run(None, feeds)
    reference = gossamer.load(graph).run(None, feeds)
    assert all(cosine(a, b) > 0.9999 for a, b in zip(ours, reference))
    theirs = ort_run(half, feeds, fused=False)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-2, atol=1e-2)
    assert len(mf.dump_gsm(half)) < 0.65 * len(mf.dump_gsm(graph))


def _cython_available() -> bool:
    from gossamer.plugins.manager import all_backends, availability

    backend = all_backends().get("cython")
    return backend is not None and availability(backend) is None


@pytest.mark.skipif(not _cython_available(), reason="the cython backend is not built here")
@pytest.mark.parametrize("activations", [False, True])
def test_cython_runs_the_float16_model_like_the_reference(activations: bool) -> None:
    half = quantize_fp16(conv_net(), activations=activations, min_elements=100)
    ours = run(half, backends=["cython"])
    np.testing.assert_allclose(ours, run(half, optimize=0), rtol=2e-3, atol=2e-3)


def test_the_input_graph_is_not_changed() -> None:
    graph = conv_net()
    before = ([v.dtype for v in graph.inputs + graph.outputs], list(graph.initializers))
    nodes = [(n.op_type, list(n.inputs), list(n.outputs), dict(n.attrs)) for n in graph.nodes]
    quantize_fp16(graph, activations=True, keep_io_types=False)
    quantize_fp16(graph, min_elements=1)
    assert ([v.dtype for v in graph.inputs + graph.outputs], list(graph.initializers)) == before
    assert [(n.op_type, n.inputs, n.outputs, n.attrs) for n in graph.nodes] == nodes
    assert graph.initializers["w"].dtype == np.float32
