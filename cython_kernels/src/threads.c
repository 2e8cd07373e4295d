/* Thread helpers (see threads.h).
 *
 * The pool's workers are created once and sleep on a futex between calls; a worker that finds
 * itself on the caller's CPU moves itself off it (threadpool.c), as the OpenMP team's workers had
 * to be moved here once. Starting them early only saves the first run their creation. */
#include "threads.h"

#include "threadpool.h"

static __thread int tl_rank;

int gk_threads_start(int threads) { return threads < 2 ? 0 : gk_pool_start(threads); }

int gk_team_rank(void) { return tl_rank; }

void gk_set_team_rank(int rank) { tl_rank = rank; }
