# Wrappers of src/nchwc.h: the NCHW8c blocked layout (reorders, conv, depthwise conv, global
# average pool). Tensors are passed flat (a C-contiguous array's reshape(-1)) with their sizes.

cdef extern from "src/nchwc.h" nogil:
    ctypedef struct gk_nchwc_post:
        int act
        float alpha, beta
        const float *scale
        const float *shift
    void gk_nchwc_reorder_in(const float *x, long n, long c, long hw, float *y, int threads)
    void gk_nchwc_reorder_out(const float *x, long n, long c, long hw, float *y, int threads)
    void gk_nchwc_conv(const float *x, long n, long c, long h, long w, int x_blocked,
                       const float *wp, long m, long kh, long kw, long sh, long sw, long dh,
                       long dw, long ph, long pw, long oh, long ow, const float *bias,
                       const float *z, float lo, float hi, const gk_nchwc_post *post,
                       float *y, int threads)
    void gk_nchwc_depthwise(const float *x, long n, long c, long h, long w, const float *wp,
                            long kh, long kw, long sh, long sw, long dh, long dw, long ph,
                            long pw, long oh, long ow, const float *bias, const float *z,
                            float lo, float hi, const gk_nchwc_post *post, float *y,
                            int threads)
    void gk_nchwc_global_average(const float *x, long n, long c, long hw, float *y, int threads)
    void gk_nchwc_max_pool(const float *x, long n, long c, long h, long w, long kh, long kw,
                           long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                           float *y, int threads)
    ctypedef struct gk_nchwc_pool_window:
        long kh, kw, sh, sw, dh, dw, ph, pw, oh, ow
    int gk_nchwc_conv_max_pool(const float *x, long n, long c, long h, long w, int x_blocked,
                               const float *wp, long m, long kh, long kw, long sh, long sw,
                               long dh, long dw, long ph, long pw, long oh, long ow,
                               const float *bias, float lo, float hi, const gk_nchwc_post *post,
                               const gk_nchwc_pool_window *pool, float *y, int threads)
    long gk_nchwc_pool_band_bytes
    long gk_nchwc_ktaps
    long gk_nchwc_pw_even
    long gk_nchwc_pw_xpf
    long gk_nchwc_dw_parts_h
    long gk_nchwc_order
    long gk_nchwc_pixel_major_bytes
    long gk_nchwc_split_mode
    long gk_nchwc_split_pieces

cdef extern from "src/nchwc_split.h" nogil:
    long gk_nchwc_parts_h
    long gk_nchwc_channel_parts

cdef extern from "src/nchwc_dwpw.h" nogil:
    int gk_nchwc_depthwise_pointwise(const float *x, long n, long c, long h, long w,
                                     const float *dwp, long kh, long kw, long sh, long sw,
                                     long dh, long dw, long ph, long pw, long oh, long ow,
                                     const float *dbias, float dlo, float dhi,
                                     const gk_nchwc_post *dpost, const float *pwp, long m,
                                     const float *pbias, const float *z, float plo, float phi,
                                     const gk_nchwc_post *ppost, float *t, float *y,
                                     int threads)
    int gk_nchwc_dwpw_fuses(long oh, int threads)
    long gk_nchwc_dwpw_min_rows
    long gk_nchwc_dwpw_min_rows_1t
    long gk_nchwc_dwpw_band_bytes
    long gk_nchwc_dwpw_pieces


cdef inline int _blocks(str name, str what, long c) except -1:
    if c <= 0 or c % 8:
        raise ValueError(f"{name}: {what} {c} is not a positive multiple of 8")
    return 0


def nchwc_ktaps(long ktaps=-1):
    """Input channel x tap pairs the blocked conv sums per pass over a chunk of pixels (0: all
    in one pass); -1 only asks. Returns the previous setting."""
    global gk_nchwc_ktaps
    cdef long old = gk_nchwc_ktaps
    if ktaps >= 0:
        gk_nchwc_ktaps = ktaps
    return old


def nchwc_pw_even(long on=-1):
    """1 (default): a pointwise row's last 6 to 17 pixels run as one or two tiles of 6 to 12 at
    level 2; 0: 12-pixel tiles, then 8, 4, 3, 2, 1 (src/nchwc.h; the same bits either way);
    -1 only asks. Returns the previous setting."""
    global gk_nchwc_pw_even
    cdef long old = gk_nchwc_pw_even
    if on >= 0:
        gk_nchwc_pw_even = 1 if on else 0
    return old


