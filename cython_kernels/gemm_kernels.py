"""MatMul, Gemm and their gossamer::Fused* forms on the packed GEMM, with the fused epilogue.

A constant right operand (weights, also 3-D batched weights) is packed once in `prepare`; the left
operand is packed per call inside the GEMM's own threads. A 2-D weight whose float32 values are
int8 codes times a column scale (a weight-only int8 model's, folded at load) is packed as those
codes (int8_weights.py, src/gemm_i8w.h: a quarter of the bytes, the same bits). MatMul with two
run-time operands (attention) uses the batched kernel, which packs both.

The epilogue API (also used by the conv kernels): `activation_refusal` says whether a Fused*
node's activation runs in the epilogue, `fused_activation` turns (activation, activation_params)
into an `Activation`, and `make_epilogue(activation, bias_row=, bias_col=, residual=, slope=,
slope_axis=)` builds the `ext().Epilogue` passed to `ext().gemm_ep` (packed A and B),
`ext().gemm_a` (A by strides) or `ext().gemm_batched`. Per element (i, j) of C:
    y = A@B + bias_row[i] + bias_col[j] + residual[i, j];  y = clip(y) (Relu, Clip);  y = act(y)
with act one of Sigmoid, Swish, HardSigmoid, HardSwish, LeakyRelu, Gelu (erf), Tanh, PRelu.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, kernel, output_array
from ..refimpl.ir import Node, Value
from ..refimpl.op_geometry import FUSED_ACTIVATIONS as ACTIVATIONS
from ..refimpl.ops.op_fused_gemm import fused_gemm_1
from ..refimpl.ops.op_fused_mat_mul import fused_mat_mul_1
from ..refimpl.ops.op_gemm import gemm_7, gemm_11
from ..refimpl.ops.op_mat_mul import mat_mul_1
from ..refimpl.ops.op_packed_attention import packed_attention_1
from ._common import (
    F32,
    all_float32,
    float32_or_half,
    half_out,
    known_shape,
    static_shape,
    threads,
)
from ._native import ext
from .int8_weights import packed_int8
from .prepacked import packed_form
from .segments import traceable
from .weight_pages import in_weight_pages, weight_empty

Array = np.ndarray
FLOATS = {"float32", "float16"}  # float16 nodes compute in float32 (see _common.float32_or_half)
INF = float("inf")

# src/gemm.h GK_ACT_* codes of the activations after the clip
ACT_CODES = {"": 0, "Relu": 0, "Clip": 0, "Sigmoid": 1, "Swish": 2, "HardSigmoid": 3,
             "HardSwish": 4, "LeakyRelu": 5, "Gelu": 6, "Tanh": 7, "PRelu": 8}  # fmt: skip


@dataclass(frozen=True)
class Activation:
    """A fused activation as the GEMM epilogue computes it: clip to [lo, hi] if `clip`, then the
    src/gemm.h activation `act` with parameters alpha, beta (PRelu: the slope comes with the
    epilogue)."""

    clip: bool = False
    lo: float = -INF
    hi: float = INF
    act: int = 0
    alpha: float = 0.0
    beta: float = 0.0

    @property
    def prelu(self) -> bool:
        return self.act == ACT_CODES["PRelu"]


def activation_refusal(activation: str, params: Sequence[float] | None) -> str | None:
    """Why (activation, activation_params) of a gossamer::Fused* node cannot run in the epilogue,
    or None (every activation the Fused* ops define, plus Tanh, can)."""
    if activation not in ACTIVATIONS and activation != "Tanh":
        return f"fused activation {activation} not in the epilogue"
    n = len(ACTIVATIONS.get(activation, ()))
    if params and len(params) != n:
        return f"{activation or 'no activation'} takes {n} activation_params, got {len(params)}"
    return None


def node_activation_refusal(node: Node) -> str | None:
    """activation_refusal for a node's `activation` / `activation_params` attributes."""
    return activation_refusal(
        str(node.attrs.get("activation", "")), node.attrs.get("activation_params")
    )


