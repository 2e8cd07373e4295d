/* The int8 convolution's drivers (see qconv.h): im2col into the int8 GEMM's packed B, and the
 * depthwise conv over planes (threads share the planes; each has its own padded plane and
 * accumulator rows in `work`). */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "isa.h"
#include "qconv.h"
#include "qconv_split.h"
#include "threadpool.h"

int gk_qsplit_mode = 3;
long gk_qsplit_pieces = 2;

static inline int32_t load_q(const void *p, int type, long i) {
    return type == GK_Q_U8 ? (int32_t)((const uint8_t *)p)[i] : (int32_t)((const int8_t *)p)[i];
}

/* row kk of im2col (K = c*kh*kw rows, n = oh*ow columns; 0 where kk >= K) into r[0:n] */
static inline void im2col_row(const void *x, int type, long c, long h, long w, long kh, long kw,
                              long sh, long sw, long dh, long dw, long ph, long pw, long oh,
                              long ow, int32_t zx, long kk, int16_t *restrict r) {
    if (kk >= c * kh * kw) {
        memset(r, 0, (size_t)(oh * ow) * sizeof(int16_t));
        return;
    }
    long ch = kk / (kh * kw), ky = (kk / kw) % kh, kx = kk % kw;
    /* the output columns whose input column is inside the plane: [x0, x1) */
    long off = kx * dw - pw, x0 = 0, x1 = ow;
    while (x0 < ow && x0 * sw + off < 0) x0++;
    while (x1 > x0 && (x1 - 1) * sw + off >= w) x1--;
    for (long oy = 0; oy < oh; oy++) {
        long iy = oy * sh - ph + ky * dh;
        int16_t *restrict d = r + oy * ow;
        if (iy < 0 || iy >= h) {
            memset(d, 0, (size_t)ow * sizeof(int16_t));
            continue;
        }
        for (long ox = 0; ox < x0; ox++) d[ox] = 0;
        long src = ch * h * w + iy * w + off;
        if (type == GK_Q_U8) {
            const uint8_t *s = (const uint8_t *)x + src;
            if (sw == 1)
                for (long ox = x0; ox < x1; ox++) d[ox] = (int16_t)((int32_t)s[ox] - zx);
            else
                for (long ox = x0; ox < x1; ox++) d[ox] = (int16_t)((int32_t)s[ox * sw] - zx);
        } else {
            const int8_t *s = (const int8_t *)x + src;
            if (sw == 1)
                for (long ox = x0; ox < x1; ox++) d[ox] = (int16_t)((int32_t)s[ox] - zx);
            else
                for (long ox = x0; ox < x1; ox++) d[ox] = (int16_t)((int32_t)s[ox * sw] - zx);
        }
        for (long ox = x1; ox < ow; ox++) d[ox] = 0;
    }
}

/* rows r0, r1 (n columns) as pair kp of every B panel (columns past n: 0) */
static void interleave_pair(const int16_t *restrict r0, const int16_t *restrict r1, long n,
                            long kp, long k2, int16_t *restrict out) {
    long np = (n + GK_QNR - 1) / GK_QNR;
    for (long p = 0; p < np; p++) {
        int16_t *restrict d = out + (p * k2 + kp) * 2 * GK_QNR;
        long j0 = p * GK_QNR;
        if (j0 + GK_QNR <= n) {
            for (int j = 0; j < GK_QNR; j++) {
                d[2 * j] = r0[j0 + j];
                d[2 * j + 1] = r1[j0 + j];
            }
        } else {
            for (int j = 0; j < GK_QNR; j++) {
                d[2 * j] = j0 + j < n ? r0[j0 + j] : 0;
                d[2 * j + 1] = j0 + j < n ? r1[j0 + j] : 0;
            }
        }
    }
}

typedef struct {
    const void *x;
    int type;
    long c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, n, k2;
    int32_t zx;
    int16_t *out;
    gk_seat_bufs bufs; /* two im2col rows */
    int failed;
} qpackb_job;

/* row pairs [k0, k1) of the packed im2col matrix */
static void qpack_b_pairs(void *ctx, long k0, long k1, int seat) {
    qpackb_job *j = (qpackb_job *)ctx;
    int16_t *rows = (int16_t *)gk_seat_buf(&j->bufs, seat);
    if (!rows) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    for (long kp = k0; kp < k1; kp++) {
        im2col_row(j->x, j->type, j->c, j->h, j->w, j->kh, j->kw, j->sh, j->sw, j->dh, j->dw,
                   j->ph, j->pw, j->oh, j->ow, j->zx, 2 * kp, rows);
        im2col_row(j->x, j->type, j->c, j->h, j->w, j->kh, j->kw, j->sh, j->sw, j->dh, j->dw,
                   j->ph, j->pw, j->oh, j->ow, j->zx, 2 * kp + 1, rows + j->n);
        interleave_pair(rows, rows + j->n, j->n, kp, j->k2, j->out);
    }
}

