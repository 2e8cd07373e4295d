"""The depthwise conv fused with the 1x1 conv that alone reads it (gossamer::
NchwcDepthwisePointwise: nchwc_conv.py, src/nchwc.c gk_nchwc_depthwise_pointwise) against the
unfused two NchwcConvs bit for bit (each output's sums in the same order), and against the
reference, at every SIMD level and 1 and 2 threads: stride 1 and 2, odd planes, a dilated and a
5x5 window (a top pad taller than the stride), two images, two channel passes of the 1x1 conv,
a residual, the depthwise result written too; fused in parts of one row, in the default bands and
in several parts a thread, and the kernel's two calls where it does not fuse; band buffers (no
depthwise result written) through the wrapper; its bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels import _native as native
from gossamer.refimpl.ir import Graph, Node, Value

import gossamer

RNG = np.random.default_rng(31)
F32 = np.float32
OPSETS = {"": 17, "gossamer": 1}

# (x shape (blocked), output channels, the depthwise conv's attributes, the 1x1's activation,
# biases, residual)
CASES = [
    ((1, 6, 15, 13, 8), 24, {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1],
     "activation": "Clip", "activation_params": [0.0, 6.0]}, "", True, True),
    ((1, 4, 17, 11, 8), 40, {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "strides": [2, 2],
     "activation": "Relu"}, "", False, False),
    ((2, 2, 12, 9, 8), 8, {"kernel_shape": [3, 3], "pads": [2, 2, 2, 2], "dilations": [2, 2]},
     "Relu", True, True),
    ((1, 20, 9, 10, 8), 16, {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1],
     "activation": "Relu"}, "Clip", True, False),
    ((1, 3, 14, 14, 8), 24, {"kernel_shape": [5, 5], "pads": [2, 2, 2, 2],
     "activation": "Clip", "activation_params": [0.0, 6.0]}, "", True, True),
]  # fmt: skip
IDS = ["s1_residual", "s2_five_blocks", "dilated_two_images", "two_passes", "5x5"]
# (min_rows, min_rows_1t, band bytes, parts per thread): fused in parts of one row (pixel
# bounds: a row in two parts); in the default bands (whole rows); 3 parts a thread; never fused
# (the two calls through the kernel's buffer)
KNOBS = [(0, 0, 1, 1), (0, 0, 256 * 1024, 1), (0, 0, 256 * 1024, 3),
         (1 << 20, 1 << 20, 256 * 1024, 1)]  # fmt: skip
KNOB_IDS = ["rows", "bands", "parts", "two_calls"]


def _graphs(xs, m, attrs, pw_act, biases, residual):
    n, cb, h, w, _ = xs
    c = cb * 8
    kh, kw = attrs["kernel_shape"]
    dw = {**attrs, "group": c}
    pw_attrs = {"kernel_shape": [1, 1]}
    if pw_act:
        pw_attrs["activation"] = pw_act
        if pw_act == "Clip":
            pw_attrs["activation_params"] = [-1.0, 1.0]
    inits = {"w": (RNG.standard_normal((c, 1, kh, kw)) * 0.3).astype(F32),
             "pw": (RNG.standard_normal((m, c, 1, 1)) * 0.2).astype(F32)}  # fmt: skip
    b = pb = ""
    if biases:
        inits.update(b=RNG.standard_normal(c).astype(F32), pb=RNG.standard_normal(m).astype(F32))
        b, pb = "b", "pb"
    ins = [Value("x", "float32", xs)]
    if residual:
        ins.append(Value("z", "float32", None))
    z = "z" if residual else ""
    fused_attrs = dict(dw)
    fused_attrs.update({f"pw_{k}": v for k, v in pw_attrs.items() if k.startswith("activation")})
    outs = [Value("y", "float32"), Value("t", "float32")]
    fused = Graph([Node("NchwcDepthwisePointwise", ["x", "w", b, "pw", pb, z], ["y", "t"],
                        fused_attrs, "f", "gossamer")], ins, outs, dict(inits),
                  opsets=OPSETS)  # fmt: skip
    apart = Graph([Node("NchwcConv", ["x", "w", b], ["t"], dw, "d", "gossamer"),
                   Node("NchwcConv", ["t", "pw", pb, z], ["y"], pw_attrs, "p", "gossamer")],
                  ins, outs, dict(inits), opsets=OPSETS)  # fmt: skip
    return fused, apart


def _out_shape(xs, m, attrs):
    n, _, h, w, _ = xs
    kh, kw = attrs["kernel_shape"]
    s = (attrs.get("strides") or [1, 1])[0]
    d = (attrs.get("dilations") or [1, 1])[0]
    p = attrs["pads"][0]
    oh = (h + 2 * p - d * (kh - 1) - 1) // s + 1
    ow = (w + 2 * p - d * (kw - 1) - 1) // s + 1
    return (n, m // 8, oh, ow, 8)


def _run(graph, feeds, backends, threads=1):
    sess = gossamer.Session(graph, backends=backends, threads=threads)
    if backends:
        assert set(sess.placement.backend_of.values()) == {"cython"}, sess.placement.declined
    return sess.run(None, feeds)


@pytest.fixture
def knobs(request):
    e = native.ext()
    old = e.nchwc_dwpw(*request.param)
    yield request.param
    e.nchwc_dwpw(*old)


@pytest.mark.parametrize("knobs", KNOBS, ids=KNOB_IDS, indirect=True)
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_fused_depthwise_and_pointwise_give_the_unfused_bits(level, threads, case, knobs):
    xs, m, attrs, pw_act, biases, residual = case
    fused, apart = _graphs(*case)
    feeds = {"x": RNG.standard_normal(xs).astype(F32)}
    if residual:
        feeds["z"] = RNG.standard_normal(_out_shape(xs, m, attrs)).astype(F32)
    ours = _run(fused, feeds, ["cython"], threads)  # y and the depthwise result t
    assert ours[0].shape == _out_shape(xs, m, attrs)
    for got, want in zip(ours, _run(apart, feeds, ["cython"], threads), strict=True):
        assert np.array_equal(got, want)
    for got, want in zip(ours, _run(fused, feeds, []), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_the_knobs_say_where_it_fuses():
    e = native.ext()
    old = e.nchwc_dwpw()
    try:
        e.nchwc_dwpw(14, 0)
        assert e.nchwc_dwpw_fuses(14, 2) and e.nchwc_dwpw_fuses(112, 2)
        assert not e.nchwc_dwpw_fuses(7, 2) and e.nchwc_dwpw_fuses(7, 1)
        e.nchwc_dwpw(min_rows_1t=8)
        assert not e.nchwc_dwpw_fuses(7, 1) and e.nchwc_dwpw_fuses(8, 1)
        with pytest.raises(ValueError, match="1 to 16"):
            e.nchwc_dwpw(pieces=17)
    finally:
        e.nchwc_dwpw(*old)
    assert e.nchwc_dwpw() == old


def test_the_wrapper_rejects_bad_arguments_with_a_value_error():
    e = native.ext()
    x, dwp, pwp = np.zeros(8 * 9 * 9, F32), np.zeros(8 * 9, F32), np.zeros(16 * 8, F32)
    geometry = (3, 3, 1, 1, 1, 1, 1, 1, 9, 9)  # the depthwise conv's kh .. ow
    y, t = np.zeros(16 * 81, F32), np.zeros(8 * 81, F32)
    e.nchwc_depthwise_pointwise(x, 1, 8, 9, 9, dwp, *geometry, None, 0.0, 6.0, pwp, 16, None,
                                None, -np.inf, np.inf, t, y, 1)  # fmt: skip
    with pytest.raises(ValueError, match="multiple of 8"):
        e.nchwc_depthwise_pointwise(x, 1, 8, 9, 9, dwp, *geometry, None, 0.0, 6.0, pwp, 12,
                                    None, None, -np.inf, np.inf, t, y, 1)  # fmt: skip
    with pytest.raises(ValueError):
        e.nchwc_depthwise_pointwise(x, 1, 8, 9, 9, dwp, *geometry, None, 0.0, 6.0, pwp, 16,
                                    None, None, -np.inf, np.inf, t[:8], y, 1)  # fmt: skip
    old = e.nchwc_dwpw(1 << 20, 1 << 20)  # never fuses: the buffer is needed
    try:
        with pytest.raises(ValueError, match="no buffer"):
            e.nchwc_depthwise_pointwise(x, 1, 8, 9, 9, dwp, *geometry, None, 0.0, 6.0, pwp, 16,
                                        None, None, -np.inf, np.inf, None, y, 1)  # fmt: skip
    finally:
        e.nchwc_dwpw(*old)


@pytest.mark.parametrize("rows_1t", [0, 1], ids=["one_row_bands", "default_bands"])
def test_band_buffers_without_the_depthwise_result_give_the_same_bits(level, threads, rows_1t):
    """t None: each part's depthwise rows in a band buffer of the thread's own (the shifted
    window of a part's first rows; a row shared by two parts), the 1x1 as with t."""
    e = native.ext()
    n, c, h, w, m = 2, 24, 15, 11, 16
    x = RNG.standard_normal(n * c * h * w).astype(F32)
    dwp = (RNG.standard_normal(c * 9) * 0.3).astype(F32)
    pwp = (RNG.standard_normal(m * c) * 0.2).astype(F32)
    db, pb = RNG.standard_normal(c).astype(F32), RNG.standard_normal(m).astype(F32)
    for s, p, d in ((1, 1, 1), (2, 1, 1), (1, 2, 2)):
        oh, ow = (h + 2 * p - 2 * d - 1) // s + 1, (w + 2 * p - 2 * d - 1) // s + 1
        geometry = (3, 3, s, s, d, d, p, p, oh, ow)
        z = RNG.standard_normal(n * m * oh * ow).astype(F32)
        want, t = np.zeros(n * m * oh * ow, F32), np.zeros(n * c * oh * ow, F32)
        e.nchwc_depthwise(x, n, c, h, w, dwp, *geometry, db, None, 0.0, 6.0, t, threads)
        e.nchwc_conv(t, n, c, oh, ow, True, pwp, m, 1, 1, 1, 1, 1, 1, 0, 0, oh, ow, pb, z,
                     -np.inf, np.inf, want, threads)  # fmt: skip
        old = e.nchwc_dwpw(0, 0, 1 if rows_1t == 0 else 256 * 1024)
        try:
            y = np.zeros_like(want)
            e.nchwc_depthwise_pointwise(x, n, c, h, w, dwp, *geometry, db, 0.0, 6.0, pwp, m, pb,
                                        z, -np.inf, np.inf, None, y, threads)  # fmt: skip
        finally:
            e.nchwc_dwpw(*old)
        assert np.array_equal(y, want), (s, p, d)
