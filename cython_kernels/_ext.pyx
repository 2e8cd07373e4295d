# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Thin Cython wrappers over the C kernels in src/ (memoryviews in, GIL released while they run).

Callers (the backend modules) pass C-contiguous float32 arrays of the right sizes. As defence in
depth every wrapper still checks, with a few comparisons before any C code runs, that the arrays
it is given are large enough for the sizes it is told (and that indices / geometry are in range),
and raises ValueError otherwise: no call can make a kernel read or write out of bounds. Every
kernel takes its OpenMP thread count explicitly.
"""

from libc.math cimport INFINITY
from libc.string cimport memset

cdef extern from "src/gk.h" nogil:
    int gk_cpu_has_avx2_fma()
    int gk_cpu_has_avx512f()
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
    int gk_threads_start(int threads)
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


def set_simd_index(int level):
    """Use kernels up to SIMD_LEVELS[level], capped by the CPU; returns the index now active."""
    return gk_set_simd_level(level)


def simd_index():
    """Index into SIMD_LEVELS of the kernels in use."""
    return gk_simd_level()


def gemm_tune(long kc=0, long mc=0):
    """Sets the GEMM K block and M block (0 keeps one; for tests and tuning); returns the
    previous (kc, mc)."""
    cdef long old[2]
    gk_gemm_tune(kc, mc, old)
    return old[0], old[1]


def threads_start(int threads):
    """Starts the OpenMP team with its workers off the calling thread's core (see
    src/threads.c); returns how many workers moved."""
    with nogil:
        moved = gk_threads_start(threads)
    return moved


def packed_a_size(long m, long k):
    return gk_packed_a_size(m, k)


def packed_b_size(long k, long n):
    return gk_packed_b_size(k, n)


cdef inline const float *ptr(const float[::1] v) noexcept nogil:
    return &v[0] if v.shape[0] else NULL


cdef inline const float *optr(const float[::1] v) noexcept nogil:
    return NULL if v is None or v.shape[0] == 0 else &v[0]


cdef inline Py_ssize_t olen(const float[::1] v) noexcept:
    """Length of an optional vector (-1 for None)."""
    return -1 if v is None else v.shape[0]


cdef inline int _need(bint ok, str what) except -1:
    if not ok:
        raise ValueError(what)
    return 0


# Bound on every window size, stride, dilation and pad the C kernels take: products of a few of
# them (offsets, padded extents, polyphase buffer sizes) then stay far inside int64.
cdef long GEOMETRY_MAX = 1 << 20


cdef inline int _geometry(str name, long kh, long kw, long sh, long sw, long dh, long dw) except -1:
    """Kernel sizes, strides and dilations must be in [1, GEOMETRY_MAX]."""
    if kh < 1 or kw < 1 or sh < 1 or sw < 1 or dh < 1 or dw < 1:
        raise ValueError(f"{name}: kernel, stride and dilation must be >= 1 "
                         f"(got {kh}x{kw}, {sh}x{sw}, {dh}x{dw})")
    if (kh > GEOMETRY_MAX or kw > GEOMETRY_MAX or sh > GEOMETRY_MAX or sw > GEOMETRY_MAX
            or dh > GEOMETRY_MAX or dw > GEOMETRY_MAX):
        raise ValueError(f"{name}: kernel, stride and dilation must be <= {GEOMETRY_MAX} "
                         f"(got {kh}x{kw}, {sh}x{sw}, {dh}x{dw})")
    return 0


cdef inline int _pads(str name, long ph, long pw) except -1:
    """Begin pads must be in [0, GEOMETRY_MAX]."""
    if ph < 0 or pw < 0 or ph > GEOMETRY_MAX or pw > GEOMETRY_MAX:
        raise ValueError(f"{name}: pads must be in [0, {GEOMETRY_MAX}] (got {ph}, {pw})")
    return 0


cdef inline int _vec(str name, str arg, const float[::1] v, long n, bint optional) except -1:
    """v (None allowed if optional) holds at least n floats."""
    if v is None:
        if not optional and n > 0:
            raise ValueError(f"{name}: {arg} is required")
        return 0
    if v.shape[0] < n:
        raise ValueError(f"{name}: {arg} has {v.shape[0]} floats, needs {n}")
    return 0


def pack_a(const float[:, :] a, float[::1] out, int threads):
    """out = A (M x K, any strides) packed in 12-row panels."""
    cdef long m = a.shape[0], k = a.shape[1]
    if m == 0 or k == 0:
        return
    _vec("pack_a", "out", out, gk_packed_a_size(m, k), False)
    with nogil:
        gk_pack_a(m, k, &a[0, 0], a.strides[0] // 4, a.strides[1] // 4, &out[0], threads)


def pack_b(const float[:, :] b, float[::1] out, int threads):
    """out = B (K x N, any strides) packed in 16-column panels."""
    cdef long k = b.shape[0], n = b.shape[1]
    if n == 0 or k == 0:
        return
    _vec("pack_b", "out", out, gk_packed_b_size(k, n), False)
    with nogil:
        gk_pack_b(k, n, &b[0, 0], b.strides[0] // 4, b.strides[1] // 4, &out[0], threads)


def gemm(long m, long n, long k, const float[::1] ap, const float[::1] bp, float[:, ::1] c,
         const float[::1] bias_row, const float[::1] bias_col, float lo, float hi, bint clip,
         int threads):
    """c[:m, :n] = clip(packed A @ packed B + bias_row[:, None] + bias_col[None, :], lo, hi)."""
    cdef gk_epilogue ep
    if m == 0 or n == 0:
        return
    _gemm_sizes("gemm", m, n, k, ap, bp, c)
    _vec("gemm", "bias_row", bias_row, m, True)
    _vec("gemm", "bias_col", bias_col, n, True)
    memset(&ep, 0, sizeof(ep))
    ep.bias_row = ptr(bias_row) if bias_row is not None else NULL
    ep.bias_col = ptr(bias_col) if bias_col is not None else NULL
    ep.lo = lo
    ep.hi = hi
    ep.clip = clip
    with nogil:
        gk_gemm_packed(m, n, k, ptr(ap), ptr(bp), &c[0, 0], c.strides[0] // 4, &ep, threads)


cdef int _gemm_sizes(str name, long m, long n, long k, const float[::1] ap, const float[::1] bp,
                     const float[:, ::1] c) except -1:
    """Packed A / B hold (m, k) / (k, n) and c has at least m rows and n columns."""
    if m < 0 or n < 0 or k < 0:
        raise ValueError(f"{name}: negative size ({m}, {n}, {k})")
    _vec(name, "packed A", ap, gk_packed_a_size(m, k), False)
    _vec(name, "packed B", bp, gk_packed_b_size(k, n), False)
    if c is None or c.shape[0] < m or c.shape[1] < n:
        raise ValueError(f"{name}: c is smaller than {m} x {n}")
    return 0


cdef class Epilogue:
    """What the GEMM does to each result element (see gk.h: gk_epilogue): biases, residual, clip,
    activation. Arrays are kept referenced while the object lives."""
    cdef gk_epilogue ep
    cdef object keep
    # lengths of the arrays behind non-NULL pointers (-1: absent), checked against the output
    cdef Py_ssize_t n_bias_row, n_bias_col, n_slope_row, n_slope_col, res_rows, res_cols

    def __init__(self, bias_row=None, bias_col=None, residual=None, bint clip=False,
                 float lo=-INFINITY, float hi=INFINITY, int act=0, float alpha=0.0,
                 float beta=0.0, slope_row=None, slope_col=None):
        cdef const float[::1] v
        memset(&self.ep, 0, sizeof(self.ep))
        self.n_bias_row = self.n_bias_col = self.n_slope_row = self.n_slope_col = -1
        self.res_rows = self.res_cols = -1
        self.keep = (bias_row, bias_col, residual, slope_row, slope_col)
        if bias_row is not None:
            v = bias_row
            self.ep.bias_row = optr(v)
            self.n_bias_row = v.shape[0] if self.ep.bias_row != NULL else -1
        if bias_col is not None:
            v = bias_col
            self.ep.bias_col = optr(v)
            self.n_bias_col = v.shape[0] if self.ep.bias_col != NULL else -1
        if slope_row is not None:
            v = slope_row
            self.ep.slope_row = optr(v)
            self.n_slope_row = v.shape[0] if self.ep.slope_row != NULL else -1
        if slope_col is not None:
            v = slope_col
            self.ep.slope_col = optr(v)
            self.n_slope_col = v.shape[0] if self.ep.slope_col != NULL else -1
        cdef const float[:, ::1] r
        if residual is not None:
            r = residual
            self.ep.residual = &r[0, 0] if r.shape[0] and r.shape[1] else NULL
            self.ep.ld_residual = r.strides[0] // 4
            if self.ep.residual != NULL:
                self.res_rows, self.res_cols = r.shape[0], r.shape[1]
        self.ep.clip = clip
        self.ep.lo = lo
        self.ep.hi = hi
        self.ep.act = act
        self.ep.alpha = alpha
        self.ep.beta = beta

    cdef int check(self, str name, long m, long n, long batch, long r_bs) except -1:
        """The arrays fit an m x n output (batch of them, residual r_bs floats apart)."""
        if self.ep.bias_row != NULL and self.n_bias_row < m:
            raise ValueError(f"{name}: bias_row has {self.n_bias_row} floats, needs {m}")
        if self.ep.bias_col != NULL and self.n_bias_col < n:
            raise ValueError(f"{name}: bias_col has {self.n_bias_col} floats, needs {n}")
        if self.ep.slope_row != NULL and self.n_slope_row < m:
            raise ValueError(f"{name}: slope_row has {self.n_slope_row} floats, needs {m}")
        if self.ep.slope_col != NULL and self.n_slope_col < n:
            raise ValueError(f"{name}: slope_col has {self.n_slope_col} floats, needs {n}")
        if self.ep.residual != NULL and (
                self.res_cols < n or r_bs < 0
                or (batch - 1) * r_bs + (m - 1) * self.ep.ld_residual + n
                > (self.res_rows - 1) * self.ep.ld_residual + self.res_cols):
            raise ValueError(f"{name}: residual ({self.res_rows} x {self.res_cols}) is smaller "
                             f"than the output ({batch} x {m} x {n}, {r_bs} floats apart)")
        return 0


def gemm_ep(long m, long n, long k, const float[::1] ap, const float[::1] bp, float[:, ::1] c,
            Epilogue ep, int threads):
    """c = epilogue(packed A @ packed B) (A packed by pack_a, B by pack_b / pack_b_conv)."""
    if m == 0 or n == 0:
        return
    _need(ep is not None, "gemm_ep: ep is None")
    _gemm_sizes("gemm_ep", m, n, k, ap, bp, c)
    ep.check("gemm_ep", m, n, 1, 0)
    with nogil:
        gk_gemm_packed(m, n, k, ptr(ap), ptr(bp), &c[0, 0], c.strides[0] // 4, &ep.ep, threads)


def gemm_a(const float[:, :] a, const float[::1] bp, long n, float[:, ::1] c, Epilogue ep,
           int threads):
    """c = epilogue(A @ packed B) with A (M x K, any strides) packed inside the same threads."""
    cdef long m = a.shape[0], k = a.shape[1]
    if m == 0 or n == 0:
        return
    _need(ep is not None, "gemm_a: ep is None")
    _need(n > 0, "gemm_a: negative n")
    _vec("gemm_a", "packed B", bp, gk_packed_b_size(k, n), False)
    if c is None or c.shape[0] < m or c.shape[1] < n:
        raise ValueError(f"gemm_a: c is smaller than {m} x {n}")
    ep.check("gemm_a", m, n, 1, 0)
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
    _need(ep is not None, "gemm_batched: ep is None")
    _need(n > 0 and c.shape[2] >= n, "gemm_batched: c has fewer than n columns")
    if (a.shape[0] != 1 and a.shape[0] != batch) or a.shape[1] < m:
        raise ValueError(f"gemm_batched: a {a.shape[0]} x {a.shape[1]} does not fit a batch of "
                         f"{batch} x {m} rows")
    if (bp.shape[0] != 1 and bp.shape[0] != batch) or bp.shape[1] < <long>gk_packed_b_size(k, n):
        raise ValueError(f"gemm_batched: bp {bp.shape[0]} x {bp.shape[1]} does not fit a batch "
                         f"of {batch} packed {k} x {n}")
    ep.check("gemm_batched", m, n, batch, r_bs)
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
    _need(ep is not None, "epilogue_apply: ep is None")
    ep.check("epilogue_apply", y.shape[0], y.shape[1], 1, 0)
    with nogil:
        gk_epilogue_apply(&y[0, 0], y.shape[0], y.shape[1], y.strides[0] // 4, &ep.ep, threads)


def matmul_batched(const float[:, :, :] a, const float[:, :, :] b, float[:, :, ::1] c,
                   int threads):
    """c[i] = a[i or 0] @ b[i or 0]: a (Ba, M, K), b (Bb, K, N), a batch of 1 broadcasts."""
    cdef long batch = c.shape[0], m = c.shape[1], n = c.shape[2], k = a.shape[2]
    if batch == 0 or m == 0 or n == 0:
        return
    if ((a.shape[0] != 1 and a.shape[0] != batch) or (b.shape[0] != 1 and b.shape[0] != batch)
            or a.shape[1] != m or b.shape[1] != k or b.shape[2] != n):
        raise ValueError(f"matmul_batched: a ({a.shape[0]}, {a.shape[1]}, {k}) @ b ({b.shape[0]}, "
                         f"{b.shape[1]}, {b.shape[2]}) does not give c ({batch}, {m}, {n})")
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
    _geometry("pack_b_conv", kh, kw, sh, sw, dh, dw)
    _pads("pack_b_conv", ph, pw)
    if oh < 0 or ow < 0:
        raise ValueError("pack_b_conv: negative output size")
    if x.shape[0] == 0 or oh == 0 or ow == 0:
        return
    _vec("pack_b_conv", "out", out, gk_packed_b_size(x.shape[0] * kh * kw, oh * ow), False)
    with nogil:
        gk_pack_b_conv(&x[0, 0, 0], x.shape[0], x.shape[1], x.shape[2], kh, kw, sh, sw, dh, dw,
                       ph, pw, oh, ow, &out[0], threads)


def depthwise(const float[:, :, :, ::1] x, const float[::1] wt, long kh, long kw, long sh,
              long sw, long dh, long dw, long ph, long pw, const float[::1] bias, float lo,
              float hi, bint clip, float[:, :, :, ::1] y, int threads):
    """y = clip(depthwise conv(x, wt) + bias, lo, hi) (one filter per channel)."""
    _geometry("depthwise", kh, kw, sh, sw, dh, dw)
    _pads("depthwise", ph, pw)
    if y.shape[0] != x.shape[0] or y.shape[1] != x.shape[1]:
        raise ValueError(f"depthwise: y ({y.shape[0]}, {y.shape[1]}, ..) and x ({x.shape[0]}, "
                         f"{x.shape[1]}, ..) differ in batch or channels")
    if y.shape[0] == 0 or y.shape[1] == 0 or y.shape[2] == 0 or y.shape[3] == 0:
        return
    _vec("depthwise", "wt", wt, x.shape[1] * kh * kw, False)
    _vec("depthwise", "bias", bias, x.shape[1], True)
    with nogil:
        gk_depthwise(&x[0, 0, 0, 0], x.shape[0], x.shape[1], x.shape[2], x.shape[3], &wt[0],
                     kh, kw, sh, sw, dh, dw, ph, pw, y.shape[2], y.shape[3],
                     ptr(bias) if bias is not None else NULL, lo, hi, clip, &y[0, 0, 0, 0],
                     threads)


def binary(int op, const float[::1] a, const float[::1] b, float[::1] y, long outer, long mid,
           long inner, bint bo, bint bm, bint bi, bint swap, int threads):
    """y[o, m, i] = a[o, m, i] (op) b[o if bo, m if bm, i if bi] (b op a if swap)."""
    cdef long total = outer * mid * inner
    if outer < 0 or mid < 0 or inner < 0:
        raise ValueError("binary: negative size")
    if a is None or b is None or y is None:
        raise ValueError("binary: an array is None")
    if y.shape[0] < total or a.shape[0] < total:
        raise ValueError(f"binary: a ({a.shape[0]}) or y ({y.shape[0]}) has fewer than "
                         f"{outer} x {mid} x {inner} floats")
    if total == 0:
        return
    if b.shape[0] < (outer if bo else 1) * (mid if bm else 1) * (inner if bi else 1):
        raise ValueError(f"binary: b has {b.shape[0]} floats, too few for its broadcast")
    with nogil:
        gk_binary(op, &a[0], &b[0], &y[0], outer, mid, inner, bo, bm, bi, swap, threads)


def unary(int op, const float[::1] x, float[::1] y, float lo, float hi, int threads):
    if x is None or y is None:
        raise ValueError("unary: an array is None")
    if y.shape[0] < x.shape[0]:
        raise ValueError(f"unary: y has {y.shape[0]} floats, x {x.shape[0]}")
    if x.shape[0] == 0:
        return
    with nogil:
        gk_unary(op, &x[0], &y[0], x.shape[0], lo, hi, threads)


def channel_affine(const float[::1] x, const float[::1] scale, const float[::1] shift,
                   float[::1] y, long outer, long c, long inner, int threads):
    cdef long total = outer * c * inner
    if outer < 0 or c < 0 or inner < 0:
        raise ValueError("channel_affine: negative size")
    if x is None or y is None or x.shape[0] < total or y.shape[0] < total:
        raise ValueError(f"channel_affine: x or y has fewer than {outer} x {c} x {inner} floats")
    if total == 0:
        return
    _vec("channel_affine", "scale", scale, c, False)
    _vec("channel_affine", "shift", shift, c, False)
    with nogil:
        gk_channel_affine(&x[0], &scale[0], &shift[0], &y[0], outer, c, inner, threads)


def pool2d(bint is_max, const float[:, :, ::1] x, long kh, long kw, long sh, long sw, long dh,
           long dw, long ph, long pw, const float[::1] cnt_y, const float[::1] cnt_x,
           float[:, :, ::1] y, int threads):
    """y[p] = max or average pool of plane x[p] (average divides by cnt_y[oy] * cnt_x[ox])."""
    _pool_check("pool2d", is_max, x, kh, kw, sh, sw, dh, dw, cnt_y, cnt_x, y)
    _pads("pool2d", ph, pw)
    if y.shape[0] == 0 or y.shape[1] == 0 or y.shape[2] == 0:
        return
    with nogil:
        gk_pool2d(is_max, &x[0, 0, 0], x.shape[0], x.shape[1], x.shape[2], kh, kw, sh, sw, dh,
                  dw, ph, pw, y.shape[1], y.shape[2],
                  ptr(cnt_y) if cnt_y is not None else NULL,
                  ptr(cnt_x) if cnt_x is not None else NULL, &y[0, 0, 0], threads)


cdef int _pool_check(str name, bint is_max, const float[:, :, ::1] x, long kh, long kw, long sh,
                     long sw, long dh, long dw, const float[::1] cnt_y, const float[::1] cnt_x,
                     const float[:, :, ::1] y) except -1:
    """Planes of x and y agree; an average pool has its divisor tables."""
    _geometry(name, kh, kw, sh, sw, dh, dw)
    if x is None or y is None or y.shape[0] != x.shape[0]:
        raise ValueError(f"{name}: x and y differ in planes")
    if not is_max and y.shape[0] and y.shape[1] and y.shape[2]:
        _vec(name, "cnt_y", cnt_y, y.shape[1], False)
        _vec(name, "cnt_x", cnt_x, y.shape[2], False)
    return 0


def global_avg(const float[:, ::1] x, float[::1] y, int threads):
    if x is None or y is None or y.shape[0] < x.shape[0]:
        raise ValueError("global_avg: y has fewer floats than x has rows")
    if x.shape[0] == 0:
        return
    with nogil:
        gk_global_avg(&x[0, 0], x.shape[0], x.shape[1], &y[0], threads)


def softmax_rows(const float[:, ::1] x, float[:, ::1] y, int threads):
    if x is None or y is None or y.shape[0] != x.shape[0] or y.shape[1] != x.shape[1]:
        raise ValueError("softmax_rows: x and y differ in shape")
    if x.shape[0] == 0 or x.shape[1] == 0:
        return
    with nogil:
        gk_softmax_rows(&x[0, 0], &y[0, 0], x.shape[0], x.shape[1], threads)


def layernorm_rows(const float[:, ::1] x, const float[::1] scale, const float[::1] bias,
                   float[:, ::1] y, float[::1] mean, float[::1] inv_std, float eps, int threads):
    if x is None or y is None or y.shape[0] != x.shape[0] or y.shape[1] != x.shape[1]:
        raise ValueError("layernorm_rows: x and y differ in shape")
    if x.shape[0] == 0 or x.shape[1] == 0:
        return
    _vec("layernorm_rows", "scale", scale, x.shape[1], False)
    _vec("layernorm_rows", "bias", bias, x.shape[1], True)
    _vec("layernorm_rows", "mean", mean, x.shape[0], False)
    _vec("layernorm_rows", "inv_std", inv_std, x.shape[0], False)
    with nogil:
        gk_layernorm_rows(&x[0, 0], &scale[0], ptr(bias) if bias is not None else NULL,
                          &y[0, 0], &mean[0], &inv_std[0], x.shape[0], x.shape[1], eps,
                          threads)


# ---- convolution / element-wise extensions (src/gkx.h: winograd.c, elementwise.c) -------------

cdef extern from "src/gkx.h" nogil:
    size_t gk_winograd_work(long mt, long c, long m, long oh, long ow, long chunk, int threads)
    void gk_winograd_weights(const float *w, long m, long c, long a, const double *g, float *u,
                             int threads)
    void gk_winograd_conv(long mt, const float *x, long n, long c, long h, long w, long ph,
                          long pw, long oh, long ow, const float *u, long m, const float *bias,
                          float lo, float hi, int clip, float *y, float *work, long chunk,
                          int threads, const float *res)


def winograd_weights(const float[:, :, :, ::1] w, const double[:, ::1] g, float[:, :, ::1] u,
                     int threads):
    """u[a*a, m, c] = G w G^T per (m, c) for 3x3 weights w (m, c, 3, 3); g is a x 3 (a = 4, 6)."""
    cdef long m = w.shape[0], c = w.shape[1], a = g.shape[0]
    if w.shape[2] != 3 or w.shape[3] != 3 or g.shape[1] != 3 or a not in (4, 6):
        raise ValueError("winograd_weights: w must be (m, c, 3, 3) and g (4 or 6, 3)")
    if u.shape[0] != a * a or u.shape[1] != m or u.shape[2] != c:
        raise ValueError("winograd_weights: u must be (a*a, m, c)")
    if m == 0 or c == 0:
        return
    with nogil:
        gk_winograd_weights(&w[0, 0, 0, 0], m, c, a, &g[0, 0], &u[0, 0, 0], threads)


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
    if mt != 2 and mt != 4:
        raise ValueError(f"winograd_conv: tile size {mt} is not 2 or 4")
    _pads("winograd_conv", ph, pw)
    if x is None or y is None or y.shape[0] != x.shape[0] or y.shape[1] != m:
        raise ValueError("winograd_conv: y's batch or channels do not match x and m")
    if y.shape[0] == 0 or y.shape[1] == 0 or y.shape[2] == 0 or y.shape[3] == 0:
        return
    if chunk < 1:
        raise ValueError("winograd_conv: chunk must be >= 1")
    _vec("winograd_conv", "u", u, (mt + 2) * (mt + 2) * <long>gk_packed_a_size(m, x.shape[1]),
         False)
    _vec("winograd_conv", "bias", bias, m, True)
    _vec("winograd_conv", "work", work, gk_winograd_work(mt, x.shape[1], m, y.shape[2],
                                                          y.shape[3], chunk, threads), False)
    if residual is not None:
        if (residual.shape[0] != y.shape[0] or residual.shape[1] != y.shape[1]
                or residual.shape[2] != y.shape[2] or residual.shape[3] != y.shape[3]):
            raise ValueError("winograd_conv: residual must have the output's shape")
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
