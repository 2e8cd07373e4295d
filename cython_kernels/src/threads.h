/* Thread helpers shared by the kernel drivers (threads.c); the pool itself is threadpool.h. */
#ifndef GK_THREADS_H
#define GK_THREADS_H

/* starts the pool's workers for calls of up to `threads` threads (they are otherwise started on
 * first use); returns how many this call started */
int gk_threads_start(int threads);

/* the calling thread's seat in the pool call whose chunk it runs (threadpool.h), or the rank the
 * stage scheduler gave it (stage_scheduler.h); 0 outside both */
int gk_team_rank(void);
void gk_set_team_rank(int rank);

#endif
