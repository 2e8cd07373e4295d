/* Pixel blocks (bf16_pix.h): the reorders from and to float32 NCHW and the direct conv on AMX
 * tiles with the pixels as the A tiles' rows. The kernels are compiled for AMX-BF16 / AVX-512
 * alone (function targets, as bf16_nchwc.c), so the drivers run on any CPU and return -2 before
 * any of them where the CPU or the process may not use them. */
#include "isa.h"
/* compiles to nothing in a build without the bf16 family (gossamer crop), as bf16_nchwc.c */
#if __has_include("bf16.h")
#include "bf16_pix.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "amx.h"
#include "bf16.h"
#include "threadpool.h"

#define GK_PIX_STRIP 32 /* pixels per conv tile: two A tiles of 16 rows */
/* with threads, at least this many units (strip x channel group) per thread where it can */
#define GK_PIX_UNITS_PER_THREAD 2
/* a group's packed weights past this many bytes: the output channels split into groups whose
 * weights stay in L2 while the strips pass (the 2 MB L2 also holds the strips' activations) */
#define GK_PIX_GROUP_BYTES (512L * 1024L)

#if GK_X86 && ((defined(__clang__) && __clang_major__ >= 12) || \
               (!defined(__clang__) && __GNUC__ >= 11))
#define GK_PIX_AMX 1
#endif

static int g_overlap = 1;

int gk_bf16_pix_set_overlap(int on) {
    int old = g_overlap;
    if (on >= 0) g_overlap = on != 0;
    return old;
}

long gk_bf16_pix_block(const gk_bf16_pix_form *f) {
    if (f->c < 0 || f->h < 0 || f->w < 0 || f->top < 0 || f->left < 0 ||
        f->hp < f->top + f->h || f->wp < f->left + f->w)
        return 0;
    return f->hp * f->wp + GK_PIX_TAIL;
}

size_t gk_bf16_pix_size(const gk_bf16_pix_form *f) {
    long block = gk_bf16_pix_block(f);
    return (size_t)((f->c + GK_PIX_CB - 1) / GK_PIX_CB) * (size_t)block * 16;
}

/* pixel (y, x) of the image in block b: its first pair */
static inline long pix_at(const gk_bf16_pix_form *f, long block, long b, long y, long x) {
    return (b * block + (f->top + y) * f->wp + f->left + x) * 16;
}

/* the grid around the image and the tail of blocks [b0, b1), zeroed (the image is written) */
static void zero_border(uint32_t *p, const gk_bf16_pix_form *f, long block, long b0, long b1) {
    long right = f->wp - f->left - f->w;
    for (long b = b0; b < b1; b++) {
        uint32_t *d = p + b * block * 16;
        if (f->h == 0 || f->w == 0) {
            memset(d, 0, (size_t)block * 64);
            continue;
        }
        memset(d, 0, (size_t)(f->top * f->wp + f->left) * 64);
        for (long yy = f->top; yy < f->top + f->h; yy++) /* a row's right pad, the next's left */
            memset(d + (yy * f->wp + f->left + f->w) * 16, 0,
                   (size_t)(right + (yy + 1 < f->top + f->h ? f->left : 0)) * 64);
        long end = (f->top + f->h) * f->wp;
        memset(d + end * 16, 0, (size_t)(block - end) * 64);
    }
}

/* a phase of the split: its grid and its tail, in pixels */
static long phase_px(const gk_bf16_pix_form *f, long s) {
    return ((f->hp + s - 1) / s) * ((f->wp + s - 1) / s) + GK_PIX_TAIL;
}

/* the phase split (stride s) of blocks [0, blocks) of form f zeroed where it holds no pixel of
 * the image (the grid around it, the phases' rows past the grid, the tails): what
 * gk_bf16_pix_phases writes there, so a conv that writes the image's pixels into the split
 * gives the split of its form */
static void zero_phase_border(uint32_t *p, const gk_bf16_pix_form *f, long s, long blocks) {
    long hq = (f->hp + s - 1) / s, wq = (f->wp + s - 1) / s, phase = phase_px(f, s);
    for (long b = 0; b < blocks; b++)
        for (long ry = 0; ry < s; ry++)
            for (long rx = 0; rx < s; rx++) {
                uint32_t *d = p + (b * s * s + ry * s + rx) * phase * 16;
                /* the image's columns in this phase: xx in [x0, x1) */
                long x0 = (f->left - rx + s - 1) / s, x1 = (f->left + f->w - rx + s - 1) / s;
                x0 = GK_MAX(0L, GK_MIN(x0, wq)), x1 = GK_MAX(x0, GK_MIN(x1, wq));
                for (long yy = 0; yy < hq; yy++) {
                    long gy = s * yy + ry;
                    uint32_t *row = d + yy * wq * 16;
                    if (gy < f->top || gy >= f->top + f->h || f->w == 0) {
                        memset(row, 0, (size_t)wq * 64);
                        continue;
                    }
                    memset(row, 0, (size_t)x0 * 64);
                    memset(row + x1 * 16, 0, (size_t)(wq - x1) * 64);
                }
                memset(d + hq * wq * 16, 0, (size_t)(phase - hq * wq) * 64);
            }
}

