"""Native half arithmetic (`fp16_arith=native`) on a device with cl_khr_fp16 (Intel's CPU
runtime, `pip install 'gossamer[opencl-intel]'`): the generated element-wise kernels compute in
half (each op rounded to half, as numpy's float16 does), groups with transcendental ops and every
reduction stay in float; PoCL (no cl_khr_fp16) refuses native and keeps the storage path."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.opencl_plugin.device import _devices, open_device, unavailable_reason
from gossamer.plugins import BackendOptionError
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer


def _fp16_device() -> str | None:
    """'P:D' of a device with cl_khr_fp16, or None."""
    if unavailable_reason():
        return None
    for p, d, _, dev in _devices()[1]:
        if "cl_khr_fp16" in dev.extensions.split():
            return f"{p}:{d}"
    return None


def _plain_device() -> str | None:
    if unavailable_reason():
        return None
    for p, d, _, dev in _devices()[1]:
        if "cl_khr_fp16" not in dev.extensions.split():
            return f"{p}:{d}"
    return None


@pytest.fixture(scope="module")
def fp16_device() -> str:
    found = _fp16_device()
    if found is None:
        pytest.skip(
            "no OpenCL device with cl_khr_fp16 (PoCL has none; pip install "
            "'gossamer[opencl-intel]' for Intel's CPU runtime)"
        )
    return found


def chain() -> tuple[Graph, dict[str, np.ndarray]]:
    """Add -> Mul -> LeakyRelu -> Clip -> Div (by a per-column tensor): all half-safe ops, one
    fused group; rows of 16 so the kernel runs 8 lanes a work-item."""
    rng = np.random.default_rng(7)
    nodes = [
        Node("Add", ["x", "b"], ["s"], name="add"),
        Node("Mul", ["s", "s"], ["m"], name="mul"),
        Node("LeakyRelu", ["m"], ["l"], {"alpha": 0.1}, name="leaky"),
        Node("Clip", ["l", "lo", "hi"], ["c"], name="clip"),
        Node("Div", ["c", "d"], ["y"], name="div"),
    ]
    graph = Graph(
        nodes=nodes,
        inputs=[Value("x", "float32", (4, 16)), Value("b", "float32", (4, 16))],
        outputs=[Value("y")],
        initializers={
            "lo": np.array(-1.0, np.float32),
            "hi": np.array(6.0, np.float32),
            "d": (rng.uniform(0.5, 3.0, 16)).astype(np.float32),
        },
        opsets={"": 17},
    )
    feeds = {k: rng.standard_normal((4, 16)).astype(np.float32) * 2 for k in ("x", "b")}
    return graph, feeds


def in_numpy_half(graph: Graph, feeds: dict[str, np.ndarray]) -> np.ndarray:
    """The chain computed in float16, each op rounded to half (what native arithmetic does)."""
    h = np.float16
    x, b = feeds["x"].astype(h), feeds["b"].astype(h)
    s = x + b
    m = s * s
    slope = h(0.1)
    lk = np.where(m < 0, slope * m, m).astype(h)
    c = np.minimum(np.maximum(lk, h(-1.0)), h(6.0))
    return (c / graph.initializers["d"].astype(h)).astype(h).astype(np.float32)


def kernel_names(sess: gossamer.Session) -> list[str]:
    (part,) = [o.impl for o in sess._program.overrides.values() if o.partition]
    return [k.function_name for plan in part.plans() for k, *_ in plan.launches]


def run(graph, feeds, device, arith):
    opts = {"device": device, "precision": "fp16", "fp16_arith": arith}
    sess = gossamer.load(graph, backends=["opencl"], optimize=0, backend_options={"opencl": opts})
    assert set(sess.placement.backend_of.values()) == {"opencl"}
    return sess, sess.run(None, feeds)[0]


def test_native_half_rounds_every_op_to_half(fp16_device):
    graph, feeds = chain()
    sess, got = run(graph, feeds, fp16_device, "native")
    assert [n for n in kernel_names(sess) if n.startswith("ewh_")], kernel_names(sess)
    want = in_numpy_half(graph, feeds)
    np.testing.assert_array_equal(got, want)  # IEEE half: correctly rounded, op by op
    _, stored = run(graph, feeds, fp16_device, "storage")
    assert not np.array_equal(stored, want)  # the storage path rounds once: the test can tell


def test_native_is_the_default_where_the_device_has_cl_khr_fp16(fp16_device):
    graph, feeds = chain()
    sess = gossamer.load(
        graph,
        backends=["opencl-fp16"],
        optimize=0,
        backend_options={"opencl-fp16": {"device": fp16_device}},
    )
    assert any(n.startswith("ewh_") for n in kernel_names(sess))
    np.testing.assert_array_equal(sess.run(None, feeds)[0], in_numpy_half(graph, feeds))


def test_groups_with_transcendental_ops_keep_float_arithmetic(fp16_device):
    nodes = [
        Node("Add", ["x", "b"], ["s"], name="add"),
        Node("Sigmoid", ["s"], ["y"], name="sig"),
    ]
    graph = Graph(
        nodes=nodes,
        inputs=[Value("x", "float32", (4, 16)), Value("b", "float32", (4, 16))],
        outputs=[Value("y")],
        initializers={},
        opsets={"": 17},
    )
    _, feeds = chain()
    sess, got = run(graph, feeds, fp16_device, "native")
    names = kernel_names(sess)
    assert names and not [n for n in names if n.startswith("ewh_")], names
    x = feeds["x"].astype(np.float16).astype(np.float32)
    b = feeds["b"].astype(np.float16).astype(np.float32)
    want = (1 / (1 + np.exp(-(x + b)))).astype(np.float16).astype(np.float32)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-3)


def test_native_on_real_kernels_stays_within_the_fp16_tolerance(fp16_device):
    """A conv -> BatchNorm -> Relu -> residual Add net: the element-wise part in half, the conv
    in float; within opencl-fp16's reviewed tolerance of the reference."""
    rng = np.random.default_rng(3)
    c = 8
    nodes = [
        Node("Conv", ["x", "w"], ["v"], {"pads": [1, 1, 1, 1]}, name="conv"),
        Node("BatchNormalization", ["v", "g", "beta", "mu", "var"], ["n"], name="bn"),
        Node("Relu", ["n"], ["r"], name="relu"),
        Node("Add", ["r", "x"], ["y"], name="res"),
    ]
    graph = Graph(
        nodes=nodes,
        inputs=[Value("x", "float32", (1, c, 8, 8))],
        outputs=[Value("y")],
        initializers={
            "w": (rng.standard_normal((c, c, 3, 3)) * 0.2).astype(np.float32),
            "g": rng.uniform(0.5, 1.5, c).astype(np.float32),
            "beta": rng.standard_normal(c).astype(np.float32) * 0.1,
            "mu": rng.standard_normal(c).astype(np.float32) * 0.1,
            "var": rng.uniform(0.5, 1.5, c).astype(np.float32),
        },
        opsets={"": 17},
    )
    feeds = {"x": rng.standard_normal((1, c, 8, 8)).astype(np.float32)}
    sess, got = run(graph, feeds, fp16_device, "native")
    assert any(n.startswith("ewh_") for n in kernel_names(sess))
    want = gossamer.load(graph, backends=[], optimize=0).run(None, feeds)[0]
    # the conformance suite's comparison (conformance/tolerances.py) at opencl-fp16's tolerance
    rtol, atol = 4e-3, 1e-3
    bound = max(atol, rtol * float(np.median(np.abs(want)))) + rtol * np.abs(want)
    assert np.all(np.abs(got - want) <= bound), float(np.max(np.abs(got - want) - bound))


