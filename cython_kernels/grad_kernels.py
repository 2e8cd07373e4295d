"""Backward kernels: the hot VJPs of refimpl/grad (ai.gossamer.grad::<Op>Grad), float32.

- ConvGrad (1-D and 2-D): dW = Σ_n dy_g[n] @ cols_g[n]^T and dcols = W_g^T @ dy_g as batched BLAS
  GEMMs on the C extension's packed matmul_batched with the run's threads (numpy's BLAS stays at
  one thread beside the kernels' thread pool: raising it measured 5x slower at 2 threads on 2
  cores; numpy's matmul only for grouped, non-depthwise convolutions), dx = src/upsample.c's
  col2im over all N*C planes in one call (the ConvTranspose kernel's adjoint scatter, parallel
  over planes); depthwise convolutions (one input and one output channel per group): dx as the
  Conv kernel's C depthwise pass over dy with the flipped filters (the adjoint), dw by the same
  pass with dy's planes as the filters.
- MaxPoolGrad with non-overlapping windows (kernel = strides, no pads or dilations), ClipGrad
  (opsets 6 and 11, scalar bounds; ReLU6 in MobileNets) and training-mode BatchNormalizationGrad:
  one C pass each (two per channel for BatchNormalizationGrad) in src/train.c, declared here and
  run by train_kernels.py; other MaxPool geometries are declined (the reference scatters through
  the index trace).
- GatherGrad: one C pass of float64 row sums in index order (the reference's result exactly).
- MatMulGrad with a 2-D right operand (a weight) as two single GEMMs over all leading axes, and
  with equal batch shapes (attention) as batched GEMMs; GeluGrad (exact form) in one C pass.
The math is the reference's (see each VJP's docstring); only the summation order differs, so
conformance holds them to the float32 reduction tolerance. The element-wise and normalisation
VJPs are in grad_elementwise_kernels.py (mixed in here).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, kernel
from ..refimpl.errors import OpArgumentError
from ..refimpl.grad.grad_batch_normalization import batch_normalization_grad_9
from ..refimpl.grad.grad_clip import clip_grad_6, clip_grad_11
from ..refimpl.grad.grad_conv import conv_grad_1
from ..refimpl.grad.grad_gather import gather_grad_1
from ..refimpl.grad.grad_gelu import gelu_grad_20
from ..refimpl.grad.grad_mat_mul import mat_mul_grad_1
from ..refimpl.grad.grad_max_pool import max_pool_grad_1
from ..refimpl.ir import Node, Value
from ..refimpl.op_geometry import Window, check_groups, window
from ._common import F32, MAX_WINDOW_TAPS, all_float32, conv_rank_refusal, scratch, threads
from ._native import ext
from .grad_elementwise_kernels import GradElementwiseKernels
from .train_kernels import batch_norm_grad_kernel, clip_masked, max_pool_grad_kernel

Array = np.ndarray
_FLT_MAX = 3.4028234663852886e38


# ---- ConvGrad ------------------------------------------------------------------------------------
def _conv_grad_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    return all_float32(inputs[:4]) or conv_rank_refusal(inputs[1:3], "ConvGrad")


def _conv_window(x: Array, w: Array, attrs: dict[str, Any]) -> Window:
    try:
        check_groups(x.shape[1], w.shape, attrs["group"])
        return window(x.shape[2:], attrs["kernel_shape"] or w.shape[2:], strides=attrs["strides"],
                      dilations=attrs["dilations"], pads=attrs["pads"],
                      auto_pad=attrs["auto_pad"])  # fmt: skip
    except OpArgumentError as err:
        raise RuntimeDecline(str(err)) from err


def windows(x: Array, win: Window) -> Array:
    """Read-only view v (N, C, kh, kw, oh, ow) of zero-padded x: v[n, c, k, o] = xp[n, c, o s + k d]
    (the reference's im2col windows, rebuilt from the public geometry)."""
    (ph, pw), (oh, ow), (h, w) = win.pads_begin, win.out, x.shape[2:]
    (sh, sw), (dh, dw), (eh, ew) = win.strides, win.dilations, win.extent
    rows, cols = (oh - 1) * sh + eh, (ow - 1) * sw + ew  # padded just enough for the last window
    xp = x
    if ph or pw or rows > h or cols > w:
        xp = np.zeros((*x.shape[:2], max(rows, ph + h), max(cols, pw + w)), x.dtype)
        xp[:, :, ph : ph + h, pw : pw + w] = x
    v = np.lib.stride_tricks.sliding_window_view(xp, (eh, ew), axis=(2, 3))
    v = v[:, :, : (oh - 1) * sh + 1 : sh, : (ow - 1) * sw + 1 : sw, ::dh, ::dw]
    return v.transpose(0, 1, 4, 5, 2, 3)


def _gemm3(a: Array, b: Array) -> Array:
    """a[i or 0] @ b[i or 0] for float32 3-D operands of any strides (a batch of 1 broadcasts),
    by ext().matmul_batched with the run's threads (numpy's one-thread BLAS at one thread: faster
    there on these small per-sample GEMMs); the result is contiguous."""
    t = threads()
    if t == 1:
        return np.ascontiguousarray(np.matmul(a, b), F32)
    y = np.empty((max(a.shape[0], b.shape[0]), a.shape[1], b.shape[2]), F32)
    ext().matmul_batched(a, b, y, t)
    return y


def _conv_backward(
    dy: Array, x: Array, w: Array, group: int, win: Window, want_dx: bool = True
) -> tuple[Array | None, Array]:
    """(dx, dw) of a 2-D convolution, all float32 (N, C, H, W); dx None unless want_dx."""
    n, c, h, wd = x.shape
    m = w.shape[0]
    (kh, kw), (oh, ow) = win.kernel, win.out
    if c == group and m == group:  # depthwise: per tap, a multiply and a reduction
        return _depthwise_backward(dy, x, w, win, want_dx)
    cg, mg, taps, ll = c // group, m // group, kh * kw, oh * ow
    g = dy.reshape(n, group, mg, ll)
    cols = np.ascontiguousarray(windows(x, win)).reshape(n, group, cg * taps, ll)
    w_t = w.reshape(group, mg, cg * taps).transpose(0, 2, 1)
    if group == 1:  # the C GEMM on strided views, its threads over the batch or within each
        dw = _gemm3(g.reshape(n, mg, ll), cols.reshape(n, -1, ll).transpose(0, 2, 1)).sum(axis=0)
    else:
        dw = np.matmul(g, cols.transpose(0, 1, 3, 2)).sum(axis=0)  # (G, Mg, Cg*K)
    if not want_dx:  # a graph input's cotangent (the first conv's): nothing reads it
        return None, dw.reshape(w.shape)
    if group == 1:
        dcols = _gemm3(w_t, g.reshape(n, mg, ll))  # (N, C*K, L) = (N, C, kh, kw, oh, ow)
    else:
        dcols = np.matmul(w_t, g)  # (N, G, Cg*K, L) = (N, C, kh, kw, oh, ow)
    dx = np.empty(x.shape, F32)
    t = threads()
    (sh, sw), (dh, dw_), (ph, pw) = win.strides, win.dilations, win.pads_begin
    n_work = ext().col2im_work(sh, sw, h, wd, t)
    work = scratch(n_work) if n_work else None
    # one call over all N*C planes: dcols is (N, C, kh, kw, oh, ow) = (N*C, kh, kw, oh, ow)
    ext().col2im(dcols.reshape(-1), n * c, oh, ow, kh, kw, sh, sw, dh, dw_, ph, pw, None,
                 dx.reshape(n * c, h, wd), work, t)  # fmt: skip
    return dx, dw.reshape(w.shape)


def _depthwise_backward(
    dy: Array, x: Array, w: Array, win: Window, want_dx: bool = True
) -> tuple[Array | None, Array]:
    """Both by the Conv kernel's C depthwise pass: dx, the depthwise convolution of dy
    (zero-stuffed by the strides) with the flipped filters, padded by extent - 1 - pad (the
    forward's adjoint); dw[c, 0, k] = Σ_n Σ_o dy[n, c, o] xp[n, c, o s + k d], each (n, c) plane
    of x convolved with dy's plane as its filter (stride d, dilation s), summed over n."""
    n, c, h, wd = x.shape
    (kh, kw), (oh, ow), (sh, sw), (dh, dw_) = win.kernel, win.out, win.strides, win.dilations
    (ph, pw), t = win.pads_begin, threads()
    qh, qw = dh * (kh - 1) - ph, dw_ * (kw - 1) - pw  # the adjoint's leading pads
    dx = np.empty(x.shape, F32) if want_dx else None
    if dx is None:
        pass
    elif qh >= 0 and qw >= 0:
        u = dy
        if sh > 1 or sw > 1:
            u = np.zeros((n, c, (oh - 1) * sh + 1, (ow - 1) * sw + 1), F32)
            u[:, :, ::sh, ::sw] = dy
        flipped = np.ascontiguousarray(w[:, 0, ::-1, ::-1], F32).reshape(-1)
        ext().depthwise(u, flipped, kh, kw, 1, 1, dh, dw_, qh, qw, None, 0.0, 0.0, False, dx, t)
    else:  # a pad beyond the filter's extent: scatter tap by tap
        _depthwise_dx_taps(dy, w, win, dx)
    if oh * ow <= MAX_WINDOW_TAPS:  # dw per (n, c) plane: x correlated with dy as the filter
        taps = np.empty((1, n * c, kh, kw), F32)  # (stride: the dilation, dilation: the stride)
        ext().depthwise(x.reshape(1, n * c, h, wd), dy.reshape(-1), oh, ow, dh, dw_, sh, sw,
                        ph, pw, None, 0.0, 0.0, False, taps, t)  # fmt: skip
        return dx, taps.reshape(n, c, 1, kh, kw).sum(axis=0)
    view = windows(x, win)  # (N, C, kh, kw, oh, ow), a strided view of padded x
    dw = np.empty(w.shape, F32)
    for ky in range(kh):
        for kx in range(kw):
            dw[:, 0, ky, kx] = np.einsum("nchw,nchw->c", dy, view[:, :, ky, kx])
    return dx, dw


def _depthwise_dx_taps(dy: Array, w: Array, win: Window, dx: Array) -> None:
    """dx of a depthwise conv into dx: padded dx[:, :, taps k] += dy w[c, k], tap by tap."""
    n, c, h, wd = dx.shape
    (oh, ow), (sh, sw), (dh, dw_) = win.out, win.strides, win.dilations
    (ph, pw), (hp, wp) = win.pads_begin, win.extent
    rows, cols = max((oh - 1) * sh + hp, ph + h), max((ow - 1) * sw + wp, pw + wd)
    buf = np.zeros((n, c, rows, cols), F32)
    prod = np.empty(dy.shape, F32)
    for ky in range(win.kernel[0]):
        for kx in range(win.kernel[1]):
            np.multiply(dy, w[:, 0, ky, kx].reshape(1, c, 1, 1), out=prod)
            y0, x0 = ky * dh, kx * dw_
            buf[:, :, y0 : y0 + (oh - 1) * sh + 1 : sh, x0 : x0 + (ow - 1) * sw + 1 : sw] += prod
    dx[...] = buf[:, :, ph : ph + h, pw : pw + wd]


def conv_grad_kernel(
    dy: Array, x: Array, w: Array, b: Array | None = None, *, auto_pad: str = "NOTSET",
    dilations: list[int] | None = None, group: int = 1, kernel_shape: list[int] | None = None,
    pads: list[int] | None = None, strides: list[int] | None = None, want_dx: bool = True,
) -> tuple[Array | None, Array, Array | None]:  # fmt: skip
    """(dx, dw, db); dx None when not want_dx (the node's first output unused)."""
    if x.ndim not in (3, 4) or w.ndim != x.ndim or dy.ndim != x.ndim:
        raise RuntimeDecline(f"rank {x.ndim} input (1-D and 2-D only)")
    attrs = {"auto_pad": auto_pad, "dilations": dilations, "group": group,
             "kernel_shape": kernel_shape, "pads": pads, "strides": strides}  # fmt: skip
    win = _conv_window(x, w, attrs)
    if tuple(dy.shape) != (x.shape[0], w.shape[0], *win.out):
        raise RuntimeDecline(f"dy has shape {list(dy.shape)}, the conv's output {win.out}")
    db = None if b is None else dy.sum(axis=(0, *range(2, dy.ndim)), dtype=F32)
    if x.ndim == 3:  # 1-D as 2-D with H = 1
        win = Window((1, *win.kernel), (1, *win.strides), (1, *win.dilations),
                     (0, *win.pads_begin), (0, *win.pads_end), (1, *win.out))  # fmt: skip
        dx, dw = _conv_backward(dy[:, :, None], x[:, :, None], w[:, :, None], group, win,
                                want_dx)  # fmt: skip
        return None if dx is None else dx[:, :, 0], dw[:, :, 0], db
    f = np.ascontiguousarray
    dx, dw = _conv_backward(f(dy, F32), f(x, F32), f(w, F32), group, win, want_dx)
    return dx, dw, db


def _prepare_conv_grad(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    """ConvGrad skipping dx where the node's first output is unused (a graph input's)."""
    want_dx = bool(node.outputs and node.outputs[0])

    def run(dy: Array, x: Array, w: Array, b: Array | None = None, **attrs: Any) -> tuple:
        return conv_grad_kernel(dy, x, w, b, **attrs, want_dx=want_dx)

    run.__wrapped__ = conv_grad_1  # type: ignore[attr-defined]
    return run


# ---- pooling ------------------------------------------------------------------------------------
def _max_pool_grad_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    a = node.attrs
    k = list(a.get("kernel_shape") or [])
    if len(k) != 2:
        return "2-D MaxPool only"
    if list(a.get("strides") or [1, 1]) != k:
        return "overlapping or gapped windows (strides != kernel_shape)"
    if any(a.get("pads") or []) or any(d != 1 for d in a.get("dilations") or []):
        return "pads or dilations"
    if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID") or a.get("ceil_mode", 0):
        return "auto_pad SAME or ceil_mode"
    return all_float32(inputs[:2])


# ---- element-wise -------------------------------------------------------------------------------
def _scalar_bounds(node: Node, inputs: list[Value | None]) -> str | None:
    for v in inputs[2:4]:
        if v is not None and v.shape is not None and len(v.shape) != 0:
            return "non-scalar bounds"
    return all_float32(inputs[:4])


def clip_grad_11_kernel(
    dy: Array, x: Array, min: Array | None = None, max: Array | None = None
) -> tuple[Array, Array | None, Array | None]:
    lo = -np.inf if min is None else float(min)
    hi = np.inf if max is None else float(max)
    dx, dlo, dhi = clip_masked(dy, x, lo, hi)
    as_bound = lambda v, b: None if b is None else np.array(v, F32).reshape(b.shape)  # noqa: E731
    return dx, as_bound(dlo, min), as_bound(dhi, max)


# ---- MatMul and Gelu (the transformer's VJPs) ----------------------------------------------------
def mat_mul_grad_kernel(dy: Array, a: Array, b: Array) -> tuple[Array, Array]:
    """A 2-D right operand (a weight): da = dy @ b^T and db = a^T @ dy as two single GEMMs over
    all leading axes (the reference sums a batch of small products); equal batch shapes: one
    batched GEMM each, nothing to sum."""
    if a.ndim < 2 or b.ndim < 2:
        raise RuntimeDecline("1-D operand")
    g = np.asarray(dy, F32)
    if b.ndim == 2:
        k, n = b.shape
        if g.shape != (*a.shape[:-1], n):
            raise RuntimeDecline(f"dy {list(g.shape)} does not match a @ b")
        rows = math.prod(a.shape[:-1])
        g2 = g.reshape(rows, n)
        a2 = np.asarray(a, F32).reshape(rows, k)
        da = _gemm3(g2[None], np.asarray(b, F32).T[None]).reshape(a.shape)
        return da, _gemm3(a2.T[None], g2[None])[0]
    if a.shape[:-2] != b.shape[:-2] or g.shape != (*a.shape[:-1], b.shape[-1]):
        raise RuntimeDecline("broadcast batch axes")
    m, n = a.shape[-2], b.shape[-1]
    a3 = np.asarray(a, F32).reshape(-1, m, a.shape[-1])
    b3, g3 = np.asarray(b, F32).reshape(-1, *b.shape[-2:]), g.reshape(-1, m, n)
    da = _gemm3(g3, b3.transpose(0, 2, 1)).reshape(a.shape)
    return da, _gemm3(a3.transpose(0, 2, 1), g3).reshape(b.shape)


def gather_grad_kernel(dy: Array, data: Array, indices: Array, axis: int) -> Array:
    """ddata[.., j, ..] = Σ dy[.., i, ..] over the i with indices[i] = j, in one C pass
    (src/train.c): each target sums its slices in float64 in order of i, as the reference's
    bincount does, so the result is the reference's exactly, without its position arrays."""
    if not -data.ndim <= axis < data.ndim:
        raise RuntimeDecline(f"axis {axis} out of range (the reference reports it)")
    ax = axis % data.ndim
    dim = data.shape[ax]
    idx = np.asarray(indices, np.int64).reshape(-1)
    idx = np.where(idx < 0, idx + dim, idx)
    if idx.size and (idx.min() < 0 or idx.max() >= dim):
        raise RuntimeDecline("an index out of range (the reference reports it)")
    outer, inner = math.prod(data.shape[:ax]), math.prod(data.shape[ax + 1 :])
    out = np.empty((outer, dim, inner), F32)
    g = np.ascontiguousarray(dy, F32).reshape(outer, idx.size, inner)
    ext().gather_grad(g, np.ascontiguousarray(idx, np.longlong), out)
    return out.reshape(data.shape)


def _gather_grad_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    if inputs[2] is not None and inputs[2].dtype not in ("int32", "int64"):
        return f"indices of {inputs[2].dtype}"
    return all_float32(inputs[:2])


def _gelu_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    if node.attrs.get("approximate", "none") != "none":
        return "approximate='tanh' (the reference's tanh form runs)"
    return all_float32(inputs[:2])


def gelu_grad_kernel(dy: Array, x: Array) -> tuple[Array]:
    """dx = dy (Phi(x) + x phi(x)) in one C pass (src/train.c: maths.h's erf and exp, ~2 ulp)."""
    if np.shape(dy) != np.shape(x):
        raise RuntimeDecline(f"dy {list(np.shape(dy))} does not match x {list(np.shape(x))}")
    f = lambda a: np.ascontiguousarray(a, F32).reshape(-1)  # noqa: E731
    dx = np.empty(np.shape(x), F32)  # keeps a 0-d array 0-d
    ext().gelu_grad(f(dy), f(x), dx.reshape(-1), threads())
    return (dx,)


# ---- BatchNormalization, training mode -----------------------------------------------------------
def _bn_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    if not node.attrs.get("training_mode", 0):
        return "inference mode (the reference's one pass is as fast)"
    return all_float32(inputs[:5])


class GradKernels(GradElementwiseKernels):
    """Backward kernels for the VJPs training spends its time in (mixed into CythonBackend), and
    GradElementwiseKernels' element-wise and normalisation VJPs."""

    @kernel(conv_grad_1, dtypes={"float32"}, supports=_conv_grad_refusal,
            prepare=_prepare_conv_grad)  # fmt: skip
    def conv_grad(
        dy: Array, x: Array, w: Array, b: Array | None = None, *, auto_pad: str = "NOTSET",
        dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> tuple[Array, Array, Array | None]:  # fmt: skip
        return conv_grad_kernel(dy, x, w, b, auto_pad=auto_pad, dilations=dilations, group=group,
                                kernel_shape=kernel_shape, pads=pads, strides=strides)  # fmt: skip

    @kernel(max_pool_grad_1, dtypes={"float32"}, supports=_max_pool_grad_refusal)
    def max_pool_grad(
        dy: Array, x: Array, *, kernel_shape: list[int], auto_pad: str = "NOTSET",
        ceil_mode: int = 0, dilations: list[int] | None = None, pads: list[int] | None = None,
        storage_order: int = 0, strides: list[int] | None = None, num_outputs: int = 1,
    ) -> tuple[Array]:  # fmt: skip
        return max_pool_grad_kernel(dy, x, kernel_shape, strides)

    @kernel(clip_grad_11, dtypes={"float32"}, supports=_scalar_bounds)
    def clip_grad_11(
        dy: Array, x: Array, min: Array | None = None, max: Array | None = None
    ) -> tuple[Array, Array | None, Array | None]:
        return clip_grad_11_kernel(dy, x, min, max)

    @kernel(clip_grad_6, dtypes={"float32"}, supports=lambda n, i: all_float32(i[:2]))
    def clip_grad_6(
        dy: Array, x: Array, *, min: float = -_FLT_MAX, max: float = _FLT_MAX
    ) -> tuple[Array]:
        return (clip_masked(dy, x, float(min), float(max))[0],)

    @kernel(mat_mul_grad_1, dtypes={"float32"}, supports=lambda n, i: all_float32(i[:3]))
    def mat_mul_grad(dy: Array, a: Array, b: Array) -> tuple[Array, Array]:
        return mat_mul_grad_kernel(dy, a, b)

    @kernel(gather_grad_1, dtypes={"float32"}, supports=_gather_grad_refusal)
    def gather_grad(dy: Array, data: Array, indices: Array, *, axis: int = 0) -> tuple[Array]:
        return (gather_grad_kernel(dy, data, indices, axis),)

    @kernel(gelu_grad_20, dtypes={"float32"}, supports=_gelu_refusal)
    def gelu_grad(dy: Array, x: Array, *, approximate: str = "none") -> tuple[Array]:
        return gelu_grad_kernel(dy, x)

    @kernel(batch_normalization_grad_9, dtypes={"float32"}, supports=_bn_refusal)
    def batch_normalization_grad(
        dy: Array, x: Array, scale: Array, b: Array, mean: Array, var: Array, *,
        epsilon: float = 1e-5, momentum: float = 0.9, training_mode: int = 0,
        num_outputs: int = 1,
    ) -> tuple[Array | None, ...]:  # fmt: skip
        return batch_norm_grad_kernel(dy, x, scale, b, mean, var, epsilon=epsilon,
                                      momentum=momentum, training_mode=training_mode)  # fmt: skip
