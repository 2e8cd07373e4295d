/* Drivers of the NCHW8c kernels (see nchwc.h): work split into items of the kernels' thread pool,
 * the reorders at the ends of a blocked chain and the blocked GlobalAveragePool. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "isa.h"
#include "layout.h" /* the reorders use its 8 x 8 register transpose */
#include "nchwc.h"
#include "nchwc_dwpw.h"
#include "nchwc_split.h"
#include "threadpool.h"

#define NC_B GK_NCHWC_BLOCK
#define NC_CHUNK 48 /* least output pixels of a row per conv work item (16 register tiles) */
/* the same for a 1x1 conv (its plane one row): 144 pixels, 12 level-2 tiles over which a pass's
 * weights stay in L1 (48 left 4: SqueezeNet's squeezes and 1000-class 1x1 1.05-1.09x faster at
 * 96-336, benchmarks/nchwc_kxk_bench.c; Session 25) */
#define NC_CHUNK_1X1 144
/* Output blocks per work item (and per packed weight group, nchwc_kernels.py's
 * conv_weight_groups): fours, then the remainder (1-3) as one last group. Level 2 computes a
 * group as one tile of two zmm (two blocks each) x 12 pixels; levels 0 and 1 as two passes of
 * 2 x 6 (a four x 3 tile needed 17 ymm registers), a three as 3 x 4 (nchwc_kernels.inc). */
#define NC_GROUP 4
static long nc_groups(long mb) { return (mb + NC_GROUP - 1) / NC_GROUP; }

/* group g's first output block and block count */
static inline long nc_group(long mb, long g, int *nb) {
    *nb = (int)GK_MIN((long)NC_GROUP, mb - NC_GROUP * g);
    return NC_GROUP * g;
}
/* input channel x tap pairs summed per pass over a chunk (16 KB of a group's weights; 0: all in
 * one pass); 4.5x as many for a k x k conv (gk_nchwc_conv_strided) */
long gk_nchwc_ktaps = 128;
long gk_nchwc_pw_even = 1;
long gk_nchwc_pw_xpf = 4;
/* work item order: 0 weights-major, 1 pixel-major, 2 pixel-major when all the weights take at
 * most gk_nchwc_pixel_major_bytes (they then stay in L2 while the plane streams through once), 3
 * (default) pixel-major also when the input takes more than the weights and more than
 * gk_nchwc_pixel_major_bytes: weights-major would read it once per group from past L2 (the
 * projections 192 -> 32 on 28x28, 576 -> 96 on 14x14: 1.3-1.5x onnxruntime's time) */
long gk_nchwc_order = 3;
long gk_nchwc_pixel_major_bytes = 64 * 1024;
/* 0: measured on MobileNetV2 at 2 threads (benchmarks/fp32_locality.py --cpu-clock, load 4.5,
 * three runs), mode 2 (the convs' pixel parts) cut the 1x1 convs' chunk work in the calls both
 * threads shared by 3-5 %, mode 1's depthwise row parts added 3-6 % to the depthwise's; but
 * whole runs (benchmarks/ab_trees.py, another process busy on one core, load ~2) were no
 * faster in mode 2 than in mode 0 and up to 1.2x slower in medians (a piece held by a worker
 * the OS took off its core is an eighth of a layer, a dynamic chunk a sixteenth) */
long gk_nchwc_split_mode = 0;
/* Off (0): MobileNetV2 at 2 threads in mode 1 (both kinds in row parts; benchmarks/
 * conv_knob_ab.py, in the model) ran the depthwise convs of 112- and 56-row inputs 1.05-1.37x
 * faster than mode 0 (144 x 56 x 56 -> 28 x 28: 82 -> 60 us), those of 28 and 14 rows 1.03-1.8x
 * slower (576 x 14 x 14: 45 -> 80 us: a 14-row plane's pieces are two rows); the depthwise
 * convs of 56 rows and more in parts behind convs in mode 0's dynamic chunks gained nothing
 * (Conv_86 181-190 -> 194-201 us, Conv_123 100-102 -> 101-102; Session 28): the gain was each
 * thread reading the rows its own core wrote, which needs the conv before in parts too */
long gk_nchwc_dw_parts_h = 0;

/* 28: MobileNetV2 at 2 threads in one session, the knob alternated run by run
 * (benchmarks/conv_knob_ab.py, results/nchwc_layout.md Session 30): the convs and depthwise
 * convs of 112 x 112 to 28 x 28 outputs 1.0-1.37x faster (the expansions at 56 x 56 132 -> 117
 * us, the 144-channel depthwise stride 2 82 -> 60), all layers 4231 -> 4088 us, whole runs 0.96
 * (median); 56: 4116. Session 28: 14 x 14 planes in parts (two-row pieces) 1.5-1.8x slower.
 * SqueezeNet (55 x 55 planes): no change (3201 -> 3189 us) */
long gk_nchwc_parts_h = 28;

/* pieces per part (gk_pool_run_parts): a thread done with its part takes the other's last
 * pieces */
#define NC_PIECES_MAX 16
long gk_nchwc_split_pieces = 4;

/* the first unit of piece t (of all) of n units: n t / all rounded to a multiple of mult, n for
 * t == all (the same fractions of the image in every layer of a chain) */
static long nc_part_bound(long n, long t, long all, long mult) {
    if (t >= all) return n;
    long b = (n * t / all + mult / 2) / mult * mult;
    return GK_MIN(b, n);
}

/* static pixel parts (gk_nchwc_split_mode 1; 2 the conv only, 3 the depthwise only; in mode 0
 * an output of at least gk_nchwc_parts_h rows) for a call of `team` threads on n images with
 * `rows` output rows */
