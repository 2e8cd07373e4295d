# Wrappers of src/gemm.h: packing, the packed GEMM with its fused epilogue, batched products.

cdef extern from "src/gemm.h" nogil:
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
    void gk_gemm_tune_thin(long mc, long *old)
    void gk_gemm_tune_narrow(long n, long *old)
    void gk_gemm_tune_grid(long per, long shape, long *old)
    int gk_gemm_grid(long m, long n, long k, int nt, int *pm, int *pn)
    size_t gk_packed_a_size(long m, long k)
    size_t gk_packed_b_size(long k, long n)
    void gk_pack_a(long m, long k, const float *a, long s_m, long s_k, float *out, int threads)
    void gk_pack_b(long k, long n, const float *b, long s_k, long s_n, float *out, int threads)
    void gk_gemm_packed(long m, long n, long k, const float *ap, const float *bp, float *c,
                        long ldc, const gk_epilogue *ep, int threads)
    void gk_matmul_batched(long batch, long m, long n, long k, const float *a, long a_bs,
                           long a_sm, long a_sk, const float *b, long b_bs, long b_sk, long b_sn,
                           float *c, long c_bs, int threads)

MR = 12
NR = 16


def gemm_tune(long kc=0, long mc=0):
    """Sets the GEMM K block and M block (0 keeps one; for tests and tuning); returns the
    previous (kc, mc)."""
    cdef long old[2]
    gk_gemm_tune(kc, mc, old)
    return old[0], old[1]


def gemm_tune_thin(long mc=0):
    """Sets the M block of thin products (K <= 64, N >= 1024; 0 keeps it); returns the previous
    one (tests and tuning)."""
    cdef long old
    gk_gemm_tune_thin(mc, &old)
    return old


def gemm_tune_narrow(long n=-1):
    """Sets the widest block (columns) that the AVX-512 GEMM runs A panel outer (0: none; -1
    keeps it); returns the previous one (tests and tuning)."""
    cdef long old
    gk_gemm_tune_narrow(n, &old)
    return old


def gemm_tune_grid(long per=-1, long shape=-1):
    """Sets the packed drivers' blocks per thread (0 the rule) and grid shape (0 the model, 1 rows
    only, 2 columns only; -1 keeps one); returns the previous (per, shape) (tests and tuning)."""
    cdef long old[2]
    gk_gemm_tune_grid(per, shape, old)
    return old[0], old[1]


# (declared here rather than in gemm.h: every SIMD level includes gemm.h through dispatch.h, and a
# change there rebuilds them all; gemm.c defines it)
cdef extern from * nogil:
    void gk_gemm_tune_rows(long by_panels, long *old)


def gemm_tune_rows(long by_panels=-1):
    """Sets where gk_gemm's own-row split (a large A at 2+ threads) cuts the rows: 0 evenly (to 4
    rows, each thread's panels from its first row), 1 at whole 12-row panels (the older split;
    -1 only asks). Returns the previous setting. The same bits at either."""
    cdef long old
    gk_gemm_tune_rows(by_panels, &old)
    return old


cdef extern from * nogil:
    void gk_gemm_tune_pfb(long mode, long *old)


def gemm_tune_pfb(long mode=-1):
    """Sets the AVX-512 GEMM's prefetch of the next B micro-panel (gemm.h gk_gemm_pfb_mode): 0
    one line a k-step from each tile's start, 1 spread over the tile and across K blocks where
    the call packed A (MatMul), 2 spread everywhere; -1 only asks. Returns the previous setting.
    The same bits at any."""
    cdef long old
    gk_gemm_tune_pfb(mode, &old)
    return old


def gemm_grid(long m, long n, long k, int nt):
    """The split of an m x n x k product's C between nt threads in the packed drivers' pool call:
    (blocks, pm, pn), blocks = pm x pn claimed in order (for tests and benchmarks)."""
    cdef int pm = 1, pn = 1, blocks
    if m <= 0 or n <= 0 or nt <= 0:
        raise ValueError("gemm_grid: m, n and nt must be positive")
    blocks = gk_gemm_grid(m, n, k, nt, &pm, &pn)
    return blocks, pm, pn


def packed_a_size(long m, long k):
    return gk_packed_a_size(m, k)


def packed_b_size(long k, long n):
    return gk_packed_b_size(k, n)


def pack_a(const float[:, :] a, float[::1] out, int threads):
    """out = A (M x K, any strides) packed in 12-row panels."""
    cdef long m = a.shape[0], k = a.shape[1]
    if m == 0 or k == 0:
        return
    _vec("pack_a", "out", out, gk_packed_a_size(m, k), False)
    with nogil:
        gk_pack_a(m, k, &a[0, 0], a.strides[0] // 4, a.strides[1] // 4, &out[0], threads)
    cdef Call c
    if _tracing():
        c = _record(_run_pack_a, "pack_a", (a, out))
        c.c.p[0], c.c.p[1] = <void *>&a[0, 0], <void *>&out[0]
        c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3] = m, k, a.strides[0] // 4, a.strides[1] // 4
        c.c.i[4] = threads


