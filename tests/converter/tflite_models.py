"""Writes small .tflite flatbuffers for tests, with the `tflite` package's generated builders.

`build_model` takes tensors (name, TensorType code, shape, optional constant data), operators
(builtin code or custom code, input/output tensor indices, optional options) and writes one
subgraph with a serving_default signature, as the TFLite converter would.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import flatbuffers
import numpy as np


def _module(name: str):
    """A generated module (the package's attribute of the same name is the class)."""
    return importlib.import_module(f"tflite.{name}")


Buffer, Metadata, Model = _module("Buffer"), _module("Metadata"), _module("Model")
Operator, OperatorCode = _module("Operator"), _module("OperatorCode")
Quant, SignatureDef = _module("QuantizationParameters"), _module("SignatureDef")
SubGraph, Tensor, TensorMap = _module("SubGraph"), _module("Tensor"), _module("TensorMap")

FLOAT32, INT32, INT8 = 0, 2, 9
CUSTOM = 32


@dataclass
class T:
    name: str
    type: int
    shape: tuple[int, ...]
    data: np.ndarray | None = None
    scales: tuple[float, ...] = ()
    zero_points: tuple[int, ...] = ()
    quantized_dimension: int = 0  # the channel axis of per-channel scales
    # writes a SparsityParameters table (data then holds the compressed values)
    sparsity: Callable[[flatbuffers.Builder], int] | None = None
    variable: bool = False  # TFLite's is_variable (a state tensor LiteRT updates in place)


@dataclass
class Op:
    code: int | str  # a BuiltinOperator code, or a custom code
    inputs: list[int]
    outputs: list[int]
    options: tuple[str, dict] | None = None  # ("Conv2DOptions", {"stride_w": 2, ...})
    version: int = 1  # the operator code's version (LiteRT registers some ops from 2 on)
    custom_options: bytes = b""  # a custom op's raw options


@dataclass
class Spec:
    tensors: list[T]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]
    signature: bool = True
    metadata: dict[str, bytes] = field(default_factory=dict)


def _vector(b: flatbuffers.Builder, start, items, prepend) -> int:
    start(b, len(items))
    for x in reversed(items):
        prepend(x)
    return b.EndVector()


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _options(b: flatbuffers.Builder, kind: str, fields: dict) -> tuple[int, int]:
    """Writes a builtin options table of scalars, strings and int32 (or float) lists; returns
    (BuiltinOptions type, offset)."""
    module = importlib.import_module(f"tflite.{kind}")
    offsets = {}
    for key, value in fields.items():
        if isinstance(value, (list, tuple)):
            floats = any(isinstance(v, float) for v in value)  # (BucketizeOptions.boundaries)
            offsets[key] = _vector(b, getattr(module, f"Start{_camel(key)}Vector"), list(value),
                                   b.PrependFloat32 if floats else b.PrependInt32)  # fmt: skip
        elif isinstance(value, str):
            offsets[key] = b.CreateString(value)
    module.Start(b)
    for key, value in fields.items():
        getattr(module, f"Add{_camel(key)}")(b, offsets.get(key, value))
    enum = importlib.import_module("tflite.BuiltinOptions").BuiltinOptions
    return getattr(enum, kind), module.End(b)


def _buffers(b: flatbuffers.Builder, raw: list[bytes | None]) -> list[int]:
    """One Buffer table per entry (None or empty: a buffer without data)."""
    buffers = []
    for data in raw:
        vec = b.CreateByteVector(data) if data else None
        Buffer.Start(b)
        if vec is not None:
            Buffer.AddData(b, vec)
        buffers.append(Buffer.End(b))
    return buffers


def _serving_signature(
    b: flatbuffers.Builder, names: list[str], inputs: list[int], outputs: list[int]
) -> int:
    """A "serving_default" SignatureDef of subgraph 0 naming tensors by `names` (":0" dropped)."""
    maps = {}
    for side, indices in (("in", inputs), ("out", outputs)):
        items = []
        for i in indices:
            name = b.CreateString(names[i].split(":")[0])
            TensorMap.Start(b)
            TensorMap.AddName(b, name)
            TensorMap.AddTensorIndex(b, i)
            items.append(TensorMap.End(b))
        maps[side] = items
    ins = _vector(b, SignatureDef.StartInputsVector, maps["in"], b.PrependUOffsetTRelative)
    outs = _vector(b, SignatureDef.StartOutputsVector, maps["out"], b.PrependUOffsetTRelative)
    key = b.CreateString("serving_default")
    SignatureDef.Start(b)
    SignatureDef.AddInputs(b, ins)
    SignatureDef.AddOutputs(b, outs)
    SignatureDef.AddSignatureKey(b, key)
    SignatureDef.AddSubgraphIndex(b, 0)
    return SignatureDef.End(b)


