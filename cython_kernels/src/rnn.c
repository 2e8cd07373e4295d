/* LSTM and GRU recurrences (see rnn.h). Per step and per 16-unit panel: a GEMV of h against the
 * panel's packed R rows (all gates of those units, so each thread reads only its own contiguous
 * panels), then the gates and the state update of the same 16 units. The panel bodies are written
 * once with GCC vector types and compiled for AVX-512F, AVX2/FMA and the baseline ISA; the
 * driver picks one at run time (gk_simd_avx512 / gk_simd_avx2). One thread sustains about the
 * L2 bandwidth (R streams from L2 every step; odd steps sweep the panels backwards so an R a
 * little larger than L2 mostly stays there); two threads split R between their L2s. */
#include <math.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "rnn.h"
#include "simd.h"

#define NU GK_RNN_NU
#define GK_ALWAYS_INLINE static inline __attribute__((always_inline))

typedef float v16 __attribute__((vector_size(64)));

size_t gk_rnn_packed_size(long gates, long hidden) {
    long panels = (hidden + NU - 1) / NU;
    return (size_t)(panels * hidden * gates * NU);
}

void gk_rnn_pack(const float *r, long gates, long hidden, float *out) {
    long panels = (hidden + NU - 1) / NU;
    for (long p = 0; p < panels; p++)
        for (long k = 0; k < hidden; k++)
            for (long g = 0; g < gates; g++) {
                float *o = out + ((p * hidden + k) * gates + g) * NU;
                for (long u = 0; u < NU; u++) {
                    long j = p * NU + u;
                    o[u] = j < hidden ? r[(g * hidden + j) * hidden + k] : 0.0f;
                }
            }
}

/* ---- activations (float32, branch-free so the unit loops vectorise) ----------------------- */

GK_ALWAYS_INLINE float rnn_sigmoid(float x) { return 1.0f / (1.0f + gk_expf(-x)); }

/* tanh: |x| < 0.625 an odd polynomial (x + x^3 q(x^2), least-squares fit, ~1.2 ulp), else
 * 1 - 2 / (exp(2|x|) + 1); sign restored, NaN propagates. */
GK_ALWAYS_INLINE float rnn_tanh(float x) {
    float a = fabsf(x), s = a * a;
    float q = -5.736533552408218e-3f;
    q = q * s + 2.0668379962444305e-2f;
    q = q * s - 5.3749073296785355e-2f;
    q = q * s + 1.3331559300422668e-1f;
    q = q * s - 3.333328664302826e-1f;
    float small = a + a * s * q;
    float big = 1.0f - 2.0f / (gk_expf(2.0f * a) + 1.0f);
    float t = a < 0.625f ? small : big;
    t = x < 0.0f ? -t : t;
    return x != x ? x : t;
}