size_t gk_bf16_pix_phases_size(const gk_bf16_pix_form *f, long s) {
    if (gk_bf16_pix_block(f) <= 0 || s < 2 || s > GK_PIX_STRIDE) return 0;
    return (size_t)((f->c + GK_PIX_CB - 1) / GK_PIX_CB) * (size_t)(s * s * phase_px(f, s)) * 16;
}

typedef struct {
    const uint32_t *in;
    uint32_t *out;
    gk_bf16_pix_form f;
    long s, block, hq, wq, phase;
} phases_job;

/* units [u0, u1) of (block, phase): the phase's rows gathered from the grid, its tail zeroed */
static void phase_units(void *ctx, long u0, long u1, int seat) {
    const phases_job *j = (const phases_job *)ctx;
    long s = j->s, ss = s * s, hp = j->f.hp, wp = j->f.wp;
    (void)seat;
    for (long u = u0; u < u1; u++) {
        long b = u / ss, ry = (u % ss) / s, rx = u % s;
        const uint32_t *src = j->in + b * j->block * 16;
        uint32_t *dst = j->out + (b * ss + u % ss) * j->phase * 16;
        for (long yy = 0; yy < j->hq; yy++) {
            long gy = s * yy + ry;
            uint32_t *d = dst + yy * j->wq * 16;
            if (gy >= hp) {
                memset(d, 0, (size_t)j->wq * 64);
                continue;
            }
            const uint32_t *row = src + gy * wp * 16;
            for (long xx = 0; xx < j->wq; xx++) {
                long gx = s * xx + rx;
                if (gx < wp)
                    memcpy(d + xx * 16, row + gx * 16, 64);
                else
                    memset(d + xx * 16, 0, 64);
            }
        }
        memset(dst + j->hq * j->wq * 16, 0, (size_t)(j->phase - j->hq * j->wq) * 64);
    }
}

int gk_bf16_pix_phases(const uint32_t *in, const gk_bf16_pix_form *f, long s, uint32_t *out,
                       int threads) {
    if (gk_bf16_pix_phases_size(f, s) == 0) return -3;
    long blocks = (f->c + GK_PIX_CB - 1) / GK_PIX_CB;
    phases_job j = {in, out, *f, s, gk_bf16_pix_block(f), (f->hp + s - 1) / s,
                    (f->wp + s - 1) / s, phase_px(f, s)};
    long units = blocks * s * s;
    gk_parallel_range(units, units * j.phase > 16384 && threads > 1 ? threads : 1, phase_units,
                      &j);
    return 0;
}

#ifdef GK_PIX_AMX
#pragma GCC push_options
#pragma GCC target("amx-tile,amx-bf16,avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,avx2,fma")

/* r[k] = column k of the 16 x 16 matrix whose rows were r[0..15] (32-bit elements) */
static inline __attribute__((always_inline)) void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) { /* r[4i + k], 128-bit lane L: column 4 L + k of rows 4i.. */
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++) {
            t[8 * i + k] = _mm512_shuffle_f32x4(r[8 * i + k], r[8 * i + 4 + k], 0x88);
            t[8 * i + 4 + k] = _mm512_shuffle_f32x4(r[8 * i + k], r[8 * i + 4 + k], 0xDD);
        }
    for (int k = 0; k < 8; k++) {
        r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);
        r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xDD);
    }
}

