/* The kernels' thread pool (threadpool.c): a parallel-for whose calling thread never waits for
 * work that no other thread has started.
 *
 * A call's work is cut into chunks, claimed one at a time from one atomic counter by the calling
 * thread and by up to threads - 1 pool workers. Workers are created once and sleep on a futex
 * between calls (after a short, time-bounded spin). The caller claims chunks like any worker;
 * when none is left unclaimed it waits only for the chunks other threads have actually started,
 * so a worker that the OS has not run yet (another process holds its core) costs nothing: the
 * caller runs its chunks. Chunks should be several per thread, so that a worker taken off its
 * core in the middle of one holds up little.
 *
 * One call at a time owns the pool; a call that finds it owned (another Python thread's session,
 * or a call from inside a chunk) runs all its chunks on its own thread. Who runs a chunk must not
 * change the results: a chunk's output may depend only on the chunk index.
 */
#ifndef GK_THREADPOOL_H
#define GK_THREADPOOL_H

#include <stdlib.h>

#define GK_POOL_MAX_THREADS 64
/* chunks per thread that gk_parallel_range aims for */
#define GK_POOL_CHUNKS_PER_THREAD 8

/* runs chunk `chunk`; seat: in [0, threads), distinct among the threads running chunks of the
 * same call at the same time (0 on the calling thread): an index into per-thread scratch */
typedef void (*gk_pool_fn)(void *ctx, long chunk, int seat);
/* runs the units [begin, end) */
typedef void (*gk_range_fn)(void *ctx, long begin, long end, int seat);

/* fn(ctx, c, seat) once for every c in [0, chunks), on the calling thread and up to threads - 1
 * workers; returns when every chunk has returned */
void gk_parallel(long chunks, int threads, gk_pool_fn fn, void *ctx);
/* [0, n) cut into at most threads * GK_POOL_CHUNKS_PER_THREAD contiguous ranges (the units keep
 * whatever boundaries the caller gave them: only their grouping depends on `threads`) */
void gk_parallel_range(long n, int threads, gk_range_fn fn, void *ctx);
/* gk_parallel_range's ranges: guided (1, the default: sizes falling linearly from about twice
 * the even size to about n / chunks^2, so that the ranges claimed last, whose end the other
 * threads may wait for, are short) or even (0; GOSSAMER_POOL_GUIDED=0); -1 only asks. Returns
 * the previous setting. */
int gk_pool_guided(int on);

/* Static parts with stealing: the units [bounds[0], bounds[parts * pieces]) in parts * pieces
 * pieces, piece t = [bounds[t], bounds[t + 1]) (empty ones skipped), part p = pieces
 * [p * pieces, (p + 1) * pieces). Seat p (the caller is seat 0) runs part p's pieces from the
 * front, then takes what is left of the other parts from their backs: layers that cut their
 * work at the same fractions of the image this way make each thread read what its own core
 * wrote in the layer before (data the other core wrote is 2-3x slower to read here), while a
 * thread the OS keeps off its core holds up no more than one piece. fn(ctx, begin, end, seat)
 * per piece, on the calling thread and up to parts - 1 workers (parts <= threads; parts <= 1,
 * threads <= 1: one call over everything on the calling thread). pieces = 1: one part per
 * seat. */
void gk_pool_run_parts(const long *bounds, int parts, int pieces, int threads, gk_range_fn fn,
                       void *ctx);

/* Per-seat scratch of one call: seat s's buffer is allocated by the first chunk seat s runs (only
 * one thread holds a seat at a time) and freed by gk_seat_bufs_free after the call. */
typedef struct {
    size_t bytes;
    void *p[GK_POOL_MAX_THREADS];
} gk_seat_bufs;

static inline void gk_seat_bufs_init(gk_seat_bufs *b, size_t bytes) {
    b->bytes = bytes;
    for (int s = 0; s < GK_POOL_MAX_THREADS; s++) b->p[s] = NULL;
}

/* seat's buffer (NULL: out of memory) */
static inline void *gk_seat_buf(gk_seat_bufs *b, int seat) {
    if (!b->p[seat]) b->p[seat] = malloc(b->bytes ? b->bytes : 1);
    return b->p[seat];
}

static inline void gk_seat_bufs_free(gk_seat_bufs *b) {
    for (int s = 0; s < GK_POOL_MAX_THREADS; s++) free(b->p[s]);
}

/* starts workers until the pool has threads - 1 (at most GK_POOL_MAX_THREADS - 1); returns how
 * many this call started */
int gk_pool_start(int threads);
/* Wakes the sleeping workers a call of `threads` threads would use and keeps them looking for a
 * job for up to GK_POOL_PREWAKE_NS: called where a run begins, a while before its first parallel
 * call, so that their wake-up (tens of microseconds, more on a virtual machine's idle core)
 * overlaps the caller's own work instead of delaying that call. Starts no worker. */
void gk_pool_prewake(int threads);
/* workers started so far */
int gk_pool_workers(void);
/* whether a call holds the pool now (a new call would run alone; approximate: it may change) */
int gk_pool_owned(void);

