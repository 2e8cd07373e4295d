"""The blocked channel layout NCHW8c (src/nchwc.h): the reorders at the ends of a blocked chain,
gossamer::NchwcConv (group-1 conv with an NCHW or blocked input, and depthwise conv; bias,
residual, Relu/Clip, HardSwish, LeakyRelu, HardSigmoid, Sigmoid or Swish, and a per-channel or
scalar scale and shift in the epilogue), the blocked MaxPool inside a chain, the two fused
(gossamer::NchwcConvMaxPool: the conv's result never written whole; gossamer::
NchwcDepthwisePointwise: a depthwise conv's result never written whole) and the blocked
GlobalAveragePool that ends a chain.

The graph pass converter/optimizer/channel_blocking.py plans these nodes; the kernels take
float32 only, blocks of 8 and 2-D convs, and decline anything else (the reference runs it).
The convs' prepared side (packed weights, epilogue, window, prepare hooks) is nchwc_conv.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, kernel, output_array
from ..refimpl.ir import Node, Value
from ..refimpl.op_geometry import window
from ..refimpl.ops.op_nchwc_conv import nchwc_conv_1
from ..refimpl.ops.op_nchwc_conv_max_pool import nchwc_conv_max_pool_1
from ..refimpl.ops.op_nchwc_depthwise_pointwise import nchwc_depthwise_pointwise_1
from ..refimpl.ops.op_nchwc_global_average_pool import nchwc_global_average_pool_1
from ..refimpl.ops.op_nchwc_max_pool import nchwc_max_pool_1
from ..refimpl.ops.op_nchwc_reorder_input import nchwc_reorder_input_1
from ..refimpl.ops.op_nchwc_reorder_output import nchwc_reorder_output_1
from ._common import F32, all_float32, threads, window_refusal
from ._native import ext
from .nchwc_conv import (
    _PARAMS,
    BLOCK,
    _per_channel,
    _prepare_conv,
    _prepare_conv_max_pool,
    _prepare_depthwise_pointwise,
)
from .segments import traceable

Array = np.ndarray


def _blocked(v: Value | None, rank: int) -> str | None:
    """Why v is not a blocked (N, C/8, spatial..., 8) tensor of this rank (None: it is)."""
    if v is None or v.shape is None or len(v.shape) != rank:
        return f"input is not a rank-{rank} blocked tensor"
    if v.shape[-1] != BLOCK:
        return f"block {v.shape[-1]} (the kernels compute blocks of {BLOCK})"
    return None


def _reorder_in_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    x = inputs[0]
    if int(node.attrs.get("block_size", 8)) != BLOCK:
        return f"block_size {node.attrs.get('block_size')} (the kernels compute blocks of {BLOCK})"
    if x is None or x.shape is None or len(x.shape) < 3:
        return "input rank unknown or below 3"
    return all_float32(inputs[:1])


def _reorder_out_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    x = inputs[0]
    if x is None or x.shape is None or len(x.shape) < 4 or x.shape[-1] != BLOCK:
        return f"input is not blocked by {BLOCK}"
    return all_float32(inputs[:1])


def _conv_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    bad = all_float32([inputs[0], *inputs[2:4]])
    if bad:
        return bad
    x, w = inputs[0], inputs[1]
    if w is None or w.shape is None or len(w.shape) != 4:
        return "only 2-D convolutions with a known weight shape"
    if x is None or x.shape is None or len(x.shape) not in (4, 5):
        return "input rank unknown"
    if len(x.shape) == 5 and x.shape[-1] != BLOCK:
        return f"block {x.shape[-1]} (the kernels compute blocks of {BLOCK})"
    m, group = w.shape[0], int(node.attrs.get("group", 1))
    if not isinstance(m, int) or m % BLOCK:
        return f"{m} output channels: not a multiple of {BLOCK}"
    if group != 1 and not (w.shape[1] == 1 and group == m and len(x.shape) == 5):
        return "grouped convolution other than depthwise on a blocked input"
    for i, name in ((4, "scale"), (5, "shift")):
        v = inputs[i] if len(inputs) > i else None
        if v is not None and _per_channel(v.shape, m) is None:
            return f"{name} {v.shape} is not a scalar or one value per output channel"
    return all_float32(inputs[4:6]) or _activation_refusal(node)


def _activation_refusal(node: Node) -> str | None:
    activation = str(node.attrs.get("activation", ""))
    if activation not in _PARAMS:
        return f"fused activation {activation} not in the epilogue"
    params = node.attrs.get("activation_params")
    if params and len(params) != len(_PARAMS[activation]):
        return f"{activation} takes {len(_PARAMS[activation])} activation_params"
    return None


def _gap_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    return _blocked(inputs[0], 5) or all_float32(inputs[:1])


def _max_pool_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    if len([o for o in node.outputs if o]) > 1:
        return "one output only"
    return _blocked(inputs[0], 5) or all_float32(inputs[:1])


def _prepare_max_pool(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    a = node.attrs
    geometry = {k: a.get(k) for k in ("strides", "dilations", "pads")}
    geometry.update(kernel=a.get("kernel_shape"), auto_pad=a.get("auto_pad") or "NOTSET",
                    ceil_mode=int(a.get("ceil_mode", 0)))  # fmt: skip
    windows: dict[tuple[int, int], Any] = {}  # per input plane, built once

    def nchwc_max_pool(
        x: Array, *, kernel_shape: list[int], auto_pad: str = "NOTSET", ceil_mode: int = 0,
        dilations: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        n, cb, h, w, size = x.shape
        win = windows.get((h, w))
        if win is None:
            win = window((h, w), **geometry)
            refusal = window_refusal((h, w), win)
            if refusal is not None:
                raise RuntimeDecline(refusal)
            if len(windows) < 64:
                windows[(h, w)] = win
        (oh, ow), (kh, kw) = win.out, win.kernel
        if oh <= 0 or ow <= 0 or n * cb == 0:
            raise RuntimeDecline(f"an empty output {[n, cb, oh, ow, size]}")
        y = output_array((n, cb, oh, ow, size))
        ext().nchwc_max_pool(np.ascontiguousarray(x, F32).reshape(-1), n, cb * size, h, w, kh,
                             kw, *win.strides, *win.dilations, *win.pads_begin, oh, ow,
                             y.reshape(-1), threads())  # fmt: skip
        return y

    return traceable(nchwc_max_pool)


def _conv_max_pool_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    if int(node.attrs.get("group", 1)) != 1:
        return "a grouped conv (the fused kernel computes group-1 convs)"
    return _conv_refusal(node, [*inputs[:3], None, *inputs[3:5]])


def _depthwise_pointwise_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    x, w, pw_w = inputs[0], inputs[1], inputs[3] if len(inputs) > 3 else None
    bad = _blocked(x, 5) or all_float32([x, *inputs[2:6]])
    if bad:
        return bad
    if w is None or w.shape is None or len(w.shape) != 4 or w.shape[1] != 1:
        return "the first conv is not a 2-D depthwise conv with a known weight shape"
    if int(node.attrs.get("group", 1)) != w.shape[0]:
        return "the first conv is not depthwise (group != its output channels)"
    if pw_w is None or pw_w.shape is None or tuple(pw_w.shape[1:]) != (w.shape[0], 1, 1):
        return "the second conv is not a 1x1 conv of the depthwise conv's channels"
    m = pw_w.shape[0]
    if not isinstance(m, int) or m % BLOCK:
        return f"{m} output channels: not a multiple of {BLOCK}"
    for key in ("activation", "pw_activation"):
        if str(node.attrs.get(key, "")) not in ("", "Relu", "Clip"):
            return f"{key} {node.attrs.get(key)} (the fused kernel clips only)"
    pw_node = Node("NchwcConv", [], [], {"activation": node.attrs.get("pw_activation", ""),
                   "activation_params": node.attrs.get("pw_activation_params")})  # fmt: skip
    return _activation_refusal(node) or _activation_refusal(pw_node)


def _reorder(x: Array, out: bool) -> Array:
    if out:
        n, cb, *spatial, size = x.shape
        y = output_array((n, cb * size, *spatial))
    else:
        n, c, *spatial = x.shape
        if c % BLOCK:
            raise RuntimeDecline(f"{c} channels: not a multiple of {BLOCK}")
        y = output_array((n, c // BLOCK, *spatial, BLOCK))
    hw = int(np.prod(spatial, dtype=np.int64))
    c = y.shape[1] if out else x.shape[1]
    ext().nchwc_reorder(np.ascontiguousarray(x, F32).reshape(-1), n, c, hw, y.reshape(-1), out,
                        threads())  # fmt: skip
    return y


class NchwcKernels(KernelBackend):
    """The NCHW8c kernels (mixed into CythonBackend)."""

    @kernel(nchwc_reorder_input_1, dtypes={"float32"}, supports=_reorder_in_refusal)
    @traceable
    def nchwc_reorder_input(x: Array, *, block_size: int = 8) -> Array:
        return _reorder(x, False)

    @kernel(nchwc_reorder_output_1, dtypes={"float32"}, supports=_reorder_out_refusal)
    @traceable
    def nchwc_reorder_output(x: Array) -> Array:
        return _reorder(x, True)

    @kernel(nchwc_conv_1, dtypes={"float32"}, supports=_conv_refusal, prepare=_prepare_conv)
    def nchwc_conv(
        x: Array, w: Array, b: Array | None = None, z: Array | None = None,
        scale: Array | None = None, shift: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        raise RuntimeError("this kernel runs only through its prepare() hook")

    @kernel(nchwc_max_pool_1, dtypes={"float32"}, supports=_max_pool_refusal,
            prepare=_prepare_max_pool)
    def nchwc_max_pool(
        x: Array, *, kernel_shape: list[int], auto_pad: str = "NOTSET", ceil_mode: int = 0,
        dilations: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        raise RuntimeError("this kernel runs only through its prepare() hook")

    @kernel(
        nchwc_conv_max_pool_1,
        dtypes={"float32"},
        supports=_conv_max_pool_refusal,
        prepare=_prepare_conv_max_pool,
    )
    def nchwc_conv_max_pool(
        x: Array, w: Array, b: Array | None = None, scale: Array | None = None,
        shift: Array | None = None, *, auto_pad: str = "NOTSET",
        dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None, pool_kernel_shape: list[int],
        pool_auto_pad: str = "NOTSET", pool_ceil_mode: int = 0,
        pool_dilations: list[int] | None = None, pool_pads: list[int] | None = None,
        pool_strides: list[int] | None = None,
    ) -> Array:  # fmt: skip
        raise RuntimeError("this kernel runs only through its prepare() hook")

    @kernel(
        nchwc_depthwise_pointwise_1,
        dtypes={"float32"},
        supports=_depthwise_pointwise_refusal,
        prepare=_prepare_depthwise_pointwise,
    )
    def nchwc_depthwise_pointwise(
        x: Array, w: Array, b: Array | None = None, pw_w: Array | None = None,
        pw_b: Array | None = None, z: Array | None = None, *, auto_pad: str = "NOTSET",
        dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None, pw_activation: str = "",
        pw_activation_params: list[float] | None = None,
    ) -> tuple[Array, Array]:  # fmt: skip
        raise RuntimeError("this kernel runs only through its prepare() hook")

    @kernel(nchwc_global_average_pool_1, dtypes={"float32"}, supports=_gap_refusal)
    @traceable
    def nchwc_global_average_pool(x: Array) -> Array:
        n, cb, h, w, size = x.shape
        y = output_array((n, cb * size, 1, 1))
        ext().nchwc_global_average(np.ascontiguousarray(x, F32).reshape(-1), n, cb * size, h * w,
                                   y.reshape(-1), threads())  # fmt: skip
        return y
