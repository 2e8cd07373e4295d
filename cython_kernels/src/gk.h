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

#define GK_MR 6  /* micro-kernel rows (packed A panel height) */
#define GK_NR 16 /* micro-kernel columns (packed B panel width) */

/* SIMD dispatch (dispatch.c) */
int gk_cpu_has_avx2_fma(void);
extern int gk_simd_avx2; /* 1: AVX2/FMA variants are used */
void gk_set_simd(int avx2);

/* Epilogue applied to every output element: y = clip(y + bias_row[i] + bias_col[j], lo, hi). */
typedef struct {
    const float *bias_row; /* length M (padded to a multiple of GK_MR) or NULL */
    const float *bias_col; /* length N (padded to a multiple of GK_NR) or NULL */
    float lo, hi;
    int clip;
} gk_epilogue;

/* GEMM (gemm.c): C[M,N] = epilogue(A[M,K] @ B[K,N]) on packed operands. */
size_t gk_packed_a_size(long m, long k);
size_t gk_packed_b_size(long k, long n);
void gk_pack_a(long m, long k, const float *a, long s_m, long s_k, float *out, int threads);
void gk_pack_b(long k, long n, const float *b, long s_k, long s_n, float *out, int threads);
void gk_gemm_packed(long m, long n, long k, const float *ap, const float *bp, float *c, long ldc,
                    const gk_epilogue *ep, int threads);

void gk_matmul_batched(long batch, long m, long n, long k, const float *a, long a_bs, long a_sm,
                       long a_sk, const float *b, long b_bs, long b_sk, long b_sn, float *c,
                       long c_bs, int threads);

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
