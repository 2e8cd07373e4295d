"""The blocked conv fused with the max pool that alone reads it (gossamer::NchwcConvMaxPool:
nchwc_kernels.py, src/nchwc.c gk_nchwc_conv_max_pool) against the unfused NchwcConv and
NchwcMaxPool bit for bit (the same sums in the same order), and against the reference, at every
SIMD level and 1 and 2 threads; bands of one pool row; its bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels import _native as native
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

RNG = np.random.default_rng(23)
F32 = np.float32
OPSETS = {"": 17, "gossamer": 1}
CONV = ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides", "activation",
        "activation_params")  # fmt: skip

# (x shape, w shape, attributes: the conv's, the pool's with pool_): SqueezeNet 1.1's stem and
# first pool (a smaller plane); a blocked input summed in two passes of input blocks, a padded
# pool (bands whose first rows are the pool's padding); a 1x1 with Sigmoid, scale and shift and a
# 2x2 pool; a dilated pool with ceil_mode
CASES = [
    ((1, 3, 31, 29), (64, 3, 3, 3), {"kernel_shape": [3, 3], "strides": [2, 2],
     "activation": "Relu", "pool_kernel_shape": [3, 3], "pool_strides": [2, 2],
     "pool_ceil_mode": 1}),
    ((1, 10, 11, 12, 8), (24, 80, 3, 3), {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1],
     "pool_kernel_shape": [3, 3], "pool_strides": [2, 2], "pool_pads": [1, 1, 1, 1]}),
    ((2, 2, 9, 8, 8), (16, 16, 1, 1), {"kernel_shape": [1, 1], "activation": "Sigmoid",
     "pool_kernel_shape": [2, 2], "pool_strides": [2, 2]}),
    ((1, 3, 17, 15), (8, 3, 3, 3), {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1],
     "pool_kernel_shape": [3, 3], "pool_dilations": [2, 2], "pool_ceil_mode": 1,
     "pool_strides": [2, 1]}),
]  # fmt: skip
IDS = ["squeezenet_stem", "blocked_two_passes_padded_pool", "1x1_sigmoid_affine", "dilated_ceil"]


def _graphs(xs, w, attrs, affine):
    m = w.shape[0]
    inits = {"w": w, "b": RNG.standard_normal(m).astype(F32)}
    extra = []
    if affine:
        inits.update(s=RNG.standard_normal((1, m, 1, 1)).astype(F32), t=np.array([0.5], F32))
        extra = ["s", "t"]
    conv_attrs = {k: v for k, v in attrs.items() if k in CONV}
    pool_attrs = {k[5:]: v for k, v in attrs.items() if k.startswith("pool_")}
    io = ([Value("x", "float32", xs)], [Value("y", "float32")])
    fused = Graph([Node("NchwcConvMaxPool", ["x", "w", "b", *extra], ["y"], attrs, "f",
                        "gossamer")], *io, dict(inits), opsets=OPSETS)  # fmt: skip
    apart = Graph([Node("NchwcConv", ["x", "w", "b", "", *extra], ["c"], conv_attrs, "c",
                        "gossamer"),
                   Node("NchwcMaxPool", ["c"], ["y"], pool_attrs, "p", "gossamer")],
                  *io, dict(inits), opsets=OPSETS)  # fmt: skip
    return fused, apart


def _run(graph, x, backends, threads=1):
    sess = gossamer.Session(graph, backends=backends, threads=threads)
    if backends:
        assert set(sess.placement.backend_of.values()) == {"cython"}, sess.placement.declined
    return sess.run(None, {"x": x})[0]


@pytest.mark.parametrize("xs,ws,attrs", CASES, ids=IDS)
def test_the_fused_conv_and_pool_give_the_unfused_bits(level, threads, xs, ws, attrs):
    x = RNG.standard_normal(xs).astype(F32)
    w = (RNG.standard_normal(ws) * 0.3).astype(F32)
    fused, apart = _graphs(xs, w, attrs, affine="Sigmoid" in attrs.values())
    ours = _run(fused, x, ["cython"], threads)
    assert np.array_equal(ours, _run(apart, x, ["cython"], threads))
    np.testing.assert_allclose(ours, _run(fused, x, []), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("xs,ws,attrs", CASES[:2], ids=IDS[:2])
def test_bands_of_one_pool_row_give_the_same_bits(xs, ws, attrs):
    x = RNG.standard_normal(xs).astype(F32)
    w = (RNG.standard_normal(ws) * 0.3).astype(F32)
    fused, apart = _graphs(xs, w, attrs, affine=False)
    old = native.ext().nchwc_pool_band_bytes(1)  # every step one pool row
    try:
        ours = _run(fused, x, ["cython"], 2)
    finally:
        native.ext().nchwc_pool_band_bytes(old)
    assert np.array_equal(ours, _run(apart, x, ["cython"], 1))


def test_the_wrapper_rejects_bad_arguments_with_a_value_error():
    e = native.ext()
    x, wp, b = np.zeros(3 * 9 * 9, F32), np.zeros(16 * 27, F32), np.zeros(16, F32)
    geometry = (3, 3, 2, 2, 1, 1, 0, 0, 4, 4)  # conv kh .. ow
    pool = (3, 3, 2, 2, 1, 1, 0, 0, 1, 1)
    y = np.zeros(16, F32)
    e.nchwc_conv_max_pool(x, 1, 3, 9, 9, False, wp, 16, *geometry, b, 0.0, np.inf, *pool, y, 1)
    with pytest.raises(ValueError, match="multiple of 8"):
        e.nchwc_conv_max_pool(x, 1, 3, 9, 9, False, wp, 12, *geometry, b, 0.0, np.inf, *pool,
                              y, 1)  # fmt: skip
    with pytest.raises(ValueError):
        e.nchwc_conv_max_pool(x, 1, 3, 9, 9, False, wp, 16, *geometry, b, 0.0, np.inf, *pool,
                              y[:8], 1)  # fmt: skip
    with pytest.raises(ValueError):
        e.nchwc_conv_max_pool(x, 1, 3, 9, 9, False, wp, 16, *geometry, b, 0.0, np.inf,
                              3, 3, 0, 2, 1, 1, 0, 0, 1, 1, y, 1)  # fmt: skip
