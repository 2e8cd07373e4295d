/* Training kernels (see train.h). Sums run in 16 float lanes over blocks of GK_BLOCK elements and
 * in float64 across blocks: vectorisable without reassociation flags, and as accurate as a
 * float64 sum for these lengths. */
#include "train.h"

#include <math.h>

#include <string.h>

#include "dispatch.h"
#include "isa.h"
#include "maths.h"
#include "threadpool.h"

/* no FMA contraction here (a * b + c rounded twice, as numpy computes it): the optimiser kernels
 * are the reference's float32 steps bit for bit, also where the baseline ISA has FMA (aarch64) */
#pragma GCC optimize("fp-contract=off")

#define GK_LANES 16
#define GK_BLOCK 1024

/* threads worth waking for `work` floats (a pool call costs a few us) */
static int train_threads(long work, int threads) { return work < 32768 ? 1 : threads; }

/* fn over the units [0, units) on the pool, or on this thread where one thread is asked */
static void train_run(long units, int threads, gk_range_fn fn, void *ctx) {
    if (threads > 1)
        gk_parallel_range(units, threads, fn, ctx);
    else
        fn(ctx, 0, units, 0);
}

/* one training kernel's arguments, shared by its units */
typedef struct {
    const float *x, *dy, *scale, *bias;
    float *y, *dx, *mean, *var, *dscale, *db;
    double *sums;
    double eps;
    float lo, hi;
    long n, c, l, h, w, kh, kw;
} train_job;

static long min_l(long a, long b) { return a < b ? a : b; }

/* Σ x[0:n] */
static double block_sum(const float *restrict x, long n) {
    double total = 0.0;
    for (long b = 0; b < n; b += GK_BLOCK) {
        long e = min_l(b + GK_BLOCK, n), i = b;
        float acc[GK_LANES] = {0};
        for (; i + GK_LANES <= e; i += GK_LANES)
            for (int j = 0; j < GK_LANES; j++) acc[j] += x[i + j];
        float s = 0.0f;
        for (; i < e; i++) s += x[i];
        for (int j = 0; j < GK_LANES; j++) s += acc[j];
        total += s;
    }
    return total;
}

/* Σ x[0:n] and Σ g[0:n], in one pass */
static void block_sum2(const float *restrict x, const float *restrict g, long n, double *sx,
                       double *sg) {
    double tx = 0.0, tg = 0.0;
    for (long b = 0; b < n; b += GK_BLOCK) {
        long e = min_l(b + GK_BLOCK, n), i = b;
        float ax[GK_LANES] = {0}, ag[GK_LANES] = {0};
        for (; i + GK_LANES <= e; i += GK_LANES)
            for (int j = 0; j < GK_LANES; j++) {
                ax[j] += x[i + j];
                ag[j] += g[i + j];
            }
        float s = 0.0f, t = 0.0f;
        for (; i < e; i++) {
            s += x[i];
            t += g[i];
        }
        for (int j = 0; j < GK_LANES; j++) {
            s += ax[j];
            t += ag[j];
        }
        tx += s;
        tg += t;
    }
    *sx += tx;
    *sg += tg;
}

/* Σ (x - mu)² and, when g is not NULL, Σ g (x - mu), over x[0:n] */
static void centred_sums(const float *restrict x, const float *restrict g, long n, float mu,
                         double *sxx, double *sgx) {
    double txx = 0.0, tgx = 0.0;
    for (long b = 0; b < n; b += GK_BLOCK) {
        long e = min_l(b + GK_BLOCK, n), i = b;
        float axx[GK_LANES] = {0}, agx[GK_LANES] = {0};
        float s = 0.0f, t = 0.0f;
        if (g) {
            for (; i + GK_LANES <= e; i += GK_LANES)
                for (int j = 0; j < GK_LANES; j++) {
                    float d = x[i + j] - mu;
                    axx[j] += d * d;
                    agx[j] += g[i + j] * d;
                }
            for (; i < e; i++) {
                float d = x[i] - mu;
                s += d * d;
                t += g[i] * d;
            }
        } else {
            for (; i + GK_LANES <= e; i += GK_LANES)
                for (int j = 0; j < GK_LANES; j++) {
                    float d = x[i + j] - mu;
                    axx[j] += d * d;
                }
            for (; i < e; i++) {
                float d = x[i] - mu;
                s += d * d;
            }
        }
        for (int j = 0; j < GK_LANES; j++) {
            s += axx[j];
            t += agx[j];
        }
        txx += s;
        tgx += t;
    }
    *sxx += txx;
    *sgx += tgx;
}

