"""The built-in reference backend: runs every node with its refimpl function.

It is registered through the same hook and entry point as any third-party backend; it has the lowest
priority, so it runs exactly the nodes no other backend was granted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..refimpl.ir import Graph
from .backend import Backend, Claim, CompiledPartition, Decline
from .hookspecs import hookimpl

REFERENCE = "reference"


class ReferenceBackend(Backend):
    """The numpy reference interpreter as a backend: claims every node, one by one."""

    name = REFERENCE
    priority = -(10**9)

    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        return [Claim((node.name,)) for node in graph.nodes]

    def compile(self, graph: Graph, claim: Claim) -> CompiledPartition:
        from ..refimpl.interpreter import Program

        program = Program(graph)
        names = [v.name for v in graph.inputs]
        outputs = [v.name for v in graph.outputs]

        def run(*inputs: Any) -> tuple[Any, ...]:
            env = program.run(dict(zip(names, inputs)))
            return tuple(env[o] for o in outputs)

        return run

    def op_count(self) -> int | None:
        from .manager import op_registry

        return len(op_registry().op_types())


@hookimpl
def gossamer_register_backends(register: Callable[[Backend], None]) -> None:
    register(ReferenceBackend())
