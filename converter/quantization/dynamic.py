"""Dynamic int8 quantisation: int8 weights for MatMul/Gemm, activations quantised at run time.

Each MatMul(A, B) / Gemm(A, B, C) with a constant 2-D float B becomes, in standard ONNX ops (as
onnxruntime's quantize_dynamic writes them):

    A_q, A_scale, A_zp = DynamicQuantizeLinear(A)                     (uint8, per tensor)
    Y_int = MatMulInteger(A_q, B_quantized, A_zp, B_zero_point)       (int32)
    Y = Cast(Y_int, float) * (A_scale * B_scale)     [Gemm: * alpha folded in, + beta*C]

B is stored int8, symmetric (zero point 0), per tensor or per output column (`per_channel`).
The output keeps its name, so the rest of the graph is untouched.
"""

from __future__ import annotations

import numpy as np

from ...refimpl.ir import Graph, Node, QuantParams, Value
from ...refimpl.shape_inference import infer_shapes
from ..optimizer.rewrite import copy_graph, drop_unused_initializers
from .calibration_data import CalibrationData, CalibrationSource, load_calibration
from .evaluate import Agreement, paired_runs
from .layer_report import LayerStats, QuantReport
from .prepare import prepare_float_graph
from .qdq_writer import _Namer
from .qparams import dequantize_array, quantize_array, weight_params
from .runner import Runner, reference_runner

OPS = frozenset({"MatMul", "Gemm"})
_FLOAT = 1  # TensorProto.FLOAT, Cast's `to`


def quantize_dynamic(
    graph: Graph,
    *,
    per_channel: bool = True,
    reduce_range: bool = False,
    skip: tuple[str, ...] = (),
    calibration: CalibrationSource | CalibrationData | None = None,
    runner: Runner = reference_runner,
    progress: bool = False,
) -> tuple[Graph, QuantReport]:
    """The dynamically quantised graph and its report (per layer the weight's SQNR; with
    `calibration` data also each layer output's cosine and SQNR against float)."""
    float_graph = prepare_float_graph(graph)
    from ...refimpl.errors import InputError

    known = {n.name for n in float_graph.nodes} | {n.name for n in graph.nodes}
    unknown = [s for s in skip if s not in known]
    if unknown:
        raise InputError(f"--skip names no node of the model: {unknown}")
    types = infer_shapes(float_graph)
    g = copy_graph(float_graph)  # nodes, quant and state copied: the input stays as it is
    fresh = _Namer(g.produced_names() | {i for n in g.nodes for i in n.inputs})
    report = QuantReport(
        "dynamic",
        settings={"per_channel": per_channel, "weights": "int8", "activations": "uint8 (dynamic)"},
    )
    nodes: list[Node] = []
    for node in g.nodes:
        if node.name in skip or not _quantizable(node, g, types):
            if node.name in skip:
                report.kept_float[node.name] = "--skip"
            nodes.append(node)
            continue
        new, stats = _rewrite(node, g, fresh, per_channel, 7 if reduce_range else 8)
        nodes.extend(new)
        report.layers.append(stats)
    g.nodes = nodes
    drop_unused_initializers(g)
    g.nodes = g.topological_nodes()
    if calibration is not None:
        inputs = [v for v in float_graph.inputs if v.name not in float_graph.initializers]
        data = (
            calibration
            if isinstance(calibration, CalibrationData)
            else load_calibration(calibration, inputs)
        )
        _measure(report, float_graph, g, data, runner, progress)
    report.sizes = {
        "float": int(sum(a.nbytes for a in float_graph.initializers.values())),
        "quantized": int(sum(a.nbytes for a in g.initializers.values())),
    }
    return g, report


def _quantizable(node: Node, g: Graph, types: dict[str, Value]) -> bool:
    if node.op_type not in OPS or node.domain not in ("", "ai.onnx") or len(node.inputs) < 2:
        return False
    w = g.initializers.get(node.inputs[1])
    a = types.get(node.inputs[0])
    if w is None or w.dtype != np.float32 or w.ndim != 2 or a is None or a.dtype != "float32":
        return False
    if node.op_type == "Gemm":
        return not node.attrs.get("transA", 0)
    return True


