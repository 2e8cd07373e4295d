/* Driver of gk_attention (see attention.h): per head, k and v packed, then the level's fused
 * rows kernel (attention_kernels.inc), or where it has none (or GOSSAMER_ATTENTION_FUSED=0) the
 * packed GEMM's entry points with the per-level softmax rows of normalize_kernels.inc between
 * them. Baseline ISA: the time is in the kernels it calls. */
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

/* the fused head (gk_attention_tune_fused): -1 not yet read */
static int g_fused = -1;

int gk_attention_tune_fused(int on) {
    if (g_fused < 0) {
        const char *v = getenv("GOSSAMER_ATTENTION_FUSED");
        g_fused = !(v && v[0] == '0');
    }
    int old = g_fused;
    if (on >= 0) g_fused = on != 0;
    return old;
}

typedef struct {
    long s, heads, d;
    const float *qkv, *mask;
    long mask_bs;
    float scale;
    float *y;
    long parts; /* units per head: row ranges of whole panels (1: the whole head) */
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

/* the fused path: unit u is part u % parts of head u / parts (its rows a range of whole 12-row
 * panels); k and v packed per unit, then the level's rows kernel */
static void att_fused(void *ctx, long u0, long u1, int seat) {
    att_job *j = (att_job *)ctx;
    long s = j->s, d = j->d, e = j->heads * d, ld = 3 * e, panels = (s + GK_MR - 1) / GK_MR;
    size_t nk = up16(gk_packed_b_size(d, s)), nv = up16(gk_packed_b_size(s, d));
    float *w = work_of(nk + nv + up16((size_t)GK_MR * s));
    (void)seat;
    if (!w) {
        j->failed = 1;
        return;
    }
    float *kp = w, *vp = w + nk;
    gk_att_head h = {.s = s, .d = d, .ldq = ld, .kp = kp, .vp = vp, .scale = j->scale,
                     .sc = vp + nv, .ldy = e, .kc_s = gk_gemm_kc(d), .kc_v = gk_gemm_kc(s)};
    for (long u = u0; u < u1; u++) {
        long hd = u / j->parts, part = u % j->parts, b = hd / j->heads, hh = hd % j->heads;
        long r0 = panels * part / j->parts * GK_MR;
        long r1 = GK_MIN(s, panels * (part + 1) / j->parts * GK_MR);
        if (r0 >= r1) continue;
        const float *q = j->qkv + b * s * ld + hh * d;
        h.q = q;
        h.mask = j->mask ? j->mask + b * j->mask_bs : NULL;
        h.y = j->y + b * s * e + hh * d;
        gk_pack_b(d, s, q + e, 1, ld, kp, 1); /* B[c, key] = k[key, c] */
        gk_pack_b(s, d, q + 2 * e, ld, 1, vp, 1);
        gk_k.attention->rows(&h, r0, r1);
    }
}

int gk_attention(long batch, long s, long heads, long d, const float *qkv, const float *mask,
                 long mask_bs, float scale, float *y, int threads) {
    if (batch <= 0 || s <= 0 || heads <= 0 || d <= 0) return 0;
    att_job j = {s, heads, d, qkv, mask, mask_bs, scale, y, 1, 0};
    long units = batch * heads;
    /* a head's work: 4 s^2 d flops and s^2 exps; one unit per chunk */
    int nt = units > 1 && s * s * d >= 16384 ? threads : 1;
    if (gk_k.attention->rows && gk_attention_tune_fused(-1)) {
        /* fewer heads than 4 per thread that do not divide evenly over the threads: each head
         * cut into the fewest row ranges that do (each part packs its head's k and v: ~3 % of
         * a head at s = 128; with more heads the imbalance is under that) */
        long panels = (s + GK_MR - 1) / GK_MR;
        if (threads > 1 && units % threads && units < 4L * threads && s * s * d >= 16384) {
            long g = units, t = threads;
            while (t) { /* g = gcd(units, threads) */
                long r = g % t;
                g = t;
                t = r;
            }
            j.parts = GK_MIN(threads / g, panels);
            nt = threads;
        }
        gk_parallel_range(units * j.parts, nt, att_fused, &j);
        return j.failed ? -1 : 0;
    }
    gk_parallel_range(units, nt, att_heads, &j);
    return j.failed ? -1 : 0;
}