/* row kk of im2col as raw bytes (padding and kk >= K: the zero point's byte zb) into r[0:n] */
static void im2col_bytes(const uint8_t *x, long c, long h, long w, long kh, long kw, long sh,
                         long sw, long dh, long dw, long ph, long pw, long oh, long ow, uint8_t zb,
                         long kk, uint8_t *restrict r) {
    if (kk >= c * kh * kw) {
        memset(r, zb, (size_t)(oh * ow));
        return;
    }
    long ch = kk / (kh * kw), ky = (kk / kw) % kh, kx = kk % kw;
    long off = kx * dw - pw, x0 = 0, x1 = ow;
    while (x0 < ow && x0 * sw + off < 0) x0++;
    while (x1 > x0 && (x1 - 1) * sw + off >= w) x1--;
    for (long oy = 0; oy < oh; oy++) {
        long iy = oy * sh - ph + ky * dh;
        uint8_t *restrict d = r + oy * ow;
        if (iy < 0 || iy >= h || x1 <= x0) {
            memset(d, zb, (size_t)ow);
            continue;
        }
        const uint8_t *src = x + ch * h * w + iy * w + off;
        if (ow < 32) { /* short rows: library calls would cost more than the bytes */
            for (long ox = 0; ox < x0; ox++) d[ox] = zb;
            for (long ox = x0; ox < x1; ox++) d[ox] = src[ox * sw];
            for (long ox = x1; ox < ow; ox++) d[ox] = zb;
            continue;
        }
        memset(d, zb, (size_t)x0);
        if (sw == 1)
            memcpy(d + x0, src + x0, (size_t)(x1 - x0));
        else
            for (long ox = x0; ox < x1; ox++) d[ox] = src[ox * sw];
        memset(d + x1, zb, (size_t)(ow - x1));
    }
}

/* row pairs [k0, k1) of the packed im2col matrix, through byte rows and the level's pair
 * packer; a 1x1, stride-1, unpadded conv's rows are the input planes themselves */
static void qpack_b_byte_pairs(void *ctx, long k0, long k1, int seat) {
    qpackb_job *j = (qpackb_job *)ctx;
    long n = j->n, k = j->c * j->kh * j->kw;
    int direct = j->kh == 1 && j->kw == 1 && j->sh == 1 && j->sw == 1 && j->ph == 0 &&
                 j->pw == 0 && j->oh == j->h && j->ow == j->w;
    uint8_t *rows = (uint8_t *)gk_seat_buf(&j->bufs, seat);
    if (!rows) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    const uint8_t *x = (const uint8_t *)j->x;
    for (long kp = k0; kp < k1; kp++) {
        const uint8_t *r[2];
        for (int h = 0; h < 2; h++) {
            long kk = 2 * kp + h;
            if (direct && kk < k) {
                r[h] = x + kk * n;
                continue;
            }
            im2col_bytes(x, j->c, j->h, j->w, j->kh, j->kw, j->sh, j->sw, j->dh, j->dw, j->ph,
                         j->pw, j->oh, j->ow, (uint8_t)j->zx, kk, rows + h * n);
            r[h] = rows + h * n;
        }
        gk_k.qgemm->pack_b_pair(r[0], r[1], n, j->type, j->zx, kp, j->k2, j->out);
    }
}

int gk_qpack_b_conv(const void *x, int type, long c, long h, long w, long kh, long kw, long sh,
                    long sw, long dh, long dw, long ph, long pw, long oh, long ow, int32_t zx,
                    int16_t *out, int threads) {
    long k = c * kh * kw, k2 = (k + 1) / 2, n = oh * ow;
    qpackb_job j = {x, type, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, n, k2, zx, out,
                    {0, {NULL}}, 0};
    /* a zero point that is a value of the type pads as its own byte; any other, as int16 */
    int bytes = type == GK_Q_U8 ? zx >= 0 && zx <= 255 : zx >= -128 && zx <= 127;
    gk_seat_bufs_init(&j.bufs, (size_t)(2 * n) * (bytes ? 1 : sizeof(int16_t)));
    gk_parallel_range(k2, k * n > 32768 ? threads : 1, bytes ? qpack_b_byte_pairs : qpack_b_pairs,
                      &j);
    gk_seat_bufs_free(&j.bufs);
    return !j.failed;
}

static long padded_h(long kh, long sh, long dh, long oh) { return (oh - 1) * sh + (kh - 1) * dh + 1; }

static void dw_sizes(long kh, long kw, long sh, long sw, long dh, long dw, long oh, long ow,
                     long *hp, long *wp, long *hq, long *wq) {
    *hp = padded_h(kh, sh, dh, oh);
    *wp = padded_h(kw, sw, dw, ow);
    *hq = (*hp + sh - 1) / sh;
    *wq = (*wp + sw - 1) / sw;
}

/* int32-sized words per seat of the 8-channel path: padded input hp x wp x 8, sums oh x ow x 8,
 * taps kh*kw x 8, one int32 output row */
static size_t dw8_work(long kh, long kw, long sh, long sw, long dh, long dw, long oh, long ow) {
    size_t hp = (size_t)padded_h(kh, sh, dh, oh), wp = (size_t)padded_h(kw, sw, dw, ow);
    size_t px = (size_t)oh * (size_t)ow;
    return 8 * (hp * wp + px + (size_t)(kh * kw)) + px + 32;
}

static int dw8_fits(long kh, long kw, long oh, long ow) {
    return oh > 0 && ow > 0 && oh * ow <= GK_QDW8_MAX_PIXELS && kh * kw <= GK_QDW_MAX_TAPS;
}

/* int32-sized words per seat of the fused plane kernel (dw_plane_q8): the phases and their
 * slack, then a byte row of the run rounded up to 64 */
static size_t dwq8_work(long sh, long sw, long hq, long wq, long oh, long ow) {
    size_t plane = (size_t)sh * (size_t)sw * (size_t)hq * (size_t)wq + GK_QDW_Q8_SLACK;
    size_t run = (size_t)(oh - 1) * (size_t)wq + (size_t)ow;
    return plane + (run + 64 + 3) / 4 + 16;
}

