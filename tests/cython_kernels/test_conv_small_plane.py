"""Convs of small output planes with the output channels in the vector lanes (src/conv.h
gk_conv_cvec; conv_kernels.CVEC_MAX_PIXELS): against the reference, on every SIMD level the CPU
has, and the path taken where it should be."""

from __future__ import annotations

import numpy as np
import pytest
from gossamer.cython_kernels import conv_kernels
from gossamer.cython_kernels._native import ext

import gossamer

from ._helpers import CountedExt, assert_close, assert_on_cython, one_node

RNG = np.random.default_rng(19)
F32 = np.float32

# (name, x shape, w shape, conv attributes): output planes of 1 to 15 pixels
CASES = [
    ("stft_like", (4, 1, 96), (40, 1, 32), {"strides": [16]}),  # 5 frames, k32 s16
    ("k3_pad", (3, 33, 4), (70, 33, 3), {"pads": [1, 1]}),  # silero's encoder, m not / 16
    ("k3_s2", (2, 24, 4), (17, 24, 3), {"strides": [2], "pads": [1, 1]}),
    ("one_pixel", (3, 40, 1, 1), (130, 40, 1, 1), {}),  # a classifier head on 1x1 planes
    ("plane_3x4", (2, 9, 3, 4), (48, 9, 3, 3), {"pads": [1, 1, 1, 1]}),
    ("dilated_asym", (1, 5, 3, 4), (20, 5, 2, 3), {"dilations": [2, 2], "pads": [0, 2, 1, 0]}),
    ("stride3_wide", (2, 3, 5, 9), (16, 3, 3, 3), {"strides": [3, 3], "pads": [1, 1, 1, 1]}),
]


def _out_pixels(xs, ws, attrs) -> int:
    x = np.zeros(xs, F32)
    w = np.zeros(ws, F32)
    y = gossamer.load(one_node("Conv", {"x": x}, {"w": w}, **attrs), backends=[]).run(
        None, {"x": x}
    )[0]
    return int(np.prod(y.shape[2:]))


def test_the_small_plane_rule():
    """The kernel runs where it fills more lanes than the GEMM's columns would (16 a vector)."""
    pays = conv_kernels._cvec_pays
    assert pays(4, 5, 258, 256)  # silero's STFT: 0.95 against 20 of 32 columns
    assert not pays(4, 4, 128, 387)  # 16 columns: full vectors either way
    assert pays(1, 9, 256, 576)  # a 3x3 plane, 0.6 MB of weights
    assert not pays(1, 9, 256, 2304)  # 2.4 MB: the GEMM streams them faster
    assert not pays(8, 4, 128, 64)
    assert pays(1, 1, 1000, 1024)  # a classifier head on a 1x1 plane: 4 MB, 1 of 16 columns


@pytest.mark.parametrize("name,xs,ws,attrs", CASES, ids=[c[0] for c in CASES])
def test_small_planes_match_the_reference(level, threads, monkeypatch, name, xs, ws, attrs):
    pixels = _out_pixels(xs, ws, attrs)
    assert pixels < conv_kernels.CVEC_MAX_PIXELS
    assert conv_kernels._cvec_pays(xs[0], pixels, ws[0], int(np.prod(ws[1:])))
    x = RNG.standard_normal(xs).astype(F32)
    w = (RNG.standard_normal(ws) * 0.2).astype(F32)
    b = RNG.standard_normal(ws[0]).astype(F32)
    model = one_node("Conv", {"x": x}, {"w": w, "b": b}, **attrs)
    counter = CountedExt("conv_cvec")
    monkeypatch.setattr(conv_kernels, "ext", lambda: counter)
    ours = gossamer.load(model, backends=["cython"], threads=threads)
    got = ours.run(None, {"x": x})
    ref = gossamer.load(model, backends=[]).run(None, {"x": x})
    assert_on_cython(ours.placement)
    assert_close(got, ref, rtol=1e-4, atol=1e-4)
    # the generic level has no such kernel: the GEMM path ran instead
    assert (counter.calls > 0) == (level != "generic")


def test_the_gemm_path_gives_the_same_values(monkeypatch):
    """The small-plane kernel against the path it replaces (CVEC_MAX_PIXELS = 0: im2col GEMM),
    with a fused clip, on one model."""
    x = RNG.standard_normal((3, 16, 5)).astype(F32)
    w = (RNG.standard_normal((64, 16, 3)) * 0.3).astype(F32)
    b = RNG.standard_normal(64).astype(F32)
    model = one_node("Conv", {"x": x}, {"w": w, "b": b}, pads=[1, 1])
    new = gossamer.load(model, backends=["cython"]).run(None, {"x": x})[0]
    monkeypatch.setattr(conv_kernels, "CVEC_MAX_PIXELS", 0)
    old = gossamer.load(model, backends=["cython"]).run(None, {"x": x})[0]
    np.testing.assert_allclose(new, old, rtol=1e-5, atol=1e-5)


