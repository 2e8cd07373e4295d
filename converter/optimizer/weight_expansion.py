"""Load-time expansion of compactly stored weights into float32, in memory only.

A float16 or weight-only quantised model stores its weights compactly and rebuilds them with a
node: Cast(float16 constant -> float32), DequantizeLinear(constant codes, scale, zero point), or
(for old opsets) Cast(annotated codes) -> (Reshape) -> (Sub) -> Mul -> (Reshape), or the same
chain from integer codes with no annotation whose every use is a weight operand (MatMul's B,
Gemm's A/B, Conv's W; e.g. a MatMul weight quantised per column as Cast(int8) * scale). Run as
written, every run pays for that node, and the optimiser's folds (BatchNorm into Conv, bias
fusion) and the kernels' one-time weight packing see a computed value instead of a constant.
`expand_stored_weights` folds those nodes once, when a model is loaded for running, so the rest
of the pipeline sees plain float32 weights. The files stay compact: constant folding
deliberately keeps these nodes (it must not make a saved model larger), and this step is never
part of a saved graph.
Left alone: a DequantizeLinear of a constant whose consumer also reads a dequantized activation
(a QDQ unit, kept for integer kernels), unannotated integer codes read anywhere else than as a
weight (an int8 embedding table dequantized for a Gather stays compact: Gather push-down dequantizes
only the rows it gathers), and anything inside If/Loop/Scan bodies.
Memory: the expanded weights take what the float model's would (4 bytes per element).
Not an optimisation pass (it is in no PIPELINE level, since a pass's result may be saved):
`gossamer.load` calls it before optimising. It lives here so a crop that ships the optimiser
ships it too.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np

from ...refimpl.errors import GossamerError
from ...refimpl.int8_codes import remember
from ...refimpl.interpreter import Program
from ...refimpl.ir import Graph, Node, Value

log = logging.getLogger(__name__)
_COMPACT_FLOATS = {"float16", "bfloat16"}
_INTEGER_CODES = {"int4", "uint4", "int8", "uint8", "int16", "uint16"}
# (op type, input index) where a constant is a weight the kernels pack once
_WEIGHT_OPERANDS = {("MatMul", 1), ("Gemm", 0), ("Gemm", 1), ("Conv", 1), ("ConvTranspose", 1)}
# ops a dequantisation chain passes through between the Cast and the weight's consumer
_CHAIN_OPS = {"Mul", "Sub", "Reshape", "Transpose", "Unsqueeze", "Squeeze"}


def expand_stored_weights(graph: Graph) -> Graph:
    """`graph` with its weight-rebuilding nodes folded into float32 initializers (a new Graph
    sharing everything else; `graph` itself is unchanged). Returns `graph` when nothing folds."""
    fed = {v.name for v in graph.inputs}
    outputs = {v.name for v in graph.outputs}
    consumers: dict[str, list[Node]] = {}
    producer: dict[str, Node] = {}
    for node in graph.nodes:
        for name in node.inputs:
            consumers.setdefault(name, []).append(node)
        for name in node.outputs:
            producer[name] = node
    for node in graph.nodes:
        for sub in node.subgraphs():
            for name in sub.free_names():
                consumers.setdefault(name, []).append(node)
    constants = {k: v for k, v in graph.initializers.items() if k not in fed}
    expanded: set[str] = set()
    folded: list[Node] = []
    codes_of: dict[str, np.ndarray] = {}  # a folded Cast's output -> the int8 codes it widened
    for node in graph.topological_nodes():
        if not _rebuilds_weight(node, constants, expanded, graph, consumers, producer):
            continue
        value = _evaluate(graph, node, constants)
        if value is None or value.dtype != np.float32 or node.outputs[0] in outputs:
            continue
        constants[node.outputs[0]] = value
        expanded.add(node.outputs[0])
        folded.append(node)
        _file_int8_form(node, value, constants, codes_of)
    if not folded:
        return graph
    gone = {id(n) for n in folded}
    nodes = [n for n in graph.nodes if id(n) not in gone]
    still_read = {i for n in nodes for i in n.inputs} | outputs
    still_read |= {name for n in nodes for sub in n.subgraphs() for name in sub.free_names()}
    freed = {i for n in folded for i in n.inputs if i} | expanded
    initializers = {k: v for k, v in constants.items() if k in still_read or k not in freed}
    initializers.update((k, v) for k, v in graph.initializers.items() if k in fed)
    log.debug("expanded %d stored weights to float32", len(folded))
    return dataclasses.replace(
        graph, nodes=nodes, initializers=initializers,
        quant={k: q for k, q in graph.quant.items() if k in initializers or k not in freed},
    )  # fmt: skip


def _file_int8_form(
    node: Node, value: np.ndarray, constants: dict[str, np.ndarray], codes_of: dict[str, np.ndarray]
) -> None:
    """Where this fold made float32(q) * scale from 2-D int8 codes q (a Cast, then a Mul by a
    column or tensor scale), files that form (refimpl/int8_codes.remember): the kernels that
    read a weight's codes then take them as they were stored instead of searching the floats."""
    if node.op_type == "Cast":
        source = np.asarray(constants[node.inputs[0]])
        if source.dtype == np.int8 and source.ndim == 2:
            codes_of[node.outputs[0]] = source
    elif node.op_type == "Mul" and len(node.inputs) == 2:
        a, b = node.inputs
        q_name, s_name = (a, b) if a in codes_of else (b, a)
        if q_name in codes_of and s_name in constants:
            remember(value, codes_of[q_name], np.asarray(constants[s_name]))


