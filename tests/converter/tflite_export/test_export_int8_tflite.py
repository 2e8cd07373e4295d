"""Int8 TFLite -> Gossamer -> TFLite: the exported file runs bit for bit as the original in
LiteRT's reference kernels (integer ops, data movement, kept state, partitions)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from gossamer.converter.tflite_export import (
    TFLiteExportError,
    export_partition,
    export_tflite,
    write_tflite,
)
from gossamer.plugins.partition import extract_partition
from gossamer.refimpl.errors import GossamerError
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.shape_inference import infer_shapes

from gossamer.session import read_model
from tests.converter.tflite_export.helpers import random_feeds, run_gossamer, run_litert
from tests.converter.tflite_export.int8_models import branchy_model, cnn_model
from tests.converter.tflite_int8_models import q_model, qt
from tests.converter.tflite_state_models import accumulator, two_handles

MODELS = Path.home() / ".cache" / "gossamer" / "models"
MWW = MODELS / "mww_okay_nabu_int8.tflite"


def _round_trip(model: bytes, seed: int = 0) -> None:
    graph = read_model(model)
    exported = export_tflite(graph)
    feeds = random_feeds(graph, np.random.default_rng(seed))
    want, got = run_litert(model, feeds), run_litert(exported, feeds)
    assert list(want) == list(got)
    for name in want:
        assert want[name].dtype == got[name].dtype and want[name].shape == got[name].shape
        assert np.array_equal(want[name], got[name]), name
    again = run_gossamer(read_model(exported), feeds)  # and the exported file re-imported
    for name in want:
        assert np.array_equal(again[name], want[name]), name


def test_an_int8_cnn_round_trips_bit_exactly():
    _round_trip(cnn_model())


def test_int8_activations_pools_concat_mean_and_data_movement_round_trip_bit_exactly():
    _round_trip(branchy_model())


@pytest.mark.parametrize("dtype, zp, per_channel", [("int8", -3, True), ("uint8", 131, False)])
@pytest.mark.parametrize("code, w_shape, options", [
    (3, (6, 3, 3, 4), {"padding": 0, "stride_h": 2, "stride_w": 1, "dilation_h_factor": 1,
                       "dilation_w_factor": 2, "fused_activation_function": 3}),
    (4, (1, 3, 3, 8), {"padding": 1, "stride_h": 1, "stride_w": 1, "depth_multiplier": 2,
                       "fused_activation_function": 1}),
])  # fmt: skip
def test_convolutions_keep_their_per_channel_or_per_tensor_params(code, w_shape, options, dtype,
                                                                  zp, per_channel):  # fmt: skip
    rng = np.random.default_rng(3)
    axis = 0 if code == 3 else 3
    channels = w_shape[axis]
    w_scale = rng.uniform(0.002, 0.02, channels) if per_channel else 0.01
    w = rng.integers(0 if dtype == "uint8" else -127, 128, w_shape).astype(dtype)
    b_scale = np.float32(0.05) * np.atleast_1d(np.float32(w_scale))
    tensors = [
        qt("x", dtype, (1, 7, 7, 4), 0.05, zp),
        qt("w", dtype, w_shape, w_scale, 0 if dtype == "int8" else 128, data=w, axis=axis),
        qt("b", "int32", (channels,), b_scale, 0,
           data=rng.integers(-999, 999, channels).astype(np.int32)),
    ]  # fmt: skip
    out_hw = {(3, 0): (4, 7), (4, 1): (5, 5)}[(code, options["padding"])]
    out = qt("y", dtype, (1, *out_hw, channels), 0.1, zp)
    kind = "Conv2DOptions" if code == 3 else "DepthwiseConv2DOptions"
    _round_trip(q_model(code, tensors, [out], (kind, options), version=3))


def test_fully_connected_and_batch_matmul_round_trip_bit_exactly():
    rng = np.random.default_rng(4)
    w = rng.integers(-127, 128, (5, 12)).astype(np.int8)
    fc = q_model(
        9,
        [qt("x", "int8", (2, 12), 0.04, 1), qt("w", "int8", (5, 12), 0.01, 0, data=w)],
        [qt("y", "int8", (2, 5), 0.2, -4)],
        ("FullyConnectedOptions", {}),
        version=4,
    )
    _round_trip(fc)
    bmm = q_model(
        126,
        [qt("a", "int8", (2, 3, 4), 0.03, 2), qt("b", "int8", (2, 4, 5), 0.02, -1)],
        [qt("y", "int8", (2, 3, 5), 0.1, 3)],
        ("BatchMatMulOptions", {}),
        version=2,
    )
    _round_trip(bmm)


def _stream(models: list[bytes], frames: list[np.ndarray]) -> list[list[np.ndarray]]:
    """Each model's output over consecutive invokes of one interpreter (state carried)."""
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    runs = []
    for model in models:
        it = litert.Interpreter(
            model_content=model, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF
        )
        it.allocate_tensors()
        x, y = it.get_input_details()[0], it.get_output_details()[0]
        outs = []
        for frame in frames:
            it.set_tensor(x["index"], frame)
            it.invoke()
            outs.append(it.get_tensor(y["index"]))
        runs.append(outs)
    return runs


