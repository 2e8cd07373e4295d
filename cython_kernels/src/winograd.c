/* Winograd F(4x4, 3x3) and F(2x2, 3x3) convolution (stride 1, dilation 1, one group) on the
 * packed GEMM. Described for F(4x4, 3x3); F(2x2, 3x3) is the same with 2x2 tiles, 16 positions.
 *
 * Per image and chunk of output tiles (4x4 each): the zero-padded input is gathered 16 tiles at a
 * time (one packed-B panel), transformed (B^T d B, 36 values per tile and channel) straight into 36
 * packed-B matrices (K = Cin, N = tiles); 36 GEMMs with the transformed weights (packed once at
 * prepare, U = G g G^T) give M; the output transform (A^T M A) adds the bias, clips and scatters
 * the 4x4 tiles. 36 multiplies per 16 outputs instead of 144 (F(2x2, 3x3): 16 per 4 instead of 36)
 * part alone), paid for with the transforms, which are memory-bound.
 */
#include <stdlib.h>
#include <string.h>

#include "simd.h"
#include "gkx.h"

#define WL GK_NR /* tiles per panel (lanes of the transforms) */

#if GK_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define GK_SFX(name) name##_avx2
#include "winograd_body.inc"
#undef GK_SFX
#pragma GCC pop_options
#endif
#define GK_SFX(name) name##_generic
#include "winograd_body.inc"
#undef GK_SFX

static long round16(long v) { return (v + WL - 1) / WL * WL; }

size_t gk_winograd_work(long mt, long c, long m, long oh, long ow, long chunk) {
    long th = (oh + mt - 1) / mt, tw = (ow + mt - 1) / mt, a = mt + 2;
    long tiles = th * tw, ct = round16(GK_MIN(tiles, chunk));
    return (size_t)(c * (th * mt + 2) * (tw * mt + 2)) +
           (size_t)(a * a) * (size_t)(c + m) * (size_t)ct;
}

void gk_winograd_conv(long mt, const float *x, long n, long c, long h, long w, long ph, long pw,
                      long oh, long ow, const float *u, long m, const float *bias, float lo,
                      float hi, int clip, float *y, float *work, long chunk, int threads) {
    long th = (oh + mt - 1) / mt, tw = (ow + mt - 1) / mt, tiles = th * tw;
    long hp = th * mt + 2, wp = tw * mt + 2, a = mt + 2, a2 = a * a;
    long ct = round16(GK_MIN(tiles, chunk));
    float *xp = work, *vb = xp + c * hp * wp, *mb = vb + a2 * c * ct;
    size_t asz = gk_packed_a_size(m, c);
    int use_avx2 = gk_simd_avx2;
    gk_epilogue plain = {NULL, NULL, 0.0f, 0.0f, 0};
    int gemm_outer = threads > 1 ? threads : 1;
    for (long img = 0; img < n; img++) {
        const float *xi = x + img * c * h * w;
        float *yi = y + img * m * oh * ow;
        /* the zero-padded image every tile reads (rows/columns no tile reads are left out) */
#pragma omp parallel for schedule(static) num_threads(threads) if (c * hp * wp > 65536)
        for (long ci = 0; ci < c; ci++) {
            float *dst = xp + ci * hp * wp;
            memset(dst, 0, (size_t)(hp * wp) * sizeof(float));
            long x0 = GK_MAX(0L, -pw), x1 = GK_MIN(w, wp - pw);
            for (long iy = GK_MAX(0L, -ph); iy < h && iy + ph < hp; iy++)
                if (x1 > x0)
                    memcpy(dst + (iy + ph) * wp + x0 + pw, xi + ci * h * w + iy * w + x0,
                           (size_t)(x1 - x0) * sizeof(float));
        }
        for (long t0 = 0; t0 < tiles; t0 += ct) {
            long nt = GK_MIN(ct, tiles - t0), ntp = round16(nt), panels = ntp / WL;
            /* input transform: V[k] (packed B, K = c, N = ntp) for k < a2 */
#pragma omp parallel num_threads(threads) if (panels * c > 8)
            {
                float d[36 * WL], v[36 * WL];
#pragma omp for schedule(static)
                for (long pc = 0; pc < panels * c; pc++) {
                    long p = pc / c, ci = pc % c;
                    const float *plane = xp + ci * hp * wp;
                    for (long l = 0; l < WL; l++) {
                        long t = t0 + p * WL + l;
                        if (t >= t0 + nt) {
                            for (long k = 0; k < a2; k++) d[k * WL + l] = 0.0f;
                            continue;
                        }
                        const float *s = plane + (t / tw) * mt * wp + (t % tw) * mt;
                        for (long r = 0; r < a; r++)
                            for (long q = 0; q < a; q++) d[(r * a + q) * WL + l] = s[r * wp + q];
                    }
#if GK_X86
                    if (use_avx2)
                        mt == 4 ? wino_in_avx2(d, v) : wino_in2_avx2(d, v);
                    else
#endif
                        mt == 4 ? wino_in_generic(d, v) : wino_in2_generic(d, v);
                    for (long k = 0; k < a2; k++)
                        memcpy(vb + k * c * ntp + p * c * WL + ci * WL, v + k * WL,
                               WL * sizeof(float));
                }
            }
            /* a2 GEMMs M[k] (m x ntp) = U[k] @ V[k]: spread over the threads, one each */
#pragma omp parallel for schedule(static) num_threads(gemm_outer)
            for (long k = 0; k < a2; k++)
                gk_gemm_packed(m, ntp, c, u + k * asz, vb + k * c * ntp, mb + k * m * ntp, ntp,
                               &plain, 1);
            /* output transform, bias, clip, scatter */
#pragma omp parallel num_threads(threads) if (panels * m > 8)
            {
                float mm[36 * WL], o[16 * WL];
#pragma omp for schedule(static)
                for (long pm = 0; pm < panels * m; pm++) {
                    long p = pm / m, co = pm % m;
                    for (long k = 0; k < a2; k++)
                        memcpy(mm + k * WL, mb + k * m * ntp + co * ntp + p * WL,
                               WL * sizeof(float));
                    float b = bias ? bias[co] : 0.0f;
#if GK_X86
                    if (use_avx2)
                        mt == 4 ? wino_out_avx2(mm, o, b, lo, hi, clip)
                                : wino_out2_avx2(mm, o, b, lo, hi, clip);
                    else
#endif
                        mt == 4 ? wino_out_generic(mm, o, b, lo, hi, clip)
                                : wino_out2_generic(mm, o, b, lo, hi, clip);
                    float *plane = yi + co * oh * ow;
                    for (long l = 0; l < WL; l++) {
                        long t = t0 + p * WL + l;
                        if (t >= t0 + nt) break;
                        long oy = (t / tw) * mt, ox = (t % tw) * mt;
                        long rows = GK_MIN(mt, oh - oy), cols = GK_MIN(mt, ow - ox);
                        for (long i = 0; i < rows; i++)
                            for (long j = 0; j < cols; j++)
                                plane[(oy + i) * ow + ox + j] = o[(i * mt + j) * WL + l];
                    }
                }
            }
        }
    }
    (void)use_avx2;
}
