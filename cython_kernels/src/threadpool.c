/* The kernels' thread pool (see threadpool.h).
 *
 * The pool has one job slot. Its state is one 64-bit word: the job's generation (24 bits), the
 * worker seats still free (8 bits) and the chunks not yet claimed (32 bits). A worker joins a job
 * by taking a seat and claiming a chunk in one compare-and-swap, then claims chunks while the
 * generation is unchanged; chunk c = chunks - left. A claim is valid only while its chunk is
 * unfinished, so the job cannot end (and the slot cannot be reused) between a worker's claim and
 * its reading of the job's function and arguments. The caller counts finished chunks (`done`):
 * when no chunk is left unclaimed, it waits for done == chunks, i.e. for chunks that workers have
 * started; it spins briefly, then sleeps on a futex (a descheduled worker may then be moved onto
 * the caller's idle core). Idle workers spin for GK_POOL_SPIN_NS (less if the OS takes them off
 * their core meanwhile: on a shared core spinning only uses up their share of it), then sleep on
 * their own futex; the caller wakes only the sleeping ones it wants. A worker that finds itself on
 * the caller's CPU (Linux wakes a thread onto its waker's CPU when the others are busy) moves off
 * it, as the OpenMP team's workers had to (see move_off).
 *
 * Without Linux futexes (other POSIX systems) the sleeps are short naps; without pthreads
 * (Windows) every call runs on the calling thread.
 */
#define _GNU_SOURCE
#include "threadpool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "isa.h"
#include "threads.h"

#if defined(__unix__) || defined(__APPLE__)
#define GK_POOL_THREADS 1
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#endif
#else
#define GK_POOL_THREADS 0
#endif

/* how long an idle worker looks for the next job before it sleeps, and how long a caller spins
 * for started chunks before it sleeps: the gaps between the kernels of one run are a few us */
#define GK_POOL_SPIN_NS 100000.0
#define GK_POOL_WAIT_SPIN_NS 20000.0
/* how long workers woken by gk_pool_prewake look for a job before they sleep again */
#define GK_POOL_PREWAKE_NS 1000000.0
/* a gap this long between two looks at the clock while spinning: the thread was descheduled */
#define GK_POOL_PREEMPTED_NS 50000.0
/* how often a waiting caller looks whether a worker holding a started chunk gets CPU time */
#define GK_POOL_PULL_NS 50000.0
/* back-off (threadpool.h): a call whose caller waited at the end longer than this and longer than
 * it had worked is a bad one; the calls run alone after one; good pooled calls that halve it */
#define GK_POOL_BAD_WAIT_NS 200000.0
#define GK_POOL_BACKOFF_MIN 4
#define GK_POOL_BACKOFF_MAX 64
#define GK_POOL_GOOD_HALVES 32

#define GEN_BITS 24
#define SEAT_BITS 8
#define STATE(gen, seats, left)                                                                  \
    (((uint64_t)(gen) << 40) | ((uint64_t)(seats) << 32) | (uint64_t)(uint32_t)(left))
#define S_GEN(s) ((uint32_t)((s) >> 40))
#define S_SEATS(s) ((uint32_t)((s) >> 32) & 0xFFu)
#define S_LEFT(s) ((uint32_t)(s))

long gk_pool_test_stall_us; /* threadpool_check.c: workers nap this long before joining a job */


static void run_alone(long chunks, gk_pool_fn fn, void *ctx) {
    int saved = gk_team_rank();
    gk_set_team_rank(0);
    for (long c = 0; c < chunks; c++) fn(ctx, c, 0);
    gk_set_team_rank(saved);
}

#if GK_POOL_THREADS

/* the trace (threadpool.h): events of calls made while `trace_on` */
static int trace_on;
static long trace_n;
static gk_pool_event trace_ev[GK_POOL_TRACE_MAX];
static long trace_cn; /* chunk durations handed out in trace_chunk_ns */
static float trace_chunk_ns[GK_POOL_TRACE_CHUNKS];

static double clock_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int gk_pool_trace_cpu_clock;

