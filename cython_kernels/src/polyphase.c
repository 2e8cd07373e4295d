/* The batch loop shared by the polyphase drivers (conv.c's depthwise, pool.c): see polyphase.h. */
#include <stdlib.h>

#include "isa.h"
#include "polyphase.h"

int sp_run_batches(const sp_geo *g, long planes, long batch, long band, int threads,
                   sp_batch_fn fn, const void *ctx) {
    long chunks = (planes + batch - 1) / batch, psz = sp_size(g), asz = band * g->wq + 64;
    int ok = 1;
#pragma omp parallel num_threads(threads) reduction(&& : ok)
    {
        float *buf = (float *)malloc((size_t)(batch * (psz + asz)) * sizeof(float));
        ok = buf != NULL;
        if (buf) sp_fill(buf, batch * (psz + asz), 0.0f);
#pragma omp for schedule(static)
        for (long ck = 0; ck < chunks; ck++) {
            if (!buf) continue;
            long p0 = ck * batch;
            fn(ctx, p0, GK_MIN(planes, p0 + batch), buf, buf + batch * psz);
        }
        free(buf);
    }
    return ok;
}
