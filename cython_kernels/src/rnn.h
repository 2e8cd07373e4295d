/* LSTM and GRU recurrences (rnn.c), float32.
 *
 * The caller computes XW = X W^T + biases for every step at once (one packed GEMM); these kernels
 * run the recurrence: per step gates = XW[t] + h R^T, then the gate non-linearities and the state
 * update, fused (rnn_kernels.inc), in ONE thread-pool call over all steps: each thread owns
 * a contiguous range of 16-unit panels of the hidden state and all gate rows of its units; steps
 * are ordered, and a thread the OS has descheduled has its items run by the others, by the stage
 * scheduler (stage_scheduler.h). Activations are the ONNX defaults: sigmoid / tanh / tanh (LSTM),
 * sigmoid / tanh (GRU). Results do not depend on the thread count or on who ran an item.
 */
#ifndef GK_RNN_H
#define GK_RNN_H

#include <stddef.h>
#include <stdint.h>

#define GK_RNN_NU 16 /* hidden units per packed panel */

/* One layer's inputs and outputs. Directions: dirs 1 runs forward (reverse 0) or reversed
 * (reverse 1); dirs 2 runs direction 0 forward and direction 1 reversed. Offsets are in floats:
 *   XW row of (step t, batch b): xw + (t * xw_t + b * xw_b) * xw_ld, direction d at column
 *     d * gates * hidden (gate order i, o, f, c for LSTM; z, r, h for GRU);
 *   Y[t, d, b, :] at y + t * y_t + d * y_d + b * y_b (NULL: not written);
 *   initial and final states [d, b, :] at s + d * s_d + b * s_b (NULL h0/c0: zeros; NULL yh/yc:
 *     not written).
 * lens: per batch item in [0, steps], or NULL (all steps). Steps past an item's length keep its
 * state and write zeros to Y; reversed directions run each item's first lens[b] steps backwards.
 * Gate pre-activations are clipped to [lo, hi] (infinite bounds: no clip). */
typedef struct {
    long steps, batch, hidden, dirs;
    int reverse;
    const float *xw;
    long xw_t, xw_b, xw_ld;
    const int64_t *lens;
    float *y;
    long y_t, y_d, y_b;
    const float *h0, *c0;
    float *yh, *yc;
    long s_d, s_b;
    float lo, hi;
} gk_rnn_io;

/* R of one direction, rows g * hidden + j (j < hidden) of `gates` consecutive gates, each row
 * `hidden` floats, packed as ceil(hidden / 16) panels of [k][gate][16 units] (units past hidden
 * zero). */
size_t gk_rnn_packed_size(long gates, long hidden);
void gk_rnn_pack(const float *r, long gates, long hidden, float *out);

/* LSTM: rp holds dirs packed R (4 gates, gk_rnn_packed_size(4, hidden) floats each); peep is
 * dirs x 3 hidden peepholes (i, o, f; zeros when the model has none); input_forget couples the
 * forget gate to 1 - i. */
void gk_lstm(const gk_rnn_io *io, const float *rp, const float *peep, int input_forget,
             int threads);

/* GRU: rzr holds dirs packed R of gates z, r (2 gates each), rh dirs packed R of gate h (1 gate);
 * rbh is dirs x hidden R biases of gate h, used (inside r * (...)) when linear_before_reset is 1
 * (else the caller folds them into XW and rbh may be NULL). */
void gk_gru(const gk_rnn_io *io, const float *rzr, const float *rh, const float *rbh,
            int linear_before_reset, int threads);

/* The threads a recurrence of these sizes runs on (at most `threads`, at most one per 16-unit
 * panel): more only where the cost model in rnn.c says the team pays for itself (a short or
 * small recurrence runs on the calling thread). gk_rnn_size_rule(0) turns the model off (tests:
 * every thread that gets a panel runs). */
int gk_rnn_threads(long steps, long batch, long hidden, long dirs, long gates, int threads);
void gk_rnn_size_rule(int on);

/* ---- per-level kernels (rnn_kernels.inc; dispatch.c selects one level's) ------------------- */

/* GEMV of one panel's packed R against h, then the gates and the state update of units
 * j0 .. j0 + nu - 1 (nu <= 16). LSTM (gates i, o, f, c): h, c the previous states; xw the step's
 * XW row; peep the i, o, f peepholes; cn, hn the new states; y the Y row or NULL. GRU phase A
 * (gates z, r, and h when lbr): with lbr the new h, else z into zb and r * h into rh for phase B,
 * which computes h~ = tanh(xw_h + (r * h) R_h^T) and the new h. */
typedef struct {
    void (*lstm_panel)(const float *pan, long H, const float *h, const float *xw,
                       const float *peep, const float *c, float *cn, float *hn, float *y, long j0,
                       long nu, float lo, float hi, int input_forget);
    void (*gru_panel_a)(const float *pzr, const float *ph, long H, const float *h, const float *xw,
                        const float *rbh, float *hn, float *y, float *zb, float *rh, long j0,
                        long nu, float lo, float hi, int lbr);
    void (*gru_panel_b)(const float *ph, long H, const float *rh, const float *h, const float *xw,
                        const float *zb, float *hn, float *y, long j0, long nu, float lo,
                        float hi);
} gk_rnn_kernels;

#endif
