"""The planner: which backend runs each node, and why the others declined."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.plugins import Backend, Claim, Decline, KernelBackend, kernel
from gossamer.plugins.manager import select_backends
from gossamer.plugins.planner import plan
from gossamer.refimpl.ir import Graph, Node
from gossamer.refimpl.ops.op_relu import relu_6

import gossamer

from .conftest import chain_graph, feeds_for, tensor


def relu_kernel_backend(name: str, priority: int = 0, **kernel_options) -> KernelBackend:
    """A fresh KernelBackend class with one Relu kernel that counts its calls."""

    def relu(x):
        cls.calls += 1
        return np.maximum(x, x.dtype.type(0))

    cls = type(
        f"Relu_{name}",
        (KernelBackend,),
        {
            "name": name,
            "priority": priority,
            "calls": 0,
            "relu": kernel(relu_6, **kernel_options)(relu),
        },
    )
    return cls()


class ClaimEach(Backend):
    """A subgraph backend that claims whatever node sets it is given (compile: not needed)."""

    def __init__(self, name: str, claims: list[tuple[str, ...]], min_size: int = 1) -> None:
        self.name = name
        self.claims = claims
        self.min_partition_size = min_size

    def get_capability(self, graph: Graph) -> list[Claim | Decline]:
        return [Claim(nodes) for nodes in self.claims]


def three_node_chain() -> Graph:
    """x -> A (Relu) -> B (Neg) -> C (Relu) -> y."""
    return Graph(
        nodes=[
            Node("Relu", ["x"], ["a"], name="A"),
            Node("Neg", ["a"], ["b"], name="B"),
            Node("Relu", ["b"], ["y"], name="C"),
        ],
        inputs=[tensor("x")],
        outputs=[tensor("y")],
        opsets={"": 17},
    )


def test_kernel_backend_takes_relu_and_leaves_other_ops_on_reference(use_backends):
    use_backends(relu_kernel_backend("fastrelu"))
    placement = gossamer.load(chain_graph()).placement
    assert placement.backend_of == {"add": "reference", "relu": "fastrelu"}
    assert placement.declined["add"]["fastrelu"] == "no kernel for Add"


def test_granted_kernel_runs_and_matches_reference(use_backends):
    backend = relu_kernel_backend("fastrelu")
    use_backends(backend)
    graph = chain_graph()
    feeds = feeds_for(graph)
    (y,) = gossamer.load(graph).run(None, feeds)
    np.testing.assert_array_equal(y, np.maximum(2 * feeds["x"], 0))
    assert type(backend).calls == 1


def test_unsupported_dtype_is_declined_with_a_dtype_reason(use_backends):
    use_backends(relu_kernel_backend("fastrelu", dtypes=["float32"]))
    placement = gossamer.load(chain_graph("float64")).placement
    assert placement.backend_of["relu"] == "reference"
    reason = placement.declined["relu"]["fastrelu"]
    assert "dtype float64 not supported" in reason and "float32" in reason


def test_supports_predicate_returning_a_string_is_the_shown_reason(use_backends):
    use_backends(relu_kernel_backend("fastrelu", supports=lambda node, inputs: "rank 4 only"))
    placement = gossamer.load(chain_graph()).placement
    assert placement.backend_of["relu"] == "reference"
    assert placement.declined["relu"]["fastrelu"] == "rank 4 only"


def test_supports_predicate_returning_false_declines_with_generic_reason(use_backends):
    use_backends(relu_kernel_backend("fastrelu", supports=lambda node, inputs: False))
    placement = gossamer.load(chain_graph()).placement
    assert placement.declined["relu"]["fastrelu"] == "attributes or shapes not supported"


def test_supports_predicate_sees_the_node_and_inferred_input_types(use_backends):
    seen = []

    def supports(node, inputs):
        seen.append((node.name, [v.describe() for v in inputs]))
        return True

    use_backends(relu_kernel_backend("fastrelu", supports=supports))
    gossamer.load(chain_graph())
    assert seen == [("relu", ["float32[2, 3]"])]


def test_higher_priority_wins_and_the_other_records_the_overlap(use_backends):
    use_backends(relu_kernel_backend("low", priority=1), relu_kernel_backend("high", priority=5))
    placement = gossamer.load(chain_graph()).placement
    assert placement.backend_of["relu"] == "high"
    reason = placement.declined["relu"]["low"]
    assert reason.startswith("overlaps a partition already granted to high")


def test_equal_priority_is_broken_by_name_not_registration_order(use_backends):
    use_backends(relu_kernel_backend("zeta", priority=3), relu_kernel_backend("alpha", priority=3))
    placement = gossamer.load(chain_graph()).placement
    assert placement.backend_of["relu"] == "alpha"
    assert "overlaps" in placement.declined["relu"]["zeta"]


def test_planning_is_deterministic(use_backends):
    use_backends(relu_kernel_backend("zeta", priority=3), relu_kernel_backend("alpha", priority=3))
    graph = chain_graph()
    selected, excluded = select_backends()
    first = plan(graph, selected, excluded)
    for backends in (selected, list(reversed(selected))):
        again = plan(graph, backends, excluded)
        assert again.backend_of == first.backend_of
        assert again.declined == first.declined
        assert [(b.name, c) for b, c in again.partitions] == [
            (b.name, c) for b, c in first.partitions
        ]


def test_claim_smaller_than_min_partition_size_is_declined(use_backends):
    use_backends(ClaimEach("npu", [("relu",)], min_size=2))
    placement = gossamer.load(chain_graph()).placement
    assert placement.backend_of["relu"] == "reference"
    assert placement.declined["relu"]["npu"].startswith("partition too small (1 < 2")


def test_non_convex_claim_is_declined(use_backends):
    use_backends(ClaimEach("npu", [("A", "C")]))
    placement = gossamer.load(three_node_chain()).placement
    assert set(placement.backend_of.values()) == {"reference"}
    assert "not convex" in placement.declined["A"]["npu"]
    assert "not convex" in placement.declined["C"]["npu"]


def test_claim_naming_an_unknown_node_is_declined(use_backends):
    use_backends(ClaimEach("npu", [("relu", "ghost")]))
    placement = gossamer.load(chain_graph()).placement
    assert placement.backend_of["relu"] == "reference"
    assert "invalid claim" in placement.declined["relu"]["npu"]


def test_node_a_backend_does_not_mention_is_recorded_as_not_claimed(use_backends):
    use_backends(ClaimEach("npu", []))
    placement = gossamer.load(chain_graph()).placement
    assert placement.declined["add"]["npu"] == "not claimed"


def test_get_capability_raising_leaves_the_backend_out(use_backends):
    class Broken(Backend):
        name = "broken"

        def get_capability(self, graph):
            raise RuntimeError("driver crashed")

    use_backends(Broken())
    placement = gossamer.load(chain_graph()).placement
    assert set(placement.backend_of.values()) == {"reference"}
    assert "get_capability raised RuntimeError: driver crashed" in placement.excluded["broken"]


def test_unavailable_backend_takes_no_part(use_backends):
    class Absent(KernelBackend):
        name = "absent"
        relu = kernel(relu_6)(lambda x: np.maximum(x, 0))

        def is_available(self):
            return "no device"

    use_backends(Absent())
    placement = gossamer.load(chain_graph()).placement
    assert placement.backend_of["relu"] == "reference"
    assert placement.excluded["absent"] == "unavailable: no device"


@pytest.mark.parametrize(("node_domain", "opset_key"), [("", "ai.onnx"), ("ai.onnx", "")])
def test_kernel_backend_treats_ai_onnx_and_empty_domain_alike(use_backends, node_domain, opset_key):
    use_backends(relu_kernel_backend("fastrelu"))
    graph = Graph(
        nodes=[Node("Relu", ["x"], ["y"], name="relu", domain=node_domain)],
        inputs=[tensor("x")],
        outputs=[tensor("y")],
        opsets={opset_key: 17},
    )
    sess = gossamer.load(graph)
    assert sess.placement.backend_of == {"relu": "fastrelu"}
    x = np.array([[-1, 0, 2]], np.float32).repeat(2, 0)
    np.testing.assert_array_equal(sess.run(None, {"x": x})[0], np.maximum(x, 0))


def test_a_placement_compares_and_prints_its_fields():
    from gossamer.plugins.planner import Placement

    a = Placement(backend_of={"n": "reference"}, excluded={"npu": "not selected"})
    b = Placement(excluded={"npu": "not selected"})
    assert a != b and b.backend_of == {} and b.partitions == [] and b.declined == {}
    b.backend_of["n"] = "reference"
    assert a == b and Placement() == Placement() and Placement().backend_of is not b.backend_of
    assert repr(a) == (
        "Placement(backend_of={'n': 'reference'}, partitions=[], declined={}, "
        "excluded={'npu': 'not selected'})"
    )
    assert a.summary() == {"reference": 1}