def pack_b(const float[:, :] b, float[::1] out, int threads):
    """out = B (K x N, any strides) packed in 16-column panels."""
    cdef long k = b.shape[0], n = b.shape[1]
    if n == 0 or k == 0:
        return
    _vec("pack_b", "out", out, gk_packed_b_size(k, n), False)
    with nogil:
        gk_pack_b(k, n, &b[0, 0], b.strides[0] // 4, b.strides[1] // 4, &out[0], threads)
    cdef Call c
    if _tracing():
        c = _record(_run_pack_b, "pack_b", (b, out))
        c.c.p[0], c.c.p[1] = <void *>&b[0, 0], <void *>&out[0]
        c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3] = k, n, b.strides[0] // 4, b.strides[1] // 4
        c.c.i[4] = threads


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
    cdef Call call
    if _tracing():
        call = _record(_run_gemm, "gemm", (ap, bp, c, bias_row, bias_col))
        call.c.p[0], call.c.p[1], call.c.p[2] = <void *>ptr(ap), <void *>ptr(bp), <void *>&c[0, 0]
        call.c.p[3], call.c.p[4] = <void *>ep.bias_row, <void *>ep.bias_col
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3] = m, n, k, c.strides[0] // 4
        call.c.i[4], call.c.i[5] = clip, threads
        call.c.f[0], call.c.f[1] = lo, hi


