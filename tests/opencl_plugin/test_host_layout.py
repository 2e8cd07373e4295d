"""Transposes that cost no launch (host_layout.py): an input's Transpose done by the copy in, an
output's by the copy out, Transpose -> Flatten -> Gemm folded into permuted weights. Same values
as the reference and as the launched transposes, on zero-copy and copying devices, fp32 and
fp16 storage; the cases that must keep their launch keep it."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.opencl_plugin import device as device_mod
from gossamer.opencl_plugin import host_layout
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

RNG = np.random.default_rng(7)


def _w(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def nhwc_conv_graph(h: int = 6, w: int = 7) -> Graph:
    """NHWC in -> NCHW -> conv -> relu -> NHWC out (as the mtcnn models are exported)."""
    return Graph(
        nodes=[
            Node("Transpose", ["x"], ["xt"], {"perm": [0, 3, 1, 2]}, name="in_t"),
            Node("Conv", ["xt", "W", "B"], ["c"], {"kernel_shape": [3, 3]}, name="conv"),
            Node("Relu", ["c"], ["r"], name="relu"),
            Node("Transpose", ["r"], ["y"], {"perm": [0, 2, 3, 1]}, name="out_t"),
        ],
        inputs=[Value("x", "float32", (2, h, w, 3))],
        outputs=[Value("y")],
        initializers={"W": _w(5, 3, 3, 3), "B": _w(5)},
        opsets={"": 17},
    )


def flatten_gemm_graph(op: str, trans_b: int) -> Graph:
    """relu -> Transpose(0,2,3,1) -> Flatten -> Gemm/MatMul with a constant B."""
    k = 4 * 3 * 5
    b = _w(7, k) if trans_b else _w(k, 7)
    attrs = {"transB": trans_b} if op == "Gemm" else {}
    gemm_inputs = ["f", "B", "C"] if op == "Gemm" else ["f", "B"]
    return Graph(
        nodes=[
            Node("Relu", ["x"], ["r"], name="relu"),
            Node("Transpose", ["r"], ["t"], {"perm": [0, 2, 3, 1]}, name="t"),
            Node("Flatten", ["t"], ["f"], {"axis": 1}, name="flat"),
            Node(op, gemm_inputs, ["y"], attrs, name="gemm"),
        ],
        inputs=[Value("x", "float32", (2, 4, 3, 5))],
        outputs=[Value("y")],
        initializers={"B": b, "C": _w(7)},
        opsets={"": 17},
    )


def _launched(sess: gossamer.Session) -> list[str]:
    (impl,) = [o.impl for o in sess._program.overrides.values() if o.partition]
    (plan,) = impl.plans()
    return [k.function_name for k, _, _ in plan.enqueue]


def _check(graph: Graph, precision: str, *, rtol: float = 1e-5, atol: float = 1e-5) -> list[str]:
    feeds = {"x": RNG.standard_normal(graph.inputs[0].shape).astype(np.float32)}
    want = gossamer.load(graph, backends=[], optimize=0).run(None, feeds)[0]
    options = {"opencl": {"precision": precision}}
    sess = gossamer.load(graph, backends=["opencl"], optimize=0, backend_options=options)
    assert set(sess.placement.backend_of.values()) == {"opencl"}
    for _ in range(2):  # the plan's buffers are reused: a second run must be as right
        got = sess.run(None, feeds)[0]
        assert got.shape == want.shape and got.flags.c_contiguous
        if precision == "fp16":
            np.testing.assert_allclose(got, want, rtol=4e-3, atol=4e-3)
        else:
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    return _launched(sess)


@pytest.fixture(params=["zero-copy", "copying"])
def device_kind(request, device, monkeypatch):
    """Both transfer paths: PoCL's CPU device is zero-copy; `copying` makes it use commands."""
    if request.param == "copying":
        monkeypatch.setattr(device_mod.Device, "zero_copy", property(lambda self: False))
    return request.param


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_input_and_output_transposes_are_done_by_the_copies(device_kind, precision):
    launched = _check(nhwc_conv_graph(), precision)
    assert not any(k.startswith("copy_strided") for k in launched), launched


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize(("op", "trans_b"), [("Gemm", 0), ("Gemm", 1), ("MatMul", 0)])
def test_transpose_flatten_gemm_permutes_the_weights(device_kind, op, trans_b, precision):
    launched = _check(flatten_gemm_graph(op, trans_b), precision)
    assert not any(k.startswith("copy_strided") for k in launched), launched


