/* Segment plans (plan.h): the run loop, the per-run pointer patches, the byte-table lookup. */
#include "plan.h"

#include <stdint.h>

long gk_plan_run(const gk_call *calls, long n) {
    for (long k = 0; k < n; k++)
        if (calls[k].run(&calls[k]))
            return k;
    return -1;
}

void gk_plan_patch(gk_call *calls, const gk_patch *patches, long n, char *const *bases) {
    for (long k = 0; k < n; k++) {
        const gk_patch *q = &patches[k];
        calls[q->call].p[q->slot] = bases[q->region] + q->offset;
    }
}

void gk_lut8(const unsigned char *x, const unsigned char *b, long n, const void *table,
             int esize, void *y) {
    if (b == NULL) {
        if (esize == 1) {
            const uint8_t *t = (const uint8_t *)table;
            uint8_t *out = (uint8_t *)y;
            for (long i = 0; i < n; i++)
                out[i] = t[x[i]];
        } else {
            const uint16_t *t = (const uint16_t *)table;
            uint16_t *out = (uint16_t *)y;
            for (long i = 0; i < n; i++)
                out[i] = t[x[i]];
        }
        return;
    }
    if (esize == 1) {
        const uint8_t *t = (const uint8_t *)table;
        uint8_t *out = (uint8_t *)y;
        for (long i = 0; i < n; i++)
            out[i] = t[((unsigned)x[i] << 8) | b[i]];
    } else {
        const uint16_t *t = (const uint16_t *)table;
        uint16_t *out = (uint16_t *)y;
        for (long i = 0; i < n; i++)
            out[i] = t[((unsigned)x[i] << 8) | b[i]];
    }
}
