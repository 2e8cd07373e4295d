"""float16 compute: which nodes run in float16, and the Casts at the borders (see fp16.py).

Each float32 value gets a representation: float16 when a float16 node (an op of FP16_OPS, in the
standard domain, without bodies) produces it, or when it is a float32 initializer a float16 node
reads (stored as float16, if its values allow); float32 otherwise. A consumer that needs the
other representation reads a Cast of it (one per value and direction). A value that must keep
its name as float32 (a graph output under keep_io_types, a name read inside a body) is produced
under a new name in float16 and Cast back to float32 under its own name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from ...refimpl.ir import Graph, Node
from ...refimpl.shape_inference import infer_shapes

FLOAT, FLOAT16 = 1, 10  # ONNX element type codes
# ops whose float inputs and outputs may all be float16 (the reference and onnxruntime run them)
FP16_OPS = frozenset(
    "Abs Add AveragePool BatchNormalization Ceil Clip Concat Constant ConstantOfShape Conv "
    "ConvTranspose DepthToSpace Div Dropout Einsum Elu Equal Erf Exp Expand Flatten Floor Gather "
    "GatherElements GatherND Gelu Gemm GlobalAveragePool GlobalMaxPool Greater GreaterOrEqual "
    "HardSigmoid HardSwish Identity InstanceNormalization LayerNormalization LeakyRelu Less "
    "LessOrEqual Log MatMul Max MaxPool Mean Min Mul Neg Pad Pow PRelu Reciprocal ReduceMax "
    "ReduceMean ReduceMin ReduceSum Relu Reshape Resize Selu Shape Sigmoid Sign Size Slice "
    "Softmax Softplus SpaceToDepth Split Sqrt Squeeze Sub Sum Tanh Tile Transpose Unsqueeze "
    "Upsample Where Cast".split()
)
# inputs that stay float32 whatever the node computes in
FLOAT32_INPUTS = {"Resize": {1, 2}, "Upsample": {1}}

Convert = Callable[[str, np.ndarray], "np.ndarray | None"]


def convert_activations(graph: Graph, convert: Convert, *, keep_io_types: bool) -> None:
    """Rewrites `graph` (a top-level copy) in place to compute in float16."""
    types = {k: v.dtype for k, v in infer_shapes(graph).items()}
    types.update({k: np.asarray(v).dtype.name for k, v in graph.initializers.items()})
    is_f32 = {k for k, t in types.items() if t == "float32"}
    half_nodes = {id(n) for n in graph.nodes if _runs_half(n)}
    taken = graph.produced_names() | set(graph.value_info) | {n.name for n in graph.nodes}
    body_reads = {name for n in graph.nodes for sub in n.subgraphs() for name in sub.free_names()}
    outputs = {v.name for v in graph.outputs}
    fed = {v.name for v in graph.inputs}

    rep: dict[str, str] = {}  # float32 value -> "f16" | "f32": what its producer gives
    where: dict[tuple[str, str], str] = {}  # (value, rep) -> the name holding it
    new_nodes: list[Node] = []

    def fresh(base: str) -> str:
        name, i = base, 1
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        taken.add(name)
        return name

    def read(name: str, want: str) -> str:
        """The name holding `name` in representation `want` (a Cast is added when needed)."""
        if name not in rep or rep[name] == want:
            return where.get((name, rep.get(name, want)), name)
        key = (name, want)
        if key not in where:
            source = where.get((name, rep[name]), name)
            cast = fresh(f"{name}_{'fp16' if want == 'f16' else 'fp32'}")
            to = FLOAT16 if want == "f16" else FLOAT
            new_nodes.append(Node("Cast", [source], [cast], {"to": to}, fresh(f"{cast}_cast")))
            where[key] = cast
        return where[key]

    wanted = _initializer_wants(graph, half_nodes, is_f32)
    for name, want in wanted.items():
        half = convert(name, np.asarray(graph.initializers[name])) if want else None
        rep[name] = "f16" if half is not None else "f32"
        if half is not None:
            graph.initializers[name] = half
    for i, v in enumerate(graph.inputs):  # Values are shared with the caller's graph: replaced
        if v.name in is_f32 and v.name not in graph.initializers:
            rep[v.name] = "f32" if keep_io_types else "f16"
            if not keep_io_types:
                graph.inputs[i] = dataclasses.replace(v, dtype="float16")
    result: list[Node] = []
    for node in graph.topological_nodes():
        half = id(node) in half_nodes
        keep = FLOAT32_INPUTS.get(node.op_type, set()) if half else set()
        inputs = [
            read(i, "f32" if (not half or k in keep) else "f16") if i in is_f32 else i
            for k, i in enumerate(node.inputs)
        ]
        result.extend(new_nodes)  # the Casts this node's inputs need
        new_nodes.clear()
        node_outputs, back = list(node.outputs), []
        for k, out in enumerate(node.outputs):
            if out not in is_f32:
                continue
            rep[out] = "f16" if half else "f32"
            if half and (out in body_reads or (out in outputs and keep_io_types)):
                # the float32 value keeps the name; the float16 one gets a new name
                node_outputs[k] = where[(out, "f16")] = fresh(f"{out}_fp16")
                where[(out, "f32")], rep[out] = out, "f32"
                back.append(Node("Cast", [node_outputs[k]], [out], {"to": FLOAT},
                                 fresh(f"{out}_to_fp32")))  # fmt: skip
        result.append(
            _rewritten(node, inputs, node_outputs, half and bool(_float_outputs(node, is_f32)))
        )
        result.extend(back)
    for i, v in enumerate(graph.outputs):
        if rep.get(v.name) == "f16" and not keep_io_types and v.name not in fed:
            graph.outputs[i] = dataclasses.replace(v, dtype="float16")
    graph.nodes[:] = result
    graph.value_info = {k: v for k, v in graph.value_info.items() if k not in rep}


def _runs_half(node: Node) -> bool:
    return node.domain in ("", "ai.onnx") and node.op_type in FP16_OPS and not any(node.subgraphs())


def _initializer_wants(graph: Graph, half_nodes: set[int], is_f32: set[str]) -> dict[str, bool]:
    """float32 initializer -> whether some float16 node reads it as a float16 input."""
    wants: dict[str, bool] = {}
    for node in graph.nodes:
        keep = FLOAT32_INPUTS.get(node.op_type, set())
        for k, name in enumerate(node.inputs):
            if name in graph.initializers and name in is_f32:
                half = id(node) in half_nodes and k not in keep
                wants[name] = wants.get(name, False) or half
    return wants


def _float_outputs(node: Node, is_f32: set[str]) -> list[str]:
    return [o for o in node.outputs if o in is_f32]


def _rewritten(node: Node, inputs: list[str], outputs: list[str], half: bool) -> Node:
    """The node with its new names; a float16 node's float32 constants and Cast target become
    float16 (`half`: the node runs in float16 and has a float output)."""
    attrs = dict(node.attrs)
    if half and node.op_type == "Cast" and attrs.get("to") == FLOAT:
        attrs["to"] = FLOAT16
    if half and node.op_type in ("Constant", "ConstantOfShape"):
        value = attrs.get("value")
        if isinstance(value, np.ndarray) and value.dtype == np.float32:
            attrs["value"] = _half(value)
        for key in ("value_float", "value_floats"):
            if key in attrs:
                attrs["value"] = _half(np.array(attrs.pop(key), dtype=np.float32))
        if node.op_type == "ConstantOfShape" and "value" not in attrs:
            attrs["value"] = np.zeros(1, dtype=np.float16)  # the default is a float32 zero
    return Node(node.op_type, inputs, outputs, attrs, node.name, node.domain)


def _half(value: np.ndarray) -> np.ndarray:
    return np.asarray(np.clip(value, -65504.0, 65504.0), dtype=np.float16)


__all__ = ["FLOAT32_INPUTS", "FP16_OPS", "convert_activations"]
