"""A TFLite model being written: tensors, constant buffers, operator codes and operators of one
subgraph, serialised with the `tflite` package's generated builders (the TFLite schema) on the
`flatbuffers` runtime.

`TFLiteWriter` is plain bookkeeping: the exporter (lower.py) decides what the tensors and
operators are. Constant data is written 16-byte aligned, as the TFLite converter does, so
kernels and Vela read it in place.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import TFLiteExportError

# numpy dtype name -> TFLite TensorType
TENSOR_TYPES = {
    "float32": 0, "float16": 1, "int32": 2, "uint8": 3, "int64": 4, "bool": 6, "int16": 7,
    "int8": 9, "float64": 10, "uint64": 12, "resource": 13, "uint32": 15, "uint16": 16,
}  # fmt: skip
ALIGN = 16


def schema(name: str) -> Any:
    """A generated module of the TFLite schema (`tflite.Conv2DOptions`, ...)."""
    try:
        return importlib.import_module(f"tflite.{name}")
    except ImportError as err:
        if name == "Model":
            raise ImportError(
                "TFLite export needs the tflite extra: pip install 'gossamer[tflite]'"
            ) from err
        raise


@dataclass
class Quant:
    """A tensor's TFLite QuantizationParameters: scales and zero points (one per tensor, or one
    per slice along `axis`)."""

    scales: np.ndarray
    zero_points: np.ndarray
    axis: int = 0  # quantized_dimension, written as given (LiteRT checks it even with one scale)


@dataclass
class TensorSpec:
    name: str
    dtype: str
    shape: tuple[int, ...]
    signature: tuple[int, ...] | None = None  # -1 for a dim known only at run time
    data: np.ndarray | None = None
    quant: Quant | None = None
    variable: bool = False  # is_variable: a state tensor the runtime updates in place
    sparsity: Callable[[Any], int] | None = None  # writes its SparsityParameters table


@dataclass
class OpSpec:
    code: str | int  # BuiltinOperator name ("CONV_2D") or number
    inputs: list[int]  # tensor indices, -1 for an omitted optional input
    outputs: list[int]
    options: tuple[str, dict] | None = None  # ("Conv2DOptions", {"stride_w": 2, ...})
    version: int = 1
    custom_code: str = ""  # a CUSTOM operator's name (code "CUSTOM" or 32)
    custom_options: bytes = b""  # a CUSTOM operator's raw options


@dataclass
class TFLiteWriter:
    tensors: list[TensorSpec] = field(default_factory=list)
    ops: list[OpSpec] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    description: str = "gossamer export"
    others: list[TFLiteWriter] = field(default_factory=list)  # subgraphs 1.. (initialisers)
    name: str = ""  # the subgraph's name; "main" / "init_<k>" when empty
    signature: bool = True  # writes the serving_default SignatureDef of subgraph 0
    metadata: dict[str, bytes] = field(default_factory=dict)  # Model.metadata, by name

    def add_tensor(self, spec: TensorSpec) -> int:
        if spec.dtype not in TENSOR_TYPES:
            raise TFLiteExportError(f"tensor {spec.name!r}: TFLite has no {spec.dtype} tensors")
        self.tensors.append(spec)
        return len(self.tensors) - 1

    def add_op(self, op: OpSpec) -> None:
        self.ops.append(op)

    # ---- serialisation ---------------------------------------------------------------------------
    def prune(self) -> None:
        """Drops the tensors no operator, input or output uses (constants an op replaced by its
        own, such as a grouped convolution's sliced weights), renumbering the rest."""
        used = set(self.inputs) | set(self.outputs)
        for op in self.ops:
            used.update(i for i in op.inputs + op.outputs if i >= 0)
        keep = sorted(used)
        new = {old: k for k, old in enumerate(keep)}
        self.tensors = [self.tensors[i] for i in keep]
        self.inputs = [new[i] for i in self.inputs]
        self.outputs = [new[i] for i in self.outputs]
        for op in self.ops:
            op.inputs = [new[i] if i >= 0 else i for i in op.inputs]
            op.outputs = [new[i] for i in op.outputs]

    def finish(self, prune: bool = True) -> bytes:
        """The model: this subgraph (0) and the `others` (1, 2, ...: CALL_ONCE initialisers,
        control-flow bodies). prune=False keeps unused tensors and the tensor numbering."""
        import flatbuffers

        graphs = [self, *self.others]
        for g in graphs if prune else ():
            g.prune()
        size = sum(t.data.nbytes for g in graphs for t in g.tensors if t.data is not None)
        b = flatbuffers.Builder(1024 + size)
        buffers, tensor_buffers, metadata_buffers = _buffers(b, graphs, self.metadata)
        codes: dict[tuple[int, str], int] = {}
        for op in (op for g in graphs for op in g.ops):
            key = _opcode_key(op)
            codes[key] = max(codes.get(key, 1), op.version)
        code_index = {c: i for i, c in enumerate(codes)}
        opcodes = [self._opcode(b, key, version) for key, version in codes.items()]
        subgraphs = [
            g._subgraph(
                b, tensor_buffers[k], code_index, g.name or ("main" if k == 0 else f"init_{k}")
            )
            for k, g in enumerate(graphs)
        ]
        signatures = [self._signature(b)] if self.signature else []
        metadata = [_metadata(b, key, buf) for key, buf in metadata_buffers.items()]
        Model = schema("Model")
        oc_vec = _offsets(b, Model.StartOperatorCodesVector, opcodes)
        sg_vec = _offsets(b, Model.StartSubgraphsVector, subgraphs)
        buf_vec = _offsets(b, Model.StartBuffersVector, buffers)
        sig_vec = _offsets(b, Model.StartSignatureDefsVector, signatures)
        md_vec = _offsets(b, Model.StartMetadataVector, metadata) if metadata else None
        description = b.CreateString(self.description)
        Model.Start(b)
        Model.AddVersion(b, 3)
        Model.AddOperatorCodes(b, oc_vec)
        Model.AddSubgraphs(b, sg_vec)
        Model.AddDescription(b, description)
        Model.AddBuffers(b, buf_vec)
        Model.AddSignatureDefs(b, sig_vec)
        if md_vec is not None:
            Model.AddMetadata(b, md_vec)
        b.Finish(Model.End(b), file_identifier=b"TFL3")
        return bytes(b.Output())

    def signature_name(self, index: int) -> str:
        """The name tensor `index` goes by in the serving signature (its own name)."""
        return self.tensors[index].name

    def _subgraph(
        self, b: Any, buffers: list[int], code_index: dict[tuple[int, str], int], name: str
    ) -> int:
        tensors = [self._tensor(b, t, buf) for t, buf in zip(self.tensors, buffers)]
        operators = [self._operator(b, op, code_index[_opcode_key(op)]) for op in self.ops]
        Sub = schema("SubGraph")
        t_vec = _offsets(b, Sub.StartTensorsVector, tensors)
        i_vec = _ints(b, Sub.StartInputsVector, self.inputs)
        o_vec = _ints(b, Sub.StartOutputsVector, self.outputs)
        op_vec = _offsets(b, Sub.StartOperatorsVector, operators)
        label = b.CreateString(name)
        Sub.Start(b)
        Sub.AddTensors(b, t_vec)
        Sub.AddInputs(b, i_vec)
        Sub.AddOutputs(b, o_vec)
        Sub.AddOperators(b, op_vec)
        Sub.AddName(b, label)
        return Sub.End(b)

    def _tensor(self, b: Any, t: TensorSpec, buffer: int) -> int:
        Tensor = schema("Tensor")
        name = b.CreateString(t.name)
        shape = _ints(b, Tensor.StartShapeVector, list(t.shape))
        signature = None
        if t.signature is not None and list(t.signature) != list(t.shape):
            signature = _ints(b, Tensor.StartShapeSignatureVector, list(t.signature))
        sparsity = t.sparsity(b) if t.sparsity is not None else None
        quant = self._quant(b, t.quant) if t.quant is not None else None
        Tensor.Start(b)
        Tensor.AddShape(b, shape)
        Tensor.AddType(b, TENSOR_TYPES[t.dtype])
        Tensor.AddBuffer(b, buffer)
        Tensor.AddName(b, name)
        if quant is not None:
            Tensor.AddQuantization(b, quant)
        if sparsity is not None:
            Tensor.AddSparsity(b, sparsity)
        if t.variable:
            Tensor.AddIsVariable(b, True)
        if signature is not None:
            Tensor.AddShapeSignature(b, signature)
        return Tensor.End(b)

    @staticmethod
    def _quant(b: Any, q: Quant) -> int:
        Q = schema("QuantizationParameters")
        scales = np.asarray(q.scales, np.float32).reshape(-1)
        zps = np.broadcast_to(np.asarray(q.zero_points, np.int64).reshape(-1), scales.shape)
        s_vec = _vector(b, Q.StartScaleVector, [float(s) for s in scales], b.PrependFloat32)
        z_vec = _vector(b, Q.StartZeroPointVector, [int(z) for z in zps], b.PrependInt64)
        Q.Start(b)
        Q.AddScale(b, s_vec)
        Q.AddZeroPoint(b, z_vec)
        Q.AddQuantizedDimension(b, int(q.axis))
        return Q.End(b)

    @staticmethod
    def _opcode(b: Any, key: tuple[int, str], version: int) -> int:
        OperatorCode = schema("OperatorCode")
        number, custom_code = key
        custom = b.CreateString(custom_code) if custom_code else None
        OperatorCode.Start(b)
        OperatorCode.AddDeprecatedBuiltinCode(b, min(number, 127))
        OperatorCode.AddBuiltinCode(b, number)
        OperatorCode.AddVersion(b, version)
        if custom is not None:
            OperatorCode.AddCustomCode(b, custom)
        return OperatorCode.End(b)

    @staticmethod
    def _operator(b: Any, op: OpSpec, opcode_index: int) -> int:
        Operator = schema("Operator")
        options = _options(b, *op.options) if op.options is not None else None
        custom = b.CreateByteVector(op.custom_options) if op.custom_options else None
        ins = _ints(b, Operator.StartInputsVector, op.inputs)
        outs = _ints(b, Operator.StartOutputsVector, op.outputs)
        Operator.Start(b)
        Operator.AddOpcodeIndex(b, opcode_index)
        Operator.AddInputs(b, ins)
        Operator.AddOutputs(b, outs)
        if custom is not None:
            Operator.AddCustomOptions(b, custom)
        if options is not None:
            Operator.AddBuiltinOptionsType(b, options[0])
            Operator.AddBuiltinOptions(b, options[1])
        return Operator.End(b)

    def _signature(self, b: Any) -> int:
        """A "serving_default" SignatureDef naming the inputs and outputs by tensor name."""
        SignatureDef, TensorMap = schema("SignatureDef"), schema("TensorMap")
        maps = []
        for indices in (self.inputs, self.outputs):
            items = []
            for i in indices:
                name = b.CreateString(self.signature_name(i))
                TensorMap.Start(b)
                TensorMap.AddName(b, name)
                TensorMap.AddTensorIndex(b, i)
                items.append(TensorMap.End(b))
            maps.append(items)
        ins = _offsets(b, SignatureDef.StartInputsVector, maps[0])
        outs = _offsets(b, SignatureDef.StartOutputsVector, maps[1])
        key = b.CreateString("serving_default")
        SignatureDef.Start(b)
        SignatureDef.AddInputs(b, ins)
        SignatureDef.AddOutputs(b, outs)
        SignatureDef.AddSignatureKey(b, key)
        SignatureDef.AddSubgraphIndex(b, 0)
        return SignatureDef.End(b)


def _buffers(
    b: Any, graphs: list[TFLiteWriter], metadata: dict[str, bytes]
) -> tuple[list[int], list[list[int]], dict[str, int]]:
    """Buffer 0 is the empty sentinel; each constant tensor of every subgraph gets its own,
    then each metadata entry."""
    Buffer = schema("Buffer")
    datas: list[bytes | None] = [None]
    tensor_buffers = []
    for g in graphs:
        indices = []
        for t in g.tensors:
            if t.data is None:
                indices.append(0)
            else:
                indices.append(len(datas))
                datas.append(np.ascontiguousarray(t.data).tobytes())
        tensor_buffers.append(indices)
    metadata_buffers = {}
    for key, raw in metadata.items():
        metadata_buffers[key] = len(datas)
        datas.append(raw)
    offsets = []
    for data in datas:
        vec = _aligned_bytes(b, data) if data else None
        Buffer.Start(b)
        if vec is not None:
            Buffer.AddData(b, vec)
        offsets.append(Buffer.End(b))
    return offsets, tensor_buffers, metadata_buffers


def _metadata(b: Any, name: str, buffer: int) -> int:
    Metadata = schema("Metadata")
    label = b.CreateString(name)
    Metadata.Start(b)
    Metadata.AddName(b, label)
    Metadata.AddBuffer(b, buffer)
    return Metadata.End(b)


def _opcode_key(op: OpSpec) -> tuple[int, str]:
    """(BuiltinOperator number, custom code): what tells one operator code from another."""
    if isinstance(op.code, int):
        return op.code, op.custom_code
    return getattr(schema("BuiltinOperator").BuiltinOperator, op.code), op.custom_code


def _vector(b: Any, start: Any, items: list, prepend: Any) -> int:
    start(b, len(items))
    for x in reversed(items):
        prepend(x)
    return b.EndVector()


def _ints(b: Any, start: Any, items: list[int]) -> int:
    return _vector(b, start, [int(i) for i in items], b.PrependInt32)


def _offsets(b: Any, start: Any, items: list[int]) -> int:
    return _vector(b, start, items, b.PrependUOffsetTRelative)


def _aligned_bytes(b: Any, data: bytes) -> int:
    """A [ubyte] vector whose first byte lies on an ALIGN-byte boundary of the file."""
    b.StartVector(1, len(data), ALIGN)
    b.head = b.head - len(data)
    b.Bytes[b.head : b.head + len(data)] = data
    return b.EndVector()


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _options(b: Any, kind: str, fields: dict) -> tuple[int, int]:
    """Writes a builtin options table of scalars, strings and int32 (or float32) lists;
    (BuiltinOptions type, offset)."""
    module = schema(kind)
    offsets = {}
    for key, value in fields.items():
        if isinstance(value, (list, tuple)):
            start = getattr(module, f"Start{_camel(key)}Vector")
            if any(isinstance(v, float) for v in value):  # BucketizeOptions.boundaries
                offsets[key] = _vector(b, start, list(value), b.PrependFloat32)
            else:
                offsets[key] = _ints(b, start, list(value))
        elif isinstance(value, str):
            offsets[key] = b.CreateString(value)
    module.Start(b)
    for key, value in fields.items():
        getattr(module, f"Add{_camel(key)}")(b, offsets.get(key, value))
    enum = schema("BuiltinOptions").BuiltinOptions
    return getattr(enum, kind), module.End(b)
