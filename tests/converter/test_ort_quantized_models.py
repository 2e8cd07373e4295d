"""Real models quantised by onnxruntime.quantization load in Gossamer and match onnxruntime.

quantize_static in both formats (QOperator: QLinearConv/MatMul and the com.microsoft QLinearAdd,
QLinearSoftmax...; QDQ: QuantizeLinear/DequantizeLinear around float ops), per-channel on and
off, and quantize_dynamic (MatMulInteger, DynamicQuantizeLSTM), plus the files onnxruntime
writes after its own fusions (DynamicQuantizeMatMul, MatMulIntegerToFloat). Gossamer at
optimize=0 runs the graph as written and is compared with onnxruntime at ORT_ENABLE_BASIC (no
QDQ fusion); at optimize=3 both fuse QDQ groups into integer ops and are compared at
ORT_ENABLE_ALL. Every static output must lie within one quantisation step of the tensor it is
dequantised from; dynamic outputs are float and agree to float32 rounding.

Measured (this machine, AVX2 without VNNI): QOperator models and the synthetic model covering
QGemm, QLinearAdd/Mul/Sigmoid/LeakyRelu/Concat/AveragePool/GlobalAveragePool are bit-identical
to onnxruntime; QDQ models differ by at most one output step (mtcnn softmax: 1/255 exactly, in
a few elements); dynamic models by at most 5e-7 (silero's DynamicQuantizeLSTM, from
onnxruntime's sigmoid/tanh approximations). Weights are quantised with reduce_range (7-bit int8)
as onnxruntime advises for such CPUs: its uint8 x int8 kernel saturates pairs of products at
int16 (vpmaddubsw), where the reference is exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gossamer

ort = pytest.importorskip("onnxruntime")
quantization = pytest.importorskip("onnxruntime.quantization")
onnx = pytest.importorskip("onnx")

STATIC = {"mtcnn_rnet.onnx": ("input_2", (2, 24, 24, 3)),
          "mtcnn_onet.onnx": ("input_3", (1, 48, 48, 3))}  # fmt: skip
LEVELS = {0: "ORT_ENABLE_BASIC", 3: "ORT_ENABLE_ALL"}  # Gossamer optimize -> onnxruntime level


class _Images(quantization.CalibrationDataReader):
    """A few fixed-seed images in [0, 1] (the calibration set)."""

    def __init__(self, name: str, shape: tuple[int, ...], count: int = 4) -> None:
        rng = np.random.default_rng(0)
        self._feeds = iter(
            [{name: rng.uniform(0, 1, size=shape).astype(np.float32)} for _ in range(count)]
        )

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._feeds, None)


def _opset13(src: Path, folder: Path) -> Path:
    """The model at opset >= 13 (per-channel QDQ needs DequantizeLinear's axis)."""
    model = onnx.load(str(src))
    if model.opset_import[0].version >= 13:
        return src
    path = folder / f"{src.stem}_opset13.onnx"
    onnx.save(onnx.version_converter.convert_version(model, 13), str(path))
    return path


@pytest.fixture(scope="module")
def quantised(models_dir, tmp_path_factory):
    """quantised(model, how) -> the path of the model quantised `how` (made once per module):
    ("static", "QDQ" | "QOperator", per_channel), ("dynamic", per_channel), ("fused", path)."""
    folder = tmp_path_factory.mktemp("ort_quantised")
    cache: dict[tuple, Path] = {}

    def get(name: str, how: tuple) -> Path:
        key = (name, how)
        if key in cache:
            return cache[key]
        src = _opset13(models_dir / name, folder) if name in STATIC else models_dir / name
        out = folder / f"{Path(name).stem}_{'_'.join(map(str, how))}.onnx"
        if how[0] == "static":
            quantization.quantize_static(
                str(src), str(out), _Images(*STATIC[name]),
                quant_format=getattr(quantization.QuantFormat, how[1]), per_channel=how[2],
                reduce_range=True, activation_type=quantization.QuantType.QUInt8,
                weight_type=quantization.QuantType.QInt8,
            )  # fmt: skip
        else:
            quantization.quantize_dynamic(str(src), str(out), per_channel=how[1],
                                          reduce_range=True)  # fmt: skip
        cache[key] = out
        return out

    return get


def _oracle(path: Path, feeds: dict, level: str, fused_copy: Path | None = None) -> list:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1  # more threads split DynamicQuantizeLSTM's batch
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    options.log_severity_level = 3
    if fused_copy is not None:
        options.optimized_model_filepath = str(fused_copy)
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def _output_steps(path: Path) -> list[float]:
    """Per graph output, the scale of the DequantizeLinear it comes from (through float ops)."""
    model = onnx.load(str(path))
    producer = {o: n for n in model.graph.node for o in n.output}
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    steps = []
    for output in model.graph.output:
        node = producer.get(output.name)
        while node is not None and node.op_type != "DequantizeLinear":
            node = producer.get(node.input[0])
        assert node is not None, f"{output.name} is not dequantised"
        steps.append(float(np.max(inits[node.input[1]])))
    return steps


def _ops(path: Path) -> set[str]:
    return {n.op_type for n in onnx.load(str(path)).graph.node}


def _image(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(1).uniform(0, 1, size=shape).astype(np.float32)


@pytest.mark.models
@pytest.mark.parametrize("optimize", [0, 3])
@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("fmt", ["QOperator", "QDQ"])
@pytest.mark.parametrize("name", sorted(STATIC))
def test_static_quantised_model_is_within_one_output_step(quantised, name, fmt, per_channel,
                                                          optimize):  # fmt: skip
    path = quantised(name, ("static", fmt, per_channel))
    expected = {"QLinearConv", "QLinearMatMul", "QLinearAdd"} if fmt == "QOperator" else {
        "QuantizeLinear", "DequantizeLinear", "Conv"}  # fmt: skip
    assert expected <= _ops(path)
    input_name, shape = STATIC[name]
    feeds = {input_name: _image(shape)}
    ours = gossamer.load(path, optimize=optimize).run(None, feeds)
    theirs = _oracle(path, feeds, LEVELS[optimize])
    for a, b, step in zip(ours, theirs, _output_steps(path), strict=True):
        assert np.abs(a - b).max() <= step * (1 + 1e-6)
        if fmt == "QOperator":  # integer end to end: bit for bit
            np.testing.assert_array_equal(a, b)


def _synthetic(folder: Path) -> Path:
    """A small float model whose quantisation uses every com.microsoft QLinear op and QGemm."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)

    def weight(name: str, shape: tuple[int, ...], scale: float = 0.3):
        return numpy_helper.from_array((rng.normal(size=shape) * scale).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("LeakyRelu", ["c1"], ["l1"], alpha=0.1),
        helper.make_node("AveragePool", ["l1"], ["p1"], kernel_shape=[3, 3], strides=[2, 2],
                         pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"]),
        helper.make_node("Sigmoid", ["c2"], ["s2"]),
        helper.make_node("Concat", ["p1", "s2"], ["cat"], axis=1),
        helper.make_node("Add", ["cat", "cat"], ["a2"]),
        helper.make_node("Mul", ["a2", "cat"], ["m2"]),
        helper.make_node("GlobalAveragePool", ["m2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "wg", "bg"], ["y"], transB=1),
    ]  # fmt: skip
    inits = [weight("w1", (8, 3, 3, 3)), weight("b1", (8,), 0.1), weight("w2", (8, 8, 1, 1)),
             weight("b2", (8,), 0.1), weight("wg", (5, 16)), weight("bg", (5,), 0.1)]  # fmt: skip
    graph = helper.make_graph(
        nodes, "synthetic", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 17, 17])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    path = folder / "synthetic.onnx"
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("per_channel", [False, True])
def test_qoperator_model_with_every_contrib_op_matches_onnxruntime_bit_for_bit(
    tmp_path, per_channel
):
    out = tmp_path / "synthetic_qop.onnx"
    quantization.quantize_static(
        str(_synthetic(tmp_path)), str(out), _Images("x", (1, 3, 17, 17)),
        quant_format=quantization.QuantFormat.QOperator, per_channel=per_channel,
        reduce_range=True,
    )  # fmt: skip
    contrib = {"QGemm", "QLinearAdd", "QLinearMul", "QLinearSigmoid", "QLinearLeakyRelu",
               "QLinearConcat", "QLinearAveragePool", "QLinearGlobalAveragePool"}  # fmt: skip
    assert contrib <= _ops(out)
    feeds = {"x": np.random.default_rng(2).normal(size=(1, 3, 17, 17)).astype(np.float32)}
    for optimize in (0, 3):
        ours = gossamer.load(out, optimize=optimize).run(None, feeds)
        np.testing.assert_array_equal(ours[0], _oracle(out, feeds, LEVELS[optimize])[0])


DYNAMIC = {
    "mtcnn_onet.onnx": lambda: {"input_3": _image((1, 48, 48, 3))},
    "silero_vad_v6_16k_sequence.onnx": lambda: {
        "input": (np.random.default_rng(0).normal(size=(4, 576)) * 0.1).astype(np.float32),
        "h": np.zeros((1, 1, 128), np.float32),
        "c": np.zeros((1, 1, 128), np.float32),
    },
}


@pytest.mark.models
@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("name", sorted(DYNAMIC))
def test_dynamic_quantised_model_matches_onnxruntime(quantised, tmp_path, name, per_channel):
    path = quantised(name, ("dynamic", per_channel))
    assert "DynamicQuantizeLinear" in _ops(path)
    feeds = DYNAMIC[name]()
    fused = tmp_path / "fused.onnx"  # onnxruntime's own fusions: com.microsoft integer ops
    theirs = _oracle(path, feeds, "ORT_ENABLE_EXTENDED", fused_copy=fused)
    contrib = {"DynamicQuantizeMatMul", "MatMulIntegerToFloat", "DynamicQuantizeLSTM"}
    assert _ops(fused) & contrib
    for model in (path, fused):
        for optimize in (0, 3):
            ours = gossamer.load(model, optimize=optimize).run(None, feeds)
            for a, b in zip(ours, theirs, strict=True):
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.models
@pytest.mark.parametrize("optimize", [0, 3])
def test_minilm_int8_still_matches_onnxruntime(models_dir, optimize):
    rng = np.random.default_rng(0)
    feeds = {"input_ids": rng.integers(0, 30000, size=(1, 16)),
             "attention_mask": np.ones((1, 16), np.int64),
             "token_type_ids": np.zeros((1, 16), np.int64)}  # fmt: skip
    path = models_dir / "minilm_l6_int8.onnx"
    ours = gossamer.load(path, optimize=optimize).run(None, feeds)
    theirs = _oracle(path, feeds, LEVELS[optimize])
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-4, atol=1e-5)
