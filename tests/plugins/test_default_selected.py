"""`default_selected = False`: a backend used only where it is named (an NPU simulated here)."""

from __future__ import annotations

import numpy as np
from gossamer.plugins import Backend, Claim, Decline
from gossamer.refimpl.ir import Graph

import gossamer

from .conftest import chain_graph


class NamedOnly(Backend):
    name = "named_only"
    priority = 50
    default_selected = False

    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        return [Claim((n.name,)) for n in graph.nodes]

    def compile(self, graph: Graph, claim: Claim):
        (node,) = graph.nodes
        if node.op_type == "Add":
            return lambda x: x + x
        return lambda x: np.maximum(x, 0)


def test_it_takes_no_part_by_default_and_says_why(use_backends):
    use_backends(NamedOnly())
    placement = gossamer.load(chain_graph()).placement
    assert set(placement.backend_of.values()) == {"reference"}
    assert placement.excluded["named_only"] == "not selected (runs only when named)"


def test_named_it_runs(use_backends):
    use_backends(NamedOnly())
    placement = gossamer.load(chain_graph(), backends=["named_only"]).placement
    assert set(placement.backend_of.values()) == {"named_only"}


def test_named_in_the_environment_it_runs(use_backends, monkeypatch):
    use_backends(NamedOnly())
    monkeypatch.setenv("GOSSAMER_BACKENDS", "named_only")
    assert set(gossamer.load(chain_graph()).placement.backend_of.values()) == {"named_only"}
