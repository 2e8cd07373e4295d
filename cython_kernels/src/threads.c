/* Starting the OpenMP worker threads away from the calling thread's core.
 *
 * A new thread starts on its creator's CPU. An OpenMP worker then spins there (GOMP_SPINCOUNT)
 * while the caller waits for it at the join, so the first 2-thread regions of a process took
 * ~8 ms each (one scheduler slice) until Linux moved the worker, ~40 ms later. gk_threads_start
 * runs one region in which every worker moves itself off the caller's CPU (an affinity mask
 * without that CPU forces the move), then takes back its whole mask: nothing stays pinned. */
#define _GNU_SOURCE
#include "threads.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

int gk_threads_start(int threads) {
#if defined(__linux__) && defined(_OPENMP)
    if (threads < 2) return 0;
    int caller = sched_getcpu();
    int moved = 0;
#pragma omp parallel num_threads(threads) reduction(+ : moved)
    {
        if (omp_get_thread_num() != 0 && caller >= 0) {
            cpu_set_t all, others;
            if (sched_getaffinity(0, sizeof all, &all) == 0) {
                others = all;
                CPU_CLR(caller, &others);
                if (CPU_COUNT(&others) > 0 && sched_setaffinity(0, sizeof others, &others) == 0) {
                    moved += sched_getcpu() != caller;
                    sched_setaffinity(0, sizeof all, &all);
                }
            }
        }
    }
    return moved;
#else
    (void)threads;
    return 0;
#endif
}

int gk_team_rank(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

int gk_team_size(void) {
#ifdef _OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}