GK_ALWAYS_INLINE float rnn_clip(float v, float lo, float hi) {
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* ---- GEMV over one packed panel: out[g * 16 + u] = sum_k h[k] * panel[k][g][u] ------------
 * S independent accumulator sets (over alternating k) hide the FMA latency; G gates. */
#define GK_RNN_GEMV(G, S)                                                                        \
    GK_ALWAYS_INLINE void gemv_g##G##_s##S(const float *restrict pan, long hidden,             \
                                           const float *restrict h, float *restrict out) {     \
        v16 acc[S][G];                                                                         \
        _Pragma("GCC unroll 8") for (int s = 0; s < S; s++)                                    \
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) acc[s][g] = (v16){0};          \
        long k = 0;                                                                            \
        for (; k + S <= hidden; k += S) {                                                      \
            _Pragma("GCC unroll 8") for (int s = 0; s < S; s++) {                              \
                v16 hb = (v16){0} + h[k + s];                                                  \
                const float *q = pan + (k + s) * (G * NU);                                     \
                _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {                          \
                    v16 w;                                                                     \
                    memcpy(&w, q + g * NU, sizeof w);                                          \
                    acc[s][g] += hb * w;                                                       \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
        for (; k < hidden; k++) {                                                              \
            v16 hb = (v16){0} + h[k];                                                          \
            const float *q = pan + k * (G * NU);                                               \
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {                              \
                v16 w;                                                                         \
                memcpy(&w, q + g * NU, sizeof w);                                              \
                acc[0][g] += hb * w;                                                           \
            }                                                                                  \
        }                                                                                      \
        _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {                                  \
            v16 a = acc[0][g];                                                                 \
            _Pragma("GCC unroll 8") for (int s = 1; s < S; s++) a += acc[s][g];                \
            memcpy(out + g * NU, &a, sizeof a);                                                \
        }                                                                                      \
    }

GK_RNN_GEMV(4, 1)
GK_RNN_GEMV(4, 2)
GK_RNN_GEMV(2, 2)
GK_RNN_GEMV(2, 4)
GK_RNN_GEMV(1, 4)
GK_RNN_GEMV(1, 8)

/* ---- panel bodies: GEMV + gates + state update of units j0 .. j0 + nu - 1 ------------------ */

/* LSTM, gates i, o, f, c. h, c: h_t-1, c_t-1 rows; xw: XW row (gate 0, unit 0); peep: i, o, f
 * peepholes; cn, hn: c_t, h_t rows; y: Y row or NULL. */
#define GK_LSTM_PANEL(SFX, GEMV)                                                                \
    static void lstm_panel_##SFX(const float *pan, long H, const float *h, const float *xw,     \
                                 const float *peep, const float *c, float *cn_, float *hn,     \
                                 float *y, long j0,                                            \
                                 long nu, float lo, float hi, int input_forget) {              \
        float acc[4 * NU];                                                                     \
        GEMV(pan, H, h, acc);                                                                  \
        float hv[NU];                                                                          \
        for (long u = 0; u < nu; u++) {                                                        \
            long j = j0 + u;                                                                   \
            float cp = c[j];                                                                   \
            float i = rnn_sigmoid(rnn_clip(acc[u] + xw[j] + peep[j] * cp, lo, hi));            \
            float f = rnn_sigmoid(rnn_clip(acc[2 * NU + u] + xw[2 * H + j] + peep[2 * H + j] * cp, \
                                           lo, hi));                                            \
            f = input_forget ? 1.0f - i : f;                                                   \
            float cn = f * cp + i * rnn_tanh(rnn_clip(acc[3 * NU + u] + xw[3 * H + j], lo, hi)); \
            float o = rnn_sigmoid(rnn_clip(acc[NU + u] + xw[H + j] + peep[H + j] * cn, lo, hi)); \
            cn_[j] = cn;                                                                       \
            hv[u] = o * rnn_tanh(cn);                                                          \
        }                                                                                      \
        memcpy(hn + j0, hv, (size_t)nu * sizeof(float));                                       \
        if (y) memcpy(y + j0, hv, (size_t)nu * sizeof(float));                                 \
    }

/* GRU phase A, gates z, r (and h when linear_before_reset): with lbr, the new h of the units;
 * else z and r * h_t-1 of the units, into zb and rh, for phase B. */
#define GK_GRU_PANEL_A(SFX, GEMV2, GEMV1)                                                       \
    static void gru_panel_a_##SFX(const float *pzr, const float *ph, long H, const float *h,   \
                                  const float *xw, const float *rbh, float *hn, float *y,      \
                                  float *zb, float *rh, long j0, long nu, float lo, float hi,   \
                                  int lbr) {                                                   \
        float zr[2 * NU], hh[NU], hv[NU];                                                      \
        GEMV2(pzr, H, h, zr);                                                                  \
        if (lbr) GEMV1(ph, H, h, hh);                                                          \
        for (long u = 0; u < nu; u++) {                                                        \
            long j = j0 + u;                                                                   \
            float z = rnn_sigmoid(rnn_clip(zr[u] + xw[j], lo, hi));                            \
            float r = rnn_sigmoid(rnn_clip(zr[NU + u] + xw[H + j], lo, hi));                   \
            if (lbr) {                                                                         \
                float ht = rnn_tanh(rnn_clip(xw[2 * H + j] + r * (hh[u] + rbh[j]), lo, hi));  \
                hv[u] = (1.0f - z) * ht + z * h[j];                                            \
            } else {                                                                           \
                zb[j] = z;                                                                     \
                rh[j] = r * h[j];                                                              \
            }                                                                                  \
        }                                                                                      \
        if (lbr) {                                                                             \
            memcpy(hn + j0, hv, (size_t)nu * sizeof(float));                                   \
            if (y) memcpy(y + j0, hv, (size_t)nu * sizeof(float));                             \
        }                                                                                      \
    }

