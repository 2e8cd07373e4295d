"""Every backend's early-start hook (`run_starts` on its impls' `segment_builder`) runs as each
run begins, also when a session mixes backends that name different hooks."""

from __future__ import annotations

import numpy as np
from gossamer.plugins import Backend, Claim, Decline
from gossamer.refimpl.ir import Graph

import gossamer

from .conftest import chain_graph, feeds_for


class OneOpBackend(Backend):
    """Claims every node of one op type, each as its own partition; its compiled partitions name
    a segment builder (that records nothing) whose `run_starts` counts the runs begun."""

    priority = 10

    def __init__(self, name: str, op_type: str, with_hook: bool = True) -> None:
        self.name = name
        self.op_type = op_type
        self.starts = 0

        def builder(program):
            return None  # no segments: only the early-start hook matters here

        if with_hook:

            def run_starts() -> None:
                self.starts += 1

            builder.run_starts = run_starts  # type: ignore[attr-defined]
        self.builder = builder

    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        return [
            Claim((n.name,)) if n.op_type == self.op_type else Decline(n.name, "other op")
            for n in graph.nodes
        ]

    def compile(self, graph: Graph, claim: Claim):
        op_type = self.op_type

        def run(x):
            return (np.add(x, x) if op_type == "Add" else np.maximum(x, x.dtype.type(0)),)

        run.segment_builder = self.builder  # type: ignore[attr-defined]
        return run


def run_three_times(backends: list[str]) -> None:
    graph = chain_graph()
    feeds = feeds_for(graph)
    sess = gossamer.load(graph, backends=backends)
    want = np.maximum(feeds["x"] * 2, 0)
    for _ in range(3):
        np.testing.assert_array_equal(sess.run(None, feeds)[0], want)


def test_each_backends_hook_runs_as_every_run_begins(use_backends):
    adds, relus = OneOpBackend("adds", "Add"), OneOpBackend("relus", "Relu")
    use_backends(adds, relus)
    run_three_times(["adds", "relus"])
    assert (adds.starts, relus.starts) == (3, 3)


def test_a_hook_runs_when_the_first_builder_names_none(use_backends):
    adds, relus = OneOpBackend("adds", "Add", with_hook=False), OneOpBackend("relus", "Relu")
    use_backends(adds, relus)
    run_three_times(["adds", "relus"])
    assert relus.starts == 3


def test_a_single_backends_hook_runs_once_a_run(use_backends):
    adds = OneOpBackend("adds", "Add")
    use_backends(adds)
    graph = chain_graph()
    sess = gossamer.load(graph, backends=["adds"])
    for _ in range(2):
        sess.run(None, feeds_for(graph))
    assert adds.starts == 2
