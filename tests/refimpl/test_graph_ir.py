"""Graph IR validation: every structural defect is a GraphValidationError that names it."""

import numpy as np
import pytest
from gossamer.refimpl.errors import GraphValidationError
from gossamer.refimpl.ir import Graph, Node, Value


def _graph(nodes, inputs=("x",), outputs=("y",), inits=None):
    return Graph(
        nodes=nodes,
        inputs=[Value(n, "float32", (2,)) for n in inputs],
        outputs=[Value(n) for n in outputs],
        initializers=inits or {},
    )


def test_valid_chain_passes():
    g = _graph([Node("Relu", ["x"], ["t"]), Node("Relu", ["t"], ["y"])])
    g.validate()


def test_topological_order_follows_dependencies_not_file_order():
    g = _graph(
        [Node("Relu", ["t"], ["y"], name="second"), Node("Relu", ["x"], ["t"], name="first")]
    )
    assert [n.name for n in g.topological_nodes()] == ["first", "second"]


def test_a_graph_already_in_order_comes_back_in_file_order_as_a_new_list():
    nodes = [Node("Relu", ["x"], ["t"], name="a"), Node("Relu", ["x"], ["u"], name="b"),
             Node("Add", ["t", "u"], ["y"], name="c")]  # fmt: skip
    g = _graph(nodes)
    order = g.topological_nodes()
    assert order == nodes and order is not g.nodes


def test_the_order_is_stable_for_independent_nodes_after_a_reordered_one():
    g = _graph(
        [
            Node("Relu", ["t"], ["u"], name="late"),  # reads what "early" makes
            Node("Relu", ["x"], ["v"], name="free"),
            Node("Relu", ["x"], ["t"], name="early"),
            Node("Add", ["u", "v"], ["y"], name="sum"),
        ]
    )
    assert [n.name for n in g.topological_nodes()] == ["free", "early", "late", "sum"]


def test_a_node_reading_its_own_output_is_a_cycle():
    g = _graph([Node("Add", ["x", "y"], ["y"], name="loop")])
    with pytest.raises(GraphValidationError, match="cycle.*loop"):
        g.validate()


def test_dangling_input_is_named():
    g = _graph([Node("Add", ["x", "ghost"], ["y"], name="add")])
    with pytest.raises(GraphValidationError, match="ghost"):
        g.validate()


def test_cycle_is_reported_with_its_nodes():
    g = _graph(
        [
            Node("Add", ["x", "b"], ["a"], name="n1"),
            Node("Relu", ["a"], ["b"], name="n2"),
            Node("Relu", ["a"], ["y"], name="n3"),
        ]
    )
    with pytest.raises(GraphValidationError, match="cycle.*n1"):
        g.validate()


def test_duplicate_output_names_both_producers():
    g = _graph([Node("Relu", ["x"], ["y"], name="p1"), Node("Relu", ["x"], ["y"], name="p2")])
    with pytest.raises(GraphValidationError, match="produced twice.*p1.*p2"):
        g.validate()


def test_node_overwriting_a_graph_input_is_rejected():
    g = _graph([Node("Relu", ["x"], ["x"], name="self")], outputs=("x",))
    with pytest.raises(GraphValidationError, match="already a graph input"):
        g.validate()


def test_missing_graph_output_is_rejected():
    g = _graph([Node("Relu", ["x"], ["t"])], outputs=("nowhere",))
    with pytest.raises(GraphValidationError, match="nowhere"):
        g.validate()


def test_duplicate_graph_input_is_rejected():
    g = _graph([Node("Relu", ["x"], ["y"])], inputs=("x", "x"))
    with pytest.raises(GraphValidationError, match="listed twice"):
        g.validate()


def test_subgraph_may_read_outer_scope_names():
    body = Graph(nodes=[Node("Add", ["x", "outer"], ["r"])], inputs=[], outputs=[Value("r")])
    g = _graph(
        [
            Node("Relu", ["x"], ["outer"]),
            Node("If", ["c"], ["y"], {"then_branch": body, "else_branch": body}),
        ],
        inputs=("x", "c"),
    )
    g.validate()
    assert body.free_names() == {"x", "outer"}


def test_subgraph_reading_an_unknown_name_is_rejected():
    body = Graph(nodes=[Node("Relu", ["nowhere"], ["r"])], inputs=[], outputs=[Value("r")])
    g = _graph([Node("If", ["x"], ["y"], {"then_branch": body, "else_branch": body})])
    with pytest.raises(GraphValidationError, match="nowhere"):
        g.validate()


def test_initializers_count_as_available():
    g = _graph([Node("Add", ["x", "w"], ["y"])], inits={"w": np.ones(2, np.float32)})
    g.validate()
