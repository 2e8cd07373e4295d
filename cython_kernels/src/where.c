/* Where and IsNaN (see where.h): one loop per element size, chunked over the threads. */
#include <string.h>

#include "isa.h"
#include "where.h"
#include "threadpool.h"

#define CHUNK (1L << 15) /* elements per parallel work unit */

#define GK_WHERE_LOOP(T)                                                                      \
    do {                                                                                      \
        const T *xs = (const T *)(const void *)x, *ys = (const T *)(const void *)y;           \
        T *o = (T *)(void *)out;                                                              \
        for (long i = i0; i < i1; i++)                                                        \
            o[i] = c[c_full ? i : 0] ? xs[x_full ? i : 0] : ys[y_full ? i : 0];               \
    } while (0)

static void where_range(const uint8_t *c, int c_full, const char *x, int x_full, const char *y,
                        int y_full, char *out, long i0, long i1, long esize) {
    switch (esize) {
    case 1: GK_WHERE_LOOP(uint8_t); break;
    case 2: GK_WHERE_LOOP(uint16_t); break;
    case 4: GK_WHERE_LOOP(uint32_t); break;
    case 8: GK_WHERE_LOOP(uint64_t); break;
    default:
        for (long i = i0; i < i1; i++) {
            const char *src = c[c_full ? i : 0] ? x + (x_full ? i : 0) * esize
                                                : y + (y_full ? i : 0) * esize;
            memcpy(out + i * esize, src, (size_t)esize);
        }
    }
}

typedef struct {
    const uint8_t *c;
    const char *x, *y;
    char *out;
    int c_full, x_full, y_full;
    long n, esize;
} where_job;

/* chunks [u0, u1) of CHUNK elements */
static void where_units(void *p, long u0, long u1, int seat) {
    const where_job *j = (const where_job *)p;
    (void)seat;
    for (long u = u0; u < u1; u++)
        where_range(j->c, j->c_full, j->x, j->x_full, j->y, j->y_full, j->out, u * CHUNK,
                    GK_MIN(j->n, (u + 1) * CHUNK), j->esize);
}

void gk_where(const uint8_t *c, int c_full, const char *x, int x_full, const char *y, int y_full,
              char *out, long n, long esize, int threads) {
    where_job j = {c, x, y, out, c_full, x_full, y_full, n, esize};
    long chunks = (n + CHUNK - 1) / CHUNK;
    if (chunks > 1 && threads > 1)
        gk_parallel_range(chunks, threads, where_units, &j);
    else
        where_units(&j, 0, chunks, 0);
}

void gk_isnan_f32(const float *x, uint8_t *out, long n) {
    for (long i = 0; i < n; i++) out[i] = x[i] != x[i];
}
