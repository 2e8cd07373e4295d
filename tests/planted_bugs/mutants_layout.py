"""Mutant backends, part 2: the data-movement and structured families (norm, shape, layout,
indexing, quantized, misc, recurrent, vision, fused, signal, losses, strings, control, resize).
Same rules as mutants_compute.py: one realistic kernel bug each, next to a correct Relu."""

from __future__ import annotations

import numpy as np
from gossamer.plugins import kernel
from gossamer.refimpl.ops.op_batch_normalization import batch_normalization_14
from gossamer.refimpl.ops.op_dequantize_linear import dequantize_linear_23
from gossamer.refimpl.ops.op_dft import dft_20
from gossamer.refimpl.ops.op_dropout import dropout_7
from gossamer.refimpl.ops.op_fused_conv import fused_conv_1
from gossamer.refimpl.ops.op_gather import gather_1
from gossamer.refimpl.ops.op_gru import gru_14
from gossamer.refimpl.ops.op_layer_normalization import layer_normalization_17
from gossamer.refimpl.ops.op_loop import loop_1
from gossamer.refimpl.ops.op_nchwc_conv import nchwc_conv_1
from gossamer.refimpl.ops.op_nchwc_global_average_pool import nchwc_global_average_pool_1
from gossamer.refimpl.ops.op_negative_log_likelihood_loss import negative_log_likelihood_loss_12
from gossamer.refimpl.ops.op_one_hot import one_hot_11
from gossamer.refimpl.ops.op_pad import pad_19
from gossamer.refimpl.ops.op_quantize_linear import quantize_linear_23
from gossamer.refimpl.ops.op_resize import resize_19
from gossamer.refimpl.ops.op_roi_align import roi_align_16
from gossamer.refimpl.ops.op_scatter_nd import scatter_nd_18
from gossamer.refimpl.ops.op_shape import shape_15
from gossamer.refimpl.ops.op_slice import slice_10
from gossamer.refimpl.ops.op_string_split import string_split_20
from gossamer.refimpl.ops.op_unsqueeze import unsqueeze_13

from ._mutate import Neighbour, altering, forcing

F32 = ("float32",)


class LayerNormInplace(Neighbour):
    """LayerNormalization normalises in place: the right outputs, but x is overwritten."""

    name = "layernorm_inplace"

    @kernel(layer_normalization_17, dtypes=F32)
    def layer_norm(x, scale, b=None, *, axis=-1, epsilon=1e-05, stash_type=1):
        out = layer_normalization_17(x, scale, b, axis=axis, epsilon=epsilon,
                                     stash_type=stash_type)  # fmt: skip
        y = out[0] if isinstance(out, tuple) else out
        if y.shape == x.shape:
            x[...] = y
        return out


class BatchNormEps(Neighbour):
    """BatchNormalization ignores epsilon (a constant 1e-5 baked into the kernel)."""

    name = "batchnorm_eps"
    batch_norm = kernel(batch_normalization_14, dtypes=F32)(
        forcing(batch_normalization_14, epsilon=1e-5)
    )


def _negative_axes_by_input_rank(args: tuple, attrs: dict) -> tuple[tuple, dict]:
    data, axes = args
    axes = np.asarray([a + data.ndim if a < 0 else a for a in np.ravel(axes)], np.int64)
    return (data, axes), attrs


class UnsqueezeNegative(Neighbour):
    """Unsqueeze counts negative axes from the input's rank, not the output's."""

    name = "unsqueeze_negative"
    unsqueeze = kernel(unsqueeze_13)(altering(unsqueeze_13, _negative_axes_by_input_rank))


class SliceNegativeStep(Neighbour):
    """Slice with a negative step clamps an end below -dim to -dim (exclusive): drops index 0."""

    name = "slice_negative_step"

    @kernel(slice_10)
    def slice_(data, starts, ends, axes=None, steps=None):
        if steps is not None and axes is not None:
            ends = np.asarray(ends).copy()
            for k, (axis, step) in enumerate(zip(np.ravel(axes), np.ravel(steps))):
                dim = data.shape[int(axis)]
                if step < 0 and ends[k] < -dim:
                    ends[k] = -dim
        return slice_10(data, starts, ends, axes, steps)