static int nc_parts(long n, int team, int depthwise, long rows) {
    long m = gk_nchwc_split_mode;
    int on = m == 1 || (m == 2 && !depthwise) || (m == 3 && depthwise) ||
             (m == 0 && gk_nchwc_parts_h > 0 && rows >= gk_nchwc_parts_h);
    return on && n == 1 && team > 1 && team <= GK_POOL_MAX_THREADS ? team : 0;
}

static int nc_pieces(void) { return (int)GK_MAX(1L, GK_MIN(gk_nchwc_split_pieces, NC_PIECES_MAX)); }

long gk_nchwc_channel_parts = 1;

/* static channel parts (nchwc_split.h) for a call of `team` threads on n images of `groups`
 * channel groups, at least `least` groups a thread: the parts, 0 for none. The convs ask 4: an
 * expansion (12-40 groups in MobileNetV2) feeds a depthwise conv; MobileNetV2's 7x7 projections
 * of 5 groups (160 channels) read 3-6 us slower in parts (two groups against three, the last
 * items taken across) than in the pool's chunks (results/nchwc_layout.md Session 31) */
static int nc_channel_parts(long n, int team, long groups, long least) {
    int on = gk_nchwc_channel_parts && n == 1 && team > 1 && team <= GK_POOL_MAX_THREADS;
    return on && groups >= least * team ? team : 0;
}

/* units [0, total), `per` units a channel group (the last one's may be fewer), in `parts`
 * static parts starting at group groups * p / parts (the conv's and the depthwise conv's part
 * p at the same channel block), each cut into nc_pieces() even pieces */
static void nc_run_channel_parts(long groups, long per, long total, int parts, int team,
                                 gk_range_fn fn, void *ctx) {
    int pieces = nc_pieces();
    long bounds[GK_POOL_MAX_THREADS * NC_PIECES_MAX + 1];
    for (int p = 0; p < parts; p++) {
        long s = GK_MIN(total, groups * p / parts * per);
        long e = GK_MIN(total, groups * (p + 1) / parts * per);
        for (int k = 0; k < pieces; k++) bounds[p * pieces + k] = s + (e - s) * k / pieces;
    }
    bounds[(long)parts * pieces] = total;
    gk_pool_run_parts(bounds, parts, pieces, team, fn, ctx);
}

/* -------------------------------------------------------------------------------------------- */
typedef struct {
    const float *x;
    float *y;
    long c, hw, nb; /* nb: channel blocks */
    int out;        /* 0: NCHW -> NCHW8c, 1: back */
} reorder_job;

static void reorder_blocks(void *ctx, long b0, long b1, int seat) {
    const reorder_job *j = (const reorder_job *)ctx;
    (void)seat;
    long hw = j->hw;
    for (long b = b0; b < b1; b++) { /* b = image * nb + channel block */
        long i = b / j->nb, cb = b % j->nb;
        long blk = (i * j->nb + cb) * hw * NC_B, plane = (i * j->c + cb * NC_B) * hw;
        /* pixels in eights as 8 x 8 register transposes (layout.c's kernel; NULL at generic:
         * none), the rest one by one (ResNet's pooled stem, 64 x 56 x 56 back to NCHW: 161 ->
         * 85 us at one thread) */
        void (*tile)(const char *, char *, ptrdiff_t, ptrdiff_t, ptrdiff_t, ptrdiff_t) =
            gk_k.layout->tile_f32;
        long whole = tile ? hw / NC_B * NC_B : 0, e = (long)sizeof(float);
        if (!j->out) {
            const float *plain = j->x + plane;
            float *d = j->y + blk;
            if (whole) tile((const char *)plain, (char *)d, whole, NC_B, hw * e, NC_B * e);
            for (long p = whole; p < hw; p++)
                for (long l = 0; l < NC_B; l++) d[p * NC_B + l] = plain[l * hw + p];
        } else {
            const float *s = j->x + blk;
            float *d = j->y + plane;
            if (whole) tile((const char *)s, (char *)d, NC_B, whole, NC_B * e, hw * e);
            for (long l = 0; l < NC_B; l++)
                for (long p = whole; p < hw; p++) d[l * hw + p] = s[p * NC_B + l];
        }
    }
}

static void reorder(const float *x, long n, long c, long hw, float *y, int out, int threads) {
    long nb = c / NC_B;
    reorder_job j = {x, y, c, hw, nb, out};
    gk_parallel_range(n * nb, n * c * hw > 65536 ? threads : 1, reorder_blocks, &j);
}

void gk_nchwc_reorder_in(const float *x, long n, long c, long hw, float *y, int threads) {
    reorder(x, n, c, hw, y, 0, threads);
}

void gk_nchwc_reorder_out(const float *x, long n, long c, long hw, float *y, int threads) {
    reorder(x, n, c, hw, y, 1, threads);
}

/* -------------------------------------------------------------------------------------------- */
typedef struct {
    const gk_nchwc_conv_args *a;
    const gk_nchwc_kernels *K;
    long groups, oh, chunks, chunk, mb, ncb, kb;
    int pixel_major;
} conv_job;

/* items [t0, t1): (image, group of output blocks, output row, chunk of the row), the chunk
 * innermost so that a thread's consecutive items share the weights; or, when j->pixel_major,
 * (image, output row, chunk, group): the group innermost, so that a chunk of the input stays in
 * L1 while every group reads it (small weights over a large plane) */