def fused_activation(activation: str, params: Sequence[float] | None) -> Activation:
    """The epilogue form of a fused activation (defaults as the reference's ACTIVATIONS)."""
    p = (
        [float(v) for v in params]
        if params
        else [float(v) for v in ACTIVATIONS.get(activation, ())]
    )
    if activation == "Relu":
        return Activation(clip=True, lo=0.0, hi=INF)
    if activation == "Clip":  # the reference rounds the bounds to float32
        return Activation(clip=True, lo=float(F32(p[0])), hi=float(F32(p[1])))
    alpha = float(F32(p[0])) if p else 0.0
    beta = float(F32(p[1])) if len(p) > 1 else 0.0
    return Activation(act=ACT_CODES[activation], alpha=alpha, beta=beta)


def make_epilogue(
    activation: Activation = Activation(),
    *,
    bias_row: Array | None = None,
    bias_col: Array | None = None,
    residual: Array | None = None,
    slope: Array | None = None,
    slope_axis: str = "col",
) -> Any:
    """The ext().Epilogue: float32 vectors bias_row (M) / bias_col (N), residual (M x N, row-major
    rows; added before the activation), PRelu slope (1 element, or M for slope_axis "row", or N
    for "col")."""
    vec = _vector
    kwargs: dict[str, Any] = {}
    if activation.prelu:
        s = vec(slope)
        if s is None:
            raise ValueError("the PRelu epilogue needs a slope")
        if s.size == 1:
            kwargs["alpha"] = float(s[0])
        else:
            kwargs["slope_row" if slope_axis == "row" else "slope_col"] = s
    if residual is not None:
        residual = np.ascontiguousarray(residual, F32)
    return ext().Epilogue(
        bias_row=vec(bias_row), bias_col=vec(bias_col), residual=residual,
        clip=activation.clip, lo=activation.lo, hi=activation.hi, act=activation.act,
        alpha=kwargs.pop("alpha", activation.alpha), beta=activation.beta, **kwargs,
    )  # fmt: skip


def _vector(v: Array | None) -> Array | None:
    return None if v is None else np.ascontiguousarray(v, F32).reshape(-1)


def pack_weights(b: Array) -> Array:
    """B (K x N, any strides) packed into 16-column panels, once."""
    k, n = b.shape
    out = weight_empty(ext().packed_b_size(k, n))  # in 2 MiB pages: streamed every run
    ext().pack_b(np.asarray(b, F32), out, threads())
    return out


def gemm_rows(a2: Array, packed_b: Array, n: int, bias_col: Array | None, bounds: tuple) -> Array:
    """clip(a2 @ B + bias_col, lo, hi) for a 2-D left operand and packed B."""
    lo, hi, clip = bounds
    ep = make_epilogue(Activation(clip=clip, lo=lo, hi=hi), bias_col=bias_col)
    y = output_array((a2.shape[0], n))
    ext().gemm_a(a2, packed_b, n, y, ep, threads())
    return y


def batched_matmul(a: Array, b: Array) -> Array:
    """a @ b with numpy broadcasting of batch dims (supported: equal, or one side batch-free)."""
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    a3 = np.asarray(a, F32).reshape(-1, m, k)
    b3 = np.asarray(b, F32).reshape(-1, k, n)
    y = output_array((*batch, m, n))
    ext().matmul_batched(a3, b3, y.reshape(-1, m, n), threads())
    return y


def batch_refusal(a: tuple[int, ...], b: tuple[int, ...]) -> str | None:
    try:
        batch = np.broadcast_shapes(a[:-2], b[:-2])
    except ValueError:
        return "batch dims do not broadcast"
    for side in (a[:-2], b[:-2]):
        if tuple(side) != tuple(batch)[len(batch) - len(side) :] or (
            int(np.prod(side)) not in (1, int(np.prod(batch)))
        ):
            return "batch broadcasting other than equal or batch-free operands"
    return None


def _matmul_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    bad = float32_or_half(inputs)
    if bad:
        return bad
    a, b = static_shape(inputs[0]), static_shape(inputs[1])
    if a is None or b is None:
        return "operand ranks unknown before running"
    if len(a) < 2 or len(b) < 2:
        return "1-D operands not supported"
    if None in a or None in b:
        return None  # symbolic dims: each call is checked by _call_refusal
    if 0 in a or 0 in b:
        return "empty operands"
    return batch_refusal(a, b)  # type: ignore[arg-type]