def test_native_is_refused_on_a_device_without_cl_khr_fp16():
    plain = _plain_device()
    if plain is None:
        pytest.skip("no OpenCL device without cl_khr_fp16 here")
    graph, feeds = chain()
    with pytest.raises(BackendOptionError, match="cl_khr_fp16"):
        run(graph, feeds, plain, "native")
    sess, got = run(graph, feeds, plain, "storage")  # the storage path: float arithmetic
    assert not any(n.startswith("ewh_") for n in kernel_names(sess))
    assert open_device(plain).has_fp16 is False


def test_a_device_without_cl_khr_fp16_defaults_to_storage():
    from gossamer.opencl_plugin.backend import OpenCLFp16Backend

    plain = _plain_device()
    if plain is None:
        pytest.skip("no OpenCL device without cl_khr_fp16 here")
    backend = OpenCLFp16Backend().configure({"device": plain})
    assert backend.fp16_arith() == "storage"
    assert "fp16 arithmetic: storage" in backend.describe()


def test_an_unknown_fp16_arith_in_the_environment_makes_fp16_unavailable(monkeypatch):
    from gossamer.opencl_plugin.backend import OpenCLFp16Backend

    if unavailable_reason():
        pytest.skip(f"no OpenCL device: {unavailable_reason()}")
    monkeypatch.setenv("GOSSAMER_OPENCL_FP16_ARITH", "fast")
    assert "GOSSAMER_OPENCL_FP16_ARITH='fast'" in (OpenCLFp16Backend().is_available() or "")


def test_the_half_text_has_no_float_left():
    """fusion.in_half on a generated kernel's text (no device needed): every value, literal,
    load, store and helper becomes its half version, so nothing promotes back to float."""
    from gossamer.opencl_plugin.fusion import in_half

    text = (
        "(__global data_t* restrict y, __global const data_t* restrict p0, const int total) {\n"
        "  const int i = get_global_id(0) * 8;\n"
        "  const float8 v0 = LD8(p0 + i, 0);\n"
        "  const float v1 = LD(p0, i);\n"
        "  const float8 t0 = npclip8(v0 * (0x1.99999ap-4f) + 0.5f, (float8)(0.0f), "
        "((float8)INFINITY));\n"
        "  const float t1 = npmax(v1, 6.0f);\n"
        "  ST8(t0, y + i, 0); ST(t1, y, i);\n}\n"
    )
    out = in_half(text)
    assert "float" not in out.replace("data_t", ""), out
    for piece in ("HLD8(p0 + i, 0)", "HLD(p0, i)", "npclip8h(", "npmaxh(", "HST8(t0", "HST(t1"):
        assert piece in out, (piece, out)
    assert "((half)0x1.99999ap-4f)" in out and "((half)0.5f)" in out
    assert "((half)INFINITY)" in out and "(half8)(((half)0.0f))" in out
    assert "get_global_id(0) * 8" in out  # integers untouched