def nchwc_pw_xpf(long blocks=-1):
    """Input blocks ahead whose pixels a level-2 pointwise tile prefetches, in passes of 8 blocks
    or more (0: none; src/nchwc.h); -1 only asks. Returns the previous setting."""
    global gk_nchwc_pw_xpf
    cdef long old = gk_nchwc_pw_xpf
    if blocks >= 0:
        gk_nchwc_pw_xpf = blocks
    return old


def nchwc_dw_parts_h(long rows=-1):
    """In split mode 0, a depthwise conv whose input has at least `rows` rows runs in static row
    parts (src/nchwc.h; 0: never); -1 only asks. Returns the previous setting."""
    global gk_nchwc_dw_parts_h
    cdef long old = gk_nchwc_dw_parts_h
    if rows >= 0:
        gk_nchwc_dw_parts_h = rows
    return old


def nchwc_order(long order=-1, long pixel_major_bytes=-1):
    """The blocked conv's work item order: 0 weights-major, 1 pixel-major, 2 pixel-major when the
    weights take at most pixel_major_bytes, 3 (default) also when the input takes more than the
    weights and than pixel_major_bytes; -1 only asks. Returns the previous (order, bytes)."""
    global gk_nchwc_order, gk_nchwc_pixel_major_bytes
    old = (gk_nchwc_order, gk_nchwc_pixel_major_bytes)
    if order >= 0:
        if order > 3:
            raise ValueError(f"nchwc_order: order {order} is not 0, 1, 2 or 3")
        gk_nchwc_order = order
    if pixel_major_bytes >= 0:
        gk_nchwc_pixel_major_bytes = pixel_major_bytes
    return old


def nchwc_split_mode(long mode=-1, long pieces=-1):
    """How the blocked conv and depthwise conv share a call among its threads (src/nchwc.h):
    0 (default) the pool's dynamic chunks (but row parts for outputs of nchwc_parts_h rows), 1 one static part of the output pixels per thread (part p's
    `pieces` pieces on seat p first), 2 the conv's parts only, 3 the depthwise conv's
    only; -1 only asks. Returns the previous (mode, pieces)."""
    global gk_nchwc_split_mode, gk_nchwc_split_pieces
    old = (gk_nchwc_split_mode, gk_nchwc_split_pieces)
    if mode >= 0:
        if mode > 3:
            raise ValueError(f"nchwc_split_mode: mode {mode} is not 0, 1, 2 or 3")
        gk_nchwc_split_mode = mode
    if pieces >= 0:
        if not 1 <= pieces <= 16:
            raise ValueError(f"nchwc_split_mode: {pieces} pieces per part is not 1 to 16")
        gk_nchwc_split_pieces = pieces
    return old


def nchwc_pool_band_bytes(long nbytes=-1):
    """Bytes of a thread's band of conv rows that nchwc_conv_max_pool aims for (at least one pool
    row's); -1 only asks. Returns the previous setting."""
    global gk_nchwc_pool_band_bytes
    cdef long old = gk_nchwc_pool_band_bytes
    if nbytes >= 0:
        gk_nchwc_pool_band_bytes = nbytes
    return old


def nchwc_parts_h(long rows=-1):
    """In split mode 0, a blocked conv or depthwise conv of one image whose output has at least
    `rows` rows runs in static row parts (src/nchwc_split.h; 0: never); -1 only asks. Returns
    the previous setting."""
    global gk_nchwc_parts_h
    cdef long old = gk_nchwc_parts_h
    if rows >= 0:
        gk_nchwc_parts_h = rows
    return old


def nchwc_channel_parts(long on=-1):
    """1: a blocked conv split by output channel groups and a depthwise conv not in row parts
    (one image, two threads or more) run in static channel parts, the same fraction of the
    channels on the same seat in both (src/nchwc_split.h); 0: the pool's dynamic chunks; -1 only
    asks. Returns the previous setting."""
    global gk_nchwc_channel_parts
    cdef long old = gk_nchwc_channel_parts
    if on >= 0:
        gk_nchwc_channel_parts = 1 if on else 0
    return old