/* 16 floats of channel pair (lo, hi) -> 16 pairs (lo in the low halves) */
static inline __attribute__((always_inline)) __m512 pair16(__m512 lo, __m512 hi) {
    static const uint16_t interleave[32] __attribute__((aligned(64))) = {
        0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
        8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    __m512i h = (__m512i)_mm512_cvtne2ps_pbh(hi, lo); /* lo's 16 halves, then hi's */
    return _mm512_castsi512_ps(_mm512_permutexvar_epi16(_mm512_load_si512(interleave), h));
}

/* 16 bf16 (a ymm of halves) widened to float32 */
static inline __attribute__((always_inline)) __m512 widen16(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

typedef struct {
    const float *x;
    float *y;
    uint32_t *p;
    gk_bf16_pix_form f;
    long block, segs; /* segs: 16-pixel segments per row */
} reorder_job;

/* units [u0, u1) of (block, row): the image's row as pixel blocks, 16 pixels at a time */
static void from_rows(void *ctx, long u0, long u1, int seat) {
    const reorder_job *j = (const reorder_job *)ctx;
    const gk_bf16_pix_form *f = &j->f;
    long hw = f->h * f->w;
    (void)seat;
    for (long u = u0; u < u1; u++) {
        long b = u / f->h, yy = u % f->h;
        for (long s = 0; s < j->segs; s++) {
            long x0 = s * 16, valid = GK_MIN(16L, f->w - x0);
            __mmask16 mk = (__mmask16)((1u << valid) - 1u);
            __m512 r[16];
            for (int q = 0; q < 16; q++) {
                long c0 = b * GK_PIX_CB + 2 * q;
                const float *src = j->x + c0 * hw + yy * f->w + x0;
                __m512 lo = c0 < f->c ? _mm512_maskz_loadu_ps(mk, src) : _mm512_setzero_ps();
                __m512 hi = c0 + 1 < f->c ? _mm512_maskz_loadu_ps(mk, src + hw) : _mm512_setzero_ps();
                r[q] = pair16(lo, hi);
            }
            transpose16(r); /* r[k]: pixel k's 16 pairs */
            uint32_t *d = j->p + pix_at(f, j->block, b, yy, x0);
            for (long k = 0; k < valid; k++) _mm512_storeu_ps((float *)(d + k * 16), r[k]);
        }
    }
}

static void to_rows(void *ctx, long u0, long u1, int seat) {
    const reorder_job *j = (const reorder_job *)ctx;
    const gk_bf16_pix_form *f = &j->f;
    long hw = f->h * f->w;
    (void)seat;
    for (long u = u0; u < u1; u++) {
        long b = u / f->h, yy = u % f->h;
        for (long s = 0; s < j->segs; s++) {
            long x0 = s * 16, valid = GK_MIN(16L, f->w - x0);
            __mmask16 mk = (__mmask16)((1u << valid) - 1u);
            const uint32_t *src = j->p + pix_at(f, j->block, b, yy, x0);
            __m512 r[16];
            for (long k = 0; k < 16; k++)
                r[k] = k < valid ? _mm512_loadu_ps((const float *)(src + k * 16)) : _mm512_setzero_ps();
            transpose16(r); /* r[q]: pair q of the 16 pixels */
            for (int q = 0; q < 16; q++) {
                long c0 = b * GK_PIX_CB + 2 * q;
                __m512i v = _mm512_castps_si512(r[q]);
                float *dst = j->y + c0 * hw + yy * f->w + x0;
                if (c0 < f->c)
                    _mm512_mask_storeu_ps(dst, mk, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)));
                if (c0 + 1 < f->c)
                    _mm512_mask_storeu_ps(dst + hw, mk,
                                          _mm512_castsi512_ps(_mm512_and_si512(
                                              v, _mm512_set1_epi32((int)0xFFFF0000u))));
            }
        }
    }
}

/* ---- MaxPool on the blocks ---------------------------------------------------------------- */

typedef struct {
    const uint32_t *in;
    uint32_t *out;
    gk_bf16_pix_form xf, yf;
    long kh, kw, s, ph, pw, xblock, yblock;
} pool_job;

/* units [u0, u1): unit u is output row u % oh of block u / oh; each output pixel the max over
 * its window's image pixels (the grid's padding never enters), a pixel's 32 bf16 at once as two
 * float32 halves (widened: exact; max of the rounded values = the rounded max) */
static void pool_rows(void *ctx, long u0, long u1, int seat) {
    const pool_job *j = (const pool_job *)ctx;
    long oh = j->yf.h, ow = j->yf.w, h = j->xf.h, w = j->xf.w;
    const __m512i top = _mm512_set1_epi32((int)0xFFFF0000u);
    (void)seat;
    for (long u = u0; u < u1; u++) {
        long b = u / oh, oy = u % oh, y0 = j->s * oy - j->ph;
        long ya = GK_MAX(0L, y0), yb = GK_MIN(h, y0 + j->kh);
        const uint32_t *src = j->in + b * j->xblock * 16;
        uint32_t *dst = j->out + pix_at(&j->yf, j->yblock, b, oy, 0);
        for (long ox = 0; ox < ow; ox++) {
            long x0 = j->s * ox - j->pw;
            long xa = GK_MAX(0L, x0), xb = GK_MIN(w, x0 + j->kw);
            __m512 lo = _mm512_set1_ps(-INFINITY), hi = lo;
            for (long yy = ya; yy < yb; yy++) {
                const uint32_t *row = src + ((j->xf.top + yy) * j->xf.wp + j->xf.left) * 16;
                for (long xx = xa; xx < xb; xx++) {
                    __m512i v = _mm512_loadu_si512(row + xx * 16);
                    lo = _mm512_max_ps(lo, _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)));
                    hi = _mm512_max_ps(hi, _mm512_castsi512_ps(_mm512_and_si512(v, top)));
                }
            }
            __m512i r = _mm512_or_si512(_mm512_srli_epi32(_mm512_castps_si512(lo), 16),
                                        _mm512_and_si512(_mm512_castps_si512(hi), top));
            _mm512_storeu_si512(dst + ox * 16, r);
        }
    }
}

/* ---- a stem's expansion ------------------------------------------------------------------ */

typedef struct {
    const float *x;
    uint32_t *out;
    long c, h, w, kw, s, sw, dw, pw, top, ow, hq, phase, cf;
    long span;   /* floats per channel of a seat's padded rows */
    float *rows; /* per seat: c rows of span floats, zero outside [pw, pw + w) */
    long at[GK_PIX_CB]; /* channel ci kw + kx: its first float in the rows, ci span + dw kx */
} expand_job;

