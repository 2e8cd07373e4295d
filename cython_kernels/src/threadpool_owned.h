/* Fixed owners for a call's blocks (threadpool.c): a parallel-for over the pool (threadpool.h)
 * whose chunks each have a first owner, for the conv drivers that give every thread one large
 * block of C. */
#ifndef GK_THREADPOOL_OWNED_H
#define GK_THREADPOOL_OWNED_H

#include "threadpool.h"

/* gk_parallel with a fixed first owner per chunk: the chunks in min(threads, chunks) contiguous
 * parts of (nearly) equal count, part p offered first to seat p (the caller is seat 0), one chunk
 * a piece of gk_pool_run_parts (so a thread the OS keeps off its core holds up no more than the
 * chunk it started: the others take its unstarted ones from the back). A driver whose blocks are
 * the same fractions of C and of its residual every call then has the same thread write (and
 * read) the same part of them every run, where gk_parallel hands them to whichever thread claims
 * first. With the switch off (gk_pool_fixed_owners(0)) it is gk_parallel. */
void gk_parallel_owned(long chunks, int threads, gk_pool_fn fn, void *ctx);

/* gk_parallel_owned's switch: 1 the fixed owners, 0 gk_parallel's claimed order
 * (GOSSAMER_POOL_FIXED_OWNERS=0|1); -1 only asks. Returns the previous setting. */
int gk_pool_fixed_owners(int on);

/* threadpool_check.c's gk_pool_check (threadpool.h) with its chunks through gk_parallel_owned */
long gk_pool_check_owned(long chunks, int threads, long chunk_us, long stall_us, long *out);

#endif
