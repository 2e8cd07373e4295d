"""Test helper: every partition the ethos-u backend compiles for a graph, with the values it
reads in one reference run, and its exported .tflite (the file Vela compiled)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from gossamer.npu_plugin.backend import EthosUBackend
from gossamer.npu_plugin.partition_export import to_tflite
from gossamer.npu_plugin.simulation import SimulatedPartition
from gossamer.plugins import Claim, Graph, infer_shapes
from gossamer.plugins.partition import extract_partition
from gossamer.refimpl.interpreter import Program


@dataclass
class CompiledPartition:
    graph: Graph
    compiled: SimulatedPartition
    tflite: bytes
    inputs: list[np.ndarray]
    expected: list[np.ndarray]  # the reference's values of the partition outputs


def compiled_partitions(graph: Graph, feeds: dict[str, Any]) -> Iterator[CompiledPartition]:
    backend = EthosUBackend()
    env = Program(graph).run(dict(feeds), keep_all=True)
    types = infer_shapes(graph)
    claims = [a for a in backend.get_capability(graph) if isinstance(a, Claim)]
    for index, claim in enumerate(c for c in claims if len(c.nodes) >= 2):
        part = extract_partition(graph, claim.nodes, f"ethos-u_partition_{index}")
        touched = {v.name for v in part.inputs} | {o for n in part.nodes for o in n.outputs}
        yield CompiledPartition(
            graph=part,
            compiled=backend.compile(part, claim),
            tflite=to_tflite(part, {k: v for k, v in types.items() if k in touched}),
            inputs=[env[v.name] for v in part.inputs],
            expected=[env[v.name] for v in part.outputs],
        )


def state_feeds(graph: Graph) -> dict[str, np.ndarray]:
    """Initial values of a streaming model's kept state, keyed by their graph inputs."""
    return {b.input: b.initial for b in graph.state if b.initial is not None}