/* the 16 floats rp[sw * k + off], k 0-15 (the row's column sw * (xx0 + k) + dw kx - pw) */
static inline __attribute__((always_inline)) __m512 expand_gather(const float *rp, long sw) {
    static const int32_t evens[16] __attribute__((aligned(64))) = {
        0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
    if (sw == 1) return _mm512_loadu_ps(rp);
    if (sw == 2)
        return _mm512_permutex2var_ps(_mm512_loadu_ps(rp), _mm512_load_si512(evens),
                                      _mm512_loadu_ps(rp + 16));
    __m512i idx = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4,
                                                      3, 2, 1, 0),
                                     _mm512_set1_epi32((int)sw));
    return _mm512_i32gather_ps(idx, rp, 4);
}

/* units [u0, u1): unit u is row u % hq of phase (u / hq, 0): its pixels' cf channels gathered
 * from the image row (zero-padded in a scratch row per channel), paired, transposed to pixels */
static void expand_rows(void *ctx, long u0, long u1, int seat) {
    const expand_job *j = (const expand_job *)ctx;
    float *rows = j->rows + (size_t)seat * (size_t)(j->c * j->span);
    for (long u = u0; u < u1; u++) {
        long ry = u / j->hq, yy = u % j->hq, y = j->s * yy + ry - j->top;
        uint32_t *dst = j->out + (ry * j->s * j->phase + yy * j->ow) * 16;
        if (y < 0 || y >= j->h) {
            memset(dst, 0, (size_t)j->ow * 64);
            continue;
        }
        for (long ci = 0; ci < j->c; ci++) /* the padding around [pw, pw + w) stays zero */
            memcpy(rows + ci * j->span + j->pw, j->x + (ci * j->h + y) * j->w,
                   (size_t)j->w * sizeof(float));
        long pairs = (j->cf + 1) / 2, sw = j->sw;
        for (long xx0 = 0; xx0 < j->ow; xx0 += 16) {
            __m512 r[16];
            const float *base = rows + sw * xx0;
            for (long q = 0; q < pairs; q++) { /* channels 2q, 2q + 1 (zero past cf) */
                __m512 lo = sw == 2 ? expand_gather(base + j->at[2 * q], 2)
                                    : expand_gather(base + j->at[2 * q], sw);
                __m512 hi = _mm512_setzero_ps();
                if (2 * q + 1 < j->cf)
                    hi = sw == 2 ? expand_gather(base + j->at[2 * q + 1], 2)
                                 : expand_gather(base + j->at[2 * q + 1], sw);
                r[q] = pair16(lo, hi);
            }
            for (long q = pairs; q < 16; q++) r[q] = _mm512_setzero_ps();
            transpose16(r); /* r[k]: pixel xx0 + k's 16 pairs */
            long valid = GK_MIN(16L, j->ow - xx0);
            for (long k = 0; k < valid; k++)
                _mm512_storeu_ps((float *)(dst + (xx0 + k) * 16), r[k]);
        }
    }
}

/* ---- the conv --------------------------------------------------------------------------- */

typedef struct {
    const uint32_t *x, *wpk, *z;
    long xblock, cpb, taps, pp; /* cpb: input blocks; pp: pairs per weights panel */
    long offs[GK_BF16_CONV_TAPS]; /* tap t's first pixel, from the output pixel's column n */
    long m, mt, wp, ow, ncols, strips, groups, gpairs;
    const float *bias;
    float lo, hi;
    long zblock, zoff, zwp; /* output (oy, ox)'s pixel in z's blocks: zoff + oy zwp + ox */
    uint32_t *yp;
    long yblock, yoff, ywp;
    /* ys > 1: yp is the phase split of yf for a stride-ys conv: grid pixel (gy, gx) at phase
     * (gy % ys, gx % ys), (gy / ys) ywq + gx / ys; ytop, yleft: yf's; yphase: a phase's pixels */
    long ys, ytop, yleft, ywq, yphase;
    float *y; /* yp NULL: float32 (m, oh * ow) */
    long hw;
    int failed;
} conv_job;

/* tiles 0-3: C (0: pixels 0-15 x channels 0-15 of the pair of 16-channel tiles, 1: the same
 * pixels x channels 16-31, 2 and 3: pixels 16-31), 4-5: A (16 pixels x 16 pairs), 6-7: B
 * (16 pairs x 16 output channels) */
static const gk_amx_tilecfg px_cfg __attribute__((aligned(64))) =
    GK_AMX_TILECFG(16, 16, 16, 16, 16, 16, 16, 16);

/* one strip's C tiles waiting for their epilogue (the rows written while the next strip's
 * products run): C tile t at buf + t * 256, rows [done, 32) still to go */
typedef struct {
    float buf[4 * 256] __attribute__((aligned(64)));
    float out[32 * 32] __attribute__((aligned(64))); /* float32 output: rows after the epilogue */
    __m512 blo, bhi;        /* the bias of the two 16-channel tiles (zero: none) */
    __mmask16 mlo, mhi;     /* their channels below m */
    long n0, jt, done;
    int two_c, live;
} pending;

