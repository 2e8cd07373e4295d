# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Thin Cython wrappers over the C kernels in src/ (memoryviews in, GIL released while they run).

Callers (the backend modules) pass C-contiguous float32 arrays of the right sizes; these wrappers do
not re-check shapes. Every kernel takes its OpenMP thread count explicitly.
"""

from libc.math cimport INFINITY
from libc.string cimport memset

cdef extern from "src/gk.h" nogil:
    int gk_cpu_has_avx2_fma()
    int gk_cpu_has_avx512f()
    int gk_simd_avx2
    void gk_set_simd(int avx2)
    int gk_set_simd_level(int level)
    int gk_simd_level()
    ctypedef struct gk_epilogue:
        const float *bias_row
        const float *bias_col
        float lo
        float hi
        int clip
        int act
        float alpha
        float beta
        const float *slope_row
        const float *slope_col
        const float *residual
        long ld_residual
    void gk_gemm(long m, long n, long k, const float *a, long s_m, long s_k, const float *bp,
                 float *c, long ldc, const gk_epilogue *ep, int threads)
    void gk_gemm_batched(long batch, long m, long n, long k, const float *a, long a_bs,
                         long s_m, long s_k, const float *bp, long bp_bs, float *c, long c_bs,
                         long ldc, const gk_epilogue *ep, long r_bs, int threads)
    void gk_epilogue_apply(float *y, long rows, long cols, long ldy, const gk_epilogue *ep,
                           int threads)
    void gk_gemm_tune(long kc, long mc, long *old)
    size_t gk_packed_a_size(long m, long k)
    size_t gk_packed_b_size(long k, long n)
    void gk_pack_a(long m, long k, const float *a, long s_m, long s_k, float *out, int threads)
    void gk_pack_b(long k, long n, const float *b, long s_k, long s_n, float *out, int threads)
    void gk_gemm_packed(long m, long n, long k, const float *ap, const float *bp, float *c,
                        long ldc, const gk_epilogue *ep, int threads)
    void gk_matmul_batched(long batch, long m, long n, long k, const float *a, long a_bs,
                           long a_sm, long a_sk, const float *b, long b_bs, long b_sk, long b_sn,
                           float *c, long c_bs, int threads)
    void gk_pack_b_conv(const float *x, long c, long h, long w, long kh, long kw, long sh,
                        long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                        float *out, int threads)
    void gk_depthwise(const float *x, long n, long c, long h, long w, const float *wt, long kh,
                      long kw, long sh, long sw, long dh, long dw, long ph, long pw, long oh,
                      long ow, const float *bias, float lo, float hi, int clip, float *y,
                      int threads)
    void gk_binary(int op, const float *a, const float *b, float *y, long outer, long mid,
                   long inner, int bo, int bm, int bi, int swap, int threads)
    void gk_unary(int op, const float *x, float *y, long n, float lo, float hi, int threads)
    void gk_channel_affine(const float *x, const float *scale, const float *shift, float *y,
                           long outer, long c, long inner, int threads)
    void gk_pool2d(int is_max, const float *x, long nc, long h, long w, long kh, long kw,
                   long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                   const float *cnt_y, const float *cnt_x, float *y, int threads)
    void gk_global_avg(const float *x, long nc, long hw, float *y, int threads)
    void gk_softmax_rows(const float *x, float *y, long rows, long n, int threads)
    void gk_layernorm_rows(const float *x, const float *scale, const float *bias, float *y,
                           float *mean, float *inv_std, long rows, long n, float eps,
                           int threads)

MR = 12
NR = 16
SIMD_LEVELS = ("generic", "avx2+fma", "avx512f")


def cpu_has_avx2_fma():
    """True if this CPU has AVX2 and FMA."""
    return bool(gk_cpu_has_avx2_fma())


def cpu_has_avx512f():
    """True if this CPU has AVX-512F (and AVX2/FMA)."""
    return bool(gk_cpu_has_avx512f())


def set_simd(bint avx2):
    """Use the best kernels this CPU has (True) or the generic ones (False)."""
    gk_set_simd(avx2)


def set_simd_index(int level):
    """Use kernels up to SIMD_LEVELS[level], capped by the CPU; returns the index now active."""
    return gk_set_simd_level(level)


def simd_index():
    """Index into SIMD_LEVELS of the kernels in use."""
    return gk_simd_level()


def simd_avx2():
    return bool(gk_simd_avx2)


def gemm_tune(long kc=0, long mc=0):
    """Sets the GEMM K block and M block (0 keeps one; for tests and tuning); returns the
    previous (kc, mc)."""
    cdef long old[2]
    gk_gemm_tune(kc, mc, old)
    return old[0], old[1]


def packed_a_size(long m, long k):
    return gk_packed_a_size(m, k)


def packed_b_size(long k, long n):
    return gk_packed_b_size(k, n)


cdef inline const float *ptr(const float[::1] v) noexcept nogil:
    return &v[0] if v.shape[0] else NULL


cdef inline const float *optr(const float[::1] v) noexcept nogil:
    return NULL if v is None or v.shape[0] == 0 else &v[0]


def pack_a(const float[:, :] a, float[::1] out, int threads):
    """out = A (M x K, any strides) packed in 12-row panels."""
    cdef long m = a.shape[0], k = a.shape[1]
    if m == 0 or k == 0:
        return
    with nogil:
        gk_pack_a(m, k, &a[0, 0], a.strides[0] // 4, a.strides[1] // 4, &out[0], threads)


def pack_b(const float[:, :] b, float[::1] out, int threads):
    """out = B (K x N, any strides) packed in 16-column panels."""
    cdef long k = b.shape[0], n = b.shape[1]
    if n == 0 or k == 0:
        return
    with nogil:
        gk_pack_b(k, n, &b[0, 0], b.strides[0] // 4, b.strides[1] // 4, &out[0], threads)


def gemm(long m, long n, long k, const float[::1] ap, const float[::1] bp, float[:, ::1] c,
         const float[::1] bias_row, const float[::1] bias_col, float lo, float hi, bint clip,
         int threads):
    """c[:m, :n] = clip(packed A @ packed B + bias_row[:, None] + bias_col[None, :], lo, hi)."""
    cdef gk_epilogue ep
    if m == 0 or n == 0:
        return
    memset(&ep, 0, sizeof(ep))
    ep.bias_row = ptr(bias_row) if bias_row is not None else NULL
    ep.bias_col = ptr(bias_col) if bias_col is not None else NULL
    ep.lo = lo
    ep.hi = hi
    ep.clip = clip
    with nogil:
        gk_gemm_packed(m, n, k, ptr(ap), ptr(bp), &c[0, 0], c.strides[0] // 4, &ep, threads)


cdef class Epilogue:
    """What the GEMM does to each result element (see gk.h: gk_epilogue): biases, residual, clip,
    activation. Arrays are kept referenced while the object lives."""
    cdef gk_epilogue ep
    cdef object keep

    def __init__(self, bias_row=None, bias_col=None, residual=None, bint clip=False,
                 float lo=-INFINITY, float hi=INFINITY, int act=0, float alpha=0.0,
                 float beta=0.0, slope_row=None, slope_col=None):
        cdef const float[::1] v
        memset(&self.ep, 0, sizeof(self.ep))
        self.keep = (bias_row, bias_col, residual, slope_row, slope_col)
        if bias_row is not None:
            v = bias_row
            self.ep.bias_row = optr(v)
        if bias_col is not None:
            v = bias_col
            self.ep.bias_col = optr(v)
        if slope_row is not None:
            v = slope_row
            self.ep.slope_row = optr(v)
        if slope_col is not None:
            v = slope_col
            self.ep.slope_col = optr(v)
        cdef const float[:, ::1] r
        if residual is not None:
            r = residual
            self.ep.residual = &r[0, 0] if r.shape[0] and r.shape[1] else NULL
            self.ep.ld_residual = r.strides[0] // 4
        self.ep.clip = clip
        self.ep.lo = lo
        self.ep.hi = hi
        self.ep.act = act
        self.ep.alpha = alpha
        self.ep.beta = beta


def gemm_ep(long m, long n, long k, const float[::1] ap, const float[::1] bp, float[:, ::1] c,
            Epilogue ep, int threads):
    """c = epilogue(packed A @ packed B) (A packed by pack_a, B by pack_b / pack_b_conv)."""
    if m == 0 or n == 0:
        return
    with nogil:
        gk_gemm_packed(m, n, k, ptr(ap), ptr(bp), &c[0, 0], c.strides[0] // 4, &ep.ep, threads)


def gemm_a(const float[:, :] a, const float[::1] bp, long n, float[:, ::1] c, Epilogue ep,
           int threads):
    """c = epilogue(A @ packed B) with A (M x K, any strides) packed inside the same threads."""
    cdef long m = a.shape[0], k = a.shape[1]
    if m == 0 or n == 0:
        return
    with nogil:
        gk_gemm(m, n, k, &a[0, 0], a.strides[0] // 4, a.strides[1] // 4, ptr(bp), &c[0, 0],
                c.strides[0] // 4, &ep.ep, threads)


def gemm_batched(const float[:, :, :] a, const float[:, ::1] bp, long n, float[:, :, ::1] c,
                 Epilogue ep, long r_bs, int threads):
    """c[i] = epilogue(a[i or 0] @ B[i or 0]): a (Ba, M, K), bp (Bb, packed size), Ba/Bb 1 or
    the batch; the residual (if any) advances by r_bs floats per batch."""
    cdef long batch = c.shape[0], m = c.shape[1], k = a.shape[2]
    if batch == 0 or m == 0 or n == 0:
        return
    cdef long a_bs = a.strides[0] // 4 if a.shape[0] > 1 else 0
    cdef long b_bs = bp.shape[1] if bp.shape[0] > 1 else 0
    with nogil:
        gk_gemm_batched(batch, m, n, k, &a[0, 0, 0], a_bs, a.strides[1] // 4, a.strides[2] // 4,
                        &bp[0, 0], b_bs, &c[0, 0, 0], c.strides[0] // 4, c.strides[1] // 4,
                        &ep.ep, r_bs, threads)


def epilogue_apply(float[:, ::1] y, Epilogue ep, int threads):
    """y = epilogue(y) in place (biases, residual, clip, activation)."""
    if y.shape[0] == 0 or y.shape[1] == 0:
        return
    with nogil:
        gk_epilogue_apply(&y[0, 0], y.shape[0], y.shape[1], y.strides[0] // 4, &ep.ep, threads)


def matmul_batched(const float[:, :, :] a, const float[:, :, :] b, float[:, :, ::1] c,
                   int threads):
    """c[i] = a[i or 0] @ b[i or 0]: a (Ba, M, K), b (Bb, K, N), a batch of 1 broadcasts."""
    cdef long batch = c.shape[0], m = c.shape[1], n = c.shape[2], k = a.shape[2]
    if batch == 0 or m == 0 or n == 0:
        return
    if k == 0:
        c[:, :, :] = 0
        return
    cdef long a_bs = a.strides[0] // 4 if a.shape[0] > 1 else 0
    cdef long b_bs = b.strides[0] // 4 if b.shape[0] > 1 else 0
    with nogil:
        gk_matmul_batched(batch, m, n, k, &a[0, 0, 0], a_bs, a.strides[1] // 4,
                          a.strides[2] // 4, &b[0, 0, 0], b_bs, b.strides[1] // 4,
                          b.strides[2] // 4, &c[0, 0, 0], m * n, threads)


def pack_b_conv(const float[:, :, ::1] x, long kh, long kw, long sh, long sw, long dh, long dw,
                long ph, long pw, long oh, long ow, float[::1] out, int threads):
    """out = packed im2col of one image group x (C, H, W)."""
    with nogil:
        gk_pack_b_conv(&x[0, 0, 0], x.shape[0], x.shape[1], x.shape[2], kh, kw, sh, sw, dh, dw,
                       ph, pw, oh, ow, &out[0], threads)


def depthwise(const float[:, :, :, ::1] x, const float[::1] wt, long kh, long kw, long sh,
              long sw, long dh, long dw, long ph, long pw, const float[::1] bias, float lo,
              float hi, bint clip, float[:, :, :, ::1] y, int threads):
    """y = clip(depthwise conv(x, wt) + bias, lo, hi) (one filter per channel)."""
    with nogil:
        gk_depthwise(&x[0, 0, 0, 0], x.shape[0], x.shape[1], x.shape[2], x.shape[3], &wt[0],
                     kh, kw, sh, sw, dh, dw, ph, pw, y.shape[2], y.shape[3],
                     ptr(bias) if bias is not None else NULL, lo, hi, clip, &y[0, 0, 0, 0],
                     threads)


def binary(int op, const float[::1] a, const float[::1] b, float[::1] y, long outer, long mid,
           long inner, bint bo, bint bm, bint bi, bint swap, int threads):
    """y[o, m, i] = a[o, m, i] (op) b[o if bo, m if bm, i if bi] (b op a if swap)."""
    if y.shape[0] == 0:
        return
    with nogil:
        gk_binary(op, &a[0], &b[0], &y[0], outer, mid, inner, bo, bm, bi, swap, threads)


def unary(int op, const float[::1] x, float[::1] y, float lo, float hi, int threads):
    if y.shape[0] == 0:
        return
    with nogil:
        gk_unary(op, &x[0], &y[0], x.shape[0], lo, hi, threads)


def channel_affine(const float[::1] x, const float[::1] scale, const float[::1] shift,
                   float[::1] y, long outer, long c, long inner, int threads):
    if y.shape[0] == 0:
        return
    with nogil:
        gk_channel_affine(&x[0], &scale[0], &shift[0], &y[0], outer, c, inner, threads)


def pool2d(bint is_max, const float[:, :, ::1] x, long kh, long kw, long sh, long sw, long dh,
           long dw, long ph, long pw, const float[::1] cnt_y, const float[::1] cnt_x,
           float[:, :, ::1] y, int threads):
    """y[p] = max or average pool of plane x[p] (average divides by cnt_y[oy] * cnt_x[ox])."""
    if y.shape[0] == 0 or y.shape[1] == 0 or y.shape[2] == 0:
        return
    with nogil:
        gk_pool2d(is_max, &x[0, 0, 0], x.shape[0], x.shape[1], x.shape[2], kh, kw, sh, sw, dh,
                  dw, ph, pw, y.shape[1], y.shape[2],
                  ptr(cnt_y) if cnt_y is not None else NULL,
                  ptr(cnt_x) if cnt_x is not None else NULL, &y[0, 0, 0], threads)


def global_avg(const float[:, ::1] x, float[::1] y, int threads):
    with nogil:
        gk_global_avg(&x[0, 0], x.shape[0], x.shape[1], &y[0], threads)


def softmax_rows(const float[:, ::1] x, float[:, ::1] y, int threads):
    with nogil:
        gk_softmax_rows(&x[0, 0], &y[0, 0], x.shape[0], x.shape[1], threads)


def layernorm_rows(const float[:, ::1] x, const float[::1] scale, const float[::1] bias,
                   float[:, ::1] y, float[::1] mean, float[::1] inv_std, float eps, int threads):
    with nogil:
        gk_layernorm_rows(&x[0, 0], &scale[0], ptr(bias) if bias is not None else NULL,
                          &y[0, 0], &mean[0], &inv_std[0], x.shape[0], x.shape[1], eps,
                          threads)


# ---- convolution / element-wise extensions (src/gkx.h: winograd.c, elementwise.c) -------------

cdef extern from "src/gkx.h" nogil:
    size_t gk_winograd_work(long mt, long c, long m, long oh, long ow, long chunk, int threads)
    void gk_winograd_conv(long mt, const float *x, long n, long c, long h, long w, long ph,
                          long pw, long oh, long ow, const float *u, long m, const float *bias,
                          float lo, float hi, int clip, float *y, float *work, long chunk,
                          int threads, const float *res)


def winograd_work(long mt, long c, long m, long oh, long ow, long chunk, int threads):
    """Scratch floats winograd_conv needs (with this many threads)."""
    return gk_winograd_work(mt, c, m, oh, ow, chunk, threads)


def winograd_conv(long mt, const float[:, :, :, ::1] x, long ph, long pw, const float[::1] u,
                  long m, const float[::1] bias, float lo, float hi, bint clip,
                  float[:, :, :, ::1] y, float[::1] work, long chunk, int threads,
                  const float[:, :, :, ::1] residual=None):
    """y = clip(conv3x3(x) + bias [+ residual]) by Winograd F(mt x mt, 3x3); u: packed
    transformed weights; residual (y's shape) is added before the clip."""
    cdef const float *res = NULL
    if y.shape[0] == 0 or y.shape[1] == 0 or y.shape[2] == 0 or y.shape[3] == 0:
        return
    if residual is not None:
        if (residual.shape[0] != y.shape[0] or residual.shape[1] != y.shape[1]
                or residual.shape[2] != y.shape[2] or residual.shape[3] != y.shape[3]):
            raise ValueError("residual must have the output's shape")
        res = &residual[0, 0, 0, 0]
    with nogil:
        gk_winograd_conv(mt, &x[0, 0, 0, 0], x.shape[0], x.shape[1], x.shape[2], x.shape[3], ph,
                         pw, y.shape[2], y.shape[3], &u[0], m,
                         ptr(bias) if bias is not None else NULL, lo, hi, clip,
                         &y[0, 0, 0, 0], &work[0], chunk, threads, res)


# ---- kernel families in their own files (each a .pxi over its src/*.c) ------------------------
include "rnn.pxi"
include "layout.pxi"
include "spatial.pxi"
include "upsample.pxi"