def _call_refusal(a: Array, b: Array) -> str | None:
    """Why this call's shapes are outside the kernel (None: they are not)."""
    if a.shape[-1] != b.shape[-2]:
        return f"inner dimensions differ: {a.shape} @ {b.shape}"  # the reference names the error
    if a.size == 0 or b.size == 0:
        return "empty operands"
    return batch_refusal(a.shape, b.shape)


def _slope_refusal(slope: Value | None, m: int | None, n: int, rank: int) -> str | None:
    """PRelu slope: a scalar, a vector over the last axis, or (2-D results, m given) [M, 1]."""
    shape = known_shape(slope)
    if shape is None:
        return "PRelu slope shape unknown before running"
    size = int(np.prod(shape))
    if len(shape) > rank:
        return "PRelu slope has more dims than the result"
    if size == 1 or (size == n and shape[-1] == n):
        return None
    if m is not None and rank == 2 and tuple(shape) == (m, 1):
        return None
    return "PRelu slope other than a scalar, a last-axis vector or a per-row column"


def _fused_matmul_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    why = _matmul_refusal(node, inputs[:2]) or node_activation_refusal(node)
    if why:
        return why
    bias = known_shape(inputs[2]) if len(inputs) > 2 and inputs[2] is not None else ()
    b_shape = static_shape(inputs[1]) or ()
    n = b_shape[-1] if b_shape else None
    if (bias or node.attrs.get("activation") == "PRelu") and n is None:
        return "weight columns unknown before running"
    if bias is None or (bias and (int(np.prod(bias)) != n or bias[-1] != n)):
        return "bias other than a vector over the last axis"
    rank = len(static_shape(inputs[0]) or ())
    if rank < len(bias):  # bias would add batch dims
        return "bias has more dims than the result"
    if len(inputs) > 4 and inputs[4] is not None:
        why = _residual_refusal(inputs)
        if why:
            return why
    if node.attrs.get("activation") == "PRelu":
        slope = inputs[3] if len(inputs) > 3 else None
        return _slope_refusal(slope, None, n, max(rank, len(b_shape)))  # type: ignore[arg-type]
    return None


def _residual_refusal(inputs: list[Value | None]) -> str | None:
    """The residual (input 4) is added in the epilogue: float32 (a float16 node would round the
    sum once instead of twice), a constant 2-D B (the packed path), the product's static shape."""
    if inputs[4].dtype != "float32":  # type: ignore[union-attr]
        return "residual with float16 operands (the fused sum would be rounded once, not twice)"
    a, b, z = known_shape(inputs[0]), known_shape(inputs[1]), known_shape(inputs[4])
    if a is None or b is None or z is None:
        return "residual or operand shapes unknown before running"
    if len(b) != 2 or len(a) < 2 or z != a[:-1] + b[-1:]:
        return "residual other than the exact shape of a product with a 2-D B"
    return None


def _slope_axis(slope: Array | None, n: int) -> str:
    if slope is None or slope.size == 1 or (slope.shape and slope.shape[-1] == n):
        return "col"
    return "row"


