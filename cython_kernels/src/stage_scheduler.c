/* The work-stealing stage scheduler (see stage_scheduler.h). */
#include "stage_scheduler.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "isa.h"
#include "threadpool.h"
#include "threads.h"

#define ITEMS_PER_GROUP 4 /* items per group and stage: the granularity of stealing */
#define STALL_NS 4000.0   /* plus an item's reads at 20 bytes/ns: "no progress" */

/* status of an item in a stage: FREE, claimed by thread r (r + 1), or DONE */
#define FREE 0
#define DONE 255

typedef struct {
    _Alignas(64) long alive; /* items this thread completed (read by the others) */
} sched_owner;

struct gk_sched {
    long stages, units, groups, items;
    int redo;
    double stall_ns;
    long *item_u0, *item_n, *item_g; /* item i: group g's units [u0, u0 + n) (ascending) */
    long *group_i0, *group_m;         /* group g: items [i0, i0 + m) */
    unsigned char *status;            /* [stage][item]: FREE, claimer + 1 or DONE */
    long *left;                       /* [stage]: items not done */
    sched_owner *owner;
    long stolen;
    _Alignas(64) long cur; /* the stage in progress */
    gk_sched_item_fn fn;
    void *ctx;
};

gk_sched *gk_sched_new(long stages, long units, int threads, int redo, double unit_bytes) {
    int nt = threads < 1 ? 1 : threads;
    if (nt > GK_SCHED_MAX_TEAM) nt = GK_SCHED_MAX_TEAM;
    if (nt > units) nt = units > 0 ? (int)units : 1;
    long max_items = nt * ITEMS_PER_GROUP;
    gk_sched *s = (gk_sched *)aligned_alloc(64, (sizeof(gk_sched) + 63) / 64 * 64);
    long *ints = (long *)malloc((size_t)(3 * max_items + 2 * nt + stages + 1) * sizeof(long));
    unsigned char *status = (unsigned char *)calloc((size_t)(stages * max_items + 1), 1);
    sched_owner *owner = (sched_owner *)aligned_alloc(64, sizeof(sched_owner) * (size_t)nt);
    if (!s || !ints || !status || !owner) {
        free(s);
        free(ints);
        free(status);
        free(owner);
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->stages = stages;
    s->units = units;
    s->groups = nt;
    s->redo = redo && nt > 1;
    s->item_u0 = ints;
    s->item_n = ints + max_items;
    s->item_g = ints + 2 * max_items;
    s->group_i0 = ints + 3 * max_items;
    s->group_m = ints + 3 * max_items + nt;
    s->left = ints + 3 * max_items + 2 * nt;
    s->status = status;
    s->owner = owner;
    /* items: group g's units split into at most ITEMS_PER_GROUP runs */
    long items = 0;
    for (long g = 0; g < nt; g++) {
        long u0 = units * g / nt, n = units * (g + 1) / nt - u0;
        long ch = (n + ITEMS_PER_GROUP - 1) / ITEMS_PER_GROUP;
        s->group_i0[g] = items;
        for (long q = 0; q < n; q += ch, items++) {
            s->item_u0[items] = u0 + q;
            s->item_n[items] = GK_MIN(ch, n - q);
            s->item_g[items] = g;
        }
        s->group_m[g] = items - s->group_i0[g];
    }
    s->items = items;
    s->stall_ns = STALL_NS + (items ? (double)s->item_n[0] : 0.0) * unit_bytes / 20.0;
    return s;
}

void gk_sched_free(gk_sched *s) {
    if (!s) return;
    free(s->item_u0);
    free(s->status);
    free(s->owner);
    free(s);
}

int gk_sched_threads(const gk_sched *s) { return (int)s->groups; }

long gk_sched_stolen(const gk_sched *s) { return s->stolen; }

static void run_item(const gk_sched *s, long k, long i) {
    long g = s->item_g[i], first = s->group_i0[g], last = first + s->group_m[g] - 1;
    long gu0 = s->item_u0[first], gn = s->item_u0[last] + s->item_n[last] - gu0;
    s->fn(s->ctx, k, s->item_u0[i], s->item_n[i], gu0, gn);
}

/* marks item i of stage k done (once, whoever ran it); the last one opens stage k + 1 */
static void finish(gk_sched *s, long k, long i, long rank) {
    __atomic_fetch_add(&s->owner[rank].alive, 1, __ATOMIC_RELAXED);
    if (s->item_g[i] != rank) __atomic_fetch_add(&s->stolen, 1, __ATOMIC_RELAXED);
    if (__atomic_exchange_n(s->status + k * s->items + i, DONE, __ATOMIC_ACQ_REL) == DONE)
        return;
    if (__atomic_fetch_sub(s->left + k, 1, __ATOMIC_ACQ_REL) == 1)
        __atomic_store_n(&s->cur, k + 1, __ATOMIC_RELEASE);
}

static int claim(gk_sched *s, long k, long i, long rank) {
    unsigned char free_ = FREE;
    return __atomic_compare_exchange_n(s->status + k * s->items + i, &free_,
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
    long seen[GK_SCHED_MAX_TEAM];
    double since[GK_SCHED_MAX_TEAM];
    unsigned char absent[GK_SCHED_MAX_TEAM];
} sched_watch;

static void look(const gk_sched *s, sched_watch *w, double t) {
    for (long g = 0; g < s->groups; g++) {
        long a = __atomic_load_n(&s->owner[g].alive, __ATOMIC_RELAXED);
        if (a != w->seen[g] || w->since[g] == 0.0) {
            w->absent[g] = a == w->seen[g] && w->absent[g];
            w->seen[g] = a;
            w->since[g] = t;
        }
    }
}

static int stalled(const gk_sched *s, const sched_watch *w, long g, double t) {
    return w->absent[g] || t - w->since[g] > s->stall_ns;
}

/* runs one item of the stage in progress left to a stalled thread: one it owns and nobody
 * claimed, else (with redo) one it claimed; 0 if there is none */
static int steal(gk_sched *s, long rank, sched_watch *w, double t) {
    long c = __atomic_load_n(&s->cur, __ATOMIC_ACQUIRE);
    if (c >= s->stages) return 0;
    for (int pass = 0; pass < 1 + s->redo; pass++)
        for (long i = 0; i < s->items; i++) {
            unsigned char st = __atomic_load_n(s->status + c * s->items + i, __ATOMIC_RELAXED);
            long g = pass == 0 ? s->item_g[i] : (long)st - 1;
            if (st == DONE || g == rank || (pass == 0) != (st == FREE) || !stalled(s, w, g, t))
                continue;
            if (pass == 0 && !claim(s, c, i, rank)) continue;
            w->absent[g] = 1;
            run_item(s, c, i);
            finish(s, c, i, rank);
            return 1;
        }
    return 0;
}

/* waits until stage k may start, running stalled threads' items meanwhile */
static void wait_stage(gk_sched *s, long rank, long k, sched_watch *w) {
    long spins = 0;
    while (__atomic_load_n(&s->cur, __ATOMIC_ACQUIRE) < k) {
        double t = now_ns();
        look(s, w, t);
        if (steal(s, rank, w, t)) continue;
#if GK_X86
        __builtin_ia32_pause();
#endif
        if (++spins % 512 == 0) sched_yield(); /* to a thread of ours on this core */
    }
}

static void worker(gk_sched *s, long rank) {
    sched_watch w;
    memset(&w, 0, sizeof w);
    if (rank < s->groups)
        for (long k = 0; k < s->stages; k++)
            for (long i = s->group_i0[rank]; i < s->group_i0[rank] + s->group_m[rank]; i++) {
                wait_stage(s, rank, k, &w);
                if (!claim(s, k, i, rank)) continue; /* run by a thread that found this stalled */
                run_item(s, k, i);
                finish(s, k, i, rank);
            }
    wait_stage(s, rank, s->stages, &w);
}

/* ---- team back-off ------------------------------------------------------------------------ */

static int backoff_left, backoff_len = 4, adaptive = 1;

void gk_sched_team_policy(int adapt) {
    __atomic_store_n(&adaptive, adapt != 0, __ATOMIC_RELAXED);
    __atomic_store_n(&backoff_left, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&backoff_len, 4, __ATOMIC_RELAXED);
}

int gk_sched_team_allowed(void) {
    if (!__atomic_load_n(&adaptive, __ATOMIC_RELAXED)) return 1;
    int left = __atomic_load_n(&backoff_left, __ATOMIC_RELAXED);
    if (left <= 0) return 1;
    __atomic_store_n(&backoff_left, left - 1, __ATOMIC_RELAXED);
    return 0;
}

int gk_sched_team_ok(void) { return __atomic_load_n(&backoff_left, __ATOMIC_RELAXED) <= 0; }

/* after a team run (`busy`: the master's time in its share, `join`: its wait at the end of the pool call): was
 * the team worth it? Yes if the other threads completed at least a quarter of their items and
 * that wait took under 30 us plus a tenth of the work. Good runs halve the next back-off, bad
 * ones start one and double the next. */
static void team_verdict(const gk_sched *s, double busy, double join) {
    long others = 0, share = 0;
    for (long g = 1; g < s->groups; g++) {
        others += s->owner[g].alive;
        share += s->group_m[g] * s->stages;
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

typedef struct {
    gk_sched *s;
    double t_master; /* when rank 0 ended */
} sched_call;

/* one pool chunk per rank: a rank that no worker started is run by the caller (its items are
 * then mostly done: the caller stole them while it waited for their stage) */
static void sched_rank(void *p, long rank, int seat) {
    sched_call *call = (sched_call *)p;
    int saved = gk_team_rank();
    (void)seat;
    gk_set_team_rank((int)rank);
    worker(call->s, rank);
    if (rank == 0) call->t_master = now_ns();
    gk_set_team_rank(saved);
}

void gk_sched_run(gk_sched *s, gk_sched_item_fn fn, void *ctx) {
    s->fn = fn;
    s->ctx = ctx;
    s->cur = 0;
    s->stolen = 0;
    memset(s->status, 0, (size_t)(s->stages * s->items));
    for (long k = 0; k < s->stages; k++) s->left[k] = s->items;
    for (long g = 0; g < s->groups; g++) s->owner[g].alive = 0;
    if (s->stages <= 0 || s->items <= 0) return;
    /* one thread, the pool is held (another session's call, or this is inside a chunk of one)
     * or backing off (threadpool.h): every item in order here, rather than ranks waiting to
     * steal each other's items */
    if (s->groups == 1 || gk_pool_owned() || gk_pool_backing_off()) {
        for (long k = 0; k < s->stages; k++)
            for (long i = 0; i < s->items; i++) run_item(s, k, i);
        return;
    }
    sched_call call = {s, now_ns()};
    double t0 = call.t_master;
    gk_parallel(s->groups, (int)s->groups, sched_rank, &call);
    team_verdict(s, call.t_master - t0, now_ns() - call.t_master);
}
