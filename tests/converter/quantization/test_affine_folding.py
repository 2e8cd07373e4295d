"""Folding constant per-channel Mul/Add after a Conv into it, and removing Mul by 1."""

import numpy as np
from gossamer.converter.quantization.affine_folding import fold_affine
from gossamer.converter.quantization.runner import reference_runner

from .graphs import build


def _graph(scale_shape=(4, 1, 1)):
    rng = np.random.default_rng(0)
    return build(
        [
            ("Conv", ["x", "w", "b"], ["c"], {"pads": [1, 1, 1, 1]}),
            ("Mul", ["a", "c"], ["m"], {}),
            ("Add", ["m", "d"], ["s"], {}),
            ("HardSwish", ["s"], ["h"], {}),
            ("Mul", ["h", "one"], ["y"], {}),
        ],
        [("x", [1, 3, 8, 8])],
        [("y", None)],
        {
            "w": rng.standard_normal((4, 3, 3, 3)),
            "b": rng.standard_normal(4),
            "a": rng.uniform(0.5, 2.0, scale_shape),
            "d": np.float32(0.3),
            "one": np.ones(1),
        },
    )


def test_conv_mul_add_become_one_conv_with_the_same_output():
    graph = _graph()
    x = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)
    (before,) = reference_runner(graph)({"x": x}, [])
    changes = fold_affine(graph)
    assert [n.op_type for n in graph.nodes] == ["Conv", "HardSwish"]
    assert len(changes) == 3
    (after,) = reference_runner(graph)({"x": x}, [])
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-5)
    assert set(graph.initializers) == {n for node in graph.nodes for n in node.inputs[1:]}


def test_a_scale_that_is_not_per_output_channel_is_left_alone():
    graph = _graph(scale_shape=(1, 1, 8))  # varies along the width, not the channels
    fold_affine(graph)
    assert [n.op_type for n in graph.nodes][:2] == ["Conv", "Mul"]