def test_clip_and_nan_follow_the_epilogue():
    """A fused Relu6-style clip bounds every output; a NaN input gives NaN outputs where it is
    read (the clip keeps NaN, as the other conv paths do)."""
    x = RNG.standard_normal((2, 8, 4)).astype(F32) * 4
    x[1, 3, 2] = np.nan
    w = (RNG.standard_normal((24, 8, 3))).astype(F32)
    model = _fused_clip(x, w)
    ours = gossamer.load(model, backends=["cython"]).run(None, {"x": x})[0]
    ref = gossamer.load(model, backends=[]).run(None, {"x": x})[0]
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    assert np.isnan(ours[1, :, 1:4]).all() and not np.isnan(ours[0]).any()
    finite = ~np.isnan(ref)
    assert ours[finite].min() >= 0 and ours[finite].max() <= 6
    np.testing.assert_allclose(ours[finite], ref[finite], rtol=1e-4, atol=1e-4)


def _fused_clip(x, w) -> bytes:
    import onnx
    from onnx import TensorProto, helper

    node = helper.make_node(
        "FusedConv", ["x", "w"], ["y"], domain="gossamer", activation="Clip",
        activation_params=[0.0, 6.0], pads=[1, 1],
    )  # fmt: skip
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[onnx.numpy_helper.from_array(w, "w")],
    )  # fmt: skip
    imports = [helper.make_opsetid("", 17), helper.make_opsetid("gossamer", 1)]
    return helper.make_model(graph, opset_imports=imports).SerializeToString()


def test_a_segment_replays_the_small_plane_conv():
    """Recorded in a C segment (the second run records, later runs replay): the same values on
    new inputs."""
    x = RNG.standard_normal((4, 12, 5)).astype(F32)
    w = (RNG.standard_normal((36, 12, 3)) * 0.3).astype(F32)
    model = one_node("Conv", {"x": x}, {"w": w}, pads=[1, 1])
    ours = gossamer.load(model, backends=["cython"])
    ref = gossamer.load(model, backends=[])
    for _ in range(2):
        ours.run(None, {"x": x})
    schedule = ours._program.schedule
    assert schedule and all(segment is not None for _, _, segment, _ in schedule)
    for _ in range(3):
        x2 = RNG.standard_normal(x.shape).astype(F32)
        np.testing.assert_allclose(ours.run(None, {"x": x2})[0], ref.run(None, {"x": x2})[0],
                                   rtol=1e-4, atol=1e-4)  # fmt: skip


def test_bad_arguments_are_value_errors():
    x = np.zeros((1, 4, 1, 5), F32)
    wp = np.zeros((1, 12, 16), F32)  # one panel of 16 channels, C*kh*kw = 4 * 1 * 3 rows
    y = np.zeros((1, 10, 1, 3), F32)
    work = np.zeros(ext().conv_cvec_work(1, 4, 1, 3, 1, 3, 10), F32)
    args = (1, 3, 1, 1, 1, 1, 0, 0, None, 0.0, 0.0, False)
    assert ext().conv_cvec(x, wp, *args, y, work, 1) in (True, False)
    for bad in (wp[:, :11], np.zeros((2, 12, 16), F32), np.zeros((1, 12, 8), F32)):
        with pytest.raises(ValueError, match="weight panels do not fit"):
            ext().conv_cvec(x, np.ascontiguousarray(bad), *args, y, work, 1)
    with pytest.raises(ValueError):
        ext().conv_cvec(x, wp, *args, y, work[:10], 1)
    with pytest.raises(ValueError):
        ext().conv_cvec(x, wp, 1, 0, 1, 1, 1, 1, 0, 0, None, 0.0, 0.0, False, y, work, 1)
    with pytest.raises(ValueError):
        ext().conv_cvec_work(1, 4, 0, 3, 1, 3, 10)


def test_the_panels_hold_each_channel_s_taps():
    from gossamer.cython_kernels.conv_kernels import _cvec_panels

    w = RNG.standard_normal((20, 3, 2, 2)).astype(F32)
    p = _cvec_panels(w)
    assert p.shape == (2, 12, 16)
    np.testing.assert_array_equal(p[0, :, 5], w[5].reshape(-1))
    np.testing.assert_array_equal(p[1, :, 3], w[19].reshape(-1))
    assert not p[1, :, 4:].any()  # zeros past M
