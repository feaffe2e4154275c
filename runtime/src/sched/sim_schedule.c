/*
 * sim_schedule.c - schedule files: the sequence of tasks a sim run chose,
 * one per step, as text.
 *
 * Problem: a seed replays a run only while the strategy that drew from it
 * (and PCT's learnt step bound) are the same; a schedule file holds the
 * choices themselves. FAULTLINE_SCHEDULE_OUT=path makes the sim write the
 * per-run number of the task it runs at each step, one line each, the
 * file starting over at every fl_sim_begin so that it holds the last run.
 * The `schedule:PATH` strategy (sim_strategy.c) reads such a file back
 * (the command line adds a header of seed and target; lines that do not
 * start with a digit are skipped). Timer ties, select's poll order and
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

fl_err *fl__schedfile_load(const char *path, uint32_t **out, size_t *n)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return fl_err_errno(errno, "schedule file '%s'", path);
	uint32_t *a = NULL;
	size_t len = 0, cap = 0;
	char line[4096];
	fl_err *err = NULL;
	for (long ln = 1; !err && fgets(line, sizeof(line), f); ln++) {
		if (line[0] < '0' || line[0] > '9')
			continue;
		for (char *p = line, *end; !err && *p && *p != '\n'; p = end) {
			errno = 0;
			unsigned long v = strtoul(p, &end, 10);
			if (end == p || errno || v > UINT32_MAX) {
				err = fl_err_wrap(FL_ERR_INVAL,
						  "schedule file '%s', line %ld: '%.20s' is not a "
						  "task number",
						  path, ln, p);
				break;
			}
			if (len == cap) {
				size_t nc = cap ? 2 * cap : 256;
				uint32_t *na = fl__realloc(a, nc * sizeof(*a));
				if (!na) {
					err = FL_ERR_NOMEM;
					break;
				}
				a = na, cap = nc;
			}
			a[len++] = (uint32_t)v;
			while (*end == ' ' || *end == '\t')
				end++;
		}
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

void fl__schedfile_step(uint32_t seq)
{
	if (rec) {
		fprintf(rec, "%" PRIu32 "\n", seq);
		fflush(rec); /* a run that crashes still leaves its steps */
	}
}
