"""Defence in depth: every wrapper in `_ext` raises ValueError (or TypeError) with a specific
message for arrays too small for the sizes it is told, None where an array is needed, and
indices / geometry out of range, before any C code runs (so these calls cannot crash)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from gossamer.cython_kernels._native import ext

F32 = np.float32
INF = np.inf


@pytest.fixture(scope="module")
def e() -> Any:
    return ext()


def z(*shape: int) -> np.ndarray:
    return np.zeros(shape, F32)


def o(*shape: int) -> np.ndarray:
    return np.ones(shape, F32)


def lstm_args(e: Any, steps: int = 3, batch: int = 2, hidden: int = 20, dirs: int = 1,
              **over: Any) -> dict[str, Any]:  # fmt: skip
    args = dict(
        xw=o(steps * batch, dirs * 4 * hidden), steps=steps, batch=batch, hidden=hidden,
        dirs=dirs, reverse=False, layout=0, lens=None, y=z(steps * dirs * batch * hidden),
        h0=None, c0=None, yh=None, yc=None, rp=o(dirs * e.rnn_packed_size(4, hidden)),
        peep=z(dirs * 3 * hidden), input_forget=False, lo=-INF, hi=INF, threads=1,
    )  # fmt: skip
    args.update(over)
    return args


def gru_args(e: Any, steps: int = 2, batch: int = 1, hidden: int = 20, **over: Any) -> dict:
    args = dict(
        xw=o(steps * batch, 3 * hidden), steps=steps, batch=batch, hidden=hidden, dirs=1,
        reverse=False, layout=0, lens=None, y=None, h0=None, yh=None,
        rzr=z(e.rnn_packed_size(2, hidden)), rh=z(e.rnn_packed_size(1, hidden)), rbh=z(hidden),
        linear_before_reset=True, lo=-INF, hi=INF, threads=1,
    )  # fmt: skip
    args.update(over)
    return args


def test_rnn(e: Any) -> None:
    with pytest.raises(ValueError, match="rnn_pack: out has 10 floats"):
        e.rnn_pack(o(80, 20), 4, 20, z(10))
    with pytest.raises(ValueError, match="rnn_pack: r must have"):
        e.rnn_pack(o(8, 20), 4, 20, z(e.rnn_packed_size(4, 20)))
    e.lstm(**lstm_args(e))  # the good call runs
    e.gru(**gru_args(e))
    bad = {
        "lens\\[1\\] = 7 is outside": dict(lens=np.array([3, 7], np.int64), reverse=True),
        "lens\\[0\\] = -1 is outside": dict(lens=np.array([-1, 2], np.int64)),
        "lens has 1 entries": dict(lens=np.array([1], np.int64)),
        "y has 5 floats": dict(y=z(5)),
        "rp has 16 floats": dict(rp=z(16)),
        "rp is required": dict(rp=None),
        "xw needs 6 rows": dict(xw=o(1, 80)),
        "xw needs 6 rows of 80": dict(xw=o(6, 40)),
        "h0 has 3 floats": dict(h0=z(3)),
        "c0 has 3 floats": dict(c0=z(3)),
        "yh or yc has fewer": dict(yc=z(3)),
        "peep has 4 floats": dict(peep=z(4)),
        "bad sizes": dict(dirs=3),
        "layout must be": dict(layout=2),
    }
    for msg, over in bad.items():
        with pytest.raises(ValueError, match="lstm: " + msg):
            e.lstm(**lstm_args(e, **over))
    with pytest.raises(ValueError, match="lstm: lens has 1 entries, batch is 4"):
        e.lstm(**lstm_args(e, batch=4, lens=np.array([1], np.int64)))
    with pytest.raises(ValueError, match="gru: rbh \\(linear_before_reset\\) is required"):
        e.gru(**gru_args(e, rbh=None))
    e.gru(**gru_args(e, rbh=None, linear_before_reset=False))  # rbh unused then
    for msg, over in {
        "rzr has 1 floats": dict(rzr=z(1)),
        "rh has 1 floats": dict(rh=z(1)),
        "rbh \\(linear_before_reset\\) has 2": dict(rbh=z(2)),
        "xw needs 2 rows of 60": dict(xw=o(2, 40)),
    }.items():
        with pytest.raises(ValueError, match="gru: " + msg):
            e.gru(**gru_args(e, **over))


def test_layout(e: Any) -> None:
    with pytest.raises(ValueError, match="copy_into: destination dim 0 is 10, source gives 100"):
        e.copy_into(o(100), z(10), 1)
    with pytest.raises(ValueError, match="copy_into: source has 1 dims, destination 2"):
        e.copy_into(o(10), z(2, 5), 1)
    with pytest.raises(ValueError, match="copy_into: element sizes differ"):
        e.copy_into(np.ones(4, np.float64), z(4), 1)
    for perm in ((0, 7), (0, 0), (-1, 0)):
        with pytest.raises(ValueError, match="transpose_into: perm .* is not a permutation"):
            e.transpose_into(o(4, 5), perm, z(5, 4), 1)
    with pytest.raises(ValueError, match="transpose_into: perm has 3 axes, source 2"):
        e.transpose_into(o(4, 5), (0, 1, 2), z(4, 5, 1), 1)
    with pytest.raises(ValueError, match="transpose_into: destination dim 0 is 5, source gives 50"):
        e.transpose_into(o(40, 50), (1, 0), z(5, 4), 1)
    y = z(4, 5)
    assert e.transpose_into(np.arange(20, dtype=F32).reshape(5, 4), (1, 0), y, 1) == 0
    np.testing.assert_array_equal(y, np.arange(20, dtype=F32).reshape(5, 4).T)

    for axis in (5, 2, -1):
        with pytest.raises(ValueError, match=f"concat_into: axis {axis} is outside"):
            e.concat_into([o(2, 3), o(2, 3)], axis, z(2, 3), 1)
    with pytest.raises(ValueError, match="concat_into: inputs total 4 along axis 0"):
        e.concat_into([o(2, 3), o(2, 3)], 0, z(2, 3), 1)
    with pytest.raises(ValueError, match="concat_into: inputs total 2 along axis 0"):
        e.concat_into([o(1, 3), o(1, 3)], 0, z(3, 3), 1)
    # the second input is bad: nothing at all is copied
    y = z(4, 3)
    with pytest.raises(ValueError, match="concat_into: input 1 dim 1 is 4, destination 3"):
        e.concat_into([o(2, 3), o(2, 4)], 0, y, 1)
    assert not y.any()
    with pytest.raises(ValueError, match="concat_into: input 1 differs .* rank"):
        e.concat_into([o(2, 3), o(6)], 0, y, 1)
    with pytest.raises(ValueError, match="concat_into: input 0 differs .* element size"):
        e.concat_into([np.ones((4, 3), np.float64)], 0, y, 1)
    assert e.concat_into([o(1, 3), 2 * o(3, 3)], 0, y, 1) == 0
    np.testing.assert_array_equal(y[:, 0], [1, 2, 2, 2])

    x = o(1, 10, 4)
    with pytest.raises(ValueError, match="gather_rows: dst has 16 bytes, needs 1 x 4 x 16"):
        e.gather_rows(x, np.array([1, 2, 3, 4], np.int64), z(1, 1, 4), 1, 10, 16, 1)
    with pytest.raises(ValueError, match="gather_rows: x has 32 bytes, needs 1 x 10 x 16"):
        e.gather_rows(o(1, 2, 4), np.array([9], np.int64), z(1, 1, 4), 1, 10, 16, 1)
    for dt in (np.int16, np.int8, np.uint32, np.float32):
        with pytest.raises(TypeError, match="gather_rows: indices must be int32 or int64"):
            e.gather_rows(x, np.zeros(3, dt), z(1, 3, 4), 1, 10, 16, 1)
    with pytest.raises(ValueError, match="gather_rows: negative size"):
        e.gather_rows(x, np.zeros(3, np.int32), z(1, 3, 4), 1, -10, 16, 1)
    for dt in (np.int32, np.int64):
        y = z(1, 2, 4)
        assert e.gather_rows(x * 3, np.array([1, -1], dt), y, 1, 10, 16, 1) == -1
        assert (y == 3).all()


def _packed(e: Any, m: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    ap, bp = z(e.packed_a_size(m, k)), z(e.packed_b_size(k, n))
    e.pack_a(o(m, k), ap, 1)
    e.pack_b(o(k, n), bp, 1)
    return ap, bp


def test_gemm(e: Any) -> None:
    m, n, k = 24, 64, 8
    ap, bp = _packed(e, m, n, k)
    with pytest.raises(ValueError, match="pack_a: out has 10 floats"):
        e.pack_a(o(m, k), z(10), 1)
    with pytest.raises(ValueError, match="pack_b: out has 10 floats"):
        e.pack_b(o(k, n), z(10), 1)
    with pytest.raises(ValueError, match="pack_b_conv: out has 10 floats"):
        e.pack_b_conv(o(3, 8, 8), 3, 3, 1, 1, 1, 1, 1, 1, 8, 8, z(10), 1)
    with pytest.raises(ValueError, match="pack_b_conv: kernel, stride and dilation"):
        e.pack_b_conv(o(3, 8, 8), 3, 3, 0, 1, 1, 1, 1, 1, 8, 8, z(10), 1)
    c = z(m, n)
    for msg, args in {
        "packed A has 10": (m, n, k, z(10), bp, c, None, None),
        "packed B has 10": (m, n, k, ap, z(10), c, None, None),
        "c is smaller than 24 x 64": (m, n, k, ap, bp, z(2, n), None, None),
        "bias_row has 2": (m, n, k, ap, bp, c, z(2), None),
        "bias_col has 2": (m, n, k, ap, bp, c, None, z(2)),
    }.items():
        with pytest.raises(ValueError, match="gemm: " + msg):
            e.gemm(*args, -INF, INF, False, 1)
    e.gemm(m, n, k, ap, bp, c, z(m), z(n), -INF, INF, False, 1)
    assert (c == k).all()

    bad_eps = {
        "residual \\(2 x 64\\) is smaller": dict(residual=o(2, n)),
        "residual \\(24 x 3\\) is smaller": dict(residual=o(m, 3)),
        "bias_row has 3": dict(bias_row=o(3)),
        "bias_col has 3": dict(bias_col=o(3)),
        "slope_row has 3": dict(slope_row=o(3), act=8),
        "slope_col has 3": dict(slope_col=o(3), act=8),
    }
    for msg, kw in bad_eps.items():
        ep = e.Epilogue(**kw)
        with pytest.raises(ValueError, match="gemm_ep: " + msg):
            e.gemm_ep(m, n, k, ap, bp, c, ep, 1)
        with pytest.raises(ValueError, match="gemm_a: " + msg):
            e.gemm_a(o(m, k), bp, n, c, ep, 1)
        with pytest.raises(ValueError, match="epilogue_apply: " + msg):
            e.epilogue_apply(c, ep, 1)
        with pytest.raises(ValueError, match="gemm_batched: " + msg):
            e.gemm_batched(o(1, m, k), bp.reshape(1, -1), n, z(1, m, n), ep, 0, 1)
    ep = e.Epilogue(residual=o(m, n))
    e.gemm_ep(m, n, k, ap, bp, c, ep, 1)
    assert (c == k + 1).all()
    with pytest.raises(ValueError, match="gemm_ep: ep is None"):
        e.gemm_ep(m, n, k, ap, bp, c, None, 1)
    with pytest.raises(ValueError, match="gemm_ep: c is smaller"):
        e.gemm_ep(m, n, k, ap, bp, z(m, 3), ep, 1)
    with pytest.raises(ValueError, match="gemm_a: packed B has 10"):
        e.gemm_a(o(m, k), z(10), n, c, e.Epilogue(), 1)
    with pytest.raises(ValueError, match="gemm_a: c is smaller"):
        e.gemm_a(o(m, k), bp, n, z(m - 1, n), e.Epilogue(), 1)
    # a batch of 2 with the residual advancing by m * n floats needs 2 * m rows of it
    with pytest.raises(ValueError, match="gemm_batched: residual"):
        e.gemm_batched(o(2, m, k), bp.reshape(1, -1), n, z(2, m, n),
                       e.Epilogue(residual=o(m, n)), m * n, 1)  # fmt: skip
    e.gemm_batched(o(2, m, k), bp.reshape(1, -1), n, z(2, m, n),
                   e.Epilogue(residual=o(2 * m, n)), m * n, 1)  # fmt: skip
    with pytest.raises(ValueError, match="gemm_batched: a 3 x 24 does not fit"):
        e.gemm_batched(o(3, m, k), bp.reshape(1, -1), n, z(2, m, n), e.Epilogue(), 0, 1)
    with pytest.raises(ValueError, match="gemm_batched: a 1 x 2 does not fit"):
        e.gemm_batched(o(1, 2, k), bp.reshape(1, -1), n, z(2, m, n), e.Epilogue(), 0, 1)
    with pytest.raises(ValueError, match="gemm_batched: bp 3 x"):
        e.gemm_batched(o(2, m, k), np.tile(bp, (3, 1)), n, z(2, m, n), e.Epilogue(), 0, 1)
    with pytest.raises(ValueError, match="gemm_batched: bp 1 x 10"):
        e.gemm_batched(o(2, m, k), z(1, 10), n, z(2, m, n), e.Epilogue(), 0, 1)
    with pytest.raises(ValueError, match="gemm_batched: c has fewer than n"):
        e.gemm_batched(o(2, m, k), bp.reshape(1, -1), n, z(2, m, 3), e.Epilogue(), 0, 1)
    for a, b in (((3, 4, 5), (2, 5, 6)), ((2, 3, 5), (2, 5, 6)), ((2, 4, 5), (2, 4, 6)),
                 ((2, 4, 5), (2, 5, 7))):  # fmt: skip
        with pytest.raises(ValueError, match="matmul_batched: a .* does not give c"):
            e.matmul_batched(o(*a), o(*b), z(2, 4, 6), 1)
    c3 = z(2, 4, 6)
    e.matmul_batched(o(1, 4, 5), o(2, 5, 6), c3, 1)
    assert (c3 == 5).all()


def test_elementwise(e: Any) -> None:
    with pytest.raises(ValueError, match="binary: a \\(10\\) or y \\(10\\) has fewer than"):
        e.binary(0, o(10), o(10), z(10), 2, 3, 4, False, False, False, False, 1)
    with pytest.raises(ValueError, match="binary: b has 4 floats, too few"):
        e.binary(0, o(24), o(4), z(24), 2, 3, 4, True, False, True, False, 1)
    with pytest.raises(ValueError, match="binary: b has 0 floats"):
        e.binary(0, o(24), o(0), z(24), 2, 3, 4, False, False, False, False, 1)
    with pytest.raises(ValueError, match="binary: an array is None"):
        e.binary(0, o(24), None, z(24), 2, 3, 4, False, False, False, False, 1)
    with pytest.raises(ValueError, match="binary: negative size"):
        e.binary(0, o(24), o(1), z(24), 2, -3, 4, False, False, False, False, 1)
    a = o(24)
    e.binary(0, a, o(8), a, 2, 3, 4, True, False, True, False, 1)  # in place
    assert (a == 2).all()
    with pytest.raises(ValueError, match="unary: y has 3 floats, x 10"):
        e.unary(0, o(10), z(3), 0.0, 0.0, 1)
    with pytest.raises(ValueError, match="unary: an array is None"):
        e.unary(0, None, z(3), 0.0, 0.0, 1)
    with pytest.raises(ValueError, match="channel_affine: x or y has fewer"):
        e.channel_affine(o(10), o(3), o(3), z(24), 2, 3, 4, 1)
    with pytest.raises(ValueError, match="channel_affine: scale has 2 floats, needs 3"):
        e.channel_affine(o(24), o(2), o(3), z(24), 2, 3, 4, 1)
    with pytest.raises(ValueError, match="channel_affine: shift is required"):
        e.channel_affine(o(24), o(3), None, z(24), 2, 3, 4, 1)
    with pytest.raises(ValueError, match="global_avg: y has fewer"):
        e.global_avg(o(6, 4), z(5), 1)
    with pytest.raises(ValueError, match="softmax_rows: x and y differ"):
        e.softmax_rows(o(6, 4), z(5, 4), 1)
    with pytest.raises(ValueError, match="layernorm_rows: x and y differ"):
        e.layernorm_rows(o(6, 4), o(4), o(4), z(6, 3), z(6), z(6), 1e-5, 1)
    for msg, args in {
        "scale has 3": (o(3), o(4), z(6), z(6)),
        "bias has 3": (o(4), o(3), z(6), z(6)),
        "mean has 5": (o(4), None, z(5), z(6)),
        "inv_std has 5": (o(4), None, z(6), z(5)),
        "scale is required": (None, None, z(6), z(6)),
    }.items():
        with pytest.raises(ValueError, match="layernorm_rows: " + msg):
            e.layernorm_rows(o(6, 4), args[0], args[1], z(6, 4), args[2], args[3], 1e-5, 1)


def test_pool(e: Any) -> None:
    for fn in (e.pool2d,):
        name = fn.__name__
        with pytest.raises(ValueError, match=f"{name}: x and y differ in planes"):
            fn(True, o(8, 8, 8), 2, 2, 2, 2, 1, 1, 0, 0, None, None, z(2, 4, 4), 1)
        with pytest.raises(ValueError, match=f"{name}: cnt_y is required"):
            fn(False, o(8, 8, 8), 2, 2, 2, 2, 1, 1, 0, 0, None, None, z(8, 4, 4), 1)
        with pytest.raises(ValueError, match=f"{name}: cnt_x has 2 floats, needs 4"):
            fn(False, o(8, 8, 8), 2, 2, 2, 2, 1, 1, 0, 0, o(4), o(2), z(8, 4, 4), 1)
        with pytest.raises(ValueError, match=f"{name}: cnt_y has 3 floats, needs 4"):
            fn(False, o(8, 8, 8), 2, 2, 2, 2, 1, 1, 0, 0, o(3), o(4), z(8, 4, 4), 1)
        with pytest.raises(ValueError, match=f"{name}: kernel, stride and dilation"):
            fn(True, o(8, 8, 8), 2, 2, 0, 2, 1, 1, 0, 0, None, None, z(8, 4, 4), 1)
        y = z(8, 4, 4)
        fn(False, o(8, 8, 8), 2, 2, 2, 2, 1, 1, 0, 0, 2 * o(4), 2 * o(4), y, 1)
        assert (y == 1).all()


def test_conv(e: Any) -> None:
    x, wt = o(1, 3, 32, 32), o(27, 16)
    work = z(e.conv_direct_work(3, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1, 16, 16))
    geo = (3, 3, 2, 2, 1, 1, 1, 1)
    with pytest.raises(ValueError, match="conv_direct: work has 16 floats, needs"):
        e.conv_direct(x, wt, *geo, None, 0, 0, False, z(1, 8, 16, 16), z(16), 1)
    with pytest.raises(ValueError, match="conv_direct: work is required"):
        e.conv_direct(x, wt, *geo, None, 0, 0, False, z(1, 8, 16, 16), None, 1)
    with pytest.raises(ValueError, match="conv_direct: x and y differ in batch"):
        e.conv_direct(o(2, 3, 32, 32), wt, *geo, None, 0, 0, False, z(1, 8, 16, 16), work, 1)
    with pytest.raises(ValueError, match="conv_direct: weights do not fit"):
        e.conv_direct(x, o(27, 4), *geo, None, 0, 0, False, z(1, 8, 16, 16), work, 1)
    with pytest.raises(ValueError, match="conv_direct: weights do not fit"):
        e.conv_direct(x, o(18, 16), *geo, None, 0, 0, False, z(1, 8, 16, 16), work, 1)
    with pytest.raises(ValueError, match="conv_direct: bias has 2 floats, needs 8"):
        e.conv_direct(x, wt, *geo, o(2), 0, 0, False, z(1, 8, 16, 16), work, 1)
    with pytest.raises(ValueError, match="conv_direct: kernel, stride and dilation"):
        e.conv_direct(x, wt, 3, 3, 2, 2, 0, 1, 1, 1, None, 0, 0, False, z(1, 8, 16, 16), work, 1)
    e.conv_direct(x, wt, *geo, o(8), 0, 0, False, z(1, 8, 16, 16), work, 1)

    x = o(1, 16, 14, 14)
    geo = (3, 3, 1, 1, 1, 1, 1, 1)
    with pytest.raises(ValueError, match="depthwise: y \\(1, 2, ..\\) and x \\(1, 16, ..\\)"):
        e.depthwise(x, o(16 * 9), *geo, None, 0, 0, False, z(1, 2, 14, 14), 1)
    with pytest.raises(ValueError, match="depthwise: y \\(2, 16, ..\\)"):
        e.depthwise(x, o(16 * 9), *geo, None, 0, 0, False, z(2, 16, 14, 14), 1)
    with pytest.raises(ValueError, match="depthwise: wt has 9 floats, needs 144"):
        e.depthwise(x, o(9), *geo, None, 0, 0, False, z(1, 16, 14, 14), 1)
    with pytest.raises(ValueError, match="depthwise: bias has 4 floats, needs 16"):
        e.depthwise(x, o(16 * 9), *geo, o(4), 0, 0, False, z(1, 16, 14, 14), 1)
    with pytest.raises(ValueError, match="depthwise: kernel, stride and dilation"):
        e.depthwise(x, o(16 * 9), 0, 3, 1, 1, 1, 1, 1, 1, None, 0, 0, False, z(1, 16, 14, 14), 1)
    e.depthwise(x, o(16 * 9), *geo, o(16), 0, 0, False, z(1, 16, 14, 14), 1)

    # winograd F(2x2) / F(4x4), 3x3, pad 1
    c, m, h = 4, 8, 8
    x, y = o(1, c, h, h), z(1, m, h, h)
    u = z(16 * e.packed_a_size(m, c))
    work = z(e.winograd_work(2, c, m, h, h, 64, 1))
    for msg, (mt, uu, b, yy, ww, chunk) in {
        "tile size 3 is not 2 or 4": (3, u, None, y, work, 64),
        "y's batch or channels": (2, u, None, z(1, 4, h, h), work, 64),
        "u has 10 floats": (2, z(10), None, y, work, 64),
        "bias has 2 floats": (2, u, o(2), y, work, 64),
        "work has 10 floats": (2, u, None, y, z(10), 64),
        "chunk must be >= 1": (2, u, None, y, work, 0),
    }.items():
        with pytest.raises(ValueError, match="winograd_conv: " + msg):
            e.winograd_conv(mt, x, 1, 1, uu, m, b, -INF, INF, False, yy, ww, chunk, 1)
    with pytest.raises(ValueError, match="winograd_conv: residual must have"):
        e.winograd_conv(2, x, 1, 1, u, m, None, -INF, INF, False, y, work, 64, 1, z(1, m, 2, 2))
    e.winograd_conv(2, x, 1, 1, u, m, None, -INF, INF, False, y, work, 64, 1)


def test_col2im(e: Any) -> None:
    c, h, w, k = 2, 4, 4, 3
    cols = o(c * k * k * h * w)
    with pytest.raises(ValueError, match="col2im: work is required"):
        e.col2im(cols, c, h, w, k, k, 2, 2, 1, 1, 0, 0, None, z(c, 9, 9), None, 1)
    with pytest.raises(ValueError, match="col2im: work has 3 floats"):
        e.col2im(cols, c, h, w, k, k, 2, 2, 1, 1, 0, 0, None, z(c, 9, 9), z(3), 1)
    with pytest.raises(ValueError, match="col2im: bias has 1 floats, needs 2"):
        e.col2im(cols, c, h, w, k, k, 1, 1, 1, 1, 0, 0, o(1), z(c, 6, 6), None, 1)
    with pytest.raises(ValueError, match="col2im: y has 3 channels, c is 2"):
        e.col2im(cols, c, h, w, k, k, 1, 1, 1, 1, 0, 0, None, z(3, 6, 6), None, 1)
    with pytest.raises(ValueError, match="col2im: cols too small"):
        e.col2im(cols[:10], c, h, w, k, k, 1, 1, 1, 1, 0, 0, None, z(c, 6, 6), None, 1)
    with pytest.raises(ValueError, match="col2im: kernel, stride and dilation"):
        e.col2im(cols, c, h, w, k, k, 0, 1, 1, 1, 0, 0, None, z(c, 6, 6), None, 1)
    y = z(c, 9, 9)
    e.col2im(cols, c, h, w, k, k, 2, 2, 1, 1, 0, 0, o(c), y,
             z(e.col2im_work(2, 2, 9, 9, 1)), 1)  # fmt: skip
    assert y.max() > 1


def test_resize(e: Any) -> None:
    x = o(1, 4, 4)
    i8 = np.arange(8, dtype=np.int32) // 2
    with pytest.raises(ValueError, match="resize2d: ih holds 1000, outside \\[0, 4\\)"):
        e.resize2d(x, z(1, 8, 8), 1, np.full(8, 1000, np.int32), None, None, 1, i8, None, None,
                   0.0, 1)  # fmt: skip
    with pytest.raises(ValueError, match="resize2d: iw holds -1, outside"):
        e.resize2d(x, z(1, 8, 8), 1, i8, None, None, 1, i8 - 1, None, None, 0.0, 1)
    with pytest.raises(ValueError, match="resize2d: iw holds 100000"):
        e.resize2d(x, z(1, 4, 8), 0, None, None, None, 2, np.full(16, 100000, np.int32),
                   np.ones(16), None, 0.0, 1)  # fmt: skip
    iw = np.zeros(16, np.int32)
    with pytest.raises(ValueError, match="resize2d: ww needs 16 weights"):
        e.resize2d(x, z(1, 4, 8), 0, None, np.ones(1), None, 2, iw, None, None, 0.0, 1)
    with pytest.raises(ValueError, match="resize2d: ww needs 16 weights"):
        e.resize2d(x, z(1, 4, 8), 0, None, None, None, 2, iw, np.ones(1), None, 0.0, 1)
    with pytest.raises(ValueError, match="resize2d: wh needs 16 weights"):
        e.resize2d(x, z(1, 8, 8), 2, iw, np.ones(3), None, 2, iw, np.ones(16), None, 0.0, 1)
    with pytest.raises(ValueError, match="resize2d: weights for one axis only"):
        e.resize2d(x, z(1, 8, 8), 2, iw, None, None, 2, iw, np.ones(16), None, 0.0, 1)
    with pytest.raises(ValueError, match="resize2d: nearest \\(no weights\\) takes one tap"):
        e.resize2d(x, z(1, 4, 8), 0, None, None, None, 2, iw, None, None, 0.0, 1)
    with pytest.raises(ValueError, match="resize2d: outw needs 8 entries"):
        e.resize2d(x, z(1, 4, 8), 0, None, None, None, 1, i8, None, np.zeros(3, np.uint8),
                   0.0, 1)  # fmt: skip
    with pytest.raises(ValueError, match="resize2d: index tables too short"):
        e.resize2d(x, z(1, 4, 8), 0, None, None, None, 1, i8[:3], None, None, 0.0, 1)
    with pytest.raises(ValueError, match="resize2d: x and y differ in planes"):
        e.resize2d(x, z(2, 4, 8), 0, None, None, None, 1, i8, None, None, 0.0, 1)
    with pytest.raises(ValueError, match="resize2d: an identity axis changes length"):
        e.resize2d(x, z(1, 5, 8), 0, None, None, None, 1, i8, None, None, 0.0, 1)
    with pytest.raises(ValueError, match="resize2d: negative tap count"):
        e.resize2d(x, z(1, 4, 8), 0, None, None, None, -1, i8, None, None, 0.0, 1)
    y = z(1, 8, 8)
    e.resize2d(x, y, 1, i8, None, None, 1, i8, None, None, 0.0, 1)
    assert (y == 1).all()