def nchwc_dwpw(long min_rows=-1, long min_rows_1t=-1, long band_bytes=-1, long pieces=-1):
    """Where nchwc_depthwise_pointwise fuses (a depthwise output of at least min_rows rows, at
    one thread min_rows_1t; elsewhere, given a buffer t, the two calls through it), the bytes of
    a part's band of depthwise rows and its parts per thread (src/nchwc_dwpw.h); -1 only asks.
    Returns the previous (min_rows, min_rows_1t, band_bytes, pieces)."""
    global gk_nchwc_dwpw_min_rows, gk_nchwc_dwpw_min_rows_1t, gk_nchwc_dwpw_band_bytes
    global gk_nchwc_dwpw_pieces
    old = (gk_nchwc_dwpw_min_rows, gk_nchwc_dwpw_min_rows_1t, gk_nchwc_dwpw_band_bytes,
           gk_nchwc_dwpw_pieces)
    if min_rows >= 0:
        gk_nchwc_dwpw_min_rows = min_rows
    if min_rows_1t >= 0:
        gk_nchwc_dwpw_min_rows_1t = min_rows_1t
    if band_bytes >= 0:
        gk_nchwc_dwpw_band_bytes = band_bytes
    if pieces >= 0:
        if not 1 <= pieces <= 16:
            raise ValueError(f"nchwc_dwpw: {pieces} parts per thread is not 1 to 16")
        gk_nchwc_dwpw_pieces = pieces
    return old


def nchwc_dwpw_fuses(long oh, int threads):
    """Whether nchwc_depthwise_pointwise fuses a depthwise conv of oh output rows at this many
    threads (else it needs its buffer t for the two calls)."""
    return bool(gk_nchwc_dwpw_fuses(oh, threads))


def nchwc_reorder(const float[::1] x, long n, long c, long hw, float[::1] y, bint out,
                  int threads):
    """y = x (n, c, hw) blocked to (n, c/8, hw, 8), or back when `out`."""
    _blocks("nchwc_reorder", "channel count", c)
    if n < 0 or hw < 0:
        raise ValueError("nchwc_reorder: negative size")
    _vec("nchwc_reorder", "x", x, n * c * hw, False)
    _vec("nchwc_reorder", "y", y, n * c * hw, False)
    if n * hw == 0:
        return
    with nogil:
        if out:
            gk_nchwc_reorder_out(&x[0], n, c, hw, &y[0], threads)
        else:
            gk_nchwc_reorder_in(&x[0], n, c, hw, &y[0], threads)
    cdef Call rec
    if _tracing():
        rec = _record(_run_nchwc_reorder, "nchwc_reorder", (x, y))
        rec.c.p[0], rec.c.p[1] = <void *>&x[0], <void *>&y[0]
        rec.c.i[0], rec.c.i[1], rec.c.i[2], rec.c.i[3], rec.c.i[4] = n, c, hw, out, threads


cdef inline gk_nchwc_post _post(int act, float alpha, float beta, const float[::1] scale,
                                const float[::1] shift, str name, long m) except *:
    if act < 0 or act > 5:
        raise ValueError(f"{name}: activation code {act} is not 0..5")
    _vec(name, "scale", scale, m, True)
    _vec(name, "shift", shift, m, True)
    cdef gk_nchwc_post p
    p.act, p.alpha, p.beta, p.scale, p.shift = act, alpha, beta, optr(scale), optr(shift)
    return p


