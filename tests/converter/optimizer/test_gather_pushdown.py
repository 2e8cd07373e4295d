"""O2 Gather push-down: Gather(Mul(Cast(Q), S), ids) -> Mul(Cast(Gather(Q, ids)), S')."""

import numpy as np
import pytest
from gossamer.converter.optimizer import gather_pushdown, optimize
from gossamer.refimpl.ir import Node
from onnx import TensorProto

import gossamer

from ._helpers import graph_of, node, ops

IDS = np.array([[3, 0, 49], [7, -1, 3]], np.int64)


def _rewritten_bit_for_bit(g):
    """Runs gather_pushdown with the ids as a feed; the outputs must be identical."""
    g.initializers.pop("ids")
    g.inputs.append(type(g.outputs[0])("ids", "int64", IDS.shape))
    out, _ = optimize(g, passes=["gather_pushdown"])
    before = gossamer.load(g).run(None, {"ids": IDS})
    after = gossamer.load(out).run(None, {"ids": IDS})
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a, b)
    return out


RNG = np.random.default_rng(5)
Q = RNG.integers(-128, 128, (50, 8)).astype(np.int8)


def _table(scale, with_mul=True, axis=0, extra_reader=False, q=Q):
    nodes = [node("Cast", ["q"], ["f"], to=TensorProto.FLOAT)]
    data = "f"
    if with_mul:
        nodes.append(node("Mul", ["f", "s"], ["d"]))
        data = "d"
    nodes.append(node("Gather", [data, "ids"], ["y"], axis=axis))
    outputs = [("y", None)] + ([("f", None)] if extra_reader else [])
    inits = {"q": q, "ids": IDS}
    if with_mul:
        inits["s"] = scale
    g = graph_of(nodes, [], [(n, None) for n, _ in outputs], inits)
    return g


@pytest.mark.parametrize(
    "scale,gathers",
    [
        (RNG.random((50, 1)).astype(np.float32), 2),  # one scale per row: gathered too
        (np.array(0.02, np.float32), 1),  # one scale for all
        (RNG.random(8).astype(np.float32), 1),  # per column
    ],
    ids=["per_row", "scalar", "per_column"],
)
def test_gather_moves_before_the_dequantization(scale, gathers):
    out = _rewritten_bit_for_bit(_table(scale))
    assert ops(out) == {"Gather": gathers, "Cast": 1, "Mul": 1}
    first = next(n for n in out.nodes if n.op_type == "Gather")
    assert first.inputs[0] == "q"


def test_a_cast_alone_moves_after_the_gather():
    out = _rewritten_bit_for_bit(_table(None, with_mul=False))
    assert [n.op_type for n in out.nodes] == ["Gather", "Cast"]


def test_other_axes_and_shared_tables_are_left_alone():
    for g in (
        _table(np.array(0.5, np.float32), axis=1),
        _table(np.array(0.5, np.float32), extra_reader=True),
    ):
        g.initializers["ids"] = np.array([1, 2], np.int64)
        _, report = optimize(g, passes=["gather_pushdown"])
        assert report.changed("gather_pushdown") == 0


def test_a_scale_that_widens_the_table_is_left_alone():
    q = RNG.integers(-128, 128, (50, 1)).astype(np.int8)
    g = _table(RNG.random((1, 8)).astype(np.float32), q=q)
    _, report = optimize(g, passes=["gather_pushdown"])
    assert report.changed("gather_pushdown") == 0


def test_the_pushed_down_gather_stays_after_the_producer_of_its_ids():
    g = _table(np.array(0.5, np.float32))
    g.initializers.pop("ids")
    g.inputs.append(type(g.outputs[0])("raw", "int64", IDS.shape))
    g.nodes.insert(2, Node("Identity", ["raw"], ["ids"], {}, "make_ids"))  # after Cast and Mul
    assert gather_pushdown.run(g)
    order = [n.name for n in g.nodes]
    assert order == [n.name for n in g.topological_nodes()]