/* row r (pixel n0 + r of the output's padded width) of the pending strip: bias, residual, clip,
 * then to yp's form (a pixel's 32 channels in one store) or into pd->out for y */
static inline __attribute__((always_inline)) void px_row(const conv_job *j, pending *pd, long r) {
    long n = pd->n0 + r;
    if (n >= j->ncols) return;
    long oy = n / j->wp, ox = n - oy * j->wp;
    if (ox >= j->ow) return; /* a column of the padded width past the image */
    const float *c = pd->buf + (r >> 4) * 512 + (r & 15) * 16;
    __m512 vlo = _mm512_load_ps(c), vhi = _mm512_load_ps(c + 256);
    long blk = pd->jt >> 1;
    vlo = _mm512_add_ps(vlo, pd->blo);
    vhi = _mm512_add_ps(vhi, pd->bhi);
    if (j->z) {
        __m512i zz = _mm512_loadu_si512(j->z + (blk * j->zblock + j->zoff + oy * j->zwp + ox) * 16);
        vlo = _mm512_add_ps(vlo, widen16(_mm512_castsi512_si256(zz)));
        vhi = _mm512_add_ps(vhi, widen16(_mm512_extracti64x4_epi64(zz, 1)));
    }
    __m512 lo = _mm512_set1_ps(j->lo), hi = _mm512_set1_ps(j->hi);
    vlo = _mm512_min_ps(hi, _mm512_max_ps(lo, vlo)); /* NaN stays (second operand) */
    vhi = _mm512_min_ps(hi, _mm512_max_ps(lo, vhi));
    vlo = _mm512_maskz_mov_ps(pd->mlo, vlo); /* channels past m: zero */
    vhi = _mm512_maskz_mov_ps(pd->mhi, vhi);
    if (j->yp) {
        __m512bh o = _mm512_cvtne2ps_pbh(vhi, vlo);
        long at;
        if (j->ys == 1) {
            at = blk * j->yblock + j->yoff + oy * j->ywp + ox;
        } else { /* the next conv's phase split (stride 2: shifts, not divisions) */
            long gy = j->ytop + oy, gx = j->yleft + ox, s = j->ys;
            long qy = s == 2 ? gy >> 1 : gy / s, qx = s == 2 ? gx >> 1 : gx / s;
            at = blk * j->yblock + ((gy - qy * s) * s + gx - qx * s) * j->yphase + qy * j->ywq + qx;
        }
        _mm512_storeu_si512(j->yp + at * 16, (__m512i)o);
    } else {
        _mm512_store_ps(pd->out + r * 32, vlo);
        _mm512_store_ps(pd->out + r * 32 + 16, vhi);
    }
}

/* pd->out (32 pixels x 32 channels) to y: transposed 16 x 16 at a time, then each channel's
 * runs of valid pixels (one output row each) stored */
static void px_store_nchw(const conv_job *j, pending *pd) {
    float tr[32 * 32] __attribute__((aligned(64))); /* channel-major: tr[ch * 32 + pixel] */
    for (int pb = 0; pb < 2; pb++)
        for (int cb = 0; cb < 2; cb++) {
            __m512 r[16];
            for (int k = 0; k < 16; k++) r[k] = _mm512_load_ps(pd->out + (pb * 16 + k) * 32 + cb * 16);
            transpose16(r);
            for (int k = 0; k < 16; k++) _mm512_store_ps(tr + (cb * 16 + k) * 32 + pb * 16, r[k]);
        }
    long c0 = pd->jt * 16, chans = GK_MIN(pd->two_c ? 32L : 16L, j->m - c0);
    for (long r = 0; r < GK_PIX_STRIP;) { /* runs of valid pixels */
        long n = pd->n0 + r;
        if (n >= j->ncols) break;
        long oy = n / j->wp, ox = n - oy * j->wp;
        long run = GK_MIN(GK_PIX_STRIP - r, j->wp - ox);
        if (ox < j->ow) {
            long len = GK_MIN(run, j->ow - ox), at = oy * j->ow + ox;
            for (long part = 0; part < len; part += 16) {
                long l = GK_MIN(16L, len - part);
                __mmask16 mk = (__mmask16)((1u << l) - 1u);
                for (long ch = 0; ch < chans; ch++)
                    _mm512_mask_storeu_ps(j->y + (c0 + ch) * j->hw + at + part, mk,
                                          _mm512_maskz_loadu_ps(mk, tr + ch * 32 + r + part));
            }
        }
        r += run;
    }
}

/* pd's channel masks and bias vectors for its channel tiles pd->jt, pd->jt + 1 */
static inline __attribute__((always_inline)) void px_tiles_of(const conv_job *j, pending *pd) {
    long c0 = pd->jt * 16, n_lo = GK_MIN(16L, j->m - c0);
    long n_hi = pd->two_c ? GK_MIN(16L, j->m - c0 - 16) : 0;
    pd->mlo = (__mmask16)((1u << n_lo) - 1u);
    pd->mhi = (__mmask16)((1u << n_hi) - 1u);
    pd->blo = j->bias ? _mm512_maskz_loadu_ps(pd->mlo, j->bias + c0) : _mm512_setzero_ps();
    pd->bhi = j->bias && n_hi ? _mm512_maskz_loadu_ps(pd->mhi, j->bias + c0 + 16)
                              : _mm512_setzero_ps();
}