def nchwc_conv(const float[::1] x, long n, long c, long h, long w, bint x_blocked,
               const float[::1] wp, long m, long kh, long kw, long sh, long sw, long dh, long dw,
               long ph, long pw, long oh, long ow, const float[::1] bias, const float[::1] z,
               float lo, float hi, float[::1] y, int threads, int act=0, float alpha=0,
               float beta=0, const float[::1] scale=None, const float[::1] shift=None):
    """y (n, m/8, oh, ow, 8) = post(clip(conv(x, w) + bias + z, lo, hi)); x (n, c, h, w) or
    blocked (n, c/8, h, w, 8) (x_blocked); wp per group of 4 output blocks (fewer in the last)
    [c/8][kh][kw][8][blocks][8] (c whole blocks; else [c][kh][kw][blocks][8]: pack_conv_weights);
    z laid out as y, or None; post: the activation `act` (GK_NCHWC_ACT_*, alpha, beta), then the
    scale (times) and the shift (plus), m floats each, or None."""
    _geometry("nchwc_conv", kh, kw, sh, sw, dh, dw)
    _pads("nchwc_conv", ph, pw)
    _blocks("nchwc_conv", "output channel count", m)
    if x_blocked:
        _blocks("nchwc_conv", "input channel count", c)
    if n < 0 or c <= 0 or h < 0 or w < 0 or oh < 0 or ow < 0:
        raise ValueError("nchwc_conv: negative or empty size")
    _vec("nchwc_conv", "x", x, n * c * h * w, False)
    _vec("nchwc_conv", "wp", wp, m * c * kh * kw, False)
    _vec("nchwc_conv", "bias", bias, m, True)
    _vec("nchwc_conv", "z", z, n * m * oh * ow, True)
    _vec("nchwc_conv", "y", y, n * m * oh * ow, False)
    cdef gk_nchwc_post post = _post(act, alpha, beta, scale, shift, "nchwc_conv", m)
    if n * oh * ow == 0:
        return
    with nogil:
        gk_nchwc_conv(ptr(x), n, c, h, w, x_blocked, &wp[0], m, kh, kw, sh, sw, dh, dw, ph, pw,
                      oh, ow, optr(bias), optr(z), lo, hi, &post, &y[0], threads)
    cdef Call rec
    if _tracing():
        rec = _record(_run_nchwc_conv, "nchwc_conv", (x, wp, bias, z, y, scale, shift))
        rec.c.p[0], rec.c.p[1] = <void *>ptr(x), <void *>&wp[0]
        rec.c.p[2], rec.c.p[3], rec.c.p[4] = <void *>optr(bias), <void *>optr(z), <void *>&y[0]
        rec.c.i[0], rec.c.i[1], rec.c.i[2], rec.c.i[3], rec.c.i[4] = n, c, h, w, x_blocked
        rec.c.i[5], rec.c.i[6], rec.c.i[7], rec.c.i[8], rec.c.i[9] = m, kh, kw, sh, sw
        rec.c.i[10], rec.c.i[11], rec.c.i[12], rec.c.i[13] = dh, dw, ph, pw
        rec.c.i[14], rec.c.i[15], rec.c.i[16], rec.c.i[17] = oh, ow, threads, act
        rec.c.f[0], rec.c.f[1], rec.c.f[2], rec.c.f[3] = lo, hi, alpha, beta
        rec.c.p[5], rec.c.p[6] = <void *>optr(scale), <void *>optr(shift)


def nchwc_depthwise(const float[::1] x, long n, long c, long h, long w, const float[::1] wp,
                    long kh, long kw, long sh, long sw, long dh, long dw, long ph, long pw,
                    long oh, long ow, const float[::1] bias, const float[::1] z, float lo,
                    float hi, float[::1] y, int threads, int act=0, float alpha=0, float beta=0,
                    const float[::1] scale=None, const float[::1] shift=None):
    """y = post(clip(depthwise conv(x, w) + bias + z, lo, hi)), x and y blocked
    (n, c/8, ., ., 8); wp [c/8][kh][kw][8]; z laid out as y, or None; post as nchwc_conv's."""
    _geometry("nchwc_depthwise", kh, kw, sh, sw, dh, dw)
    _pads("nchwc_depthwise", ph, pw)
    _blocks("nchwc_depthwise", "channel count", c)
    if n < 0 or h < 0 or w < 0 or oh < 0 or ow < 0:
        raise ValueError("nchwc_depthwise: negative size")
    _vec("nchwc_depthwise", "x", x, n * c * h * w, False)
    _vec("nchwc_depthwise", "wp", wp, c * kh * kw, False)
    _vec("nchwc_depthwise", "bias", bias, c, True)
    _vec("nchwc_depthwise", "z", z, n * c * oh * ow, True)
    _vec("nchwc_depthwise", "y", y, n * c * oh * ow, False)
    cdef gk_nchwc_post post = _post(act, alpha, beta, scale, shift, "nchwc_depthwise", c)
    if n * oh * ow == 0:
        return
    with nogil:
        gk_nchwc_depthwise(ptr(x), n, c, h, w, &wp[0], kh, kw, sh, sw, dh, dw, ph, pw, oh, ow,
                           optr(bias), optr(z), lo, hi, &post, &y[0], threads)
    cdef Call rec
    if _tracing():
        rec = _record(_run_nchwc_depthwise, "nchwc_depthwise", (x, wp, bias, z, y, scale, shift))
        rec.c.p[0], rec.c.p[1] = <void *>ptr(x), <void *>&wp[0]
        rec.c.p[2], rec.c.p[3], rec.c.p[4] = <void *>optr(bias), <void *>optr(z), <void *>&y[0]
        rec.c.i[0], rec.c.i[1], rec.c.i[2], rec.c.i[3] = n, c, h, w
        rec.c.i[4], rec.c.i[5], rec.c.i[6], rec.c.i[7], rec.c.i[8], rec.c.i[9] = kh, kw, sh, sw, dh, dw
        rec.c.i[10], rec.c.i[11], rec.c.i[12], rec.c.i[13], rec.c.i[14] = ph, pw, oh, ow, threads
        rec.c.i[15] = act
        rec.c.f[0], rec.c.f[1], rec.c.f[2], rec.c.f[3] = lo, hi, alpha, beta
        rec.c.p[5], rec.c.p[6] = <void *>optr(scale), <void *>optr(shift)


