"""Winograd F(2x2, 3x3) and F(4x4, 3x3) convolution against the reference, on the geometries
that pick their code paths (row segments inside the input or at the padding, tile rows that do
not fill 8 lanes, outputs that do not fill a tile, asymmetric pads, batches, the fused epilogue),
under fp32 and fp16 storage; the transform matrices against the algebra; the choice rule."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.opencl_plugin.kernels import conv, winograd
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

from .conftest import check_against_reference
from .test_conv_direct import sess_plans
from .test_kernels import rand

pytestmark = pytest.mark.usefixtures("device")

# (x shape, output channels, pads)
GEOMETRIES = [
    ((1, 16, 8, 8), 16, [1, 1, 1, 1]),  # one tile row, every patch row at the padding
    ((2, 3, 7, 9), 5, [0, 1, 1, 0]),  # batch 2, asymmetric pads, partial tiles
    ((1, 17, 13, 70), 9, [1, 1, 1, 1]),  # 70 wide: row segments inside the input, 2nd group short
    ((1, 8, 36, 36), 24, [1, 1, 1, 1]),  # F(4): 9 tiles a row = 8 lanes + 1
    ((3, 4, 5, 6), 7, [0, 0, 0, 0]),  # no padding, output smaller than a tile
]


def conv_graph(x, m, pads, attrs=None, residual=False, slope=False):
    c = x[1]
    oh, ow = x[2] + pads[0] + pads[2] - 2, x[3] + pads[1] + pads[3] - 2
    consts = {"w": rand(m, c, 3, 3) * 0.3, "b": rand(m)}
    names = ["x", "w", "b"]
    op, domain = "Conv", ""
    if attrs or residual or slope:
        op, domain = "FusedConv", "gossamer"
        names += ["slope" if slope else "", "z" if residual else ""]
        if slope:
            consts["slope"] = rand(m, 1, 1)
    node = Node(op, names, ["y"], {"pads": pads, **(attrs or {})}, name="n", domain=domain)
    inputs = [Value("x", "float32", x)]
    feeds = {"x": rand(*x)}
    if residual:
        inputs.append(Value("z", "float32", (x[0], m, oh, ow)))
        feeds["z"] = rand(x[0], m, oh, ow)
    graph = Graph(
        nodes=[node],
        inputs=inputs,
        outputs=[Value("y")],
        initializers=consts,
        opsets={"": 17, "gossamer": 1},
    )
    return graph, feeds


@pytest.fixture(params=["winograd2", "winograd4"])
def tile(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(conv.ENV_ALGORITHM, request.param)
    return request.param


def kernels_of(sess: gossamer.Session) -> set[str]:
    return {k for p in sess_plans(sess) for k in p.kernels}


@pytest.mark.parametrize(("x", "m", "pads"), GEOMETRIES)
def test_winograd_matches_the_reference(tile, x, m, pads):
    graph, feeds = conv_graph(x, m, pads)
    sess = check_against_reference(graph, feeds, rtol=1e-4, atol=1e-4)
    r = tile[-1]
    assert {f"wino{r}_input_f32", f"wino{r}_output_f32"} <= kernels_of(sess)
    assert kernels_of(sess) & {"gemm_float_f32", "gemm_float_wide_f32"}


@pytest.mark.parametrize(
    ("attrs", "residual", "slope"),
    [
        ({"activation": "Relu"}, True, False),
        ({"activation": "Swish"}, True, False),
        ({"activation": "Clip", "activation_params": [-0.5, 0.5]}, False, False),
        ({"activation": "PRelu"}, True, True),
    ],
)
def test_winograd_epilogue_adds_bias_residual_and_activation(tile, attrs, residual, slope):
    # 38 wide: full 8-pixel vectors of the output rows and a partial one
    graph, feeds = conv_graph((2, 6, 10, 38), 10, [1, 1, 1, 1], attrs, residual, slope)
    check_against_reference(graph, feeds, rtol=1e-4, atol=1e-4)


def test_winograd_under_fp16_storage_stays_within_the_reviewed_tolerance(tile):
    graph, feeds = conv_graph((1, 32, 20, 20), 16, [1, 1, 1, 1], {"activation": "Relu"}, True)
    sess = gossamer.load(graph, backends=["opencl-fp16"], optimize=0)
    assert f"wino{tile[-1]}_output_f32" in kernels_of(sess)
    half = {k: v.astype(np.float16).astype(np.float32) for k, v in feeds.items()}
    expected = gossamer.load(graph, backends=[], optimize=0).run(None, half)[0]
    np.testing.assert_allclose(sess.run(None, feeds)[0], expected, rtol=4e-3, atol=1e-3)


# the kernels' input (B^T) and output (A^T) transforms, as written in winograd.cl
B_T = {
    2: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
    4: [
        [4, 0, -5, 0, 1, 0],
        [0, -4, -4, 1, 1, 0],
        [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0],
        [0, 2, -1, -2, 1, 0],
        [0, 4, 0, -5, 0, 1],
    ],
}
A_T = {
    2: [[1, 1, 1, 0], [0, 1, -1, -1]],
    4: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
}


@pytest.mark.parametrize("r", [2, 4])
def test_transforms_compute_a_3x3_correlation_of_a_tile(r):
    """A^T (U[pos] * (B^T d B)[pos]) A is the valid 3x3 correlation of the (r+2)^2 patch d."""
    rng = np.random.default_rng(r)
    d, g = rng.standard_normal((r + 2, r + 2)), rng.standard_normal((3, 3))
    u = winograd.transform_weights(g.reshape(1, 1, 3, 3), r).astype(np.float64)
    bt, at = np.array(B_T[r]), np.array(A_T[r])
    got = at @ (u.reshape(r + 2, r + 2) * (bt @ d @ bt.T)) @ at.T
    want = [[np.sum(d[i : i + 3, j : j + 3] * g) for j in range(r)] for i in range(r)]
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_rule_takes_winograd_for_deep_3x3_stride_1_layers(monkeypatch):
    monkeypatch.delenv(conv.ENV_ALGORITHM, raising=False)
    k3, s1, s2, d1 = (3, 3), (1, 1), (2, 2), (1, 1)
    assert conv.algorithm(64, 64, k3, s1, d1, 1, 56 * 56) == "winograd4"
    assert conv.algorithm(512, 512, k3, s1, d1, 1, 7 * 7) == "winograd2"  # small map
    assert conv.algorithm(3, 64, k3, s1, d1, 1, 56 * 56) == "direct"  # a stem: K = 27
    assert conv.algorithm(64, 64, k3, s2, d1, 1, 28 * 28) != "winograd4"  # stride 2
    assert conv.algorithm(64, 64, k3, s1, (2, 2), 1, 56 * 56) != "winograd4"  # dilated
    assert conv.algorithm(64, 64, k3, s1, d1, 2, 56 * 56) != "winograd4"  # grouped
    monkeypatch.setenv(conv.ENV_ALGORITHM, "winograd2")
    assert conv.algorithm(3, 4, k3, s1, d1, 1, 9) == "winograd2"  # forced where it applies
    assert conv.algorithm(3, 4, (5, 5), s1, d1, 1, 9) in ("direct", "im2col")  # not where not


def test_rule_takes_one_direct_launch_for_tiny_layers(monkeypatch):
    """mtcnn's small 3x3 layers: their launches cost more than their arithmetic"""
    monkeypatch.delenv(conv.ENV_ALGORITHM, raising=False)
    k3, s1, d1 = (3, 3), (1, 1), (1, 1)
    assert conv.algorithm(16, 32, k3, s1, d1, 1, 7 * 11) == "direct"  # mtcnn_pnet
    assert conv.algorithm(28, 48, k3, s1, d1, 1, 9 * 9) == "winograd2"  # mtcnn_rnet: 1 M
    # ... but direct with the 16-channel float16 tile (up to 1.5 M); onet's 2.4 M layer not
    assert conv.algorithm(28, 48, k3, s1, d1, 1, 9 * 9, wide=True) == "direct"
    assert conv.algorithm(64, 64, k3, s1, d1, 1, 8 * 8, wide=True) == "winograd2"
    assert conv.algorithm(129, 128, (1, 3), s1, d1, 1, 4) == "direct"  # silero: K = 387, tiny
    assert conv.algorithm(129, 128, (1, 3), s1, d1, 1, 40) == "im2col"  # 2 M: not tiny
    assert conv.algorithm(256, 256, k3, (2, 2), d1, 1, 14 * 14) == "im2col"


