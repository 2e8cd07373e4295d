"""Weight-only quantisation to N bits (1..16), for size: activations stay float.

Each large float32 weight (Conv, ConvTranspose, Gemm and MatMul weights, Gather embedding tables,
LSTM/GRU/RNN W and R; min_elements or more) becomes integer codes (int8 container for N <= 8,
int16 above; signed when symmetric, unsigned otherwise), a float32 scale (and a zero point when
asymmetric) and a DequantizeLinear node whose output keeps the weight's name, so every consumer
reads the dequantized weight. `graph.quant[codes]` records N, so a .gsm file stores N bits per
code (see refimpl/model_format/packing.py); an ONNX file stores 4-bit codes as int4/uint4 and
others in their 8/16-bit container (so 2/3-bit codes take 4 bits there, 5-7 take 8, 9-15 take 16).
Scales: per output channel (`per_channel`), per tensor, or per block of `group_size` along the
reduction axis (one scale per block and per output channel; ONNX blocked DequantizeLinear).
Codes and scales: see weight_codes.py (1 bit is sign * mean|w|; symmetric 2 bits is ternary).

DequantizeLinear needs opset 13 per channel, 21 for blocks and 16-bit codes. A model with an
older opset is raised to it when every op it uses means the same at the new opset (the
reference resolves each node to a function with the same inputs and attribute defaults);
otherwise weights are dequantized by Cast -> (Sub) -> Mul, blocks by Cast -> Reshape (splitting
the block axis) -> (Sub) -> Mul -> Reshape, where a block axis the group size does not divide
falls back to per channel.
The input graph is not modified; initializers listed among the graph inputs too (old ONNX files)
stop being inputs, since a quantised weight cannot be fed.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import asdict, dataclass, field

import numpy as np

from ...refimpl.errors import InputError
from ...refimpl.ir import Graph, Node, QuantParams
from ...refimpl.model_format.packing import packed_nbytes
from .opset_compat import changed_ops
from .weight_codes import Codes, quantize_weight

DEFAULT_MIN_ELEMENTS = 1024
# op -> {input index: (output-channel axis, reduction axis for blocks)}; Gemm is special-cased
_SLOTS: dict[str, dict[int, tuple[int, int]]] = {
    "Conv": {1: (0, 1)},
    "ConvTranspose": {1: (1, 0)},
    "MatMul": {1: (-1, -2)},
    "Gather": {0: (0, 1)},
    "LSTM": {1: (1, 2), 2: (1, 2)},
    "GRU": {1: (1, 2), 2: (1, 2)},
    "RNN": {1: (1, 2), 2: (1, 2)},
}
_FUSED = {"FusedConv": "Conv", "FusedGemm": "Gemm", "FusedMatMul": "MatMul"}


@dataclass
class WeightStats:
    """One quantised weight: where it is used, its layout and what quantising cost."""

    name: str
    op: str
    shape: tuple[int, ...]
    axis: int | None
    block_size: int
    original_bytes: int
    stored_bytes: int  # packed codes + scales + zero points, as a .gsm file stores them
    rel_error: float  # ||w_q - w|| / ||w||
    sqnr_db: float  # 10 log10(||w||^2 / ||w_q - w||^2); inf when exact


@dataclass
class WeightReport:
    """What quantize_weights did: per weight and in total; `skipped` are (name, reason)."""

    bits: int
    per_channel: bool
    group_size: int
    symmetric: bool
    opset: int
    weights: list[WeightStats] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    _signal: float = 0.0
    _noise: float = 0.0

    @property
    def original_bytes(self) -> int:
        return sum(w.original_bytes for w in self.weights)

    @property
    def stored_bytes(self) -> int:
        return sum(w.stored_bytes for w in self.weights)

    @property
    def rel_error(self) -> float:
        """Over all quantised weights together."""
        return math.sqrt(self._noise / self._signal) if self._signal else 0.0

    @property
    def sqnr_db(self) -> float:
        return _sqnr(self._signal, self._noise)

    def to_json(self) -> dict:
        return {
            "bits": self.bits, "per_channel": self.per_channel, "group_size": self.group_size,
            "symmetric": self.symmetric, "opset": self.opset,
            "original_bytes": self.original_bytes, "stored_bytes": self.stored_bytes,
            "rel_error": self.rel_error, "sqnr_db": _finite(self.sqnr_db),
            "weights": [
                {**asdict(w), "shape": list(w.shape), "sqnr_db": _finite(w.sqnr_db)}
                for w in self.weights
            ],
            "skipped": [{"name": n, "reason": r} for n, r in self.skipped],
        }  # fmt: skip

    def format(self) -> str:
        """A plain-text table, one line per weight and a total."""
        lines = [f"{'weight':40} {'op':14} {'shape':>20} {'bytes':>11} {'stored':>10} SQNR dB"]
        for w in self.weights:
            lines.append(
                f"{w.name[:40]:40} {w.op[:14]:14} {str(list(w.shape)):>20} "
                f"{w.original_bytes:>11,} {w.stored_bytes:>10,} {w.sqnr_db:7.1f}"
            )
        ratio = self.original_bytes / self.stored_bytes if self.stored_bytes else 0.0
        lines.append(
            f"{len(self.weights)} weights at {self.bits} bits: {self.original_bytes:,} -> "
            f"{self.stored_bytes:,} bytes ({ratio:.1f}x), SQNR {self.sqnr_db:.1f} dB, "
            f"{len(self.skipped)} skipped"
        )
        return "\n".join(lines)


def quantize_weights(
    graph: Graph, *, bits: int, per_channel: bool = True, group_size: int = 0,
    symmetric: bool = True, min_elements: int = DEFAULT_MIN_ELEMENTS,
) -> tuple[Graph, WeightReport]:  # fmt: skip
    """The weight-only quantised copy of `graph` (top-level weights) and its report.

    `group_size` > 0 uses blocks along each weight's reduction axis (per_channel is then
    implied); a reduction axis no longer than the group falls back to per channel.
    """
    _check_options(bits, group_size, min_elements)
    result = copy_top_level(graph)
    plans = _plan(result, per_channel, group_size, min_elements)
    key = "ai.onnx" if "ai.onnx" in result.opsets and "" not in result.opsets else ""
    opset = int(result.opsets.get(key, 1))
    report = WeightReport(bits, per_channel, group_size, symmetric, opset)
    report.skipped = plans.skipped
    needed = max((_needed_opset(p, bits) for p in plans.chosen), default=opset)
    changed = changed_ops(result, opset, needed) if needed > opset else []
    use_dq = not changed
    if use_dq and needed > opset:
        result.opsets[key] = needed
        report.opset = needed
    if not use_dq:  # Cast/Mul blocks split the axis with a Reshape: it must divide evenly
        for plan in plans.chosen:
            w_shape = np.shape(result.initializers[plan.name])
            if plan.block_size and w_shape[plan.block_axis] % plan.block_size:  # type: ignore[index]
                plan.block_size, plan.block_axis = 0, None
    taken = set(result.produced_names()) | set(result.value_info)
    new_nodes: list[Node] = []
    for plan in plans.chosen:
        w = np.asarray(result.initializers.pop(plan.name))
        codes = quantize_weight(
            w, bits, axis=plan.axis, block_axis=plan.block_axis, block_size=plan.block_size,
            symmetric=symmetric,
        )  # fmt: skip
        new_nodes += _dequantize_nodes(result, plan.name, codes, bits, symmetric, use_dq, taken)
        report.weights.append(_stats(plan, w, codes, bits, symmetric))
        signal, noise = _energies(w, codes.dequantized)
        report._signal += signal
        report._noise += noise
    result.nodes[:0] = new_nodes
    return result, report


@dataclass
class _Plan:
    name: str
    op: str
    axis: int | None
    block_axis: int | None
    block_size: int


@dataclass
class _Plans:
    chosen: list[_Plan] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _check_options(bits: int, group_size: int, min_elements: int) -> None:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= 16:
        raise InputError(f"bits must be an integer from 1 to 16, got {bits!r}")
    if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 0:
        raise InputError(f"group_size must be an integer >= 0 (0: no blocks), got {group_size!r}")
    if group_size and group_size < 2:
        raise InputError("group_size must be at least 2 (one scale per weight is no saving)")
    if isinstance(min_elements, bool) or not isinstance(min_elements, int) or min_elements < 1:
        raise InputError(f"min_elements must be a positive integer, got {min_elements!r}")


def copy_top_level(graph: Graph) -> Graph:
    """A copy whose top-level containers may be changed without touching `graph` (arrays,
    nodes and bodies are shared). Weights become initializers: top-level Constant nodes holding
    a tensor (as some exporters write every weight) turn into initializers, and initializers
    that old ONNX files also list as graph inputs (inputs with a default a feed could replace)
    stop being inputs: a quantised model's weights are not meant to be fed."""
    hoisted = {
        n.outputs[0]: n.attrs["value"]
        for n in graph.nodes
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx") and len(n.attrs) == 1
        and isinstance(n.attrs.get("value"), np.ndarray) and n.attrs["value"].dtype != object
    }  # fmt: skip
    return dataclasses.replace(
        graph, nodes=[n for n in graph.nodes if not (n.outputs and n.outputs[0] in hoisted)],
        initializers={**graph.initializers, **hoisted}, outputs=list(graph.outputs),
        inputs=[v for v in graph.inputs if v.name not in graph.initializers],
        opsets=dict(graph.opsets),
        value_info=dict(graph.value_info), metadata=dict(graph.metadata),
        model_info=dict(graph.model_info), quant=dict(graph.quant),
    )  # fmt: skip