def nchwc_global_average(const float[::1] x, long n, long c, long hw, float[::1] y, int threads):
    """y (n, c) = the mean over hw pixels of the blocked x (n, c/8, hw, 8)."""
    _blocks("nchwc_global_average", "channel count", c)
    if n < 0 or hw <= 0:
        raise ValueError("nchwc_global_average: empty plane")
    _vec("nchwc_global_average", "x", x, n * c * hw, False)
    _vec("nchwc_global_average", "y", y, n * c, False)
    if n == 0:
        return
    with nogil:
        gk_nchwc_global_average(&x[0], n, c, hw, &y[0], threads)
    cdef Call rec
    if _tracing():
        rec = _record(_run_nchwc_global_average, "nchwc_global_average", (x, y))
        rec.c.p[0], rec.c.p[1] = <void *>&x[0], <void *>&y[0]
        rec.c.i[0], rec.c.i[1], rec.c.i[2], rec.c.i[3] = n, c, hw, threads


cdef int _run_nchwc_reorder(const gk_call *c) noexcept nogil:
    if c.i[3]:
        gk_nchwc_reorder_out(<const float *>c.p[0], c.i[0], c.i[1], c.i[2], <float *>c.p[1],
                             <int>c.i[4])
    else:
        gk_nchwc_reorder_in(<const float *>c.p[0], c.i[0], c.i[1], c.i[2], <float *>c.p[1],
                            <int>c.i[4])
    return 0


cdef inline gk_nchwc_post _recorded_post(const gk_call *c, int act) noexcept nogil:
    cdef gk_nchwc_post p
    p.act, p.alpha, p.beta = act, c.f[2], c.f[3]
    p.scale, p.shift = <const float *>c.p[5], <const float *>c.p[6]
    return p


cdef int _run_nchwc_conv(const gk_call *c) noexcept nogil:
    cdef gk_nchwc_post post = _recorded_post(c, <int>c.i[17])
    gk_nchwc_conv(<const float *>c.p[0], c.i[0], c.i[1], c.i[2], c.i[3], <int>c.i[4],
                  <const float *>c.p[1], c.i[5], c.i[6], c.i[7], c.i[8], c.i[9], c.i[10],
                  c.i[11], c.i[12], c.i[13], c.i[14], c.i[15], <const float *>c.p[2],
                  <const float *>c.p[3], c.f[0], c.f[1], &post, <float *>c.p[4], <int>c.i[16])
    return 0


cdef int _run_nchwc_depthwise(const gk_call *c) noexcept nogil:
    cdef gk_nchwc_post post = _recorded_post(c, <int>c.i[15])
    gk_nchwc_depthwise(<const float *>c.p[0], c.i[0], c.i[1], c.i[2], c.i[3],
                       <const float *>c.p[1], c.i[4], c.i[5], c.i[6], c.i[7], c.i[8], c.i[9],
                       c.i[10], c.i[11], c.i[12], c.i[13], <const float *>c.p[2],
                       <const float *>c.p[3], c.f[0], c.f[1], &post, <float *>c.p[4],
                       <int>c.i[14])
    return 0