@pytest.mark.parametrize("build, shape", [(accumulator, (1, 4)), (two_handles, (3,))])
def test_kept_state_becomes_resource_variables_that_stream_as_the_original(build, shape):
    original = build()
    exported = export_tflite(read_model(original))
    rng = np.random.default_rng(5)
    frames = [rng.standard_normal(shape).astype(np.float32) for _ in range(4)]
    want, got = _stream([original, exported], frames)
    assert all(np.array_equal(a, b) for a, b in zip(want, got))
    assert not np.array_equal(want[1], want[2])  # the state moved the outputs


@pytest.mark.skipif(not MWW.is_file(), reason=f"{MWW} not cached")
def test_the_wake_word_model_exports_with_its_streaming_buffers_as_variables():
    data = MWW.read_bytes()
    exported = export_tflite(read_model(data))
    rng = np.random.default_rng(3)
    frames = [rng.integers(-128, 128, size=(1, 3, 40)).astype(np.int8) for _ in range(12)]
    want, got = _stream([data, exported], frames)
    assert all(np.array_equal(a, b) for a, b in zip(want, got))


@pytest.mark.skipif(not MWW.is_file(), reason=f"{MWW} not cached")
def test_the_wake_word_model_streams_bit_exactly_with_its_state_as_inputs_and_outputs():
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    graph = read_model(MWW)
    exported = export_tflite(graph, state_as_io=True)
    original = litert.Interpreter(
        model_path=str(MWW), experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF
    )
    original.allocate_tensors()
    x = original.get_input_details()[0]
    y = original.get_output_details()[0]
    state = {b.input: b.initial for b in graph.state}
    fed_back = {b.output: b.input for b in graph.state}
    rng = np.random.default_rng(0)
    for lo in rng.integers(-128, 60, size=10).repeat(3):
        frame = rng.integers(lo, lo + 60, size=(1, 3, 40)).astype(np.int8)
        original.set_tensor(x["index"], frame)
        original.invoke()
        got = run_litert(exported, {x["name"]: frame, **state})
        assert np.array_equal(got[y["name"]], original.get_tensor(y["index"]))
        ours = run_gossamer(graph, {x["name"]: frame, **state})  # the new state, every buffer
        assert all(np.array_equal(got[k], ours[k]) for k in got)
        state = {fed_back[k]: v for k, v in got.items() if k in fed_back}


@pytest.mark.skipif(not MWW.is_file(), reason=f"{MWW} not cached")
def test_a_partition_exports_with_its_boundary_as_quantised_inputs_and_outputs():
    whole = read_model(MWW)
    order = whole.topological_nodes()
    part = extract_partition(whole, tuple(n.name for n in order[4:30]), "npu_0")
    data = export_partition(whole, part)
    typed = infer_shapes(whole)
    part = replace(part, inputs=[typed[v.name] for v in part.inputs])
    rng = np.random.default_rng(1)
    feeds = random_feeds(part, rng)
    got, want = run_litert(data, feeds), run_gossamer(part, feeds)
    assert list(got) == [v.name for v in part.outputs]
    for name in got:
        assert np.array_equal(got[name], want[name]), name
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    it = litert.Interpreter(model_content=data)
    for d in it.get_input_details() + it.get_output_details():
        assert d["quantization"][0] > 0, d["name"]  # every boundary value is quantised
        q = whole.quant.get(d["name"])
        if q is not None:
            assert d["quantization"] == (pytest.approx(float(q.scale)), int(q.zero_point))


def test_every_node_that_cannot_be_expressed_is_named_in_one_typed_error():
    graph = Graph(
        nodes=[
            Node("Einsum", ["x", "x"], ["e"], {"equation": "ij,ij->ij"}, name="einsum_1"),
            Node("Relu", ["e"], ["r"], name="relu_1"),
            Node("Einsum", ["x", "x"], ["y"], {"equation": "ij,ij->ij"}, name="einsum_2"),
        ],
        inputs=[Value("x", "float32", (2, 3))],
        outputs=[Value("r", "float32", (2, 3)), Value("y", "float32", (2, 3))],
    )
    with pytest.raises(TFLiteExportError) as info:
        export_tflite(graph)
    assert isinstance(info.value, GossamerError)
    # the root causes only: relu_1 fails because einsum_1 did
    assert [r["node"] for r in info.value.unsupported] == ["einsum_1", "einsum_2"]
    assert "einsum_1 (Einsum): no TFLite lowering" in str(info.value)


def test_write_tflite_writes_an_identified_flatbuffer_with_aligned_constants(tmp_path):
    path = tmp_path / "m.tflite"
    size = write_tflite(read_model(cnn_model()), path)
    data = path.read_bytes()
    assert size == len(data) and data[4:8] == b"TFL3"
    tflite = pytest.importorskip("tflite")
    model = tflite.Model.GetRootAsModel(data, 0)
    for i in range(model.BuffersLength()):
        buf = model.Buffers(i)
        if buf.DataLength():
            assert (
                buf.DataAsNumpy().ctypes.data % 16 == np.frombuffer(data, np.uint8).ctypes.data % 16
            )
