/* Packed SGEMM: 6x16 register-blocked micro-kernel (AVX2/FMA or generic), fused epilogue.
 *
 * Packed A: ceil(M/6) panels, each K x 6 (k-major), rows past M zero.
 * Packed B: ceil(N/16) panels, each K x 16 (k-major), columns past N zero.
 * Keeping a whole panel's K contiguous lets one packing serve any K blocking; constant operands
 * (weights) are packed once at compile time. C is split into tiles run by OpenMP threads; each tile
 * walks K in blocks of KC so one B micro-panel (KC x 16) stays in L1 while A panels stream from L2.
 */
#include <stdlib.h>
#include <string.h>

#include "simd.h"

#define KC 256
#define MC (GK_MR * 16)
#define NC_MAX (GK_NR * 12)

size_t gk_packed_a_size(long m, long k) {
    return (size_t)((m + GK_MR - 1) / GK_MR) * GK_MR * (size_t)(k > 0 ? k : 1);
}

size_t gk_packed_b_size(long k, long n) {
    return (size_t)((n + GK_NR - 1) / GK_NR) * GK_NR * (size_t)(k > 0 ? k : 1);
}

void gk_pack_a(long m, long k, const float *a, long s_m, long s_k, float *out, int threads) {
    long panels = (m + GK_MR - 1) / GK_MR;
#pragma omp parallel for schedule(static) num_threads(threads) if (panels * k > 32768)
    for (long p = 0; p < panels; p++) {
        float *dst = out + p * k * GK_MR;
        long rows = GK_MIN(GK_MR, m - p * GK_MR);
        const float *src = a + p * GK_MR * s_m;
        for (long kk = 0; kk < k; kk++) {
            for (long r = 0; r < rows; r++) dst[kk * GK_MR + r] = src[r * s_m + kk * s_k];
            for (long r = rows; r < GK_MR; r++) dst[kk * GK_MR + r] = 0.0f;
        }
    }
}

void gk_pack_b(long k, long n, const float *b, long s_k, long s_n, float *out, int threads) {
    long panels = (n + GK_NR - 1) / GK_NR;
#pragma omp parallel for schedule(static) num_threads(threads) if (panels * k > 32768)
    for (long p = 0; p < panels; p++) {
        float *dst = out + p * k * GK_NR;
        long cols = GK_MIN(GK_NR, n - p * GK_NR);
        const float *src = b + p * GK_NR * s_n;
        for (long kk = 0; kk < k; kk++) {
            const float *row = src + kk * s_k;
            float *d = dst + kk * GK_NR;
            if (s_n == 1) {
                memcpy(d, row, (size_t)cols * sizeof(float));
            } else {
                for (long j = 0; j < cols; j++) d[j] = row[j * s_n];
            }
            for (long j = cols; j < GK_NR; j++) d[j] = 0.0f;
        }
    }
}

/* One 6x16 block: c = (load_c ? c : 0) + a_panel @ b_panel; if last, then the epilogue.
 * br: 6 row biases or NULL; bc: 16 column biases or NULL. */
typedef void (*micro_fn)(long kc, const float *a, const float *b, float *c, long ldc, int load_c,
                         int last, const float *br, const float *bc, float lo, float hi, int clip);

#if GK_X86
GK_TARGET_AVX2 static void micro_avx2(long kc, const float *restrict a, const float *restrict b,
                                      float *restrict c, long ldc, int load_c, int last,
                                      const float *br, const float *bc, float lo, float hi,
                                      int clip) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
