"""fp16 storage: every tensor on the device is half (loads widen, stores round to nearest even),
arithmetic stays float; results within half's precision; the pool takes half the bytes."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

from .test_kernels import rand


def conv_chain() -> tuple[Graph, dict[str, np.ndarray]]:
    nodes = [
        Node("Conv", ["x", "w", "b"], ["c"], {"pads": [1, 1, 1, 1]}, name="conv"),
        Node("Sigmoid", ["c"], ["s"], name="sig"),
        Node("Mul", ["c", "s"], ["m"], name="swish"),
        Node("MaxPool", ["m"], ["p"], {"kernel_shape": [2, 2], "strides": [2, 2]}, name="pool"),
        Node("Softmax", ["p"], ["y"], {"axis": 1}, name="softmax"),
    ]
    graph = Graph(
        nodes=nodes,
        inputs=[Value("x", "float32", (1, 3, 8, 8))],
        outputs=[Value("y"), Value("m")],
        initializers={"w": rand(8, 3, 3, 3) * 0.3, "b": rand(8)},
        opsets={"": 17},
    )
    return graph, {"x": rand(1, 3, 8, 8)}


def pool_bytes(sess: gossamer.Session) -> int:
    (part,) = [o.impl for o in sess._program.overrides.values() if o.partition]
    return sum(plan.pool_bytes for plan in part.plans())


@pytest.mark.usefixtures("device")
@pytest.mark.parametrize("how", ["backend", "env"])
def test_fp16_storage_matches_the_reference_within_half_precision(how, monkeypatch):
    graph, feeds = conv_chain()
    if how == "env":
        monkeypatch.setenv("GOSSAMER_OPENCL_PRECISION", "fp16")
    name = "opencl-fp16" if how == "backend" else "opencl"
    sess = gossamer.load(graph, backends=[name], optimize=0)
    assert set(sess.placement.backend_of.values()) == {name}
    expected = gossamer.load(graph, backends=[], optimize=0).run(None, feeds)
    got = sess.run(None, feeds)
    for e, g in zip(expected, got):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, e, rtol=4e-3, atol=4e-3)
    assert not np.array_equal(got[1], expected[1])  # it did round: this is not the fp32 path
    monkeypatch.delenv("GOSSAMER_OPENCL_PRECISION", raising=False)
    fp32 = gossamer.load(graph, backends=["opencl"], optimize=0)
    assert pool_bytes(sess) * 2 == pool_bytes(fp32)


def test_an_unknown_precision_makes_the_backend_unavailable(monkeypatch):
    from gossamer.plugins.manager import all_backends, availability

    monkeypatch.setenv("GOSSAMER_OPENCL_PRECISION", "int4")
    assert "use one of fp32, fp16" in availability(all_backends()["opencl"])