static size_t qdw_old_work(long h, long w, long kh, long kw, long sh, long sw, long dh, long dw,
                           long ph, long pw, long oh, long ow) {
    long hp, wp, hq, wq;
    (void)h, (void)w, (void)ph, (void)pw;
    dw_sizes(kh, kw, sh, sw, dh, dw, oh, ow, &hp, &wp, &hq, &wq);
    size_t plane = (size_t)sh * (size_t)sw * (size_t)hq * (size_t)wq;
    size_t planar = plane + (size_t)oh * (size_t)wq + (size_t)oh * (size_t)ow + 32;
    size_t fused = oh > 0 && ow > 0 ? dwq8_work(sh, sw, hq, wq, oh, ow) : 0;
    planar = fused > planar ? fused : planar;
    if (!dw8_fits(kh, kw, oh, ow)) return planar;
    size_t blocked = dw8_work(kh, kw, sh, sw, dh, dw, oh, ow);
    return blocked > planar ? blocked : planar;
}

/* int32 words per seat of gk_qdepthwise: the largest of its paths' needs */
static size_t qdw_all_work(long h, long w, long kh, long kw, long sh, long sw, long dh, long dw,
                           long ph, long pw, long oh, long ow) {
    size_t planar = qdw_old_work(h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow);
    if (oh <= 0 || ow <= 0) return planar;
    size_t b16 = (gk_qdw16_work(kh, kw, sh, sw, dh, dw, oh, ow) + 3) / 4;
    return b16 > planar ? b16 : planar;
}

size_t gk_qdepthwise_work(long h, long w, long kh, long kw, long sh, long sw, long dh, long dw,
                          long ph, long pw, long oh, long ow) {
    return qdw_all_work(h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow);
}

typedef struct {
    const void *x;
    int type;
    long n, c, h, w, mult, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, hp, wp, hq, wq, cm;
    const int16_t *wt;
    int32_t zx;
    const gk_qepilogue *ep;
    void *y;
    int32_t *work;
    size_t per, es;
} qdw_job;

/* planes [p0, p1) of the NCHW int8 depthwise conv; seat's share of `work` */
static void qdw_planes(void *ctx, long p0, long p1, int seat) {
    const qdw_job *j = (const qdw_job *)ctx;
    const gk_qconv_kernels *kc = gk_k.qconv;
    const gk_qgemm_kernels *kg = gk_k.qgemm;
    long oh = j->oh, ow = j->ow, wq = j->wq;
    /* per seat: the int32 outputs, the float sums, the float phases (int32-sized words) */
    int32_t *acc = j->work + (size_t)seat * j->per;
    float *facc = (float *)(acc + (size_t)oh * ow + 16);
    float *xp = facc + (size_t)oh * wq + 16;
    for (long pl = p0; pl < p1; pl++) {
        long ch = pl % j->c;
        kc->dw_phases((const char *)j->x + (size_t)pl * j->h * j->w, j->type, j->h, j->w, j->ph,
                      j->pw, j->hp, j->wp, j->sh, j->sw, j->hq, wq, j->zx, xp);
        kc->dw_plane(xp, j->hq, wq, j->wt + ch * j->kh * j->kw, j->kh, j->kw, j->sh, j->sw, j->dh,
                     j->dw, oh, ow, facc);
        for (long oy = 0; oy < oh; oy++) /* exact integers: rows of wq -> int32 rows of ow */
            for (long ox = 0; ox < ow; ox++) acc[oy * ow + ox] = (int32_t)facc[oy * wq + ox];
        kg->epilogue(acc, oh * ow, 1, oh * ow, j->ep, ch, 0,
                     (char *)j->y + (size_t)pl * oh * ow * j->es, oh * ow);
    }
}

/* blocks [b0, b1) of 8 channels (block b: image b / nb, channels 8 (b % nb) ...) of a small-plane
 * depthwise conv: the 8 planes interleaved into a padded buffer, dw_block8, each channel's sums
 * through the epilogue as its row */
static void qdw8_blocks(void *ctx, long b0, long b1, int seat) {
    const qdw_job *j = (const qdw_job *)ctx;
    long oh = j->oh, ow = j->ow, px = oh * ow, taps = j->kh * j->kw, nb = (j->c + 7) / 8;
    long hp = padded_h(j->kh, j->sh, j->dh, oh), wp = padded_h(j->kw, j->sw, j->dw, ow);
    float *xp = (float *)(j->work + (size_t)seat * j->per);
    float *acc = xp + (size_t)hp * wp * 8, *wv = acc + (size_t)px * 8;
    int32_t *row = (int32_t *)(wv + (size_t)taps * 8);
    /* the input rows / columns that land inside the padded buffer (pads are >= 0) */
    long y1 = GK_MIN(j->h, hp - j->ph), x1 = GK_MIN(j->w, wp - j->pw);
    for (long b = b0; b < b1; b++) {
        long img = b / nb, c0 = (b % nb) * 8, nc = GK_MIN(8, j->c - c0);
        memset(xp, 0, (size_t)hp * wp * 8 * sizeof(float));
        for (long c8 = 0; c8 < nc; c8++) {
            const char *plane = (const char *)j->x + (size_t)(img * j->c + c0 + c8) * j->h * j->w;
            for (long iy = 0; iy < y1; iy++) {
                float *d = xp + ((iy + j->ph) * wp + j->pw) * 8 + c8;
                if (j->type == GK_Q_U8) {
                    const uint8_t *s = (const uint8_t *)plane + iy * j->w;
                    for (long ix = 0; ix < x1; ix++) d[ix * 8] = (float)((int32_t)s[ix] - j->zx);
                } else {
                    const int8_t *s = (const int8_t *)plane + iy * j->w;
                    for (long ix = 0; ix < x1; ix++) d[ix * 8] = (float)((int32_t)s[ix] - j->zx);
                }
            }
        }
        for (long t = 0; t < taps; t++)
            for (long c8 = 0; c8 < 8; c8++)
                wv[t * 8 + c8] = c8 < nc ? (float)j->wt[(c0 + c8) * taps + t] : 0.0f;
        gk_k.qconv->dw_block8(xp, wp, wv, j->kh, j->kw, j->sh, j->sw, j->dh, j->dw, oh, ow, acc);
        for (long c8 = 0; c8 < nc; c8++) {
            for (long p = 0; p < px; p++) row[p] = (int32_t)acc[p * 8 + c8];
            gk_k.qgemm->epilogue(row, px, 1, px, j->ep, c0 + c8, 0,
                                 (char *)j->y + (size_t)(img * j->c + c0 + c8) * px * j->es, px);
        }
    }
}