static inline __attribute__((always_inline)) void px_pend(const conv_job *j, pending *pd,
                                                          long upto) {
    for (; pd->done < upto; pd->done++) px_row(j, pd, pd->done);
    if (pd->done == GK_PIX_STRIP && !j->yp && pd->live) {
        px_store_nchw(j, pd);
        pd->live = 0;
    }
}

/* the products of one strip (pixels n0 .., two A tiles) and channel tiles jt, jt + 1 (two_c),
 * the pending strip's rows spread over its pair blocks (overlap) */
static inline __attribute__((always_inline)) void px_products(const conv_job *j, long n0,
                                                              long jt, int two_c, pending *pd,
                                                              int overlap) {
    const uint32_t *b0 = j->wpk + jt * j->pp * 16, *b1 = b0 + j->pp * 16;
    long blocks = j->taps * j->cpb, xstep = j->xblock * 16;
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (long t = 0, kb = 0; t < j->taps; t++) {
        const uint32_t *a = j->x + (n0 + j->offs[t]) * 16;
        for (long cb = 0; cb < j->cpb; cb++, kb++, a += xstep) {
            long o = kb * 256;
            _tile_loadd(4, a, 64);
            _tile_loadd(6, b0 + o, 64);
            if (two_c) _tile_loadd(7, b1 + o, 64);
            _tile_loadd(5, a + 256, 64);
            _tile_dpbf16ps(0, 4, 6);
            if (two_c) _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            if (two_c) _tile_dpbf16ps(3, 5, 7);
            if (overlap && pd->live) px_pend(j, pd, (kb + 1) * GK_PIX_STRIP / blocks);
        }
    }
}

/* units [u0, u1): unit u is channel group u / strips (its weights stay in L2 while the strips
 * pass) times strip u % strips */
static void conv_units(void *ctx, long u0, long u1, int seat) {
    conv_job *j = (conv_job *)ctx;
    pending pd;
    int overlap = g_overlap;
    (void)seat;
    if (u0 >= u1) return;
    pd.live = 0;
    gk_amx_load(&px_cfg);
    for (long u = u0; u < u1; u++) {
        long g = u / j->strips, n0 = (u % j->strips) * GK_PIX_STRIP;
        long jt1 = 2 * ((g + 1) * j->gpairs / j->groups);
        for (long jt = 2 * (g * j->gpairs / j->groups); jt < jt1 && jt < j->mt; jt += 2) {
            int two_c = jt + 1 < j->mt;
            if (two_c)
                px_products(j, n0, jt, 1, &pd, overlap);
            else
                px_products(j, n0, jt, 0, &pd, overlap);
            if (pd.live) px_pend(j, &pd, GK_PIX_STRIP);
            _tile_stored(0, pd.buf, 64);
            _tile_stored(2, pd.buf + 512, 64);
            if (two_c) _tile_stored(1, pd.buf + 256, 64);
            if (two_c) _tile_stored(3, pd.buf + 768, 64);
            pd.n0 = n0, pd.jt = jt, pd.two_c = two_c, pd.done = 0, pd.live = 1;
            px_tiles_of(j, &pd);
            if (!overlap) px_pend(j, &pd, GK_PIX_STRIP), pd.live = 0;
        }
    }
    if (pd.live) px_pend(j, &pd, GK_PIX_STRIP);
    _tile_release();
}

#pragma GCC pop_options
#endif

static int form_ok(const gk_bf16_pix_form *f) { return gk_bf16_pix_block(f) > 0; }

/* threads worth a pool call (about 2 us of work per extra thread, as bf16.c's threads_for) */
static int threads_for(double work, int threads) {
    int t = threads < 1 ? 1 : threads;
    while (t > 1 && work < 150000.0 * t) t--;
    return t;
}

int gk_bf16_pix_from_nchw(const float *x, const gk_bf16_pix_form *f, uint32_t *out, int threads) {
    if (!form_ok(f)) return -3;
#ifdef GK_PIX_AMX
    if (!gk_bf16_cpu_native()) return -2;
    long block = gk_bf16_pix_block(f), blocks = (f->c + GK_PIX_CB - 1) / GK_PIX_CB;
    zero_border(out, f, block, 0, blocks);
    reorder_job j = {x, NULL, out, *f, block, (f->w + 15) / 16};
    double work = (double)blocks * GK_PIX_CB * (double)f->h * (double)f->w;
    if (blocks * f->h * f->w > 0)
        gk_parallel_range(blocks * f->h, threads_for(work / 4, threads), from_rows, &j);
    return 0;
#else
    (void)x, (void)out, (void)threads;
    return -2;
#endif
}

