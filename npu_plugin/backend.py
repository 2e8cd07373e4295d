"""`ethos-u`: the NPU delegate for Arm Ethos-U, through Arm's own Vela compiler.

- get_capability: the graph is exported to TFLite and Vela compiles it; the operators Vela maps to
  the NPU (its own constraint checks) become maximal convex partitions, every other node is
  declined with Vela's reason (partitioning.py).
- compile: each granted partition is exported on its own and compiled by Vela; the optimised
  model (command stream), SRAM/flash use and cycle estimates are kept in a disk cache (cache.py).
  A Vela failure raises, so the planner runs that partition on the CPU and shows why.
- run: the exported partition file, imported back, on the bit-exact TFLite int8 reference
  (simulation.py): what the NPU computes; there is no Ethos-U here.
It is used only where named (`--backends ethos-u`): a simulated NPU is no speed-up on this host.
"""

from __future__ import annotations

import importlib.util
import logging
import weakref
from collections.abc import Mapping

from ..plugins import Backend, Claim, Decline, Graph, Value, infer_shapes
from ..plugins.partition import extract_partition
from . import cache
from .config import EthosUConfig, EthosUConfigError, config_from_env
from .deploy import FEATURE_DTYPES, deploy
from .partition_export import refused_nodes, to_tflite
from .partitioning import capability, node_verdicts, operator_verdicts
from .simulation import NpuEstimate, SimulatedPartition
from .vela_runner import (
    VelaError,
    VelaReport,
    check_config,
    run_vela,
    vela_missing,
    vela_version,
)

log = logging.getLogger("gossamer.npu_plugin")
_ROUNDS = 48  # export + Vela attempts, each declining what the exporter or Vela refused