/* channels [c0, c1) */
static void bn_forward_channels(void *p, long c0, long c1, int seat) {
    const train_job *j = (const train_job *)p;
    const float *x = j->x, *scale = j->scale, *bias = j->bias;
    float *y = j->y, *mean = j->mean, *var = j->var;
    long n = j->n, c = j->c, l = j->l;
    double m = (double)n * (double)l, eps = j->eps;
    (void)seat;
    for (long ch = c0; ch < c1; ch++) {
        double s = 0.0, sxx = 0.0, unused = 0.0;
        for (long i = 0; i < n; i++) s += block_sum(x + (i * c + ch) * l, l);
        float mu = (float)(s / m);
        for (long i = 0; i < n; i++) centred_sums(x + (i * c + ch) * l, NULL, l, mu, &sxx, &unused);
        float v = (float)(sxx / m);
        double k = (double)scale[ch] / sqrt((double)v + eps);
        float kf = (float)k, sf = (float)((double)bias[ch] - (double)mu * k);
        for (long i = 0; i < n; i++) {
            const float *xs = x + (i * c + ch) * l;
            float *ys = y + (i * c + ch) * l;
            for (long j = 0; j < l; j++) ys[j] = xs[j] * kf + sf;
        }
        mean[ch] = mu;
        var[ch] = v;
    }
}

void gk_bn_train_forward(const float *x, const float *scale, const float *bias, float *y,
                         float *mean, float *var, long n, long c, long l, double eps, int threads) {
    train_job j = {.x = x, .scale = scale, .bias = bias, .y = y, .mean = mean, .var = var,
                   .eps = eps, .n = n, .c = c, .l = l};
    train_run(c, train_threads(n * c * l, threads), bn_forward_channels, &j);
}

/* channels [c0, c1) */
static void bn_grad_channels(void *p, long c0, long c1, int seat) {
    const train_job *j = (const train_job *)p;
    const float *x = j->x, *dy = j->dy, *scale = j->scale;
    float *dx = j->dx, *dscale = j->dscale, *db = j->db;
    long n = j->n, c = j->c, l = j->l;
    double m = (double)n * (double)l, eps = j->eps;
    (void)seat;
    for (long ch = c0; ch < c1; ch++) {
        double sx = 0.0, sg = 0.0, sxx = 0.0, sgx = 0.0;
        for (long i = 0; i < n; i++)
            block_sum2(x + (i * c + ch) * l, dy + (i * c + ch) * l, l, &sx, &sg);
        float mu = (float)(sx / m);
        for (long i = 0; i < n; i++)
            centred_sums(x + (i * c + ch) * l, dy + (i * c + ch) * l, l, mu, &sxx, &sgx);
        double r = 1.0 / sqrt((double)(float)(sxx / m) + eps);
        double k = (double)scale[ch] * r, ds = sgx * r;
        /* dx = (dy - db / m) k - (x - mu) k r dscale / m: dy centred first, as the reference's
         * m dy - db (exact 0 where dy is constant over the channel) */
        float a = (float)k, gm = (float)(sg / m), q = (float)(-k * r * ds / m);
        for (long i = 0; i < n; i++) {
            const float *xs = x + (i * c + ch) * l, *gs = dy + (i * c + ch) * l;
            float *out = dx + (i * c + ch) * l;
            for (long j = 0; j < l; j++) out[j] = (gs[j] - gm) * a + (xs[j] - mu) * q;
        }
        dscale[ch] = (float)ds;
        db[ch] = (float)sg;
    }
}

void gk_bn_train_grad(const float *dy, const float *x, const float *scale, float *dx,
                      float *dscale, float *db, long n, long c, long l, double eps, int threads) {
    train_job j = {.x = x, .dy = dy, .scale = scale, .dx = dx, .dscale = dscale, .db = db,
                   .eps = eps, .n = n, .c = c, .l = l};
    train_run(c, train_threads(n * c * l, threads), bn_grad_channels, &j);
}