int gk_bf16_pix_to_nchw(const uint32_t *in, const gk_bf16_pix_form *f, float *y, int threads) {
    if (!form_ok(f)) return -3;
#ifdef GK_PIX_AMX
    if (!gk_bf16_cpu_native()) return -2;
    long block = gk_bf16_pix_block(f), blocks = (f->c + GK_PIX_CB - 1) / GK_PIX_CB;
    reorder_job j = {NULL, y, (uint32_t *)in, *f, block, (f->w + 15) / 16};
    double work = (double)blocks * GK_PIX_CB * (double)f->h * (double)f->w;
    if (blocks * f->h * f->w > 0)
        gk_parallel_range(blocks * f->h, threads_for(work / 4, threads), to_rows, &j);
    return 0;
#else
    (void)in, (void)y, (void)threads;
    return -2;
#endif
}

int gk_bf16_pix_maxpool(const uint32_t *in, const gk_bf16_pix_form *xf, long kh, long kw,
                        long s, long ph, long pw, uint32_t *out, const gk_bf16_pix_form *yf,
                        int threads) {
    if (!form_ok(xf) || !form_ok(yf) || yf->c != xf->c || kh < 1 || kw < 1 || s < 1 ||
        ph < 0 || pw < 0 || ph >= kh || pw >= kw || xf->h < 1 || xf->w < 1 ||
        (yf->h > 0 && s * (yf->h - 1) - ph >= xf->h) ||
        (yf->w > 0 && s * (yf->w - 1) - pw >= xf->w))
        return -3;
#ifdef GK_PIX_AMX
    if (!gk_bf16_cpu_native()) return -2;
    long blocks = (yf->c + GK_PIX_CB - 1) / GK_PIX_CB;
    zero_border(out, yf, gk_bf16_pix_block(yf), 0, blocks);
    pool_job j = {in, out, *xf, *yf, kh, kw, s, ph, pw, gk_bf16_pix_block(xf),
                  gk_bf16_pix_block(yf)};
    long units = blocks * yf->h;
    double work = (double)units * (double)yf->w * (double)(kh * kw) * 32.0;
    if (units > 0 && yf->w > 0) gk_parallel_range(units, threads_for(work, threads), pool_rows, &j);
    return 0;
#else
    (void)in, (void)out, (void)threads;
    return -2;
#endif
}

int gk_bf16_pix_expand_form(long c, long h, long kh, long kw, long s, long ph, long oh, long ow,
                            gk_bf16_pix_form *f) {
    if (c < 1 || h < 1 || kh < 1 || kw < 1 || c * kw > GK_PIX_CB || s < 1 || s > GK_PIX_STRIDE ||
        ph < 0 || oh < 1 || ow < 1)
        return -3;
    long hq = GK_MAX((ph + h + s - 1) / s, (kh - 1) / s + oh);
    f->c = c * kw, f->h = h, f->w = s * (ow - 1) + 1;
    f->top = ph, f->left = 0, f->hp = s * hq, f->wp = s * ow;
    return 0;
}

int gk_bf16_pix_expand(const float *x, long c, long h, long w, long kh, long kw, long s, long sw,
                       long dw, long ph, long pw, long oh, long ow, uint32_t *out, int threads) {
    gk_bf16_pix_form f;
    if (w < 1 || sw < 1 || dw < 1 || pw < 0 || gk_bf16_pix_expand_form(c, h, kh, kw, s, ph, oh,
                                                                       ow, &f) != 0)
        return -3;
#ifdef GK_PIX_AMX
    if (!gk_bf16_cpu_native()) return -2;
    long hq = f.hp / s, phase = s == 1 ? gk_bf16_pix_block(&f) : phase_px(&f, s);
    /* a row's furthest read: column sw (ow - 1 + 15) + dw (kw - 1), the sw = 2 gather's 32
     * floats past its first */
    long span = GK_MAX(pw + w, sw * (ow + 16) + dw * kw + 32) + 16;
    long units = s * hq;
    int t = units * ow > 16384 && threads > 1 ? threads : 1;
    float *rows = (float *)calloc((size_t)(t * c * span), sizeof(float));
    if (!rows) return -1;
    expand_job j = {x, out, c, h, w, kw, s, sw, dw, pw, ph, ow, hq, phase, c * kw, span, rows, {0}};
    for (long ch = 0; ch < c * kw; ch++) j.at[ch] = (ch / kw) * span + dw * (ch % kw);
    for (long ry = 0; ry < s; ry++) /* each phase's tail */
        memset(out + (ry * s * phase + hq * ow) * 16, 0, (size_t)(phase - hq * ow) * 64);
    gk_parallel_range(units, t, expand_rows, &j);
    free(rows);
    return 0;
#else
    (void)x, (void)out, (void)threads;
    return -2;
#endif
}

int gk_bf16_pix_conv(const uint32_t *x, const gk_bf16_pix_form *xf, long s, long kh, long kw,
                     long ph, long pw, long oh, long ow, long m, const uint32_t *wpk,
                     const float *bias, const uint32_t *z, const gk_bf16_pix_form *zf, float lo,
                     float hi, uint32_t *yp, const gk_bf16_pix_form *yf, float *y, int threads) {
    return gk_bf16_pix_conv_split(x, xf, s, kh, kw, ph, pw, oh, ow, m, wpk, bias, z, zf, lo, hi,
                                  yp, yf, 1, y, threads);
}

