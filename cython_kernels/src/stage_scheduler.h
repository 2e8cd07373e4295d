/* A work-stealing scheduler for a sequence of dependent stages over a fixed set of units, in one
 * call of the kernels' thread pool, one chunk per rank (stage_scheduler.c, threadpool.h). The recurrences of rnn.c are its user: a stage is a
 * step (or a phase of one), a unit a 16-unit panel of the hidden state.
 *
 * Stage k may start only when stage k - 1 is complete. Thread g owns a contiguous group of units
 * (so its share of the data stays in its cache from stage to stage), split into a few items, and
 * runs its items in order, claiming each once its stage may start. The machine may be shared: a
 * thread waiting for a stage whose other owners have made no progress for a while (the OS took
 * them off their cores) runs their items of the stage in progress, unclaimed ones first. With
 * `redo`, it also runs items a stalled thread claimed but has not finished: the caller promises
 * that running an item twice is harmless (it reads only the state of its stage and writes only
 * that of the next, never reused, and both runs write the same bits). So a descheduled thread
 * does not stall the stages (without `redo`: only while inside an item) and a team smaller than
 * asked for still finishes; the end of the call waits for every rank some thread has started
 * (a rank no worker started is run by the caller, its items already done), which also keeps late
 * runs inside the call. "Progress" is any item a
 * thread completes, so a working thief is never taken for stalled.
 *
 * Results must not depend on who runs an item: the callback gets only what to run.
 */
#ifndef GK_STAGE_SCHEDULER_H
#define GK_STAGE_SCHEDULER_H

#define GK_SCHED_MAX_TEAM 64

/* runs units [first, first + count) of stage `stage`; the group owning them holds units
 * [group_first, group_first + group_count) */
typedef void (*gk_sched_item_fn)(void *ctx, long stage, long first, long count, long group_first,
                                 long group_count);

typedef struct gk_sched gk_sched;

/* A schedule of `stages` stages over `units` units for a team of `threads` (at most
 * GK_SCHED_MAX_TEAM and `units`); unit_bytes: the bytes one unit's work reads (sets how long
 * without progress counts as stalled). NULL if out of memory. */
gk_sched *gk_sched_new(long stages, long units, int threads, int redo, double unit_bytes);
void gk_sched_free(gk_sched *s);
/* the team size the schedule was made for */
int gk_sched_threads(const gk_sched *s);
/* runs every item of every stage, in stage order: on this thread when the team is 1, else in
 * one pool call, after which the team is judged (below) */
void gk_sched_run(gk_sched *s, gk_sched_item_fn fn, void *ctx);
/* items run by a thread other than their owner in the last run (tests) */
long gk_sched_stolen(const gk_sched *s);

/* Team back-off. A team whose other threads hardly ran (the master did their items: the other
 * cores were busy) cost the master its waits for stalled stages and, at the end, for a rank
 * started by a thread that was then descheduled; the next calls then run on one thread, for 4, 8, ... up to 256 calls, then try the
 * team again. Process-wide and approximate (relaxed atomics).
 * gk_sched_team_allowed: 0 while backing off (counts the call). gk_sched_team_ok: the same
 * without counting (callers may then run their own parallel work on one thread too).
 * gk_sched_team_policy: adapt 1 (the default) backs off as above, 0 always runs the team asked
 * for (tests); either way any back-off in progress ends. */
int gk_sched_team_allowed(void);
int gk_sched_team_ok(void);
void gk_sched_team_policy(int adapt);

/* a synthetic run and a check of the contract above, for the tests (stage_scheduler_check.c);
 * out: 4 longs (see there) */
long gk_sched_check(long stages, long units, int threads, int redo, int stall_rank, long stall_us,
                    long *out);

#endif