/* blocks [b0, b1) of 16 channels (block b: image b / nb, channels 16 (b % nb) ...) through the
 * level's channels-last integer kernel (bytes in, bytes out) */
static void qdw16_blocks(void *ctx, long b0, long b1, int seat) {
    const qdw_job *j = (const qdw_job *)ctx;
    long nb = (j->c + 15) / 16;
    void *work = j->work + (size_t)seat * j->per;
    for (long b = b0; b < b1; b++) {
        long img = b / nb, c0 = (b % nb) * 16, nc = GK_MIN(16, j->c - c0);
        size_t at = (size_t)(img * j->c + c0);
        gk_k.qconv->dw_block16((const char *)j->x + at * j->h * j->w, j->type, j->h, j->w, nc,
                               j->wt + c0 * j->kh * j->kw, j->kh, j->kw, j->sh, j->sw, j->dh,
                               j->dw, j->ph, j->pw, j->oh, j->ow, j->zx, j->ep, c0,
                               (uint8_t *)j->y + at * j->oh * j->ow, 0, j->oh, work);
    }
}

/* output rows [r0, r1) of every 16-channel block (gk_qsplit_mode 1: rows of the image, not
 * channels, split between the threads) */
static void qdw16_rows(void *ctx, long r0, long r1, int seat) {
    const qdw_job *j = (const qdw_job *)ctx;
    long nb = (j->c + 15) / 16;
    void *work = j->work + (size_t)seat * j->per;
    for (long b = 0; b < j->n * nb; b++) {
        long img = b / nb, c0 = (b % nb) * 16, nc = GK_MIN(16, j->c - c0);
        size_t at = (size_t)(img * j->c + c0);
        gk_k.qconv->dw_block16((const char *)j->x + at * j->h * j->w, j->type, j->h, j->w, nc,
                               j->wt + c0 * j->kh * j->kw, j->kh, j->kw, j->sh, j->sw, j->dh,
                               j->dw, j->ph, j->pw, j->oh, j->ow, j->zx, j->ep, c0,
                               (uint8_t *)j->y + at * j->oh * j->ow, r0, r1, work);
    }
}

/* planes [p0, p1) through the level's fused plane kernel (bytes in, bytes out) */
static void qdw_q8_planes(void *ctx, long p0, long p1, int seat) {
    const qdw_job *j = (const qdw_job *)ctx;
    float *work = (float *)(j->work + (size_t)seat * j->per);
    for (long pl = p0; pl < p1; pl++) {
        long ch = pl % j->c;
        gk_k.qconv->dw_plane_q8((const char *)j->x + (size_t)pl * j->h * j->w, j->type, j->h,
                                j->w, j->wt + ch * j->kh * j->kw, j->kh, j->kw, j->sh, j->sw,
                                j->dh, j->dw, j->ph, j->pw, j->oh, j->ow, j->zx, j->ep, ch,
                                (uint8_t *)j->y + (size_t)pl * j->oh * j->ow, work);
    }
}

#define GK_QDW_Q8_MIN_WIDTH 12 /* output columns from which the plane kernel beats dw8 blocks */

/* whether the fused plane kernel computes this epilogue (byte output, float requantisation,
 * per-row mult and bias) */
static int dw_q8_fits(const gk_qepilogue *ep) {
    return gk_k.qconv->dw_plane_q8 && (ep->out_type == GK_Q_U8 || ep->out_type == GK_Q_S8) &&
           !ep->fx_mult && ep->mult && ep->mult_cs == 0 && (!ep->bias || ep->bias_cs == 0);
}

void gk_qdepthwise(const void *x, int type, long n, long c, long h, long w, const int16_t *wt,
                   long kh, long kw, long sh, long sw, long dh, long dw, long ph, long pw, long oh,
                   long ow, int32_t zx, const gk_qepilogue *ep, void *y, int32_t *work,
                   int threads) {
    qdw_job j = {x, type, n, c, h, w, 1, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, 0, 0, 0, 0, c,
                 wt, zx, ep, y, work, 0, ep->out_type >= GK_Q_I32 ? 4 : 1};
    dw_sizes(kh, kw, sh, sw, dh, dw, oh, ow, &j.hp, &j.wp, &j.hq, &j.wq);
    j.per = gk_qdepthwise_work(h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow);
    long planes = n * c;
    int nt = planes * oh * ow * kh * kw < 65536 ? 1 : threads;
    /* narrow planes (7x7) run faster 8 channels at a time: their rows are too short for the
     * plane kernel's vectors */
    if (gk_k.qconv->dw_block16 && dw_q8_fits(ep) && ep->mult_finite && ph >= 0 && pw >= 0 &&
        oh > 0 && ow > 0 && kh * kw <= GK_QDW_MAX_TAPS && gk_q8_core() >= 1) {
        if (gk_qsplit_mode >= 1 && nt > 1 && oh >= GK_QSPLIT_DW_MIN_ROWS * nt) {
            /* the rows whose first pixel is nearest each piece's pixel boundary; pieces of at
             * least GK_QSPLIT_DW_MIN_ROWS rows (each runs every block's set-up and transposes) */
            long bounds[GK_QSPLIT_BOUNDS];
            int parts = GK_MIN(nt, GK_POOL_MAX_THREADS);
            int pieces = (int)GK_MAX(1, GK_MIN(gk_qsplit_npieces(),
                                               oh / (GK_QSPLIT_DW_MIN_ROWS * parts)));
            gk_qsplit_px_bounds(oh * ow, parts, pieces, bounds);
            for (int t = 0; t <= parts * pieces; t++)
                bounds[t] = GK_MIN(oh, (bounds[t] + ow / 2) / ow);
            gk_pool_run_parts(bounds, parts, pieces, nt, qdw16_rows, &j);
            return;
        }
        gk_parallel_range(n * ((c + 15) / 16), nt, qdw16_blocks, &j);
        return;
    }
    int blocked = dw8_fits(kh, kw, oh, ow) && ph >= 0 && pw >= 0 && ow < GK_QDW_Q8_MIN_WIDTH;
    if (!blocked && dw_q8_fits(ep) && ph >= 0 && pw >= 0 && kh * kw <= GK_QDW_MAX_TAPS &&
        oh > 0 && ow > 0) {
        gk_parallel_range(planes, nt, qdw_q8_planes, &j);
        return;
    }
    if (dw8_fits(kh, kw, oh, ow) && ph >= 0 && pw >= 0) {
        gk_parallel_range(n * ((c + 7) / 8), nt, qdw8_blocks, &j);
        return;
    }
    gk_parallel_range(planes, nt, qdw_planes, &j);
}

