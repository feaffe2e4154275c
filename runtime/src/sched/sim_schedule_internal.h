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

/* Reads the decisions of the schedule file at path: every number on the
 * lines that start with a digit, in order (header lines start with a
 * letter or '#'). *out is owned by the caller (free). Errors: errno errors
 * opening it, FL_ERR_INVAL naming the line of a bad number, FL_ERR_NOMEM. */
FL_MUST_CHECK fl_err *fl__schedfile_load(const char *path, uint32_t **out, size_t *n,
					 bool *rest_default);
/* Records from now on into path (truncated at each run's start); NULL or
 * "": no recording. Errors: errno errors opening it. */
FL_MUST_CHECK fl_err *fl__schedfile_record(const char *path);
/* A new run: the recording starts over. */
void fl__schedfile_begin(void);
/* One step ran task seq. */
void fl__schedfile_step(uint32_t seq, bool preempted);

#endif
