/* Packed SGEMM with a fused epilogue (gemm.c drives it, gemm_kernels.inc holds the per-level
 * register kernels). Threads: the kernels' pool (threadpool.h; none for small problems). */
#ifndef GK_GEMM_H
#define GK_GEMM_H

#include <stddef.h>

#define GK_MR 12 /* packed A panel height (AVX-512: 12x32 blocks; AVX2/generic: two 6x16 halves) */
#define GK_NR 16 /* packed B panel width (AVX-512 reads two adjacent panels at once) */

/* Activations of the epilogue (field `act`); parameters in alpha/beta. */
enum {
    GK_ACT_NONE = 0,
    GK_ACT_SIGMOID = 1,
    GK_ACT_SWISH = 2,       /* x * sigmoid(alpha x) */
    GK_ACT_HARDSIGMOID = 3, /* max(0, min(1, alpha x + beta)) */
    GK_ACT_HARDSWISH = 4,   /* x * max(0, min(1, (x + 3) / 6)) (maths.h's gk_hardswishf) */
    GK_ACT_LEAKYRELU = 5,   /* x < 0 ? alpha x : x */
    GK_ACT_GELU = 6,        /* x/2 (1 + erf(x / sqrt 2)) */
    GK_ACT_TANH = 7,
    GK_ACT_PRELU = 8        /* x < 0 ? slope x : x, slope per row (slope_row) or column */
};

/* Epilogue applied to every output element (i, j), in this order:
 *   y = acc + bias_row[i] + bias_col[j] + residual[i * ld_residual + j]   (each term if non-NULL)
 *   if clip: y = min(max(y, lo), hi)      (Relu: lo = 0, hi = inf; NaN propagates)
 *   y = act(y)                             (GK_ACT_*, alpha/beta/slope as documented above)
 * The first five fields keep their historical order (positional initialisers elsewhere). */
typedef struct {
    const float *bias_row; /* length M or NULL */
    const float *bias_col; /* length N or NULL */
    float lo, hi;
    int clip;
    int act;
    float alpha, beta;
    const float *slope_row; /* PRelu: length M, or NULL */
    const float *slope_col; /* PRelu: length N, or NULL */
    const float *residual;  /* R[M, N] with row stride ld_residual, or NULL */
    long ld_residual;
} gk_epilogue;

/* C[M,N] = epilogue(A[M,K] @ B[K,N]).
 * Packed A: ceil(M/12) panels, each K x 12 (k-major), rows past M zero.
 * Packed B: ceil(N/16) panels, each K x 16 (k-major), columns past N zero. */
size_t gk_packed_a_size(long m, long k);
size_t gk_packed_b_size(long k, long n);
void gk_pack_a(long m, long k, const float *a, long s_m, long s_k, float *out, int threads);
void gk_pack_b(long k, long n, const float *b, long s_k, long s_n, float *out, int threads);
void gk_gemm_packed(long m, long n, long k, const float *ap, const float *bp, float *c, long ldc,
                    const gk_epilogue *ep, int threads);
/* panels [p0, p1) of packed B (gk_pack_b's layout, the whole K each) */
void gk_pack_b_panels(long k, long n, const float *b, long s_k, long s_n, float *out, long p0,
                      long p1);
/* C[M,N] = epilogue(packed A @ B) with B made panel by panel: fill(fctx, p0, p1, seat) writes
 * panels [p0, p1) of packed B into bp (room for gk_packed_b_size(k, n) floats) at their places.
 * Where the threads split C by columns only (so no two share a panel), each packs the panels of
 * its block of columns right before multiplying them (one pool call, the panels still in its
 * cache); otherwise (and at one thread) every panel is packed first (on the threads when panels x k exceeds fill_par). Same bits as gk_pack_b +
 * gk_gemm_packed at any thread count. */
void gk_gemm_fill_b(long m, long n, long k, const float *ap,
                    void (*fill)(void *fctx, long p0, long p1, int seat), void *fctx,
                    long fill_par, float *bp, float *c, long ldc, const gk_epilogue *ep,
                    int threads);
/* A given by strides (packed by the same call, a pool call before the product), B packed. */
void gk_gemm(long m, long n, long k, const float *a, long s_m, long s_k, const float *bp,
             float *c, long ldc, const gk_epilogue *ep, int threads);
/* C[i] = epilogue(A[i] @ B[i]) for i < batch, in one call: A by strides (a_bs 0
 * broadcasts), B packed per batch (bp_bs floats apart, 0 broadcasts), C[i] at c + i * c_bs
 * (row stride ldc); ep applies to every batch (residual advanced by r_bs per batch). */
void gk_gemm_batched(long batch, long m, long n, long k, const float *a, long a_bs, long s_m,
                     long s_k, const float *bp, long bp_bs, float *c, long c_bs, long ldc,
                     const gk_epilogue *ep, long r_bs, int threads);
