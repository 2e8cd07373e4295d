"""What an op lowering sees while a Graph becomes one TFLite subgraph: the values' types, shapes,
constants and quantisation, and their TFLite tensors in one or more physical layouts.

Layouts: a value may live in TFLite with its axes permuted, `physical = transpose(value, perm)`.
ONNX's NCHW activations live as NHWC (perm [0, 2, 3, 1]) between the ops that want NHWC, so a
chain of convolutions needs no TRANSPOSE between its ops; a Transpose node only changes the perm
it records (no operator), and `tensor(name, perm)` writes a TRANSPOSE only when an op needs a
layout that the value does not have yet (once per value and layout).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...refimpl.ir import Graph, Node, QuantParams, Value
from .flatbuffer import OpSpec, Quant, TensorSpec, TFLiteWriter

Perm = tuple[int, ...]


class Refused(Exception):
    """A node TFLite cannot express (as this exporter writes it); the message says why."""


def identity(rank: int) -> Perm:
    return tuple(range(rank))


def compose(outer: Perm, inner: Perm) -> Perm:
    """The perm of transpose(transpose(v, outer), inner)."""
    return tuple(outer[i] for i in inner)


def inverse(perm: Perm) -> Perm:
    out = [0] * len(perm)
    for i, p in enumerate(perm):
        out[p] = i
    return tuple(out)


NHWC: Perm = (0, 2, 3, 1)


class ExportContext:
    def __init__(self, graph: Graph, values: dict[str, Value], quant: dict[str, QuantParams]):
        self.graph = graph
        self.values = values
        self.quant = quant
        self.consts: dict[str, np.ndarray] = dict(graph.initializers)
        self.writer = TFLiteWriter()
        self.layouts: dict[str, dict[Perm, int]] = {}
        self.node: Node | None = None
        self.done: set[int] = set()  # id() of nodes another node's operator computes (fusion)
        self.graph_outputs = {v.name for v in graph.outputs}
        self.producers = {o: n for n in graph.nodes for o in n.outputs if o}
        self.consumers: dict[str, list[Node]] = {}
        for n in graph.nodes:
            for i in n.inputs:
                if i:
                    self.consumers.setdefault(i, []).append(n)

    # ---- what a value is -----------------------------------------------------------------------
    def dtype(self, name: str) -> str:
        if name in self.consts:
            return str(np.asarray(self.consts[name]).dtype)
        v = self.values.get(name)
        if v is None or v.dtype is None:
            raise Refused(f"the dtype of {name!r} is unknown")
        return v.dtype

    def shape(self, name: str) -> tuple[Any, ...]:
        """The logical shape; dims may be None or symbolic names (unknown until run time)."""
        if name in self.consts:
            return tuple(np.asarray(self.consts[name]).shape)
        v = self.values.get(name)
        if v is None or v.shape is None:
            raise Refused(f"the rank of {name!r} is unknown")
        return tuple(v.shape)

    def static_shape(self, name: str) -> tuple[int, ...]:
        shape = self.shape(name)
        if not all(isinstance(d, int) for d in shape):
            raise Refused(
                f"{name!r} has a dynamic shape {list(shape)} where a static one is needed"
            )
        return tuple(int(d) for d in shape)

    def rank(self, name: str) -> int:
        return len(self.shape(name))

    def is_const(self, name: str) -> bool:
        return name in self.consts

    def const(self, name: str, what: str = "") -> np.ndarray:
        if name not in self.consts:
            raise Refused(f"its {what or 'input'} {name!r} is not a constant")
        return np.asarray(self.consts[name])

    def quant_of(self, name: str) -> QuantParams | None:
        return self.quant.get(name)

    def layout(self, name: str) -> Perm:
        """The layout a computed value already has (its first); identity for constants."""
        if name in self.layouts:
            return next(iter(self.layouts[name]))
        return identity(self.rank(name))

    # ---- tensors ---------------------------------------------------------------------------------
    def tensor(self, name: str, perm: Perm | None = None) -> int:
        """The TFLite tensor holding `name` laid out as `perm` (default: as the graph has it)."""
        perm = identity(self.rank(name)) if perm is None else tuple(perm)
        have = self.layouts.get(name)
        if have is not None and perm in have:
            return have[perm]
        if name in self.consts:
            data = np.transpose(self.const(name), perm) if perm else self.const(name)
            index = self.add_const(data, name, self.tflite_quant(name, perm))
        else:
            if not have:
                raise Refused(f"{name!r} was not computed (an earlier node was refused)")
            src_perm, src = next(iter(have.items()))
            index = self.new_tensor(name, perm, suffix="_transposed")
            order = compose(inverse(src_perm), perm)
            shape = self.writer.tensors[src].shape
            if [a for a in order if shape[a] != 1] == sorted(a for a in order if shape[a] != 1):
                # only size-1 axes move: the data's order is unchanged, a RESHAPE is enough
                new_shape = list(self.writer.tensors[index].signature or ())
                opts = ("ReshapeOptions", {"new_shape": new_shape})
                self.emit("RESHAPE", [src, self.int32s(new_shape, "new_shape")], [index], opts)
            else:
                v = 2 if self.dtype(name) in ("int8", "uint8") else 1
                self.emit("TRANSPOSE", [src, self.int32s(order, "perm")], [index], None, v)
        self.layouts.setdefault(name, {})[perm] = index
        return index

    def define(self, name: str, perm: Perm | None = None) -> int:
        """A new tensor an operator writes value `name` into, laid out as `perm`."""
        perm = identity(self.rank(name)) if perm is None else tuple(perm)
        index = self.new_tensor(name, perm)
        self.layouts.setdefault(name, {})[perm] = index
        return index

    def alias(self, name: str, source: str, perm: Perm) -> None:
        """`name` is `source`'s data, read with axes `perm` of source's logical axes (Identity:
        the identity; Transpose: its perm): no operator."""
        for src_perm, index in self.layouts.get(source, {}).items():
            self.layouts.setdefault(name, {})[compose(inverse(perm), src_perm)] = index
            return
        raise Refused(f"{source!r} was not computed (an earlier node was refused)")

    def new_tensor(self, name: str, perm: Perm, suffix: str = "") -> int:
        shape = self.shape(name)
        phys = [shape[p] for p in perm]
        static = [d if isinstance(d, int) else 1 for d in phys]
        signature = [d if isinstance(d, int) else -1 for d in phys]
        spec = TensorSpec(name + suffix, self.dtype(name), tuple(static), tuple(signature))
        spec.quant = self.tflite_quant(name, perm)
        return self.writer.add_tensor(spec)

    def temp(
        self, base: str, dtype: str, shape: tuple[int, ...], quant: Quant | None = None
    ) -> int:
        """An intermediate tensor of no graph value (between two operators of one node)."""
        label = self.node.name if self.node is not None else "export"
        name = f"{label}/{base}"
        return self.writer.add_tensor(TensorSpec(name, dtype, tuple(shape), None, None, quant))

    def add_const(self, data: np.ndarray, name: str, quant: Quant | None = None) -> int:
        data = np.ascontiguousarray(data)
        spec = TensorSpec(name, str(data.dtype), tuple(int(d) for d in data.shape), None, data)
        spec.quant = quant
        return self.writer.add_tensor(spec)

    def int32s(self, values: Any, name: str = "") -> int:
        label = self.node.name if self.node is not None else "export"
        data = np.asarray(values, np.int64)
        if data.size and (data.max() > 2**31 - 1 or data.min() < -(2**31)):
            data = np.clip(data, -(2**31), 2**31 - 1)
        return self.add_const(data.astype(np.int32), f"{label}/{name or 'shape'}")

    def tflite_quant(self, name: str, perm: Perm) -> Quant | None:
        """Value `name`'s TFLite QuantizationParameters laid out as `perm` (a per-channel axis
        follows the perm); None for a value without integer quantisation."""
        q = self.quant.get(name)
        if q is None or (self.dtype(name) not in ("int8", "uint8", "int16", "int32")):
            return None
        scales = np.asarray(q.scale, np.float32).reshape(-1)
        axis = 0
        if scales.size > 1:
            if q.axis is None or q.block_size:
                return None
            axis = list(perm).index(q.axis % len(perm)) if perm else 0
        return Quant(scales, np.asarray(q.zero_point, np.int64).reshape(-1), axis)

    # ---- operators -------------------------------------------------------------------------------
    def emit(self, code: str, inputs: list[int], outputs: list[int],
             options: tuple[str, dict] | None = None, version: int = 1) -> None:  # fmt: skip
        self.writer.add_op(OpSpec(code, list(inputs), list(outputs), options, version))