/* acc[q] += (s[q / mult] - zx) * wk[q] over cm channels */
static inline void dw_nhwc_tap(const void *src, int type, long mult, long cm, int32_t zx,
                               const int16_t *restrict wk, int32_t *restrict acc) {
    if (type == GK_Q_U8) {
        const uint8_t *s = (const uint8_t *)src;
        if (mult == 1)
            for (long q = 0; q < cm; q++) acc[q] += ((int32_t)s[q] - zx) * wk[q];
        else
            for (long q = 0; q < cm; q++) acc[q] += ((int32_t)s[q / mult] - zx) * wk[q];
    } else {
        const int8_t *s = (const int8_t *)src;
        if (mult == 1)
            for (long q = 0; q < cm; q++) acc[q] += ((int32_t)s[q] - zx) * wk[q];
        else
            for (long q = 0; q < cm; q++) acc[q] += ((int32_t)s[q / mult] - zx) * wk[q];
    }
}

/* output pixels [q0, q1) of the NHWC int8 depthwise conv; seat's cm accumulators of `work` */
static void qdw_nhwc_pixels(void *ctx, long q0, long q1, int seat) {
    const qdw_job *j = (const qdw_job *)ctx;
    const gk_qgemm_kernels *kg = gk_k.qgemm;
    long cm = j->cm, oh = j->oh, ow = j->ow, h = j->h, w = j->w, c = j->c;
    int32_t *acc = j->work + (size_t)seat * cm;
    for (long p = q0; p < q1; p++) {
        long b = p / (oh * ow), oy = (p / ow) % oh, ox = p % ow;
        memset(acc, 0, (size_t)cm * sizeof(int32_t));
        for (long ky = 0; ky < j->kh; ky++) {
            long iy = oy * j->sh - j->ph + ky * j->dh;
            if (iy < 0 || iy >= h) continue;
            for (long kx = 0; kx < j->kw; kx++) {
                long ix = ox * j->sw - j->pw + kx * j->dw;
                if (ix < 0 || ix >= w) continue;
                size_t at = ((size_t)(b * h + iy) * (size_t)w + (size_t)ix) * (size_t)c;
                dw_nhwc_tap((const char *)j->x + at, j->type, j->mult, cm, j->zx,
                            j->wt + (ky * j->kw + kx) * cm, acc);
            }
        }
        kg->epilogue(acc, cm, 1, cm, j->ep, p, 0, (char *)j->y + (size_t)p * cm * j->es, cm);
    }
}

void gk_qdepthwise_nhwc(const void *x, int type, long n, long h, long w, long c, long mult,
                        const int16_t *wt, long kh, long kw, long sh, long sw, long dh, long dw,
                        long ph, long pw, long oh, long ow, int32_t zx, const gk_qepilogue *ep,
                        void *y, int32_t *work, int threads) {
    long cm = c * mult, pixels = n * oh * ow;
    qdw_job j = {x, type, n, c, h, w, mult, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, 0, 0, 0, 0,
                 cm, wt, zx, ep, y, work, 0, ep->out_type >= GK_Q_I32 ? 4 : 1};
    gk_parallel_range(pixels, pixels * cm * kh * kw < 65536 ? 1 : threads, qdw_nhwc_pixels, &j);
}

/* ---- im2col into the 8-bit GEMM's packed right operand (qgemm.h: gk_q8_*) ------------------ */

typedef struct {
    const void *x;
    int type, to;
    long c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, n, k, kp, hp, wp;
    int32_t zx;
    int32_t *sums;
    uint8_t *out;
    gk_seat_bufs bufs; /* four im2col rows, a row of flip bytes, the padded plane */
    int failed;
    long (*wide)(const uint8_t *const *, long, uint8_t, long, long, uint8_t *);
} q8conv_job;

/* channel ch of x padded with the zero point's byte: plane[py * wp + px] = x[ch, py - ph,
 * px - pw] (zb outside x), rows [py0, py1) of hp x wp, for the rows / columns the windows reach */