class ShapeInt32(Neighbour):
    """Shape returns int32 (the NPU's index type) instead of int64."""

    name = "shape_int32"

    @kernel(shape_15)
    def shape(data, *, start=0, end=None):
        return shape_15(data, start=start, end=end).astype(np.int32)


class PadReflect(Neighbour):
    """Pad in reflect mode repeats the edge value (edge mode) instead of mirroring."""

    name = "pad_reflect"
    pad = kernel(pad_19)(
        altering(
            pad_19,
            lambda a, k: (
                a,
                {**k, "mode": "edge" if k.get("mode") == "reflect" else k.get("mode", "constant")},
            ),
        )
    )


class GatherNegative(Neighbour):
    """Gather clamps negative indices to 0 instead of counting from the end."""

    name = "gather_negative"

    @kernel(gather_1)
    def gather(data, indices, *, axis=0):
        return gather_1(data, np.maximum(indices, 0), axis=axis)


class ScatterNDReduction(Neighbour):
    """ScatterND ignores reduction (always overwrites)."""

    name = "scatternd_reduction"
    scatter = kernel(scatter_nd_18)(forcing(scatter_nd_18, reduction="none"))


class OneHotAxis(Neighbour):
    """OneHot always puts the depth axis last (axis ignored)."""

    name = "onehot_axis"
    one_hot = kernel(one_hot_11)(forcing(one_hot_11, axis=-1))


class QuantizeHalfUp(Neighbour):
    """QuantizeLinear rounds halves up (floor(x / s + 0.5)) instead of to even."""

    name = "quantize_half_up"

    @kernel(quantize_linear_23, dtypes=F32)
    def quantize(x, y_scale, y_zero_point=None, *, axis=1, block_size=0, output_dtype=0,
                 precision=0, saturate=1):  # fmt: skip
        if np.size(y_scale) == 1:
            s = np.float32(np.ravel(y_scale)[0])
            x = (np.floor(x / s + np.float32(0.5)) * s).astype(x.dtype)
        return quantize_linear_23(x, y_scale, y_zero_point, axis=axis, block_size=block_size,
                                  output_dtype=output_dtype, precision=precision,
                                  saturate=saturate)  # fmt: skip


class DequantizeAxis(Neighbour):
    """Per-axis DequantizeLinear uses the first channel's scale and zero point for every channel."""

    name = "dequantize_axis"

    @kernel(dequantize_linear_23)
    def dequantize(x, x_scale, x_zero_point=None, *, axis=1, block_size=0, output_dtype=0):
        if np.ndim(x_scale) == 1 and np.size(x_scale) > 1:
            x_scale = np.full_like(x_scale, x_scale[0])
            if x_zero_point is not None:
                x_zero_point = np.full_like(x_zero_point, x_zero_point[0])
        return dequantize_linear_23(x, x_scale, x_zero_point, axis=axis, block_size=block_size,
                                    output_dtype=output_dtype)  # fmt: skip


class Dropout7Mask(Neighbour):
    """Dropout-7 returns a bool mask (the opset-10 semantics) instead of ones of x's type."""

    name = "dropout7_mask"

    @kernel(dropout_7)
    def dropout(data, *, ratio=0.5):
        return data.copy(), np.ones(data.shape, dtype=np.bool_)


class GRULinearBeforeReset(Neighbour):
    """GRU ignores linear_before_reset (always applies the reset gate before the linear map)."""

    name = "gru_linear_before_reset"
    gru = kernel(gru_14, dtypes=F32)(forcing(gru_14, linear_before_reset=0))


class RoiAlignCoord(Neighbour):
    """RoiAlign-16 keeps the opset-10 pixel convention (output_half_pixel) whatever the mode."""

    name = "roialign_coord"
    roi_align = kernel(roi_align_16, dtypes=F32)(
        forcing(roi_align_16, coordinate_transformation_mode="output_half_pixel")
    )