def test_switched_off_every_transpose_launches(device, monkeypatch):
    monkeypatch.setattr(host_layout, "ENABLED", False)
    launched = _check(nhwc_conv_graph(), "fp32")
    assert sum(k.startswith("copy_strided") for k in launched) == 2
    launched = _check(flatten_gemm_graph("Gemm", 0), "fp32")
    assert sum(k.startswith("copy_strided") for k in launched) == 1


def test_large_inputs_keep_the_device_transpose(device, monkeypatch):
    monkeypatch.setattr(host_layout, "HOST_MAX", 100)  # the 2x6x7x3 input is 252 elements
    launched = _check(nhwc_conv_graph(), "fp32")
    assert sum(k.startswith("copy_strided") for k in launched) == 2


def test_a_transposed_value_read_elsewhere_keeps_its_launch(device):
    graph = nhwc_conv_graph()
    # the input's transposed copy is read twice (still the copy in's: it lands in one buffer),
    # the output transpose's source is also an output (so it keeps its launch)
    graph.nodes.append(Node("Relu", ["xt"], ["xr"], name="relu2"))
    graph.outputs += [Value("xr"), Value("r")]
    feeds = {"x": RNG.standard_normal((2, 6, 7, 3)).astype(np.float32)}
    want = gossamer.load(graph, backends=[], optimize=0).run(None, feeds)
    sess = gossamer.load(graph, backends=["opencl"], optimize=0)
    for got, ref in zip(sess.run(None, feeds), want):
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    assert sum(k.startswith("copy_strided") for k in _launched(sess)) == 1


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_the_zero_copy_run_path_matches_the_general_one(device, precision):
    """A planned shape of float feeds on a zero-copy device runs `_run_zero_copy`; a feed that
    is float64 or not contiguous is cast / gathered by its copy as the general path does."""
    options = {"opencl": {"precision": precision}}
    sess = gossamer.load(
        nhwc_conv_graph(), backends=["opencl"], optimize=0, backend_options=options
    )
    (impl,) = [o.impl for o in sess._program.overrides.values() if o.partition]
    assert list(impl._fast) == [((2, 6, 7, 3),)]
    x = RNG.standard_normal((2, 7, 6, 3)).transpose(0, 2, 1, 3)  # float64, not contiguous
    for feed in (x, x.astype(np.float32), np.ascontiguousarray(x, np.float32)):
        fast = impl(feed)
        general = impl._fast
        impl._fast = {}
        try:
            slow = impl(feed)
        finally:
            impl._fast = general
        assert fast.dtype == slow.dtype == np.float32 and fast.flags.c_contiguous
        np.testing.assert_array_equal(fast, slow)
    assert impl(np.zeros((2, 5, 7, 3), np.float32)).shape == (2, 3, 5, 5)  # a new shape: planned
    assert ((2, 5, 7, 3),) in impl._fast


def softmax_graph(opset: int, axis: int | None) -> Graph:
    """relu -> Transpose(0,2,3,1) -> Softmax(axis) -> y."""
    attrs = {} if axis is None else {"axis": axis}
    return Graph(
        nodes=[
            Node("Relu", ["x"], ["r"], name="relu"),
            Node("Transpose", ["r"], ["t"], {"perm": [0, 2, 3, 1]}, name="t"),
            Node("Softmax", ["t"], ["y"], attrs, name="softmax"),
        ],
        inputs=[Value("x", "float32", (2, 3, 4, 5))],
        outputs=[Value("y")],
        opsets={"": opset},
    )


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
@pytest.mark.parametrize(
    ("opset", "axis", "folded"),
    [(13, -1, True), (13, 1, True), (13, None, True), (11, 3, True), (11, None, False),
     (11, 2, False)],
)  # fmt: skip
def test_a_softmax_of_a_transpose_runs_untransposed(device_kind, opset, axis, folded, precision):
    """Any axis from opset 13; before it only the last (the others coerce to 2-D)."""
    launched = _check(softmax_graph(opset, axis), precision)
    assert any(k.startswith("copy_strided") for k in launched) != folded, launched