static void q8_pad_plane(const q8conv_job *j, long ch, uint8_t *plane, long py0, long py1) {
    uint8_t zb = (uint8_t)j->zx;
    long wp = j->wp, x0 = GK_MIN(j->pw, wp), in = GK_MAX(0, GK_MIN(j->w, wp - j->pw));
    const uint8_t *x = (const uint8_t *)j->x + (size_t)ch * j->h * j->w;
    for (long py = py0; py < py1; py++) {
        uint8_t *d = plane + py * wp;
        long iy = py - j->ph;
        if (iy < 0 || iy >= j->h) {
            memset(d, zb, (size_t)wp);
            continue;
        }
        memset(d, zb, (size_t)x0);
        memcpy(d + x0, x + iy * j->w, (size_t)in);
        memset(d + x0 + in, zb, (size_t)(wp - x0 - in));
    }
}

/* The plane the windows of channel ch read, rows [py0, py1), row stride *ps: x's own plane where
 * no window reaches the padding (no pads, the windows inside x: a strided 1x1 downsampling,
 * an unpadded conv) and x holds GK_Q8_PLANE_SLACK bytes past the rows read (q8_plane_row reads
 * past a row), else channel ch padded into `plane` (its per-row copies cost more than the
 * im2col rows of a 1x1 conv: 30-36 us of 1x1 stride-2 packs of 25 KB) */
#define GK_Q8_PLANE_SLACK 64
static const uint8_t *q8_plane(const q8conv_job *j, long ch, uint8_t *plane, long py0, long py1,
                               long *ps) {
    long hw = j->h * j->w;
    if (j->ph == 0 && j->pw == 0 && j->hp <= j->h && j->wp <= j->w &&
        (j->c - ch) * hw - j->hp * j->w >= GK_Q8_PLANE_SLACK) {
        *ps = j->w;
        return (const uint8_t *)j->x + (size_t)ch * hw;
    }
    q8_pad_plane(j, ch, plane, py0, py1);
    *ps = j->wp;
    return plane;
}

/* output rows [oy0, oy1) of im2col row kk (< K) from the plane of its channel (row stride ps)
 * into r (16-byte stores: up to 15 bytes past the rows are scribbled on; the plane is read up to
 * 31 bytes past its end) */
static void q8_plane_row(const q8conv_job *j, const uint8_t *plane, long ps, long kk, uint8_t *r,
                         long oy0, long oy1) {
    long ky = (kk / j->kw) % j->kh, kx = kk % j->kw, ow = j->ow;
    for (long oy = oy0; oy < oy1; oy++) {
        const uint8_t *s = plane + (oy * j->sh + ky * j->dh) * ps + kx * j->dw;
        uint8_t *d = r + (oy - oy0) * ow;
        if (j->sw == 1) {
#if defined(__SSE2__)
            for (long o = 0; o < ow; o += 16)
                _mm_storeu_si128((__m128i *)(d + o), _mm_loadu_si128((const __m128i *)(s + o)));
#else
            memcpy(d, s, (size_t)ow);
#endif
        } else if (j->sw == 2) {
            long o = 0;
#if defined(__SSE2__)
            /* the even bytes of 32: 16 outputs (the plane is read up to 31 bytes past a row) */
            __m128i even = _mm_set1_epi16(0x00FF);
            for (; o < ow; o += 16) {
                __m128i lo = _mm_loadu_si128((const __m128i *)(s + 2 * o));
                __m128i hi = _mm_loadu_si128((const __m128i *)(s + 2 * o + 16));
                _mm_storeu_si128((__m128i *)(d + o),
                                 _mm_packus_epi16(_mm_and_si128(lo, even), _mm_and_si128(hi, even)));
            }
#endif
            for (; o < ow; o++) d[o] = s[2 * o];
        } else {
            for (long o = 0; o < ow; o++) d[o] = s[o * j->sw];
        }
    }
}

/* the level's 64-column interleave where this CPU runs it (AVX512BW), else NULL */
static long (*q8_wide_interleave(void))(const uint8_t *const *, long, uint8_t, long, long,
                                        uint8_t *) {
#if GK_X86
    __builtin_cpu_init();
    if (gk_k.qconv->q8_interleave4_64 && __builtin_cpu_supports("avx512bw"))
        return gk_k.qconv->q8_interleave4_64;
#endif
    return NULL;
}

/* rows r[0..3] (n bytes each) as group g of every panel, each byte xor flip; columns past n: 0.
 * wide: the level's 64-column kernel (NULL: none) */
static void q8_interleave4(const uint8_t *const r[4], long n, uint8_t flip, long g, long kp,
                           uint8_t *out,
                           long (*wide)(const uint8_t *const *, long, uint8_t, long, long,
                                        uint8_t *)) {
    long np = (n + GK_Q8_PANEL - 1) / GK_Q8_PANEL, p = 0;
    size_t pbytes = (size_t)GK_Q8_PANEL * (size_t)kp;
    if (wide) p = wide(r, n, flip, g, kp, out) / GK_Q8_PANEL;
#if defined(__SSE2__)
    __m128i f = _mm_set1_epi8((char)flip);
    for (; p < n / GK_Q8_PANEL; p++) {
        long j = p * GK_Q8_PANEL;
        __m128i x0 = _mm_loadu_si128((const __m128i *)(r[0] + j));
        __m128i x1 = _mm_loadu_si128((const __m128i *)(r[1] + j));
        __m128i x2 = _mm_loadu_si128((const __m128i *)(r[2] + j));
        __m128i x3 = _mm_loadu_si128((const __m128i *)(r[3] + j));
        __m128i t0 = _mm_unpacklo_epi8(x0, x1), t1 = _mm_unpackhi_epi8(x0, x1);
        __m128i t2 = _mm_unpacklo_epi8(x2, x3), t3 = _mm_unpackhi_epi8(x2, x3);
        uint8_t *d = out + p * pbytes + g * 64;
        _mm_storeu_si128((__m128i *)d, _mm_xor_si128(_mm_unpacklo_epi16(t0, t2), f));
        _mm_storeu_si128((__m128i *)(d + 16), _mm_xor_si128(_mm_unpackhi_epi16(t0, t2), f));
        _mm_storeu_si128((__m128i *)(d + 32), _mm_xor_si128(_mm_unpacklo_epi16(t1, t3), f));
        _mm_storeu_si128((__m128i *)(d + 48), _mm_xor_si128(_mm_unpackhi_epi16(t1, t3), f));
    }
#endif
    for (; p < np; p++) {
        uint8_t *d = out + p * pbytes + g * 64;
        for (long c = 0; c < GK_Q8_PANEL; c++) {
            long j = p * GK_Q8_PANEL + c;
            for (int t = 0; t < 4; t++) d[c * 4 + t] = j < n ? (uint8_t)(r[t][j] ^ flip) : 0;
        }
    }
}