/* chunks [c0, c1) of GK_CLIP_CHUNK elements; chunk ch's two bound sums go to sums[2 ch ...] */
static void clip_grad_chunks(void *p, long c0, long c1, int seat) {
    const train_job *j = (const train_job *)p;
    const float *restrict g = j->dy;
    const float *restrict v = j->x;
    float *restrict out = j->dx;
    float lo = j->lo, hi = j->hi;
    long n = j->n;
    (void)seat;
    for (long ch = c0; ch < c1; ch++) {
        double slo = 0.0, shi = 0.0;
        long end = min_l((ch + 1) * GK_CLIP_CHUNK, n);
        for (long b = ch * GK_CLIP_CHUNK; b < end; b += GK_BLOCK) {
            long e = min_l(b + GK_BLOCK, end), i = b;
            float alo[GK_LANES] = {0}, ahi[GK_LANES] = {0};
            for (; i + GK_LANES <= e; i += GK_LANES)
                for (int j = 0; j < GK_LANES; j++) {
                    float gj = g[i + j], vj = v[i + j]; /* selects only: vectorised as blends */
                    alo[j] += vj < lo ? gj : 0.0f;
                    ahi[j] += vj > hi ? gj : 0.0f;
                    float inside = vj > hi ? 0.0f : gj;
                    out[i + j] = vj < lo ? 0.0f : inside;
                }
            float tl = 0.0f, th = 0.0f;
            for (; i < e; i++) {
                tl += v[i] < lo ? g[i] : 0.0f;
                th += v[i] > hi ? g[i] : 0.0f;
                float inside = v[i] > hi ? 0.0f : g[i];
                out[i] = v[i] < lo ? 0.0f : inside;
            }
            for (int j = 0; j < GK_LANES; j++) {
                tl += alo[j];
                th += ahi[j];
            }
            slo += tl;
            shi += th;
        }
        j->sums[2 * ch] = slo;
        j->sums[2 * ch + 1] = shi;
    }
}

void gk_clip_grad(const float *dy, const float *x, float lo, float hi, float *dx, double *sums,
                  long n, int threads) {
    train_job j = {.x = x, .dy = dy, .dx = dx, .sums = sums, .lo = lo, .hi = hi, .n = n};
    long chunks = (n + GK_CLIP_CHUNK - 1) / GK_CLIP_CHUNK;
    train_run(chunks, train_threads(n, threads), clip_grad_chunks, &j);
}

/* planes [p0, p1) */
static void max_pool_grad_planes(void *ctx, long p0, long p1, int seat) {
    const train_job *j = (const train_job *)ctx;
    const float *x = j->x, *dy = j->dy;
    float *dx = j->dx;
    long h = j->h, w = j->w, kh = j->kh, kw = j->kw, oh = h / kh, ow = w / kw;
    (void)seat;
    for (long p = p0; p < p1; p++) {
        const float *xp = x + p * h * w, *gp = dy + p * oh * ow;
        float *dp = dx + p * h * w;
        memset(dp, 0, (size_t)(h * w) * sizeof(float));
        for (long oy = 0; oy < oh; oy++)
            for (long ox = 0; ox < ow; ox++) {
                long top = oy * kh * w + ox * kw, at = top;
                float best = xp[top];
                for (long ky = 0; ky < kh && best == best; ky++)
                    for (long kx = 0; kx < kw; kx++) {
                        long idx = top + ky * w + kx;
                        float v = xp[idx];
                        if (v != v) { /* the first NaN wins */
                            at = idx;
                            best = v;
                            break;
                        }
                        if (v > best) {
                            best = v;
                            at = idx;
                        }
                    }
                dp[at] = gp[oy * ow + ox];
            }
    }
}

void gk_max_pool_grad(const float *dy, const float *x, float *dx, long planes, long h, long w,
                      long kh, long kw, int threads) {
    train_job j = {.x = x, .dy = dy, .dx = dx, .h = h, .w = w, .kh = kh, .kw = kw};
    train_run(planes, train_threads(planes * h * w, threads), max_pool_grad_planes, &j);
}

/* blocks [c0, c1) of GK_BLOCK elements, by the SIMD level's row kernel (elementwise_kernels.inc) */
static void gelu_grad_blocks(void *p, long c0, long c1, int seat) {
    const train_job *j = (const train_job *)p;
    long start = c0 * GK_BLOCK, end = min_l(c1 * GK_BLOCK, j->n);
    (void)seat;
    gk_k.elementwise->gelu_grad_row(j->dy + start, j->x + start, j->dx + start, end - start);
}

