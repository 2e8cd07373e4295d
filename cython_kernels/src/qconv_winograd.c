/* The int8 Winograd conv's driver (see qconv_winograd.h): the input transform per channel pair
 * straight into the packed B of each of the 16 GEMMs, the GEMMs, then the output transform and
 * the requantising epilogue per output channel. Transforms and interleaving are per-level kernels
 * (qconv_winograd_kernels.inc). */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "isa.h"
#include "qconv_winograd.h"
#include "threadpool.h"

static long tiles(long n) { return (n + 1) / 2; }

size_t gk_qwino_packed_b_size(long c, long t) { return 16 * gk_qpacked_b_size(c, t); }

size_t gk_qwino_in_scratch(long tw) { return (size_t)(12 * ((tw + 16) / 16 * 16 + 16) + 16); }

/* per thread: one output channel's oh x ow int32s (rounded up to even) and the sums */
static size_t out_rows(long oh, long ow) {
    return (size_t)(2 * tiles(oh) * 2 * tiles(ow) + 12 * ((tiles(ow) + 7) / 8 * 8) + 48);
}

size_t gk_qwino_work(long m, long oh, long ow, int threads) {
    size_t t = (size_t)tiles(oh) * (size_t)tiles(ow);
    return 16 * (size_t)m * t + (size_t)(threads > 0 ? threads : 1) * out_rows(oh, ow);
}

typedef struct {
    const void *x;
    int type;
    long c, h, w, ph, pw, th, tw, t, k2;
    int32_t zx;
    int16_t *bp;
    size_t bsize;
    gk_seat_bufs bufs;
    int failed;
} qwino_in_job;

/* channel pairs [k0, k1): both channels transformed, then interleaved into the 16 packed Bs */
static void qwino_in_pairs(void *ctx, long k0, long k1, int seat) {
    qwino_in_job *j = (qwino_in_job *)ctx;
    const gk_qconv_kernels *kc = gk_k.qconv;
    int16_t *v = (int16_t *)gk_seat_buf(&j->bufs, seat);
    if (!v) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    long t = j->t, vs = t + 16, plane = j->h * j->w;
    int16_t *scratch = v + 2 * 16 * vs;
    for (long kp = k0; kp < k1; kp++) {
        for (long hf = 0; hf < 2; hf++) {
            long ch = 2 * kp + hf;
            int16_t *vc = v + hf * 16 * vs;
            if (ch >= j->c) {
                memset(vc, 0, (size_t)(16 * vs) * sizeof(int16_t));
                continue;
            }
            const char *xc = (const char *)j->x + (size_t)ch * (size_t)plane;
            kc->wino_in(xc, j->type, j->h, j->w, j->zx, j->ph, j->pw, j->th, j->tw, scratch, vc,
                        vs);
        }
        for (long q = 0; q < 16; q++)
            kc->pack_b_pair16(v + q * vs, v + 16 * vs + q * vs, t, kp, j->k2,
                              j->bp + q * j->bsize);
    }
}

typedef struct {
    long m, t, th, tw, oh, ow;
    const int32_t *mbuf;
    int32_t *rows;
    size_t per, es;
    const gk_qepilogue *ep;
    char *y;
} qwino_out_job;

/* output channels [o0, o1) */
static void qwino_out_channels(void *ctx, long o0, long o1, int seat) {
    const qwino_out_job *j = (const qwino_out_job *)ctx;
    int32_t *acc = j->rows + (size_t)seat * j->per;
    int32_t *sums = acc + 2 * j->th * 2 * j->tw + 16;
    long hw = j->oh * j->ow;
    for (long o = o0; o < o1; o++) {
        gk_k.qconv->wino_out(j->mbuf + o * j->t, j->m * j->t, j->th, j->tw, j->oh, j->ow, sums,
                             acc);
        gk_k.qgemm->epilogue(acc, hw, 1, hw, j->ep, o, 0, j->y + (size_t)o * hw * j->es, hw);
    }
}

int gk_qconv_winograd(const void *x, int type, long c, long h, long w, long ph, long pw, long oh,
                      long ow, int32_t zx, const int16_t *up, long m, const gk_qepilogue *ep,
                      void *y, int16_t *bp, int32_t *work, int threads) {
    long th = tiles(oh), tw = tiles(ow), t = th * tw, k2 = (c + 1) / 2;
    size_t bsize = gk_qpacked_b_size(c, t), asize = gk_qpacked_a_size(m, c);
    qwino_in_job in = {x, type, c, h, w, ph, pw, th, tw, t, k2, zx, bp, bsize, {0, {NULL}}, 0};
    gk_seat_bufs_init(&in.bufs,
                      (2 * 16 * (size_t)(t + 16) + gk_qwino_in_scratch(tw)) * sizeof(int16_t));
    gk_parallel_range(k2, (double)c * h * w * 16 > 65536 ? threads : 1, qwino_in_pairs, &in);
    gk_seat_bufs_free(&in.bufs);
    if (in.failed) return 0;
    gk_qepilogue raw;
    memset(&raw, 0, sizeof(raw));
    raw.out_type = GK_Q_I32;
    gk_qgemm_packed_batch(16, m, t, c, up, asize, bp, bsize, work, (size_t)(m * t), t, &raw, 0, 0,
                          threads);
    qwino_out_job out = {m, t, th, tw, oh, ow, work, work + 16 * m * t, out_rows(oh, ow),
                         ep->out_type >= GK_Q_I32 ? 4 : 1, ep, (char *)y};
    gk_parallel_range(m, (double)m * oh * ow * 16 > 65536 ? threads : 1, qwino_out_channels, &out);
    return 1;
}