/* what both packers' chunks start with: the seat's row buffer (NULL: out of memory, the job marked
 * failed), whether im2col is the input itself (a 1x1 stride-1 unpadded conv: *direct) and the
 * byte every stored value is xor-ed with (0x80 where the input's type is not the stored one) */
static uint8_t *q8_conv_seat(q8conv_job *j, int seat, int *direct, uint8_t *flip) {
    uint8_t *rows = (uint8_t *)gk_seat_buf(&j->bufs, seat);
    *direct = j->kh == 1 && j->kw == 1 && j->sh == 1 && j->sw == 1 && j->ph == 0 && j->pw == 0 &&
              j->oh == j->h && j->ow == j->w;
    *flip = j->type == j->to ? 0 : 0x80;
    if (!rows) __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
    return rows;
}

/* groups [g0, g1) of 4 im2col rows (rows past K: 0) */
static void q8_conv_groups(void *ctx, long g0, long g1, int seat) {
    q8conv_job *j = (q8conv_job *)ctx;
    long n = j->n, k = j->k;
    int direct;
    uint8_t flip, *rows = q8_conv_seat(j, seat, &direct, &flip);
    if (!rows) return;
    const uint8_t *x = (const uint8_t *)j->x;
    uint8_t *plane = rows + 5 * n + 32;
    long plane_ch = -1, ps = 0;
    const uint8_t *src = plane;
    for (long g = g0; g < g1; g++) {
        const uint8_t *r[4];
        int zeros = 0;
        if (4 * g >= k) { /* K's padding to a multiple of 64: the group is 0 in every panel */
            long np = (n + GK_Q8_PANEL - 1) / GK_Q8_PANEL;
            for (long p = 0; p < np; p++)
                memset(j->out + p * (size_t)GK_Q8_PANEL * (size_t)j->kp + g * 64, 0, 64);
            continue;
        }
        for (int t = 0; t < 4; t++) {
            long kk = 4 * g + t;
            if (kk >= k) {
                r[t] = rows + 4 * n; /* n bytes of flip: stored as 0 */
                zeros = 1;
            } else if (direct) {
                r[t] = x + kk * n;
            } else {
                long ch = kk / (j->kh * j->kw);
                if (ch != plane_ch) src = q8_plane(j, ch, plane, 0, j->hp, &ps), plane_ch = ch;
                q8_plane_row(j, src, ps, kk, rows + t * n, 0, j->oh);
                r[t] = rows + t * n;
            }
        }
        if (zeros) memset(rows + 4 * n, flip, (size_t)n);
        q8_interleave4(r, n, flip, g, j->kp, j->out, j->wide);
    }
}

/* column sums of the stored values, panels [p0, p1) */
static void q8_conv_sums(void *ctx, long p0, long p1, int seat);

/* panels [p0, p1) (pixels [16 p0, 16 p1)) of every group, and their column sums (gk_qsplit_mode
 * 1: the threads split the pixels, not the rows of im2col) */
static void q8_conv_panels(void *ctx, long p0, long p1, int seat) {
    q8conv_job *j = (q8conv_job *)ctx;
    long n = j->n, k = j->k, c0 = p0 * GK_Q8_PANEL, c1 = GK_MIN(n, p1 * GK_Q8_PANEL);
    long cols = c1 - c0;
    int direct;
    uint8_t flip, *rows = q8_conv_seat(j, seat, &direct, &flip);
    if (!rows) return;
    const uint8_t *x = (const uint8_t *)j->x;
    uint8_t *plane = rows + 5 * n + 32, *out = j->out + p0 * (size_t)GK_Q8_PANEL * (size_t)j->kp;
    /* the output rows holding the pixels, and the padded rows their windows read */
    long oy0 = c0 / j->ow, oy1 = (c1 - 1) / j->ow + 1, skip = c0 - oy0 * j->ow;
    long py0 = oy0 * j->sh, py1 = GK_MIN(j->hp, (oy1 - 1) * j->sh + (j->kh - 1) * j->dh + 1);
    long plane_ch = -1, ps = 0;
    const uint8_t *src = plane;
    for (long g = 0; g < j->kp / 4; g++) {
        const uint8_t *r[4];
        int zeros = 0;
        if (4 * g >= k) { /* K's padding to a multiple of 64: the group is 0 in every panel */
            for (long p = 0; p < p1 - p0; p++)
                memset(out + p * (size_t)GK_Q8_PANEL * (size_t)j->kp + g * 64, 0, 64);
            continue;
        }
        for (int t = 0; t < 4; t++) {
            long kk = 4 * g + t;
            if (kk >= k) {
                r[t] = rows + 4 * n; /* flip bytes: stored as 0 */
                zeros = 1;
            } else if (direct) {
                r[t] = x + kk * n + c0;
            } else {
                long ch = kk / (j->kh * j->kw);
                if (ch != plane_ch) src = q8_plane(j, ch, plane, py0, py1, &ps), plane_ch = ch;
                q8_plane_row(j, src, ps, kk, rows + t * n, oy0, oy1);
                r[t] = rows + t * n + skip;
            }
        }
        if (zeros) memset(rows + 4 * n, flip, (size_t)cols);
        q8_interleave4(r, cols, flip, g, j->kp, out, j->wide);
    }
    if (j->sums) q8_conv_sums(ctx, p0, p1, seat);
}