/* C[b] = A[b] @ B[b], both operands by strides (packed per batch; neither is constant) */
void gk_matmul_batched(long batch, long m, long n, long k, const float *a, long a_bs, long a_sm,
                       long a_sk, const float *b, long b_bs, long b_sk, long b_sn, float *c,
                       long c_bs, int threads);
/* y[i] = act(x[i]) for the epilogue activations (GK_ACT_*; PRelu: slope[i] if slope, else
 * alpha), with the GEMM epilogue's own vectorised code (used for run-time-B MatMul) */
void gk_epilogue_apply(float *y, long rows, long cols, long ldy, const gk_epilogue *ep,
                       int threads);
/* cache blocking: K block, M block (rows); 0 leaves one unchanged; the values before the call
 * are stored in old[0], old[1] */
void gk_gemm_tune(long kc, long mc, long *old);
/* the M block of thin products (K <= 64, a block of >= 1024 columns); 0 leaves it; the value
 * before the call in *old */
void gk_gemm_tune_thin(long mc, long *old);
/* the widest block (columns) that the AVX-512 kernel runs A panel outer (0: none); -1 leaves it;
 * the value before the call in *old */
void gk_gemm_tune_narrow(long n, long *old);
extern long gk_gemm_narrow_n;
/* the AVX-512 kernel's prefetch of the next B micro-panel into L2: 0 a tile's slice one line a
 * k-step from the tile's start, 1 spread over the tile (one line every kc / lines k-steps) and
 * across K blocks, in products whose A the call packed (MatMul: B the weights, from L3), 2 spread
 * in every product (gemm.c's gk_gemm_tune_pfb sets it) */
extern long gk_gemm_pfb_mode;
/* the grid: blocks per thread (0 the rule) and shape (0 the cost model, 1 rows only, 2 columns
 * only); -1 leaves one; the values before the call in old[0], old[1] */
void gk_gemm_tune_grid(long per, long shape, long *old);

/* the split of C that every driver uses (gemm_direct.c too): threads worth a pool call for an
 * m x n x k product; the grid for nt threads, returned as its block count with its shape
 * *pm x *pn (the blocks claimed in order; one rule for the packed, fill-B and direct drivers);
 * rows r[0:2) and columns r[2:4) of block t of a pm x pn grid with a column unit cu; the cache
 * blocking in force (KC, MC) */
int gk_gemm_threads(long m, long n, long k, int threads);
int gk_gemm_grid(long m, long n, long k, int nt, int *pm, int *pn);
void gk_gemm_grid_part(long m, long n, long cu, int pm, int pn, int t, long *r);
void gk_gemm_blocking(long *kc, long *mc);
/* the K block the products of depth k use (gk_gemm_blocking's kc, or k where a split would leave
 * a last block of at most half a block) */
long gk_gemm_kc(long k);

/* ---- per-level kernels (gemm_kernels.inc; dispatch.c selects one level's) ------------------ */

/* one product: packed operands, C and its epilogue, the cache blocking in force */
typedef struct {
    long m, n, k;
    const float *ap, *bp;
    float *c;
    long ldc;
    const gk_epilogue *ep;
    long kc, mc;
    /* A was packed by this call from activations (gk_gemm, gk_gemm_batched: MatMul's X @ W), so
     * it is in cache and B holds the weights: the column sweep streams B once, and the A-panel
     * outer order (AVX-512 block_narrow, for weights in A: convs) would stream it per row panel
     * (MiniLM's 128 x 384 x 1536 at 2 threads: 833 against 762 us) */
    int a_hot;
} gk_gemm_args;

typedef struct {
    /* columns of C per register block: a thread's share of C is a multiple of it */
    long col_unit;
    /* C[m0:m1, n0:n1] = epilogue(A @ B), K in blocks of kc, M in blocks of mc (m0, n0 aligned to
     * GK_MR and col_unit) */
    void (*block)(const gk_gemm_args *g, long m0, long m1, long n0, long n1);
    /* the epilogue on a tile of C in memory; add: also the biases, residual and clip, else only
     * the activation */
    void (*epilogue)(float *c, long ldc, long rows, long cols, const gk_epilogue *ep, long i0,
                     long j0, int add);
    /* one full 12-row A panel from rows s_m apart, unit stride along K (NULL: the drivers' plain
     * C copy) */
    void (*pack_a12)(const float *src, long s_m, long k, float *dst);
    /* one full 16-column B panel from columns s_n apart, unit stride along K (NULL: the drivers'
     * per-element copy) */
    void (*pack_bt16)(const float *src, long s_n, long k, float *dst);
} gk_gemm_kernels;

#endif
