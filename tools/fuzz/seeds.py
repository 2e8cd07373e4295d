"""Seed models for the fuzzer: small ONNX graphs built in code, gossamer.builtin_models networks,
small real models from the shared cache, and the `.gsm` form of each.

Every seed is valid: it loads and runs (the fuzzer's mutations make it hostile). Seeds are built
once in the parent process and handed to the forked children as serialized bytes.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper, numpy_helper

OPSET = 17
MODELS_DIR = Path(os.environ.get("GOSSAMER_MODELS", Path.home() / ".cache" / "gossamer" / "models"))
REAL_MODEL_MAX_BYTES = 3 * 2**20


@dataclass(frozen=True)
class Seed:
    """One starting model: `fmt` is "onnx" or "gsm", `data` its serialized bytes."""

    name: str
    fmt: str
    data: bytes
    weight: float = 1.0  # relative chance of being picked


def _vi(name: str, elem: int, shape: list | None) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def _init(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def _f32(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def _model(
    name: str,
    nodes: list,
    inputs: list,
    outputs: list,
    inits: Sequence[onnx.TensorProto] = (),
    opset: int = OPSET,
    functions: Sequence[onnx.FunctionProto] = (),
    extra_opsets: dict[str, int] | None = None,
) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    opsets = [helper.make_opsetid("", opset)]
    opsets += [helper.make_opsetid(d, v) for d, v in (extra_opsets or {}).items()]
    model = helper.make_model(graph, opset_imports=opsets, functions=list(functions))
    model.ir_version = 8
    return model


def _handmade() -> dict[str, onnx.ModelProto]:
    """One small graph per op family the backends implement, with the attributes worth mutating."""
    r = np.random.default_rng(0)
    mk = helper.make_node
    x4 = _vi("x", T.FLOAT, ["N", 3, 8, 8])
    y = _vi("y", T.FLOAT, None)
    seeds: dict[str, onnx.ModelProto] = {}
    seeds["conv"] = _model(
        "conv",
        [
            mk(
                "Conv",
                ["x", "w", "b"],
                ["c"],
                kernel_shape=[3, 3],
                pads=[1, 1, 1, 1],
                strides=[1, 1],
                dilations=[1, 1],
                group=1,
            ),
            mk("Relu", ["c"], ["r"]),
            mk(
                "Conv",
                ["r", "dw"],
                ["d"],
                kernel_shape=[3, 3],
                auto_pad="SAME_UPPER",
                group=4,
                strides=[2, 2],
            ),
            mk("ConvTranspose", ["d", "tw"], ["y"], kernel_shape=[2, 2], strides=[2, 2]),
        ],
        [x4],
        [y],
        [
            _init("w", _f32(r, 4, 3, 3, 3)),
            _init("b", _f32(r, 4)),
            _init("dw", _f32(r, 4, 1, 3, 3)),
            _init("tw", _f32(r, 4, 2, 2, 2)),
        ],
    )
    seeds["pool"] = _model(
        "pool",
        [
            mk(
                "MaxPool",
                ["x"],
                ["m"],
                kernel_shape=[3, 3],
                strides=[2, 2],
                auto_pad="SAME_UPPER",
                dilations=[1, 1],
            ),
            mk(
                "AveragePool",
                ["m"],
                ["a"],
                kernel_shape=[2, 2],
                pads=[0, 0, 1, 1],
                ceil_mode=1,
                count_include_pad=1,
            ),
            mk("MaxPool", ["a"], ["v"], kernel_shape=[2, 2], strides=[1, 1], auto_pad="VALID"),
            mk("GlobalAveragePool", ["v"], ["y"]),
        ],
        [x4],
        [y],
    )
    seeds["pool_dilated"] = _model(
        "pool_dilated",
        [
            mk(
                "MaxPool",
                ["x"],
                ["y", "idx"],
                kernel_shape=[2, 2],
                strides=[1, 2],
                pads=[1, 0, 1, 0],
                dilations=[2, 1],
                ceil_mode=1,
                storage_order=0,
            ),
        ],
        [x4],
        [y, _vi("idx", T.INT64, None)],
    )
    hid, feat = 5, 3
    seeds["gru_lstm"] = _model(
        "gru_lstm",
        [
            mk(
                "GRU",
                ["s", "gw", "gr", "gb"],
                ["g", "gh"],
                hidden_size=hid,
                linear_before_reset=1,
                direction="bidirectional",
            ),
            mk(
                "LSTM",
                ["s", "lw", "lr", "lb"],
                ["l", "lh", "lc"],
                hidden_size=hid,
                direction="forward",
            ),
        ],
        [_vi("s", T.FLOAT, ["T", 1, feat])],
        [_vi("g", T.FLOAT, None), _vi("l", T.FLOAT, None), _vi("lc", T.FLOAT, None)],
        [
            _init("gw", _f32(r, 2, 3 * hid, feat)),
            _init("gr", _f32(r, 2, 3 * hid, hid)),
            _init("gb", _f32(r, 2, 6 * hid)),
            _init("lw", _f32(r, 1, 4 * hid, feat)),
            _init("lr", _f32(r, 1, 4 * hid, hid)),
            _init("lb", _f32(r, 1, 8 * hid)),
        ],
    )
    seeds["gemm"] = _model(
        "gemm",
        [
            mk("Gemm", ["a", "gw", "gb"], ["g"], transB=1, alpha=0.5, beta=2.0),
            mk("MatMul", ["g", "mw"], ["m"]),
            mk("Add", ["m", "gb2"], ["s"]),
            mk("Softmax", ["s"], ["y"], axis=-1),
        ],
        [_vi("a", T.FLOAT, ["N", 6])],
        [y],
        [
            _init("gw", _f32(r, 4, 6)),
            _init("gb", _f32(r, 4)),
            _init("mw", _f32(r, 4, 5)),
            _init("gb2", _f32(r, 5)),
        ],
    )
    seeds["resize"] = _model(
        "resize",
        [
            mk(
                "Resize",
                ["x", "", "scales"],
                ["r"],
                mode="linear",
                coordinate_transformation_mode="half_pixel",
            ),
            mk("Resize", ["r", "", "", "sizes"], ["y"], mode="nearest", nearest_mode="floor"),
        ],
        [x4],
        [y],
        [
            _init("scales", np.array([1, 1, 2, 2], np.float32)),
            _init("sizes", np.array([1, 3, 5, 7], np.int64)),
        ],
    )
    seeds["shape_ops"] = _model(
        "shape_ops",
        [
            mk("Reshape", ["x", "shape"], ["r"]),
            mk("Slice", ["r", "starts", "ends", "axes", "steps"], ["s"]),
            mk("Gather", ["s", "idx"], ["g"], axis=1),
            mk("Concat", ["g", "g"], ["c"], axis=1),
            mk("Split", ["c", "split"], ["p", "q"], axis=1),
            mk("Transpose", ["p"], ["t"], perm=[1, 0, 2]),
            mk("Unsqueeze", ["t", "ax0"], ["u"]),
            mk("Squeeze", ["u", "ax0"], ["q2"]),
            mk("Flatten", ["q2"], ["y"], axis=1),
        ],
        [_vi("x", T.FLOAT, [2, 3, 4, 4])],
        [y, _vi("q", T.FLOAT, None)],
        [
            _init("shape", np.array([2, 12, -1], np.int64)),
            _init("starts", np.array([0, 1], np.int64)),
            _init("ends", np.array([12, 8], np.int64)),
            _init("axes", np.array([1, 2], np.int64)),
            _init("steps", np.array([2, 1], np.int64)),
            _init("idx", np.array([0, 2, -1], np.int64)),
            _init("split", np.array([2, 4], np.int64)),
            _init("ax0", np.array([0], np.int64)),
        ],
    )
    seeds["generators"] = _model(
        "generators",
        [
            mk("ConstantOfShape", ["cshape"], ["c"], value=_init("v", np.array([1.5], np.float32))),
            mk("Expand", ["c", "eshape"], ["e"]),
            mk("Tile", ["e", "reps"], ["t"]),
            mk("Range", ["start", "limit", "delta"], ["rg"]),
            mk("Cast", ["rg"], ["rgf"], to=T.FLOAT),
            mk("Add", ["t", "rgf"], ["s"]),
            mk("Pad", ["s", "pads", "pv"], ["p"], mode="constant"),
            mk("Pad", ["p", "pads"], ["pr"], mode="reflect"),
            mk("TopK", ["pr", "k"], ["y", "ti"], axis=-1, largest=1, sorted=1),
            mk("ReduceSum", ["a", "raxes"], ["rs"], keepdims=0),
        ],
        [_vi("a", T.FLOAT, ["N", 4])],
        [y, _vi("ti", T.INT64, None), _vi("rs", T.FLOAT, None)],
        [
            _init("cshape", np.array([2, 1], np.int64)),
            _init("eshape", np.array([2, 3], np.int64)),
            _init("reps", np.array([1, 2], np.int64)),
            _init("start", np.array(0, np.int64)),
            _init("limit", np.array(6, np.int64)),
            _init("delta", np.array(1, np.int64)),
            _init("pads", np.array([0, 1, 0, 1], np.int64)),
            _init("pv", np.array(0, np.float32)),
            _init("k", np.array([3], np.int64)),
            _init("raxes", np.array([1], np.int64)),
        ],
    )
    then_g = helper.make_graph(
        [mk("Mul", ["a", "two"], ["tb"])], "then", [], [_vi("tb", T.FLOAT, None)]
    )
    else_g = helper.make_graph([mk("Neg", ["a"], ["eb"])], "else", [], [_vi("eb", T.FLOAT, None)])
    body = helper.make_graph(
        [
            mk("Add", ["acc_in", "two"], ["acc_out"]),
            mk("Identity", ["cond_in"], ["cond_out"]),
            mk("Cast", ["i"], ["scan_out"], to=T.FLOAT),
        ],
        "body",
        [_vi("i", T.INT64, []), _vi("cond_in", T.BOOL, []), _vi("acc_in", T.FLOAT, None)],
        [_vi("cond_out", T.BOOL, []), _vi("acc_out", T.FLOAT, None), _vi("scan_out", T.FLOAT, [])],
    )
    seeds["control_flow"] = _model(
        "control_flow",
        [
            mk("ReduceSum", ["a"], ["total"], keepdims=0),
            mk("Greater", ["total", "zero"], ["c"]),
            mk("If", ["c"], ["branch"], then_branch=then_g, else_branch=else_g),
            mk("Loop", ["trips", "true", "branch"], ["y", "scan"], body=body),
        ],
        [_vi("a", T.FLOAT, ["N", 4])],
        [y, _vi("scan", T.FLOAT, None)],
        [
            _init("two", np.array(2, np.float32)),
            _init("zero", np.array(0, np.float32)),
            _init("trips", np.array(3, np.int64)),
            _init("true", np.array(True)),
        ],
    )
    fn = helper.make_function(
        "local",
        "ScaledRelu",
        ["fx"],
        ["fy"],
        [
            mk("Mul", ["fx", "fs"], ["fm"]),
            mk("Relu", ["fm"], ["fy"]),
            helper.make_node("Constant", [], ["fs"], value=_init("fsv", np.array(3, np.float32))),
        ],
        [helper.make_opsetid("", OPSET)],
    )
    seeds["function"] = _model(
        "function",
        [
            mk("ScaledRelu", ["a"], ["f"], domain="local"),
            mk("LayerNormalization", ["f", "g", "bta"], ["y"], axis=-1, epsilon=1e-5),
        ],
        [_vi("a", T.FLOAT, ["N", 4])],
        [y],
        [_init("g", np.ones(4, np.float32)), _init("bta", np.zeros(4, np.float32))],
        functions=[fn],
        extra_opsets={"local": 1},
    )
    return seeds


def _builtin_models() -> dict[str, onnx.ModelProto]:
    from gossamer import builtin_models

    return {
        "tiny_cnn": builtin_models.tiny_cnn(size=16),
        "lstm": builtin_models.lstm(layers=2, hidden=8, steps=4, features=5),
        "minilm": builtin_models.minilm_encoder(layers=1, hidden=16, heads=2, seq=6, vocab=20),
    }


def build_seeds(real_models: bool = True, formats: tuple[str, ...] = ("onnx", "gsm")) -> list[Seed]:
    """The seed corpus: every in-code model in each format, plus cached real models under 3 MB
    (weighted lower: slower to mutate and run). A seed that fails to convert is left out."""
    from gossamer.converter.onnx_import import graph_from_onnx
    from gossamer.refimpl.model_format import dump_gsm

    protos: list[tuple[str, bytes, float]] = []
    for name, model in {**_handmade(), **_builtin_models()}.items():
        protos.append((name, model.SerializeToString(), 1.0))
    if real_models and MODELS_DIR.is_dir():
        for path in sorted(MODELS_DIR.glob("*.onnx")):
            if path.stat().st_size <= REAL_MODEL_MAX_BYTES:
                protos.append((path.stem, path.read_bytes(), 0.25))
    seeds: list[Seed] = []
    for name, blob, weight in protos:
        if "onnx" in formats:
            seeds.append(Seed(name, "onnx", blob, weight))
        if "gsm" in formats:
            try:
                seeds.append(Seed(name, "gsm", dump_gsm(graph_from_onnx(blob)), weight))
            except Exception:  # a real model the converter cannot take stays an ONNX-only seed
                pass
    return seeds
