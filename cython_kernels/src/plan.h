/* Segment plans: a prepared list of kernel calls run in order with no Python between them.
 *
 * A call is one invocation of a C entry point recorded from its Cython wrapper
 * (wrappers/plan.pxi): `run` is an adapter that reads the entry point's arguments from the
 * call's slots (pointers p, integers i, floats f, an optional epilogue). A plan is an array of
 * calls; before it runs, `gk_plan_patch` rewrites the pointer slots that address memory that moves
 * between runs (a graph input, a tensor the interpreter allocated) from per-run base addresses.
 * Family-independent: the adapters live next to each family's wrappers. */
#ifndef GK_PLAN_H
#define GK_PLAN_H

#include <stddef.h>

#define GK_CALL_P 8  /* pointer slots */
#define GK_CALL_I 28 /* integer slots (an n-d copy: ndim <= 8 shape and two stride vectors) */
#define GK_CALL_F 4  /* float slots */

typedef struct gk_call gk_call;
/* runs the call; returns 0, or nonzero if the kernel reported a failure */
typedef int (*gk_call_fn)(const gk_call *c);

struct gk_call {
    gk_call_fn run;
    void *p[GK_CALL_P];
    long i[GK_CALL_I];
    float f[GK_CALL_F];
    const void *ep; /* a kernel's epilogue struct (owned by the recorded call's objects) */
};

/* a pointer slot that moves: calls[call].p[slot] = bases[region] + offset */
typedef struct {
    long call;
    int slot;
    int region;
    ptrdiff_t offset;
} gk_patch;

/* Runs calls[0..n) in order; returns -1 when all succeeded, else the index of the first call
 * that reported a failure (the calls after it did not run). */
long gk_plan_run(const gk_call *calls, long n);

/* Applies the patches with this run's region base addresses. */
void gk_plan_patch(gk_call *calls, const gk_patch *patches, long n, char *const *bases);

/* y[i] = table[x[i]] for 8-bit x and a 256-entry table of `esize`-byte entries (1 or 2); or with
 * two 8-bit inputs, y[i] = table[(a[i] << 8) | b[i]] over a 65536-entry table (b may be NULL
 * for the one-input form). */
void gk_lut8(const unsigned char *x, const unsigned char *b, long n, const void *table,
             int esize, void *y);

#endif
