"""Mutant backends, part 1: the compute families (nn, pool, activations, elementwise, reductions,
matmul). Each is a third-party-style `KernelBackend` with one realistic kernel bug (the kind SIMD,
GPU and NPU kernels have) next to a correct Relu, written against the public plugin API only.
The table of what each must fail is in mutants.py.
"""

from __future__ import annotations

import numpy as np
from gossamer.plugins import kernel
from gossamer.refimpl.ops.op_add import add_7
from gossamer.refimpl.ops.op_arg_max import arg_max_12
from gossamer.refimpl.ops.op_arg_min import arg_min_12
from gossamer.refimpl.ops.op_average_pool import average_pool_19
from gossamer.refimpl.ops.op_cast import cast_19
from gossamer.refimpl.ops.op_conv import conv_1
from gossamer.refimpl.ops.op_div import div_7
from gossamer.refimpl.ops.op_gemm import gemm_11
from gossamer.refimpl.ops.op_mat_mul import mat_mul_1
from gossamer.refimpl.ops.op_max import max_8
from gossamer.refimpl.ops.op_max_pool import max_pool_10, max_pool_12
from gossamer.refimpl.ops.op_prelu import prelu_7
from gossamer.refimpl.ops.op_reduce_mean import reduce_mean_18
from gossamer.refimpl.ops.op_reduce_sum import reduce_sum_13
from gossamer.refimpl.ops.op_sigmoid import sigmoid_6
from gossamer.refimpl.ops.op_softmax import softmax_1, softmax_13

from ._mutate import Neighbour, forcing

F32 = ("float32",)


class DepthwiseBlock8(Neighbour):
    """Depthwise Conv reads the weights of channel c % 8 beyond the first 8-channel SIMD block."""

    name = "depthwise_block8"

    @kernel(conv_1, dtypes=F32)
    def conv(x, w, b=None, *, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None,
             pads=None, strides=None):  # fmt: skip
        if group > 8 and group == x.shape[1] == w.shape[0]:
            w = w[np.arange(w.shape[0]) % 8]
        return conv_1(x, w, b, auto_pad=auto_pad, dilations=dilations, group=group,
                      kernel_shape=kernel_shape, pads=pads, strides=strides)  # fmt: skip


class MaxPoolCeil(Neighbour):
    """MaxPool ignores ceil_mode (versions 10 and 12)."""

    name = "maxpool_ceil"
    pool = kernel(max_pool_12, dtypes=F32)(forcing(max_pool_12, ceil_mode=0))
    pool_10 = kernel(max_pool_10, dtypes=F32)(forcing(max_pool_10, ceil_mode=0))


class AvgPoolCountPad(Neighbour):
    """AveragePool always divides by the taps inside the input (count_include_pad ignored)."""

    name = "avgpool_count_pad"
    pool = kernel(average_pool_19, dtypes=F32)(forcing(average_pool_19, count_include_pad=0))


class MaxPoolInt8Pad(Neighbour):
    """int8 MaxPool pads with 0 instead of the type's minimum (a zero-filled padded buffer)."""

    name = "maxpool_int8_pad"

    @kernel(max_pool_12, dtypes=("int8",))
    def pool(x, *, kernel_shape, auto_pad="NOTSET", ceil_mode=0, dilations=None, pads=None,
             storage_order=0, strides=None, num_outputs=1):  # fmt: skip
        if pads and any(pads) and not ceil_mode:
            half = len(pads) // 2
            widths = [(0, 0), (0, 0)] + list(zip(pads[:half], pads[half:]))
            x, pads = np.pad(x, widths), None
        return max_pool_12(x, kernel_shape=kernel_shape, auto_pad=auto_pad, ceil_mode=ceil_mode,
                           dilations=dilations, pads=pads, storage_order=storage_order,
                           strides=strides, num_outputs=num_outputs)  # fmt: skip


class SigmoidOverflow(Neighbour):
    """Sigmoid as exp(x) / (1 + exp(x)): inf / inf = NaN above x = 88.7 in float32."""

    name = "sigmoid_overflow"

    @kernel(sigmoid_6, dtypes=F32)
    def sigmoid(x):
        with np.errstate(all="ignore"):
            e = np.exp(x)
            return (e / (1 + e)).astype(x.dtype)


class SoftmaxNaive(Neighbour):
    """Softmax without subtracting the row maximum: exp overflows to inf, inf / inf = NaN."""

    name = "softmax_naive"

    @kernel(softmax_13, dtypes=F32)
    def softmax(x, *, axis=-1):
        with np.errstate(all="ignore"):
            e = np.exp(x)
            return (e / e.sum(axis=axis, keepdims=True)).astype(x.dtype)


class SoftmaxV1Axis(Neighbour):
    """Softmax-1 (opset < 13) normalised over `axis` alone (opset-13 semantics) instead of over
    the input flattened to 2-D at `axis`."""

    name = "softmax_v1_axis"

    @kernel(softmax_1, dtypes=F32)
    def softmax(x, *, axis=1):
        return softmax_13(x, axis=axis)


class PReluBroadcast(Neighbour):
    """PRelu repeats the slope along the innermost axis (a per-last-axis fast path), wrong for
    per-channel slopes such as (C, 1, 1)."""

    name = "prelu_broadcast"

    @kernel(prelu_7, dtypes=F32)
    def prelu(x, slope):
        return np.where(x < 0, x * np.resize(slope, x.shape), x).astype(x.dtype)


