/*
 * sim_strategy_internal.h - which runnable task the sim backend runs next
 * (sim_strategy.c): random (the default), PCT with a depth, or POS. Sim
 * thread only; sim.c calls in at spawn, when a task becomes runnable and
 * at each scheduling step.
 */
#ifndef FL_SIM_STRATEGY_INTERNAL_H
#define FL_SIM_STRATEGY_INTERNAL_H

#include <fl/err.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum fl__strat_kind {
	FL__STRAT_RANDOM,
	FL__STRAT_PCT,
	FL__STRAT_POS,
	FL__STRAT_FILE,
	FL__STRAT_DFS
};

/* A strategy as text names it: "random", "pos", "pct", "pct:D" or
 * "pct:D:K" (depth D >= 1, default 3; K the step bound to start from,
 * default 0: learned from earlier runs), "pct:auto[:DMAX[:K]]" (depth
 * 1 + seed mod DMAX, default 3), "dfs" or "dfs:P" (sim_dfs.c: at most P
 * preemptions, default 2), or "schedule:PATH" (the decisions of a
 * schedule file, sim_schedule.c, read into sched). */
typedef struct fl__strat_spec {
	int kind;
	int depth; /* pct: D; dfs: P */
	int autod; /* pct:auto: DMAX; 0 otherwise */
	uint64_t steps;
	uint32_t *sched; /* schedule:PATH: owned until fl__strat_set takes it */
	size_t nsched;
} fl__strat_spec;

/* Parses text into *out. Errors: FL_ERR_INVAL naming the bad field. */
FL_MUST_CHECK fl_err *fl__strat_parse(const char *text, fl__strat_spec *out);
/* Writes spec as text ("pct:2:57"), NUL-terminated, truncated to cap. */
void fl__strat_format(const fl__strat_spec *spec, char *buf, size_t cap);
/* The strategy for runs begun from now on (fl__strat_begin); takes
 * spec->sched. */
void fl__strat_set(const fl__strat_spec *spec);
/* A new run: learns the step bound from the runs before (the most steps
 * seen), draws PCT's change points and the root's priority from seed. */
void fl__strat_begin(uint64_t seed);
/* The strategy of the run under way, with the step bound it drew from. */
void fl__strat_current(fl__strat_spec *out);
/* Task seq was spawned (PCT: its priority). False: out of memory. */
bool fl__strat_spawned(uint32_t seq);
/* Task seq became runnable (POS: a fresh priority). */
void fl__strat_ready(uint32_t seq);
/* One step: which of the n runnable tasks (their seqs) runs; pick(n)
 * draws uniformly from the backend's generator (random uses it alone, so
 * its runs are the same as before strategies existed). n >= 1. */
size_t fl__strat_choose(const uint32_t *seq, size_t n, uint64_t (*pick)(uint64_t));
/* The non-preemptive choice among the n runnable tasks: the task the
 * previous step ran when it is still runnable, else the lowest seq. What
 * a schedule that says nothing more runs, and what dfs and shrinking count
 * preemptions against. n >= 1. */
size_t fl__strat_default(const uint32_t *seq, size_t n);
/* dfs: the run under way (or just finished) is the last schedule within
 * the bound. False under other strategies. */
bool fl__strat_exhausted(void);
/* Preemptions in the run so far: steps that ran another task than the
 * previous step's while that one was still runnable. */
uint64_t fl__strat_preemptions(void);
/* Steps (choices) in the run so far. */
uint64_t fl__strat_steps(void);
/* Tasks spawned in the run so far, plus the root. */
uint64_t fl__strat_tasks(void);

#endif
