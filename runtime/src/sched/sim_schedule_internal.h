/*
 * sim_schedule_internal.h - schedule files (sim_schedule.c): the task the
 * sim ran at each step of a run, written as it runs and read back so that
 * the `schedule:PATH` strategy makes the same choices. Sim thread only.
 */
#ifndef FL_SIM_SCHEDULE_INTERNAL_H
#define FL_SIM_SCHEDULE_INTERNAL_H

#include <fl/err.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A schedule file's decisions: each step's task as the file names it,
 * a spawn path ("0.2.1": the root's second child's first child) or a
 * per-run number, and whether its "rest default" line was there. */
typedef struct fl__schedfile {
	char **step;
	size_t n;
	bool rest_default;
} fl__schedfile;

/* Reads the schedule file at path: the task of every line that starts
 * with a digit, in order (header lines start with a letter or '#'), and
 * "rest". *out is the caller's (fl__schedfile_free). Errors: errno errors
 * opening it, FL_ERR_INVAL naming the line of a bad step, FL_ERR_NOMEM. */
FL_MUST_CHECK fl_err *fl__schedfile_load(const char *path, fl__schedfile **out);
void fl__schedfile_free(fl__schedfile *f);
/* Whether the task f names at step is among the runnable seq[0..n): then
 * *at is its index. */
bool fl__schedfile_find(const fl__schedfile *f, size_t step, const uint32_t *seq, size_t n,
			size_t *at);
/* Task seq was spawned by task parent (UINT32_MAX: outside any task), for
 * the spawn paths. False: out of memory. */
bool fl__schedfile_spawned(uint32_t parent, uint32_t seq);
/* Records from now on into path (truncated at each run's start); NULL or
 * "": no recording. Errors: errno errors opening it. */
FL_MUST_CHECK fl_err *fl__schedfile_record(const char *path);
/* A new run: the recording and the spawn tree start over. */
void fl__schedfile_begin(void);
/* One step ran task seq. */
void fl__schedfile_step(uint32_t seq, bool preempted);

#endif
