/* The batch loop shared by the polyphase drivers (conv.c's depthwise, pool.c): see polyphase.h. */
#include <stdlib.h>

#include "isa.h"
#include "polyphase.h"
#include "threadpool.h"

typedef struct {
    long planes, batch, psz, asz;
    sp_batch_fn fn;
    const void *ctx;
    float *buf[GK_POOL_MAX_THREADS]; /* per seat, allocated by its first chunk */
    int failed;
} batches_job;

/* batches [b0, b1) of `batch` planes */
static void run_batches(void *p, long b0, long b1, int seat) {
    batches_job *j = (batches_job *)p;
    float *buf = j->buf[seat];
    if (!buf) {
        size_t n = (size_t)(j->batch * (j->psz + j->asz));
        buf = j->buf[seat] = (float *)malloc(n * sizeof(float));
        if (!buf) {
            __atomic_store_n(&j->failed, 1, __ATOMIC_RELAXED);
            return;
        }
        sp_fill(buf, (long)n, 0.0f);
    }
    for (long ck = b0; ck < b1; ck++) {
        long p0 = ck * j->batch;
        j->fn(j->ctx, p0, GK_MIN(j->planes, p0 + j->batch), buf, buf + j->batch * j->psz);
    }
}

int sp_run_batches(const sp_geo *g, long planes, long batch, long band, int threads,
                   sp_batch_fn fn, const void *ctx) {
    batches_job j = {planes, batch, sp_size(g), band * g->wq + 64, fn, ctx, {NULL}, 0};
    gk_parallel_range((planes + batch - 1) / batch, threads, run_batches, &j);
    for (int s = 0; s < GK_POOL_MAX_THREADS; s++) free(j.buf[s]);
    return !j.failed;
}
