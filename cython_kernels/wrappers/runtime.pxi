# SIMD level selection (src/dispatch.h) and the kernels' thread pool (src/threadpool.h).

cdef extern from "src/dispatch.h" nogil:
    int gk_cpu_has_avx2_fma()
    int gk_cpu_has_avx512f()
    int gk_set_simd_level(int level)
    int gk_simd_level()
cdef extern from "src/threads.h" nogil:
    int gk_threads_start(int threads)
cdef extern from "src/threadpool.h" nogil:
    int gk_pool_workers()
    long gk_pool_check(long chunks, int threads, long chunk_us, long stall_us, long *out)
    long gk_pool_test_worker_us
    long gk_pool_test_worker_nap_us

SIMD_LEVELS = ("generic", "avx2+fma", "avx512f")


def cpu_has_avx2_fma():
    """True if this CPU has AVX2 and FMA."""
    return bool(gk_cpu_has_avx2_fma())


def cpu_has_avx512f():
    """True if this CPU has AVX-512F (and AVX2/FMA)."""
    return bool(gk_cpu_has_avx512f())


def set_simd_index(int level):
    """Use kernels up to SIMD_LEVELS[level], capped by the CPU; returns the index now active."""
    return gk_set_simd_level(level)


def simd_index():
    """Index into SIMD_LEVELS of the kernels in use."""
    return gk_simd_level()


def threads_start(int threads):
    """Starts the thread pool's workers for calls of up to `threads` threads (see
    src/threads.c); returns how many this call started."""
    with nogil:
        started = gk_threads_start(threads)
    return started


def pool_workers():
    """The thread pool's workers started so far."""
    return gk_pool_workers()


def pool_check(long chunks, int threads, long chunk_us=0, long stall_us=0, long worker_us=0,
               long worker_nap_us=0):
    """The pool's contract on a synthetic job (src/threadpool_check.c): (violations, chunks run
    by the caller, chunks run by workers, microseconds, largest seat). worker_us: a chunk a
    worker runs takes that much longer than chunk_us; worker_nap_us: it first sleeps that long
    (off the CPU, as if descheduled mid-chunk)."""
    global gk_pool_test_worker_us, gk_pool_test_worker_nap_us
    cdef long out[4]
    cdef long bad
    out[0] = out[1] = out[2] = out[3] = 0
    gk_pool_test_worker_us = worker_us
    gk_pool_test_worker_nap_us = worker_nap_us
    with nogil:
        bad = gk_pool_check(chunks, threads, chunk_us, stall_us, out)
    gk_pool_test_worker_us = 0
    gk_pool_test_worker_nap_us = 0
    if bad < 0:
        raise MemoryError("pool_check: out of memory")
    return bad, out[0], out[1], out[2], out[3]


cdef extern from "src/threadpool.h" nogil:
    ctypedef struct gk_pool_event:
        double start
        double joined
        double end
        double idle
        long chunks
        int threads
        int mine
        int woken
        int alone
        long first
    long gk_pool_trace(int on)
    const gk_pool_event *gk_pool_trace_events()
    const float *gk_pool_trace_chunks()
    int gk_pool_trace_cpu_clock
    long GK_POOL_TRACE_CHUNKS
    void gk_pool_prewake(int threads)
    int gk_pool_backoff(int on)
    int gk_pool_backing_off()
    long gk_pool_backoff_calls()
    int gk_pool_pull(int on)
    long gk_pool_pulls()
    int gk_pool_guided(int on)

POOL_TRACE_FIELDS = ("start", "joined", "end", "idle", "chunks", "threads", "mine", "woken",
                     "alone", "first")


def pool_trace(bint on):
    """Turns the thread pool's trace on (clearing it) or off; returns the calls recorded since it
    was last turned on, one tuple of POOL_TRACE_FIELDS each (src/threadpool.h gk_pool_event:
    times in CLOCK_MONOTONIC nanoseconds, as time.monotonic_ns)."""
    cdef long n = gk_pool_trace(on)
    cdef const gk_pool_event *ev = gk_pool_trace_events()
    if on or ev == NULL:
        return []
    return [(ev[k].start, ev[k].joined, ev[k].end, ev[k].idle, ev[k].chunks, ev[k].threads,
             ev[k].mine, ev[k].woken, ev[k].alone, ev[k].first) for k in range(n)]


def pool_trace_cpu_clock(int on=-1):
    """Whether the traced chunks are timed in their thread's CPU time (1) or in CLOCK_MONOTONIC
    (0, the default); -1 only asks. Returns the previous setting (src/threadpool.h)."""
    global gk_pool_trace_cpu_clock
    cdef int old = gk_pool_trace_cpu_clock
    if on >= 0:
        gk_pool_trace_cpu_clock = 1 if on else 0
    return old


def pool_trace_chunks(long first, long count):
    """The durations (ns, float32) of one traced call's chunks, in chunk order: `first` and
    `count` are its event's "first" and "chunks" fields (first = -1: not kept, an empty array).
    Valid until the trace is turned on again."""
    cdef const float *d = gk_pool_trace_chunks()
    out = _np.zeros(0, _np.float32)
    if d == NULL or first < 0 or count <= 0 or first + count > GK_POOL_TRACE_CHUNKS:
        return out
    out = _np.empty(count, _np.float32)
    cdef float[::1] o = out
    cdef long i
    for i in range(count):
        o[i] = d[first + i]
    return out


def pool_prewake(int threads):
    """Wakes the pool's sleeping workers that a call of `threads` threads would use, so that
    their wake-up overlaps the caller's work before its first parallel call (src/threadpool.h)."""
    with nogil:
        gk_pool_prewake(threads)


def pool_backoff(int on=-1):
    """The pool's back-off after a call whose caller waited for a worker taken off its core
    (src/threadpool.h): 1 on (GOSSAMER_POOL_BACKOFF=1), 0 off (the default); -1 only asks.
    Setting it ends any back-off in progress. Returns the previous setting."""
    return gk_pool_backoff(on)


def pool_backoff_state():
    """(whether calls now run alone for the back-off, calls run alone for it so far)."""
    return bool(gk_pool_backing_off()), gk_pool_backoff_calls()


def pool_pull(int on=-1):
    """Whether a caller waiting for a chunk that a descheduled worker started pins that worker to
    its own CPU (src/threadpool.h): 1 on (the default), 0 off (GOSSAMER_POOL_PULL=0); -1 only
    asks. Returns the previous setting."""
    return gk_pool_pull(on)


def pool_pulls():
    """Workers pulled onto a waiting caller's CPU so far (src/threadpool.h)."""
    return gk_pool_pulls()


def pool_guided(int on=-1):
    """Whether gk_parallel_range cuts its work in guided ranges (1, the default: falling sizes)
    or even ones (0, GOSSAMER_POOL_GUIDED=0); -1 only asks. Returns the previous setting."""
    return gk_pool_guided(on)