def _plan(graph: Graph, per_channel: bool, group_size: int, min_elements: int) -> _Plans:
    plans = _Plans()
    fed = {v.name for v in graph.inputs}
    seen: set[str] = set()
    for node in graph.nodes:
        op = _FUSED.get(node.op_type, node.op_type) if node.domain == "gossamer" else node.op_type
        if node.domain not in ("", "ai.onnx", "gossamer"):
            continue
        for index, name in enumerate(node.inputs):
            slot = _slot(node, op, index)
            if slot is None or not name or name in seen or name not in graph.initializers:
                continue
            seen.add(name)
            w = np.asarray(graph.initializers[name])
            reason = _skip_reason(w, name, fed, graph, min_elements)
            if reason:
                plans.skipped.append((name, reason))
                continue
            if w.ndim < 2:  # a vector weight: one scale
                plans.chosen.append(_Plan(name, op, None, None, 0))
                continue
            axis, red = slot[0] % w.ndim, slot[1] % w.ndim
            block = group_size if group_size and w.shape[red] > group_size else 0
            channel = axis if per_channel or group_size else None
            plans.chosen.append(_Plan(name, op, channel, red if block else None, block))
    return plans


def _slot(node: Node, op: str, index: int) -> tuple[int, int] | None:
    if op == "Gemm":
        if index != 1:
            return None
        return (0, 1) if node.attrs.get("transB", 0) else (1, 0)
    if op == "Gather" and node.attrs.get("axis", 0) != 0:
        return None
    return _SLOTS.get(op, {}).get(index)


