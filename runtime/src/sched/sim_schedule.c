/*
 * sim_schedule.c - schedule files: the sequence of tasks a sim run chose,
 * one per step, as text.
 *
 * Problem: a seed replays a run only while the strategy that drew from it
 * (and PCT's learnt step bound) are the same; a schedule file holds the
 * choices themselves. FAULTLINE_SCHEDULE_OUT=path makes the sim write the
 * per-run number of the task it runs at each step, one line each (with
 * " p" when the step preempted a task that was still runnable), the
 * file starting over at every fl_sim_begin so that it holds the last run.
 * The `schedule:PATH` strategy (sim_strategy.c) reads such a file back
 * (the command line adds a header of seed and target; lines that do not
 * start with a digit are skipped, but for "rest default": past the steps,
 * and where a step's task is not runnable, take the default choice
 * silently, which shrinking relies on). Timer ties, select's poll order and
 * fl_rand_u64 still come from the seed, which the file's header carries.
 */
#define _GNU_SOURCE
#include "sim_schedule_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fl_alloc_internal.h"

static FILE *rec;

/* One step line: the task number, then an optional 'p' (the step
 * preempted a still-runnable task; written for shrinking, not read). */
static fl_err *step_line(const char *path, long ln, const char *line, uint32_t *v)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(line, &end, 10);
	bool ok = end != line && !errno && x <= UINT32_MAX;
	end += strspn(end, " \t");
	end += *end == 'p';
	end += strspn(end, " \t\r\n");
	if (!ok || *end)
		return fl_err_wrap(FL_ERR_INVAL,
				   "schedule file '%s', line %ld: '%.20s' is not a task number "
				   "(and an optional p)",
				   path, ln, line);
	*v = (uint32_t)x;
	return NULL;
}

static fl_err *push(uint32_t **a, size_t *len, size_t *cap, uint32_t v)
{
	if (*len == *cap) {
		size_t nc = *cap ? 2 * *cap : 256;
		uint32_t *na = fl__realloc(*a, nc * sizeof(**a));
		if (!na)
			return FL_ERR_NOMEM;
		*a = na, *cap = nc;
	}
	(*a)[(*len)++] = v;
	return NULL;
}

fl_err *fl__schedfile_load(const char *path, uint32_t **out, size_t *n, bool *rest_default)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return fl_err_errno(errno, "schedule file '%s'", path);
	uint32_t *a = NULL;
	size_t len = 0, cap = 0;
	char line[4096];
	fl_err *err = NULL;
	*rest_default = false;
	for (long ln = 1; !err && fgets(line, sizeof(line), f); ln++) {
		if (strncmp(line, "rest ", 5) == 0) {
			*rest_default = strncmp(line + 5, "default", 7) == 0;
			if (!*rest_default && strncmp(line + 5, "first", 5) != 0)
				err = fl_err_wrap(FL_ERR_INVAL,
						  "schedule file '%s', line %ld: rest is "
						  "'default' or 'first'",
						  path, ln);
			continue;
		}
		if (line[0] < '0' || line[0] > '9')
			continue;
		uint32_t v = 0;
		err = step_line(path, ln, line, &v);
		if (!err)
			err = push(&a, &len, &cap, v);
	}
	fclose(f);
	if (err) {
		free(a);
		return err;
	}
	*out = a;
	*n = len;
	return NULL;
}

fl_err *fl__schedfile_record(const char *path)
{
	if (rec)
		fclose(rec);
	rec = NULL;
	if (!path || !*path)
		return NULL;
	rec = fopen(path, "w");
	if (!rec)
		return fl_err_errno(errno, "sim: opening schedule file '%s'", path);
	return NULL;
}

void fl__schedfile_begin(void)
{
	if (!rec)
		return;
	fflush(rec);
	if (ftruncate(fileno(rec), 0) == 0)
		rewind(rec);
}

void fl__schedfile_step(uint32_t seq, bool preempted)
{
	if (rec) {
		fprintf(rec, "%" PRIu32 "%s\n", seq, preempted ? " p" : "");
		fflush(rec); /* a run that crashes still leaves its steps */
	}
}
