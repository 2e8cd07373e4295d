"""Shape inference gives each cotangent its forward input's dtype and shape, so backends can
claim backward nodes before running."""

from __future__ import annotations

import numpy as np
from gossamer.refimpl.grad import GRAD_DOMAIN
from gossamer.refimpl.ir import Graph, Node, Value
from gossamer.refimpl.shape_inference import infer_shapes


def _graph(nodes, inputs) -> Graph:
    return Graph(
        nodes=nodes,
        inputs=[Value(n, "float32", s) for n, s in inputs.items()],
        outputs=[Value(o) for n in nodes for o in n.outputs],
        opsets={"": 17, GRAD_DOMAIN: 17},
    )


def test_each_cotangent_has_its_forward_inputs_type():
    node = Node("ConvGrad", ["dy", "x", "w", "b"], ["dx", "dw", "db"], domain=GRAD_DOMAIN)
    shapes = {"dy": (2, 4, 3, 3), "x": (2, 3, 5, 5), "w": (4, 3, 3, 3), "b": (4,)}
    found = infer_shapes(_graph([node], shapes))
    for out, source in (("dx", "x"), ("dw", "w"), ("db", "b")):
        assert (found[out].dtype, tuple(found[out].shape)) == ("float32", shapes[source])


def test_variadic_inputs_map_in_order_and_unknown_positions_stay_unknown():
    concat = Node("ConcatGrad", ["dy", "a", "b"], ["da", "db"], {"axis": 0}, domain=GRAD_DOMAIN)
    split = Node("SplitGrad", ["d0", "d1"], ["dx"], {"axis": 0}, domain=GRAD_DOMAIN)
    shapes = {"dy": (5, 2), "a": (2, 2), "b": (3, 2), "d0": (1,), "d1": (1,)}
    found = infer_shapes(_graph([concat, split], shapes))
    assert tuple(found["da"].shape) == (2, 2) and tuple(found["db"].shape) == (3, 2)
    assert found["dx"].dtype is None
    assert np.dtype(found["da"].dtype) == np.float32


def test_a_cotangent_of_an_input_the_node_does_not_read_has_dys_dtype():
    """TransposeGrad reads only dy, SoftmaxGrad dy and y: dx gets dy's dtype (backends can claim
    the nodes that consume it), its shape stays unknown."""
    transpose = Node("TransposeGrad", ["dy"], ["dx"], {"perm": [1, 0]}, domain=GRAD_DOMAIN)
    softmax = Node("SoftmaxGrad", ["dz", "z"], ["dt"], {"axis": -1}, domain=GRAD_DOMAIN)
    found = infer_shapes(_graph([transpose, softmax], {"dy": (2, 3), "dz": (4,), "z": (4,)}))
    for out in ("dx", "dt"):
        assert np.dtype(found[out].dtype) == np.float32
    assert found["dx"].shape is None