static void q8_conv_sums(void *ctx, long p0, long p1, int seat) {
    q8conv_job *j = (q8conv_job *)ctx;
    uint8_t sx = j->to == GK_Q_U8 ? 0 : 0x80;
    int32_t so = j->to == GK_Q_U8 ? 0 : 128;
    (void)seat;
    for (long p = p0; p < p1; p++) {
        const uint8_t *d = j->out + p * (size_t)GK_Q8_PANEL * (size_t)j->kp;
        int32_t s[GK_Q8_PANEL] = {0};
        for (long g = 0; g < (j->k + 3) / 4; g++)
            for (int c = 0; c < GK_Q8_PANEL; c++)
                for (int t = 0; t < 4; t++)
                    if (4 * g + t < j->k) s[c] += (int32_t)(uint8_t)(d[g * 64 + c * 4 + t] ^ sx) - so;
        for (int c = 0; c < GK_Q8_PANEL && p * GK_Q8_PANEL + c < j->n; c++)
            j->sums[p * GK_Q8_PANEL + c] = s[c];
    }
}

int gk_q8_pack_b_conv(const void *x, int type, long c, long h, long w, long kh, long kw, long sh,
                      long sw, long dh, long dw, long ph, long pw, long oh, long ow, int32_t zx,
                      int to, int32_t *sums, uint8_t *out, int threads) {
    long k = c * kh * kw, n = oh * ow, kp = gk_q8_kpad(k);
    long hp = (oh - 1) * sh + (kh - 1) * dh + 1, wp = (ow - 1) * sw + (kw - 1) * dw + 1;
    q8conv_job j = {x, type, to, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, n, k, kp, hp,
                    wp, zx, sums, out, {0, {NULL}}, 0, q8_wide_interleave()};
    if (n <= 0) return 1;
    /* rows (5 n) + 32 bytes of slack, the plane + 64 bytes of slack */
    gk_seat_bufs_init(&j.bufs, (size_t)(5 * n) + 32 + (size_t)hp * (size_t)wp + 64);
    int nt = k * n > 32768 ? threads : 1;
    if (gk_qsplit_mode >= 1 && nt > 1) { /* the panels of each thread's pixels, sums included */
        long bounds[GK_QSPLIT_BOUNDS], panels = (n + GK_Q8_PANEL - 1) / GK_Q8_PANEL;
        int parts = GK_MIN(nt, GK_POOL_MAX_THREADS), pieces = gk_qsplit_npieces();
        gk_qsplit_unit_bounds(n, parts, pieces, GK_Q8_PANEL, 1, panels, bounds);
        gk_pool_run_parts(bounds, parts, pieces, nt, q8_conv_panels, &j);
        gk_seat_bufs_free(&j.bufs);
        return !j.failed;
    }
    gk_parallel_range(kp / 4, nt, q8_conv_groups, &j);
    gk_seat_bufs_free(&j.bufs);
    if (!j.failed && sums) {
        long panels = (n + GK_Q8_PANEL - 1) / GK_Q8_PANEL;
        gk_parallel_range(panels, k * n > 32768 ? threads : 1, q8_conv_sums, &j);
    }
    return !j.failed;
}

/* pairs [p0, p1) of B's 16-pixel panels, sums included (gk_q8_gemm_pre's producer) */
static void q8_conv_pairs(void *ctx, long p0, long p1, int seat) {
    q8conv_job *j = (q8conv_job *)ctx;
    long panels = (j->n + GK_Q8_PANEL - 1) / GK_Q8_PANEL;
    q8_conv_panels(ctx, 2 * p0, GK_MIN(2 * p1, panels), seat);
}

int gk_q8_conv_gemm(const void *x, int type, long c, long h, long w, long kh, long kw, long sh,
                    long sw, long dh, long dw, long ph, long pw, long oh, long ow, int32_t zx,
                    int to, int32_t *sums, uint8_t *bp, long m, const uint8_t *ap, int ta,
                    const gk_q8_zero *z, void *y, long ldy, const gk_qepilogue *ep, long i0,
                    int threads) {
    long k = c * kh * kw, n = oh * ow, kp = gk_q8_kpad(k);
    if (!gk_q8_gemm_fusable(m, n, k, z, 0, threads)) {
        if (!gk_q8_pack_b_conv(x, type, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, zx, to,
                               sums, bp, threads))
            return 0;
        return gk_q8_gemm(m, n, k, ap, ta, bp, to, z, y, ldy, ep, i0, 0, threads);
    }
    long hp = (oh - 1) * sh + (kh - 1) * dh + 1, wp = (ow - 1) * sw + (kw - 1) * dw + 1;
    q8conv_job j = {x, type, to, c, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, n, k, kp, hp,
                    wp, zx, sums, bp, {0, {NULL}}, 0, q8_wide_interleave()};
    gk_seat_bufs_init(&j.bufs, (size_t)(5 * n) + 32 + (size_t)hp * (size_t)wp + 64);
    int ok = gk_q8_gemm_pre(m, n, k, ap, ta, bp, to, z, y, ldy, ep, i0, 0, threads,
                            q8_conv_pairs, &j);
    gk_seat_bufs_free(&j.bufs);
    return ok && !j.failed;
}
