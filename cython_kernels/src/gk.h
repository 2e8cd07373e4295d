/* Gossamer CPU kernels: plain C entry points called from the Cython wrappers.
 *
 * Every kernel that benefits from AVX2/FMA is compiled twice from one body: once with
 * __attribute__((target("avx2,fma"))) and once for the baseline ISA (SSE2 on x86-64). gk_simd_avx2
 * selects one of them at run time, so a binary built here runs on a machine without AVX2.
 * Threaded kernels take their thread count as an argument (OpenMP num_threads).
 */
#ifndef GK_H
#define GK_H

#include <stddef.h>

#define GK_MR 12 /* packed A panel height (AVX-512: 12x32 blocks; AVX2/generic: two 6x16 halves) */
#define GK_NR 16 /* packed B panel width (AVX-512 reads two adjacent panels at once) */

/* SIMD dispatch (dispatch.c). Levels: 0 generic, 1 AVX2+FMA, 2 AVX-512F (GEMM micro-kernel and
 * epilogue; the other kernels use their AVX2 variants at level 2). */
int gk_cpu_has_avx2_fma(void);
int gk_cpu_has_avx512f(void);
extern int gk_simd_avx2;   /* 1: AVX2/FMA (or better) variants are used */
extern int gk_simd_avx512; /* 1: the AVX-512F GEMM kernels are used */
int gk_set_simd_level(int level);  /* at most `level` (capped by the CPU); returns the level set */
int gk_simd_level(void);

/* Activations of the GEMM epilogue (field `act`); parameters in alpha/beta. */
enum {
    GK_ACT_NONE = 0,
    GK_ACT_SIGMOID = 1,
    GK_ACT_SWISH = 2,       /* x * sigmoid(alpha x) */
    GK_ACT_HARDSIGMOID = 3, /* max(0, min(1, alpha x + beta)) */
    GK_ACT_HARDSWISH = 4,   /* x * max(0, min(1, x/6 + 1/2)) */
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

/* GEMM (gemm.c): C[M,N] = epilogue(A[M,K] @ B[K,N]).
 * Packed A: ceil(M/12) panels, each K x 12 (k-major), rows past M zero.
 * Packed B: ceil(N/16) panels, each K x 16 (k-major), columns past N zero.
 * Every call runs one OpenMP parallel region (or none for small problems). */
size_t gk_packed_a_size(long m, long k);
size_t gk_packed_b_size(long k, long n);
void gk_pack_a(long m, long k, const float *a, long s_m, long s_k, float *out, int threads);
void gk_pack_b(long k, long n, const float *b, long s_k, long s_n, float *out, int threads);
void gk_gemm_packed(long m, long n, long k, const float *ap, const float *bp, float *c, long ldc,
                    const gk_epilogue *ep, int threads);
/* A given by strides (packed inside the same parallel region), B packed. */
void gk_gemm(long m, long n, long k, const float *a, long s_m, long s_k, const float *bp,
             float *c, long ldc, const gk_epilogue *ep, int threads);
/* C[i] = epilogue(A[i] @ B[i]) for i < batch, one parallel region: A by strides (a_bs 0
 * broadcasts), B packed per batch (bp_bs floats apart, 0 broadcasts), C[i] at c + i * c_bs
 * (row stride ldc); ep applies to every batch (residual advanced by r_bs per batch). */
void gk_gemm_batched(long batch, long m, long n, long k, const float *a, long a_bs, long s_m,
                     long s_k, const float *bp, long bp_bs, float *c, long c_bs, long ldc,
                     const gk_epilogue *ep, long r_bs, int threads);

void gk_matmul_batched(long batch, long m, long n, long k, const float *a, long a_bs, long a_sm,
                       long a_sk, const float *b, long b_bs, long b_sk, long b_sn, float *c,
                       long c_bs, int threads);
/* y[i] = act(x[i]) for the epilogue activations (GK_ACT_*; PRelu: slope[i] if slope, else
 * alpha), with the GEMM epilogue's own vectorised code (used for run-time-B MatMul) */
void gk_epilogue_apply(float *y, long rows, long cols, long ldy, const gk_epilogue *ep,
                       int threads);
/* cache blocking: K block, M block (rows, AVX-512 path); 0 leaves one unchanged; the values
 * before the call are stored in old[0], old[1] */
/* starts the OpenMP team of `threads` with every worker moved off the caller's CPU (then
 * unpinned); returns how many moved */
int gk_threads_start(int threads);
void gk_gemm_tune(long kc, long mc, long *old);

/* Convolution (conv.c) */
void gk_pack_b_conv(const float *x, long c, long h, long w, long kh, long kw, long sh, long sw,
                    long dh, long dw, long ph, long pw, long oh, long ow, float *out, int threads);
void gk_depthwise(const float *x, long n, long c, long h, long w, const float *wt, long kh, long kw,
                  long sh, long sw, long dh, long dw, long ph, long pw, long oh, long ow,
                  const float *bias, float lo, float hi, int clip, float *y, int threads);

/* Element-wise, pooling and normalisation (elementwise.c) */
enum { GK_ADD = 0, GK_SUB = 1, GK_MUL = 2, GK_DIV = 3 };
/* y[o, m, i] = a[o, m, i] (op) b[bo*o, bm*m, bi*i] (bo/bm/bi 0 or 1: broadcast flags) */
void gk_binary(int op, const float *a, const float *b, float *y, long outer, long mid, long inner,
               int bo, int bm, int bi, int swap, int threads);
enum { GK_RELU = 0, GK_CLIP = 1, GK_SIGMOID = 2 };
void gk_unary(int op, const float *x, float *y, long n, float lo, float hi, int threads);
/* y[o, c, i] = x[o, c, i] * scale[c] + shift[c] */
void gk_channel_affine(const float *x, const float *scale, const float *shift, float *y,
                       long outer, long c, long inner, int threads);
/* max or average pool of planes x (nc, h, w); average divides by cnt_y[oy] * cnt_x[ox] */
void gk_pool2d(int is_max, const float *x, long nc, long h, long w, long kh, long kw, long sh,
               long sw, long dh, long dw, long ph, long pw, long oh, long ow, const float *cnt_y,
               const float *cnt_x, float *y, int threads);
void gk_global_avg(const float *x, long nc, long hw, float *y, int threads);
void gk_softmax_rows(const float *x, float *y, long rows, long n, int threads);
/* per row r: mean[r], inv_std[r] = 1/sqrt(var + eps), y = ((x - mean) * inv_std) * scale + bias */
void gk_layernorm_rows(const float *x, const float *scale, const float *bias, float *y, float *mean,
                       float *inv_std, long rows, long n, float eps, int threads);

#endif
