"""The onnxruntime side of `gossamer compare`: every intermediate value exposed as a graph output.

A copy of the ONNX model (a .gsm file or a Graph is exported to ONNX first) lists every top-level
node output as an extra graph output (typed from ONNX shape inference where it knows the type,
untyped otherwise, which onnxruntime accepts) and runs once with graph optimisations off, so each
value is what its own node computed rather than a fused kernel's. Values inside subgraphs or ONNX
functions cannot be exposed this way and are not returned.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..refimpl import model_format
from ..refimpl.errors import InputError

log = logging.getLogger("gossamer.tools")


def run_onnxruntime(model: Any, feeds: dict[str, Any]) -> dict[str, Any]:
    """Runs an ONNX model (path or bytes) on onnxruntime's CPU provider; returns every value it
    could expose, by name."""
    try:
        import onnx
        import onnxruntime as ort
    except ImportError as err:
        raise InputError(
            f"--against onnxruntime needs the onnx and onnxruntime packages ({err}); "
            "pip install onnx onnxruntime"
        ) from None
    proto = _load_onnx(onnx, model)
    extended = _with_all_outputs(onnx, proto)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    try:
        sess = ort.InferenceSession(
            extended.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
    except Exception as err:  # some value cannot be an output: keep the model's own outputs only
        log.warning("onnxruntime refused the extra outputs (%s); comparing graph outputs only", err)
        try:
            sess = ort.InferenceSession(
                proto.SerializeToString(), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err2:
            raise InputError(f"onnxruntime cannot load the model: {err2}") from None
    names = [o.name for o in sess.get_outputs()]
    wanted = {i.name for i in sess.get_inputs()}
    try:
        results = sess.run(names, {k: v for k, v in feeds.items() if k in wanted})
    except Exception as err:
        raise InputError(f"onnxruntime failed to run the model: {err}") from None
    return dict(zip(names, results))


def _load_onnx(onnx: Any, model: Any) -> Any:
    """The ModelProto of an ONNX path or bytes; a .gsm file or a Graph is exported to ONNX first."""
    if isinstance(model, (bytes, bytearray, memoryview)):
        if bytes(model[: len(model_format.MAGIC)]) != model_format.MAGIC:
            return onnx.load_from_string(bytes(model))
    elif isinstance(model, (str, Path)):
        with open(model, "rb") as f:
            if f.read(len(model_format.MAGIC)) != model_format.MAGIC:
                return onnx.load(str(model))
    from ..converter.onnx_export import graph_to_onnx
    from ..session import read_model

    try:
        return graph_to_onnx(read_model(model))
    except Exception as err:
        raise InputError(f"--against onnxruntime: cannot export the model to ONNX: {err}") from None


def _with_all_outputs(onnx: Any, proto: Any) -> Any:
    extended = type(proto)()
    extended.CopyFrom(proto)
    try:
        inferred = onnx.shape_inference.infer_shapes(proto)
        types = {v.name: v for v in inferred.graph.value_info}
    except Exception:  # inference is only a help for typing the extra outputs
        types = {}
    g = extended.graph
    taken = {o.name for o in g.output} | {i.name for i in g.input} | {t.name for t in g.initializer}
    for node in g.node:
        for name in node.output:
            if name and name not in taken:
                taken.add(name)
                info = types.get(name)
                g.output.append(info if info is not None else onnx.ValueInfoProto(name=name))
    return extended


def single_node_onnx(model: Any, node: Any, inputs: dict[str, Any]) -> bytes | None:
    """The ONNX model of the one top-level node that writes `node`'s outputs, every input it reads
    a typed graph input (None if it is not a plain top-level ONNX node, e.g. inside a function)."""
    import onnx
    from onnx import helper

    proto = _load_onnx(onnx, model)
    outputs = [o for o in node.outputs if o]
    found = [n for n in proto.graph.node if [o for o in n.output if o] == outputs]
    if len(found) != 1 or any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
                              for a in found[0].attribute):  # fmt: skip
        return None
    reads = [i for i in found[0].input if i]
    if any(not hasattr(inputs.get(i), "dtype") for i in reads):
        return None
    graph = helper.make_graph(
        [found[0]],
        "repro",
        [
            helper.make_tensor_value_info(
                i, helper.np_dtype_to_tensor_dtype(inputs[i].dtype), inputs[i].shape
            )
            for i in dict.fromkeys(reads)
        ],
        [onnx.ValueInfoProto(name=o) for o in outputs],
    )
    # a gossamer-domain call needs its function (an optimised model exports fused ops as functions)
    single = helper.make_model(
        graph, opset_imports=list(proto.opset_import), functions=list(proto.functions)
    )
    single.ir_version = proto.ir_version
    return single.SerializeToString()
