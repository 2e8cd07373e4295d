"""Chains of convs on pixel blocks in a bf16 session (the `cython-bf16` backend): the connected
convs of a model (ResNet's stages: FusedConv, FusedConvPair) claimed as one partition, run with
their activations as bf16 pixel blocks (src/bf16_pix.h) from the first conv to the last: one
reorder in where the chain reads a float32 tensor, one out where a float32 tensor leaves it, and
between the convs bf16 written and read by the tiles themselves (no float32 NCHW activations, no
rounding pass, residuals read as bf16).

Which convs run on the blocks (pix_refusal): 2-D, group 1, dilation 1, equal strides up to
GK_PIX_STRIDE (a strided conv reads its input's phase split, bf16_pix_phases: ResNet's stride-2
3x3s and 1x1 shortcuts), explicit pads of at most PAD (every form's grid is the image padded by
PAD), a constant weight, an activation of none, Relu or Clip, no PRelu slope, more than
FEW_CHANNELS input channels. The others of a chain run as they would alone (bf16_conv.py's
kernels) on float32 tensors: their inputs are reordered out, their outputs in, where a block
conv reads them.
A chain needs at least MIN_BLOCK_CONVS block convs (else its convs are claimed one by one, as
before). GOSSAMER_BF16_PIX=0 (read at load) plans no chain.

A block conv whose output only strided block convs (one stride, no residual) read writes their
phase split itself (gk_bf16_pix_conv_split: ResNet's stage outputs, read by the next stage's
stride-2 3x3 and 1x1), not the form: the split's copy goes (GOSSAMER_BF16_PIX_SPLIT=0: not).

A stem and the MaxPool after it join the chain the pool feeds (ResNet's 7x7 stride-2 conv and
its 3x3 stride-2 pool: stem_refusal, pool_refusal say which; GOSSAMER_BF16_PIX_STEM=0, read at
load: not): the stem runs as the kh x 1 block conv of its expansion (gk_bf16_pix_expand: a
pixel's c * kw channels a row of the kernel, written from the float32 image), its output (bias,
activation) in the blocks, and the pool pools the blocks (gk_bf16_pix_maxpool: max commutes with
the rounding, so the float32 pool's bits then rounded), so the chain's reorder in goes with the
stem's float32 output and the float32 pool. STEM_BLOCKS False (read at every run: the in-process
A/B knob) runs the two as before inside the chain: the stem's own kernel, the float32 pool, the
reorder in at the first block conv.

Numerics: what a block conv writes is rounded to bf16 (the next conv would round it anyway), and a
residual read from the blocks is that bf16 value: the block outputs of ResNet (conv + residual,
Relu) are bf16 between the convs, as OpenVINO's bf16 keeps them; the float32 path adds float32
residuals. The sums are the direct conv's (AMX, bf16.h)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..plugins import RuntimeDecline, output_array
from ..refimpl import arena
from ..refimpl.ir import Graph, Node, Value
from ._common import (
    F32,
    aligned_empty,
    epilogue_bounds,
    fused_activation_refusal,
    static_shape,
    threads,
)
from ._native import ext
from .bf16_conv import FEW_CHANNELS, _amx_now, prepare_conv, prepare_fused_conv
from .bf16_conv_pair import halves
from .bf16_matmul import U32

Array = np.ndarray
PAD = 1  # every form's grid: the image padded by this on each side
STRIDE = 4  # the largest stride of the blocks' conv (src/bf16_pix.h: GK_PIX_STRIDE)
MIN_BLOCK_CONVS = 2
_PLANS_KEPT = 4  # replayable plans per chain and thread (input shapes seen)
CONV_OPS = {("", "Conv"), ("ai.onnx", "Conv"), ("gossamer", "FusedConv"),
            ("gossamer", "FusedConvPair")}  # fmt: skip


def enabled() -> bool:
    return os.environ.get("GOSSAMER_BF16_PIX", "1").strip() != "0"


def split_enabled() -> bool:
    """Whether a conv whose output only stride-s block convs read writes their phase split
    itself (GOSSAMER_BF16_PIX_SPLIT=0, read at load: it writes the form, the readers split it;
    the A/B switch, the same bits)."""
    return os.environ.get("GOSSAMER_BF16_PIX_SPLIT", "1").strip() != "0"


def stems_enabled() -> bool:
    """Whether a stem and its MaxPool join the chain the pool feeds (GOSSAMER_BF16_PIX_STEM=0,
    read at load: they stay nodes of their own before the chain's reorder in)."""
    return os.environ.get("GOSSAMER_BF16_PIX_STEM", "1").strip() != "0"


# a joined stem and pool run on the blocks (True) or as before, the stem's own kernel to float32,
# the float32 pool, the reorder in at the first block conv (False: the A/B knob, read at every
# run; the same bits but the sign of a zero, bf16_pix.h)
STEM_BLOCKS = True


# a chain whose every step ran on the blocks is replayed at its next run of the same input shapes,
# threads, tile state and STEM_BLOCKS (PixChain._replay: its kernel calls again with the same
# buffers and forms, without the planning in between); False: planned at every run (the A/B knob,
# read at every run; the same bits)
REPLAY = True


def pix_refusal(node: Node, x: Value | None, w: Array | None) -> str | None:
    """Why the Conv / FusedConv `node` (input x, constant weight w) does not run on the pixel
    blocks (None: it does)."""
    a = node.attrs
    if w is None or w.ndim != 4:
        return "no constant 4-D weight"
    shape = static_shape(x) if x is not None else None
    if shape is None or len(shape) != 4 or None in shape[1:]:
        return "input shape unknown or not 4-D"
    if shape[1] != w.shape[1] or w.shape[1] <= FEW_CHANNELS:
        return f"{w.shape[1]} input channels (a stem, or a mismatch)"
    if int(a.get("group", 1)) != 1:
        return "grouped"
    if any(int(v) != 1 for v in a.get("dilations") or []):
        return "dilated"
    strides = [int(v) for v in a.get("strides") or [1, 1]]
    if len(strides) != 2 or strides[0] != strides[1] or not 1 <= strides[0] <= STRIDE:
        return f"strides {strides} (equal, at most {STRIDE})"
    if str(a.get("auto_pad", "NOTSET") or "NOTSET") != "NOTSET":
        return "auto_pad"
    pads = [int(p) for p in a.get("pads") or [0, 0, 0, 0]]
    if len(pads) != 4 or min(pads) < 0 or max(pads) > PAD:
        return f"pads {pads} (at most {PAD})"
    if w.shape[2] * w.shape[3] > 121:
        return "more than 121 taps"
    return _fused_refusal(node)


def _fused_refusal(node: Node) -> str | None:
    """Why a FusedConv's extras do not run on the blocks: fused_activation_refusal's reason, then
    a PRelu slope (None for a plain Conv)."""
    if node.op_type != "FusedConv":
        return None
    if len(node.inputs) > 3 and node.inputs[3]:
        return fused_activation_refusal(node) or "a PRelu slope"
    return fused_activation_refusal(node)


def stem_refusal(node: Node, x: Value | None, w: Array | None) -> str | None:
    """Why the Conv / FusedConv `node` does not run as a stem on the blocks (None: it does): a
    constant 4-D weight of c * kw <= 32 channels folded (one block), one group, no row dilation,
    a row stride up to STRIDE, explicit pads, an activation of none, Relu or Clip, no residual or
    PRelu slope."""
    a = node.attrs
    if w is None or w.ndim != 4:
        return "no constant 4-D weight"
    shape = static_shape(x) if x is not None else None
    if shape is None or len(shape) != 4 or None in shape[1:] or shape[1] != w.shape[1]:
        return "input shape unknown, not 4-D or not the weight's"
    if w.shape[1] * w.shape[3] > 32 or w.shape[2] > 121:
        return f"{w.shape[1]} x {w.shape[3]} folded channels (at most 32) or over 121 rows"
    if int(a.get("group", 1)) != 1:
        return "grouped"
    dil = [int(v) for v in a.get("dilations") or [1, 1]]
    strides = [int(v) for v in a.get("strides") or [1, 1]]
    if len(dil) != 2 or dil[0] != 1 or len(strides) != 2 or not 1 <= strides[0] <= STRIDE:
        return f"dilations {dil}, strides {strides} (row dilation 1, row stride 1 to {STRIDE})"
    if min(strides) < 1 or min(dil) < 1:
        return "a stride or dilation below 1"
    if str(a.get("auto_pad", "NOTSET") or "NOTSET") != "NOTSET":
        return "auto_pad"
    pads = [int(p) for p in a.get("pads") or [0, 0, 0, 0]]
    if len(pads) != 4 or min(pads) < 0:
        return f"pads {pads}"
    if any(v < 1 for v in _stem_out(shape[2], shape[3], w.shape, strides, dil[1], pads)):
        return "an empty output"
    why = _fused_refusal(node)
    if why is None and node.op_type == "FusedConv" and len(node.inputs) > 4 and node.inputs[4]:
        return "a residual"
    return why


def _stem_out(h: int, w: int, wshape: tuple, strides: list[int], dw: int,
              pads: list[int]) -> tuple[int, int]:  # fmt: skip
    kh, kw = wshape[2], wshape[3]
    return ((h + pads[0] + pads[2] - kh) // strides[0] + 1,
            (w + pads[1] + pads[3] - dw * (kw - 1) - 1) // strides[1] + 1)  # fmt: skip


def pool_refusal(node: Node, x: Value | None) -> str | None:
    """Why the MaxPool `node` (input x) does not pool on the blocks (None: it does): 2-D, one
    output, equal strides up to STRIDE, dilation 1, no ceil_mode or auto_pad, pads below the
    kernel (every window holds a pixel: src/bf16_pix.h)."""
    if node.op_type != "MaxPool" or node.domain not in ("", "ai.onnx"):
        return "not a MaxPool"
    a = node.attrs
    if len([o for o in node.outputs if o]) != 1:
        return "the Indices output"
    shape = static_shape(x) if x is not None else None
    if shape is None or len(shape) != 4 or None in shape[1:] or min(shape[1:]) < 1:
        return "input shape unknown or not 4-D"
    k = [int(v) for v in a.get("kernel_shape") or []]
    strides = [int(v) for v in a.get("strides") or [1, 1]]
    pads = [int(p) for p in a.get("pads") or [0, 0, 0, 0]]
    if len(k) != 2 or len(strides) != 2 or len(pads) != 4 or min(k) < 1:
        return "not 2-D"
    if strides[0] != strides[1] or not 1 <= strides[0] <= STRIDE:
        return f"strides {strides} (equal, 1 to {STRIDE})"
    if any(int(v) != 1 for v in a.get("dilations") or []):
        return "dilated"
    if int(a.get("ceil_mode", 0)) or str(a.get("auto_pad", "NOTSET") or "NOTSET") != "NOTSET":
        return "ceil_mode or auto_pad"
    if int(a.get("storage_order", 0)):
        return "storage_order"
    if min(pads) < 0 or pads[0] >= k[0] or pads[2] >= k[0] or pads[1] >= k[1] or pads[3] >= k[1]:
        return f"pads {pads} (below the kernel {k})"
    if any(o < 1 for o in _pool_out(shape[2], shape[3], k, strides[0], pads)):
        return "an empty output"
    return None


def _pool_out(h: int, w: int, k: list[int], s: int, pads: list[int]) -> tuple[int, int]:
    return (h + pads[0] + pads[2] - k[0]) // s + 1, (w + pads[1] + pads[3] - k[1]) // s + 1


def _stem_and_pool(graph: Graph, chain: set[str], claimed: set[str],
                   values: dict[str, Value]) -> list[str]:  # fmt: skip
    """The stem and the MaxPool after it that join the chain: a pool that only the chain reads
    (not a graph output), of a claimed conv's output that only the pool reads, both taken
    (pool_refusal, stem_refusal); [] for none."""
    readers: dict[str, set[str]] = {}
    for n in graph.nodes:
        for i in n.inputs:
            if i:
                readers.setdefault(i, set()).add(n.name)
    producer = {o: n for n in graph.nodes for o in n.outputs if o}
    outputs = {v.name for v in graph.outputs}
    constants = graph.constant_initializers()
    for n in graph.nodes:
        if n.op_type != "MaxPool" or n.name in chain or not n.outputs or not n.outputs[0]:
            continue
        read = readers.get(n.outputs[0], set())
        if not read or not read <= chain or n.outputs[0] in outputs:
            continue
        stem = producer.get(n.inputs[0])
        if (stem is None or stem.name not in claimed or (stem.domain, stem.op_type) not in CONV_OPS
                or readers.get(n.inputs[0]) != {n.name} or n.inputs[0] in outputs):  # fmt: skip
            continue
        stem_why = stem_refusal(stem, values.get(stem.inputs[0]), constants.get(stem.inputs[1]))
        if stem_why is None and pool_refusal(n, values.get(n.inputs[0])) is None:
            return [stem.name, n.name]
    return []


def _steps_of(node: Node) -> list[Node]:
    """The convs a chain member runs: a FusedConvPair's two halves (the first's output named
    after the pair), else the node itself."""
    if node.op_type != "FusedConvPair":
        return [node]
    first, second = halves(node)
    mid = f"{node.name}/mid"
    first.outputs = [mid]
    second.inputs[0] = mid
    return [first, second]


def find_chains(graph: Graph, claimed: set[str], values: dict[str, Value]) -> list[list[str]]:
    """The chains of `graph` (node names in graph order): the connected components of the claimed
    convs (linked where one reads another's output), each with at least MIN_BLOCK_CONVS block
    convs and convex (no path leaves it and comes back)."""
    constants = graph.constant_initializers()
    members = [n for n in graph.nodes if n.name in claimed and (n.domain, n.op_type) in CONV_OPS]
    producer = {o: n.name for n in members for o in n.outputs if o}
    parent = {n.name: n.name for n in members}

    def root(k: str) -> str:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for n in members:
        for i in n.inputs:
            if i in producer:
                parent[root(n.name)] = root(producer[i])
    groups: dict[str, list[Node]] = {}
    for n in members:
        groups.setdefault(root(n.name), []).append(n)
    chains = []
    for group in groups.values():
        block = 0
        for n in group:
            for step in _steps_of(n):
                x = values.get(n.inputs[0]) if step is n or step.inputs[0] == n.inputs[0] else None
                if x is None and step is not n:  # a pair's second half reads the first's output
                    x = _pair_mid_value(n, values, constants)
                if pix_refusal(step, x, constants.get(step.inputs[1])) is None:
                    block += 1
        names = {n.name for n in group}
        if block >= MIN_BLOCK_CONVS and _convex(graph, names):
            if stems_enabled():
                names |= set(_stem_and_pool(graph, names, claimed, values))
            chains.append([n.name for n in graph.nodes if n.name in names])
    return chains


def _pair_mid_value(pair: Node, values: dict[str, Value], constants: dict) -> Value | None:
    """The value between a pair's halves (its shape: the first conv's output), for pix_refusal."""
    w1, out = constants.get(pair.inputs[1]), values.get(pair.outputs[0])
    shape = static_shape(out) if out is not None else None
    if w1 is None or shape is None or len(shape) != 4:
        return None
    pads = [int(p) for p in pair.attrs.get("second_pads") or [0, 0, 0, 0]]
    w2 = constants.get(pair.inputs[3])
    if w2 is None or len(pads) != 4:
        return None
    h = shape[2] - pads[0] - pads[2] + w2.shape[2] - 1
    w = shape[3] - pads[1] - pads[3] + w2.shape[3] - 1
    return Value("", "float32", (shape[0], w1.shape[0], h, w))


def _convex(graph: Graph, part: set[str]) -> bool:
    """No path from the part through a node outside it back into the part."""
    readers: dict[str, list[Node]] = {}
    for n in graph.nodes:
        for i in n.inputs:
            if i:
                readers.setdefault(i, []).append(n)
    outside = [r for n in graph.nodes if n.name in part for o in n.outputs
               for r in readers.get(o, []) if r.name not in part]  # fmt: skip
    seen: set[str] = set()
    while outside:
        n = outside.pop()
        if n.name in seen:
            continue
        seen.add(n.name)
        for o in n.outputs:
            for r in readers.get(o, []):
                if r.name in part:
                    return False
                outside.append(r)
    return True


# ---- running a chain ------------------------------------------------------------------------


def form(c: int, h: int, w: int) -> tuple[int, ...]:
    """The chain's form of a c x h x w image: padded by PAD on every side."""
    return (c, h, w, PAD, PAD, h + 2 * PAD, w + 2 * PAD)


@dataclass
class _Tensor:
    """A value of the chain: float32 NCHW, its pixel blocks (n images x size pairs), or both."""

    shape: tuple[int, ...]  # (n, c, h, w)
    f32: Array | None = None
    pix: Array | None = None
    phases: dict[int, Array] | None = None  # the pixel blocks' phase split per stride


def pix_weights(w: Array, nthreads: int = 1) -> Array:
    """The conv's weights W (m, c, kh, kw) packed as the pixel-block kernel's B (bf16_pack_b of
    W'[(ky kw + kx) Cp + ci, o] = W[o, ci, ky, kx], Cp = c rounded up to 32), on a 64-byte
    boundary as every buffer the tiles read (_buf): a tile row that crosses a cache line halves
    the tile loads' rate (64 x 56^2: 417 -> 211 us aligned, 1 thread)."""
    m, c, kh, kw = w.shape
    cp = (c + 31) // 32 * 32
    wr = np.zeros((kh, kw, cp, m), F32)
    wr[:, :, :c, :] = np.asarray(w, F32).transpose(2, 3, 1, 0)
    wr = wr.reshape(-1, m)
    out = aligned_empty(ext().bf16_packed_b_size(*wr.shape), U32)
    ext().bf16_pack_b(wr, out, nthreads)
    return out


def _run_calls(calls: list[tuple[Callable[..., bool], tuple]]) -> bool:
    """The kernel calls in order; False at the first that declines (the tiles not in use)."""
    for fn, args in calls:
        if not fn(*args):
            return False
    return True


class _BlockConv:
    """A conv on the pixel blocks: its weights packed once as the kernel's B."""

    def __init__(self, node: Node, w: Array, b: Array | None) -> None:
        a = node.attrs
        self.m, self.c, self.kh, self.kw = w.shape
        self.pads = [int(p) for p in a.get("pads") or [0, 0, 0, 0]]
        self.s = int((a.get("strides") or [1])[0])
        self.wpk = pix_weights(w, threads())
        self.bias = None if b is None else np.ascontiguousarray(b, F32).reshape(-1)
        act = str(a.get("activation", "")) if node.op_type == "FusedConv" else ""
        self.lo, self.hi, _ = epilogue_bounds(act, a.get("activation_params"))

    def out_hw(self, h: int, w: int) -> tuple[int, int]:
        p, s = self.pads, self.s
        return (h + p[0] + p[2] - self.kh) // s + 1, (w + p[1] + p[3] - self.kw) // s + 1

    def fits(self, h: int, w: int) -> bool:
        """Whether the form's grid (or its phases) holds this conv's window (bf16_pix.h)."""
        oh, ow = self.out_hw(h, w)
        s, p = self.s, self.pads
        hq, wq = -(-(h + 2 * PAD) // s), -(-(w + 2 * PAD) // s)
        return (oh > 0 and ow > 0 and hq >= (PAD - p[0] + self.kh - 1) // s + oh
                and wq >= (PAD - p[1] + self.kw - 1) // s + ow)  # fmt: skip

    def calls(self, x: Array, xf: tuple, z: Array | None, zf: tuple | None, y: Array,
              yf: tuple, ys: int = 1) -> list[tuple[Callable[..., bool], tuple]]:  # fmt: skip
        """The kernel calls (function, arguments) of run(): one per image, this run's threads,
        each a PixConvCall (its arguments checked once: a replay makes the C call alone)."""
        t, (_, h, w) = threads(), xf[:3]
        oh, ow = self.out_hw(h, w)
        prepare = ext().bf16_pix_conv_call
        return [(prepare(x[i], xf, self.s, self.kh, self.kw, self.pads[0], self.pads[1], oh, ow,
                         self.m, self.wpk, self.bias, None if z is None else z[i], zf, self.lo,
                         self.hi, y[i], yf, None, t, ys).run, ())
                for i in range(x.shape[0])]  # fmt: skip

    def run(self, x: Array, xf: tuple, z: Array | None, zf: tuple | None, y: Array,
            yf: tuple, ys: int = 1) -> bool:  # fmt: skip
        """y (n x form pairs; ys > 1: n x its phase split's) = the conv of x's images; False
        where the tiles are not in use."""
        return _run_calls(self.calls(x, xf, z, zf, y, yf, ys))


class _Stem:
    """A stem on the blocks: its expansion (gk_bf16_pix_expand) and the kh x 1 block conv of it
    (weights W'[o, ci kw + kx, ky, 0] = W[o, ci, ky, kx] packed once), bias and activation in the
    epilogue, the output in the chain's form."""

    def __init__(self, node: Node, w: Array, b: Array | None) -> None:
        a = node.attrs
        self.m, self.c, self.kh, self.kw = w.shape
        self.pads = [int(p) for p in a.get("pads") or [0, 0, 0, 0]]
        self.strides = [int(v) for v in a.get("strides") or [1, 1]]
        self.dw = int((a.get("dilations") or [1, 1])[1])
        wf = np.ascontiguousarray(w.transpose(0, 1, 3, 2), F32)
        self.wpk = pix_weights(wf.reshape(self.m, self.c * self.kw, self.kh, 1), threads())
        self.bias = None if b is None else np.ascontiguousarray(b, F32).reshape(-1)
        act = str(a.get("activation", "")) if node.op_type == "FusedConv" else ""
        self.lo, self.hi, _ = epilogue_bounds(act, a.get("activation_params"))

    def out_hw(self, h: int, w: int) -> tuple[int, int]:
        return _stem_out(h, w, (self.m, self.c, self.kh, self.kw), self.strides, self.dw,
                         self.pads)  # fmt: skip

    def kernels(self, shape: tuple[int, ...], expand: Callable[[int], Array], y: Array,
                yf: tuple) -> Callable[[Array], bool]:  # fmt: skip
        """The stem of an input of `shape` (n, c, h, w) into y (n x form pairs), this run's
        threads: a function of the float32 input, False where the tiles are not in use;
        expand(size): the expansion's buffer. The conv's calls are prepared once
        (PixConvCall: a chain's replay makes the C calls alone)."""
        t, (s, sw), (ph, pw) = threads(), self.strides, self.pads[:2]
        n, h = shape[0], shape[2]
        oh, ow = self.out_hw(h, shape[3])
        f = ext().bf16_pix_expand_form(self.c, h, self.kh, self.kw, s, ph, oh, ow)
        xp = expand(ext().bf16_pix_size(f) if s == 1 else ext().bf16_pix_phases_size(f, s))
        convs = [ext().bf16_pix_conv_call(xp, f, s, self.kh, 1, ph, 0, oh, ow, self.m, self.wpk,
                                          self.bias, None, None, self.lo, self.hi, y[i], yf,
                                          None, t).run
                 for i in range(n)]  # fmt: skip
        expansion, kh, kw, dw = ext().bf16_pix_expand, self.kh, self.kw, self.dw

        def run(x: Array) -> bool:
            for i in range(n):
                if not expansion(x[i], kh, kw, s, sw, dw, ph, pw, oh, ow, xp, t) or not convs[i]():
                    return False
            return True

        return run

    def run(self, x: Array, expand: Callable[[int], Array], y: Array, yf: tuple) -> bool:
        """y (n x form pairs) = the stem of x (n, c, h, w) float32; expand(size): the expansion's
        buffer. False where the tiles are not in use."""
        return self.kernels(x.shape, expand, y, yf)(x)


class _Pool:
    """A MaxPool of the chain: on the blocks where its input is there, else float32."""

    def __init__(self, node: Node) -> None:
        a = node.attrs
        self.kh, self.kw = (int(v) for v in a["kernel_shape"])
        self.s = int((a.get("strides") or [1])[0])
        self.pads = [int(p) for p in a.get("pads") or [0, 0, 0, 0]]

    def out_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        n, c, h, w = shape
        return (n, c, *_pool_out(h, w, [self.kh, self.kw], self.s, self.pads))

    def pix_calls(self, x: Array, xf: tuple, y: Array,
                  yf: tuple) -> list[tuple[Callable[..., bool], tuple]]:  # fmt: skip
        """The kernel calls of run_pix(): one per image, this run's threads."""
        t, (ph, pw), pool = threads(), self.pads[:2], ext().bf16_pix_maxpool
        return [(pool, (x[i], xf, self.kh, self.kw, self.s, ph, pw, y[i], yf, t))
                for i in range(x.shape[0])]  # fmt: skip

    def run_pix(self, x: Array, xf: tuple, y: Array, yf: tuple) -> bool:
        """y (n x form pairs) = the pool of the blocks x (n x form xf pairs); False without
        AVX512_BF16."""
        return _run_calls(self.pix_calls(x, xf, y, yf))

    def run_f32(self, x: Array) -> Array:
        """The float32 pool (the cython backend's kernel, src/pool.h)."""
        n, c, h, w = x.shape
        shape = self.out_shape(x.shape)
        y = np.empty(shape, F32)
        ext().pool2d(True, np.ascontiguousarray(x, F32).reshape(n * c, h, w), self.kh, self.kw,
                     self.s, self.s, 1, 1, self.pads[0], self.pads[1], None, None,
                     y.reshape(n * c, *shape[2:]), threads())  # fmt: skip
        return y


@dataclass
class _Step:
    node: Node  # the conv (a pair's half: its own Node) or the MaxPool
    x: str
    z: str  # "" for none
    out: str
    block: _BlockConv | None  # None: runs on float32 (fallback)
    fallback: Callable[..., Any] | None  # the bf16 kernel of the conv alone, on float32 tensors
    args: list[Array | None]  # w, b (the constants)
    stem: _Stem | None = None  # a stem on the blocks (fallback: its kernel on float32)
    pool: _Pool | None = None  # a MaxPool (block and fallback None)


class PixChain:
    """A compiled chain: the partition graph's convs in order (the convs of its pairs split)."""

    def __init__(self, graph: Graph) -> None:
        consts = dict(graph.initializers)
        self.inputs = [v.name for v in graph.inputs]
        self.outputs = [v.name for v in graph.outputs]
        self.steps: list[_Step] = []
        self._bufs = threading.local()
        for node in graph.nodes:
            if node.op_type == "MaxPool":
                self.steps.append(_Step(node, node.inputs[0], "", node.outputs[0], None, None, [],
                                        pool=_Pool(node)))  # fmt: skip
                continue
            for step in _steps_of(node):
                w = consts.get(step.inputs[1])
                b = consts.get(step.inputs[2]) if len(step.inputs) > 2 and step.inputs[2] else None
                z = step.inputs[4] if step.op_type == "FusedConv" and len(step.inputs) > 4 else ""
                constants = {1: w} | ({2: b} if b is not None else {})
                prep = prepare_fused_conv if step.op_type == "FusedConv" else prepare_conv
                block, stem = None, None
                if w is not None and self._block_ok(step, w):
                    block = _BlockConv(step, w, b)
                elif w is not None and self._stem_ok(graph, step, w):
                    stem = _Stem(step, w, b)
                self.steps.append(_Step(step, step.inputs[0], z, step.outputs[0], block,
                                        prep(step, constants), [w, b], stem))  # fmt: skip
        self.block_convs = sum(s.block is not None for s in self.steps)
        self.stems = sum(s.stem is not None for s in self.steps)
        self.pools = sum(s.pool is not None for s in self.steps)
        self._readers: dict[str, list[_Step]] = {}
        for s in self.steps:
            self._readers.setdefault(s.x, []).append(s)
            if s.z:
                self._readers.setdefault(s.z, []).append(s)
        # the outputs that only strided block convs read (as x): written as their phase split
        self.split_out: dict[str, int] = {}
        for s in self.steps if split_enabled() else []:
            rs = self._readers.get(s.out, [])
            strides = {r.block.s if r.block is not None and r.x == s.out and not r.z else 0
                       for r in rs}  # fmt: skip
            if s.block is not None and s.out not in self.outputs and len(strides) == 1:
                (stride,) = strides
                if stride > 1:
                    self.split_out[s.out] = stride

    @staticmethod
    def _block_ok(step: Node, w: Array) -> bool:
        x = Value("", "float32", (None, w.shape[1], 1, 1))
        return pix_refusal(step, x, w) is None

    @staticmethod
    def _stem_ok(graph: Graph, step: Node, w: Array) -> bool:
        """A conv of the chain that runs as a stem on the blocks: one whose output a MaxPool of
        the chain reads (find_chains joined it so), stem_refusal's conditions."""
        pooled = any(n.op_type == "MaxPool" and n.inputs[0] == step.outputs[0] for n in graph.nodes)
        x = Value("", "float32", (None, w.shape[1], 1 << 16, 1 << 16))
        return pooled and stem_refusal(step, x, w) is None

    def note(self) -> str:
        more = f", the stem and {self.pools} MaxPool too" if self.stems and self.pools else ""
        return (f"bf16 pixel-block chain: {self.block_convs} of {len(self.steps) - self.pools} "
                f"convs on the blocks{more} (src/bf16_pix.h)")  # fmt: skip

    def _buf(self, key: str, size: int) -> Array:
        """This thread's buffer for `key` (a step's output, a reorder): reused between runs, on
        a 64-byte boundary (the blocks' pixels are 64-byte tile rows)."""
        bufs = self._bufs.__dict__
        b = bufs.get(key)
        if b is None or b.size < size:
            b = bufs[key] = aligned_empty(size, U32)
        return b[:size]

    def _pix(self, env: dict[str, _Tensor], name: str) -> tuple[Array, tuple]:
        v = env[name]
        n, c, h, w = v.shape
        f = form(c, h, w)
        if v.pix is None:
            size = ext().bf16_pix_size(f)
            p = self._buf(f"in:{name}", n * size).reshape(n, size)
            k = self.inputs.index(name) if name in self.inputs else -1
            if k < 0:  # a fallback's output: a plan that is not replayed
                self._no_replay()
            f32 = v.f32 if k < 0 else None  # an input: the run's own (not this one's kept)

            def reorder(ins: tuple[Array, ...]) -> bool:
                x = np.ascontiguousarray(ins[k] if k >= 0 else f32, F32)
                for i in range(n):
                    ext().bf16_pix_from_nchw(x[i], f, p[i], threads())
                return True

            self._step(reorder)
            v.pix = p
        return v.pix, f

    def _phases(self, env: dict[str, _Tensor], name: str, s: int) -> tuple[Array, tuple]:
        v = env[name]
        if v.phases is not None and s in v.phases:  # written so by its producer
            return v.phases[s], form(*v.shape[1:])
        p, f = self._pix(env, name)
        v.phases = {} if v.phases is None else v.phases
        if s not in v.phases:
            size = ext().bf16_pix_phases_size(f, s)
            split = self._buf(f"phases{s}:{name}", p.shape[0] * size).reshape(p.shape[0], size)

            fn, t = ext().bf16_pix_phases, threads()
            calls = [(fn, (p[i], f, s, split[i], t)) for i in range(p.shape[0])]
            self._step(lambda ins: _run_calls(calls))
            v.phases[s] = split
        return v.phases[s], f

    def _f32(self, env: dict[str, _Tensor], name: str, out: Array | None = None) -> Array:
        v = env[name]
        if v.f32 is None or out is not None:
            n, c, h, w = v.shape
            y = np.empty(v.shape, F32) if out is None else out
            f = form(c, h, w)
            for i in range(n):
                ext().bf16_pix_to_nchw(v.pix[i], f, y[i], threads())
            if out is not None:
                return y
            v.f32 = y
        return v.f32

    def _step(self, kernels: Callable[[tuple[Array, ...]], bool]) -> bool:
        """Runs `kernels` (a step's kernel calls on the chain's inputs, every buffer and form
        bound) and keeps it in the plan being recorded where it ran (True)."""
        bufs = self._bufs
        done = kernels(bufs.ins)
        if done and bufs.plan is not None:
            bufs.plan.append(kernels)
        return done

    def _no_replay(self) -> None:
        """This run took a path of float32 tensors (a fallback): its plan is not kept."""
        self._bufs.plan = None

    def __call__(self, *args: Array) -> Any:
        tiles = _amx_now()
        key = (tuple(a.shape for a in args), tiles, STEM_BLOCKS, threads())
        bufs = self._bufs
        plans = bufs.__dict__.setdefault("plans", {})
        plan = plans.get(key) if REPLAY else None
        if plan is not None:
            results = self._replay(plan, args)
            if results is not None:
                return results
            del plans[key]
        bufs.ins, bufs.plan = args, []
        env = {k: _Tensor(tuple(a.shape), f32=a) for k, a in zip(self.inputs, args)}
        outs, arena.running.outs = getattr(arena.running, "outs", None), None
        try:
            for s in self.steps:
                self._run(env, s, tiles)
        except BaseException:
            bufs.ins, bufs.plan = (), None
            raise
        finally:
            arena.running.outs = outs
        results = []
        ends: list[tuple[int, tuple, Array]] = []  # the plan's outputs: (k, shape, blocks)
        for k, name in enumerate(self.outputs):
            v = env[name]
            if v.pix is None:
                self._no_replay()
                results.append(v.f32)
            else:
                ends.append((k, v.shape, v.pix))
                results.append(self._f32(env, name, output_array(v.shape, F32, k)))
        if bufs.plan is not None and len(plans) < _PLANS_KEPT:
            plans[key] = (bufs.plan, ends)
        bufs.ins, bufs.plan = (), None
        return results[0] if len(results) == 1 else tuple(results)

    def _replay(self, plan: tuple, args: tuple[Array, ...]) -> Any:
        """The recorded kernel calls on new inputs, then the outputs reordered out; None where a
        kernel declined (the caller plans again)."""
        steps, ends = plan
        outs, arena.running.outs = getattr(arena.running, "outs", None), None
        try:
            if not all(kernels(args) for kernels in steps):
                return None
        finally:
            arena.running.outs = outs
        results = []
        for k, shape, pix in ends:
            y = output_array(shape, F32, k)
            f = form(*shape[1:])
            for i in range(shape[0]):
                ext().bf16_pix_to_nchw(pix[i], f, y[i], threads())
            results.append(y)
        return results[0] if len(results) == 1 else tuple(results)

    def _run(self, env: dict[str, _Tensor], s: _Step, tiles: bool) -> None:
        xv = env[s.x]
        if xv.f32 is not None and xv.f32.ndim != 4:
            raise RuntimeDecline(f"input {list(xv.f32.shape)} is not 4-D")
        if s.pool is not None:
            self._run_pool(env, s, tiles)
            return
        if s.stem is not None and tiles and STEM_BLOCKS and xv.shape[1] == s.stem.c:
            n, _, h, w = xv.shape
            yshape = (n, s.stem.m, *s.stem.out_hw(h, w))
            yf = form(*yshape[1:])
            size = ext().bf16_pix_size(yf)
            y = self._buf(f"out:{s.out}", n * size).reshape(n, size)
            stem, key = s.stem, f"expand:{s.out}"
            k = self.inputs.index(s.x) if s.x in self.inputs else -1
            f32 = xv.f32 if k < 0 else None  # an input: the run's own (not this one's kept)
            if k < 0:  # a fallback's output: a plan that is not replayed
                self._no_replay()

            run = stem.kernels(xv.shape, lambda size: self._buf(key, size), y, yf)

            def kernels(ins: tuple[Array, ...]) -> bool:
                return run(np.ascontiguousarray(ins[k] if k >= 0 else f32, F32))

            if self._step(kernels):
                env[s.out] = _Tensor(yshape, pix=y)
                return
        if s.block is not None and tiles:
            n, c, h, w = xv.shape
            oh, ow = s.block.out_hw(h, w)
            yshape = (n, s.block.m, oh, ow)
            fits = c == s.block.c and s.block.fits(h, w)
            if fits and (not s.z or env[s.z].shape == yshape):
                x, xf = self._phases(env, s.x, s.block.s) if s.block.s > 1 else self._pix(env, s.x)
                z, zf = self._pix(env, s.z) if s.z else (None, None)
                yf = form(s.block.m, oh, ow)
                ys = self.split_out.get(s.out, 1)
                if ys > 1 and not all(
                    r.block is not None and r.block.c == s.block.m and r.block.fits(oh, ow)
                    for r in self._readers[s.out]
                ):
                    ys = 1  # a reader that will not read the split: the form
                if ys > 1:
                    size = ext().bf16_pix_phases_size(yf, ys)
                    y = self._buf(f"phases{ys}:{s.out}", n * size).reshape(n, size)
                else:
                    size = ext().bf16_pix_size(yf)
                    y = self._buf(f"out:{s.out}", n * size).reshape(n, size)
                calls = s.block.calls(x, xf, z, zf, y, yf, ys)
                if self._step(lambda ins: _run_calls(calls)):
                    env[s.out] = (_Tensor(yshape, phases={ys: y}) if ys > 1
                                  else _Tensor(yshape, pix=y))  # fmt: skip
                    return
        self._no_replay()
        x = self._f32(env, s.x)
        z = self._f32(env, s.z) if s.z else None
        w, b = s.args
        if s.node.op_type == "FusedConv":
            y = s.fallback(x, w, b, None, z, **s.node.attrs)
        else:
            y = s.fallback(x, w, b, **s.node.attrs)
        env[s.out] = _Tensor(tuple(y.shape), f32=y)

    def _run_pool(self, env: dict[str, _Tensor], s: _Step, tiles: bool) -> None:
        """The MaxPool on the blocks where its input is there (the stem ran on them), else on
        float32."""
        v, pool = env[s.x], s.pool
        yshape = pool.out_shape(v.shape)
        if v.pix is not None and tiles and STEM_BLOCKS:
            yf, x, xf = form(*yshape[1:]), v.pix, form(*v.shape[1:])
            size = ext().bf16_pix_size(yf)
            y = self._buf(f"out:{s.out}", yshape[0] * size).reshape(yshape[0], size)
            calls = pool.pix_calls(x, xf, y, yf)
            if self._step(lambda ins: _run_calls(calls)):
                env[s.out] = _Tensor(yshape, pix=y)
                return
        self._no_replay()
        env[s.out] = _Tensor(yshape, f32=pool.run_f32(self._f32(env, s.x)))


def compile_chain(graph: Graph) -> Callable[..., Any]:
    return PixChain(graph)