class FusedConvResidual(Neighbour):
    """FusedConv drops the residual input z (the epilogue adds bias and activation only)."""

    name = "fusedconv_residual"
    fused_conv = kernel(fused_conv_1, dtypes=F32)(
        altering(fused_conv_1, lambda a, k: ((*a[:4], None)[: len(a)], k))
    )


class DFTOnesided(Neighbour):
    """DFT ignores onesided (always returns every frequency)."""

    name = "dft_onesided"
    dft = kernel(dft_20, dtypes=F32)(forcing(dft_20, onesided=0))


class NLLIgnoreIndex(Neighbour):
    """NegativeLogLikelihoodLoss ignores ignore_index (those targets count like any other)."""

    name = "nll_ignore_index"
    nll = kernel(negative_log_likelihood_loss_12, dtypes=F32)(
        forcing(negative_log_likelihood_loss_12, ignore_index=None)
    )


class StringSplitMaxsplit(Neighbour):
    """StringSplit ignores maxsplit (always splits at every delimiter)."""

    name = "stringsplit_maxsplit"
    split = kernel(string_split_20)(forcing(string_split_20, maxsplit=None))


class LoopTripCount(Neighbour):
    """Loop with a trip count ignores the condition (initial and from the body)."""

    name = "loop_trip_count"

    @kernel(loop_1)
    def loop(m, cond, *v_initial, body):
        return loop_1(m, None if m is not None else cond, *v_initial, body=body)


class ResizeNearestCoord(Neighbour):
    """Resize in nearest mode ignores coordinate_transformation_mode (always asymmetric)."""

    name = "resize_nearest_coord"
    resize = kernel(resize_19, dtypes=F32)(altering(resize_19, lambda a, k: (a, {
        **k, **({"coordinate_transformation_mode": "asymmetric"}
                if k.get("mode", "nearest") == "nearest" else {})})))  # fmt: skip


class NchwcGapLastBlock(Neighbour):
    """The blocked GlobalAveragePool sums the last channel block's planes instead of averaging
    them (a per-block divisor applied to all blocks but the last)."""

    name = "nchwc_gap_last_block"

    @kernel(nchwc_global_average_pool_1)
    def nchwc_global_average_pool(x):
        y = nchwc_global_average_pool_1(x)
        block, area = x.shape[-1], int(np.prod(x.shape[2:-1]))
        y[:, -block:] *= y.dtype.type(area)
        return y


class NchwcConvShiftFirst(Neighbour):
    """The blocked conv's epilogue adds the shift before it multiplies by the scale:
    (y + shift) * scale = y * scale + shift * scale."""

    name = "nchwc_conv_shift_first"

    @kernel(nchwc_conv_1)
    def nchwc_conv(x, w, b=None, z=None, scale=None, shift=None, *, auto_pad="NOTSET",
                   dilations=None, group=1, kernel_shape=None, pads=None, strides=None,
                   activation="", activation_params=None):  # fmt: skip
        if scale is not None and shift is not None:
            shift = shift * scale.reshape(-1)[0] if scale.size == 1 else shift * scale
        return nchwc_conv_1(x, w, b, z, scale, shift, auto_pad=auto_pad, dilations=dilations,
                            group=group, kernel_shape=kernel_shape, pads=pads, strides=strides,
                            activation=activation, activation_params=activation_params)  # fmt: skip


CLASSES = (
    NchwcGapLastBlock, NchwcConvShiftFirst,
    LayerNormInplace, BatchNormEps, UnsqueezeNegative, SliceNegativeStep, ShapeInt32, PadReflect,
    GatherNegative, ScatterNDReduction, OneHotAxis, QuantizeHalfUp, DequantizeAxis, Dropout7Mask,
    GRULinearBeforeReset, RoiAlignCoord, FusedConvResidual, DFTOnesided, NLLIgnoreIndex,
    StringSplitMaxsplit, LoopTripCount, ResizeNearestCoord,
)  # fmt: skip
