/* Driver of gk_attention (see attention.h): the packed GEMM's entry points on each head, the
 * per-level softmax row of normalize_kernels.inc between them. Baseline ISA: the time is in the
 * kernels it calls. */
#include "attention.h"

#include <math.h>
#include <stdlib.h>

#include "dispatch.h"
#include "gemm.h"
#include "gemm_direct.h"
#include "isa.h"
#include "normalize.h" /* gk_k.normalize->softmax_scaled_rows */
#include "threadpool.h"

/* per-thread buffers (threadpool.h's gk_tls_buffer) */
static __thread gk_tls_buffer tl_work;

static float *work_of(size_t n) { return (float *)gk_tls_grow(&tl_work, n * sizeof(float)); }

static size_t up16(size_t n) { return (n + 15) / 16 * 16; }

/* query rows per block: the block's scores (rows x s) and its packed P stay in L1 for s = 128 */
#define ATT_ROWS 48

/* P v with v read in place (gemm_direct.h) rather than packed: -1 not yet read, 0 pack, 1 direct
 * (GOSSAMER_ATTENTION_V=direct|pack, for measurements). Default pack: v's rows lie 3E floats
 * apart (MiniLM: 4608 bytes, 8 of L1's 64 sets), and reading them in place measured ~10 % slower
 * than packing them (ext().attention at 1 thread, minima of 300 calls, three interleaved runs). */
static int g_direct_v = -1;

static int direct_v(void) {
    if (g_direct_v < 0) {
        const char *v = getenv("GOSSAMER_ATTENTION_V");
        g_direct_v = v && v[0] == 'd';
    }
    return g_direct_v;
}

typedef struct {
    long s, heads, d;
    const float *qkv, *mask;
    long mask_bs;
    float scale;
    float *y;
    int failed;
} att_job;

static void att_heads(void *ctx, long u0, long u1, int seat) {
    att_job *j = (att_job *)ctx;
    long s = j->s, d = j->d, e = j->heads * d, ld = 3 * e;
    long rb = s <= 2 * ATT_ROWS ? s : ATT_ROWS;
    size_t nq = up16(gk_packed_a_size(s, d)), nk = up16(gk_packed_b_size(d, s));
    size_t ns = up16((size_t)(rb * s)), np = up16(gk_packed_a_size(rb, s));
    size_t nv = up16(gk_packed_b_size(s, d)), nr = up16((size_t)s * 2); /* roff: s longs */
    float *w = work_of(nq + nk + ns + np + nv + nr);
    int direct = direct_v();
    (void)seat;
    if (!w) {
        j->failed = 1;
        return;
    }
    float *qp = w, *kp = qp + nq, *sc = kp + nk, *pp = sc + ns, *vp = pp + np;
    long *roff = (long *)(vp + nv);
    for (long kk = 0; kk < s; kk++) roff[kk] = kk * ld;
    gk_epilogue none = {0};
    none.lo = -INFINITY;
    none.hi = INFINITY;
    for (long u = u0; u < u1; u++) {
        long b = u / j->heads, h = u % j->heads;
        const float *q = j->qkv + b * s * ld + h * d, *k = q + e, *v = q + 2 * e;
        const float *mask = j->mask ? j->mask + b * j->mask_bs : NULL;
        float *y = j->y + b * s * e + h * d;
        int packed_v = 0;
        gk_pack_a(s, d, q, ld, 1, qp, 1);
        gk_pack_b(d, s, k, 1, ld, kp, 1); /* B[c, key] = k[key, c] */
        for (long r0 = 0; r0 < s; r0 += rb) { /* rb is a multiple of GK_MR unless rb = s */
            long rows = GK_MIN(rb, s - r0);
            gk_gemm_packed(rows, s, d, qp + r0 * d, kp, sc, s, &none, 1);
            gk_k.normalize->softmax_scaled_rows(sc, sc, rows, s, j->scale, mask);
            gk_pack_a(rows, s, sc, s, 1, pp, 1);
            float *yr = y + r0 * e;
            if (direct && !packed_v && gk_gemm_direct(rows, d, s, pp, v, roff, yr, e, &none, 1))
                continue;
            if (!packed_v) {
                gk_pack_b(s, d, v, ld, 1, vp, 1);
                packed_v = 1;
            }
            gk_gemm_packed(rows, d, s, pp, vp, yr, e, &none, 1);
        }
    }
}

int gk_attention(long batch, long s, long heads, long d, const float *qkv, const float *mask,
                 long mask_bs, float scale, float *y, int threads) {
    if (batch <= 0 || s <= 0 || heads <= 0 || d <= 0) return 0;
    att_job j = {s, heads, d, qkv, mask, mask_bs, scale, y, 0};
    long units = batch * heads;
    /* a head's work: 4 s^2 d flops and s^2 exps; one unit per chunk */
    gk_parallel_range(units, units > 1 && s * s * d >= 16384 ? threads : 1, att_heads, &j);
    return j.failed ? -1 : 0;
}
