# Wrapper of src/conv1x1.h: the direct 1x1 conv (gk_conv_gemm's 1x1 unpadded stride-1 path calls
# it from C; these are its switch and rule, for tests and measurements), and the small planes'
# 1x1 conv with the output channels in the lanes (conv_kernels.py calls it, with its own packed
# weights).

cdef extern from "src/conv1x1.h" nogil:
    int gk_conv1x1_on
    int gk_conv1x1_takes(long m, long n, long k)
    int gk_conv1x1_cvec_on
    long gk_conv1x1_cvec_max_n
    int gk_conv1x1_cvec_takes(long m, long n, long k)
    size_t gk_conv1x1_cvec_size(long m, long k)
    void gk_conv1x1_cvec_pack(const float *w, long m, long k, float *out)
    int gk_conv1x1_cvec(long m, long n, long k, const float *wp, const float *x, float *c,
                        const float *bias, const float *residual, float lo, float hi, int clip,
                        int threads)
    void gk_conv1x1_cvec_tune(long ks, long flags, long *old)


def conv1x1_on(int on=-1):
    """Which 1x1 unpadded stride-1 convs conv_gemm runs on the direct 1x1 kernel (src/conv1x1.h:
    the input planes read in place through an L1 stage): 0 none (the unpacked-B / packed paths as
    before), 1 those its rule picks, 2 every one where the SIMD level has the kernel; -1 only
    asks. Returns the previous setting."""
    global gk_conv1x1_on
    cdef int old = gk_conv1x1_on
    if on >= 0:
        gk_conv1x1_on = on
    return old


def conv1x1_takes(long m, long n, long k):
    """Whether conv_gemm would run an m-output-channel 1x1 conv of k input channels over n
    pixels on the direct 1x1 kernel (the switch and rule in force, the SIMD level's kernel)."""
    return bool(gk_conv1x1_takes(m, n, k))


def conv1x1_cvec_on(int on=-1):
    """Which 1x1 unpadded stride-1 convs conv_kernels.py runs on conv1x1_cvec (the output
    channels in the lanes, src/conv1x1.h): 0 none, 1 those its rule picks, 2 every one where the
    SIMD level has the kernel; -1 only asks. Returns the previous setting. (A session records
    the path its convs took: set it before loading one.)"""
    global gk_conv1x1_cvec_on
    cdef int old = gk_conv1x1_cvec_on
    if on >= 0:
        gk_conv1x1_cvec_on = on
    return old


def conv1x1_cvec_max_pixels(long n=-1):
    """The largest plane (pixels) conv1x1_cvec's rule takes (n >= 0 sets it; a session records
    the path its convs took: set it before loading one). Returns the previous value."""
    global gk_conv1x1_cvec_max_n
    cdef long old = gk_conv1x1_cvec_max_n
    if n >= 0:
        gk_conv1x1_cvec_max_n = n
    return old


def conv1x1_cvec_takes(long m, long n, long k):
    """Whether an m-output-channel 1x1 conv of k input channels over n pixels should run on
    conv1x1_cvec (the switch and rule in force, the SIMD level's kernel)."""
    return bool(gk_conv1x1_cvec_takes(m, n, k))


def conv1x1_cvec_tune(long ks=0, long flags=-1):
    """conv1x1_cvec's K slice (rows a tile runs before the next; ks > 0 sets it) and flags
    (src/conv1x1.h GK_CVEC_*: what it fetches ahead, the thread split; flags >= 0 sets them);
    the bits do not depend on either. Returns the previous (ks, flags)."""
    cdef long old[2]
    gk_conv1x1_cvec_tune(ks, flags, old)
    return old[0], old[1]


def conv1x1_cvec_size(long m, long k):
    """Floats of conv1x1_cvec_pack's panels for an m x k weight."""
    if m < 0 or k < 0:
        raise ValueError("conv1x1_cvec_size: negative size")
    return gk_conv1x1_cvec_size(m, k)


def conv1x1_cvec_pack(const float[:, ::1] w, float[::1] out):
    """The weight W (M x K) as conv1x1_cvec's panels of 64 output channels (src/conv1x1.h)."""
    _vec("conv1x1_cvec_pack", "out", out, gk_conv1x1_cvec_size(w.shape[0], w.shape[1]), False)
    if w.shape[0] == 0 or w.shape[1] == 0:
        return
    with nogil:
        gk_conv1x1_cvec_pack(&w[0, 0], w.shape[0], w.shape[1], &out[0])


def conv1x1_cvec(const float[::1] wp, const float[:, ::1] x, float[:, ::1] y,
                 const float[::1] bias, const float[:, ::1] residual, float lo, float hi,
                 bint clip, int threads):
    """y (M x N) = clip(W @ x + bias[:, None] + residual, lo, hi) for x (K x N: one image's
    input planes), W packed by conv1x1_cvec_pack; the bits of conv_gemm's packed path. False (y
    untouched) where the SIMD level has no such kernel."""
    cdef long m = y.shape[0], n = y.shape[1], k = x.shape[0]
    cdef int done
    if x.shape[1] != n:
        raise ValueError(f"conv1x1_cvec: x has {x.shape[1]} pixels for y's {n}")
    if m == 0 or n == 0:
        return True
    _vec("conv1x1_cvec", "packed W", wp, gk_conv1x1_cvec_size(m, k), False)
    _vec("conv1x1_cvec", "bias", bias, m, True)
    if residual is not None and (residual.shape[0] != m or residual.shape[1] != n):
        raise ValueError("conv1x1_cvec: the residual is not shaped as y")
    cdef const float *pres = &residual[0, 0] if residual is not None else NULL
    cdef const float *pbias = ptr(bias) if bias is not None else NULL
    cdef const float *px = &x[0, 0] if k > 0 else NULL
    with nogil:
        done = gk_conv1x1_cvec(m, n, k, ptr(wp), px, &y[0, 0], pbias, pres, lo, hi, clip,
                               threads)
    cdef Call call
    if done and _tracing():
        call = _record(_run_conv1x1_cvec, "conv1x1_cvec", (wp, x, y, bias, residual))
        call.c.p[0], call.c.p[1], call.c.p[2] = <void *>ptr(wp), <void *>px, <void *>&y[0, 0]
        call.c.p[3], call.c.p[4] = <void *>pbias, <void *>pres
        call.c.i[0], call.c.i[1], call.c.i[2], call.c.i[3], call.c.i[4] = m, n, k, clip, threads
        call.c.f[0], call.c.f[1] = lo, hi
    return bool(done)


cdef int _run_conv1x1_cvec(const gk_call *c) noexcept nogil:
    return not gk_conv1x1_cvec(c.i[0], c.i[1], c.i[2], <const float *>c.p[0],
                               <const float *>c.p[1], <float *>c.p[2], <const float *>c.p[3],
                               <const float *>c.p[4], c.f[0], c.f[1], <int>c.i[3], <int>c.i[4])