static void conv_items(void *ctx, long t0, long t1, int seat) {
    const conv_job *j = (const conv_job *)ctx;
    const gk_nchwc_conv_args *a = j->a;
    (void)seat;
    for (long t = t0; t < t1; t++) {
        long ch, oy, g, i;
        if (j->pixel_major) {
            long r = t / j->groups;
            g = t % j->groups;
            ch = r % j->chunks;
            oy = (r / j->chunks) % j->oh;
            i = r / (j->chunks * j->oh);
        } else {
            long r = t / j->chunks;
            ch = t % j->chunks;
            oy = r % j->oh;
            g = (r / j->oh) % j->groups;
            i = r / (j->oh * j->groups);
        }
        int nb;
        long ob0 = nc_group(j->mb, g, &nb);
        long ox0 = ch * j->chunk, ox1 = GK_MIN(a->ow, ox0 + j->chunk);
        /* input channel blocks kb at a time, so that their weights stay in L1 over the chunk's
         * tiles (partial sums wait in y: each output's sum is in the same order either way) */
        for (long cb0 = 0; cb0 < j->ncb; cb0 += j->kb)
            j->K->conv_row(a, i, ob0, nb, oy, ox0, ox1, cb0, GK_MIN(j->ncb, cb0 + j->kb));
    }
}

/* output pixels [q0, q1) of image 0 (pixel q = row q / ow, column q % ow) in one part: each
 * row's stretch cut into chunks of j->chunk, every group over each (pixel-major) or every chunk
 * for each group in turn (weights-major), as conv_items orders them */
static void conv_part(void *ctx, long q0, long q1, int seat) {
    const conv_job *j = (const conv_job *)ctx;
    const gk_nchwc_conv_args *a = j->a;
    (void)seat;
    long ow = a->ow;
    for (long g0 = 0; g0 < j->groups; g0++) {
        for (long oy = q0 / ow; oy * ow < q1; oy++) {
            long x0 = GK_MAX(0L, q0 - oy * ow), x1 = GK_MIN(ow, q1 - oy * ow);
            for (long ox0 = x0; ox0 < x1; ox0 += j->chunk) {
                long ox1 = GK_MIN(x1, ox0 + j->chunk);
                long ga = j->pixel_major ? 0 : g0, gb = j->pixel_major ? j->groups : g0 + 1;
                for (long g = ga; g < gb; g++) {
                    int nb;
                    long ob0 = nc_group(j->mb, g, &nb);
                    for (long cb0 = 0; cb0 < j->ncb; cb0 += j->kb)
                        j->K->conv_row(a, 0, ob0, nb, oy, ox0, ox1, cb0,
                                       GK_MIN(j->ncb, cb0 + j->kb));
                }
            }
        }
        if (j->pixel_major) break;
    }
}

/* input blocks summed per pass over the output (of ncb, each `taps` pairs): a k x k conv sums
 * 4.5x as many pairs per pass (8 input blocks of a 3x3 by default: 72 KB of a group's weights,
 * in L2): one block per pass stored and reloaded its partial sums every 72 taps, 1.07-1.14x the
 * time on ResNet's 3x3s at 14x14 and 7x7 (Session 19). The blocks' order is the sums' order:
 * every driver of one conv takes it from here (the fused conv + pool gives the conv's bits). */
static long blocks_per_pass(const gk_nchwc_conv_args *a, long ncb, long taps) {
    long kt = a->kh * a->kw > 1 ? gk_nchwc_ktaps * 9 / 2 : gk_nchwc_ktaps;
    return kt > 0 ? GK_MAX(1L, kt / taps) : ncb;
}

void gk_nchwc_conv_strided(const gk_nchwc_conv_args *a0, long n, int threads) {
    gk_nchwc_conv_args a = *a0;
    if (n <= 0 || a.m <= 0 || a.oh <= 0 || a.ow <= 0) return;
    long row_w = a.ow; /* the output's own row width (before the flattening below) */
    /* a 1x1 / stride 1 / unpadded conv over rows that follow each other is one row of h*w */
    if (a.kh == 1 && a.kw == 1 && a.sh == 1 && a.sw == 1 && a.ph == 0 && a.pw == 0 &&
        a.oh == a.h && a.ow == a.w && a.xs.s_y == a.w * a.xs.s_x && a.ys.s_y == a.ow * a.ys.s_x) {
        a.w = a.ow = a.h * a.w;
        a.h = a.oh = 1;
    }
    long mb = a.m / NC_B, groups = nc_groups(mb);
    double work = (double)n * a.m * a.oh * a.ow * a.c * a.kh * a.kw;
    int team = work > 65536 ? threads : 1;
    /* chunks of at least NC_CHUNK pixels (a 7x7 plane is one: the group's weights pass once
     * over it), halved while the threads would get fewer than 4 items each; several chunks are
     * a multiple of 12 pixels (the tiles' 4 and 6: one narrow remainder tile per row, not per
     * chunk) */
    long chunks = GK_MAX(1L, a.ow / (a.kh * a.kw == 1 ? NC_CHUNK_1X1 : NC_CHUNK));
    while (team > 1 && n * groups * a.oh * chunks < 4L * team && a.ow / (2 * chunks) >= 12)
        chunks *= 2;
    long chunk = (a.ow + chunks - 1) / chunks;
    if (chunks > 1) chunk = GK_MIN(a.ow, (chunk + 11) / 12 * 12);
    chunks = (a.ow + chunk - 1) / chunk;
    long ncb = a.c / a.xs.cblk, taps = a.xs.cblk * a.kh * a.kw;
    double wbytes = (double)a.m * a.c * a.kh * a.kw * sizeof(float);
    double xbytes = (double)a.c * a.h * a.w * sizeof(float);
    double pmb = (double)gk_nchwc_pixel_major_bytes;
    int pixel_major = gk_nchwc_order == 1 || (gk_nchwc_order >= 2 && wbytes <= pmb) ||
                      (gk_nchwc_order == 3 && groups > 1 && xbytes > wbytes && xbytes > pmb);
    long kb = blocks_per_pass(&a, ncb, taps);
    conv_job j = {&a, gk_k.nchwc, groups, a.oh, chunks, chunk, mb, ncb, kb, pixel_major};
    /* one part of the pixels per thread where the activations outweigh the weights (else
     * each thread would read all the weights: the 7x7 layers' 0.6-5 MB keep the dynamic split
     * by output blocks) and every piece has a tile or two of pixels */
    long q = a.oh * a.ow, rows = q / row_w;
    int parts = nc_parts(n, team, 0, rows), pieces = nc_pieces();
    double ybytes = (double)a.m * q * sizeof(float);
    if (parts && xbytes + ybytes >= wbytes && q >= 24L * parts * pieces) {
        /* pieces of whole rows of the output (its own rows where a 1x1 conv made it one row):
         * the depthwise conv's bounds; a multiple of 4 pixels where the rows are too few */
        long all = (long)parts * pieces, bounds[GK_POOL_MAX_THREADS * NC_PIECES_MAX + 1];
        for (long t = 0; t <= all; t++)
            bounds[t] = rows >= all ? (t < all ? row_w * (rows * t / all) : q)
                                    : nc_part_bound(q, t, all, 4);
        gk_pool_run_parts(bounds, parts, pieces, team, conv_part, &j);
        return;
    }
    long items = n * groups * a.oh * chunks;
    int cparts = pixel_major ? 0 : nc_channel_parts(n, team, groups, 4);
    if (cparts) { /* weights-major items: group g's are [g oh chunks, (g + 1) oh chunks) */
        nc_run_channel_parts(groups, a.oh * chunks, items, cparts, team, conv_items, &j);
        return;
    }
    gk_parallel_range(items, team, conv_items, &j);
}