/* GRU phase B (linear_before_reset 0): h~ = tanh(xw_h + (r * h) R_h^T), R bias folded in xw. */
#define GK_GRU_PANEL_B(SFX, GEMV1)                                                              \
    static void gru_panel_b_##SFX(const float *ph, long H, const float *rh, const float *h,    \
                                  const float *xw, const float *zb, float *hn, float *y,       \
                                  long j0, long nu, float lo, float hi) {                      \
        float hh[NU], hv[NU];                                                                  \
        GEMV1(ph, H, rh, hh);                                                                  \
        for (long u = 0; u < nu; u++) {                                                        \
            long j = j0 + u;                                                                   \
            float ht = rnn_tanh(rnn_clip(xw[2 * H + j] + hh[u], lo, hi));                      \
            hv[u] = (1.0f - zb[j]) * ht + zb[j] * h[j];                                        \
        }                                                                                      \
        memcpy(hn + j0, hv, (size_t)nu * sizeof(float));                                       \
        if (y) memcpy(y + j0, hv, (size_t)nu * sizeof(float));                                 \
    }

#if GK_X86
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")
GK_LSTM_PANEL(avx512, gemv_g4_s2)
GK_GRU_PANEL_A(avx512, gemv_g2_s4, gemv_g1_s8)
GK_GRU_PANEL_B(avx512, gemv_g1_s8)
#pragma GCC pop_options
#pragma GCC push_options
#pragma GCC target("avx2,fma")
GK_LSTM_PANEL(avx2, gemv_g4_s1)
GK_GRU_PANEL_A(avx2, gemv_g2_s2, gemv_g1_s4)
GK_GRU_PANEL_B(avx2, gemv_g1_s4)
#pragma GCC pop_options
#endif
GK_LSTM_PANEL(generic, gemv_g4_s1)
GK_GRU_PANEL_A(generic, gemv_g2_s2, gemv_g1_s4)
GK_GRU_PANEL_B(generic, gemv_g1_s4)

typedef void (*lstm_panel_fn)(const float *, long, const float *, const float *, const float *,
                              const float *, float *, float *, float *, long, long, float, float,
                              int);
typedef void (*gru_a_fn)(const float *, const float *, long, const float *, const float *,
                         const float *, float *, float *, float *, float *, long, long, float,
                         float, int);
typedef void (*gru_b_fn)(const float *, long, const float *, const float *, const float *,
                         const float *, float *, float *, long, long, float, float);

/* ---- scheduling ----------------------------------------------------------------------------
 * A layer is a sequence of stages (a step, or for GRU without linear_before_reset each step's two
 * phases); a stage may start only when the previous one is complete. Thread g owns a contiguous
 * group of panels (so its share of R stays in its L2 from step to step) and runs its items (a
 * few panels each) in order, claiming each once its stage may start. The machine may be shared:
 * a thread waiting for a stage whose other owners have made no progress for a while (the OS took
 * them off their cores) runs their items of the stage in progress, unclaimed ones first. When
 * every step's states fit in the history buffers (`redo`), it also runs items a stalled thread
 * claimed but has not finished: an item reads only the states of its step and writes only those
 * of the next (never reused), and both runs write the same bits, so the late one is harmless.
 * So a descheduled thread does not stall the steps (without `redo`: only while inside an item)
 * and a team smaller than asked for still finishes; the end of the parallel region still waits
 * for every team thread to arrive (OpenMP's join), which also keeps late runs inside the call.
 * "Progress" is any item a thread completes, so a working thief is never taken for stalled. */

