/* LSTM and GRU recurrences (see rnn.h): the state buffers, the panels of a step, and the stage
 * scheduler that runs them (stage_scheduler.h); the per-level panel kernels are in
 * rnn_kernels.inc. One thread sustains about the L2 bandwidth (R streams from L2 every step; odd
 * steps sweep the panels backwards so an R a little larger than L2 mostly stays there); two
 * threads split R between their L2s. */
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "isa.h"
#include "rnn.h"
#include "stage_scheduler.h"

#define NU GK_RNN_NU
#define HISTORY_FLOATS (4L << 20) /* most floats of state history kept for the scheduler's redo */

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

typedef struct {
    const gk_rnn_io *io;
    int lstm, lbr, input_forget;
    long phases, slots;
    float *hbuf, *cbuf, *zbuf, *rhbuf; /* [slot][d][b][H]: h and c of a step; z, r * h of a step */
    const float *rp, *rh, *peep, *rbh;
    size_t sz_a, sz_b; /* packed floats per direction of rp and rh */
    const gk_rnn_kernels *K;
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
                cx->K->lstm_panel(cx->rp + d * cx->sz_a + p * H * 4 * NU, H, hc, xw, cx->peep + d * 3 * H,
                       cc, cn, hx, y, j0, nu, io->lo, io->hi, cx->input_forget);
            else if (phase == 0)
                cx->K->gru_panel_a(cx->rp + d * cx->sz_a + p * H * 2 * NU, cx->rh + d * cx->sz_b + p * H * NU,
                       H, hc, xw, cx->rbh + d * H, hx, y, cx->zbuf + now + o,
                       cx->rhbuf + now + o, j0, nu, io->lo, io->hi, cx->lbr);
            else
                cx->K->gru_panel_b(cx->rh + d * cx->sz_b + p * H * NU, H, cx->rhbuf + now + o, hc, xw,
                       cx->zbuf + now + o, hx, y, j0, nu, io->lo, io->hi);
        }
    }
}

/* the scheduler's item: panels [p0, p0 + n) of stage k (a group's panels are [gp0, gp0 + gn));
 * odd steps visit each group's panels in reverse order, so the panels read last in one step
 * (still in L2 when a thread's R is a little larger than L2) come first in the next */
static void run_item(void *ctx, long k, long p0, long n, long gp0, long gn) {
    const rnn_ctx *cx = (const rnn_ctx *)ctx;
    int down = (k / cx->phases) & 1;
    for (long p = p0; p < p0 + n; p++) run_panel(cx, k, down ? gp0 + gn - 1 - (p - gp0) : p);
}

/* The team size by work (cost model measured on the 2-core Xeon of docs/cython-backend.md, R
 * streaming from L2 each step): one thread does a step's GEMV at about RNN_MACS_PER_US
 * multiply-adds per us; a team pays about RNN_TEAM_US once (waking its threads) and
 * RNN_STAGE_US per step (the stage hand-over). nt threads pay off when
 * steps * (t1 - t1 / nt - RNN_STAGE_US) > RNN_TEAM_US, t1 one thread's time per step: one step
 * of H = 128 (silero_vad) runs on one thread, 50 steps of H = 256 on two. Off (tests):
 * every thread gets at least one panel, whatever the work. */
#define RNN_MACS_PER_US 15000.0
#define RNN_TEAM_US 6.0
#define RNN_STAGE_US 1.5
static int size_rule = 1;

void gk_rnn_size_rule(int on) { size_rule = on != 0; }

int gk_rnn_threads(long steps, long batch, long hidden, long dirs, long gates, int threads) {
    long panels = (hidden + NU - 1) / NU;
    int nt = threads < 1 ? 1 : threads;
    if (nt > panels) nt = (int)panels;
    if (!size_rule || nt <= 1) return nt < 1 ? 1 : nt;
    double t1 = (double)gates * hidden * hidden * batch * dirs / RNN_MACS_PER_US;
    for (; nt > 1; nt--)
        if ((double)steps * (t1 - t1 / nt - RNN_STAGE_US) > RNN_TEAM_US) break;
    return nt;
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

/* allocates the state buffers and the schedule, loads the initial states, runs every stage,
 * stores the final states; cx has io, the kind, the weights and the kernels set */
static void rnn_run(rnn_ctx *cx, long gates, int threads) {
    const gk_rnn_io *io = cx->io;
    long H = io->hidden, D = io->dirs, T = io->steps, dbh = D * io->batch * H;
    long panels = (H + NU - 1) / NU;
    int nt = gk_rnn_threads(T, io->batch, H, D, gates, threads);
    if (nt > 1 && !gk_sched_team_allowed()) nt = 1;
    long per_slot = dbh * (cx->lstm ? 2 : cx->lbr ? 1 : 3);
    /* every step's states kept (so a stalled thread's items may be run again): see
     * stage_scheduler.h */
    int redo = nt > 1 && (T + 1) * per_slot <= HISTORY_FLOATS;
    cx->slots = redo ? T + 1 : 2;
    size_t n_state = (size_t)(cx->slots * dbh * 4 + 1);
    float *work = (float *)malloc(n_state * sizeof(float));
    /* R floats one panel's work reads */
    double unit_bytes = (double)NU * H * gates * io->batch * D * sizeof(float);
    gk_sched *sched = gk_sched_new(T * cx->phases, panels, nt, redo, unit_bytes);
    if (!work || !sched) {
        free(work);
        gk_sched_free(sched);
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
    if (io->batch > 0) gk_sched_run(sched, run_item, cx);
    for (long d = 0; d < D; d++) {
        long o = slot(cx, T) + d * io->batch * H;
        store_state(io, cx->hbuf + o, io->yh, d);
        store_state(io, cx->cbuf + o, io->yc, d);
    }
    gk_sched_free(sched);
    free(work);
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
    cx.K = gk_k.rnn;
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
    cx.K = gk_k.rnn;
    rnn_run(&cx, 3, threads);
}
