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
from .device import open_device, unavailable_reason
from .fusion import describe, elementwise_groups, softmax_prologues
from .kernels.registry import SUPPORT, is_elementwise, opset_of, refusal

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
        consts = graph.initializers
        answers: list[Claim | Decline] = []
        ok: set[str] = set()
        for node in graph.nodes:
            inputs = [types.get(i) if i else None for i in node.inputs]
            why = refusal(node, inputs, consts, opset_of(graph.opsets, node.domain))
            if why:
                answers.append(Decline(node.name, why))
            else:
                ok.add(node.name)
        for region in convex_regions(graph, ok):
            answers.append(Claim(tuple(n.name for n in region), note=_note(graph, region)))
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


def convex_regions(graph: Graph, ok: set[str]) -> list[list[Node]]:
    """Regions of supported nodes, each connected and convex. In topological order, a node joins
    the region of one of its producers unless a path from that region reaches it through a node
    outside the region (that would make the region non-convex); else it starts a new one."""
    producer = {o: n for n in graph.nodes for o in n.outputs if o}
    region: dict[str, int] = {}
    reach: dict[str, set[int]] = {}  # regions a path from which leaves them before this node
    members: dict[int, list[Node]] = {}
    for node in graph.nodes:
        preds = [producer[i] for i in node.inputs if i in producer]
        for body in node.subgraphs():
            preds += [producer[i] for i in body.free_names() if i in producer]
        choice = None
        if node.name in ok:
            for p in preds:
                r = region.get(p.name)
                if r is not None and choice is None and not any(r in reach[q.name] for q in preds):
                    choice = r
            if choice is None:
                choice = len(members)
                members[choice] = []
            region[node.name] = choice
            members[choice].append(node)
        mine = region.get(node.name)
        r_set: set[int] = set()
        for q in preds:
            r_set |= reach[q.name]
            rq = region.get(q.name)
            if rq is not None and rq != mine:
                r_set.add(rq)
        reach[node.name] = r_set
    return [m for m in members.values() if m]


def _note(graph: Graph, region: list[Node]) -> str:
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
    return f"fused element-wise kernels: {fused}" if fused else ""
