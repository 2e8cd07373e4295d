/* A synthetic workload for the thread pool and a check of its contract, for the tests
 * (tests/cython_kernels/test_threadpool.py): every chunk runs exactly once, seats stay below the
 * thread count and no two threads hold one seat at the same time, and workers told to nap before
 * joining leave their chunks to the caller instead of holding it up. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "threadpool.h"

extern long gk_pool_test_stall_us;
long gk_pool_test_worker_us; /* a chunk a worker runs spins this much longer (the back-off test) */
long gk_pool_test_worker_nap_us; /* a chunk a worker runs sleeps this long first (the pull test) */

typedef struct {
    long chunk_us;
    int threads;
    pthread_t caller;
    long *runs;         /* per chunk */
    long bad;           /* violations */
    long by_caller, by_workers;
    long max_seat;
    int busy[GK_POOL_MAX_THREADS]; /* seat in use */
} check_ctx;

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void check_chunk(void *p, long c, int seat) {
    check_ctx *cx = (check_ctx *)p;
    if (seat < 0 || seat >= cx->threads) {
        __atomic_add_fetch(&cx->bad, 1, __ATOMIC_SEQ_CST);
        return;
    }
    if (__atomic_exchange_n(cx->busy + seat, 1, __ATOMIC_SEQ_CST))
        __atomic_add_fetch(&cx->bad, 1, __ATOMIC_SEQ_CST); /* two threads on one seat */
    long m = __atomic_load_n(&cx->max_seat, __ATOMIC_RELAXED);
    while (seat > m && !__atomic_compare_exchange_n(&cx->max_seat, &m, (long)seat, 0,
                                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    __atomic_add_fetch(cx->runs + c, 1, __ATOMIC_SEQ_CST);
    long us = cx->chunk_us;
    if (pthread_equal(pthread_self(), cx->caller)) {
        __atomic_add_fetch(&cx->by_caller, 1, __ATOMIC_RELAXED);
    } else {
        __atomic_add_fetch(&cx->by_workers, 1, __ATOMIC_RELAXED);
        us += __atomic_load_n(&gk_pool_test_worker_us, __ATOMIC_RELAXED);
        long nap = __atomic_load_n(&gk_pool_test_worker_nap_us, __ATOMIC_RELAXED);
        if (nap > 0) {
            struct timespec ts = {nap / 1000000, (nap % 1000000) * 1000};
            nanosleep(&ts, NULL);
        }
    }
    double t0 = now_us();
    while (now_us() - t0 < (double)us) {
    }
    __atomic_store_n(cx->busy + seat, 0, __ATOMIC_SEQ_CST);
}

long gk_pool_check(long chunks, int threads, long chunk_us, long stall_us, long *out) {
    check_ctx cx = {0};
    cx.chunk_us = chunk_us;
    cx.threads = threads < 1 ? 1 : threads;
    cx.caller = pthread_self();
    cx.runs = (long *)calloc((size_t)(chunks > 0 ? chunks : 1), sizeof(long));
    if (!cx.runs) return -1;
    if (stall_us > 0) __atomic_store_n(&gk_pool_test_stall_us, stall_us, __ATOMIC_SEQ_CST);
    double t0 = now_us();
    gk_parallel(chunks, threads, check_chunk, &cx);
    double t1 = now_us();
    if (stall_us > 0) __atomic_store_n(&gk_pool_test_stall_us, 0, __ATOMIC_SEQ_CST);
    long bad = cx.bad;
    for (long c = 0; c < chunks; c++) bad += cx.runs[c] != 1;
    out[0] = cx.by_caller;
    out[1] = cx.by_workers;
    out[2] = (long)(t1 - t0);
    out[3] = cx.max_seat;
    free(cx.runs);
    return bad;
}
