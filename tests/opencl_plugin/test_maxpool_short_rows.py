"""MaxPool on short rows (kernels/pool.py short_row_text): a whole output row a work-item, each
input row two vector loads and every tap a constant shuffle of them, on rows of 8 to 32 inputs
with at most 16 outputs (mtcnn's pools): equal to the reference bit for bit with strides 1 and 2,
padding, ceil mode, dilation, 1-D, NaN and infinities, a plane count the work-group size does not
divide, and fp16 storage; rows outside those bounds keep maxpool8/16 or maxpool_f32."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.opencl_plugin.kernels import pool

import gossamer

from .conftest import check_against_reference
from .test_generated_kernels import plan_kernels
from .test_kernels import one_node, rand

pytestmark = pytest.mark.usefixtures("device")

GEOMETRIES = [
    ((2, 28, 22, 22), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),  # rnet 1
    ((2, 48, 9, 9), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),  # rnet 2
    ((1, 10, 10, 10), {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}),  # pnet
    ((1, 3, 21, 21), {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}),  # onet 2
    ((1, 3, 8, 8), {"kernel_shape": [2, 2], "strides": [2, 2]}),  # W = lanes: one load twice
    ((1, 5, 12, 10), {"kernel_shape": [3, 3], "strides": [1, 1]}),
    ((1, 7, 16, 16), {"kernel_shape": [3, 3], "strides": [1, 1], "pads": [1, 1, 1, 1]}),
    ((1, 3, 11, 30), {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}),
    ((1, 2, 13, 25), {"kernel_shape": [3, 3], "strides": [2, 2], "dilations": [2, 2]}),
    ((1, 3, 5, 20), {"kernel_shape": [3, 2], "strides": [2, 3], "pads": [0, 1, 2, 1]}),
    ((1, 3, 18), {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}),  # 1-D
]


def pooled(x, attrs):
    return one_node("MaxPool", {"x": x}, {}, attrs)


@pytest.mark.parametrize(("shape", "attrs"), GEOMETRIES)
def test_short_rows_match_the_reference(shape, attrs):
    graph, feeds = pooled(rand(*shape), attrs)
    sess = check_against_reference(graph, feeds, rtol=0, atol=0)
    assert any("maxpool_row" in k for k in plan_kernels(sess))


def test_short_rows_propagate_nan_and_infinities():
    x = rand(1, 3, 22, 22)
    x[0, 0, 2, 5], x[0, 1, 3, 21], x[0, 2, 21, 0] = np.nan, np.nan, np.nan
    x[0, 0, 7, 16], x[0, 1, 10, 10], x[0, 2, 0, 21] = np.inf, -np.inf, -np.inf
    graph, feeds = pooled(x, {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1})
    sess = check_against_reference(graph, feeds, rtol=0, atol=0)
    assert any("maxpool_row" in k for k in plan_kernels(sess))


@pytest.mark.parametrize(
    ("width", "stride", "kind"),
    [
        (7, 1, ("maxpool_f32",)),
        (40, 2, ("maxpool8", "maxpool16")),
        (34, 2, ("maxpool8", "maxpool16")),
    ],
)
def test_rows_outside_the_bounds_keep_the_other_kernels(width, stride, kind):
    """7 inputs: under one 8-wide load; 40 and 34: over two 16-wide loads"""
    attrs = {"kernel_shape": [3, 3], "strides": [stride, stride]}
    graph, feeds = pooled(rand(1, 2, 9, width), attrs)
    sess = check_against_reference(graph, feeds, rtol=0, atol=0)
    kinds = " ".join(plan_kernels(sess))
    assert "maxpool_row" not in kinds
    assert any(k in kinds for k in kind)


def test_short_rows_off_gives_the_same_values(monkeypatch):
    graph, feeds = pooled(rand(2, 28, 22, 22), GEOMETRIES[0][1])
    on = gossamer.load(graph, backends=["opencl"], optimize=0).run(None, feeds)[0]
    monkeypatch.setattr(pool, "SHORT_ROWS", False)
    sess = gossamer.load(graph, backends=["opencl"], optimize=0)
    assert not any("maxpool_row" in k for k in plan_kernels(sess))
    np.testing.assert_array_equal(sess.run(None, feeds)[0], on)


def test_short_rows_under_fp16_storage():
    graph, feeds = pooled(rand(2, 28, 22, 22), GEOMETRIES[0][1])
    sess = gossamer.load(graph, backends=["opencl-fp16"], optimize=0)
    half = {k: v.astype(np.float16).astype(np.float32) for k, v in feeds.items()}
    expected = gossamer.load(graph, backends=[], optimize=0).run(None, half)[0]
    np.testing.assert_array_equal(sess.run(None, feeds)[0], expected)
    assert any("maxpool_row" in k for k in plan_kernels(sess))
