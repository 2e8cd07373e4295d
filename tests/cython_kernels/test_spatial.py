"""The polyphase kernels (src/polyphase.h, driven by conv.c and pool.c) agree with the reference:
depthwise conv, the direct conv for few input channels, max / average pooling; on AVX-512, AVX2
and generic (where the row paths run), 1 and 2 threads."""

from __future__ import annotations

import numpy as np
import pytest

from ._helpers import assert_close, assert_on_cython, one_node, run_both

TOL = {"rtol": 1e-4, "atol": 1e-4}
ACTIVATIONS = [("", None), ("Relu", None), ("Clip", [-0.5, 0.5]), ("Sigmoid", None),
               ("LeakyRelu", [0.1]), ("HardSwish", None)]  # fmt: skip


def _geometry(rng: np.random.Generator) -> dict:
    k = int(rng.choice([1, 3, 3, 3, 5]))
    s = int(rng.choice([1, 2, 2, 3]))
    d = int(rng.choice([1, 1, 1, 2]))
    pads = [int(v) for v in rng.integers(0, k, 4)] if rng.random() < 0.7 else [0, 0, 0, 0]
    return {"kernel_shape": [k, k], "strides": [s, s], "dilations": [d, d], "pads": pads}


def _plane(rng: np.random.Generator, geo: dict) -> tuple[int, int]:
    span = (geo["kernel_shape"][0] - 1) * geo["dilations"][0] + 1
    h, w = (int(v) for v in rng.choice([1, 2, 7, 13, 14, 17, 30], 2))
    return max(h, span), max(w, span)


@pytest.mark.parametrize("seed", range(14))
def test_depthwise_matches_reference(seed: int, level: str, threads: int) -> None:
    rng = np.random.default_rng(seed)
    geo = _geometry(rng)
    c = int(rng.choice([1, 5, 16, 19, 40]))
    h, w = _plane(rng, geo)
    activation, params = ACTIVATIONS[seed % len(ACTIVATIONS)]
    x = rng.standard_normal((int(rng.integers(1, 3)), c, h, w)).astype(np.float32)
    wt = rng.standard_normal((c, 1, *geo["kernel_shape"])).astype(np.float32)
    b = rng.standard_normal(c).astype(np.float32)
    attrs = {"activation": activation, **({"activation_params": params} if params else {})}
    model = one_node("FusedConv", {"x": x}, {"w": wt, "b": b}, domain="gossamer", group=c,
                     **geo, **attrs)  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, **TOL)


@pytest.mark.parametrize("seed", range(10))
def test_direct_conv_for_few_input_channels_matches_reference(
    seed: int, level: str, threads: int
) -> None:
    rng = np.random.default_rng(100 + seed)
    geo = _geometry(rng)
    if seed % 3 == 0:
        geo["kernel_shape"] = [7, 7]
        geo["pads"] = [3, 3, 3, 3]
    c, m = int(rng.integers(1, 5)), int(rng.choice([1, 3, 8, 13, 32]))
    h, w = _plane(rng, geo)
    activation, params = ACTIVATIONS[seed % 3]
    x = rng.standard_normal((int(rng.integers(1, 3)), c, h, w)).astype(np.float32)
    wt = rng.standard_normal((m, c, *geo["kernel_shape"])).astype(np.float32)
    consts = {"w": wt, "b": rng.standard_normal(m).astype(np.float32)} if seed % 2 else {"w": wt}
    attrs = {"activation": activation, **({"activation_params": params} if params else {})}
    model = one_node("FusedConv", {"x": x}, consts, domain="gossamer", **geo, **attrs)
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, **TOL)


def test_mobilenet_stem_and_depthwise_shapes(level: str, threads: int) -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
    w = rng.standard_normal((32, 3, 3, 3)).astype(np.float32)
    clip = {"activation": "Clip", "activation_params": [0.0, 6.0]}
    model = one_node("FusedConv", {"x": x}, {"w": w}, domain="gossamer", strides=[2, 2],
                     pads=[1, 1, 1, 1], **clip)  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, **TOL)
    for c, hw, s in [(96, 112, 2), (960, 7, 1), (576, 14, 2)]:
        x = rng.standard_normal((1, c, hw, hw)).astype(np.float32)
        w = rng.standard_normal((c, 1, 3, 3)).astype(np.float32)
        model = one_node("FusedConv", {"x": x}, {"w": w}, domain="gossamer", group=c,
                         strides=[s, s], pads=[1, 1, 1, 1], **clip)  # fmt: skip
        ours, ref, placement = run_both(model, {"x": x}, threads)
        assert_on_cython(placement)
        assert_close(ours, ref, **TOL)


