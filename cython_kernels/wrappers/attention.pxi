# Wrapper of src/attention.h: gossamer::PackedAttention (the fused head, or the packed GEMM per head).
cdef extern from "src/attention.h" nogil:
    int gk_attention(long batch, long s, long heads, long d, const float *qkv, const float *mask,
                     long mask_bs, float scale, float *y, int threads)
    int gk_attention_tune_fused(int on)


def attention_tune_fused(int on=-1):
    """The fused head (1, the default where the SIMD level has it: AVX-512) or the packed GEMM
    path (0); -1 only asks. Returns the previous setting; the two give the same bits."""
    return gk_attention_tune_fused(on)


def attention(const float[:, :, ::1] qkv, const float[:, ::1] mask, float[:, :, ::1] y,
              long heads, float scale, int threads):
    """y [B, S, E] = per head softmax(q k^T * scale + mask) v over qkv [B, S, 3E] (q|k|v blocks,
    heads of E / heads columns); mask: None or [1 or B, S] (one row per batch, added to every
    score row)."""
    cdef long b, s, e, d, mask_bs = 0
    cdef int rc
    if qkv is None or y is None:
        raise ValueError("attention: qkv and y are needed")
    b, s = qkv.shape[0], qkv.shape[1]
    if heads <= 0 or qkv.shape[2] % (3 * heads):
        raise ValueError(f"attention: {qkv.shape[2]} columns are not 3 x {heads} heads")
    e = qkv.shape[2] // 3
    d = e // heads
    if y.shape[0] != b or y.shape[1] != s or y.shape[2] != e:
        raise ValueError("attention: y is not [B, S, E]")
    if mask is not None:
        if mask.shape[1] != s or mask.shape[0] not in (1, b):
            raise ValueError(f"attention: mask is not [1 or {b}, {s}]")
        mask_bs = s if mask.shape[0] == b and b > 1 else 0
    if b == 0 or s == 0 or e == 0:
        return
    with nogil:
        rc = gk_attention(b, s, heads, d, &qkv[0, 0, 0], &mask[0, 0] if mask is not None else NULL,
                          mask_bs, scale, &y[0, 0, 0], threads)
    if rc:
        raise MemoryError("attention: no buffer for a head")
    cdef Call c
    if _tracing():
        c = _record(_run_attention, "attention", (qkv, mask, y))
        c.c.p[0], c.c.p[2] = <void *>&qkv[0, 0, 0], <void *>&y[0, 0, 0]
        c.c.p[1] = <void *>(&mask[0, 0] if mask is not None else NULL)
        c.c.i[0], c.c.i[1], c.c.i[2], c.c.i[3] = b, s, heads, d
        c.c.i[4], c.c.i[5] = mask_bs, threads
        c.c.f[0] = scale


cdef int _run_attention(const gk_call *c) noexcept nogil:
    return gk_attention(c.i[0], c.i[1], c.i[2], c.i[3], <const float *>c.p[0],
                        <const float *>c.p[1], c.i[4], c.f[0], <float *>c.p[2], <int>c.i[5])
