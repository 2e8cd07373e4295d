"""gossamer::NchwcConv's 1x1 convs on the AMX tiles (the `cython-bf16` backend; its table:
bf16_kernels.py): a 1x1, stride-1, unpadded, group-1 conv of a blocked (NCHW8c) input, read and
written in the blocked float32 layout (src/bf16_nchwc.h), so that a bf16 session's blocked chains
keep their 1x1 convs (bf16_conv.keep_nchw) and run them in bf16. The weights are rounded and
packed once; the epilogue is the blocked conv's bias, residual and Relu / Clip. Claimed only
while the AMX tiles are in use; a call that finds them switched off runs the float32 blocked
kernel (nchwc_conv.py), as the float32 session would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, output_array
from ..refimpl.ir import Node, Value
from ._common import F32, aligned_empty, all_float32, epilogue_bounds, static_shape, threads
from ._native import ext
from .bf16_matmul import U32
from .nchwc_conv import BLOCK, _Conv

Array = np.ndarray


def nchwc_1x1_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    """Why cython-bf16 does not claim this NchwcConv (None: it does)."""
    from .bf16_conv import _amx_now, blocked_1x1_attribute_refusal

    why = all_float32([inputs[0], *inputs[2:4]])
    if why:
        return why
    if any(v is not None for v in inputs[4:6]):
        return "a fused scale / shift (the float32 blocked kernel runs it)"
    x, w = static_shape(inputs[0]), static_shape(inputs[1])
    if x is None or len(x) != 5 or x[-1] != BLOCK:
        return f"input is not a blocked (N, C/{BLOCK}, H, W, {BLOCK}) tensor"
    if w is None or len(w) != 4 or None in w or tuple(w[2:]) != (1, 1):
        return "not a 1x1 conv with a known weight shape"
    a = node.attrs
    if int(a.get("group", 1)) != 1 or w[0] % BLOCK:
        return f"group {a.get('group', 1)}, {w[0]} output channels (group 1, blocks of {BLOCK})"
    why = blocked_1x1_attribute_refusal(node)
    if why:
        return why
    if not _amx_now():
        return "the AMX tiles are not in use (the float32 blocked kernel runs it)"
    return None


def pack_nchwc_1x1(w: Array) -> Array:
    """w (M, C, 1, 1) as the kernel's B: W^T (C x M) rounded to bf16 pairs in 16-column panels,
    on a 64-byte boundary (every tile row one cache line)."""
    m, c = w.shape[:2]
    out = aligned_empty(ext().bf16_packed_b_size(c, m), U32)
    ext().bf16_pack_b(np.asarray(w, F32).reshape(m, c).T, out, threads())
    return out


def prepare_nchwc_1x1(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    a = node.attrs
    lo, hi, _ = epilogue_bounds(str(a.get("activation", "")), a.get("activation_params"))
    w0 = constants.get(1)
    packed = None if w0 is None else pack_nchwc_1x1(w0)
    b0 = constants.get(2)
    bias0 = None if b0 is None else np.ascontiguousarray(b0, F32).reshape(-1)
    fp32: list[_Conv] = []  # the float32 blocked kernel, made where AMX is switched off

    def nchwc_conv(
        x: Array, w: Array, b: Array | None = None, z: Array | None = None,
        scale: Array | None = None, shift: Array | None = None, *,
        auto_pad: str = "NOTSET", dilations: list[int] | None = None, group: int = 1,
        kernel_shape: list[int] | None = None, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        n, cb, h, wd, size = x.shape
        m, c = w.shape[:2]
        if c != cb * size or w.shape[2:] != (1, 1) or size != BLOCK:
            raise RuntimeDecline(f"input {list(x.shape)} does not fit weight {list(w.shape)}")
        y = output_array((n, m // BLOCK, h, wd, BLOCK))
        if z is not None and z.shape != y.shape:
            raise RuntimeDecline(f"residual {list(z.shape)} is not the output {list(y.shape)}")
        wp = packed if w0 is not None and w.shape == w0.shape else pack_nchwc_1x1(w)
        bias = bias0 if bias0 is not None or b is None else np.ascontiguousarray(b, F32)
        zf = None if z is None else np.ascontiguousarray(z, F32).reshape(-1)
        xf = np.ascontiguousarray(x, F32).reshape(-1)
        if ext().bf16_nchwc_conv1x1(xf, n, c, h * wd, wp, m, bias, zf, lo, hi, y.reshape(-1),
                                    threads()):  # fmt: skip
            return y
        if not fp32:
            fp32.append(_Conv(node, constants))
        return fp32[0](x, w, b, z, scale, shift)

    return nchwc_conv