def test_tiles_with_inf_or_nan_inputs_are_computed_directly(tile):
    """inf - inf inside the transforms would turn a whole tile NaN: those tiles (and only those)
    take the direct path, so infinities stay infinities and the other tiles are untouched."""
    graph, feeds = conv_graph((1, 4, 12, 20), 6, [1, 1, 1, 1], {"activation": "Relu"}, True)
    graph.initializers["w"] = np.abs(graph.initializers["w"])  # inf * w keeps one sign
    feeds["x"] = np.abs(feeds["x"])
    feeds["x"][0, 1, 2, 3] = np.inf
    feeds["x"][0, 2, 9, 17] = np.nan
    sess = check_against_reference(graph, feeds, rtol=1e-4, atol=2e-5)
    y = sess.run(None, feeds)[0]
    assert np.isposinf(y[0, :, 2, 3]).all() and np.isnan(y[0, :, 9, 17]).all()
    assert np.isfinite(y[0, :, 6:8, 8:12]).all()


def test_an_unknown_forced_algorithm_is_logged_and_ignored(monkeypatch, caplog):
    monkeypatch.setenv(conv.ENV_ALGORITHM, "winograd")
    assert conv.forced_algorithm() is None
    assert "GOSSAMER_OPENCL_CONV='winograd' is not one of" in caplog.text
    monkeypatch.setenv(conv.ENV_ALGORITHM, " Im2col ")
    assert conv.forced_algorithm() == "im2col"
