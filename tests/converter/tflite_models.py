"""Small .tflite flatbuffers for tests, written by the exporter's `TFLiteWriter`.

`build_model` takes tensors (name, TensorType code, shape, optional constant data), operators
(builtin code or custom code, input/output tensor indices, optional options) and writes one
subgraph with a serving_default signature, as the TFLite converter would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from gossamer.converter.tflite_export.flatbuffer import (
    TENSOR_TYPES,
    OpSpec,
    Quant,
    TensorSpec,
    TFLiteWriter,
)

FLOAT32, INT32, INT8 = 0, 2, 9
CUSTOM = 32
DTYPES = {code: name for name, code in TENSOR_TYPES.items()}  # TensorType code -> name


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
    sparsity: Callable[..., int] | None = None
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


class ServingWriter(TFLiteWriter):
    """The exporter's writer naming signature inputs and outputs as the TFLite converter's
    tensors do ("serving_default_x:0" -> "serving_default_x")."""

    def signature_name(self, index: int) -> str:
        return self.tensors[index].name.split(":")[0]


def tensor_spec(t: T) -> TensorSpec:
    quant = None
    if t.scales:
        quant = Quant(np.array(t.scales), np.array(t.zero_points), t.quantized_dimension)
    dtype = DTYPES[t.type]
    return TensorSpec(t.name, dtype, tuple(t.shape), None, t.data, quant, t.variable, t.sparsity)


def op_spec(op: Op) -> OpSpec:
    if isinstance(op.code, str):  # a custom op
        return OpSpec(CUSTOM, op.inputs, op.outputs, op.options, op.version, op.code,
                      op.custom_options)  # fmt: skip
    return OpSpec(op.code, op.inputs, op.outputs, op.options, op.version, "", op.custom_options)


def build_model(spec: Spec) -> bytes:
    writer = ServingWriter(
        [tensor_spec(t) for t in spec.tensors],
        [op_spec(op) for op in spec.ops],
        list(spec.inputs),
        list(spec.outputs),
        description="gossamer test model",
        signature=spec.signature,
        metadata=dict(spec.metadata),
    )
    return writer.finish(prune=False)


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