static gk_nchwc_strides blocked(long c, long h, long w) {
    gk_nchwc_strides s = {NC_B, c * h * w, h * w * NC_B, w * NC_B, NC_B};
    return s;
}

/* a conv's arguments: x NCHW or blocked (x_blocked), y blocked */
static gk_nchwc_conv_args conv_args(const float *x, long c, long h, long w, int x_blocked,
                                    const float *wp, long m, long kh, long kw, long sh, long sw,
                                    long dh, long dw, long ph, long pw, long oh, long ow,
                                    const float *bias, const float *z, float lo, float hi,
                                    const gk_nchwc_post *post, float *y) {
    gk_nchwc_strides plain = {1, c * h * w, h * w, w, 1};
    gk_nchwc_post none = {0};
    gk_nchwc_conv_args a = {x,  c,    h,  w,  x_blocked ? blocked(c, h, w) : plain,
                            wp, m,    kh, kw, sh,
                            sw, dh,   dw, ph, pw,
                            oh, ow,   bias, z, lo,
                            hi, y,    blocked(m, oh, ow), post ? *post : none};
    return a;
}

void gk_nchwc_conv(const float *x, long n, long c, long h, long w, int x_blocked, const float *wp,
                   long m, long kh, long kw, long sh, long sw, long dh, long dw, long ph, long pw,
                   long oh, long ow, const float *bias, const float *z, float lo, float hi,
                   const gk_nchwc_post *post, float *y, int threads) {
    gk_nchwc_conv_args a = conv_args(x, c, h, w, x_blocked, wp, m, kh, kw, sh, sw, dh, dw, ph, pw,
                                     oh, ow, bias, z, lo, hi, post, y);
    gk_nchwc_conv_strided(&a, n, threads);
}

/* -------------------------------------------------------------------------------------------- */
typedef struct {
    const gk_nchwc_conv_args *a;
    const gk_nchwc_kernels *K;
    long cbs, bands, rows;
} dw_job;

static void dw_items(void *ctx, long t0, long t1, int seat) {
    const dw_job *j = (const dw_job *)ctx;
    (void)seat;
    for (long t = t0; t < t1; t++) {
        long band = t % j->bands, cb = (t / j->bands) % j->cbs, i = t / (j->bands * j->cbs);
        long oy0 = band * j->rows, oy1 = GK_MIN(j->a->oh, oy0 + j->rows);
        j->K->dw_rows(j->a, i, cb, oy0, oy1);
    }
}

/* output rows [oy0, oy1) of image 0, every channel block: one part */
static void dw_part(void *ctx, long oy0, long oy1, int seat) {
    const dw_job *j = (const dw_job *)ctx;
    (void)seat;
    for (long cb = 0; cb < j->cbs; cb++)
        for (long r = oy0; r < oy1; r += j->rows)
            j->K->dw_rows(j->a, 0, cb, r, GK_MIN(oy1, r + j->rows));
}

