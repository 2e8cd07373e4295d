"""OpenCLBackend: claims connected, convex regions of nodes it has kernels for, compiles each
into a PartitionRuntime (weights uploaded once, pooled intermediates, fused element-wise kernels).

Runs only when named (`backends=["opencl"]`, `--backends opencl`, GOSSAMER_BACKENDS): on a CPU
OpenCL runtime it is a second CPU backend, so it never changes the default placement. Per session
(`backend_options={"opencl": {...}}`): `device` (else GOSSAMER_OPENCL_DEVICE, see device.py) and
`precision`: float32, or fp16 storage (tensors kept as half; else GOSSAMER_OPENCL_PRECISION=fp16,
or the backend `opencl-fp16`), and under fp16 `fp16_arith`: `native` (element-wise kernels compute
in half, the default on a device with cl_khr_fp16) or `storage` (float arithmetic, the only way
on PoCL).
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
ENV_FP16_ARITH = "GOSSAMER_OPENCL_FP16_ARITH"
FP16_ARITHS = ("native", "storage")


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

FP16_ARITH_OPTION = BackendOption(
    "fp16_arith",
    "under fp16: native (element-wise kernels compute in half; needs cl_khr_fp16) or storage "
    f"(half storage, float arithmetic); default: {ENV_FP16_ARITH}, else native where the device "
    "has cl_khr_fp16",
    parse=_precision,
    choices=FP16_ARITHS,
)


class OpenCLBackend(Backend):
    """OpenCL 1.2+ kernels with online fusion, tuned work sizes and a program-binary cache."""

    name = "opencl"
    priority = 200  # a device delegate: takes its regions before the CPU backends when named
    default_selected = False
    options: ClassVar[tuple[BackendOption, ...]] = (
        DEVICE_OPTION,
        PRECISION_OPTION,
        FP16_ARITH_OPTION,
    )
    fixed_precision: str | None = None  # None: GOSSAMER_OPENCL_PRECISION, else fp32
    device_choice: str | None = None  # None: GOSSAMER_OPENCL_DEVICE, else the first device
    fp16_arith_choice: str | None = None  # None: GOSSAMER_OPENCL_FP16_ARITH, else by the device

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
        if "fp16_arith" in values:
            configured.fp16_arith_choice = values["fp16_arith"]
            reason = configured._arith_problem()
            if reason:
                raise ValueError(reason)
        return configured

    def fp16_arith(self) -> str:
        """How fp16 computes on this backend's device: `native` (half arithmetic in the
        element-wise kernels) or `storage` (float arithmetic); only fp16 uses it."""
        chosen = self.fp16_arith_choice or os.environ.get(ENV_FP16_ARITH, "").strip().lower()
        if chosen:
            return chosen
        if unavailable_reason(self.device_choice):
            return "storage"
        return "native" if open_device(self.device_choice).has_fp16 else "storage"

    def _arith_problem(self) -> str | None:
        arith = self.fp16_arith()
        if arith not in FP16_ARITHS:
            return f"{ENV_FP16_ARITH}={arith!r}: use one of {', '.join(FP16_ARITHS)}"
        if arith == "native" and not unavailable_reason(self.device_choice):
            dev = open_device(self.device_choice)
            if not dev.has_fp16:
                return (
                    f"fp16_arith=native: {dev.device_name} ({dev.platform_name}) has no "
                    "cl_khr_fp16; use fp16_arith=storage"
                )
        return None

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
        if reason is None and self.precision() == "fp16":
            return self._arith_problem()
        return reason

    def op_count(self) -> int | None:
        return len(SUPPORT)

    def describe(self) -> str:
        reason = unavailable_reason(self.device_choice)
        if reason:
            return f"{self.name} (unavailable: {reason})"
        dev = open_device(self.device_choice)
        arith = f", fp16 arithmetic: {self.fp16_arith()}" if self.precision() == "fp16" else ""
        return f"{self.name} ({dev.device_name}, {dev.platform_name}{arith})"

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
        arith = ""
        if self.precision() == "fp16":
            arith = (
                "fp16: half arithmetic in the element-wise kernels, float in reductions"
                if self.fp16_arith() == "native"
                else "fp16: half storage, float arithmetic"
            )
        for region in regions:
            note = "; ".join(filter(None, (arith, _note(graph, region, constant))))
            answers.append(Claim(tuple(n.name for n in region), note=note))
        return answers

    def compile(self, graph: Graph, claim: Claim):  # type: ignore[no-untyped-def]
        from .partition_runtime import PartitionRuntime

        return PartitionRuntime(
            open_device(self.device_choice), graph, self.precision(), self.fp16_arith()
        )


class OpenCLFp16Backend(OpenCLBackend):
    """The OpenCL backend with fp16 storage (what `gossamer conformance --backend opencl-fp16`
    checks at the tolerances in conformance/tolerances/opencl-fp16.json)."""

    name = "opencl-fp16"
    priority = 190
    # its precision is fixed
    options: ClassVar[tuple[BackendOption, ...]] = (DEVICE_OPTION, FP16_ARITH_OPTION)
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
