"""MediaPipe's custom ops (Convolution2DTransposeBias, MaxPoolingWithArgmax2D, MaxUnpooling2D)
against LiteRT's default interpreter, whose XNNPACK delegate runs them (its reference kernels do
not know them), and against a numpy transcription of MediaPipe's kernels."""

import struct

import numpy as np
import pytest

pytest.importorskip("tflite")

import gossamer  # noqa: E402
from gossamer import UnsupportedModelError  # noqa: E402
from tests.converter.tflite_models import Op, Spec, T, build_model  # noqa: E402

litert = pytest.importorskip("ai_edge_litert.interpreter")

F32 = 0
SAME, VALID = 1, 2


def _pool_options(padding, stride, filt, activation=0) -> bytes:
    # TfLitePoolParams: padding, stride_w, stride_h, filter_w, filter_h, activation, computed pads
    return struct.pack("<6i", padding, stride[1], stride[0], filt[1], filt[0], activation) + bytes(
        8
    )


def _litert(model: bytes, feeds: list[np.ndarray]) -> list[np.ndarray]:
    it = litert.Interpreter(model_content=model)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), feeds):
        it.set_tensor(d["index"], x)
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def _ours(model: bytes, feeds: list[np.ndarray], optimize: int = 0) -> list[np.ndarray]:
    sess = gossamer.load(model, optimize=optimize)
    return sess.run(None, dict(zip([v.name for v in sess.inputs], feeds)))


# ---- numpy statements of MediaPipe's kernels ----
def _mp_transpose_conv_bias(x, w, bias, stride, pad, out):
    n, h, wd, _ = x.shape
    y = np.broadcast_to(bias, (n, *out, len(bias))).astype(np.float64)
    for iy in range(h):
        for ix in range(wd):
            for ky in range(w.shape[1]):
                for kx in range(w.shape[2]):
                    oy, ox = iy * stride[0] - pad[0] + ky, ix * stride[1] - pad[1] + kx
                    if 0 <= oy < out[0] and 0 <= ox < out[1]:
                        y[:, oy, ox] += x[:, iy, ix] @ w[:, ky, kx, :].T
    return y.astype(np.float32)


