/* A synthetic workload for the stage scheduler and a check of its contract, for the tests
 * (tests/cython_kernels/test_stage_scheduler.py): every unit of every stage runs (exactly once
 * without redo), and no unit of stage k starts before every unit of stage k - 1 has ended. */
#include <stdlib.h>
#include <time.h>

#include "stage_scheduler.h"
#include "threads.h"

typedef struct {
    long units, stall_rank, stall_us;
    long ticket;                /* a global clock: incremented at every start and end */
    long *start, *end, *runs;   /* per (stage, unit): first start and end tickets, runs */
    int stalled;                /* the stalled thread has slept */
} check_ctx;

static void check_item(void *p, long stage, long first, long count, long gf, long gc) {
    check_ctx *cx = (check_ctx *)p;
    (void)gf;
    (void)gc;
    if (stage >= 1 && gk_team_rank() == cx->stall_rank &&
        !__atomic_exchange_n(&cx->stalled, 1, __ATOMIC_ACQ_REL)) {
        /* as if the OS took this thread off its core in the middle of an item */
        struct timespec ts = {cx->stall_us / 1000000, (cx->stall_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
    for (long u = first; u < first + count; u++) {
        long i = stage * cx->units + u, zero = 0;
        long t = __atomic_add_fetch(&cx->ticket, 1, __ATOMIC_SEQ_CST);
        __atomic_compare_exchange_n(cx->start + i, &zero, t, 0, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST);
        __atomic_add_fetch(cx->runs + i, 1, __ATOMIC_SEQ_CST);
        zero = 0;
        t = __atomic_add_fetch(&cx->ticket, 1, __ATOMIC_SEQ_CST);
        __atomic_compare_exchange_n(cx->end + i, &zero, t, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
}

/* Runs `stages` x `units` with `threads` threads; the thread of rank stall_rank (-1: none) sleeps
 * stall_us microseconds in the first item it runs from stage 1 on (on a busy machine the others
 * may have taken all of its stage-1 items). Returns the number of contract violations (-1: out
 * of memory); out[0]: items run by a thread other than their owner, out[1]: units run more than
 * once, out[2]: the team size used, out[3]: whether the stalling thread slept. */
long gk_sched_check(long stages, long units, int threads, int redo, int stall_rank, long stall_us,
                    long *out) {
    size_t n = (size_t)(stages * units);
    check_ctx cx = {units, stall_rank, stall_us, 0, NULL, NULL, NULL, 0};
    cx.start = (long *)calloc(n + 1, sizeof(long));
    cx.end = (long *)calloc(n + 1, sizeof(long));
    cx.runs = (long *)calloc(n + 1, sizeof(long));
    gk_sched *s = gk_sched_new(stages, units, threads, redo, 64.0);
    long bad = -1;
    if (cx.start && cx.end && cx.runs && s) {
        gk_sched_run(s, check_item, &cx);
        bad = 0;
        out[1] = 0;
        for (long k = 0; k < stages; k++) {
            long last_end = 0;
            for (long u = 0; k > 0 && u < units; u++)
                if (cx.end[(k - 1) * units + u] > last_end) last_end = cx.end[(k - 1) * units + u];
            for (long u = 0; u < units; u++) {
                long i = k * units + u;
                bad += cx.runs[i] < 1 || (!redo && cx.runs[i] > 1) || cx.start[i] <= last_end;
                out[1] += cx.runs[i] > 1;
            }
        }
        out[0] = gk_sched_stolen(s);
        out[2] = gk_sched_threads(s);
        out[3] = cx.stalled;
    }
    gk_sched_free(s);
    free(cx.start);
    free(cx.end);
    free(cx.runs);
    return bad;
}