#define ITEMS_PER_GROUP 4          /* items per group and stage: the granularity of stealing */
#define STALL_NS 4000.0            /* plus an item's time at 20 bytes/ns: "no progress" */
#define HISTORY_FLOATS (4L << 20)  /* most floats of state history kept for `redo` */

typedef struct {
    _Alignas(64) long alive; /* items this thread completed (read by the others) */
} rnn_owner;

typedef struct {
    const gk_rnn_io *io;
    int lstm, lbr, input_forget, redo;
    long phases, stages, groups, items, slots;
    double stall_ns;
    long *item_p0, *item_n, *item_g; /* item i: group g's panels [p0, p0 + n) (ascending) */
    long *group_i0, *group_m;         /* group g: items [i0, i0 + m) */
    unsigned char *status;            /* [stage][item]: FREE, claimer + 1 or DONE */
    long *left;                       /* [stage]: items not done */
    rnn_owner *owner;
    _Alignas(64) long cur;            /* the stage in progress */
    float *hbuf, *cbuf, *zbuf, *rhbuf; /* [slot][d][b][H]: h and c of a step; z, r * h of a step */
    const float *rp, *rh, *peep, *rbh;
    size_t sz_a, sz_b; /* packed floats per direction of rp and rh */
    lstm_panel_fn lp;
    gru_a_fn ga;
    gru_b_fn gb;
} rnn_ctx;

/* where step s of direction d reads and writes for batch item b: the time index, or -1 when the
 * item's sequence has ended (its state is kept and Y[s] is zero) */
static long time_index(const gk_rnn_io *io, long d, long b, long s) {
    long len = io->lens ? (long)io->lens[b] : io->steps;
    if (s >= len) return -1;
    int reverse = io->dirs == 2 ? d == 1 : io->reverse;
    return reverse ? len - 1 - s : s;
}

static float *y_row(const gk_rnn_io *io, long t, long d, long b) {
    return io->y ? io->y + t * io->y_t + d * io->y_d + b * io->y_b : NULL;
}

/* the state rows [d][b] of step s */
static long slot(const rnn_ctx *cx, long s) {
    return (cx->slots > 2 ? s : (s & 1)) * cx->io->dirs * cx->io->batch * cx->io->hidden;
}

/* panel p of stage k, every direction and batch item */
static void run_panel(const rnn_ctx *cx, long k, long p) {
    const gk_rnn_io *io = cx->io;
    long H = io->hidden, B = io->batch, bh = B * H, s = k / cx->phases, phase = k % cx->phases;
    long j0 = p * NU, nu = GK_MIN((long)NU, H - j0), now = slot(cx, s), next = slot(cx, s + 1);
    for (long d = 0; d < io->dirs; d++) {
        for (long b = 0; b < B; b++) {
            long t = time_index(io, d, b, s), o = d * bh + b * H;
            const float *hc = cx->hbuf + now + o, *cc = cx->cbuf + now + o;
            float *hx = cx->hbuf + next + o, *cn = cx->cbuf + next + o;
            if (t < 0) { /* ended: states kept, Y[s] zero */
                if (phase == 0) {
                    memcpy(hx + j0, hc + j0, (size_t)nu * sizeof(float));
                    if (cx->lstm) memcpy(cn + j0, cc + j0, (size_t)nu * sizeof(float));
                    float *y = y_row(io, s, d, b);
                    if (y) memset(y + j0, 0, (size_t)nu * sizeof(float));
                }
                continue;
            }
            const float *xw = io->xw + (t * io->xw_t + b * io->xw_b) * io->xw_ld +
                              d * (cx->lstm ? 4 : 3) * H;
            float *y = y_row(io, t, d, b);
            if (cx->lstm)
                cx->lp(cx->rp + d * cx->sz_a + p * H * 4 * NU, H, hc, xw, cx->peep + d * 3 * H,
                       cc, cn, hx, y, j0, nu, io->lo, io->hi, cx->input_forget);
            else if (phase == 0)
                cx->ga(cx->rp + d * cx->sz_a + p * H * 2 * NU, cx->rh + d * cx->sz_b + p * H * NU,
                       H, hc, xw, cx->rbh + d * H, hx, y, cx->zbuf + now + o,
                       cx->rhbuf + now + o, j0, nu, io->lo, io->hi, cx->lbr);
            else
                cx->gb(cx->rh + d * cx->sz_b + p * H * NU, H, cx->rhbuf + now + o, hc, xw,
                       cx->zbuf + now + o, hx, y, j0, nu, io->lo, io->hi);
        }
    }
}