@pytest.mark.parametrize(("m", "hw", "k", "p"), [(64, 224, 3, 0), (13, 37, 7, 3), (5, 20, 3, 1)])
def test_direct_conv_same_bits_at_avx2_and_avx512_and_any_thread_count(
    m: int, hw: int, k: int, p: int
) -> None:
    """The direct conv sums bias + every tap in the same order at AVX2 and AVX-512 (pixels in
    the lanes, GK_DT_C channels per tile), so both levels and 1 or 2 threads give the same bits
    (SqueezeNet's stem 3 -> 64 3x3 s2, channel counts that leave part tiles, part vectors)."""
    from gossamer.cython_kernels import set_simd_level, simd_level
    from gossamer.cython_kernels._native import ext

    if not ext().cpu_has_avx512f():
        pytest.skip("this CPU has no AVX-512F")
    rng = np.random.default_rng(m)
    x = rng.standard_normal((1, 3, hw, hw)).astype(np.float32)
    wt = rng.standard_normal((m, 3, k, k)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    model = one_node("FusedConv", {"x": x}, {"w": wt, "b": b}, domain="gossamer", strides=[2, 2],
                     pads=[p] * 4, kernel_shape=[k, k], activation="Relu")  # fmt: skip
    before, outs = simd_level(), []
    try:
        for level, threads in [("avx512f", 1), ("avx512f", 2), ("avx2+fma", 1), ("avx2+fma", 2)]:
            assert set_simd_level(level) == level
            ours, ref, placement = run_both(model, {"x": x}, threads)
            assert_on_cython(placement)
            assert_close(ours, ref, **TOL)
            outs.append(ours[0])
    finally:
        set_simd_level(before)
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


@pytest.mark.parametrize(
    ("c", "m", "hw", "k", "s", "p"),
    [
        (3, 64, 64, 7, 2, 3),
        (3, 100, 21, 3, 1, 1),
        (2, 37, (5, 341), 3, 2, 1),
        (1, 16, (3, 180), 5, 1, 2),
    ],
)
def test_direct_conv_channel_groups_and_long_rows(
    c: int, m: int, hw: int | tuple[int, int], k: int, s: int, p: int, level: str, threads: int
) -> None:
    """The direct kernel's register tiles over channel groups (M past 64 and not a multiple of
    16) and its pixel chunks (rows longer than 160 outputs), ResNet's stem geometry."""
    h, w = hw if isinstance(hw, tuple) else (hw, hw)
    rng = np.random.default_rng(m)
    x = rng.standard_normal((2, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((m, c, k, k)).astype(np.float32)
    b = rng.standard_normal(m).astype(np.float32)
    model = one_node("FusedConv", {"x": x}, {"w": wt, "b": b}, domain="gossamer", strides=[s, s],
                     pads=[p] * 4, kernel_shape=[k, k], activation="Relu")  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, **TOL)


@pytest.mark.parametrize("seed", range(16))
@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
def test_pooling_matches_reference(op: str, seed: int, level: str, threads: int) -> None:
    rng = np.random.default_rng(200 + seed)
    geo = _geometry(rng)
    k = geo["kernel_shape"][0]
    geo["pads"] = [min(p, k - 1) for p in geo["pads"]]  # pads smaller than the kernel
    attrs = {**geo, "ceil_mode": int(seed % 2)}
    if op == "AveragePool":
        attrs["count_include_pad"] = int(seed % 4 >= 2)
    h, w = _plane(rng, geo)
    x = rng.standard_normal((int(rng.integers(1, 3)), int(rng.choice([1, 3, 16])), h, w))
    x = x.astype(np.float32)
    if seed % 5 == 0:  # NaN and infinities propagate as in the reference
        x.reshape(-1)[rng.integers(0, x.size, 3)] = [np.nan, np.inf, -np.inf]
    model = one_node(op, {"x": x}, opset=19, **attrs)
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=1e-5, atol=1e-6)


def test_squeezenet_max_pools(level: str, threads: int) -> None:
    rng = np.random.default_rng(3)
    for c, hw in [(64, 111), (128, 55), (256, 27)]:
        x = rng.standard_normal((1, c, hw, hw)).astype(np.float32)
        model = one_node("MaxPool", {"x": x}, kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)
        ours, ref, placement = run_both(model, {"x": x}, threads)
        assert_on_cython(placement)
        assert_close(ours, ref, rtol=0, atol=0)


@pytest.mark.parametrize("case", range(12))
def test_separable_max_pool_windows_and_nan(case: int, level: str, threads: int) -> None:
    """Max pools with dilation 1 and column stride 1 or 2 take pool.c's separable kernel (vertical
    then horizontal maxima): rectangular windows, any row stride, pads, rows that end in a part
    vector, NaN and infinities (exact: a max rounds nothing)."""
    rng = np.random.default_rng(400 + case)
    kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    sh, sw = int(rng.integers(1, 4)), int(rng.choice([1, 2]))
    pads = [int(rng.integers(0, kh)), int(rng.integers(0, kw)), int(rng.integers(0, kh)),
            int(rng.integers(0, kw))]  # fmt: skip
    h = int(rng.integers(kh, 30))
    w = max(kw, int(rng.choice([1, 8, 15, 16, 17, 33, 47, 111])))
    x = rng.standard_normal((1, 3, h, w)).astype(np.float32)
    if case % 2:  # NaN and infinities propagate as in the reference
        x.reshape(-1)[rng.integers(0, x.size, 5)] = [np.nan, np.nan, np.inf, -np.inf, np.nan]
    model = one_node("MaxPool", {"x": x}, opset=19, kernel_shape=[kh, kw], strides=[sh, sw],
                     pads=pads, ceil_mode=int(case % 3 == 0))  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=0, atol=0)