void gk_nchwc_depthwise_strided(const gk_nchwc_conv_args *a, long n, int threads) {
    if (n <= 0 || a->c <= 0 || a->oh <= 0 || a->ow <= 0) return;
    long cbs = a->c / NC_B;
    /* bands of rows about 512 output pixels each: enough items for the threads on small planes */
    long rows = GK_MAX(1L, GK_MIN(a->oh, 512 / a->ow));
    long bands = (a->oh + rows - 1) / rows;
    dw_job j = {a, gk_k.nchwc, cbs, bands, rows};
    double work = (double)n * a->c * a->oh * a->ow * a->kh * a->kw;
    int team = work > 32768 ? threads : 1, parts = nc_parts(n, team, 1, a->oh);
    int pieces = nc_pieces();
    if (!parts && gk_nchwc_split_mode == 0 && gk_nchwc_dw_parts_h > 0 &&
        a->h >= gk_nchwc_dw_parts_h && n == 1 && team > 1 && team <= GK_POOL_MAX_THREADS)
        parts = team;
    if (parts && a->oh >= 4L * parts) { /* pieces of rows (see the conv's parts) */
        long all = (long)parts * pieces, bounds[GK_POOL_MAX_THREADS * NC_PIECES_MAX + 1];
        for (long t = 0; t <= all; t++) bounds[t] = nc_part_bound(a->oh, t, all, 1);
        gk_pool_run_parts(bounds, parts, pieces, team, dw_part, &j);
        return;
    }
    /* channel parts in the conv's groups of NC_GROUP blocks (items: block-major, bands inner) */
    int cparts = nc_channel_parts(n, team, nc_groups(cbs), 1);
    if (cparts) {
        nc_run_channel_parts(nc_groups(cbs), NC_GROUP * bands, cbs * bands, cparts, team, dw_items,
                             &j);
        return;
    }
    gk_parallel_range(n * cbs * bands, team, dw_items, &j);
}

void gk_nchwc_depthwise(const float *x, long n, long c, long h, long w, const float *wp, long kh,
                        long kw, long sh, long sw, long dh, long dw, long ph, long pw, long oh,
                        long ow, const float *bias, const float *z, float lo, float hi,
                        const gk_nchwc_post *post, float *y, int threads) {
    gk_nchwc_post none = {0};
    gk_nchwc_conv_args a = {x,  c,  h,  w,  blocked(c, h, w), wp, c,  kh, kw,
                            sh, sw, dh, dw, ph, pw, oh, ow, bias, z,  lo, hi,
                            y,  blocked(c, oh, ow), post ? *post : none};
    gk_nchwc_depthwise_strided(&a, n, threads);
}

/* -------------------------------------------------------------------------------------------- */
typedef struct {
    const float *x;
    float *y;
    long nb, hw;
} gap_job;

/* blocks [b0, b1) (b = image * nb + channel block = y's offset / 8), GAP_BLOCKS at a time: each
 * channel's sum in pixel order as one block alone sums it (the same bits), the blocks' chains
 * side by side, where one block's was a chain of hw dependent adds (latency bound: SqueezeNet's
 * 1000 x 13 x 13 alone 11.3 -> 8.6 us at one thread; in the model the read of the conv's output
 * from past L2 dominates, results/nchwc_layout.md Session 26) */
#define GAP_BLOCKS 4

/* half a block's channels of one pixel as one vector (GCC's generic vectors, 16 bytes: an SSE
 * register in this file's baseline build, a NEON one on ARM); the float array form of the sums
 * compiled to a mix of scalar adds and stack round trips: 38 us for SqueezeNet's 1000 x 13 x 13
 * alone at one thread, 17 with 32-byte vectors, 8.3 with these (2 threads: 21 -> 5.3) */
typedef float gap_v __attribute__((vector_size(NC_B / 2 * sizeof(float))));