cdef int _run_gemm(const gk_call *c) noexcept nogil:
    cdef gk_epilogue e
    memset(&e, 0, sizeof(e))
    e.bias_row, e.bias_col = <const float *>c.p[3], <const float *>c.p[4]
    e.lo, e.hi, e.clip = c.f[0], c.f[1], <int>c.i[4]
    gk_gemm_packed(c.i[0], c.i[1], c.i[2], <const float *>c.p[0], <const float *>c.p[1],
                   <float *>c.p[2], c.i[3], &e, <int>c.i[5])
    return 0


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
    """What the GEMM does to each result element (see src/gemm.h: gk_epilogue): biases, residual, clip,
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
    cdef Call call
    if _tracing():
        call = _record(_run_gemm_ep, "gemm_ep", (ap, bp, c, ep))
        call.c.p[0], call.c.p[1], call.c.p[2] = <void *>ptr(ap), <void *>ptr(bp), <void *>&c[0, 0]
        _ep_slots(call, ep)
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3] = m, n, k, c.strides[0] // 4
        call.c.i[4] = threads


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
    cdef Call call
    if _tracing():
        call = _record(_run_gemm_a, "gemm_a", (a, bp, c, ep))
        call.c.p[0], call.c.p[1], call.c.p[2] = <void *>&a[0, 0], <void *>ptr(bp), <void *>&c[0, 0]
        _ep_slots(call, ep)
        call.c.i[0], call.c.i[1], call.c.i[2] = m, n, k
        call.c.i[3], call.c.i[4] = a.strides[0] // 4, a.strides[1] // 4
        call.c.i[5], call.c.i[6] = c.strides[0] // 4, threads


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
    cdef Call call
    if _tracing():
        call = _record(_run_gemm_batched, "gemm_batched", (a, bp, c, ep))
        call.c.p[0], call.c.p[1] = <void *>&a[0, 0, 0], <void *>&bp[0, 0]
        call.c.p[2] = <void *>&c[0, 0, 0]
        _ep_slots(call, ep)
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3] = batch, m, n, k
        call.c.i[4], call.c.i[5], call.c.i[6] = a_bs, a.strides[1] // 4, a.strides[2] // 4
        call.c.i[7], call.c.i[8], call.c.i[9] = b_bs, c.strides[0] // 4, c.strides[1] // 4
        call.c.i[10], call.c.i[11] = r_bs, threads


def epilogue_apply(float[:, ::1] y, Epilogue ep, int threads):
    """y = epilogue(y) in place (biases, residual, clip, activation)."""
    if y.shape[0] == 0 or y.shape[1] == 0:
        return
    _need(ep is not None, "epilogue_apply: ep is None")
    ep.check("epilogue_apply", y.shape[0], y.shape[1], 1, 0)
    with nogil:
        gk_epilogue_apply(&y[0, 0], y.shape[0], y.shape[1], y.strides[0] // 4, &ep.ep, threads)
    cdef Call call
    if _tracing():
        call = _record(_run_epilogue_apply, "epilogue_apply", (y, ep))
        call.c.p[2] = <void *>&y[0, 0]
        _ep_slots(call, ep)
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3] = (y.shape[0], y.shape[1],
                                                              y.strides[0] // 4, threads)


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
        if _tracing():
            _trace.append(None)  # not recordable: the segment builder refuses this node
        return
    cdef long a_bs = a.strides[0] // 4 if a.shape[0] > 1 else 0
    cdef long b_bs = b.strides[0] // 4 if b.shape[0] > 1 else 0
    with nogil:
        gk_matmul_batched(batch, m, n, k, &a[0, 0, 0], a_bs, a.strides[1] // 4,
                          a.strides[2] // 4, &b[0, 0, 0], b_bs, b.strides[1] // 4,
                          b.strides[2] // 4, &c[0, 0, 0], m * n, threads)
    cdef Call call
    if _tracing():
        call = _record(_run_matmul_batched, "matmul_batched", (a, b, c))
        call.c.p[0], call.c.p[1], call.c.p[2] = <void *>&a[0, 0, 0], <void *>&b[0, 0, 0], <void *>&c[0, 0, 0]
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3] = batch, m, n, k
        call.c.i[4], call.c.i[5], call.c.i[6] = a_bs, a.strides[1] // 4, a.strides[2] // 4
        call.c.i[7], call.c.i[8], call.c.i[9] = b_bs, b.strides[1] // 4, b.strides[2] // 4
        call.c.i[10], call.c.i[11] = m * n, threads


cdef void _ep_slots(Call call, Epilogue ep):
    """The epilogue's array pointers as the call's slots 3..7 (so they are checked and moved like
    any argument) and the epilogue object kept for the rest."""
    call.c.ep = <const void *>&ep.ep
    call.c.p[3], call.c.p[4] = <void *>ep.ep.bias_row, <void *>ep.ep.bias_col
    call.c.p[5], call.c.p[6] = <void *>ep.ep.slope_row, <void *>ep.ep.slope_col
    call.c.p[7] = <void *>ep.ep.residual


cdef inline gk_epilogue _ep_of(const gk_call *c) noexcept nogil:
    cdef gk_epilogue e = (<const gk_epilogue *>c.ep)[0]
    e.bias_row, e.bias_col = <const float *>c.p[3], <const float *>c.p[4]
    e.slope_row, e.slope_col = <const float *>c.p[5], <const float *>c.p[6]
    e.residual = <const float *>c.p[7]
    return e


cdef int _run_gemm_ep(const gk_call *c) noexcept nogil:
    cdef gk_epilogue e = _ep_of(c)
    gk_gemm_packed(c.i[0], c.i[1], c.i[2], <const float *>c.p[0], <const float *>c.p[1],
                   <float *>c.p[2], c.i[3], &e, <int>c.i[4])
    return 0


cdef int _run_gemm_a(const gk_call *c) noexcept nogil:
    cdef gk_epilogue e = _ep_of(c)
    gk_gemm(c.i[0], c.i[1], c.i[2], <const float *>c.p[0], c.i[3], c.i[4], <const float *>c.p[1],
            <float *>c.p[2], c.i[5], &e, <int>c.i[6])
    return 0


cdef int _run_gemm_batched(const gk_call *c) noexcept nogil:
    cdef gk_epilogue e = _ep_of(c)
    gk_gemm_batched(c.i[0], c.i[1], c.i[2], c.i[3], <const float *>c.p[0], c.i[4], c.i[5],
                    c.i[6], <const float *>c.p[1], c.i[7], <float *>c.p[2], c.i[8], c.i[9], &e,
                    c.i[10], <int>c.i[11])
    return 0


cdef int _run_epilogue_apply(const gk_call *c) noexcept nogil:
    cdef gk_epilogue e = _ep_of(c)
    gk_epilogue_apply(<float *>c.p[2], c.i[0], c.i[1], c.i[2], &e, <int>c.i[3])
    return 0


cdef int _run_pack_a(const gk_call *c) noexcept nogil:
    gk_pack_a(c.i[0], c.i[1], <const float *>c.p[0], c.i[2], c.i[3], <float *>c.p[1], <int>c.i[4])
    return 0


cdef int _run_pack_b(const gk_call *c) noexcept nogil:
    gk_pack_b(c.i[0], c.i[1], <const float *>c.p[0], c.i[2], c.i[3], <float *>c.p[1], <int>c.i[4])
    return 0


cdef int _run_matmul_batched(const gk_call *c) noexcept nogil:
    gk_matmul_batched(c.i[0], c.i[1], c.i[2], c.i[3], <const float *>c.p[0], c.i[4], c.i[5],
                      c.i[6], <const float *>c.p[1], c.i[7], c.i[8], c.i[9], <float *>c.p[2],
                      c.i[10], <int>c.i[11])
    return 0