def _mp_pool_argmax(x, padding, stride, filt):
    n, h, w, c = x.shape
    out, pad = [], []
    for size, s, k in zip((h, w), stride, filt):
        o = (size + s - 1) // s if padding == SAME else (size - k + s) // s
        out.append(o)
        pad.append(max(((o - 1) * s + k - size) // 2, 0))
    y = np.zeros((n, *out, c), np.float32)
    idx = np.zeros_like(y)
    for oy in range(out[0]):
        for ox in range(out[1]):
            y0, x0 = oy * stride[0] - pad[0], ox * stride[1] - pad[1]
            best = np.full((n, c), np.finfo(np.float32).min, np.float32)
            arg = np.zeros((n, c), np.int64)
            for ky in range(max(0, -y0), min(filt[0], h - y0)):
                for kx in range(max(0, -x0), min(filt[1], w - x0)):
                    v = x[:, y0 + ky, x0 + kx, :]
                    better = v > best
                    best = np.where(better, v, best)
                    arg = np.where(better, ky * filt[1] + kx, arg)
            y[:, oy, ox], idx[:, oy, ox] = best, arg.astype(np.float32) + np.float32(0.1)
    return y, idx


def _mp_unpool(x, idx, stride, filt):
    n, h, w, c = x.shape
    oh, ow = h * filt[0], w * filt[1]
    pad = [
        max(int(((i - 1) * s + k - o) / 2), 0) for i, s, k, o in zip((h, w), stride, filt, (oh, ow))
    ]
    y = np.zeros((n, oh, ow, c), np.float32)
    for b in range(n):
        for iy in range(h):
            for ix in range(w):
                for ch in range(c):
                    k = int(idx[b, iy, ix, ch])
                    oy = iy * stride[0] - pad[0] + k // filt[1]
                    ox = ix * stride[1] - pad[1] + k % filt[1]
                    y[b, oy, ox, ch] = x[b, iy, ix, ch]
    return y


# ---- Convolution2DTransposeBias ----
@pytest.mark.parametrize(
    "padding,stride,kernel,size",
    [(SAME, (2, 2), (4, 4), (5, 6)), (SAME, (2, 1), (3, 3), (4, 4)),
     (VALID, (2, 2), (3, 2), (3, 5)), (SAME, (3, 3), (2, 2), (4, 5)),
     (VALID, (1, 1), (1, 1), (3, 3))],
)  # fmt: skip
def test_transpose_conv_bias_matches_litert(padding, stride, kernel, size):
    rng = np.random.default_rng(1)
    cin, cout = 3, 4
    w = rng.standard_normal((cout, *kernel, cin)).astype(np.float32)
    bias = rng.standard_normal(cout).astype(np.float32)
    h, wd = size
    totals = [max(0, k - (i - 1) % s - 1) if padding == SAME else 0
              for i, s, k in zip(size, stride, kernel)]  # fmt: skip
    out = [s * (i - 1) + k - t for i, s, k, t in zip(size, stride, kernel, totals)]
    options = struct.pack("<3i", padding, stride[1], stride[0])
    spec = Spec(
        [T("x", F32, (1, h, wd, cin)), T("w", F32, w.shape, w), T("b", F32, (cout,), bias),
         T("y", F32, (1, *out, cout))],
        [Op("Convolution2DTransposeBias", [0, 1, 2], [3], custom_options=options)], [0], [3],
    )  # fmt: skip
    model = build_model(spec)
    x = rng.standard_normal((1, h, wd, cin)).astype(np.float32)
    want = _mp_transpose_conv_bias(x, w, bias, stride, [t // 2 for t in totals], out)
    # XNNPACK refuses strides larger than the kernel (and the op has no other kernel in LiteRT)
    theirs = _litert(model, [x])[0] if min(k - s for k, s in zip(kernel, stride)) >= 0 else want
    for level in (0, 3):
        (ours,) = _ours(model, [x], level)
        assert ours.shape == theirs.shape == (1, *out, cout)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(ours, want, rtol=1e-5, atol=1e-5)


# ---- MaxPoolingWithArgmax2D / MaxUnpooling2D ----
def _pool_model(shape, padding, stride, filt, activation=0, unpool=False) -> tuple[bytes, tuple]:
    n, h, w, c = shape
    out = [(i + s - 1) // s if padding == SAME else (i - k + s) // s
           for i, s, k in zip((h, w), stride, filt)]  # fmt: skip
    pooled = (n, *out, c)
    options = _pool_options(padding, stride, filt, activation)
    tensors = [T("x", F32, shape), T("max", F32, pooled), T("argmax", F32, pooled)]
    ops = [Op("MaxPoolingWithArgmax2D", [0], [1, 2], custom_options=options)]
    outputs = [1, 2]
    if unpool:
        tensors.append(T("unpooled", F32, (n, out[0] * filt[0], out[1] * filt[1], c)))
        ops.append(Op("MaxUnpooling2D", [1, 2], [3], custom_options=options))
        outputs = [1, 3]
    return build_model(Spec(tensors, ops, [0], outputs)), pooled


@pytest.mark.parametrize(
    "shape,padding,stride,filt",
    [((1, 4, 6, 3), VALID, (2, 2), (2, 2)), ((2, 5, 7, 2), SAME, (2, 2), (2, 2)),
     ((1, 6, 6, 2), SAME, (3, 3), (3, 3)), ((1, 5, 5, 2), VALID, (2, 1), (3, 2))],
)  # fmt: skip
def test_max_pool_argmax(shape, padding, stride, filt):
    """Against MediaPipe's kernel; and LiteRT where XNNPACK takes it (stride == filter)."""
    rng = np.random.default_rng(2)
    model, pooled = _pool_model(shape, padding, stride, filt)
    x = rng.standard_normal(shape).astype(np.float32)
    y, idx = _ours(model, [x])
    want_y, want_idx = _mp_pool_argmax(x, padding, stride, filt)
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(idx, want_idx)  # MediaPipe's float window index + 0.1
    if stride != filt:
        return
    theirs_y, theirs_idx = _litert(model, [x])
    np.testing.assert_array_equal(y, theirs_y)
    # XNNPACK stores the bits of a uint32 window index, numbered column by column, in the float
    # tensor: the same window position
    k = np.floor(idx).astype(np.uint32)
    column_major = (k % filt[1]) * filt[0] + k // filt[1]
    np.testing.assert_array_equal(column_major, theirs_idx.view(np.uint32))


def test_max_pool_argmax_fused_relu6():
    model, _ = _pool_model((1, 4, 4, 2), VALID, (2, 2), (2, 2), activation=3)
    x = (np.random.default_rng(3).standard_normal((1, 4, 4, 2)) * 8).astype(np.float32)
    y, _ = _ours(model, [x])
    want, _ = _mp_pool_argmax(x, VALID, (2, 2), (2, 2))
    np.testing.assert_array_equal(y, np.clip(want, 0, 6))


@pytest.mark.parametrize(
    "shape,padding,stride,filt",
    [((1, 4, 6, 3), VALID, (2, 2), (2, 2)), ((2, 6, 4, 2), SAME, (2, 2), (2, 2)),
     ((1, 6, 9, 2), VALID, (3, 3), (3, 3)), ((1, 7, 5, 2), SAME, (2, 2), (3, 3))],
)  # fmt: skip
def test_pool_then_unpool(shape, padding, stride, filt):
    """Against MediaPipe's kernels; and LiteRT where XNNPACK takes it (VALID, stride == filter)."""
    rng = np.random.default_rng(4)
    model, _ = _pool_model(shape, padding, stride, filt, unpool=True)
    x = rng.standard_normal(shape).astype(np.float32)
    y, idx = _mp_pool_argmax(x, padding, stride, filt)
    want = [y, _mp_unpool(y, idx, stride, filt)]
    theirs = _litert(model, [x]) if padding == VALID and stride == filt else want
    for level in (0, 3):
        ours = _ours(model, [x], level)
        for a, b, c in zip(ours, theirs, want):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_array_equal(a, c)


def test_bad_custom_options_refused_with_the_reason():
    model, _ = _pool_model((1, 4, 4, 2), 0, (2, 2), (2, 2))  # padding type 0 (unknown)
    with pytest.raises(UnsupportedModelError, match="MaxPoolingWithArgmax2D.*padding type 0"):
        gossamer.load(model)
    short = build_model(
        Spec(
            [T("x", F32, (1, 4, 4, 2)), T("m", F32, (1, 2, 2, 2)), T("a", F32, (1, 2, 2, 2))],
            [Op("MaxPoolingWithArgmax2D", [0], [1, 2], custom_options=b"\1\0\0\0")],
            [0],
            [1, 2],
        )
    )  # fmt: skip  (strides and filter missing: zero)
    with pytest.raises(UnsupportedModelError, match="must be positive"):
        gossamer.load(short)


def test_other_custom_ops_all_listed():
    spec = Spec(
        [T("x", F32, (1, 4)), T("a", F32, (1, 4)), T("b", F32, (1, 4)), T("c", F32, (1, 4))],
        [Op("Landmarks2TransformMatrix", [0], [1]), Op("MaxUnpooling2D", [1, 1], [2]),
         Op("TransformTensorBilinear", [2], [3])], [0], [3],
    )  # fmt: skip
    with pytest.raises(UnsupportedModelError) as err:
        gossamer.load(build_model(spec))
    message = str(err.value)
    assert "custom op Landmarks2TransformMatrix" in message
    assert "custom op TransformTensorBilinear" in message
    # mapped, but without custom options (padding type 0): refused with the reason
    assert "custom op MaxUnpooling2D" in message and "padding type 0" in message
