/* MobileNetV2's inverted residual blocks (torchvision's shapes from the 112 x 112 16-channel
 * block on, one image) chained as the model runs them: expansion 1x1 (+ Relu6) -> depthwise 3x3
 * (+ Relu6) -> projection 1x1 (+ the residual), against expansion -> gk_nchwc_depthwise_pointwise
 * (the depthwise conv and the projection as one call, Session 30). The variants alternate chain
 * by chain in one process, so the cross-core state of each call is the model's (the expansion's
 * output split among the cores as in the model, the weights, 8.7 MB, past L2). Per block and
 * stage: the median and the minimum over REPS chains; "same" when the fused call gives the
 * unfused projections' bits. Variants: "unfused" (three calls), "fused" (expansion, fused),
 * "parts" (fused, the expansion in static pixel parts: gk_nchwc_split_mode 2 for it). Weights
 * are not packed (random values in the packed layout). Not built by setup.py: after ./rebuild.sh
 *
 *   B=build/temp.linux-x86_64-cpython-311/cython_kernels/src; F="-O3 -pthread -fno-math-errno \
 *     -fno-trapping-math -Icython_kernels/src"; gcc $F -o /tmp/dwpw/bench \
 *     benchmarks/nchwc_dwpw_bench.c cython_kernels/src/nchwc.c \
 *     $(ls $B/*.o $B/levels/*.o | grep -v -e '/nchwc.o' -e _check) -lm
 *   /tmp/dwpw/bench 2 40        # threads, reps; BAND=bytes, PIECES=k: the fused call's knobs
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch.h"
#include "nchwc_dwpw.h"
#include "threadpool.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}
static float *rnd(long n, float scale) {
    float *p = aligned_alloc(64, ((n * 4 + 63) / 64) * 64 + 64);
    for (long i = 0; i < n; i++) p[i] = ((float)rand() / RAND_MAX - 0.5f) * scale;
    return p;
}

typedef struct {
    long c0, c, m, h, s; /* input channels, expanded, output; the expansion's plane; dw stride */
    long oh;
    int res;
    float *we, *be, *wd, *bd, *wp, *bp, *t1, *t2, *y[2];
} block;

/* torchvision's MobileNetV2 after the stem's 32 -> 16 block: (t, c, n, s) */
static block B[32];
static int NB;
static void build(void) {
    long cfg[][4] = {{6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1},
                     {6, 160, 3, 2}, {6, 320, 1, 1}};
    long c0 = 16, h = 112;
    for (int k = 0; k < 6; k++)
        for (long r = 0; r < cfg[k][2]; r++) {
            block *b = &B[NB++];
            b->c0 = c0, b->c = c0 * cfg[k][0], b->m = cfg[k][1], b->h = h;
            b->s = r == 0 ? cfg[k][3] : 1;
            b->oh = (h + 2 - 3) / b->s + 1;
            b->res = b->s == 1 && c0 == b->m;
            b->we = rnd(b->c * c0, 0.5f), b->be = rnd(b->c, 0.1f);
            b->wd = rnd(b->c * 9, 0.5f), b->bd = rnd(b->c, 0.1f);
            b->wp = rnd(b->m * b->c, 0.2f), b->bp = rnd(b->m, 0.1f);
            b->t1 = rnd(b->c * h * h, 1), b->t2 = rnd(b->c * b->oh * b->oh, 1);
            b->y[0] = rnd(b->m * b->oh * b->oh, 1), b->y[1] = rnd(b->m * b->oh * b->oh, 1);
            c0 = b->m, h = b->oh;
        }
}

static gk_nchwc_strides blk(long c, long h, long w) {
    gk_nchwc_strides s = {8, c * h * w, h * w * 8, w * 8, 8};
    return s;
}

static int TH = 2;
static float *X0;
enum { UNFUSED, FUSED, PARTS, NV };
static const char *NAME[NV] = {"unfused", "fused", "parts"};
static double T[NV][32][2]; /* [variant][block][expansion, the rest] of one chain */

