"""QLinearMatMul, MatMulInteger, com.microsoft QGemm, MatMulIntegerToFloat and
DynamicQuantizeMatMul on the exact int8 GEMM (src/qgemm.h).

The right operand (weights; 2-D) minus its zero point (per tensor or per column) is packed once
when constant; the left operand (activations, any leading dims folded into rows) is packed per
call. The epilogue (multiplier in float32 in the reference's order, int32 bias / C, output zero
point, saturation; or int32 / float32 output) is built once when its inputs are constants.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..plugins import KernelBackend, RuntimeDecline, kernel, output_array
from ..refimpl.ir import Node, Value
from ..refimpl.ops.op_dynamic_quantize_mat_mul import dynamic_quantize_mat_mul_1
from ..refimpl.ops.op_mat_mul_integer_to_float import mat_mul_integer_to_float_1
from ..refimpl.ops.op_matmul_integer import matmul_integer_10
from ..refimpl.ops.op_qgemm import qgemm_1
from ..refimpl.ops.op_qlinear_matmul import qlinear_matmul_10
from ._common import scratch, threads
from ._native import ext
from ._qcommon import (
    EIGHT_BIT,
    F32,
    Q_I32,
    as_bytes,
    epilogue,
    output_type,
    qtype,
    scalar,
    zero_points,
)  # fmt: skip
from .prepacked import digest, packed_form
from .segments import numpy_work, traceable

Array = np.ndarray
Q_F32 = 3


def _b_refusal(b_index: int) -> Callable[[Node, list[Value | None]], str | None]:
    def refuses(node: Node, inputs: list[Value | None]) -> str | None:
        b = inputs[b_index] if len(inputs) > b_index else None
        if b is not None and b.dtype not in EIGHT_BIT:
            return f"B is {b.dtype} (uint8/int8 only)"
        if b is not None and b.shape is not None and len(b.shape) != 2:
            return f"{len(b.shape)}-D B (2-D weights only)"
        return None

    return refuses


def _fixed(node: Node, constants: dict[int, Array], *indices: int) -> bool:
    """Whether these inputs are constants or absent (the same in every call)."""
    ins = node.inputs
    return all(i in constants or i >= len(ins) or not ins[i] for i in indices)


def _rows(p: Array | None, m: int, batch: int) -> Array | None:
    """A per-row parameter of A's last-but-one axis repeated for each batch of folded rows."""
    if p is None or p.size <= 1 or batch == 1:
        return p
    return np.tile(np.asarray(p).reshape(m, -1), (batch, 1))


