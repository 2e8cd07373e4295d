/* OpenMP helpers shared by the kernel drivers (threads.c). */
#ifndef GK_THREADS_H
#define GK_THREADS_H

/* starts the OpenMP team of `threads` with every worker moved off the caller's CPU (then
 * unpinned); returns how many moved */
int gk_threads_start(int threads);

/* the calling thread's rank in its OpenMP team and the team's size (0 and 1 outside a region
 * or without OpenMP) */
int gk_team_rank(void);
int gk_team_size(void);

#endif