def _skip_reason(w: np.ndarray, name: str, fed: set[str], graph: Graph, min_elements: int) -> str:
    if w.dtype != np.float32:
        return f"is {w.dtype}, not float32"
    if name in fed:
        return "is a graph input with a default: a feed may replace it"
    if name in graph.quant:
        return "is already quantised"
    if w.size < min_elements:
        return f"has {w.size} elements, fewer than min_elements {min_elements}"
    if not np.all(np.isfinite(w)):
        return "holds NaN or infinite values"
    return ""


def _needed_opset(plan: _Plan, bits: int) -> int:
    if plan.block_size or bits > 8:
        return 21
    return 13 if plan.axis is not None else 10


def _fresh(taken: set[str], base: str) -> str:
    name, i = base, 1
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


def _dequantize_nodes(
    graph: Graph, name: str, codes: Codes, bits: int, symmetric: bool, use_dq: bool,
    taken: set[str],
) -> list[Node]:  # fmt: skip
    """Adds the codes, scale (and zero point) initializers; the nodes that rebuild `name`."""
    q, s = _fresh(taken, f"{name}_quantized"), _fresh(taken, f"{name}_scale")
    graph.initializers[q] = codes.codes
    graph.initializers[s] = codes.scale
    graph.quant[q] = QuantParams(
        codes.scale, codes.zero_point, axis=codes.axis, block_size=codes.block_size, bits=bits
    )
    if use_dq:
        inputs = [q, s]
        if not symmetric:
            inputs.append(_fresh(taken, f"{name}_zero_point"))
            graph.initializers[inputs[2]] = codes.zero_point
        attrs: dict = {} if codes.axis is None else {"axis": codes.axis}
        if codes.block_size:
            attrs["block_size"] = codes.block_size
        node_name = _fresh(taken, f"{name}_dequantize")
        return [Node("DequantizeLinear", inputs, [name], attrs, node_name)]
    rank, dims = codes.codes.ndim, list(codes.codes.shape)
    split: list[int] | None = None
    if codes.block_size:  # [.., n, ..] -> [.., n / G, G, ..], one scale per (.., block, ..)
        b = codes.axis
        assert b is not None
        split = dims[:b] + [dims[b] // codes.block_size, codes.block_size] + dims[b + 1 :]
        shape: tuple[int, ...] = tuple(split[: b + 1]) + (1,) + tuple(split[b + 2 :])
    elif codes.axis is not None:
        shape = (-1,) + (1,) * (rank - 1 - codes.axis)
    else:
        shape = ()
    graph.initializers[s] = codes.scale.reshape(shape)
    cast = _fresh(taken, f"{name}_cast")
    nodes = [Node("Cast", [q], [cast], {"to": 1}, _fresh(taken, f"{name}_cast_node"))]
    if split is not None:
        blocks, shape_name = _fresh(taken, f"{name}_blocks"), _fresh(taken, f"{name}_block_shape")
        graph.initializers[shape_name] = np.array(split, dtype=np.int64)
        nodes.append(Node("Reshape", [cast, shape_name], [blocks], {}, _fresh(taken, blocks)))
        cast = blocks
    if not symmetric:
        zp, shifted = _fresh(taken, f"{name}_zero_point"), _fresh(taken, f"{name}_shifted")
        graph.initializers[zp] = codes.zero_point.astype(np.float32).reshape(shape)
        nodes.append(Node("Sub", [cast, zp], [shifted], {}, _fresh(taken, f"{name}_sub")))
        cast = shifted
    if split is None:
        nodes.append(Node("Mul", [cast, s], [name], {}, _fresh(taken, f"{name}_dequantize")))
        return nodes
    scaled, dims_name = _fresh(taken, f"{name}_scaled"), _fresh(taken, f"{name}_shape")
    graph.initializers[dims_name] = np.array(dims, dtype=np.int64)
    nodes.append(Node("Mul", [cast, s], [scaled], {}, _fresh(taken, f"{name}_mul")))
    nodes.append(
        Node("Reshape", [scaled, dims_name], [name], {}, _fresh(taken, f"{name}_dequantize"))
    )
    return nodes


def _stats(plan: _Plan, w: np.ndarray, codes: Codes, bits: int, symmetric: bool) -> WeightStats:
    signal, noise = _energies(w, codes.dequantized)
    params = codes.scale.nbytes + (0 if symmetric else codes.zero_point.nbytes)
    return WeightStats(
        name=plan.name, op=plan.op, shape=tuple(int(d) for d in w.shape), axis=codes.axis,
        block_size=codes.block_size, original_bytes=int(w.nbytes),
        stored_bytes=packed_nbytes(w.size, bits) + params,
        rel_error=math.sqrt(noise / signal) if signal else 0.0, sqnr_db=_sqnr(signal, noise),
    )  # fmt: skip


def _energies(w: np.ndarray, approx: np.ndarray) -> tuple[float, float]:
    w64 = w.astype(np.float64)
    return float(np.sum(w64 * w64)), float(np.sum((approx.astype(np.float64) - w64) ** 2))


def _sqnr(signal: float, noise: float) -> float:
    if noise == 0.0:
        return math.inf
    return 10.0 * math.log10(signal / noise) if signal else -math.inf


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None