class _QMatMul:
    """A (..., M, K) x B (K, N) with the right operand packed once when constant."""

    def __init__(self, node: Node, constants: dict[int, Array], b_index: int, zb_index: int,
                 za_index: int | None) -> None:  # fmt: skip
        self.const_b = _fixed(node, constants, b_index, zb_index)
        self.const_za = za_index is not None and _fixed(node, constants, za_index)
        self.source = constants.get(b_index)  # the weight as given: pre-packed forms hang on it
        self.packed: tuple[Array, int, int] | None = None
        self.za: dict[tuple[int, ...], Array] = {}  # A's shape -> its constant zero points
        self.q8: dict[int, tuple[Array, int, Array, Array]] = {}

    def q8_weights(self, b: Array, b_zp: Array | None, ta: int) -> tuple[Array, int, Array, Array]:
        """Constant B packed for the 8-bit GEMM against A of type ta (stored as the other
        type): (pack, stored type, stored zero points, column sums)."""
        made = self.q8.get(ta)
        if made is None:
            k, n = b.shape
            tb, to = qtype(b, "B"), 1 - ta
            zb = zero_points(b_zp, n, "b_zero_point", b)
            size = ext().q8_packed_size(n, k)

            def pack() -> Array:  # the packed bytes, then the n column sums (int32)
                out = np.empty(size + 4 * n, np.uint8)
                ext().q8_pack_b(as_bytes(b), tb, to, out[size:].view(np.int32), out, threads())
                return out

            params = {"k": k, "n": n, "type": b.dtype.name, "to": to}
            out = packed_form(self.source, "qgemm.q8_pack_b", params, (size + 4 * n,), pack,
                              np.uint8)  # fmt: skip
            shift = 0 if tb == to else (128 if tb == 1 else -128)
            zs = np.ascontiguousarray(zb.astype(np.int32) + shift, np.int32)
            made = (out[:size], to, zs, out[size:].view(np.int32))
            self.q8[ta] = made
        return made

    def q8_usable(self, b: Array, b_zp: Array | None) -> bool:
        """Whether the 8-bit GEMM takes this product: constant 2-D B, a core worth using."""
        if not self.const_b or b.ndim != 2 or int(ext().q8_core()) == 0:
            return False
        return b_zp is None or b_zp.size <= 1 or b_zp.shape[-1] == b.shape[1]

    def _q8_buffers(self, m: int, k: int, need_sa: bool) -> tuple[Array, Array | None]:
        nbytes = -(-ext().q8_packed_size(m, k) // 4)
        buf = scratch(nbytes + (m if need_sa else 0))
        return buf[:nbytes].view(np.uint8), buf[nbytes:].view(np.int32) if need_sa else None

    def weights(self, b: Array, b_zp: Array | None) -> tuple[Array, int, int]:
        if self.packed is not None:
            return self.packed
        if b.ndim != 2:
            raise RuntimeDecline(f"{b.ndim}-D B (2-D weights only)")
        k, n = b.shape
        zb = b_zp
        if zb is not None and zb.size > 1 and zb.shape[-1] != n:
            raise RuntimeDecline(f"b_zero_point {list(zb.shape)} is not per column")

        def pack() -> Array:
            out = np.empty(ext().qpacked_b_size(k, n), np.int16)
            ext().qpack_b(as_bytes(b), qtype(b, "B"), zero_points(zb, n, "b_zero_point", b), out,
                          threads())  # fmt: skip
            return out

        params = {"k": k, "n": n, "type": b.dtype.name, "zp": digest(zb)}
        out = packed_form(self.source if self.const_b else None, "qgemm.pack_b", params,
                          (ext().qpacked_b_size(k, n),), pack, np.int16)  # fmt: skip
        made = (out, k, n)
        if self.const_b:
            self.packed = made
        return made

    def run(self, a: Array, a_zp: Array | None, b: Array, b_zp: Array | None, ep: Any,
            dtype: np.dtype) -> Array:  # fmt: skip
        q8 = self.q8_usable(b, b_zp)
        bp, k, n = (None, *b.shape) if q8 else self.weights(b, b_zp)
        if a.ndim < 2 or a.shape[-1] != k:
            raise RuntimeDecline(f"A {list(a.shape)} against B ({k}, {n})")
        m = int(np.prod(a.shape[:-1]))
        y = output_array((*a.shape[:-1], n), dtype)
        if y.size == 0:
            return y
        za = self.za.get(a.shape) if self.const_za else None
        if za is None:  # kept while constant: a segment replays its address (segments.py)
            za = zero_points(_rows(a_zp, a.shape[-2], m // a.shape[-2]), m, "a_zero_point", a)
            if self.const_za and len(self.za) < 16:
                self.za[a.shape] = za
        t = threads()
        if q8:
            ta = qtype(a, "A")
            bq, tb, zb, sb = self.q8_weights(b, b_zp, ta)
            ap, sa = self._q8_buffers(m, k, bool(zb.any()))
            ext().q8_pack_a(as_bytes(a).reshape(m, k), ta, ta, sa, ap, t)
            ext().q8_gemm(m, n, k, ap, ta, bq, tb, y.reshape(m, n), ep, za, zb, sa, sb, 0, 0, t)
            return y
        ap = scratch((ext().qpacked_a_size(m, k) + 1) // 2).view(np.int16)
        ext().qpack_a(as_bytes(a).reshape(m, k), qtype(a, "A"), za, ap, t)
        ext().qgemm(m, n, k, ap, bp, y.reshape(m, n), ep, 0, 0, t)
        return y

    def run_dynamic(self, x: Array | None, a: Array | None, a_scale: Array | None,
                    a_zp: Array | None, b: Array, b_zp: Array | None,
                    ep: Any) -> Array:  # fmt: skip
        """One C call (ext().qdyn_matmul, replayable in segments): DynamicQuantizeMatMul (x:
        float32, quantised as DynamicQuantizeLinear does, its scale and zero point computed in
        C) or MatMulIntegerToFloat (a: 8-bit, a_scale and a_zp read in C); ep: the float
        epilogue with mult = b_scale, whose a_scale the call multiplies in."""
        q8 = self.q8_usable(b, b_zp)
        bp, k, n = (None, *b.shape) if q8 else self.weights(b, b_zp)
        src = x if x is not None else a
        if src is None or src.ndim < 2 or src.shape[-1] != k:
            raise RuntimeDecline(f"A {list(np.shape(src))} against B ({k}, {n})")
        if x is not None and x.dtype != F32:
            raise RuntimeDecline(f"A is {x.dtype} (float32 only)")
        m = int(np.prod(src.shape[:-1]))
        y = output_array((*src.shape[:-1], n), F32)
        if y.size == 0:
            return y
        if k == 0:
            raise RuntimeDecline("K is 0")
        ta = 0 if a is None else qtype(a, "A")
        if a_zp is not None and (a_zp.size != 1 or a_zp.dtype != a.dtype):  # type: ignore[union-attr]
            raise RuntimeDecline("a_zero_point not one value of A's type")
        if a is not None and (a_scale is None or a_scale.size != 1 or a_scale.dtype != F32):
            raise RuntimeDecline("a_scale not one float32 value")
        bq = tb = zb = sb = None
        sums = False
        if q8:
            bq, tb, zb, sb = self.q8_weights(b, b_zp, ta)
            sums = bool(zb.any())
        nbytes = ext().qdyn_work_bytes(m, n, k, int(q8), sums)
        work = scratch(-(-nbytes // 4)).view(np.uint8)
        ext().qdyn_matmul(
            m, n, k,
            None if x is None else np.ascontiguousarray(x).reshape(m, k),
            None if a is None else as_bytes(a).reshape(m, k), ta,
            None if a_scale is None else a_scale.reshape(1),  # views: read in place (by C)
            None if a_zp is None else a_zp.reshape(1).view(np.uint8),
            int(q8), bq, 0 if tb is None else tb, zb, sb, bp, ep, work, sums, y.reshape(m, n),
            threads(),
        )  # fmt: skip
        return y


def float_epilogue(a_scale: Array, b_scale: Array, bias: Array | None, m: int, n: int) -> Any:
    """MatMulIntegerToFloat's epilogue: float32(acc) * float32(a_scale * b_scale) + bias, as
    refimpl/ops/_matmul_to_float.py computes it (a_scale per tensor; b_scale per tensor or per
    column; bias float32 [n])."""
    if a_scale.size != 1 or b_scale.size not in (1, n) or (b_scale.size > 1 and b_scale.ndim != 1):
        raise RuntimeDecline("a_scale not per tensor, or b_scale neither per tensor nor [N]")
    if bias is not None and (bias.shape != (n,) or bias.dtype != F32):
        raise RuntimeDecline(f"bias {bias.dtype}{list(bias.shape)} (float32 [{n}] only)")
    bs = np.asarray(b_scale.reshape(()) if b_scale.size == 1 else b_scale, F32)
    mult = (np.asarray(a_scale.reshape(()), F32) * bs).astype(F32)
    ep = epilogue(Q_F32, mult, 0.0, rows=m, cols=n)
    if bias is not None:
        ep.float_bias(np.ascontiguousarray(bias))
    return ep


class _BScaleEpilogue:
    """The float epilogue of one dynamic node with mult = b_scale (per tensor or per column) and
    its float bias, for ext().qdyn_matmul, which multiplies the data-dependent a_scale in (in C,
    float32, the reference's product). Built once where b_scale and bias are constants (a
    traceable call then reads no value in Python), else per call."""

    def __init__(self, fixed: bool) -> None:
        self.fixed = fixed
        self.made: tuple[int, Any] | None = None

    def __call__(self, b_scale: Array, bias: Array | None, m: int, n: int) -> Any:
        if self.fixed and self.made is not None and self.made[0] == n:
            return self.made[1]
        if not self.fixed:
            numpy_work()  # b_scale / bias are read here: the call cannot be replayed
        if b_scale.dtype != F32:
            raise RuntimeDecline(f"b_scale is {b_scale.dtype} (float32 only)")
        float_epilogue(np.ones(1, F32), b_scale, bias, m, n)  # its checks (declines)
        bs = np.ascontiguousarray(b_scale, F32).reshape(-1)
        ep = ext().QEpilogue(Q_F32, bs, 0, 1 if bs.size > 1 else 0, None, 0, 0, 0.0)
        if bias is not None:
            ep.float_bias(np.ascontiguousarray(bias))
        if self.fixed:
            self.made = (n, ep)
        return ep


def _prepare_qlinear_matmul(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    prep = _QMatMul(node, constants, 3, 5, 2)
    fixed = _fixed(node, constants, 1, 4, 6, 7)
    cache: dict[tuple, tuple[Any, np.dtype]] = {}

    def qlinear_matmul(
        a: Array, a_scale: Array, a_zero_point: Array, b: Array, b_scale: Array,
        b_zero_point: Array, y_scale: Array, y_zero_point: Array,
    ) -> Array:  # fmt: skip
        key = a.shape[:-1] if a_scale.size > 1 else ()
        made = cache.get(key) if fixed else None
        if made is None:
            dtype, out_type, zp = output_type(y_zero_point, a.dtype)
            rows = a_scale.reshape(-1, 1) if a_scale.ndim == 1 and a_scale.size > 1 else a_scale
            mult = rows.astype(F32) * b_scale.astype(F32) / y_scale.astype(F32)  # the reference's
            m, n = int(np.prod(a.shape[:-1])), b.shape[-1]
            if mult.ndim > 2:
                raise RuntimeDecline(f"a {mult.ndim}-D requantisation multiplier")
            if mult.ndim == 2 and mult.shape[0] > 1:
                mult = _rows(mult, a.shape[-2], m // max(a.shape[-2], 1))
            made = (epilogue(out_type, mult, zp, rows=m, cols=n), dtype)
            if fixed and len(cache) < 16:
                cache[key] = made
        return prep.run(a, a_zero_point, b, b_zero_point, made[0], made[1])

    return traceable(qlinear_matmul)


def _prepare_matmul_integer(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    prep = _QMatMul(node, constants, 1, 3, 2)
    ep = epilogue(Q_I32, None, 0.0)

    def matmul_integer(
        a: Array, b: Array, a_zero_point: Array | None = None, b_zero_point: Array | None = None
    ) -> Array:
        return prep.run(a, a_zero_point, b, b_zero_point, ep, np.dtype(np.int32))

    return traceable(matmul_integer)


def _prepare_matmul_integer_to_float(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    prep = _QMatMul(node, constants, 1, 5, 4)
    make_ep = _BScaleEpilogue(_fixed(node, constants, 3, 6))

    def matmul_integer_to_float(
        a: Array, b: Array, a_scale: Array, b_scale: Array, a_zero_point: Array | None = None,
        b_zero_point: Array | None = None, bias: Array | None = None,
    ) -> Array:  # fmt: skip
        if a_zero_point is not None and a_zero_point.size != 1:
            raise RuntimeDecline("a_zero_point not per tensor")
        if a_scale.size != 1:
            raise RuntimeDecline("a_scale not per tensor")
        m, n = int(np.prod(a.shape[:-1])), b.shape[-1]
        ep = make_ep(b_scale, bias, m, n)
        return prep.run_dynamic(None, a, a_scale, a_zero_point, b, b_zero_point, ep)

    return traceable(matmul_integer_to_float)


def _prepare_dynamic_quantize_mat_mul(
    node: Node, constants: dict[int, Array]
) -> Callable[..., Any]:
    prep = _QMatMul(node, constants, 1, 3, None)
    make_ep = _BScaleEpilogue(_fixed(node, constants, 2, 4))

    def dynamic_quantize_mat_mul(
        a: Array, b: Array, b_scale: Array, b_zero_point: Array | None = None,
        bias: Array | None = None,
    ) -> Array:  # fmt: skip
        m, n = int(np.prod(a.shape[:-1])), b.shape[-1]
        ep = make_ep(b_scale, bias, m, n)
        return prep.run_dynamic(a, None, None, None, b, b_zero_point, ep)

    return traceable(dynamic_quantize_mat_mul)


def _prepare_qgemm(node: Node, constants: dict[int, Array]) -> Callable[..., Any]:
    prep = _QMatMul(node, constants, 3, 5, 2)
    trans_a, trans_b = bool(node.attrs.get("transA", 0)), bool(node.attrs.get("transB", 0))
    fixed = _fixed(node, constants, 1, 2, 4, 6, 7, 8)
    cache: list[tuple[Any, np.dtype]] = []

    def qgemm(
        a: Array, a_scale: Array, a_zero_point: Array, b: Array, b_scale: Array,
        b_zero_point: Array, c: Array | None = None, y_scale: Array | None = None,
        y_zero_point: Array | None = None, *, alpha: float = 1.0, transA: int = 0, transB: int = 0,
    ) -> Array:  # fmt: skip
        if a.ndim == 2 and b.ndim == 2:
            a, b = (a.T if trans_a else a), (b.T if trans_b else b)
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise RuntimeDecline(f"shapes {list(a.shape)} x {list(b.shape)}")
        m, n = a.shape[0], b.shape[1]
        if not (fixed and cache):
            zb = b_zero_point
            if b_scale.size not in (1, n) or (zb is not None and zb.size not in (1, n)):
                raise RuntimeDecline("b_scale / b_zero_point neither per tensor nor per column")
            scalar(a_zero_point, "a_zero_point")
            bs = b_scale.reshape(()) if b_scale.size == 1 else b_scale
            mult = (F32(alpha) * F32(scalar(a_scale, "a_scale")[0]) * bs).astype(F32)
            if y_scale is not None:
                mult = mult / F32(scalar(y_scale, "y_scale")[0])
            if c is not None and (c.dtype != np.int32 or c.ndim > 2):
                raise RuntimeDecline(f"C {c.dtype}{list(c.shape)} (int32, at most 2-D)")
            if y_zero_point is None:
                made = (epilogue(Q_F32, mult, 0.0, c, rows=m, cols=n), np.dtype(F32))
            else:
                dtype, out_type, zp = output_type(y_zero_point, a.dtype)
                made = (epilogue(out_type, mult, zp, c, rows=m, cols=n), dtype)
            if not fixed:
                return prep.run(a, a_zero_point, b, b_zero_point, *made)
            cache.append(made)
        return prep.run(a, a_zero_point, b, b_zero_point, *cache[0])

    return traceable(qgemm)


def _unprepared(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("this kernel runs only through its prepare() hook")


class QGemmKernels(KernelBackend):
    """The int8 matrix product kernels (mixed into CythonBackend)."""

    @kernel(qlinear_matmul_10, dtypes=set(EIGHT_BIT), supports=_b_refusal(3),
            prepare=_prepare_qlinear_matmul)  # fmt: skip
    def qlinear_matmul(
        a: Array, a_scale: Array, a_zero_point: Array, b: Array, b_scale: Array,
        b_zero_point: Array, y_scale: Array, y_zero_point: Array,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(matmul_integer_10, dtypes=set(EIGHT_BIT), supports=_b_refusal(1),
            prepare=_prepare_matmul_integer)  # fmt: skip
    def matmul_integer(
        a: Array, b: Array, a_zero_point: Array | None = None, b_zero_point: Array | None = None
    ) -> Array:
        return _unprepared()

    @kernel(mat_mul_integer_to_float_1, dtypes=set(EIGHT_BIT), supports=_b_refusal(1),
            prepare=_prepare_matmul_integer_to_float)  # fmt: skip
    def mat_mul_integer_to_float(
        a: Array, b: Array, a_scale: Array, b_scale: Array, a_zero_point: Array | None = None,
        b_zero_point: Array | None = None, bias: Array | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(dynamic_quantize_mat_mul_1, dtypes={"float32"}, supports=_b_refusal(1),
            prepare=_prepare_dynamic_quantize_mat_mul)  # fmt: skip
    def dynamic_quantize_mat_mul(
        a: Array, b: Array, b_scale: Array, b_zero_point: Array | None = None,
        bias: Array | None = None,
    ) -> Array:  # fmt: skip
        return _unprepared()

    @kernel(qgemm_1, dtypes=set(EIGHT_BIT), supports=_b_refusal(3), prepare=_prepare_qgemm)
    def qgemm(
        a: Array, a_scale: Array, a_zero_point: Array, b: Array, b_scale: Array,
        b_zero_point: Array, c: Array | None = None, y_scale: Array | None = None,
        y_zero_point: Array | None = None, *, alpha: float = 1.0, transA: int = 0, transB: int = 0,
    ) -> Array:  # fmt: skip
        return _unprepared()