/* Back-off: a pooled call after which the caller waited for a started chunk longer than it had
 * worked and over GK_POOL_BAD_WAIT_NS (200 us: the worker was taken off its core in the middle
 * of a chunk, by another process on a shared machine) makes the next calls of more than one
 * thread run on their calling thread: 4 calls, doubled by each bad call up to 64 (about one
 * MobileNetV2 run), halved after every 32 good ones. A worker taken off its core mid-chunk
 * holds the caller for the OS's time slice (milliseconds), so running alone for a while may
 * cost less than meeting that again at once. Process-wide and approximate (relaxed atomics);
 * results do not depend on it. OFF by default (GOSSAMER_POOL_BACKOFF=1 turns it on):
 * interleaved A/B runs on a saturated machine showed it losing the runs in which both cores
 * were free (benchmarks/results/pool_backoff.md). gk_pool_backoff(1/0) turns it on/off (ending
 * any back-off in progress; -1 only asks) and returns the previous setting;
 * gk_pool_backing_off: whether calls now run alone for it; gk_pool_backoff_calls: calls run
 * alone for it so far. */
int gk_pool_backoff(int on);
int gk_pool_backing_off(void);
long gk_pool_backoff_calls(void);

/* Pulling a descheduled worker: when the caller has run every chunk it could claim and waits
 * for one a worker started, it looks every GK_POOL_PULL_NS (threadpool.c) at that worker's CPU
 * time; one that gained less than a quarter of the wall time meanwhile is off its core (another
 * process holds it; on a shared machine it would come back only after that process's time
 * slice, milliseconds). The caller then pins it to its own CPU and sleeps, so the worker
 * finishes its chunk there at once; the worker takes its own affinity back after the chunk.
 * Linux only; ON by default (GOSSAMER_POOL_PULL=0 turns it off). gk_pool_pull(1/0) turns it
 * on/off (-1 only asks) and returns the previous setting; gk_pool_pulls: workers pulled so
 * far. Results do not depend on it (who runs a chunk never changes). */
int gk_pool_pull(int on);
long gk_pool_pulls(void);

/* A trace of the pool's calls, for finding where a run's time goes (benchmarks/pool_trace.py):
 * while on, each gk_parallel call with more than one thread asked for records one event (up to
 * GK_POOL_TRACE_MAX, later ones are counted but dropped). Off by default: one relaxed load per
 * call. Times are CLOCK_MONOTONIC nanoseconds. */
#define GK_POOL_TRACE_MAX 65536
typedef struct {
    double start;  /* the call began */
    double joined; /* a worker claimed its first chunk (0: none did) */
    double end;    /* the call returned */
    double idle;   /* the calling thread found no chunk left to claim: from then to `end` it
                    * waited for chunks the workers had started (the join) */
    long chunks;
    int threads;   /* threads the call was given (1: it ran alone) */
    int mine;      /* chunks the calling thread ran */
    int woken;     /* sleeping workers the call had to wake */
    int alone;     /* 1: the pool was held by another call, 2: no workers, 3: backing off,
                    * 0: pooled */
    long first;    /* chunk c's duration is gk_pool_trace_chunks()[first + c] (-1: not kept) */
} gk_pool_event;
/* turns tracing on (clearing the events) or off; returns the events recorded */
long gk_pool_trace(int on);
/* the recorded events (n of them: the return of gk_pool_trace) */
const gk_pool_event *gk_pool_trace_events(void);
/* While tracing, every chunk of a traced call is timed (CLOCK_MONOTONIC ns, on whichever thread
 * ran it) into one buffer of GK_POOL_TRACE_CHUNKS entries (an event whose chunks no longer fit
 * gets first = -1): a run's chunk balance can be modelled from these without a quiet machine. */
#define GK_POOL_TRACE_CHUNKS (1L << 20)
const float *gk_pool_trace_chunks(void);
/* 1: the chunks are timed in their thread's CPU time (CLOCK_THREAD_CPUTIME_ID: a chunk the OS
 * took off its core for another process is not charged for it, so a loaded machine still shows
 * what the chunk's own work cost); 0 (default): CLOCK_MONOTONIC */
extern int gk_pool_trace_cpu_clock;

/* A check of the contract above, for the tests (threadpool_check.c): `chunks` chunks of about
 * chunk_us microseconds each on `threads` threads; every worker sleeps stall_us microseconds
 * after it sees the call and before it may claim anything (as if the OS kept it off its core).
 * Returns the violations (a chunk run other than once, a seat out of range or shared by two
 * threads at once; -1: out of memory); out: [0] chunks run by the calling thread, [1] by
 * workers, [2] the call's duration in microseconds, [3] the largest seat seen. */
long gk_pool_check(long chunks, int threads, long chunk_us, long stall_us, long *out);
/* the check's chunks take this many microseconds longer on a worker (as if the OS took it off
 * its core mid-chunk): the back-off's test */
extern long gk_pool_test_worker_us;
/* the check's chunks first sleep this many microseconds on a worker (off the CPU, as if the OS
 * took the worker off its core mid-chunk): the pull's test */
extern long gk_pool_test_worker_nap_us;

/* A thread's reusable scratch (declare it `static __thread gk_tls_buffer`): grown to the largest
 * size asked, 64-byte aligned, never freed, so a kernel called again neither allocates nor
 * page-faults. Returns NULL (and forgets the old one) where the allocation fails. */
typedef struct {
    void *p;
    size_t cap; /* bytes */
} gk_tls_buffer;

static inline void *gk_tls_grow(gk_tls_buffer *b, size_t bytes) {
    if (bytes > b->cap) {
        free(b->p);
        b->p = aligned_alloc(64, (bytes + 63) / 64 * 64);
        b->cap = b->p ? bytes : 0;
    }
    return b->p;
}

#endif
