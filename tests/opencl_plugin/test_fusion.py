"""Element-wise grouping: chains fuse into one kernel; a value needed elsewhere ends a group."""

from __future__ import annotations

from gossamer.opencl_plugin.fusion import describe, elementwise_groups
from gossamer.refimpl.ir import Node


def groups(nodes, escaping=()):
    fusible = {n.name for n in nodes if n.op_type != "Conv"}
    return [[n.name for n in g] for g in elementwise_groups(nodes, fusible, escaping)]


def test_a_chain_is_one_group():
    nodes = [
        Node("Add", ["x", "b"], ["s"], name="add"),
        Node("Relu", ["s"], ["r"], name="relu"),
        Node("Mul", ["r", "k"], ["y"], name="mul"),
    ]
    assert groups(nodes, ["y"]) == [["add", "relu", "mul"]]


def test_a_value_needed_outside_the_partition_ends_the_group():
    nodes = [Node("Add", ["x", "b"], ["s"], name="add"), Node("Relu", ["s"], ["y"], name="relu")]
    assert groups(nodes, ["s", "y"]) == [["add"], ["relu"]]


def test_a_value_read_by_a_non_elementwise_node_ends_the_group():
    nodes = [
        Node("Add", ["x", "b"], ["s"], name="add"),
        Node("Relu", ["s"], ["r"], name="relu"),
        Node("Conv", ["s", "w"], ["c"], name="conv"),
    ]
    assert groups(nodes, ["r", "c"]) == [["add"], ["relu"]]


def test_a_diamond_inside_the_chain_fuses():
    nodes = [
        Node("Sigmoid", ["x"], ["s"], name="sig"),
        Node("Mul", ["x", "s"], ["m"], name="mul"),  # x * sigmoid(x): x read twice
        Node("Add", ["m", "s"], ["y"], name="add"),
    ]
    assert groups(nodes, ["y"]) == [["sig", "mul", "add"]]


def test_describe_names_only_groups_of_more_than_one_node():
    nodes = [Node("Add", ["x", "b"], ["s"], name="add"), Node("Relu", ["s"], ["y"], name="relu")]
    fused = elementwise_groups(nodes, {"add", "relu"}, ["y"])
    assert describe(fused) == "Add+Relu"
    assert describe(elementwise_groups(nodes, {"add", "relu"}, ["s", "y"])) == ""