@pytest.mark.parametrize("kw", [9, 10, 17, 18, 33, 34])
@pytest.mark.parametrize("sw", [1, 2])
def test_separable_max_pool_wide_windows(kw: int, sw: int, level: str, threads: int) -> None:
    """The separable kernel keeps a row's taps in registers for windows up to sw * lanes + 1
    wide (9 / 17 at AVX2, 17 / 33 at AVX-512) and goes through a stored row past that: both
    sides of each limit, with pads, part vectors at both ends, NaN and infinities."""
    rng = np.random.default_rng(500 + kw * 3 + sw)
    kh, pw = 2, kw // 2
    w = kw + int(rng.integers(1, 40))
    x = rng.standard_normal((1, 4, 7, w)).astype(np.float32)
    x.reshape(-1)[rng.integers(0, x.size, 6)] = [np.nan, np.inf, -np.inf, np.nan, np.inf, -1e30]
    model = one_node("MaxPool", {"x": x}, opset=19, kernel_shape=[kh, kw], strides=[1, sw],
                     pads=[1, pw, 0, pw - 1], ceil_mode=1)  # fmt: skip
    ours, ref, placement = run_both(model, {"x": x}, threads)
    assert_on_cython(placement)
    assert_close(ours, ref, rtol=0, atol=0)


def test_polyphase_kernels_can_be_turned_off_and_agree_with_the_older_paths() -> None:
    from gossamer.cython_kernels._native import ext

    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 24, 15, 15)).astype(np.float32)
    w = rng.standard_normal((24, 1, 3, 3)).astype(np.float32)
    model = one_node("Conv", {"x": x}, {"w": w}, group=24, strides=[2, 2], pads=[1, 0, 1, 2])
    outs = []
    for on in (0, 1):
        before = ext().polyphase_on(on)
        try:
            outs.append(run_both(model, {"x": x}, 2)[0])
        finally:
            ext().polyphase_on(int(before))
    assert_close(outs[1], outs[0], **TOL)