#pragma GCC unroll 4
    for (long k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 av;
        av = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(av, b0, c00); c01 = _mm256_fmadd_ps(av, b1, c01);
        av = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(av, b0, c10); c11 = _mm256_fmadd_ps(av, b1, c11);
        av = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(av, b0, c20); c21 = _mm256_fmadd_ps(av, b1, c21);
        av = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(av, b0, c30); c31 = _mm256_fmadd_ps(av, b1, c31);
        av = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(av, b0, c40); c41 = _mm256_fmadd_ps(av, b1, c41);
        av = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(av, b0, c50); c51 = _mm256_fmadd_ps(av, b1, c51);
        a += GK_MR;
        b += GK_NR;
    }
    __m256 bc0 = _mm256_setzero_ps(), bc1 = _mm256_setzero_ps();
    if (last && bc) { bc0 = _mm256_loadu_ps(bc); bc1 = _mm256_loadu_ps(bc + 8); }
    /* max(lo, x) / min(hi, x) return x when x is NaN: NaN propagates as in the reference */
    __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
#define GK_ROW(i, x0, x1)                                                             \
    do {                                                                              \
        float *ci = c + (i) * ldc;                                                    \
        if (load_c) { x0 = _mm256_add_ps(x0, _mm256_loadu_ps(ci));                     \
                      x1 = _mm256_add_ps(x1, _mm256_loadu_ps(ci + 8)); }               \
        if (last) {                                                                   \
            if (br) { __m256 r = _mm256_set1_ps(br[i]);                               \
                      x0 = _mm256_add_ps(x0, r); x1 = _mm256_add_ps(x1, r); }         \
            if (bc) { x0 = _mm256_add_ps(x0, bc0); x1 = _mm256_add_ps(x1, bc1); }     \
            if (clip) { x0 = _mm256_min_ps(vhi, _mm256_max_ps(vlo, x0));               \
                        x1 = _mm256_min_ps(vhi, _mm256_max_ps(vlo, x1)); }             \
        }                                                                             \
        _mm256_storeu_ps(ci, x0); _mm256_storeu_ps(ci + 8, x1);                       \
    } while (0)
    GK_ROW(0, c00, c01); GK_ROW(1, c10, c11); GK_ROW(2, c20, c21);
    GK_ROW(3, c30, c31); GK_ROW(4, c40, c41); GK_ROW(5, c50, c51);
#undef GK_ROW
}
#endif

static void micro_generic(long kc, const float *restrict a, const float *restrict b,
                          float *restrict c, long ldc, int load_c, int last, const float *br,
                          const float *bc, float lo, float hi, int clip) {
    float acc[GK_MR][GK_NR];
    memset(acc, 0, sizeof acc);
    for (long k = 0; k < kc; k++) {
        for (int i = 0; i < GK_MR; i++) {
            float av = a[i];
            for (int j = 0; j < GK_NR; j++) acc[i][j] += av * b[j];
        }
        a += GK_MR;
        b += GK_NR;
    }
    for (int i = 0; i < GK_MR; i++) {
        float *ci = c + i * ldc;
        for (int j = 0; j < GK_NR; j++) {
            float v = acc[i][j];
            if (load_c) v += ci[j];
            if (last) {
                if (br) v += br[i];
                if (bc) v += bc[j];
                /* max then min, as the reference's minimum(maximum(x, lo), hi) (NaN: see docs) */
                if (clip) { v = v < lo ? lo : v; v = v > hi ? hi : v; }
            }
            ci[j] = v;
        }
    }
}

static float *padded_copy(const float *v, long n, long to) {
    if (!v) return NULL;
    float *out = (float *)calloc((size_t)(n + to), sizeof(float));
    if (out) memcpy(out, v, (size_t)n * sizeof(float));
    return out;
}

