"""A compiled NPU partition: Vela's figures, and its execution on the bit-exact simulation.

There is no Ethos-U here, so the partition runs on a simulation: the very .tflite file Vela
compiled, imported back (converter/tflite) and run on Gossamer's TFLite int8 semantics
(`tflite::*`: int32 accumulation, fixed-point requantisation, saturation), bit-exact with TFLite's
reference kernels: the arithmetic the NPU implements. The CPU kernel backends that claim those ops
run them (cython's TFLite kernels, held to the reference's bits by conformance), the reference
ops the rest. For a graph imported from TFLite this is the graph's own semantics; for an ONNX int8
graph (QLinearConv and friends, whose float requantisation differs from TFLite's fixed-point one
by a unit here and there) it is what the exported model, and so the board, computes. What Vela
reported (cycles, time at the configured clock, SRAM, flash and DRAM, per-layer estimates) rides
along as `estimate`, which `gossamer benchmark` prints beside the measured host time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from ..plugins import Graph, KernelBackend
from ..plugins.executor import build_program
from ..plugins.manager import all_backends, availability, op_registry
from ..plugins.reference_backend import REFERENCE
from ..refimpl.errors import GossamerError
from ..refimpl.interpreter import Program
from .vela_runner import LayerEstimate, VelaReport

log = logging.getLogger("gossamer.npu_plugin")


@dataclass(frozen=True)
class NpuEstimate:
    """Vela's estimate for one partition on one Ethos-U target."""

    target: str  # e.g. "ethos-u55-128 (Ethos_U55_High_End_Embedded, Shared_Sram)"
    cycles: int
    clock_hz: float
    seconds: float  # cycles at the configured clock
    sram_bytes: int
    flash_bytes: int  # weights and other constants, in flash
    dram_bytes: int  # in DRAM (memory modes that keep constants or the arena there)
    npu_operators: int
    vela_version: str
    cache_entry: str | None = None  # the folder holding model_vela.tflite
    layers: tuple[LayerEstimate, ...] = field(default=())

    @classmethod
    def from_report(cls, report: VelaReport, entry: str | None) -> NpuEstimate:
        clock = report.clock_hz
        return cls(
            target=report.config.describe(),
            cycles=report.total_cycles,
            clock_hz=clock,
            seconds=report.total_cycles / clock if clock > 0 else report.inference_s,
            sram_bytes=report.sram_bytes,
            flash_bytes=report.flash_bytes,
            dram_bytes=report.dram_bytes,
            npu_operators=report.npu_operators,
            vela_version=report.vela_version,
            cache_entry=entry,
            layers=tuple(report.layers),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "cycles": self.cycles,
            "clock_hz": self.clock_hz,
            "ms": self.seconds * 1e3,
            "sram_bytes": self.sram_bytes,
            "flash_bytes": self.flash_bytes,
            "dram_bytes": self.dram_bytes,
            "npu_operators": self.npu_operators,
            "vela_version": self.vela_version,
        }


class SimulatedPartition:
    """Called with the partition's inputs (in order); returns its outputs as a tuple."""

    def __init__(self, tflite: bytes, inputs: list[str], outputs: list[str], estimate: NpuEstimate):
        from ..converter.tflite.import_graph import graph_from_tflite

        graph = graph_from_tflite(tflite)
        if len(graph.inputs) != len(inputs) or len(graph.outputs) != len(outputs):
            raise ValueError(
                f"the exported partition has {len(graph.inputs)} inputs and "
                f"{len(graph.outputs)} outputs, the partition {len(inputs)} and {len(outputs)}"
            )
        self._program = _host_program(graph)
        self._inputs = _matched([v.name for v in graph.inputs], inputs)
        self._outputs = _matched([v.name for v in graph.outputs], outputs)
        self.estimate = estimate

    def __call__(self, *values: Any) -> tuple[Any, ...]:
        env = self._program.run(dict(zip(self._inputs, values)))
        return tuple(env[name] for name in self._outputs)


def _host_program(graph: Graph) -> Program:
    """The simulation's program: the CPU kernel backends claim what they can (cython's TFLite
    kernels, conformance-checked bit-exact with the reference), the reference runs the rest."""
    kernels = [
        b.name
        for b in all_backends().values()
        if isinstance(b, KernelBackend) and b.name != REFERENCE and availability(b) is None
    ]
    try:
        program, _ = build_program(graph, kernels)
        return program
    except GossamerError as err:  # no kernel backend can be used: the reference alone
        log.info("NPU simulation on the reference ops: %s", err)
        return Program(graph, op_registry())


def _matched(exported: list[str], wanted: list[str]) -> list[str]:
    """The exported model's names in the partition's order (by name where the export kept the
    names, else by position: the exporter keeps the graph's order)."""
    if sorted(exported) == sorted(wanted):
        return list(wanted)
    return exported