def _rebuilds_weight(
    node: Node, constants: dict[str, np.ndarray], expanded: set[str], graph: Graph,
    consumers: dict[str, list[Node]], producer: dict[str, Node],
) -> bool:  # fmt: skip
    if node.domain not in ("", "ai.onnx") or len(node.outputs) != 1 or not node.outputs[0]:
        return False
    names = [i for i in node.inputs if i]
    if not names or any(n not in constants for n in names):
        return False
    first = names[0]
    if node.op_type == "Cast":
        source = np.asarray(constants[first])
        if source.dtype.name in _COMPACT_FLOATS or first in graph.quant:
            return True
        return source.dtype.name in _INTEGER_CODES and _read_only_as_weight(
            node.outputs[0], consumers, constants
        )
    if node.op_type == "DequantizeLinear":
        return not _in_qdq_unit(node, consumers, producer, constants)
    if node.op_type in ("Mul", "Sub", "Reshape"):
        return any(n in expanded for n in names)
    return False


def _read_only_as_weight(
    name: str, consumers: dict[str, list[Node]], constants: dict[str, np.ndarray], depth: int = 0
) -> bool:
    """Whether every use of `name` is a weight operand, directly or through a chain of
    element-wise / reshaping ops whose other inputs are constants (scale, zero point, shape)."""
    uses = consumers.get(name, [])
    if not uses or depth > 8:
        return False
    for node in uses:
        if node.domain not in ("", "ai.onnx"):
            return False
        slots = [i for i, n in enumerate(node.inputs) if n == name]
        if all((node.op_type, i) in _WEIGHT_OPERANDS for i in slots):
            continue
        others = [n for n in node.inputs if n and n != name]
        if (
            node.op_type not in _CHAIN_OPS
            or len(node.outputs) != 1
            or any(n not in constants for n in others)
            or not _read_only_as_weight(node.outputs[0], consumers, constants, depth + 1)
        ):
            return False
    return True


def _in_qdq_unit(
    dq: Node, consumers: dict[str, list[Node]], producer: dict[str, Node],
    constants: dict[str, np.ndarray],
) -> bool:  # fmt: skip
    """Whether a consumer of `dq`'s output also reads a DequantizeLinear of a non-constant."""
    for consumer in consumers.get(dq.outputs[0], []):
        for name in consumer.inputs:
            other = producer.get(name)
            if (
                other is not None
                and other is not dq
                and other.op_type == "DequantizeLinear"
                and other.inputs[0] not in constants
            ):
                return True
    return False


def _evaluate(graph: Graph, node: Node, constants: dict[str, np.ndarray]) -> np.ndarray | None:
    single = Graph(
        nodes=[node], inputs=[], outputs=[Value(node.outputs[0])],
        initializers={n: constants[n] for n in node.inputs if n}, opsets=graph.opsets,
    )  # fmt: skip
    try:
        value = Program(single).run({})[node.outputs[0]]
    except (GossamerError, ValueError, TypeError, ArithmeticError) as err:
        log.debug("not expanding %s: %s", node.label(), err)
        return None
    return value if isinstance(value, np.ndarray) else None