class Cast19Round(Neighbour):
    """Cast-19 float to integer rounds to nearest (a cvtps2dq without truncation); registered for
    cast_19 only, as a backend targeting opset 19-23 models would."""

    name = "cast19_round"

    @kernel(cast_19, dtypes=F32)
    def cast(x, *, to, saturate=1):
        if to in (2, 3, 4, 5, 6, 7, 12, 13):  # the integer TensorProto codes
            x = np.rint(x)
        return cast_19(x, to=to, saturate=saturate)


class AddBroadcast(Neighbour):
    """Add repeats the smaller operand cyclically over the output (a bias-add fast path), wrong
    when it broadcasts along a middle or leading axis, e.g. (3, 1) against (3, 17)."""

    name = "add_broadcast"

    @kernel(add_7, dtypes=F32)
    def add(a, b):
        shape = np.broadcast_shapes(a.shape, b.shape)
        if a.shape == shape and b.shape != shape:
            return a + np.resize(b, shape).astype(a.dtype)
        if b.shape == shape and a.shape != shape:
            return np.resize(a, shape).astype(b.dtype) + b
        return a + b


class DivIntFloor(Neighbour):
    """Integer Div floors (Python //) instead of truncating toward zero."""

    name = "div_int_floor"

    @kernel(div_7, dtypes=("int32", "int64"))
    def div(a, b):
        with np.errstate(all="ignore"):
            return np.floor_divide(a, np.where(b == 0, 1, b)).astype(a.dtype)


class MaxNaN(Neighbour):
    """Max with maxps semantics: a NaN loses against a number instead of propagating."""

    name = "max_nan"

    @kernel(max_8, dtypes=("float32", "float16", "float64"))
    def max_(*data):
        out = data[0]
        for d in data[1:]:
            out = np.fmax(out, d)
        return np.asarray(out, dtype=data[0].dtype)


class ReduceSumBlock16(Neighbour):
    """ReduceSum over the innermost axis drops the remainder after the last full 16-lane block."""

    name = "reducesum_block16"

    @kernel(reduce_sum_13, dtypes=F32)
    def reduce_sum(data, axes=None, *, keepdims=1, noop_with_empty_axes=0):
        n = data.shape[-1] if data.ndim else 0
        inner = axes is not None and [int(a) % data.ndim for a in np.ravel(axes)] == [data.ndim - 1]
        if (inner or (axes is None and data.ndim == 1)) and n > 16 and n % 16:
            data = data[..., : n - n % 16]
        return reduce_sum_13(data, axes, keepdims=keepdims,
                             noop_with_empty_axes=noop_with_empty_axes)  # fmt: skip


class ReduceMeanNoop(Neighbour):
    """ReduceMean ignores noop_with_empty_axes (empty axes always reduce everything)."""

    name = "reducemean_noop"
    reduce_mean = kernel(reduce_mean_18, dtypes=F32)(
        forcing(reduce_mean_18, noop_with_empty_axes=0)
    )


class ArgMaxLast(Neighbour):
    """ArgMax ignores select_last_index (always the first of tied maxima)."""

    name = "argmax_last"
    arg_max = kernel(arg_max_12, dtypes=F32)(forcing(arg_max_12, select_last_index=0))


class ArgMinInt32(Neighbour):
    """ArgMin returns int32 indices (the NPU's native index type) instead of int64."""

    name = "argmin_int32"

    @kernel(arg_min_12, dtypes=F32)
    def arg_min(data, *, axis=0, keepdims=1, select_last_index=0):
        out = arg_min_12(data, axis=axis, keepdims=keepdims, select_last_index=select_last_index)
        return out.astype(np.int32)


class MatMulKBlock(Neighbour):
    """MatMul drops the inner-dimension remainder after the last full block of 8."""

    name = "matmul_k_block"

    @kernel(mat_mul_1, dtypes=F32)
    def matmul(a, b):
        k = a.shape[-1] if a.ndim else 0
        if a.ndim >= 2 and b.ndim >= 2 and k > 8 and k % 8:
            a, b = a[..., : k - k % 8], b[..., : k - k % 8, :]
        return mat_mul_1(a, b)


class GemmTrans(Neighbour):
    """Gemm applies transA's flag to B as well (one transpose flag for both operands)."""

    name = "gemm_trans"

    @kernel(gemm_11, dtypes=F32)
    def gemm(a, b, c=None, *, alpha=1.0, beta=1.0, transA=0, transB=0):  # noqa: N803
        return gemm_11(a, b, c, alpha=alpha, beta=beta, transA=transA, transB=transA)


CLASSES = (
    DepthwiseBlock8, MaxPoolCeil, AvgPoolCountPad, MaxPoolInt8Pad, SigmoidOverflow, SoftmaxNaive,
    SoftmaxV1Axis, PReluBroadcast, Cast19Round, AddBroadcast, DivIntFloor, MaxNaN,
    ReduceSumBlock16, ReduceMeanNoop, ArgMaxLast, ArgMinInt32, MatMulKBlock, GemmTrans,
)  # fmt: skip