def _rewrite(
    node: Node, g: Graph, fresh: _Namer, per_channel: bool, bits: int
) -> tuple[list[Node], LayerStats]:
    w = g.initializers[node.inputs[1]]
    if node.op_type == "Gemm" and node.attrs.get("transB", 0):
        w = np.ascontiguousarray(w.T)
    wp = weight_params(w, 1 if per_channel else None, bits)
    w_q = quantize_array(w, wp, np.int8, symmetric=True)
    base = node.name or node.outputs[0]
    names = {
        k: fresh(f"{base}_{k}")
        for k in (
            "a_q",
            "a_scale",
            "a_zp",
            "int32",
            "float",
            "scale",
            "B_quantized",
            "B_scale",
            "B_zero_point",
        )
    }
    alpha = float(node.attrs.get("alpha", 1.0)) if node.op_type == "Gemm" else 1.0
    g.initializers[names["B_quantized"]] = w_q
    g.initializers[names["B_scale"]] = (wp.scale * np.float32(alpha)).astype(np.float32)
    g.initializers[names["B_zero_point"]] = wp.zero_point
    g.quant[names["B_quantized"]] = wp
    y = node.outputs[0]
    has_c = node.op_type == "Gemm" and len(node.inputs) > 2 and bool(node.inputs[2])
    scaled = fresh(f"{base}_scaled") if has_c else y
    out = [
        Node(
            "DynamicQuantizeLinear",
            [node.inputs[0]],
            [names["a_q"], names["a_scale"], names["a_zp"]],
            name=fresh(f"{base}_quant"),
        ),
        Node(
            "MatMulInteger",
            [names["a_q"], names["B_quantized"], names["a_zp"], names["B_zero_point"]],
            [names["int32"]],
            name=fresh(f"{base}_MatMulInteger"),
        ),
        Node(
            "Cast", [names["int32"]], [names["float"]], {"to": _FLOAT}, name=fresh(f"{base}_cast")
        ),
        Node(
            "Mul",
            [names["a_scale"], names["B_scale"]],
            [names["scale"]],
            name=fresh(f"{base}_scale_mul"),
        ),
        Node("Mul", [names["float"], names["scale"]], [scaled], name=fresh(f"{base}_output_mul")),
    ]
    if has_c:
        beta = float(node.attrs.get("beta", 1.0))
        c_name, c = node.inputs[2], g.initializers.get(node.inputs[2])
        if beta != 1.0 and c is not None:
            c_name = fresh(f"{base}_C")
            g.initializers[c_name] = (c * np.float32(beta)).astype(np.float32)
        elif beta != 1.0:  # C computed at run time: scaled by a node
            beta_name, c_name = fresh(f"{base}_beta"), fresh(f"{base}_C")
            g.initializers[beta_name] = np.asarray(beta, np.float32)
            out.append(
                Node("Mul", [node.inputs[2], beta_name], [c_name], name=fresh(f"{base}_beta_mul"))
            )
        out.append(Node("Add", [scaled, c_name], [y], name=fresh(f"{base}_bias_add")))
    back = dequantize_array(w_q, QuantParams(wp.scale, wp.zero_point, axis=wp.axis))
    weight = Agreement()
    weight.add(w, back)
    stats = LayerStats(node.name, node.op_type, 8, y, cosine=weight.cosine, sqnr_db=weight.sqnr_db)
    return out, stats


def _measure(
    report: QuantReport,
    float_graph: Graph,
    quant: Graph,
    data: CalibrationData,
    runner: Runner,
    progress: bool,
) -> None:
    """Replaces each layer's weight statistics with its output's, on the calibration data."""
    pairs = {row.tensor: row.tensor for row in report.layers}
    pairs.update({v.name: v.name for v in float_graph.outputs})
    agree = {name: Agreement() for name in pairs}

    def sink(name: str, f: np.ndarray, q: np.ndarray) -> None:
        if f.dtype.kind == "f" and f.shape == q.shape:
            agree[name].add(f, q)

    paired_runs(float_graph, quant, data, pairs, sink, runner=runner, progress=progress)
    for row in report.layers:
        a = agree[row.tensor]
        row.cosine, row.sqnr_db = a.cosine, a.sqnr_db
    for v in float_graph.outputs:
        a = agree[v.name]
        if a.ff or a.qq:
            report.outputs[v.name] = {"cosine": a.cosine, "sqnr_db": a.sqnr_db}