static void chain(int v, int out) {
    const float *x = X0;
    for (int k = 0; k < NB; k++) {
        block *b = &B[k];
        float *y = b->y[out];
        const float *z = b->res ? x : NULL;
        double t0 = now();
        gk_nchwc_split_mode = v == PARTS ? 2 : 0;
        gk_nchwc_conv(x, 1, b->c0, b->h, b->h, 1, b->we, b->c, 1, 1, 1, 1, 1, 1, 0, 0, b->h,
                      b->h, b->be, NULL, 0, 6, NULL, b->t1, TH);
        gk_nchwc_split_mode = 0;
        double t1 = now();
        if (v == UNFUSED) {
            gk_nchwc_depthwise(b->t1, 1, b->c, b->h, b->h, b->wd, 3, 3, b->s, b->s, 1, 1, 1, 1,
                               b->oh, b->oh, b->bd, NULL, 0, 6, NULL, b->t2, TH);
            gk_nchwc_conv(b->t2, 1, b->c, b->oh, b->oh, 1, b->wp, b->m, 1, 1, 1, 1, 1, 1, 0, 0,
                          b->oh, b->oh, b->bp, z, -INFINITY, INFINITY, NULL, y, TH);
        } else {
            gk_nchwc_conv_args d = {0}, p = {0};
            d.x = b->t1, d.c = b->c, d.h = d.w = b->h, d.xs = blk(b->c, b->h, b->h);
            d.wp = b->wd, d.m = b->c, d.kh = d.kw = 3, d.sh = d.sw = b->s, d.dh = d.dw = 1;
            d.ph = d.pw = 1, d.oh = d.ow = b->oh, d.bias = b->bd, d.lo = 0, d.hi = 6;
            p.c = b->c, p.h = p.w = b->oh, p.wp = b->wp, p.m = b->m, p.kh = p.kw = 1;
            p.sh = p.sw = p.dh = p.dw = 1, p.oh = p.ow = b->oh, p.bias = b->bp, p.z = z;
            p.lo = -INFINITY, p.hi = INFINITY, p.y = y, p.ys = blk(b->m, b->oh, b->oh);
            if (gk_nchwc_depthwise_pointwise_strided(&d, &p, 1, TH)) exit(2);
        }
        double t2 = now();
        T[v][k][0] = t1 - t0, T[v][k][1] = t2 - t1;
        x = y;
    }
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    gk_set_simd_level(2);
    TH = argc > 1 ? atoi(argv[1]) : 2;
    int reps = argc > 2 ? atoi(argv[2]) : 30;
    if (getenv("BAND")) gk_nchwc_dwpw_band_bytes = atol(getenv("BAND"));
    if (getenv("PIECES")) gk_nchwc_dwpw_pieces = atol(getenv("PIECES"));
    gk_pool_start(TH);
    build();
    X0 = rnd(16 * 112 * 112, 1);
    /* the bits: each variant's projections against the unfused ones */
    int same[NV] = {1, 1, 1};
    chain(UNFUSED, 0);
    for (int v = FUSED; v < NV; v++) {
        chain(v, 1);
        for (int k = 0; k < NB; k++)
            same[v] &= !memcmp(B[k].y[0], B[k].y[1], sizeof(float) * B[k].m * B[k].oh * B[k].oh);
    }
    static double S[NV][32][2][512], W[NV][512];
    reps = reps > 512 ? 512 : reps;
    for (int r = 0; r < reps + 2; r++)
        for (int v = 0; v < NV; v++) {
            chain(v, v != UNFUSED);
            if (r < 2) continue;
            double w = 0;
            for (int k = 0; k < NB; k++)
                for (int s = 0; s < 2; s++) S[v][k][s][r - 2] = T[v][k][s], w += T[v][k][s];
            W[v][r - 2] = w;
        }
    printf("threads %d, reps %d, band %ld bytes, pieces %ld; bits: fused %s, parts %s\n", TH,
           reps, gk_nchwc_dwpw_band_bytes, gk_nchwc_dwpw_pieces, same[FUSED] ? "same" : "DIFF",
           same[PARTS] ? "same" : "DIFF");
    printf("%-26s | %-22s | %-22s | %-22s | rest f/u p/u (median)\n", "block (us: median min)",
           "unfused exp  dw+proj", "fused exp  fused", "parts exp  fused");
    double tot[NV][2] = {{0}};
    for (int k = 0; k < NB; k++) {
        block *b = &B[k];
        double med[NV][2], mn[NV][2];
        for (int v = 0; v < NV; v++)
            for (int s = 0; s < 2; s++) {
                qsort(S[v][k][s], reps, sizeof(double), cmpd);
                med[v][s] = S[v][k][s][reps / 2] * 1e6, mn[v][s] = S[v][k][s][0] * 1e6;
                tot[v][s] += med[v][s];
            }
        printf("%3ld>%-4ld>%-3ld %3ldx%-3ld s%ld%s |", b->c0, b->c, b->m, b->h, b->h, b->s,
               b->res ? " r" : "  ");
        for (int v = 0; v < NV; v++)
            printf(" %5.0f %4.0f %5.0f %4.0f |", med[v][0], mn[v][0], med[v][1], mn[v][1]);
        printf(" %.3f %.3f\n", med[FUSED][1] / med[UNFUSED][1], med[PARTS][1] / med[UNFUSED][1]);
    }
    printf("sum of medians (us): ");
    for (int v = 0; v < NV; v++)
        printf("%s exp %.0f rest %.0f  ", NAME[v], tot[v][0], tot[v][1]);
    printf("\nwhole chain median / min (us): ");
    for (int v = 0; v < NV; v++) {
        qsort(W[v], reps, sizeof(double), cmpd);
        printf("%s %.0f / %.0f  ", NAME[v], W[v][reps / 2] * 1e6, W[v][0] * 1e6);
    }
    printf("\n");
    return 0;
}
