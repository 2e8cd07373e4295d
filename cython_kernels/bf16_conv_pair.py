"""gossamer::FusedConvPair in bfloat16 (the `cython-bf16` backend;
converter/optimizer/bf16_handoff.py plans the pairs): two direct convs on the AMX tiles with the
bf16 hand-off between them (src/bf16.h, gk_bf16_conv_direct_ex): the first writes its output as
the second's pair planes (rounded in its epilogue), the second reads them as they are. The
planes are the bits the second conv's own rounding pass would write from the float32 tensor, so
the result is the bits of the two FusedConvs run one after the other (which is what runs where
the hand-off does not apply: no AMX tiles, a 1-D or odd-shaped call)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, output_array
from ..refimpl.ir import Node, Value
from ..refimpl.op_geometry import window
from ._common import F32, all_float32, static_shape, threads
from ._native import ext
from .bf16_conv import FEW_CHANNELS, _Bf16Conv, _planes, conv_refusal
from .bf16_mode import select_bf16_impl

Array = np.ndarray
_FIRST = ("pads", "strides", "activation", "activation_params")
_SECOND = {"second_pads": "pads", "second_activation": "activation",
           "second_activation_params": "activation_params"}  # fmt: skip


def halves(node: Node) -> tuple[Node, Node]:
    """The pair's two FusedConvs (their inputs named as in the pair; the first's output "")."""
    a = node.attrs
    first = Node("FusedConv", list(node.inputs[:3]), [""],
                 {k: a[k] for k in _FIRST if k in a}, f"{node.name}/first", "gossamer")  # fmt: skip
    z = node.inputs[5] if len(node.inputs) > 5 else ""
    b2 = node.inputs[4] if len(node.inputs) > 4 else ""
    second = Node("FusedConv", ["", node.inputs[3], b2, "", z], list(node.outputs),
                  {v: a[k] for k, v in _SECOND.items() if k in a}, node.name, "gossamer")  # fmt: skip
    return first, second


def pair_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    why = all_float32(inputs[:6])
    if why:
        return why
    first, second = halves(node)
    why = conv_refusal(first, [inputs[0], inputs[1], inputs[2]])
    if why:
        return f"its first conv: {why}"
    w1 = static_shape(inputs[1])
    if w1 is not None and len(w1) > 1 and w1[1] is not None and w1[1] <= FEW_CHANNELS:
        return f"its first conv reads {w1[1]} channels: a stem (its own folded or float32 path)"
    cin = (w1[0],) if w1 is not None else None
    t = Value("", "float32", None if cin is None else (None, *cin, None, None))
    why = conv_refusal(second, [t, inputs[3], inputs[4] if len(inputs) > 4 else None])
    return None if why is None else f"its second conv: {why}"


class _Bf16ConvPair:
    """One FusedConvPair: its two convs prepared (bf16_conv._Bf16Conv) and the hand-off."""

    def __init__(self, node: Node, constants: dict[int, Array]) -> None:
        first, second = halves(node)
        self.first = _Bf16Conv(first, {k: v for k, v in constants.items() if k in (1, 2)})
        self.second = _Bf16Conv(second, {k - 2: v for k, v in constants.items() if k in (3, 4)})

    def __call__(self, x: Array, w1: Array, b1: Array | None, w2: Array, b2: Array | None,
                 z: Array | None) -> Array:  # fmt: skip
        y = self._handed_off(x, w1, b1, w2, b2, z)
        if y is None:  # the two convs through a float32 tensor: the same bits, slower
            t = self.first(x, w1, b1, None, None)
            y = self.second(t, w2, b2, None, z)
        return y

    def _handed_off(self, x, w1, b1, w2, b2, z) -> Array | None:  # noqa: ANN001 - __call__'s
        """The pair through the hand-off form, or None where it does not apply."""
        c1, c2 = self.first, self.second
        if (
            x.ndim != 4 or w1.ndim != 4 or w2.ndim != 4 or c1.post is not None
            or c2.post is not None or tuple(w1.shape) != c1.w_shape
            or tuple(w2.shape) != c2.w_shape or w1.shape[0] % 32 or w2.shape[1] != w1.shape[0]
            or not ext().bf16_amx()
        ):  # fmt: skip
            return None
        n, c, h, wd = x.shape
        m1, m2, (kh, kw), (k2h, k2w) = w1.shape[0], w2.shape[0], w1.shape[2:], w2.shape[2:]
        if kh * kw < 2 or k2h * k2w < 2 or c != w1.shape[1]:
            return None
        g1, g2 = c1.geometry, c2.geometry
        win = window((h, wd), (kh, kw), strides=g1["strides"], dilations=None, pads=g1["pads"],
                     auto_pad="NOTSET")  # fmt: skip
        (sh, sw), (ph, pw), (oh, ow) = win.strides, win.pads_begin, win.out
        pads2 = list(g2["pads"] or [0, 0, 0, 0])
        oh2, ow2 = oh + pads2[0] + pads2[2] - k2h + 1, ow + pads2[1] + pads2[3] - k2w + 1
        if min(oh, ow, oh2, ow2) < 1 or max(sh, sw) > ext().bf16_conv_max_stride():
            return None
        if z is not None and z.shape != (n, m2, oh2, ow2):
            raise RuntimeDecline(f"residual {list(z.shape)} is not the output "
                                 f"{[n, m2, oh2, ow2]}")  # fmt: skip
        if c1.packed_direct is None:
            c1.packed_direct = c1._pack_direct(w1)
        if c2.packed_direct is None:
            c2.packed_direct = c2._pack_direct(w2)
        hq, wq = oh + pads2[0] + pads2[2], ow + pads2[1] + pads2[3]
        t = threads()
        planes = _planes(ext().bf16_conv_planes_size(c, kh, kw, sh, sw, 1, 1, oh, ow))
        form = _planes(m1 // 2 * ext().bf16_conv_form_plane(hq, wq), "form")
        x = np.ascontiguousarray(x, F32)
        z = None if z is None else np.ascontiguousarray(z, F32)
        y = output_array((n, m2, oh2, ow2))
        bias1 = c1.bias if c1.bias is not None or b1 is None else np.ascontiguousarray(b1, F32)
        bias2 = c2.bias if c2.bias is not None or b2 is None else np.ascontiguousarray(b2, F32)
        (lo1, hi1, clip1), (lo2, hi2, clip2) = c1.bounds, c2.bounds
        for i in range(n):
            ep1 = ext().Epilogue(bias_row=bias1, clip=bool(clip1), lo=lo1, hi=hi1)
            ext().bf16_conv_direct_ex(x[i], c, h, wd, kh, kw, sh, sw, 1, 1, ph, pw, oh, ow, m1,
                                      c1.packed_direct, planes, None, form, pads2[0], pads2[1],
                                      hq, wq, ep1, t)  # fmt: skip
            zi = None if z is None else z[i].reshape(m2, oh2 * ow2)
            ep2 = ext().Epilogue(bias_row=bias2, residual=zi, clip=bool(clip2), lo=lo2, hi=hi2)
            ext().bf16_conv_direct_ex(None, m1, oh, ow, k2h, k2w, 1, 1, 1, 1, pads2[0], pads2[1],
                                      oh2, ow2, m2, c2.packed_direct, form,
                                      y[i].reshape(m2, oh2 * ow2), None, 0, 0, 0, 0, ep2,
                                      t)  # fmt: skip
        return y


def prepare_fused_conv_pair(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    select_bf16_impl()
    prepared = _Bf16ConvPair(node, constants)

    def fused_conv_pair(
        x: Array, w1: Array, b1: Array | None, w2: Array, b2: Array | None = None,
        z: Array | None = None, *, pads: list[int] | None = None,
        strides: list[int] | None = None, activation: str = "",
        activation_params: list[float] | None = None, second_pads: list[int] | None = None,
        second_activation: str = "", second_activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return prepared(x, w1, b1, w2, b2, z)

    return fused_conv_pair