/* item i of stage k; odd steps visit each group's panels in reverse order, so the panels read
 * last in one step (still in L2 when a thread's R is a little larger than L2) come first in the
 * next */
static void run_item(const rnn_ctx *cx, long k, long i) {
    long g = cx->item_g[i], gp0 = cx->item_p0[cx->group_i0[g]];
    long gn = cx->item_p0[cx->group_i0[g] + cx->group_m[g] - 1] + cx->item_n[cx->group_i0[g] +
              cx->group_m[g] - 1] - gp0;
    int down = (k / cx->phases) & 1;
    for (long p = cx->item_p0[i]; p < cx->item_p0[i] + cx->item_n[i]; p++)
        run_panel(cx, k, down ? gp0 + gn - 1 - (p - gp0) : p);
}

/* status of an item: FREE, claimed by thread r (r + 1), or DONE */
#define FREE 0
#define DONE 255
#define MAX_TEAM 64

/* marks item i of stage k done (once, whoever ran it); the last one opens stage k + 1 */
static void finish(rnn_ctx *cx, long k, long i, long rank) {
    __atomic_fetch_add(&cx->owner[rank].alive, 1, __ATOMIC_RELAXED);
    if (__atomic_exchange_n(cx->status + k * cx->items + i, DONE, __ATOMIC_ACQ_REL) == DONE)
        return;
    if (__atomic_fetch_sub(cx->left + k, 1, __ATOMIC_ACQ_REL) == 1)
        __atomic_store_n(&cx->cur, k + 1, __ATOMIC_RELEASE);
}

static int claim(rnn_ctx *cx, long k, long i, long rank) {
    unsigned char free_ = FREE;
    return __atomic_compare_exchange_n(cx->status + k * cx->items + i, &free_,
                                       (unsigned char)(rank + 1), 0, __ATOMIC_ACQ_REL,
                                       __ATOMIC_RELAXED);
}

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* what a waiting thread knows of each other thread: its item count when last looked, since
 * when that has not changed, and whether it is taken to be off its core (until it moves) */
typedef struct {
    long seen[MAX_TEAM];
    double since[MAX_TEAM];
    unsigned char absent[MAX_TEAM];
} rnn_watch;

static void look(rnn_ctx *cx, rnn_watch *w, double t) {
    for (long g = 0; g < cx->groups; g++) {
        long a = __atomic_load_n(&cx->owner[g].alive, __ATOMIC_RELAXED);
        if (a != w->seen[g] || w->since[g] == 0.0) {
            w->absent[g] = a == w->seen[g] && w->absent[g];
            w->seen[g] = a;
            w->since[g] = t;
        }
    }
}

static int stalled(const rnn_ctx *cx, const rnn_watch *w, long g, double t) {
    return w->absent[g] || t - w->since[g] > cx->stall_ns;
}

/* runs one item of the stage in progress left to a stalled thread: one it owns and nobody
 * claimed, else (with redo) one it claimed; 0 if there is none */