def nchwc_max_pool(const float[::1] x, long n, long c, long h, long w, long kh, long kw,
                   long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                   float[::1] y, int threads):
    """y (n, c/8, oh, ow, 8) = MaxPool of the blocked x (n, c/8, h, w, 8) (begin pads ph, pw;
    padding never wins, NaN propagates)."""
    _blocks("nchwc_max_pool", "channel count", c)
    _geometry("nchwc_max_pool", kh, kw, sh, sw, dh, dw)
    _pads("nchwc_max_pool", ph, pw)
    if n < 0 or h <= 0 or w <= 0 or oh <= 0 or ow <= 0:
        raise ValueError("nchwc_max_pool: empty plane")
    _vec("nchwc_max_pool", "x", x, n * c * h * w, False)
    _vec("nchwc_max_pool", "y", y, n * c * oh * ow, False)
    if n == 0:
        return
    with nogil:
        gk_nchwc_max_pool(&x[0], n, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, &y[0],
                          threads)
    cdef Call rec
    if _tracing():
        rec = _record(_run_nchwc_max_pool, "nchwc_max_pool", (x, y))
        rec.c.p[0], rec.c.p[1] = <void *>&x[0], <void *>&y[0]
        rec.c.i[0], rec.c.i[1], rec.c.i[2], rec.c.i[3], rec.c.i[4] = n, c, h, w, kh
        rec.c.i[5], rec.c.i[6], rec.c.i[7], rec.c.i[8], rec.c.i[9] = kw, sh, sw, dh, dw
        rec.c.i[10], rec.c.i[11], rec.c.i[12], rec.c.i[13], rec.c.i[14] = ph, pw, oh, ow, threads


cdef int _run_nchwc_max_pool(const gk_call *c) noexcept nogil:
    gk_nchwc_max_pool(<const float *>c.p[0], c.i[0], c.i[1], c.i[2], c.i[3], c.i[4], c.i[5],
                      c.i[6], c.i[7], c.i[8], c.i[9], c.i[10], c.i[11], c.i[12], c.i[13],
                      <float *>c.p[1], <int>c.i[14])
    return 0


cdef int _run_nchwc_global_average(const gk_call *c) noexcept nogil:
    gk_nchwc_global_average(<const float *>c.p[0], c.i[0], c.i[1], c.i[2], <float *>c.p[1],
                            <int>c.i[3])
    return 0


