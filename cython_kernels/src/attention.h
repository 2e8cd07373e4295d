/* Multi-head attention over a packed q|k|v tensor (gossamer::PackedAttention), one head at a time
 * in cache: per (batch, head), S = q k^T (gemm.h's packed GEMM, q and k packed from their strided
 * columns of qkv: no Split, no Transpose copies), the scale, the mask and the softmax in one pass
 * over each row of S (normalize.h's softmax_scaled_row), then y's head columns = P v. Heads run
 * on the pool's threads (one head per unit); each thread's buffers are its own. */
#ifndef GK_ATTENTION_H
#define GK_ATTENTION_H

/* qkv: [batch, s, 3 e] (e = heads * d; q, k, v blocks of e columns, head h at h d); mask: NULL or
 * rows of s floats added to every score row of a batch (row b at mask + b * mask_bs; mask_bs 0
 * broadcasts one row); y: [batch, s, e]. Returns 0, or -1 where a buffer could not be had (y
 * then holds garbage). */
int gk_attention(long batch, long s, long heads, long d, const float *qkv, const float *mask,
                 long mask_bs, float scale, float *y, int threads);
/* the fused head (the per-level rows kernel below, where the level has one): 1 on, 0 the GEMM
 * path (packed q, P packed after the softmax); -1 only asks. Returns the previous setting. The
 * two give the same bits. GOSSAMER_ATTENTION_FUSED=0 starts with the GEMM path. */
int gk_attention_tune_fused(int on);

/* ---- per-level kernels (attention_kernels.inc; dispatch.c selects one level's) ------------- */

/* one head of one batch: its operands in place or packed by the driver */
typedef struct {
    long s, d;
    const float *q; /* the head's query rows, ldq floats apart (qkv, read in place) */
    long ldq;
    const float *kp;   /* k^T packed as a B operand (gk_pack_b of d x s) */
    const float *vp;   /* v packed as a B operand (gk_pack_b of s x d) */
    const float *mask; /* NULL or s floats added to every score row */
    float scale;
    float *sc; /* GK_MR x s floats: a panel's scores, then its P */
    float *y;  /* the head's output columns, ldy floats apart */
    long ldy;
    long kc_s, kc_v; /* the K blocks of q k^T and P v (gk_gemm_kc(d), gk_gemm_kc(s)) */
} gk_att_head;

typedef struct {
    /* y rows [r0, r1) (r0 a multiple of GK_MR) of one head, a 12-row panel at a time: its scores
     * q k^T (row-major, in L1), their softmax, then P v with P read in place; every element the
     * same sum in the same order as the GEMM path's (gemm.h's K blocks), so the same bits. NULL
     * where the level has none (AVX2, generic: the driver's GEMM path). */
    void (*rows)(const gk_att_head *h, long r0, long r1);
} gk_attention_kernels;

#endif
