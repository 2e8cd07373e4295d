"""Raising a model's opset: allowed only when every op keeps its meaning."""

from __future__ import annotations

import pytest
from gossamer.converter.quantization.opset_compat import changed_ops
from gossamer.refimpl.ir import Graph, Node, Value


def one_op(op_type: str) -> Graph:
    return Graph([Node(op_type, ["x"], ["y"], {}, "n")], [Value("x")], [Value("y")])


@pytest.mark.parametrize(
    ("op", "old", "new"),
    [("Relu", 11, 21), ("Conv", 12, 21), ("Cast", 17, 21), ("Split", 13, 18), ("Resize", 13, 21)],
)
def test_versions_that_only_add_optional_inputs_or_attributes_keep_the_meaning(op, old, new):
    assert changed_ops(one_op(op), old, new) == []


@pytest.mark.parametrize(
    ("op", "old", "new"),
    [
        ("Softmax", 12, 13),
        ("Squeeze", 11, 13),
        ("ReduceMean", 13, 18),
        ("Clip", 10, 11),
        ("GroupNormalization", 18, 21),
    ],  # fmt: skip
)
def test_versions_that_move_attributes_or_change_defaults_change_the_meaning(op, old, new):
    assert changed_ops(one_op(op), old, new) == [op]
