"""Subgraph backends: granted claims are cut out, compiled, fused and run."""

from __future__ import annotations

import numpy as np
from gossamer.plugins import Backend, Claim, Decline
from gossamer.refimpl.ir import Graph, Node

import gossamer

from .conftest import feeds_for, tensor


class AddReluFusion(Backend):
    """Claims every Add whose output feeds a Relu, with that Relu, as one partition."""

    name = "fusion"
    priority = 10

    def __init__(self, fail_compile: str | None = None) -> None:
        self.fail_compile = fail_compile
        self.compiled: list[tuple[list[str], list[str], list[str]]] = []

    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        consumers: dict[str, list[Node]] = {}
        for node in graph.nodes:
            for name in node.inputs:
                consumers.setdefault(name, []).append(node)
        answers: list[Claim | Decline] = []
        for node in graph.nodes:
            if node.op_type != "Add":
                continue
            relus = [c for c in consumers.get(node.outputs[0], []) if c.op_type == "Relu"]
            if relus:
                answers.append(Claim((node.name, relus[0].name), note="add+relu"))
            else:
                answers.append(Decline(node.name, "Add without a Relu after it"))
        return answers

    def compile(self, graph: Graph, claim: Claim):
        if self.fail_compile:
            raise RuntimeError(self.fail_compile)
        inputs = [v.name for v in graph.inputs]
        outputs = [v.name for v in graph.outputs]
        self.compiled.append(([n.name for n in graph.nodes], inputs, outputs))
        nodes = list(graph.nodes)
        constants = dict(graph.initializers)

        def run(*values):
            env = dict(constants) | dict(zip(inputs, values))
            for node in nodes:
                args = [env[i] for i in node.inputs]
                if node.op_type == "Add":
                    env[node.outputs[0]] = np.add(args[0], args[1])
                else:
                    env[node.outputs[0]] = np.maximum(args[0], args[0].dtype.type(0))
            return tuple(env[o] for o in outputs)

        return run


def reference_outputs(graph: Graph, feeds):
    return gossamer.load(graph, backends=[]).run(None, feeds)


def two_chains_sharing_x() -> Graph:
    """x feeds two Add->Relu chains (two partitions), joined by a Mul on the reference."""
    return Graph(
        nodes=[
            Node("Add", ["x", "b1"], ["s1"], name="add1"),
            Node("Relu", ["s1"], ["r1"], name="relu1"),
            Node("Add", ["x", "x"], ["s2"], name="add2"),
            Node("Relu", ["s2"], ["r2"], name="relu2"),
            Node("Mul", ["r1", "r2"], ["y"], name="mul"),
        ],
        inputs=[tensor("x")],
        outputs=[tensor("y")],
        initializers={"b1": np.full((2, 3), 0.5, np.float32)},
        opsets={"": 17},
    )


def test_fused_chain_runs_on_the_backend_and_matches_reference(use_backends):
    backend = AddReluFusion()
    use_backends(backend)
    graph = two_chains_sharing_x()
    feeds = feeds_for(graph)
    sess = gossamer.load(graph)
    assert sess.placement.backend_of == {
        "add1": "fusion",
        "relu1": "fusion",
        "add2": "fusion",
        "relu2": "fusion",
        "mul": "reference",
    }
    assert [len(c.nodes) for _, c in sess.placement.partitions] == [2, 2]
    (y,) = sess.run(None, feeds)
    np.testing.assert_allclose(y, reference_outputs(graph, feeds)[0], rtol=1e-6)


def test_tensor_consumed_by_two_partitions_is_an_input_of_both(use_backends):
    backend = AddReluFusion()
    use_backends(backend)
    gossamer.load(two_chains_sharing_x())
    assert sorted(inputs for _, inputs, _ in backend.compiled) == [["x"], ["x"]]


def test_partition_constants_are_not_partition_inputs(use_backends):
    backend = AddReluFusion()
    use_backends(backend)
    gossamer.load(two_chains_sharing_x())
    assert all("b1" not in inputs for _, inputs, _ in backend.compiled)


def test_graph_output_that_is_an_intermediate_of_a_partition_is_exposed(use_backends):
    backend = AddReluFusion()
    use_backends(backend)
    graph = Graph(
        nodes=[
            Node("Add", ["x", "x"], ["s"], name="add"),
            Node("Relu", ["s"], ["y"], name="relu"),
        ],
        inputs=[tensor("x")],
        outputs=[tensor("y"), tensor("s")],
        opsets={"": 17},
    )
    feeds = feeds_for(graph)
    y, s = gossamer.load(graph).run(None, feeds)
    assert backend.compiled == [(["add", "relu"], ["x"], ["s", "y"])]
    np.testing.assert_array_equal(s, 2 * feeds["x"])
    np.testing.assert_array_equal(y, np.maximum(2 * feeds["x"], 0))


def test_intermediate_read_outside_the_partition_is_exposed(use_backends):
    backend = AddReluFusion()
    use_backends(backend)
    graph = Graph(
        nodes=[
            Node("Add", ["x", "x"], ["s"], name="add"),
            Node("Relu", ["s"], ["r"], name="relu"),
            Node("Sub", ["r", "s"], ["y"], name="sub"),
        ],
        inputs=[tensor("x")],
        outputs=[tensor("y")],
        opsets={"": 17},
    )
    feeds = feeds_for(graph)
    (y,) = gossamer.load(graph).run(None, feeds)
    assert backend.compiled[0][2] == ["s", "r"]
    np.testing.assert_allclose(y, reference_outputs(graph, feeds)[0])


def test_chain_crossing_partition_boundaries_matches_reference(use_backends):
    use_backends(AddReluFusion())
    graph = Graph(
        nodes=[
            Node("Add", ["x", "x"], ["s1"], name="add1"),
            Node("Relu", ["s1"], ["r1"], name="relu1"),
            Node("Neg", ["r1"], ["n"], name="neg"),
            Node("Add", ["n", "x"], ["s2"], name="add2"),
            Node("Relu", ["s2"], ["y"], name="relu2"),
        ],
        inputs=[tensor("x")],
        outputs=[tensor("y")],
        opsets={"": 17},
    )
    feeds = feeds_for(graph)
    sess = gossamer.load(graph)
    assert sess.placement.summary() == {"fusion": 4, "reference": 1}
    np.testing.assert_allclose(sess.run(None, feeds)[0], reference_outputs(graph, feeds)[0])


def test_compile_raising_falls_back_to_reference_with_the_reason(use_backends):
    use_backends(AddReluFusion(fail_compile="out of device memory"))
    graph = two_chains_sharing_x()
    feeds = feeds_for(graph)
    sess = gossamer.load(graph)
    assert set(sess.placement.backend_of.values()) == {"reference"}
    assert sess.placement.partitions == []
    reason = sess.placement.declined["add1"]["fusion"]
    assert reason == "compile failed: RuntimeError: out of device memory"
    np.testing.assert_allclose(sess.run(None, feeds)[0], reference_outputs(graph, feeds)[0])