static int steal(rnn_ctx *cx, long rank, rnn_watch *w, double t) {
    long c = __atomic_load_n(&cx->cur, __ATOMIC_ACQUIRE);
    if (c >= cx->stages) return 0;
    for (int pass = 0; pass < 1 + cx->redo; pass++)
        for (long i = 0; i < cx->items; i++) {
            unsigned char st = __atomic_load_n(cx->status + c * cx->items + i, __ATOMIC_RELAXED);
            long g = pass == 0 ? cx->item_g[i] : (long)st - 1;
            if (st == DONE || g == rank || (pass == 0) != (st == FREE) || !stalled(cx, w, g, t))
                continue;
            if (pass == 0 && !claim(cx, c, i, rank)) continue;
            w->absent[g] = 1;
            run_item(cx, c, i);
            finish(cx, c, i, rank);
            return 1;
        }
    return 0;
}

/* waits until stage k may start, running stalled threads' items meanwhile */
static void wait_stage(rnn_ctx *cx, long rank, long k, rnn_watch *w) {
    long spins = 0;
    while (__atomic_load_n(&cx->cur, __ATOMIC_ACQUIRE) < k) {
        double t = now_ns();
        look(cx, w, t);
        if (steal(cx, rank, w, t)) continue;
#if GK_X86
        __builtin_ia32_pause();
#endif
        if (++spins % 512 == 0) sched_yield(); /* to a thread of ours on this core */
    }
}

static void worker(rnn_ctx *cx, long rank) {
    rnn_watch w;
    memset(&w, 0, sizeof w);
    if (rank < cx->groups)
        for (long k = 0; k < cx->stages; k++)
            for (long i = cx->group_i0[rank]; i < cx->group_i0[rank] + cx->group_m[rank]; i++) {
                wait_stage(cx, rank, k, &w);
                if (!claim(cx, k, i, rank)) continue; /* run by a thread that found this stalled */
                run_item(cx, k, i);
                finish(cx, k, i, rank);
            }
    wait_stage(cx, rank, cx->stages, &w);
}

