/*
 * sim_dfs_internal.h - the sim backend's dfs strategy (sim_dfs.c): a
 * bounded exhaustive depth-first search over a program's schedules, one
 * schedule per run. Sim thread only; sim_strategy.c calls in.
 */
#ifndef FL_SIM_DFS_INTERNAL_H
#define FL_SIM_DFS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Forgets the search and starts a new one with at most bound preemptions
 * a run (fl__strat_set). */
void fl__dfs_reset(uint64_t bound);
/* A new run: moves the search to its next schedule if the previous run
 * took steps and fl__dfs_exhausted did not already; after the last
 * schedule, starts the search over. */
void fl__dfs_begin(void);
/* One step: the index among the n runnable tasks (seqs) that the search
 * runs. dflt is the non-preemptive choice (fl__strat_default), last_runs
 * whether the previous step's task is among them (so that any other
 * choice preempts it), preempted the preemptions of the run so far. */
size_t fl__dfs_choose(const uint32_t *seq, size_t n, size_t dflt, bool last_runs,
		      uint64_t preempted);
/* True when the run under way (or just finished) is the search's last
 * schedule within the bound: every schedule has been run once. */
bool fl__dfs_exhausted(void);

#endif
