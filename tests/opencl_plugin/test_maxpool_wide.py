"""MaxPool in both row tiles (kernels/pool.py WIDE): 8 outputs a work-item in float8 and 16 in
float16 (chosen on rows of 16+ outputs where the device's native float vector width is 16),
whatever this device's width: strides 1 and 2, padding, ceil mode, dilation, rows that end in a
partial vector, NaN propagation, one model holding both kernels, and fp16 storage."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.opencl_plugin.kernels import pool
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

from .conftest import check_against_reference
from .test_generated_kernels import plan_kernels
from .test_kernels import one_node, rand

pytestmark = pytest.mark.usefixtures("device")


@pytest.fixture(params=[False, True], ids=["float8", "float16"])
def wide(request, monkeypatch):
    monkeypatch.setattr(pool, "WIDE", request.param)
    monkeypatch.setattr(pool, "SHORT_ROWS", False)  # test_maxpool_short_rows.py tests those
    return request.param


GEOMETRIES = [
    ((1, 3, 9, 40), {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1]}),
    ((2, 4, 13, 67), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),
    ((1, 2, 8, 64), {"kernel_shape": [2, 2], "strides": [2, 2]}),  # 32 outputs: full vectors
    ((1, 3, 10, 50), {"kernel_shape": [5, 5], "strides": [1, 1], "pads": [2, 2, 2, 2]}),
    ((1, 2, 9, 45), {"kernel_shape": [3, 3], "strides": [2, 2], "dilations": [2, 2]}),
    ((1, 2, 3, 38), {"kernel_shape": [3], "strides": [1], "pads": [1, 1]}),  # 1-D
]


def pooled(x, attrs):
    return one_node("MaxPool", {"x": x}, {}, attrs)


@pytest.mark.parametrize(("x", "attrs"), GEOMETRIES)
def test_maxpool_rows_match_the_reference(x, attrs, wide):
    shape = x if len(attrs["kernel_shape"]) == 2 else (x[0], x[1], x[3])
    graph, feeds = pooled(rand(*shape), attrs)
    sess = check_against_reference(graph, feeds, rtol=0, atol=0)
    kinds = " ".join(plan_kernels(sess))
    assert ("maxpool16_f32" in kinds) == wide and ("maxpool8_f32" in kinds) == (not wide)


def test_maxpool_propagates_nan_and_infinities(wide):
    x = rand(1, 2, 6, 40)
    x[0, 0, 2, 5], x[0, 1, 3, 30], x[0, 0, 4, 17] = np.nan, -np.inf, np.inf
    graph, feeds = pooled(x, {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1]})
    check_against_reference(graph, feeds, rtol=0, atol=0)


def test_a_model_with_both_row_tiles(wide):
    """rows of 16+ outputs take the 16-wide tile, shorter ones the 8-wide one, in one program"""
    attrs = {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}
    nodes = [Node("MaxPool", ["x"], ["t"], attrs, name="a")]
    nodes.append(Node("MaxPool", ["t"], ["y"], attrs, name="b"))
    graph = Graph(
        nodes=nodes,
        inputs=[Value("x", "float32", (1, 3, 40, 40))],
        outputs=[Value("y")],
        opsets={"": 17},
    )
    sess = check_against_reference(graph, {"x": rand(1, 3, 40, 40)}, rtol=0, atol=0)
    kinds = " ".join(plan_kernels(sess))
    assert "maxpool8_f32" in kinds and ("maxpool16_f32" in kinds) == wide


def test_maxpool_under_fp16_storage(wide):
    graph, feeds = pooled(rand(1, 3, 7, 37), {"kernel_shape": [3, 3], "strides": [2, 2]})
    sess = gossamer.load(graph, backends=["opencl-fp16"], optimize=0)
    half = {k: v.astype(np.float16).astype(np.float32) for k, v in feeds.items()}
    expected = gossamer.load(graph, backends=[], optimize=0).run(None, half)[0]
    np.testing.assert_array_equal(sess.run(None, feeds)[0], expected)