void gk_gemm_packed(long m, long n, long k, const float *ap, const float *bp, float *c, long ldc,
                    const gk_epilogue *ep, int threads) {
    if (m <= 0 || n <= 0) return;
    micro_fn micro = micro_generic;
#if GK_X86
    if (gk_simd_avx2) micro = micro_avx2;
#endif
    float *br = padded_copy(ep->bias_row, m, GK_MR);
    float *bc = padded_copy(ep->bias_col, n, GK_NR);
    /* equal tiles: M split into tm row blocks, N into tn panel blocks, tm * tn a multiple of the
     * thread count where N allows it (uneven tiles leave a core idle at the end) */
    long tm = (m + MC - 1) / MC;
    long mc = ((m + tm - 1) / tm + GK_MR - 1) / GK_MR * GK_MR;
    tm = (m + mc - 1) / mc;
    long npan = (n + GK_NR - 1) / GK_NR;
    long tn = (npan + NC_MAX / GK_NR - 1) / (NC_MAX / GK_NR);
    while (tn < npan && (tm * tn) % threads) tn++;
    long nc = (npan + tn - 1) / tn * GK_NR;
    tn = (n + nc - 1) / nc;
    long tiles = tm * tn;
    int nthreads = (int)GK_MIN((long)threads, tiles);
    if ((double)m * n * (k + 1) < 65536.0) nthreads = 1; /* too small to pay for a fork */
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (long t = 0; t < tiles; t++) {
        long m0 = (t / tn) * mc, n0 = (t % tn) * nc;
        long m1 = GK_MIN(m, m0 + mc), n1 = GK_MIN(n, n0 + nc);
        float tmp[GK_MR * GK_NR];
        for (long k0 = 0;; k0 += KC) {
            long kc = GK_MIN((long)KC, k - k0);
            if (kc < 0) kc = 0;
            int first = k0 == 0, last = k0 + kc >= k;
            for (long j = n0; j < n1; j += GK_NR) {
                const float *b = bp + (j / GK_NR) * k * GK_NR + k0 * GK_NR;
                long cols = GK_MIN((long)GK_NR, n1 - j);
                for (long i = m0; i < m1; i += GK_MR) {
                    const float *a = ap + (i / GK_MR) * k * GK_MR + k0 * GK_MR;
                    long rows = GK_MIN((long)GK_MR, m1 - i);
                    float *ct = c + i * ldc + j;
                    const float *bri = br ? br + i : NULL, *bcj = bc ? bc + j : NULL;
                    if (rows == GK_MR && cols == GK_NR) {
                        micro(kc, a, b, ct, ldc, !first, last, bri, bcj, ep->lo, ep->hi, ep->clip);
                        continue;
                    }
                    if (!first)
                        for (long r = 0; r < rows; r++)
                            memcpy(tmp + r * GK_NR, ct + r * ldc, (size_t)cols * sizeof(float));
                    micro(kc, a, b, tmp, GK_NR, !first, last, bri, bcj, ep->lo, ep->hi, ep->clip);
                    for (long r = 0; r < rows; r++)
                        memcpy(ct + r * ldc, tmp + r * GK_NR, (size_t)cols * sizeof(float));
                }
            }
            if (last) break;
        }
    }
    free(br);
    free(bc);
}

/* C[b] = A[b] @ B[b] for b < batch, both operands packed per batch (neither is constant). A batch
 * stride of 0 broadcasts that operand. Batches run in parallel when there are enough of them. */
void gk_matmul_batched(long batch, long m, long n, long k, const float *a, long a_bs, long a_sm,
                       long a_sk, const float *b, long b_bs, long b_sk, long b_sn, float *c,
                       long c_bs, int threads) {
    gk_epilogue ep = {NULL, NULL, 0.0f, 0.0f, 0};
    size_t asz = gk_packed_a_size(m, k), bsz = gk_packed_b_size(k, n);
    int outer = batch >= threads ? threads : 1, inner = outer > 1 ? 1 : threads;
    if ((double)batch * m * n * (k + 1) < 65536.0) outer = inner = 1;
#pragma omp parallel num_threads(outer)
    {
        float *ap = (float *)malloc(asz * sizeof(float)), *bp = (float *)malloc(bsz * sizeof(float));
#pragma omp for schedule(static)
        for (long i = 0; i < batch; i++) {
            if (!ap || !bp) continue;
            gk_pack_a(m, k, a + i * a_bs, a_sm, a_sk, ap, inner);
            gk_pack_b(k, n, b + i * b_bs, b_sk, b_sn, bp, inner);
            gk_gemm_packed(m, n, k, ap, bp, c + i * c_bs, n, &ep, inner);
        }
        free(ap);
        free(bp);
    }
}
