"""OpenCLBackend: claims connected, convex regions of nodes it has kernels for, compiles each
into a PartitionRuntime (weights uploaded once, pooled intermediates, fused element-wise kernels).

Runs only when named (`backends=["opencl"]`, `--backends opencl`, GOSSAMER_BACKENDS): on a CPU
OpenCL runtime it is a second CPU backend, so it never changes the default placement. Device:
GOSSAMER_OPENCL_DEVICE (see device.py). Precision: float32, or fp16 storage (tensors kept as half,
arithmetic in float) with GOSSAMER_OPENCL_PRECISION=fp16 or the backend `opencl-fp16`.
"""

from __future__ import annotations

import os

from ..plugins import Backend, Claim, Decline
from ..refimpl.ir import Graph, Node
from ..refimpl.shape_inference import infer_shapes
from .constant_nodes import fold
from .device import open_device, unavailable_reason
from .fusion import describe, elementwise_groups, softmax_prologues
from .kernels.registry import SUPPORT, is_elementwise, opset_of, refusal
from .regions import attach_constants, convex_regions

ENV_PRECISION = "GOSSAMER_OPENCL_PRECISION"
PRECISIONS = ("fp32", "fp16")


class OpenCLBackend(Backend):
    """OpenCL 1.2+ kernels with online fusion, tuned work sizes and a program-binary cache."""

    name = "opencl"
    priority = 200  # a device delegate: takes its regions before the CPU backends when named
    default_selected = False
    fixed_precision: str | None = None  # None: GOSSAMER_OPENCL_PRECISION, else fp32

    def precision(self) -> str:
        if self.fixed_precision:
            return self.fixed_precision
        return os.environ.get(ENV_PRECISION, "").strip().lower() or "fp32"

    @property
    def storage_dtype(self) -> str | None:
        """`float16` with fp16 storage: the conformance suite then draws half-range values and
        rounds the reference's inputs and outputs as this backend does (conformance/storage.py)."""
        return "float16" if self.precision() == "fp16" else None

    def is_available(self) -> str | None:
        if self.precision() not in PRECISIONS:
            return f"{ENV_PRECISION}={self.precision()!r}: use one of {', '.join(PRECISIONS)}"
        return unavailable_reason()

    def op_count(self) -> int | None:
        return len(SUPPORT)

    def describe(self) -> str:
        reason = unavailable_reason()
        if reason:
            return f"opencl (unavailable: {reason})"
        dev = open_device()
        return f"opencl ({dev.device_name}, {dev.platform_name})"

    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        types = infer_shapes(graph)
        fed = {v.name for v in graph.inputs}  # an initializer a feed may override is no constant
        fixed = {k: v for k, v in graph.initializers.items() if k not in fed}
        folded = fold(graph.nodes, fixed, graph.opsets)
        consts = {**graph.initializers, **folded.values}
        constant = {n.name for n in folded.nodes}
        answers: list[Claim | Decline] = []
        ok: set[str] = set()
        why_not: dict[str, str] = {}
        for node in graph.nodes:
            inputs = [types.get(i) if i else None for i in node.inputs]
            why = refusal(node, inputs, consts, opset_of(graph.opsets, node.domain))
            if why:
                why_not[node.name] = why
            elif node.name not in constant:
                ok.add(node.name)
        regions, left = attach_constants(graph, convex_regions(graph, ok), folded.nodes)
        attached = constant - {n.name for n in left}
        # a constant read by several partitions, or a graph output, is claimed alone if it can be
        regions += [[n] for n in left if n.name not in why_not]
        for node in graph.nodes:
            if node.name in why_not and node.name not in attached:
                answers.append(Decline(node.name, why_not[node.name]))
        for region in regions:
            note = _note(graph, region, constant)
            answers.append(Claim(tuple(n.name for n in region), note=note))
        return answers

    def compile(self, graph: Graph, claim: Claim):  # type: ignore[no-untyped-def]
        from .partition_runtime import PartitionRuntime

        return PartitionRuntime(open_device(), graph, self.precision())


class OpenCLFp16Backend(OpenCLBackend):
    """The OpenCL backend with fp16 storage (what `gossamer conformance --backend opencl-fp16`
    checks at the tolerances in conformance/tolerances/opencl-fp16.json)."""

    name = "opencl-fp16"
    priority = 190
    fixed_precision = "fp16"


def _note(graph: Graph, region: list[Node], constant: set[str]) -> str:
    folded = [n for n in region if n.name in constant]
    region = [n for n in region if n.name not in constant]
    names = {n.name for n in region}
    escaping = {v.name for v in graph.outputs}
    for node in graph.nodes:
        if node.name not in names:
            escaping.update(i for i in node.inputs if i)
    fusible = {n.name for n in region if is_elementwise(n)}
    groups = elementwise_groups(region, fusible, escaping)
    by_name = {n.name: n for n in region}
    for softmax, group in softmax_prologues(region, groups, escaping).items():
        group.append(by_name[softmax])  # shown as one kernel: e.g. Add+Softmax
    fused = describe(groups)
    notes = [f"fused element-wise kernels: {fused}"] if fused else []
    if folded:
        ops = ", ".join(sorted({n.op_type for n in folded}))
        notes.append(f"{len(folded)} constant node(s) computed once at compile time ({ops})")
    return "; ".join(notes)