class EthosUBackend(Backend):
    """Claims the subgraphs Vela maps to an Ethos-U NPU; see the module docstring."""

    name = "ethos-u"
    priority = 300  # above the CPU backends: the NPU takes its partitions first
    default_selected = False

    def __init__(self) -> None:
        # id(claim) -> (the claim, the whole graph's types of the values it touches): a partition
        # alone lacks them. Keyed by the Claim object the planner hands back to compile (two
        # graphs may well have claims of equal node names), held weakly so nothing piles up.
        self._types: dict[int, tuple[weakref.ref[Claim], dict[str, Value]]] = {}

    @property  # type: ignore[override]
    def min_partition_size(self) -> int:
        return config_from_env().min_partition_size

    def is_available(self) -> str | None:
        if importlib.util.find_spec("tflite") is None:
            return "the tflite package is not installed (pip install 'gossamer[npu]')"
        missing = vela_missing()
        if missing:
            return missing
        try:  # a target Vela does not know makes the backend unusable, with the reason
            check_config(config_from_env())
        except EthosUConfigError as err:
            return str(err)
        return None

    def describe(self) -> str:
        return f"{self.name} ({config_from_env().accelerator}, Vela {vela_version()})"

    # ---- claiming ---------------------------------------------------------------------------
    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        config = config_from_env()
        types = infer_shapes(graph)
        if not any(v.dtype in FEATURE_DTYPES for v in types.values()):  # no Vela run needed
            why = "no int8/uint8/int16 tensors: Vela maps only integer feature maps to the NPU"
            return [Decline(n.name, why) for n in graph.nodes]
        declined: list[Claim | Decline] = []
        nodes = tuple(n.name for n in graph.nodes)
        last = ""
        # nodes the exporter refuses, or whose TFLite semantics Vela rejects (it stops at the
        # first such operator rather than leave it to the CPU), are declined and the rest retried
        for _ in range(_ROUNDS):
            part = graph if len(nodes) == len(graph.nodes) else _subgraph(graph, nodes)
            try:
                tflite = to_tflite(part, types)
            except Exception as err:  # noqa: BLE001 - every export failure declines, visibly
                bad, last = refused_nodes(err), str(err)
                if not set(bad) & set(nodes):
                    why = f"the graph could not be exported to TFLite for Vela: {err}"
                    return declined + [Decline(n, why[:400]) for n in nodes]
                label = "not exportable to TFLite: "
            else:
                try:
                    report = compiled(tflite, config)
                    break
                except VelaError as err:
                    bad, last = _producers(part, err.semantic), str(err)
                    if not bad:  # Vela rejects the whole file: nothing here goes to the NPU
                        why = f"Vela rejected the exported model: {err}"
                        return declined + [Decline(n, why[:400]) for n in nodes]
                    label = "Vela: "
            declined += [Decline(n, f"{label}{r}") for n, r in bad.items() if n in nodes]
            nodes = tuple(n for n in nodes if n not in bad)
            if not nodes:
                return declined
        else:
            why = f"still refused after {_ROUNDS} rounds of export and Vela: {last}"
            return declined + [Decline(n, why[:400]) for n in nodes]
        verdicts = node_verdicts(part, operator_verdicts(tflite, report.model, report.reasons))
        answers = declined + capability(graph, verdicts, config.accelerator)
        self._types = {k: v for k, v in self._types.items() if v[0]() is not None}
        for answer in answers:
            if isinstance(answer, Claim):
                touched = _touched(part, answer.nodes)
                kept = {k: v for k, v in types.items() if k in touched}
                self._types[id(answer)] = (weakref.ref(answer), kept)
        return answers

    # ---- deploying (gossamer compile) ------------------------------------------------------
    def deploy(self, graph: Graph, path: str, options: Mapping[str, str] | None = None) -> str:
        """Writes the whole graph to `path` as the file an Ethos-U board runs (NPU partitions as
        ethos-u custom ops, the rest as TFLite builtins); returns Vela's summary. Options:
        accelerator, system_config, memory_mode, clock (GOSSAMER_ETHOSU_* where unset)."""
        return deploy(graph, path, options)

    # ---- compiling --------------------------------------------------------------------------
    def compile(self, graph: Graph, claim: Claim) -> SimulatedPartition:
        config = config_from_env()
        ref, types = self._types.get(id(claim), (None, {}))
        tflite = to_tflite(graph, types if ref is not None and ref() is claim else {})
        report = compiled(tflite, config)
        if report.cpu_operators:
            left = "; ".join(f"{k}: {v}" for k, v in sorted(report.reasons.items())[:3])
            raise VelaError(
                f"Vela left {report.cpu_operators} operator(s) of this partition on the CPU"
                + (f" ({left})" if left else "")
            )
        entry = cache.cache_root() / cache.cache_key(tflite, report.vela_version, config)
        estimate = NpuEstimate.from_report(report, str(entry) if entry.exists() else None)
        log.info("%s: %s on %s", graph.name, _figures(estimate), estimate.target)
        inputs, outputs = [v.name for v in graph.inputs], [v.name for v in graph.outputs]
        return SimulatedPartition(tflite, inputs, outputs, estimate)


def compiled(tflite: bytes, config: EthosUConfig) -> VelaReport:
    """Vela's report for `tflite` on `config`, from the disk cache or a fresh Vela run."""
    version = vela_version()
    key = cache.cache_key(tflite, version, config)
    report = cache.load(key, config)
    if report is None:
        known = cache.load_failure(key)
        if known is not None:
            raise known
        try:
            report = run_vela(tflite, config)
        except VelaError as err:
            if err.semantic:  # a property of the file: the same Vela says the same again
                cache.store_failure(key, err)
            raise
        cache.store(key, report)
    return report


def _producers(graph: Graph, tensors: dict[str, str]) -> dict[str, str]:
    """node -> reason, for the nodes producing the given tensors."""
    return {n.name: tensors[o] for n in graph.nodes for o in n.outputs if o in tensors}


def _subgraph(graph: Graph, nodes: tuple[str, ...]) -> Graph:
    return extract_partition(graph, nodes, graph.name)


def _touched(graph: Graph, nodes: tuple[str, ...]) -> set[str]:
    claimed = set(nodes)
    return {v for n in graph.nodes if n.name in claimed for v in (*n.inputs, *n.outputs) if v}


def _figures(e: NpuEstimate) -> str:
    return (
        f"{e.npu_operators} NPU op(s), {e.cycles} cycles = {e.seconds * 1e3:.3f} ms, "
        f"SRAM {e.sram_bytes / 1024:.1f} KiB, flash {e.flash_bytes / 1024:.1f} KiB, "
        f"DRAM {e.dram_bytes / 1024:.1f} KiB"
    )


__all__ = ["EthosUBackend", "VelaError"]
