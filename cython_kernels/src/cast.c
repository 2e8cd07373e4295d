/* Cast (see cast.h): one loop per (from, to) pair, chunked over the threads. */
#include <stdint.h>

#include "cast.h"
#include "isa.h"
#include "threadpool.h"

#define CHUNK (1L << 16) /* elements per parallel work unit */

static int is_float(int t) { return t == GK_T_F32 || t == GK_T_F64; }

int gk_cast_supported(int from, int to) {
    if (from < GK_T_BOOL || from > GK_T_F64 || to < GK_T_BOOL || to > GK_T_F64) return 0;
    return !(is_float(from) && !is_float(to) && to != GK_T_BOOL);
}

/* x[i0..i1) -> y: TS source type, TD destination type */
#define GK_CAST_LOOP(TS, TD)                                                                  \
    do {                                                                                      \
        const TS *s = (const TS *)x;                                                          \
        TD *d = (TD *)y;                                                                      \
        if (to == GK_T_BOOL)                                                                  \
            for (long i = i0; i < i1; i++) ((uint8_t *)y)[i] = s[i] != 0;                     \
        else                                                                                  \
            for (long i = i0; i < i1; i++) d[i] = (TD)s[i];                                   \
    } while (0)

#define GK_CAST_TO(TS)                                                                        \
    switch (to) {                                                                             \
    case GK_T_BOOL: GK_CAST_LOOP(TS, uint8_t); break;                                         \
    case GK_T_I8: GK_CAST_LOOP(TS, int8_t); break;                                            \
    case GK_T_U8: GK_CAST_LOOP(TS, uint8_t); break;                                           \
    case GK_T_I16: GK_CAST_LOOP(TS, int16_t); break;                                          \
    case GK_T_U16: GK_CAST_LOOP(TS, uint16_t); break;                                         \
    case GK_T_I32: GK_CAST_LOOP(TS, int32_t); break;                                          \
    case GK_T_U32: GK_CAST_LOOP(TS, uint32_t); break;                                         \
    case GK_T_I64: GK_CAST_LOOP(TS, int64_t); break;                                          \
    case GK_T_U64: GK_CAST_LOOP(TS, uint64_t); break;                                         \
    case GK_T_F32: GK_CAST_LOOP(TS, float); break;                                            \
    default: GK_CAST_LOOP(TS, double); break;                                                 \
    }

/* integer -> narrower signed integer keeps the low bits (GCC defines it so, as numpy does) */
static void cast_range(const void *x, int from, void *y, int to, long i0, long i1) {
    switch (from) {
    case GK_T_BOOL: GK_CAST_TO(uint8_t) break;
    case GK_T_I8: GK_CAST_TO(int8_t) break;
    case GK_T_U8: GK_CAST_TO(uint8_t) break;
    case GK_T_I16: GK_CAST_TO(int16_t) break;
    case GK_T_U16: GK_CAST_TO(uint16_t) break;
    case GK_T_I32: GK_CAST_TO(int32_t) break;
    case GK_T_U32: GK_CAST_TO(uint32_t) break;
    case GK_T_I64: GK_CAST_TO(int64_t) break;
    case GK_T_U64: GK_CAST_TO(uint64_t) break;
    case GK_T_F32: GK_CAST_TO(float) break;
    default: GK_CAST_TO(double) break;
    }
}

typedef struct {
    const void *x;
    void *y;
    int from, to;
    long n;
} cast_job;

/* chunks [u0, u1) of CHUNK elements */
static void cast_units(void *p, long u0, long u1, int seat) {
    const cast_job *j = (const cast_job *)p;
    (void)seat;
    for (long u = u0; u < u1; u++)
        cast_range(j->x, j->from, j->y, j->to, u * CHUNK, GK_MIN(j->n, (u + 1) * CHUNK));
}

int gk_cast(const void *x, int from, void *y, int to, long n, int threads) {
    if (!gk_cast_supported(from, to)) return -1;
    cast_job j = {x, y, from, to, n};
    long chunks = (n + CHUNK - 1) / CHUNK;
    if (chunks > 1 && threads > 1)
        gk_parallel_range(chunks, threads, cast_units, &j);
    else
        cast_units(&j, 0, chunks, 0);
    return 0;
}
