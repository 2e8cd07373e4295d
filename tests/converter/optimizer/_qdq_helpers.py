"""Building QDQ graphs for the qdq_to_qoperator tests: by hand with onnx.helper, or by quantising
a float model with onnxruntime's quantize_static; comparing results in quantisation steps."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
from gossamer.converter.onnx_import import graph_from_onnx
from gossamer.converter.optimizer.rewrite import copy_graph
from gossamer.refimpl.dtypes import name_of
from gossamer.refimpl.ir import Graph, Value
from onnx import helper, numpy_helper

import gossamer
from tests.conftest import make_model, tensor_info

F32 = np.float32


class QDQBuilder:
    """An onnx.helper graph in QDQ form: float inputs are quantised (Q -> DQ) before use."""

    def __init__(self, act_dtype: type = np.uint8, seed: int = 0) -> None:
        self.act = np.dtype(act_dtype)
        self.rng = np.random.default_rng(seed)
        self.nodes: list = []
        self.inits: dict[str, np.ndarray] = {}
        self.inputs: list = []
        self._n = 0

    def name(self, base: str) -> str:
        self._n += 1
        return f"{base}{self._n}"

    def const(self, base: str, value: np.ndarray) -> str:
        n = self.name(base)
        self.inits[n] = np.asarray(value)
        return n

    def node(
        self, op: str, inputs: list[str], n_out: int = 1, name: str = "", **attrs
    ) -> list[str]:
        outs = [self.name(op.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name or outs[0], **attrs))
        return outs

    def input(self, shape: list[int], scale: float = 0.02, zp: int | None = None) -> str:
        """A float graph input x, quantised with (scale, zp): returns DQ(Q(x))."""
        x = self.name("x")
        self.inputs.append((x, shape))
        return self.qdq(x, scale, zp)

    def qdq(self, y: str, scale: float, zp: int | None = None, *, dq_zp: bool = True) -> str:
        """Q(y) -> DQ with the given parameters (zp defaults to the middle of the type)."""
        if zp is None:
            zp = 128 if self.act == np.uint8 else 0
        s = self.const("s", np.array(scale, F32))
        z = self.const("zp", np.array(zp, self.act))
        (q,) = self.node("QuantizeLinear", [y, s, z])
        (dq,) = self.node("DequantizeLinear", [q, s, z] if dq_zp else [q, s])
        return dq

    def weight(self, w: np.ndarray, axis: int | None = None) -> tuple[str, np.ndarray]:
        """DQ(int8 w), symmetric per tensor or per `axis`; returns (name, the scale). Beside uint8
        activations the weights take 7 bits (onnxruntime's reduce_range): its U8S8 kernels on x86
        without VNNI saturate int16 sums of two u8 * s8 products, full-range weights overflow."""
        top = 63 if self.act == np.uint8 else 127
        if axis is None:
            scale = np.array(np.abs(w).max() / top, F32)
        else:
            reduce = tuple(i for i in range(w.ndim) if i != axis)
            scale = (np.abs(w).max(axis=reduce) / top).astype(F32)
        shaped = (
            scale
            if axis is None
            else scale.reshape([-1 if i == axis else 1 for i in range(w.ndim)])
        )
        q = np.clip(np.rint(w / shaped), -top, top).astype(np.int8)
        inputs = [
            self.const("w", q),
            self.const("ws", scale),
            self.const("wz", np.zeros_like(scale, np.int8)),
        ]
        attrs = {} if axis is None else {"axis": axis}
        (dq,) = self.node("DequantizeLinear", inputs, **attrs)
        return dq, scale

    def bias(self, b: np.ndarray, scale: np.ndarray) -> str:
        """DQ(int32 b / scale) with zero point 0, per channel when scale is 1-D."""
        q = np.rint(b.astype(np.float64) / scale.astype(np.float64)).astype(np.int32)
        scale = np.broadcast_to(scale, b.shape).astype(F32)
        inputs = [
            self.const("b", q),
            self.const("bs", scale),
            self.const("bz", np.zeros(b.shape, np.int32)),
        ]
        return self.node("DequantizeLinear", inputs, axis=0)[0]

    def graph(self, outputs: list[str], opset: int = 17) -> Graph:
        extra = [helper.make_opsetid("com.microsoft", 1)]
        model = make_model(
            self.nodes,
            [tensor_info(n, F32, s) for n, s in self.inputs],
            [tensor_info(o, F32, None) for o in outputs],
            [numpy_helper.from_array(v, k) for k, v in self.inits.items()],
            opset=opset,
            extra_opsets=extra,
        )
        return graph_from_onnx(model)


def feeds_for(graph: Graph, seed: int = 0, shapes: dict | None = None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds = {}
    for v in graph.inputs:
        shape = (shapes or {}).get(v.name) or [d if isinstance(d, int) else 1 for d in v.shape]
        feeds[v.name] = rng.standard_normal(shape).astype(F32)
    return feeds


def run(graph: Graph, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    return gossamer.load(graph, optimize=0).run(None, feeds)


def output_steps(graph: Graph) -> list[float]:
    """The quantisation step of each graph output that is DequantizeLinear'd (else 0: exact)."""
    producer = {o: n for n in graph.nodes for o in n.outputs}
    steps = []
    for v in graph.outputs:
        node = producer.get(v.name)
        if node is not None and node.op_type == "DequantizeLinear":
            steps.append(float(np.max(graph.initializers[node.inputs[1]])))
        else:
            steps.append(0.0)
    return steps


def steps_apart(a: list[np.ndarray], b: list[np.ndarray], steps: list[float]) -> Iterator[tuple]:
    """Per output: (largest difference in steps, share of elements that differ)."""
    for x, y, step in zip(a, b, steps):
        diff = np.abs(x.astype(np.float64) - y.astype(np.float64))
        yield float(diff.max() / step) if step else float(diff.max()), float(np.mean(diff > 0))


def per_op_steps(values_graph: Graph, fused: Graph, feeds: dict, runner=None) -> dict[str, tuple]:
    """How far each rewritten op of `fused` lands from `values_graph` when both see the same
    integers: every integer tensor the two graphs share is computed by values_graph (on the
    reference), then each group of fused nodes producing one of them (an integer op and the Clip
    after it) runs alone, through `runner` (default: the reference), on values_graph's values of
    its inputs. Returns {"op types": (largest difference in steps, share of elements differing)}."""
    producer = {o: n for n in fused.nodes for o in n.outputs if o}
    shared = [
        n.outputs[0]
        for n in values_graph.nodes
        if n.op_type == "QuantizeLinear"
        and n.outputs[0] in producer
        and producer[n.outputs[0]].op_type not in ("QuantizeLinear", "DequantizeLinear")
    ]
    probe = copy_graph(values_graph)
    probe.outputs += [Value(n) for n in shared]
    values = dict(zip([v.name for v in probe.outputs], run(probe, feeds))) | feeds
    stats: dict[str, list] = {}
    for name in shared:
        group, stack, leaves = [], [producer[name]], []
        while stack:
            node = stack.pop()
            group.insert(0, node)
            for i in node.inputs:
                if i in values or i in fused.initializers or not i:
                    leaves += [i] if i in values and i not in leaves else []
                else:
                    stack.append(producer[i])
        consts = {
            i: fused.initializers[i] for n in group for i in n.inputs if i in fused.initializers
        }
        typed = [Value(i, name_of(values[i].dtype), values[i].shape) for i in leaves]
        out = Value(name, name_of(values[name].dtype), values[name].shape)
        single = Graph(group, typed, [out], consts, "probe", fused.opsets)
        (got,) = (runner or run)(single, {i: values[i] for i in leaves})
        diff = np.abs(got.astype(np.int64) - values[name].astype(np.int64))
        key = " + ".join(n.op_type for n in group)
        entry = stats.setdefault(key, [0, 0, 0])
        entry[0], entry[1], entry[2] = (
            max(entry[0], int(diff.max())),
            entry[1] + int((diff > 0).sum()),
            entry[2] + diff.size,
        )
    return {k: (worst, differing / total) for k, (worst, differing, total) in stats.items()}


def fused_round_trips(graph: Graph) -> int:
    """DQ -> Conv/MatMul/Gemm -> Q float round trips left in a graph."""
    producer = {o: n for n in graph.nodes for o in n.outputs}
    readers: dict[str, list] = {}
    for n in graph.nodes:
        for i in n.inputs:
            readers.setdefault(i, []).append(n)
    count = 0
    for n in graph.nodes:
        if n.op_type in ("Conv", "MatMul", "Gemm"):
            fed = any(
                getattr(producer.get(i), "op_type", "") == "DequantizeLinear" for i in n.inputs
            )
            quantised = any(r.op_type == "QuantizeLinear" for r in readers.get(n.outputs[0], []))
            count += fed and quantised
    return count


def quantize_with_onnxruntime(model, path, feeds: list[dict], **options) -> str:
    """quantize_static in QDQ format (after onnxruntime's pre-processing), written to `path`."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(feeds)

        def get_next(self):
            return next(self.it, None)

    pre = str(path) + ".pre.onnx"
    source = str(path) + ".float.onnx"
    onnx.save(model, source) if not isinstance(model, str) else None
    logging.disable(logging.WARNING)  # the quantizer's advice on pre-processing, per run
    try:
        quant_pre_process(
            model if isinstance(model, str) else source, pre, skip_symbolic_shape=True
        )
        quantize_static(pre, str(path), Reader(), quant_format=QuantFormat.QDQ, **options)
    finally:
        logging.disable(logging.NOTSET)
    return str(path)