void gk_gelu_grad(const float *dy, const float *x, float *dx, long n, int threads) {
    train_job j = {.x = x, .dy = dy, .dx = dx, .n = n};
    train_run((n + GK_BLOCK - 1) / GK_BLOCK, train_threads(n * 8, threads), gelu_grad_blocks, &j);
}

void gk_gather_grad(const float *dy, const long long *idx, double *acc, float *out, long outer,
                    long n, long dim, long inner) {
    memset(acc, 0, (size_t)(outer * dim * inner) * sizeof(double));
    for (long o = 0; o < outer; o++)
        for (long i = 0; i < n; i++) {
            const float *restrict g = dy + (o * n + i) * inner;
            double *restrict a = acc + (o * dim + (long)idx[i]) * inner;
            for (long k = 0; k < inner; k++) a[k] += (double)g[k];
        }
    for (long k = 0; k < outer * dim * inner; k++) out[k] = (float)acc[k];
}

typedef struct {
    const float *x, *grad, *v, *h, *k;
    float *xo, *vo, *ho;
    long n;
    int nesterov;
} opt_job;

/* chunks [c0, c1) of GK_OPT_CHUNK elements */
static void adam_chunks(void *p, long c0, long c1, int seat) {
    const opt_job *j = (const opt_job *)p;
    const float *restrict x = j->x, *restrict gr = j->grad, *restrict v = j->v, *restrict h = j->h;
    float *restrict xo = j->xo, *restrict vo = j->vo, *restrict ho = j->ho;
    const float nc = j->k[0], a = j->k[1], oma = j->k[2], b = j->k[3], omb = j->k[4];
    const float rate = j->k[5], eps = j->k[6], post = j->k[7];
    long end = min_l(c1 * GK_OPT_CHUNK, j->n);
    (void)seat;
    GK_IVDEP for (long i = c0 * GK_OPT_CHUNK; i < end; i++) {
        float g = nc * x[i] + gr[i];
        float vn = a * v[i] + oma * g;
        float hn = b * h[i] + (omb * g) * g;
        vo[i] = vn;
        ho[i] = hn;
        xo[i] = post * (x[i] - (rate * vn) / (sqrtf(hn) + eps));
    }
}

void gk_adam(const float *x, const float *grad, const float *v, const float *h, float *xo,
             float *vo, float *ho, long n, const float *k, int threads) {
    opt_job j = {.x = x, .grad = grad, .v = v, .h = h, .k = k, .xo = xo, .vo = vo, .ho = ho,
                 .n = n};
    train_run((n + GK_OPT_CHUNK - 1) / GK_OPT_CHUNK, train_threads(n * 4, threads), adam_chunks,
              &j);
}

static void momentum_chunks(void *p, long c0, long c1, int seat) {
    const opt_job *j = (const opt_job *)p;
    const float *restrict x = j->x, *restrict gr = j->grad, *restrict v = j->v;
    float *restrict xo = j->xo, *restrict vo = j->vo;
    const float nc = j->k[0], a = j->k[1], bt = j->k[2], rate = j->k[3];
    long end = min_l(c1 * GK_OPT_CHUNK, j->n);
    (void)seat;
    if (j->nesterov) {
        for (long i = c0 * GK_OPT_CHUNK; i < end; i++) {
            float g = nc * x[i] + gr[i];
            float vn = a * v[i] + bt * g;
            vo[i] = vn;
            xo[i] = x[i] - rate * (g + a * vn);
        }
    } else {
        for (long i = c0 * GK_OPT_CHUNK; i < end; i++) {
            float g = nc * x[i] + gr[i];
            float vn = a * v[i] + bt * g;
            vo[i] = vn;
            xo[i] = x[i] - rate * vn;
        }
    }
}

void gk_momentum(const float *x, const float *grad, const float *v, float *xo, float *vo, long n,
                 const float *k, int nesterov, int threads) {
    opt_job j = {.x = x, .grad = grad, .v = v, .k = k, .xo = xo, .vo = vo, .n = n,
                 .nesterov = nesterov};
    train_run((n + GK_OPT_CHUNK - 1) / GK_OPT_CHUNK, train_threads(n * 4, threads),
              momentum_chunks, &j);
}