def build_model(spec: Spec) -> bytes:
    b = flatbuffers.Builder(1024)
    # buffers: 0 is the empty sentinel, then one per constant tensor, then metadata
    buffer_data: list[bytes | None] = [None]
    tensor_buffer = []
    for t in spec.tensors:
        if t.data is None:
            tensor_buffer.append(0)
        else:
            tensor_buffer.append(len(buffer_data))
            buffer_data.append(np.ascontiguousarray(t.data).tobytes())
    metadata_buffer = {}
    for key, raw in spec.metadata.items():
        metadata_buffer[key] = len(buffer_data)
        buffer_data.append(raw)
    buffers = _buffers(b, buffer_data)
    tensors = []
    for t, buf in zip(spec.tensors, tensor_buffer):
        name = b.CreateString(t.name)
        shape = _vector(b, Tensor.StartShapeVector, list(t.shape), b.PrependInt32)
        sparsity = t.sparsity(b) if t.sparsity is not None else None
        quant = None
        if t.scales:
            scales = _vector(b, Quant.StartScaleVector, list(t.scales),
                             b.PrependFloat32)  # fmt: skip
            zeros = _vector(b, Quant.StartZeroPointVector,
                            list(t.zero_points), b.PrependInt64)  # fmt: skip
            Quant.Start(b)
            Quant.AddScale(b, scales)
            Quant.AddZeroPoint(b, zeros)
            Quant.AddQuantizedDimension(b, t.quantized_dimension)
            quant = Quant.End(b)
        Tensor.Start(b)
        Tensor.AddShape(b, shape)
        Tensor.AddType(b, t.type)
        Tensor.AddBuffer(b, buf)
        Tensor.AddName(b, name)
        if quant is not None:
            Tensor.AddQuantization(b, quant)
        if sparsity is not None:
            Tensor.AddSparsity(b, sparsity)
        if t.variable:
            Tensor.AddIsVariable(b, True)
        tensors.append(Tensor.End(b))
    codes: list[int | str] = []
    versions: dict[int | str, int] = {}
    for op in spec.ops:
        if op.code not in codes:
            codes.append(op.code)
            versions[op.code] = op.version
    opcodes = []
    for code in codes:
        custom = b.CreateString(code) if isinstance(code, str) else None
        OperatorCode.Start(b)
        number = CUSTOM if isinstance(code, str) else code
        OperatorCode.AddDeprecatedBuiltinCode(b, min(number, 127))
        OperatorCode.AddBuiltinCode(b, number)
        OperatorCode.AddVersion(b, versions[code])
        if custom is not None:
            OperatorCode.AddCustomCode(b, custom)
        opcodes.append(OperatorCode.End(b))
    ops = []
    for op in spec.ops:
        options = _options(b, *op.options) if op.options is not None else None
        custom_options = b.CreateByteVector(op.custom_options) if op.custom_options else None
        ins = _vector(b, Operator.StartInputsVector, op.inputs, b.PrependInt32)
        outs = _vector(b, Operator.StartOutputsVector, op.outputs, b.PrependInt32)
        Operator.Start(b)
        Operator.AddOpcodeIndex(b, codes.index(op.code))
        Operator.AddInputs(b, ins)
        Operator.AddOutputs(b, outs)
        if custom_options is not None:
            Operator.AddCustomOptions(b, custom_options)
        if options is not None:
            Operator.AddBuiltinOptionsType(b, options[0])
            Operator.AddBuiltinOptions(b, options[1])
        ops.append(Operator.End(b))
    t_vec = _vector(b, SubGraph.StartTensorsVector, tensors, b.PrependUOffsetTRelative)
    i_vec = _vector(b, SubGraph.StartInputsVector, spec.inputs, b.PrependInt32)
    o_vec = _vector(b, SubGraph.StartOutputsVector, spec.outputs, b.PrependInt32)
    op_vec = _vector(b, SubGraph.StartOperatorsVector, ops, b.PrependUOffsetTRelative)
    sg_name = b.CreateString("main")
    SubGraph.Start(b)
    SubGraph.AddTensors(b, t_vec)
    SubGraph.AddInputs(b, i_vec)
    SubGraph.AddOutputs(b, o_vec)
    SubGraph.AddOperators(b, op_vec)
    SubGraph.AddName(b, sg_name)
    subgraph = SubGraph.End(b)
    signatures = []
    if spec.signature:
        names = [t.name for t in spec.tensors]
        signatures.append(_serving_signature(b, names, spec.inputs, spec.outputs))
    metadata = []
    for key, buf in metadata_buffer.items():
        name = b.CreateString(key)
        Metadata.Start(b)
        Metadata.AddName(b, name)
        Metadata.AddBuffer(b, buf)
        metadata.append(Metadata.End(b))
    oc_vec = _vector(b, Model.StartOperatorCodesVector, opcodes, b.PrependUOffsetTRelative)
    sg_vec = _vector(b, Model.StartSubgraphsVector, [subgraph], b.PrependUOffsetTRelative)
    buf_vec = _vector(b, Model.StartBuffersVector, buffers, b.PrependUOffsetTRelative)
    sig_vec = _vector(b, Model.StartSignatureDefsVector, signatures, b.PrependUOffsetTRelative)
    md_vec = _vector(b, Model.StartMetadataVector, metadata, b.PrependUOffsetTRelative)
    description = b.CreateString("gossamer test model")
    Model.Start(b)
    Model.AddVersion(b, 3)
    Model.AddOperatorCodes(b, oc_vec)
    Model.AddSubgraphs(b, sg_vec)
    Model.AddDescription(b, description)
    Model.AddBuffers(b, buf_vec)
    Model.AddSignatureDefs(b, sig_vec)
    Model.AddMetadata(b, md_vec)
    b.Finish(Model.End(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def add_model() -> bytes:
    """out = x + c (float32 [1, 4]), the smallest model with a constant and an operator."""
    c = np.arange(4, dtype=np.float32).reshape(1, 4)
    spec = Spec(
        tensors=[
            T("serving_default_x:0", FLOAT32, (1, 4)),
            T("c", FLOAT32, (1, 4), c),
            T("Identity", FLOAT32, (1, 4)),
        ],
        ops=[Op(0, [0, 1], [2])],  # ADD
        inputs=[0],
        outputs=[2],
        metadata={"min_runtime_version": b"1.5.0\0"},
    )
    return build_model(spec)