static inline gap_v gap_ld(const float *p) {
    gap_v v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* y[k * 8 + l] = the mean of block k's channel l, for nb blocks (1-4) from s side by side, each
 * sum in pixel order (inlined: a constant nb keeps the eight half-block sums in registers) */
GK_ALWAYS_INLINE void gap_four(const float *s, long hw, const int nb, float *y) {
    gap_v a[GAP_BLOCKS][2] = {{{0}}};
    for (long p = 0; p < hw; p++)
#pragma GCC unroll 4
        for (int k = 0; k < nb; k++) {
            a[k][0] += gap_ld(s + (k * hw + p) * NC_B);
            a[k][1] += gap_ld(s + (k * hw + p) * NC_B + NC_B / 2);
        }
    for (int k = 0; k < nb; k++)
        for (int l = 0; l < NC_B; l++)
            y[k * NC_B + l] = a[k][l / (NC_B / 2)][l % (NC_B / 2)] / (float)hw;
}

static void gap_blocks(void *ctx, long b0, long b1, int seat) {
    const gap_job *j = (const gap_job *)ctx;
    (void)seat;
    long hw = j->hw;
    for (long b = b0; b < b1; b += GAP_BLOCKS) {
        const float *s = j->x + b * hw * NC_B;
        float *y = j->y + b * NC_B;
        switch (GK_MIN((long)GAP_BLOCKS, b1 - b)) {
            case 1: gap_four(s, hw, 1, y); break;
            case 2: gap_four(s, hw, 2, y); break;
            case 3: gap_four(s, hw, 3, y); break;
            default: gap_four(s, hw, 4, y); break;
        }
    }
}

/* shared by the threads from 16384 values on (65536 left MobileNetV2's 1280 x 7 x 7 to one
 * thread, reading the half of the conv's output the other core wrote: 34 -> 22-25 us in the
 * model at 2 threads, Session 27) */
void gk_nchwc_global_average(const float *x, long n, long c, long hw, float *y, int threads) {
    gap_job j = {x, y, c / NC_B, hw};
    gk_parallel_range(n * (c / NC_B), n * c * hw > 16384 ? threads : 1, gap_blocks, &j);
}

/* -------------------------------------------------------------------------------------------- */
static void max_pool_rows(void *ctx, long r0, long r1, int seat) {
    (void)seat;
    gk_k.nchwc->max_pool_rows((const gk_nchwc_pool_args *)ctx, r0, r1);
}

void gk_nchwc_max_pool(const float *x, long n, long c, long h, long w, long kh, long kw, long sh,
                       long sw, long dh, long dw, long ph, long pw, long oh, long ow, float *y,
                       int threads) {
    gk_nchwc_pool_args j = {x, y, h, w, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow};
    long rows = n * (c / NC_B) * oh;
    gk_parallel_range(rows, rows * ow * kh * kw * NC_B > 65536 ? threads : 1, max_pool_rows, &j);
}

/* -------------------------------------------------------------------------------------------- */
/* 256 KB: the stem of SqueezeNet 1.1 (64 channels, 111-pixel rows) in bands of 9 conv rows for 4
 * pool rows, one row of them moved to the front of the next band */
long gk_nchwc_pool_band_bytes = 256 * 1024;

typedef struct {
    const gk_nchwc_conv_args *a; /* the conv (its y unused) */
    const gk_nchwc_pool_window *p;
    const gk_nchwc_kernels *K;
    float *y;
    long mb, groups, ncb, kb, bands, step, cap;
    int failed;
} conv_pool_job;

/* per-thread band buffers (threadpool.h's gk_tls_buffer) */
static __thread gk_tls_buffer tl_band;

static float *band_buf(size_t n) { return (float *)gk_tls_grow(&tl_band, n * sizeof(float)); }

/* pool rows [s0, s1) of image i from the conv rows [lo, hi) in buf (block b's rows j->cap rows
 * apart) */
static void conv_pool_rows(const conv_pool_job *j, const float *buf, long i, long s0, long s1,
                           long lo, long hi) {
    const gk_nchwc_pool_window *p = j->p;
    long ow = j->a->ow;
    for (long b = 0; b < j->mb; b++) {
        /* the band's rows as a plane of hi - lo rows: its begin pad is what lies above lo */
        gk_nchwc_pool_args pa = {buf + b * j->cap * ow * NC_B,
                                 j->y + ((i * j->mb + b) * p->oh + s0) * p->ow * NC_B,
                                 hi - lo, ow, p->kh, p->kw, p->sh, p->sw, p->dh, p->dw,
                                 lo + p->ph - s0 * p->sh, p->pw, s1 - s0, p->ow};
        j->K->max_pool_rows(&pa, 0, s1 - s0);
    }
}

/* item t: image t / bands, band t % bands of its pool rows, in steps of j->step pool rows: the
 * conv rows a step reads that the step before did not are computed into the buffer (the rows
 * both read moved to its front), then pooled */
static void conv_pool_item(void *ctx, long t, int seat) {
    conv_pool_job *j = (conv_pool_job *)ctx;
    const gk_nchwc_conv_args *a = j->a;
    const gk_nchwc_pool_window *p = j->p;
    (void)seat;
    long ow = a->ow, row = ow * NC_B, i = t / j->bands, band = t % j->bands;
    float *buf = band_buf((size_t)(j->mb * j->cap * row));
    if (!buf) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    gk_nchwc_conv_args ar = *a;
    gk_nchwc_strides ys = {NC_B, 0, j->cap * row, 0, NC_B}; /* row r of block b: y + b * s_cb */
    ar.ys = ys;
    ar.z = NULL;
    long py0 = nc_part_bound(p->oh, band, j->bands, 1);
    long py1 = nc_part_bound(p->oh, band + 1, j->bands, 1);
    long blo = 0, bhi = 0; /* the conv rows in buf */
    for (long s0 = py0; s0 < py1; s0 += j->step) {
        long s1 = GK_MIN(py1, s0 + j->step);
        long first = s0 * p->sh - p->ph, last = (s1 - 1) * p->sh - p->ph + (p->kh - 1) * p->dh;
        long lo = GK_MAX(0L, first), hi = GK_MAX(lo, GK_MIN(a->oh, last + 1));
        if (bhi > lo && lo > blo) /* rows [lo, bhi) were computed: to the front */
            for (long b = 0; b < j->mb; b++)
                memmove(buf + b * j->cap * row, buf + (b * j->cap + lo - blo) * row,
                        (size_t)(bhi - lo) * row * sizeof(float));
        long from = bhi > lo ? bhi : lo;
        for (long r = from; r < hi; r++) {
            ar.y = buf + (r - lo) * row;
            for (long g = 0; g < j->groups; g++) {
                int nb;
                long ob0 = nc_group(j->mb, g, &nb);
                for (long cb0 = 0; cb0 < j->ncb; cb0 += j->kb)
                    j->K->conv_row(&ar, i, ob0, nb, r, 0, ow, cb0, GK_MIN(j->ncb, cb0 + j->kb));
            }
        }
        blo = lo;
        bhi = hi;
        conv_pool_rows(j, buf, i, s0, s1, lo, hi);
    }
}

int gk_nchwc_conv_max_pool(const float *x, long n, long c, long h, long w, int x_blocked,
                           const float *wp, long m, long kh, long kw, long sh, long sw, long dh,
                           long dw, long ph, long pw, long oh, long ow, const float *bias,
                           float lo, float hi, const gk_nchwc_post *post,
                           const gk_nchwc_pool_window *pool, float *y, int threads) {
    if (n <= 0 || m <= 0 || oh <= 0 || ow <= 0 || pool->oh <= 0 || pool->ow <= 0) return 0;
    gk_nchwc_conv_args a = conv_args(x, c, h, w, x_blocked, wp, m, kh, kw, sh, sw, dh, dw, ph, pw,
                                     oh, ow, bias, NULL, lo, hi, post, NULL); /* y: the bands */
    long mb = m / NC_B, ncb = c / a.xs.cblk, taps = a.xs.cblk * kh * kw;
    long kb = blocks_per_pass(&a, ncb, taps);
    /* pool rows per step: as many as fit the band's bytes (at least one) */
    long reach = (pool->kh - 1) * pool->dh + 1, fit = gk_nchwc_pool_band_bytes / (m * ow * 4);
    long step = fit > reach ? (fit - reach) / pool->sh + 1 : 1;
    step = GK_MIN(step, pool->oh);
    double work = (double)n * m * oh * ow * c * kh * kw;
    int team = work > 65536 ? threads : 1;
    /* one band of pool rows an image at one thread; two a thread at more (each band computes
     * the conv rows it shares with the band above again) */
    long bands = team > 1 ? GK_MIN(pool->oh, 2L * team) : 1;
    conv_pool_job j = {&a, pool, gk_k.nchwc, y, mb, nc_groups(mb), ncb, kb, bands, step,
                       (step - 1) * pool->sh + reach, 0};
    gk_parallel(n * bands, team, conv_pool_item, &j);
    return j.failed ? -1 : 0;
}

/* -------------------------------------------------------------------------------------------- */
/* 256 KB: a 28 x 28 plane of 192 channels is four parts of 7 rows (147 KB each), a 56 x 56 one of
 * 144 channels eight of 7 rows */
long gk_nchwc_dwpw_band_bytes = 256 * 1024;
long gk_nchwc_dwpw_pieces = 1;
/* 14: where the fused call paid at 2 threads with band buffers (MobileNetV2 in one session, the
 * kernel's switch alternated run by run: benchmarks/nchwc_dwpw_ab.py; results/nchwc_layout.md
 * Session 30): the depthwise conv + projection on 112 x 112 to 14 x 14 outputs 0.93-0.81x the
 * two calls' time; on 7 x 7 outputs 1.0-1.22x (every thread reads all of the projection's
 * 0.6-1.2 MB of weights from L3, where the two calls split them by output blocks); at one
 * thread all the fused nodes 0.94x. The layers after them lost as much (the arena left cold),
 * and with the rows written to t in the arena nothing paid: the graph pass fuses only with
 * GOSSAMER_NCHWC_DWPW=1 */
long gk_nchwc_dwpw_min_rows = 14;
long gk_nchwc_dwpw_min_rows_1t = 0;

int gk_nchwc_dwpw_fuses(long oh, int threads) {
    return oh >= (threads <= 1 ? gk_nchwc_dwpw_min_rows_1t : gk_nchwc_dwpw_min_rows);
}

typedef struct {
    /* the depthwise conv (its y: the buffer t, blocked, or NULL), the 1x1 (its x unused) */
    const gk_nchwc_conv_args *d, *p;
    const gk_nchwc_kernels *K;
    long cbs, mb, groups, ncb, kb;
    int failed;
} dwpw_job;

/* the 1x1 conv of pixels [q0, q1) of image i (q = row * ow + column) from x, where block cb's
 * pixel q lies at x + cb * x_cb + (q - q0) * 8, as one row (its sums in the order the
 * whole-plane conv's passes take them: blocks_per_pass) */
static void dwpw_pointwise(const dwpw_job *j, long i, long q0, long q1, const float *x, long x_cb) {
    const gk_nchwc_conv_args *p = j->p;
    gk_nchwc_conv_args pr = *p;
    long np = q1 - q0, off = i * p->ys.s_n + q0 * NC_B;
    gk_nchwc_strides xs = {NC_B, 0, x_cb, np * NC_B, NC_B};
    gk_nchwc_strides ys = {NC_B, 0, p->ys.s_cb, np * NC_B, NC_B};
    pr.x = x;
    pr.xs = xs;
    pr.h = pr.oh = 1;
    pr.w = pr.ow = np;
    pr.y = p->y + off;
    pr.z = p->z ? p->z + off : NULL;
    pr.ys = ys;
    for (long ox0 = 0; ox0 < np; ox0 += NC_CHUNK_1X1) {
        long ox1 = GK_MIN(np, ox0 + NC_CHUNK_1X1);
        for (long g = 0; g < j->groups; g++) {
            int nb;
            long ob0 = nc_group(j->mb, g, &nb);
            for (long cb0 = 0; cb0 < j->ncb; cb0 += j->kb)
                j->K->conv_row(&pr, 0, ob0, nb, 0, ox0, ox1, cb0, GK_MIN(j->ncb, cb0 + j->kb));
        }
    }
}

/* output pixels [q0, q1) of image i (q = row * ow + column): the depthwise rows they lie in, every
 * channel block, into the thread's band buffer (block cb's rows one after another, the blocks a
 * band apart), then the 1x1 conv over those pixels of the band as one row */
static void dwpw_pixels(dwpw_job *j, long i, long q0, long q1) {
    const gk_nchwc_conv_args *d = j->d;
    long ow = d->ow, r0 = q0 / ow, r1 = (q1 - 1) / ow + 1, rows = r1 - r0, row = ow * NC_B;
    if (d->y) { /* whole rows into t at their place, then the 1x1 conv from there */
        for (long cb = 0; cb < j->cbs; cb++) j->K->dw_rows(d, i, cb, r0, r1);
        dwpw_pointwise(j, i, q0, q1, d->y + i * d->ys.s_n + q0 * NC_B, d->ys.s_cb);
        return;
    }
    float *buf = band_buf((size_t)(j->cbs * rows * row));
    if (!buf) {
        __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
        return;
    }
    /* the depthwise conv on the input seen from row r0 * sh - ph on: output row r0 becomes row
     * 0 and the rows above r0's taps are real rows, not padding (r0 = 0: the plane as it is);
     * each output's taps are those the whole-plane call sums, in its order */
    gk_nchwc_conv_args dr = *d;
    long top = r0 * d->sh - d->ph;
    if (r0 > 0 && top >= 0) {
        dr.x = d->x + top * d->xs.s_y;
        dr.h = d->h - top;
        dr.ph = 0;
    } else if (r0 > 0) { /* a pad taller than the stride: the top pad shrinks by r0 * sh */
        dr.ph = d->ph - r0 * d->sh;
    }
    dr.oh = rows;
    dr.z = NULL;
    gk_nchwc_strides bs = {NC_B, 0, rows * row, row, NC_B};
    dr.y = buf;
    dr.ys = bs;
    for (long cb = 0; cb < j->cbs; cb++) j->K->dw_rows(&dr, i, cb, 0, rows);
    dwpw_pointwise(j, i, q0, q1, buf + (q0 - r0 * ow) * NC_B, rows * row);
}

/* units: pixels of all images (image u / plane), a piece never across two images */
static void dwpw_part(void *ctx, long u0, long u1, int seat) {
    dwpw_job *j = (dwpw_job *)ctx;
    long plane = j->d->oh * j->d->ow;
    (void)seat;
    while (u0 < u1) {
        long i = u0 / plane, e = GK_MIN(u1, (i + 1) * plane);
        dwpw_pixels(j, i, u0 - i * plane, e - i * plane);
        u0 = e;
    }
}

int gk_nchwc_depthwise_pointwise_strided(const gk_nchwc_conv_args *d, const gk_nchwc_conv_args *p,
                                         long n, int threads) {
    if (n <= 0 || d->c <= 0 || d->oh <= 0 || d->ow <= 0 || p->m <= 0) return 0;
    long q = d->oh * d->ow, mb = p->m / NC_B, ncb = p->c / NC_B;
    double work = (double)n * q * (d->c * d->kh * d->kw + p->m * p->c);
    int team = work > 65536 ? threads : 1;
    team = (int)GK_MIN((long)team, (long)GK_POOL_MAX_THREADS);
    /* parts: a band of at most gk_nchwc_dwpw_band_bytes each (at least a row), at least
     * gk_nchwc_dwpw_pieces per thread, a multiple of the threads; whole rows where the plane
     * has at least 4 rows a part, else pixels in fours (a row shared by two parts is computed
     * by both) */
    long row_bytes = d->c * d->ow * (long)sizeof(float);
    long band_rows = GK_MAX(1L, gk_nchwc_dwpw_band_bytes / row_bytes);
    long pieces = GK_MAX(1L, GK_MIN(gk_nchwc_dwpw_pieces, (long)NC_PIECES_MAX));
    long per_image = GK_MAX((d->oh + band_rows - 1) / band_rows, (team * pieces + n - 1) / n);
    long all = GK_MIN(n * per_image, (long)team * NC_PIECES_MAX);
    all = (all + team - 1) / team * team;
    pieces = all / team;
    long bounds[GK_POOL_MAX_THREADS * NC_PIECES_MAX + 1];
    for (long t = 0; t <= all; t++) { /* into d->y: whole rows (each written by one part) */
        long b = nc_part_bound(n * d->oh, t, all, 1) * d->ow;
        if (!d->y && n * d->oh < 4 * all) b = nc_part_bound(n * q, t, all, 4);
        bounds[t] = b;
    }
    dwpw_job j = {d, p, gk_k.nchwc, d->c / NC_B, mb, nc_groups(mb), ncb,
                  blocks_per_pass(p, ncb, NC_B), 0};
    gk_pool_run_parts(bounds, team, (int)pieces, team, dwpw_part, &j);
    return j.failed ? -1 : 0;
}

int gk_nchwc_depthwise_pointwise(const float *x, long n, long c, long h, long w, const float *dwp,
                                 long kh, long kw, long sh, long sw, long dh, long dw, long ph,
                                 long pw, long oh, long ow, const float *dbias, float dlo,
                                 float dhi, const gk_nchwc_post *dpost, const float *pwp, long m,
                                 const float *pbias, const float *z, float plo, float phi,
                                 const gk_nchwc_post *ppost, float *t, float *y, int threads) {
    if (t && !gk_nchwc_dwpw_fuses(oh, threads)) { /* the two calls, through t */
        gk_nchwc_depthwise(x, n, c, h, w, dwp, kh, kw, sh, sw, dh, dw, ph, pw, oh, ow, dbias,
                           NULL, dlo, dhi, dpost, t, threads);
        gk_nchwc_conv(t, n, c, oh, ow, 1, pwp, m, 1, 1, 1, 1, 1, 1, 0, 0, oh, ow, pbias, z, plo,
                      phi, ppost, y, threads);
        return 0;
    }
    gk_nchwc_post none = {0};
    gk_nchwc_conv_args d = {x,  c,  h,  w,  blocked(c, h, w), dwp, c,  kh,   kw,
                            sh, sw, dh, dw, ph, pw, oh, ow, dbias, NULL, dlo, dhi,
                            t,  blocked(c, oh, ow), dpost ? *dpost : none};
    gk_nchwc_conv_args p = conv_args(NULL, c, oh, ow, 1, pwp, m, 1, 1, 1, 1, 1, 1, 0, 0, oh, ow,
                                     pbias, z, plo, phi, ppost, y);
    return gk_nchwc_depthwise_pointwise_strided(&d, &p, n, threads);
}
