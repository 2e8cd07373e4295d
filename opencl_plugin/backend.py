"""OpenCLBackend: claims connected, convex regions of nodes it has kernels for, compiles each
into a PartitionRuntime (weights uploaded once, pooled intermediates, fused element-wise kernels).

Runs only when named (`backends=["opencl"]`, `--backends opencl`, GOSSAMER_BACKENDS): on a CPU
OpenCL runtime it is a second CPU backend, so it never changes the default placement. Per session
(`backend_options={"opencl": {...}}`): `device` (else GOSSAMER_OPENCL_DEVICE, see device.py) and
`precision`: float32, or fp16 storage (tensors kept as half, arithmetic in float; else
GOSSAMER_OPENCL_PRECISION=fp16, or the backend `opencl-fp16`).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

from ..plugins import Backend, BackendOption, Claim, Decline
from ..refimpl.ir import Graph, Node
from ..refimpl.shape_inference import infer_shapes
from .constant_nodes import fold
from .device import ENV_DEVICE, open_device, unavailable_reason
from .fusion import describe, elementwise_groups, softmax_prologues
from .kernels.registry import SUPPORT, is_elementwise, opset_of, refusal
from .regions import attach_constants, convex_regions

ENV_PRECISION = "GOSSAMER_OPENCL_PRECISION"
PRECISIONS = ("fp32", "fp16")


def _device_choice(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"a device is a string such as '0:0' or a name, not {type(value).__name__}")
    text = str(value).strip()
    if not text:
        raise ValueError("empty device name")
    return text


def _precision(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"precision is a string, not {type(value).__name__}")
    return value.strip().lower()


DEVICE_OPTION = BackendOption(
    "device",
    "the OpenCL device: 'P:D' (platform and device index) or a case-insensitive substring of "
    f"'platform name / device name' (default: {ENV_DEVICE}, else the first device)",
    parse=_device_choice,
)
PRECISION_OPTION = BackendOption(
    "precision",
    "fp32, or fp16 storage (tensors stored as half, arithmetic in float; default: "
    f"{ENV_PRECISION}, else fp32)",
    parse=_precision,
    choices=PRECISIONS,
)


class OpenCLBackend(Backend):
    """OpenCL 1.2+ kernels with online fusion, tuned work sizes and a program-binary cache."""

    name = "opencl"
    priority = 200  # a device delegate: takes its regions before the CPU backends when named
    default_selected = False
    options: ClassVar[tuple[BackendOption, ...]] = (DEVICE_OPTION, PRECISION_OPTION)
    fixed_precision: str | None = None  # None: GOSSAMER_OPENCL_PRECISION, else fp32
    device_choice: str | None = None  # None: GOSSAMER_OPENCL_DEVICE, else the first device

    def precision(self) -> str:
        if self.fixed_precision:
            return self.fixed_precision
        return os.environ.get(ENV_PRECISION, "").strip().lower() or "fp32"

    def configure(self, values: dict[str, Any]) -> OpenCLBackend:
        """This backend for one session: `device` must name a device here (else ValueError with
        the devices listed), `precision` replaces the environment's."""
        configured = super().configure(values)
        assert isinstance(configured, OpenCLBackend)
        if "device" in values:
            reason = unavailable_reason(values["device"])
            if reason:
                raise ValueError(reason)
            configured.device_choice = values["device"]
        if "precision" in values:
            configured.fixed_precision = values["precision"]
        return configured

    @property
    def storage_dtype(self) -> str | None:
        """`float16` with fp16 storage: the conformance suite then draws half-range values and
        rounds the reference's inputs and outputs as this backend does (conformance/storage.py)."""
        return "float16" if self.precision() == "fp16" else None

    def is_available(self) -> str | None:
        if self.precision() not in PRECISIONS:
            return f"{ENV_PRECISION}={self.precision()!r}: use one of {', '.join(PRECISIONS)}"
        reason = unavailable_reason(self.device_choice)
        if reason and self.device_choice is None and os.environ.get(ENV_DEVICE, "").strip():
            return f"{ENV_DEVICE}: {reason}"
        return reason

    def op_count(self) -> int | None:
        return len(SUPPORT)

    def describe(self) -> str:
        reason = unavailable_reason(self.device_choice)
        if reason:
            return f"{self.name} (unavailable: {reason})"
        dev = open_device(self.device_choice)
        return f"{self.name} ({dev.device_name}, {dev.platform_name})"

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

        return PartitionRuntime(open_device(self.device_choice), graph, self.precision())


class OpenCLFp16Backend(OpenCLBackend):
    """The OpenCL backend with fp16 storage (what `gossamer conformance --backend opencl-fp16`
    checks at the tolerances in conformance/tolerances/opencl-fp16.json)."""

    name = "opencl-fp16"
    priority = 190
    options: ClassVar[tuple[BackendOption, ...]] = (DEVICE_OPTION,)  # its precision is fixed
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