/* a chunk's clock: the thread's CPU time where gk_pool_trace_cpu_clock, else clock_ns */
static double chunk_clock_ns(void) {
    if (!gk_pool_trace_cpu_clock) return clock_ns();
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* the first of `chunks` entries of trace_chunk_ns for one call (-1: full) */
static long trace_chunks_take(long chunks) {
    long b = __atomic_fetch_add(&trace_cn, chunks, __ATOMIC_RELAXED);
    return b + chunks <= GK_POOL_TRACE_CHUNKS ? b : -1;
}

static void trace_add(double start, double joined, double idle, long chunks, int threads,
                      int mine, int woken, int alone, long first) {
    long k = __atomic_fetch_add(&trace_n, 1, __ATOMIC_RELAXED);
    if (k >= GK_POOL_TRACE_MAX) return;
    gk_pool_event *e = &trace_ev[k];
    e->start = start;
    e->joined = joined;
    e->end = clock_ns();
    e->idle = idle > 0.0 ? idle : e->end;
    e->chunks = chunks;
    e->threads = threads;
    e->mine = mine;
    e->woken = woken;
    e->alone = alone;
    e->first = first;
}

/* runs chunk c, timing it into trace_chunk_ns[base + c] when base >= 0 */
static inline void run_chunk(gk_pool_fn fn, void *ctx, long c, int seat, long base) {
    if (base < 0) {
        fn(ctx, c, seat);
        return;
    }
    double t0 = chunk_clock_ns();
    fn(ctx, c, seat);
    trace_chunk_ns[base + c] = (float)(chunk_clock_ns() - t0);
}

static void run_alone_traced(long chunks, gk_pool_fn fn, void *ctx, long base) {
    int saved = gk_team_rank();
    gk_set_team_rank(0);
    for (long c = 0; c < chunks; c++) run_chunk(fn, ctx, c, 0, base);
    gk_set_team_rank(saved);
}

long gk_pool_trace(int on) {
    long n = __atomic_load_n(&trace_n, __ATOMIC_RELAXED);
    if (on) {
        __atomic_store_n(&trace_n, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&trace_cn, 0, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&trace_on, on != 0, __ATOMIC_RELEASE);
    return GK_MIN(n, (long)GK_POOL_TRACE_MAX);
}

const gk_pool_event *gk_pool_trace_events(void) { return trace_ev; }

const float *gk_pool_trace_chunks(void) { return trace_chunk_ns; }

/* the back-off (threadpool.h): -1 not read yet (GOSSAMER_POOL_BACKOFF), 0 off (default), 1 on */
static int backoff_policy = -1;
static int backoff_left, backoff_len = GK_POOL_BACKOFF_MIN, backoff_good;
static long backoff_alone;

static int backoff_enabled(void) {
    int p = __atomic_load_n(&backoff_policy, __ATOMIC_RELAXED);
    if (p < 0) {
        const char *v = getenv("GOSSAMER_POOL_BACKOFF");
        p = v && v[0] == '1';
        __atomic_store_n(&backoff_policy, p, __ATOMIC_RELAXED);
    }
    return p;
}

int gk_pool_backoff(int on) {
    int old = backoff_enabled();
    if (on >= 0) {
        __atomic_store_n(&backoff_policy, on != 0, __ATOMIC_RELAXED);
        __atomic_store_n(&backoff_left, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&backoff_len, GK_POOL_BACKOFF_MIN, __ATOMIC_RELAXED);
        __atomic_store_n(&backoff_good, 0, __ATOMIC_RELAXED);
    }
    return old;
}

int gk_pool_backing_off(void) {
    return backoff_enabled() && __atomic_load_n(&backoff_left, __ATOMIC_RELAXED) > 0;
}

long gk_pool_backoff_calls(void) { return __atomic_load_n(&backoff_alone, __ATOMIC_RELAXED); }

/* 1: this call runs alone (backing off; counts it) */
static int backoff_take(void) {
    if (!backoff_enabled()) return 0;
    int left = __atomic_load_n(&backoff_left, __ATOMIC_RELAXED);
    if (left <= 0) return 0;
    __atomic_store_n(&backoff_left, left - 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&backoff_alone, 1, __ATOMIC_RELAXED);
    return 1;
}

/* after a pooled call: the caller worked `worked` ns, then waited `waited` ns for started chunks */
static void backoff_verdict(double worked, double waited) {
    if (!backoff_enabled()) return;
    int len = __atomic_load_n(&backoff_len, __ATOMIC_RELAXED);
    if (waited > GK_POOL_BAD_WAIT_NS && waited > worked) {
        __atomic_store_n(&backoff_left, len, __ATOMIC_RELAXED);
        __atomic_store_n(&backoff_len, GK_MIN(2 * len, GK_POOL_BACKOFF_MAX), __ATOMIC_RELAXED);
        __atomic_store_n(&backoff_good, 0, __ATOMIC_RELAXED);
        return;
    }
    if (len > GK_POOL_BACKOFF_MIN &&
        __atomic_add_fetch(&backoff_good, 1, __ATOMIC_RELAXED) >= GK_POOL_GOOD_HALVES) {
        __atomic_store_n(&backoff_good, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&backoff_len, GK_MAX(len / 2, GK_POOL_BACKOFF_MIN), __ATOMIC_RELAXED);
    }
}

typedef struct {
    _Alignas(64) uint64_t state;
    gk_pool_fn fn;
    void *ctx;
    long chunks;
    int threads;
    _Alignas(64) uint32_t done;   /* chunks finished (futex: the caller sleeps on it) */
    uint32_t caller_waiting;
    int caller_cpu;               /* the CPU the caller was on when it published the job */
    uint64_t joined_ns;           /* tracing: when the first worker claimed a chunk */
    long trace_base;              /* tracing: where the chunks' durations go (-1: nowhere) */
    _Alignas(64) int owned;       /* a call holds the pool */
} pool_job;

typedef struct {
    _Alignas(64) uint32_t wake; /* futex: bumped to wake the worker */
    uint32_t sleeping;
    _Alignas(64) int holding;   /* runs a chunk of the current job now */
    uint32_t pulled;            /* bumped by a caller after it pinned this worker to its CPU */
    uint32_t pull_seen;         /* the worker's copy of `pulled` when it last undid a pin */
    int can_pull;               /* tid, clock and mask below are valid */
#if defined(__linux__)
    pid_t tid;
    clockid_t clock;            /* the worker's CPU-time clock */
    cpu_set_t mask;             /* its affinity when it started (what an unpin restores) */
#endif
} pool_worker;

static pool_job job;
static uint64_t spin_until_ns; /* gk_pool_prewake: workers look for a job until then */
static pool_worker workers[GK_POOL_MAX_THREADS]; /* [1, n_workers] */
static int n_workers;
static uint32_t generation;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

static double now_ns(void) { return clock_ns(); }

static inline void relax(void) {
#if GK_X86
    __builtin_ia32_pause();
#endif
}

static void futex_wait(uint32_t *addr, uint32_t val) {
#if defined(__linux__)
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
#else
    (void)addr, (void)val;
    struct timespec ts = {0, 50000};
    nanosleep(&ts, NULL);
#endif
}

static void futex_wake(uint32_t *addr, int n) {
#if defined(__linux__)
    syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
#else
    (void)addr, (void)n;
#endif
}

/* whether this thread runs on the CPU the last caller published */
static int on_callers_cpu(void) {
#if defined(__linux__)
    int c = __atomic_load_n(&job.caller_cpu, __ATOMIC_RELAXED);
    return c >= 0 && sched_getcpu() == c;
#else
    return 0;
#endif
}

/* Moves this thread off `cpu` (an affinity mask without it forces the move, then the whole mask
 * is taken back: nothing stays pinned). A woken worker is often put on its waker's CPU when the
 * other cores are busy (with other processes): there it can only take turns with the caller. */
static void move_off(int cpu) {
#if defined(__linux__)
    cpu_set_t all, others;
    if (cpu < 0 || sched_getaffinity(0, sizeof all, &all) != 0 || !CPU_ISSET(cpu, &all)) return;
    others = all;
    CPU_CLR(cpu, &others);
    if (CPU_COUNT(&others) > 0 && sched_setaffinity(0, sizeof others, &others) == 0)
        sched_setaffinity(0, sizeof all, &all);
#else
    (void)cpu;
#endif
}

/* Pulling a descheduled worker (threadpool.h): pin worker w to `cpu` (the waiting caller's; it
 * sleeps next, so the worker runs there at once); the worker undoes it (unpin) after its chunk. */
static long pulls;

static void pull_worker(pool_worker *w, int cpu) {
#if defined(__linux__)
    if (cpu < 0 || !CPU_ISSET(cpu, &w->mask)) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(w->tid, sizeof one, &one) != 0) return;
    /* bumped after the pin: a worker that sees it undoes a pin that has happened */
    __atomic_add_fetch(&w->pulled, 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&pulls, 1, __ATOMIC_RELAXED);
#else
    (void)w, (void)cpu;
#endif
}

/* on the worker: undoes the pins callers made since the last call */
static inline void unpin(pool_worker *w) {
    uint32_t p = __atomic_load_n(&w->pulled, __ATOMIC_ACQUIRE);
    if (p == w->pull_seen) return;
    w->pull_seen = p;
#if defined(__linux__)
    sched_setaffinity(0, sizeof w->mask, &w->mask);
#endif
}

static double thread_cpu_ns(const pool_worker *w) {
#if defined(__linux__)
    struct timespec ts;
    if (clock_gettime(w->clock, &ts) != 0) return -1.0;
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
#else
    (void)w;
    return -1.0;
#endif
}

long gk_pool_pulls(void) { return __atomic_load_n(&pulls, __ATOMIC_RELAXED); }

/* claims a chunk of generation `gen` (joining with a seat when `join`); -1 when none is left */
static long claim(uint32_t gen, int join, int *seat) {
    uint64_t s = __atomic_load_n(&job.state, __ATOMIC_ACQUIRE);
    for (;;) {
        if (S_GEN(s) != gen || S_LEFT(s) == 0 || (join && S_SEATS(s) == 0)) return -1;
        uint64_t t = s - 1 - (join ? (1ull << 32) : 0);
        if (__atomic_compare_exchange_n(&job.state, &s, t, 1, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            break;
    }
    /* the claimed chunk is unfinished: the job's fields stay those of `gen` until it is done */
    if (join) *seat = job.threads - (int)S_SEATS(s);
    return job.chunks - (long)S_LEFT(s);
}

/* a worker's part of job `gen`: claims and runs chunks until none is left */
static void work_on(pool_worker *me, uint32_t gen) {
    long stall = __atomic_load_n(&gk_pool_test_stall_us, __ATOMIC_RELAXED);
    if (stall > 0) {
        struct timespec ts = {stall / 1000000, (stall % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
    int seat = 0;
    long c = claim(gen, 1, &seat);
    if (c < 0) return;
    unpin(me); /* a pin that came after its last chunk of the previous job was done */
    if (__atomic_load_n(&trace_on, __ATOMIC_RELAXED)) {
        uint64_t none = 0;
        __atomic_compare_exchange_n(&job.joined_ns, &none, (uint64_t)now_ns(), 0,
                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    }
    gk_pool_fn fn = job.fn;
    void *ctx = job.ctx;
    long chunks = job.chunks, base = job.trace_base;
    gk_set_team_rank(seat);
    do {
        __atomic_store_n(&me->holding, 1, __ATOMIC_RELAXED);
        run_chunk(fn, ctx, c, seat, base);
        __atomic_store_n(&me->holding, 0, __ATOMIC_RELAXED);
        unpin(me);
        uint32_t d = __atomic_add_fetch(&job.done, 1, __ATOMIC_SEQ_CST);
        if (d == (uint32_t)chunks && __atomic_load_n(&job.caller_waiting, __ATOMIC_SEQ_CST))
            futex_wake(&job.done, 1);
    } while ((c = claim(gen, 0, NULL)) >= 0);
    gk_set_team_rank(0);
}

static void *worker_main(void *arg) {
    pool_worker *me = &workers[(intptr_t)arg];
#if defined(__linux__)
    me->tid = (pid_t)syscall(SYS_gettid);
    if (pthread_getcpuclockid(pthread_self(), &me->clock) == 0 &&
        sched_getaffinity(0, sizeof me->mask, &me->mask) == 0)
        __atomic_store_n(&me->can_pull, 1, __ATOMIC_RELEASE);
#endif
    uint32_t last = 0xFFFFFFFFu; /* no generation: joins a job in progress at once */
    uint32_t moved = 0xFFFFFFFFu; /* the last job after which it moved off the caller's CPU */
    for (;;) {
        double t0 = now_ns(), t_prev = t0;
        int spins = 0;
        for (;;) {
            uint64_t s = __atomic_load_n(&job.state, __ATOMIC_ACQUIRE);
            if (S_GEN(s) != last) {
                last = S_GEN(s);
                if (S_LEFT(s) > 0 && S_SEATS(s) > 0) work_on(me, last);
                unpin(me);
                t0 = t_prev = now_ns();
                continue;
            }
            relax();
            if (++spins % 64 == 0) {
                unpin(me);
                double t = now_ns();
                /* past the spin time, taken off the core meanwhile (it is shared: spinning
                 * would only use up this thread's share of it), or on the last caller's core
                 * (spinning there only delays the caller; asleep, this thread is woken onto an
                 * idle core if there is one) */
                if ((t - t0 > GK_POOL_SPIN_NS &&
                     t > (double)__atomic_load_n(&spin_until_ns, __ATOMIC_RELAXED)) ||
                    t - t_prev > GK_POOL_PREEMPTED_NS)
                    break;
                if (on_callers_cpu()) {
                    if (moved == last) break; /* moved for this job already: the OS put it back */
                    moved = last;
                    move_off(__atomic_load_n(&job.caller_cpu, __ATOMIC_RELAXED));
                }
                t_prev = t;
            }
        }
        /* sleep until a caller bumps `wake`; a job published after `sleeping` is set is either
         * seen below or its caller sees `sleeping` and wakes this worker */
        unpin(me);
        uint32_t w = __atomic_load_n(&me->wake, __ATOMIC_SEQ_CST);
        __atomic_store_n(&me->sleeping, 1, __ATOMIC_SEQ_CST);
        if (S_GEN(__atomic_load_n(&job.state, __ATOMIC_SEQ_CST)) == last)
            futex_wait(&me->wake, w);
        __atomic_store_n(&me->sleeping, 0, __ATOMIC_RELAXED);
        if (on_callers_cpu()) move_off(__atomic_load_n(&job.caller_cpu, __ATOMIC_RELAXED));
    }
    return NULL;
}

static void after_fork_child(void) {
    /* the workers did not survive the fork: start again (a call in progress did not either) */
    n_workers = 0;
    memset(workers, 0, sizeof workers);
    job.owned = 0;
    job.state = STATE(generation, 0, 0);
    pthread_mutex_init(&start_lock, NULL);
}

int gk_pool_start(int threads) {
    int want = GK_MIN(threads, GK_POOL_MAX_THREADS) - 1, started = 0;
    if (want <= __atomic_load_n(&n_workers, __ATOMIC_ACQUIRE)) return 0;
    pthread_mutex_lock(&start_lock);
    static int forked_handler;
    if (!forked_handler) forked_handler = pthread_atfork(NULL, NULL, after_fork_child) == 0;
    /* workers take no signals: Python handles them on its main thread */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    while (n_workers < want) {
        pthread_t tid;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int id = n_workers + 1;
        int err = pthread_create(&tid, &attr, worker_main, (void *)(intptr_t)id);
        pthread_attr_destroy(&attr);
        if (err) break;
        __atomic_store_n(&n_workers, id, __ATOMIC_RELEASE);
        started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_unlock(&start_lock);
    return started;
}

int gk_pool_workers(void) { return __atomic_load_n(&n_workers, __ATOMIC_ACQUIRE); }

int gk_pool_owned(void) { return __atomic_load_n(&job.owned, __ATOMIC_RELAXED); }

void gk_pool_prewake(int threads) {
    int n = GK_MIN(threads - 1, gk_pool_workers());
    if (n <= 0) return;
    __atomic_store_n(&spin_until_ns, (uint64_t)(now_ns() + GK_POOL_PREWAKE_NS), __ATOMIC_RELAXED);
    for (int i = 1; i <= n; i++)
        if (__atomic_load_n(&workers[i].sleeping, __ATOMIC_SEQ_CST)) {
            __atomic_add_fetch(&workers[i].wake, 1, __ATOMIC_SEQ_CST);
            futex_wake(&workers[i].wake, 1);
        }
}

static void futex_wait_ns(uint32_t *addr, uint32_t val, double ns) {
#if defined(__linux__)
    struct timespec ts = {(time_t)(ns / 1e9), (long)(ns - 1e9 * (double)(time_t)(ns / 1e9))};
    syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
#else
    (void)addr, (void)val, (void)ns;
    struct timespec ts = {0, 50000};
    nanosleep(&ts, NULL);
#endif
}

/* pulling (threadpool.h): -1 not read yet (GOSSAMER_POOL_PULL), 0 off, 1 on (default) */
static int pull_policy = -1;

static int pull_enabled(void) {
    int p = __atomic_load_n(&pull_policy, __ATOMIC_RELAXED);
    if (p < 0) {
        const char *v = getenv("GOSSAMER_POOL_PULL");
        p = !(v && v[0] == '0');
        __atomic_store_n(&pull_policy, p, __ATOMIC_RELAXED);
    }
    return p;
}

int gk_pool_pull(int on) {
    int old = pull_enabled();
    if (on >= 0) __atomic_store_n(&pull_policy, on != 0, __ATOMIC_RELAXED);
    return old;
}

/* The caller's sleep until done == chunks. cpu0[i] >= 0: worker i held a chunk at wall time t0
 * with that much CPU time. While a worker that held one has gained less than a quarter of the
 * wall time since in CPU time over GK_POOL_PULL_NS, the OS keeps it off its core (another
 * process has it) in the middle of a chunk: the caller pins it to its own CPU (pull_worker) and
 * sleeps, so that it finishes there instead of after the other process's time slice. Workers
 * 1..nw are looked at. */
static void wait_done(int nw, uint32_t chunks, double *cpu0, double t0) {
    int watching = 0;
    for (int i = 1; i <= nw; i++) watching += cpu0[i] >= 0.0;
    uint32_t d;
    while ((d = __atomic_load_n(&job.done, __ATOMIC_SEQ_CST)) != chunks) {
        if (!watching) {
            futex_wait(&job.done, d);
            continue;
        }
        futex_wait_ns(&job.done, d, GK_POOL_PULL_NS);
        double t = now_ns();
        if (t - t0 < GK_POOL_PULL_NS) continue;
        for (int i = 1; i <= nw; i++) {
            if (cpu0[i] < 0.0) continue;
            double c = __atomic_load_n(&workers[i].holding, __ATOMIC_RELAXED)
                           ? thread_cpu_ns(&workers[i])
                           : -1.0;
            if (c >= 0.0 && c - cpu0[i] < 0.25 * (t - t0)) {
#if defined(__linux__)
                pull_worker(&workers[i], sched_getcpu());
#endif
                c = -1.0; /* once per call */
            }
            if (c < 0.0) {
                cpu0[i] = -1.0;
                watching--;
            } else {
                cpu0[i] = c;
            }
        }
        t0 = t;
    }
}

void gk_parallel(long chunks, int threads, gk_pool_fn fn, void *ctx) {
    if (chunks <= 0) return;
    int tracing = threads > 1 && __atomic_load_n(&trace_on, __ATOMIC_RELAXED);
    double t_start = tracing ? now_ns() : 0.0;
    int nt = GK_MIN((long)GK_MIN(threads, GK_POOL_MAX_THREADS), chunks);
    long base = tracing ? trace_chunks_take(chunks) : -1;
    if (nt <= 1 || chunks > 0x7FFFFFFFL) {
        if (tracing) {
            run_alone_traced(chunks, fn, ctx, base);
            trace_add(t_start, 0.0, 0.0, chunks, 1, (int)chunks, 0, 0, base);
        } else {
            run_alone(chunks, fn, ctx);
        }
        return;
    }
    if (gk_pool_workers() < nt - 1) gk_pool_start(nt);
    nt = GK_MIN(nt, gk_pool_workers() + 1);
    int free_ = 0, backing_off = nt > 1 && backoff_take();
    if (nt <= 1 || backing_off ||
        !__atomic_compare_exchange_n(&job.owned, &free_, 1, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED)) {
        /* no workers, backing off, or another call holds the pool */
        if (tracing) {
            run_alone_traced(chunks, fn, ctx, base);
            trace_add(t_start, 0.0, 0.0, chunks, 1, (int)chunks, 0,
                      nt <= 1 ? 2 : backing_off ? 3 : 1, base);
        } else {
            run_alone(chunks, fn, ctx);
        }
        return;
    }
    job.fn = fn;
    job.ctx = ctx;
    job.chunks = chunks;
    job.threads = nt;
#if defined(__linux__)
    __atomic_store_n(&job.caller_cpu, sched_getcpu(), __ATOMIC_RELAXED);
#endif
    __atomic_store_n(&job.done, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&job.joined_ns, 0, __ATOMIC_RELAXED);
    job.trace_base = base;
    double t_call = now_ns();
    generation = (generation + 1) & ((1u << GEN_BITS) - 1);
    uint32_t gen = generation;
    __atomic_store_n(&job.state, STATE(gen, nt - 1, chunks), __ATOMIC_SEQ_CST);
    int woken = 0;
    for (int i = 1; i < nt; i++)
        if (__atomic_load_n(&workers[i].sleeping, __ATOMIC_SEQ_CST)) {
            __atomic_add_fetch(&workers[i].wake, 1, __ATOMIC_SEQ_CST);
            futex_wake(&workers[i].wake, 1);
            woken++;
        }
    int pull_on = pull_enabled();
    int saved = gk_team_rank();
    gk_set_team_rank(0);
    uint32_t mine = 0;
    for (long c; (c = claim(gen, 0, NULL)) >= 0; mine++) run_chunk(fn, ctx, c, 0, base);
    gk_set_team_rank(saved);
    /* every chunk is claimed: wait for those the workers started */
    double t_idle = now_ns();
    uint32_t d = __atomic_add_fetch(&job.done, mine, __ATOMIC_SEQ_CST);
    if (d != (uint32_t)chunks) {
        /* any started worker may hold one of the call's seats */
        int nw = GK_MIN(gk_pool_workers(), GK_POOL_MAX_THREADS - 1);
        double cpu0[GK_POOL_MAX_THREADS];
        for (int i = 1; i <= nw; i++)
            cpu0[i] = pull_on && __atomic_load_n(&workers[i].holding, __ATOMIC_RELAXED) &&
                              __atomic_load_n(&workers[i].can_pull, __ATOMIC_ACQUIRE)
                          ? thread_cpu_ns(&workers[i])
                          : -1.0;
        double t0 = now_ns(), t_prev = t0;
        for (int spins = 1; (d = __atomic_load_n(&job.done, __ATOMIC_ACQUIRE)) != chunks; spins++) {
            relax();
            if (spins % 64 == 0) {
                double t = now_ns();
                if (t - t0 > GK_POOL_WAIT_SPIN_NS || t - t_prev > GK_POOL_PREEMPTED_NS) break;
                t_prev = t;
            }
        }
        __atomic_store_n(&job.caller_waiting, 1, __ATOMIC_SEQ_CST);
        wait_done(nw, (uint32_t)chunks, cpu0, t0);
        __atomic_store_n(&job.caller_waiting, 0, __ATOMIC_RELAXED);
    }
    backoff_verdict(t_idle - t_call, now_ns() - t_idle);
    if (tracing)
        trace_add(t_start, (double)__atomic_load_n(&job.joined_ns, __ATOMIC_RELAXED), t_idle,
                  chunks, nt, (int)mine, woken, 0, base);
    __atomic_store_n(&job.owned, 0, __ATOMIC_RELEASE);
}

#else /* no pthreads: every call runs on the calling thread */

int gk_pool_start(int threads) {
    (void)threads;
    return 0;
}

int gk_pool_workers(void) { return 0; }

int gk_pool_owned(void) { return 0; }

long gk_pool_trace(int on) {
    (void)on;
    return 0;
}

const gk_pool_event *gk_pool_trace_events(void) { return NULL; }

const float *gk_pool_trace_chunks(void) { return NULL; }

void gk_pool_prewake(int threads) { (void)threads; }

int gk_pool_backoff(int on) {
    (void)on;
    return 0;
}

int gk_pool_backing_off(void) { return 0; }

long gk_pool_backoff_calls(void) { return 0; }

int gk_pool_pull(int on) {
    (void)on;
    return 0;
}

long gk_pool_pulls(void) { return 0; }

void gk_parallel(long chunks, int threads, gk_pool_fn fn, void *ctx) {
    (void)threads;
    run_alone(chunks, fn, ctx);
}

#endif

typedef struct {
    long n, chunks;
    gk_range_fn fn;
    void *ctx;
    int guided;
} range_job;

/* -1 not read yet (GOSSAMER_POOL_GUIDED), 0 even chunks, 1 guided (default) */
static int guided_policy = -1;

int gk_pool_guided(int on) {
    int p = __atomic_load_n(&guided_policy, __ATOMIC_RELAXED);
    if (p < 0) {
        const char *v = getenv("GOSSAMER_POOL_GUIDED");
        p = !(v && v[0] == '0');
        __atomic_store_n(&guided_policy, p, __ATOMIC_RELAXED);
    }
    if (on >= 0) __atomic_store_n(&guided_policy, on != 0, __ATOMIC_RELAXED);
    return p;
}

/* the first unit of chunk c of `chunks` over n units: guided, n * (1 - (1 - c / chunks)^2)
 * (chunk sizes fall linearly to about n / chunks^2: the chunks claimed last, whose end a thread
 * may wait for, are the smallest), else even */
static inline long range_bound(long n, long c, long chunks, int guided) {
    if (!guided) return n * c / chunks;
    long r = chunks - c;
    return n - (long)((double)n * (double)(r * r) / (double)(chunks * chunks));
}

static void range_chunk(void *p, long c, int seat) {
    const range_job *r = (const range_job *)p;
    long b = range_bound(r->n, c, r->chunks, r->guided),
         e = range_bound(r->n, c + 1, r->chunks, r->guided);
    if (e > b) r->fn(r->ctx, b, e, seat);
}

void gk_parallel_range(long n, int threads, gk_range_fn fn, void *ctx) {
    if (n <= 0) return;
    if (threads <= 1 || n == 1) {
        int saved = gk_team_rank();
        gk_set_team_rank(0);
        fn(ctx, 0, n, 0);
        gk_set_team_rank(saved);
        return;
    }
    long most = (long)GK_MIN(threads, GK_POOL_MAX_THREADS) * GK_POOL_CHUNKS_PER_THREAD;
    range_job r = {n, GK_MIN(n, most), fn, ctx, gk_pool_guided(-1)};
    gk_parallel(r.chunks, threads, range_chunk, &r);
}

typedef struct {
    gk_range_fn fn;
    void *ctx;
    const long *bounds;
    int parts, pieces;
    /* per part: the next piece from the front (low 32 bits) and the end (high 32 bits) */
    uint64_t left[GK_POOL_MAX_THREADS];
} parts_job;

/* takes one piece of a part, from its front or its back (0: none left) */
static int parts_take(uint64_t *w, int back, long *piece) {
    uint64_t v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
    for (;;) {
        uint32_t f = (uint32_t)v, e = (uint32_t)(v >> 32);
        if (f >= e) return 0;
        uint64_t nv = back ? ((uint64_t)(e - 1) << 32 | f) : ((uint64_t)e << 32 | (f + 1));
        if (__atomic_compare_exchange_n(w, &v, nv, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            *piece = back ? (long)e - 1 : (long)f;
            return 1;
        }
    }
}

/* the seat's own part's pieces from the front, then whatever is left of the others' from
 * their backs */
static void parts_chunk(void *p, long c, int seat) {
    parts_job *j = (parts_job *)p;
    long k;
    (void)c;
    if (seat < j->parts)
        while (parts_take(&j->left[seat], 0, &k)) {
            long t = (long)seat * j->pieces + k;
            if (j->bounds[t] < j->bounds[t + 1]) j->fn(j->ctx, j->bounds[t], j->bounds[t + 1], seat);
        }
    for (int d = 1; d <= j->parts; d++) {
        int q = (seat + d) % j->parts;
        while (parts_take(&j->left[q], 1, &k)) {
            long t = (long)q * j->pieces + k;
            if (j->bounds[t] < j->bounds[t + 1]) j->fn(j->ctx, j->bounds[t], j->bounds[t + 1], seat);
        }
    }
}

void gk_pool_run_parts(const long *bounds, int parts, int pieces, int threads, gk_range_fn fn,
                       void *ctx) {
    long all = (long)parts * pieces;
    if (parts <= 1 || pieces < 1 || threads <= 1 || parts > GK_POOL_MAX_THREADS) {
        if (all >= 1 && bounds[0] < bounds[all]) {
            int saved = gk_team_rank();
            gk_set_team_rank(0);
            fn(ctx, bounds[0], bounds[all], 0);
            gk_set_team_rank(saved);
        }
        return;
    }
    parts_job j = {fn, ctx, bounds, parts, pieces, {0}};
    for (int p = 0; p < parts; p++) j.left[p] = (uint64_t)pieces << 32;
    gk_parallel(parts, threads, parts_chunk, &j);
}