static int team_rank(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* threads worth the per-stage synchronisation: at least one panel each, and enough
 * multiply-adds per step */
static int rnn_threads(const gk_rnn_io *io, long gates, int threads) {
    long panels = (io->hidden + NU - 1) / NU;
    double work = (double)gates * io->hidden * io->hidden * io->batch * io->dirs;
    int nt = threads < 1 ? 1 : threads;
    if (nt > panels) nt = (int)panels;
    if (nt > MAX_TEAM) nt = MAX_TEAM;
    if (work < 32768.0) nt = 1;
    return nt < 1 ? 1 : nt;
}

static void load_state(const gk_rnn_io *io, const float *src, float *dst, long d) {
    long H = io->hidden;
    for (long b = 0; b < io->batch; b++) {
        if (src)
            memcpy(dst + b * H, src + d * io->s_d + b * io->s_b, (size_t)H * sizeof(float));
        else
            memset(dst + b * H, 0, (size_t)H * sizeof(float));
    }
}

static void store_state(const gk_rnn_io *io, const float *src, float *dst, long d) {
    if (!dst) return;
    long H = io->hidden;
    for (long b = 0; b < io->batch; b++)
        memcpy(dst + d * io->s_d + b * io->s_b, src + b * H, (size_t)H * sizeof(float));
}

/* A team whose other threads hardly ran (the master did their items: the other cores were busy)
 * cost the master a wait at OpenMP's join for threads that were not even scheduled; the next
 * calls then run on one thread (bit-identical results), for 4, 8, ... up to 256 calls, then try
 * the team again. Process-wide and approximate (relaxed atomics). */
static int backoff_left, backoff_len = 4, adaptive = 1;

void gk_rnn_team_policy(int adapt) {
    __atomic_store_n(&adaptive, adapt != 0, __ATOMIC_RELAXED);
    __atomic_store_n(&backoff_left, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&backoff_len, 4, __ATOMIC_RELAXED);
}

static int team_allowed(void) {
    if (!__atomic_load_n(&adaptive, __ATOMIC_RELAXED)) return 1;
    int left = __atomic_load_n(&backoff_left, __ATOMIC_RELAXED);
    if (left <= 0) return 1;
    __atomic_store_n(&backoff_left, left - 1, __ATOMIC_RELAXED);
    return 0;
}

int gk_rnn_team_ok(void) { return __atomic_load_n(&backoff_left, __ATOMIC_RELAXED) <= 0; }

/* after a team run (`busy`: the master's time in its share, `join`: its wait at the join): was
 * the team worth it? Yes if the other threads completed at least a quarter of their items and
 * the join took under 30 us plus a tenth of the work. Good runs halve the next back-off, bad
 * ones start one and double the next. */
static void team_verdict(const rnn_ctx *cx, double busy, double join) {
    long others = 0, share = 0;
    for (long g = 1; g < cx->groups; g++) {
        others += cx->owner[g].alive;
        share += cx->group_m[g] * cx->stages;
    }
    int len = __atomic_load_n(&backoff_len, __ATOMIC_RELAXED);
    int good = 4 * others >= share && join < 30000.0 + 0.1 * busy;
    if (good || !__atomic_load_n(&adaptive, __ATOMIC_RELAXED)) {
        __atomic_store_n(&backoff_len, len > 8 ? len / 2 : 4, __ATOMIC_RELAXED);
        return;
    }
    __atomic_store_n(&backoff_left, len, __ATOMIC_RELAXED);
    __atomic_store_n(&backoff_len, len < 256 ? 2 * len : 256, __ATOMIC_RELAXED);
}

/* allocates the state buffers and the schedule, loads the initial states, runs every stage,
 * stores the final states; cx has io, the kind, the weights and the panel functions set */
static void rnn_run(rnn_ctx *cx, long gates, int threads) {
    const gk_rnn_io *io = cx->io;
    long H = io->hidden, D = io->dirs, T = io->steps, dbh = D * io->batch * H;
    long panels = (H + NU - 1) / NU;
    int nt = rnn_threads(io, gates, threads);
    if (nt > 1 && !team_allowed()) nt = 1;
    long per_slot = dbh * (cx->lstm ? 2 : cx->lbr ? 1 : 3);
    cx->redo = nt > 1 && (T + 1) * per_slot <= HISTORY_FLOATS;
    cx->slots = cx->redo ? T + 1 : 2;
    cx->stages = T * cx->phases;
    cx->groups = nt;
    /* items: group g's panels split into at most ITEMS_PER_GROUP runs */
    long max_items = nt * ITEMS_PER_GROUP;
    size_t n_state = (size_t)(cx->slots * dbh * 4 + 1);
    float *work = (float *)malloc(n_state * sizeof(float));
    long *ints = (long *)malloc((size_t)(3 * max_items + 2 * nt + cx->stages + 1) * sizeof(long));
    unsigned char *status = (unsigned char *)calloc((size_t)(cx->stages * max_items + 1), 1);
    rnn_owner *owner = (rnn_owner *)aligned_alloc(64, sizeof(rnn_owner) * (size_t)nt);
    if (!work || !ints || !status || !owner) {
        free(work);
        free(ints);
        free(status);
        free(owner);
        return;
    }
    cx->hbuf = work;
    cx->cbuf = work + cx->slots * dbh;
    cx->zbuf = work + 2 * cx->slots * dbh;
    cx->rhbuf = work + 3 * cx->slots * dbh;
    for (long d = 0; d < D; d++) {
        load_state(io, io->h0, cx->hbuf + d * io->batch * H, d);
        load_state(io, io->c0, cx->cbuf + d * io->batch * H, d);
    }
    cx->item_p0 = ints;
    cx->item_n = ints + max_items;
    cx->item_g = ints + 2 * max_items;
    cx->group_i0 = ints + 3 * max_items;
    cx->group_m = ints + 3 * max_items + nt;
    cx->left = ints + 3 * max_items + 2 * nt;
    cx->status = status;
    cx->owner = owner;
    long items = 0;
    for (long g = 0; g < nt; g++) {
        long p0 = panels * g / nt, n = panels * (g + 1) / nt - p0;
        long ch = (n + ITEMS_PER_GROUP - 1) / ITEMS_PER_GROUP;
        cx->group_i0[g] = items;
        for (long q = 0; q < n; q += ch, items++) {
            cx->item_p0[items] = p0 + q;
            cx->item_n[items] = GK_MIN(ch, n - q);
            cx->item_g[items] = g;
        }
        cx->group_m[g] = items - cx->group_i0[g];
        owner[g].alive = 0;
    }
    cx->items = items;
    for (long k = 0; k < cx->stages; k++) cx->left[k] = items;
    cx->cur = 0;
    /* R floats one item reads */
    double chunk = (double)cx->item_n[0] * NU * H * gates * io->batch * D;
    cx->stall_ns = STALL_NS + chunk * sizeof(float) / 20.0;
    if (io->batch > 0 && cx->stages > 0) {
        if (nt == 1) {
            for (long k = 0; k < cx->stages; k++)
                for (long i = 0; i < items; i++) run_item(cx, k, i);
        } else {
            double t0 = now_ns(), t_master = t0;
#pragma omp parallel num_threads(nt)
            {
                worker(cx, team_rank());
                if (team_rank() == 0) t_master = now_ns();
            }
            team_verdict(cx, t_master - t0, now_ns() - t_master);
        }
    }
    for (long d = 0; d < D; d++) {
        long o = slot(cx, T) + d * io->batch * H;
        store_state(io, cx->hbuf + o, io->yh, d);
        store_state(io, cx->cbuf + o, io->yc, d);
    }
    free(owner);
    free(status);
    free(ints);
    free(work);
}

static void pick_lstm(rnn_ctx *cx) {
    cx->lp = lstm_panel_generic;
#if GK_X86
    if (gk_simd_avx512) cx->lp = lstm_panel_avx512;
    else if (gk_simd_avx2) cx->lp = lstm_panel_avx2;
#endif
}

static void pick_gru(rnn_ctx *cx) {
    cx->ga = gru_panel_a_generic;
    cx->gb = gru_panel_b_generic;
#if GK_X86
    if (gk_simd_avx512) {
        cx->ga = gru_panel_a_avx512;
        cx->gb = gru_panel_b_avx512;
    } else if (gk_simd_avx2) {
        cx->ga = gru_panel_a_avx2;
        cx->gb = gru_panel_b_avx2;
    }
#endif
}

void gk_lstm(const gk_rnn_io *io, const float *rp, const float *peep, int input_forget,
             int threads) {
    rnn_ctx cx;
    memset(&cx, 0, sizeof cx);
    cx.io = io;
    cx.lstm = 1;
    cx.input_forget = input_forget != 0;
    cx.phases = 1;
    cx.rp = rp;
    cx.peep = peep;
    cx.sz_a = gk_rnn_packed_size(4, io->hidden);
    pick_lstm(&cx);
    rnn_run(&cx, 4, threads);
}

void gk_gru(const gk_rnn_io *io, const float *rzr, const float *rh, const float *rbh,
            int linear_before_reset, int threads) {
    rnn_ctx cx;
    memset(&cx, 0, sizeof cx);
    cx.io = io;
    cx.lbr = linear_before_reset != 0;
    cx.phases = cx.lbr ? 1 : 2;
    cx.rp = rzr;
    cx.rh = rh;
    cx.rbh = rbh;
    cx.sz_a = gk_rnn_packed_size(2, io->hidden);
    cx.sz_b = gk_rnn_packed_size(1, io->hidden);
    pick_gru(&cx);
    rnn_run(&cx, 3, threads);
}