int gk_bf16_pix_conv_split(const uint32_t *x, const gk_bf16_pix_form *xf, long s, long kh,
                           long kw, long ph, long pw, long oh, long ow, long m,
                           const uint32_t *wpk, const float *bias, const uint32_t *z,
                           const gk_bf16_pix_form *zf, float lo, float hi, uint32_t *yp,
                           const gk_bf16_pix_form *yf, long ys, float *y, int threads) {
    if (ys < 1 || ys > GK_PIX_STRIDE || (ys > 1 && !yp)) return -3;
    if (!form_ok(xf) || s < 1 || s > GK_PIX_STRIDE || kh < 1 || kw < 1 ||
        kh * kw > GK_BF16_CONV_TAPS || ph < 0 || pw < 0 || oh < 0 || ow < 0 || m < 0 ||
        xf->top < ph || xf->left < pw)
        return -3;
    /* the grid the taps read (stride 1: the form's; else each phase's) */
    long hq = (xf->hp + s - 1) / s, wq = (xf->wp + s - 1) / s;
    if (hq < (xf->top - ph + kh - 1) / s + oh || wq < (xf->left - pw + kw - 1) / s + ow) return -3;
    if (z && (!form_ok(zf) || zf->c != m || zf->h != oh || zf->w != ow)) return -3;
    if (yp && (!form_ok(yf) || yf->c != m || yf->h != oh || yf->w != ow)) return -3;
    if (!yp && !y) return -3;
#ifdef GK_PIX_AMX
    if (!gk_bf16_amx()) return -2;
    long yblocks = (m + GK_PIX_CB - 1) / GK_PIX_CB;
    if (yp && ys == 1) zero_border(yp, yf, gk_bf16_pix_block(yf), 0, yblocks);
    if (yp && ys > 1) zero_phase_border(yp, yf, ys, yblocks);
    if (m == 0 || oh == 0 || ow == 0) return 0;
    conv_job j;
    memset(&j, 0, sizeof j);
    long cpb = (xf->c + GK_PIX_CB - 1) / GK_PIX_CB;
    long phase = s == 1 ? gk_bf16_pix_block(xf) : phase_px(xf, s);
    j.x = x, j.wpk = wpk, j.z = z, j.bias = bias, j.lo = lo, j.hi = hi, j.yp = yp, j.y = y;
    j.xblock = s * s * phase, j.cpb = cpb, j.taps = kh * kw;
    j.pp = gk_bf16_pairs(kh * kw * cpb * GK_PIX_CB);
    for (long t = 0; t < j.taps; t++) { /* the tap's phase, then its pixel in the phase */
        long gy = t / kw + xf->top - ph, gx = t % kw + xf->left - pw;
        j.offs[t] = ((gy % s) * s + gx % s) * phase + (gy / s) * wq + gx / s;
    }
    j.m = m, j.mt = (m + 15) / 16, j.wp = wq, j.ow = ow, j.hw = oh * ow;
    j.ncols = (oh - 1) * wq + ow;
    j.strips = (j.ncols + GK_PIX_STRIP - 1) / GK_PIX_STRIP;
    if (z) j.zblock = gk_bf16_pix_block(zf), j.zoff = zf->top * zf->wp + zf->left, j.zwp = zf->wp;
    if (yp) j.yblock = gk_bf16_pix_block(yf), j.yoff = yf->top * yf->wp + yf->left, j.ywp = yf->wp;
    j.ys = ys;
    if (yp && ys > 1) {
        j.yphase = phase_px(yf, ys), j.yblock = ys * ys * j.yphase;
        j.ytop = yf->top, j.yleft = yf->left, j.ywq = (yf->wp + ys - 1) / ys;
    }
    /* what the tiles read stays inside the blocks: the last strip's end past the furthest tap */
    long reach = 0;
    for (long t = 0; t < j.taps; t++) reach = GK_MAX(reach, j.offs[t]);
    if (j.strips * GK_PIX_STRIP + reach > j.xblock) return -3;
    j.gpairs = (j.mt + 1) / 2;
    long wbytes = j.pp * 64 * j.mt;
    j.groups = GK_MIN(j.gpairs, GK_MAX(1L, (wbytes + GK_PIX_GROUP_BYTES - 1) / GK_PIX_GROUP_BYTES));
    int t = threads_for((double)j.ncols * (double)m * (double)(kh * kw * cpb * GK_PIX_CB), threads);
    if (t > 1 && j.strips * j.groups < GK_PIX_UNITS_PER_THREAD * t)
        j.groups = GK_MIN(j.gpairs, (GK_PIX_UNITS_PER_THREAD * t + j.strips - 1) / j.strips);
    gk_parallel_range(j.strips * j.groups, t, conv_units, &j);
    return j.failed ? -1 : 0;
#else
    (void)x, (void)wpk, (void)bias, (void)lo, (void)hi, (void)y, (void)threads;
    return -2;
#endif
}
#endif