def nchwc_conv_max_pool(const float[::1] x, long n, long c, long h, long w, bint x_blocked,
                        const float[::1] wp, long m, long kh, long kw, long sh, long sw, long dh,
                        long dw, long ph, long pw, long oh, long ow, const float[::1] bias,
                        float lo, float hi, long pkh, long pkw, long psh, long psw, long pdh,
                        long pdw, long pph, long ppw, long poh, long pow_, float[::1] y,
                        int threads, int act=0, float alpha=0, float beta=0,
                        const float[::1] scale=None, const float[::1] shift=None):
    """y (n, m/8, poh, pow_, 8) = MaxPool(post(clip(conv(x, w) + bias, lo, hi))): nchwc_conv's
    conv (no residual) on an (n, m/8, oh, ow, 8) result that is never written whole, then
    nchwc_max_pool's window (pkh x pkw, strides psh psw, dilations pdh pdw, begin pads pph ppw)."""
    _geometry("nchwc_conv_max_pool", kh, kw, sh, sw, dh, dw)
    _pads("nchwc_conv_max_pool", ph, pw)
    _geometry("nchwc_conv_max_pool", pkh, pkw, psh, psw, pdh, pdw)
    _pads("nchwc_conv_max_pool", pph, ppw)
    _blocks("nchwc_conv_max_pool", "output channel count", m)
    if x_blocked:
        _blocks("nchwc_conv_max_pool", "input channel count", c)
    if n < 0 or c <= 0 or h < 0 or w < 0 or oh <= 0 or ow <= 0 or poh <= 0 or pow_ <= 0:
        raise ValueError("nchwc_conv_max_pool: negative or empty size")
    _vec("nchwc_conv_max_pool", "x", x, n * c * h * w, False)
    _vec("nchwc_conv_max_pool", "wp", wp, m * c * kh * kw, False)
    _vec("nchwc_conv_max_pool", "bias", bias, m, True)
    _vec("nchwc_conv_max_pool", "y", y, n * m * poh * pow_, False)
    cdef gk_nchwc_post post = _post(act, alpha, beta, scale, shift, "nchwc_conv_max_pool", m)
    cdef gk_nchwc_pool_window pool
    pool.kh, pool.kw, pool.sh, pool.sw, pool.dh, pool.dw = pkh, pkw, psh, psw, pdh, pdw
    pool.ph, pool.pw, pool.oh, pool.ow = pph, ppw, poh, pow_
    if n == 0:
        return
    cdef int rc
    with nogil:
        rc = gk_nchwc_conv_max_pool(ptr(x), n, c, h, w, x_blocked, &wp[0], m, kh, kw, sh, sw,
                                    dh, dw, ph, pw, oh, ow, optr(bias), lo, hi, &post, &pool,
                                    &y[0], threads)
    if rc:
        raise MemoryError("nchwc_conv_max_pool: no memory for the band buffers")
    cdef Call rec
    if _tracing():
        rec = _record(_run_nchwc_conv_max_pool, "nchwc_conv_max_pool",
                      (x, wp, bias, y, scale, shift))
        rec.c.p[0], rec.c.p[1] = <void *>ptr(x), <void *>&wp[0]
        rec.c.p[2], rec.c.p[4] = <void *>optr(bias), <void *>&y[0]
        rec.c.i[0], rec.c.i[1], rec.c.i[2], rec.c.i[3], rec.c.i[4] = n, c, h, w, x_blocked
        rec.c.i[5], rec.c.i[6], rec.c.i[7], rec.c.i[8], rec.c.i[9] = m, kh, kw, sh, sw
        rec.c.i[10], rec.c.i[11], rec.c.i[12], rec.c.i[13] = dh, dw, ph, pw
        rec.c.i[14], rec.c.i[15], rec.c.i[16], rec.c.i[17] = oh, ow, threads, act
        rec.c.i[18], rec.c.i[19], rec.c.i[20], rec.c.i[21], rec.c.i[22] = pkh, pkw, psh, psw, pdh
        rec.c.i[23], rec.c.i[24], rec.c.i[25], rec.c.i[26], rec.c.i[27] = pdw, pph, ppw, poh, pow_
        rec.c.f[0], rec.c.f[1], rec.c.f[2], rec.c.f[3] = lo, hi, alpha, beta
        rec.c.p[5], rec.c.p[6] = <void *>optr(scale), <void *>optr(shift)


cdef int _run_nchwc_conv_max_pool(const gk_call *c) noexcept nogil:
    cdef gk_nchwc_post post = _recorded_post(c, <int>c.i[17])
    cdef gk_nchwc_pool_window pool
    pool.kh, pool.kw, pool.sh, pool.sw, pool.dh = c.i[18], c.i[19], c.i[20], c.i[21], c.i[22]
    pool.dw, pool.ph, pool.pw, pool.oh, pool.ow = c.i[23], c.i[24], c.i[25], c.i[26], c.i[27]
    return gk_nchwc_conv_max_pool(<const float *>c.p[0], c.i[0], c.i[1], c.i[2], c.i[3],
                                  <int>c.i[4], <const float *>c.p[1], c.i[5], c.i[6], c.i[7],
                                  c.i[8], c.i[9], c.i[10], c.i[11], c.i[12], c.i[13], c.i[14],
                                  c.i[15], <const float *>c.p[2], c.f[0], c.f[1], &post, &pool,
                                  <float *>c.p[4], <int>c.i[16])