def _prepare_matmul(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    activation = fused_activation(
        str(node.attrs.get("activation", "")), node.attrs.get("activation_params")
    )
    w = constants.get(1)
    packed = packed3 = codes = None
    if w is not None and int(np.prod(w.shape[:-2])) == 1:
        kw, nw = w.shape[-2:]
        w2 = np.asarray(w, F32).reshape(kw, nw)
        codes = packed_int8(w, w2, "matmul.pack_b_i8w", {"k": kw, "n": nw})
        if codes is None:
            packed = packed_form(
                w, "matmul.pack_b", {"k": kw, "n": nw}, (ext().packed_b_size(kw, nw),),
                lambda: pack_weights(w2), place=in_weight_pages,
            )  # fmt: skip
    elif w is not None:  # batched weights: every batch packed once, here
        w3 = np.asarray(w, F32).reshape(-1, *w.shape[-2:])
        packed3 = packed_form(
            w, "matmul.pack_b3", {"b": w3.shape[0], "k": w3.shape[1], "n": w3.shape[2]},
            (w3.shape[0], ext().packed_b_size(*w3.shape[1:])),
            lambda: np.stack([pack_weights(wi) for wi in w3]), place=in_weight_pages,
        )  # fmt: skip

    names = list(node.inputs) + ["", ""]
    has_bias, has_slope = bool(names[2]), bool(names[3])
    fixed = None  # the epilogue, built once when its arrays are constants
    if (not has_bias or 2 in constants) and (not has_slope or 3 in constants):
        if not activation.prelu or 3 in constants:
            fixed = make_epilogue(activation, bias_col=constants.get(2), slope=constants.get(3))

    def run(
        a: Array, b: Array, bias: Array | None = None, slope: Array | None = None,
        residual: Array | None = None,
    ) -> Array:  # fmt: skip
        why = _call_refusal(a, b)
        if why:
            raise RuntimeDecline(why)
        k, n = b.shape[-2:]
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        m = a.shape[-2]
        if residual is not None:
            if (packed is None and codes is None) or residual.shape != (*batch, m, n):
                raise RuntimeDecline("residual without a constant 2-D B or of another shape")
            ep = make_epilogue(
                activation, bias_col=constants.get(2, bias), slope=constants.get(3, slope),
                residual=residual.reshape(-1, n),
            )  # fmt: skip
        else:
            ep = fixed or make_epilogue(activation, bias_col=bias, slope=slope, slope_axis="col")
        if codes is not None:
            y = output_array((*batch, m, n))
            ext().gemm_a_i8w(np.asarray(a, F32).reshape(-1, k), codes, n, y.reshape(-1, n), ep,
                             threads())  # fmt: skip
            return y
        if packed is not None:
            y = output_array((*batch, m, n))
            ext().gemm_a(np.asarray(a, F32).reshape(-1, k), packed, n, y.reshape(-1, n), ep,
                         threads())  # fmt: skip
            return y
        if packed3 is not None:
            y = output_array((*batch, m, n))
            a3 = np.asarray(a, F32).reshape(-1, m, k)
            ext().gemm_batched(a3, packed3, n, y.reshape(-1, m, n), ep, 0, threads())
            return y
        y = batched_matmul(a, b)
        if bias is not None or activation != Activation():
            ext().epilogue_apply(y.reshape(-1, n), ep, threads())
        return y

    return run


def _prepare_plain_matmul(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    run = _prepare_matmul(node, constants)

    def mat_mul(a: Array, b: Array) -> Array:
        return half_out(run(a, b), a)

    return traceable(mat_mul)  # a float16 result is an astype copy: segments.py refuses it


def _prepare_fused_matmul(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    run = _prepare_matmul(node, constants)

    def fused_mat_mul(
        a: Array, b: Array, bias: Array | None = None, slope: Array | None = None,
        residual: Array | None = None, *, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return half_out(run(a, b, bias, slope, residual), a)

    return traceable(fused_mat_mul)


def _gemm_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    bad = float32_or_half(inputs[:3])
    if bad:
        return bad
    a, b = static_shape(inputs[0]), known_shape(inputs[1])
    trans_a = node.attrs.get("transA", 0)
    # A's rows may be a symbolic dim (a batch N): run() takes M from the array it gets
    if a is None or b is None or len(a) != 2 or len(b) != 2 or a[0 if trans_a else 1] is None:
        return "operand shapes unknown or not 2-D"
    if 0 in a or 0 in b:
        return "empty operands"
    m = a[1] if trans_a else a[0]
    n = b[0] if node.attrs.get("transB", 0) else b[1]
    c = known_shape(inputs[2]) if len(inputs) > 2 and inputs[2] is not None else ()
    if c is None:
        return "C shape unknown before running"
    if c and node.attrs.get("beta", 1.0) != 0.0 and _bias_kind(c, m, n) is None:
        return f"C of shape {list(c)} is not a per-row or per-column bias"
    if node.op_type != "FusedGemm":
        return None
    why = node_activation_refusal(node)
    if why is None and node.attrs.get("activation") == "PRelu":
        why = _slope_refusal(inputs[3] if len(inputs) > 3 else None, m, n, 2)
    return why


def _bias_kind(c: tuple[int, ...], m: int, n: int) -> str | None:
    """How C broadcasts onto (M, N): "scalar", "col" ([N] / [1, N]), "row" ([M, 1]) or None."""
    if int(np.prod(c)) == 1:
        return "scalar"
    if c[-1] == n and int(np.prod(c)) == n:
        return "col"
    if len(c) == 2 and c == (m, 1):
        return "row"
    return None


def _prepare_gemm(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    attrs = node.attrs
    alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
    trans_a, trans_b = int(attrs.get("transA", 0)), int(attrs.get("transB", 0))
    activation = fused_activation(str(attrs.get("activation", "")), attrs.get("activation_params"))

    def weights(b: Array) -> Array:
        op_b = np.asarray(b, F32).T if trans_b else np.asarray(b, F32)
        return pack_weights(op_b * F32(alpha) if alpha != 1.0 else op_b)

    packed = codes = None
    if 1 in constants:
        w = constants[1]
        k, n = w.shape[::-1] if trans_b else w.shape
        params = {"k": k, "n": n, "transB": trans_b, "alpha": repr(alpha)}
        op_b = np.asarray(w, F32).T if trans_b else np.asarray(w, F32)
        if alpha == 1.0:  # (B * alpha is int8 times a scale only by chance)
            codes = packed_int8(w, op_b, "gemm.pack_b_i8w", params)
        if codes is None:
            size = (ext().packed_b_size(k, n),)
            packed = packed_form(
                w, "gemm.pack_b", params, size, lambda: weights(w), place=in_weight_pages
            )

    def run(a: Array, b: Array, c: Array | None = None, slope: Array | None = None) -> Array:
        op_a = a.T if trans_a else a
        m, n = op_a.shape[0], (b.shape[0] if trans_b else b.shape[1])
        bias_row = bias_col = None
        if c is not None and beta != 0.0:
            cb = np.asarray(c, F32) * F32(beta) if beta != 1.0 else np.asarray(c, F32)
            kind = _bias_kind(cb.shape, m, n)
            if kind == "row":
                bias_row = cb.reshape(-1)
            else:  # scalar or col (supports() ruled out the rest)
                bias_col = np.broadcast_to(cb.reshape(-1), (n,))
        ep = make_epilogue(activation, bias_row=bias_row, bias_col=bias_col, slope=slope,
                           slope_axis=_slope_axis(slope, n))  # fmt: skip
        y = output_array((m, n))
        if codes is not None:
            ext().gemm_a_i8w(np.asarray(op_a, F32), codes, n, y, ep, threads())
            return y
        bp = packed if packed is not None else weights(b)
        ext().gemm_a(np.asarray(op_a, F32), bp, n, y, ep, threads())
        return y

    return run


def _prepare_plain_gemm(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    run = _prepare_gemm(node, constants)

    def gemm(
        a: Array, b: Array, c: Array | None = None, *, alpha: float = 1.0, beta: float = 1.0,
        transA: int = 0, transB: int = 0,
    ) -> Array:  # fmt: skip
        return half_out(run(a, b, c), a)

    return traceable(gemm)  # a bias computed per call is refused by segments.py (not a pointer)


def _prepare_fused_gemm(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    run = _prepare_gemm(node, constants)

    def fused_gemm(
        a: Array, b: Array, c: Array | None = None, slope: Array | None = None, *,
        alpha: float = 1.0, beta: float = 1.0, transA: int = 0, transB: int = 0,
        activation: str = "", activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return half_out(run(a, b, c, slope), a)

    return traceable(fused_gemm)


# gossamer::PackedAttention (src/attention.c): scores of a head are s x s floats per thread
ATTENTION_MAX_SEQ = 2048


def _attention_refusal(node: Node, inputs: list[Value | None]) -> str | None:
    bad = all_float32(inputs)
    if bad:
        return bad
    x = static_shape(inputs[0])
    heads = int(node.attrs.get("num_heads", 0))
    if x is not None and (len(x) != 3 or heads < 1 or (x[2] is not None and x[2] % (3 * heads))):
        return "qkv is not [B, S, 3 * num_heads * D]"
    if x is not None and x[1] is not None and x[1] > ATTENTION_MAX_SEQ:
        return f"sequence longer than {ATTENTION_MAX_SEQ}"
    return None


def _prepare_attention(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    heads = int(node.attrs["num_heads"])
    factor = float(node.attrs.get("scale", 1.0))

    def packed_attention(
        qkv: Array, mask: Array | None = None, *, num_heads: int, scale: float = 1.0
    ) -> Array:
        if qkv.dtype != F32 or qkv.ndim != 3 or qkv.shape[2] % (3 * heads):
            raise RuntimeDecline(f"qkv {qkv.shape} {qkv.dtype}")
        b, s, e3 = qkv.shape
        if s > ATTENTION_MAX_SEQ:
            raise RuntimeDecline(f"sequence {s} > {ATTENTION_MAX_SEQ}")
        rows = None
        if mask is not None:  # one row per batch (or one for all), added to every score row
            if mask.dtype != F32 or mask.ndim > 4 or mask.shape[-1:] != (s,):
                raise RuntimeDecline(f"mask {mask.shape} is not a per-key row")
            full = (1,) * (4 - mask.ndim) + mask.shape
            if full[1:3] != (1, 1) or full[0] not in (1, b):
                raise RuntimeDecline(f"mask {mask.shape} varies over heads or query rows")
            rows = mask.reshape(full[0], s)
            if not rows.flags.c_contiguous:
                raise RuntimeDecline("mask not contiguous")
        if not qkv.flags.c_contiguous:
            raise RuntimeDecline("qkv not contiguous")
        y = output_array((b, s, e3 // 3), F32)
        ext().attention(qkv, rows, y, heads, factor, threads())
        return y

    return traceable(packed_attention)


def _unprepared(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("this kernel runs only through its prepare() hook")


class GemmKernels(KernelBackend):
    """The GEMM-based kernels (mixed into CythonBackend)."""

    @kernel(mat_mul_1, dtypes=FLOATS, supports=_matmul_refusal, prepare=_prepare_plain_matmul)
    def mat_mul(a: Array, b: Array) -> Array:
        return _unprepared()

    @kernel(
        fused_mat_mul_1, dtypes=FLOATS, supports=_fused_matmul_refusal,
        prepare=_prepare_fused_matmul,
    )  # fmt: skip
    def fused_mat_mul(
        a: Array, b: Array, bias: Array | None = None, slope: Array | None = None,
        residual: Array | None = None, *, activation: str = "",
        activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(packed_attention_1, dtypes={"float32"}, supports=_attention_refusal,
            prepare=_prepare_attention)  # fmt: skip
    def packed_attention(
        qkv: Array, mask: Array | None = None, *, num_heads: int, scale: float = 1.0
    ) -> Array:
        return _unprepared()

    @kernel(gemm_7, dtypes=FLOATS, supports=_gemm_refusal, prepare=_prepare_plain_gemm)
    def gemm_7(
        a: Array, b: Array, c: Array | None = None, *, alpha: float = 1.0, beta: float = 1.0,
        transA: int = 0, transB: int = 0,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(gemm_11, dtypes=FLOATS, supports=_gemm_refusal, prepare=_prepare_plain_gemm)
    def gemm_11(
        a: Array, b: Array, c: Array | None = None, *, alpha: float = 1.0, beta: float = 1.0,
        transA: int = 0, transB: int = 0,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(fused_gemm_1, dtypes=FLOATS, supports=_gemm_refusal, prepare=_prepare_fused_gemm)
    def fused_gemm(
        a: Array, b: Array, c: Array | None = None, slope: Array | None = None, *,
        alpha: float = 1.0, beta: float = 1.0, transA: int = 0, transB: int = 0,
        activation: str = "", activation_params: list[float] | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()