def nchwc_depthwise_pointwise(const float[::1] x, long n, long c, long h, long w,
                              const float[::1] dwp, long kh, long kw, long sh, long sw, long dh,
                              long dw, long ph, long pw, long oh, long ow,
                              const float[::1] dbias, float dlo, float dhi, const float[::1] pwp,
                              long m, const float[::1] pbias, const float[::1] z, float plo,
                              float phi, float[::1] t, float[::1] y, int threads):
    """y (n, m/8, oh, ow, 8) = clip(conv1x1(t, pwp) + pbias + z, plo, phi), t = clip(depthwise
    conv(x, dwp) + dbias, dlo, dhi), x blocked (n, c/8, h, w, 8), each thread's part of the
    pixels one after the other where nchwc_dwpw_fuses(oh, threads), else the two calls. t: the
    depthwise result (n, c/8, oh, ow, 8), written, or None (band buffers: t never written whole;
    only where it fuses). dwp as nchwc_depthwise's, pwp as nchwc_conv's; z laid out as y, or
    None."""
    _geometry("nchwc_depthwise_pointwise", kh, kw, sh, sw, dh, dw)
    _pads("nchwc_depthwise_pointwise", ph, pw)
    _blocks("nchwc_depthwise_pointwise", "channel count", c)
    _blocks("nchwc_depthwise_pointwise", "output channel count", m)
    if n < 0 or h <= 0 or w <= 0 or oh <= 0 or ow <= 0:
        raise ValueError("nchwc_depthwise_pointwise: negative or empty size")
    _vec("nchwc_depthwise_pointwise", "x", x, n * c * h * w, False)
    _vec("nchwc_depthwise_pointwise", "dwp", dwp, c * kh * kw, False)
    _vec("nchwc_depthwise_pointwise", "dbias", dbias, c, True)
    _vec("nchwc_depthwise_pointwise", "pwp", pwp, m * c, False)
    _vec("nchwc_depthwise_pointwise", "pbias", pbias, m, True)
    _vec("nchwc_depthwise_pointwise", "z", z, n * m * oh * ow, True)
    _vec("nchwc_depthwise_pointwise", "t", t, n * c * oh * ow, True)
    _vec("nchwc_depthwise_pointwise", "y", y, n * m * oh * ow, False)
    if t is None and not gk_nchwc_dwpw_fuses(oh, threads):
        raise ValueError("nchwc_depthwise_pointwise: no buffer t where the call does not fuse")
    if n == 0:
        return
    cdef int rc
    with nogil:
        rc = gk_nchwc_depthwise_pointwise(ptr(x), n, c, h, w, &dwp[0], kh, kw, sh, sw, dh, dw,
                                          ph, pw, oh, ow, optr(dbias), dlo, dhi, NULL, &pwp[0],
                                          m, optr(pbias), optr(z), plo, phi, NULL, <float *>optr(t),
                                          &y[0], threads)
    if rc:
        raise MemoryError("nchwc_depthwise_pointwise: no memory for the band buffers")
    cdef Call rec
    if _tracing():
        rec = _record(_run_nchwc_depthwise_pointwise, "nchwc_depthwise_pointwise",
                      (x, dwp, dbias, pwp, pbias, z, t, y))
        rec.c.p[0], rec.c.p[1], rec.c.p[2] = <void *>ptr(x), <void *>&dwp[0], <void *>optr(dbias)
        rec.c.p[3], rec.c.p[4], rec.c.p[5] = <void *>&pwp[0], <void *>optr(pbias), <void *>optr(z)
        rec.c.p[6], rec.c.p[7] = <void *>optr(t), <void *>&y[0]
        rec.c.i[0], rec.c.i[1], rec.c.i[2], rec.c.i[3], rec.c.i[4] = n, c, h, w, kh
        rec.c.i[5], rec.c.i[6], rec.c.i[7], rec.c.i[8], rec.c.i[9] = kw, sh, sw, dh, dw
        rec.c.i[10], rec.c.i[11], rec.c.i[12], rec.c.i[13], rec.c.i[14] = ph, pw, oh, ow, m
        rec.c.i[15] = threads
        rec.c.f[0], rec.c.f[1], rec.c.f[2], rec.c.f[3] = dlo, dhi, plo, phi


cdef int _run_nchwc_depthwise_pointwise(const gk_call *c) noexcept nogil:
    return gk_nchwc_depthwise_pointwise(<const float *>c.p[0], c.i[0], c.i[1], c.i[2], c.i[3],
                                        <const float *>c.p[1], c.i[4], c.i[5], c.i[6], c.i[7],
                                        c.i[8], c.i[9], c.i[10], c.i[11], c.i[12], c.i[13],
                                        <const float *>c.p[2], c.f[0], c.f[1], NULL,
                                        <const float *>c.p[3], c.i[14], <const float *>c.p[4],
                                        <const float *>c.p[5], c.f[2], c.f[3], NULL,
                                        <float *>c.p[6], <float *>c.p[7], <int>c.i[15])
