/*
 * sim_schedule.c - schedule files: the sequence of tasks a sim run chose,
 * one per step, as text, each task named by its spawn path.
 *
 * Problem: a seed replays a run only while the strategy that drew from it
 * (and PCT's learnt step bound) are the same; a schedule file holds the
 * choices themselves. FAULTLINE_SCHEDULE_OUT=path makes the sim write the
 * task it runs at each step, one line each (with " p" when the step
 * preempted a task that was still runnable), the file starting over at
 * every fl_sim_begin so that it holds the last run. The `schedule:PATH`
 * strategy (sim_strategy.c) reads such a file back (the command line adds
 * a header of seed and target; lines that do not start with a digit are
 * skipped, but for "rest default": past the steps, and where a step's task
 * is not runnable, take the default choice silently, which shrinking
 * relies on). Timer ties, select's poll order and fl_rand_u64 still come
 * from the seed, which the file's header carries.
 *
 * Names: a per-run task number depends on every spawn before it, so one
 * extra spawn anywhere renumbers the rest. A task is named instead by its
 * spawn path: "0" the root, "0.2" the root's second child, "0.2.1" that
 * one's first child. A step written as a plain number (the files of
 * before, or FAULTLINE_SCHEDULE_NAMES=number when recording) names the
 * per-run number.
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

#define MAX_DEPTH 64 /* deeper paths are written as per-run numbers */

static FILE *rec;
static bool numbers; /* FAULTLINE_SCHEDULE_NAMES=number: write per-run numbers */

/* The spawn tree of the run under way, by task number. */
static struct {
	uint32_t *parent, *index, *kids;
	size_t cap;
} T;

static bool tree_reserve(uint32_t seq)
{
	if (seq < T.cap)
		return true;
	size_t n = T.cap ? T.cap : 64;
	while (n <= seq)
		n *= 2;
	uint32_t *a[3] = {T.parent, T.index, T.kids};
	for (int i = 0; i < 3; i++) {
		uint32_t *g = fl__realloc(a[i], n * sizeof(*g));
		if (!g) {
			T.parent = a[0], T.index = a[1], T.kids = a[2];
			return false;
		}
		memset(g + T.cap, 0, (n - T.cap) * sizeof(*g));
		a[i] = g;
	}
	T.parent = a[0], T.index = a[1], T.kids = a[2];
	T.cap = n;
	return true;
}

bool fl__schedfile_spawned(uint32_t parent, uint32_t seq)
{
	if (!tree_reserve(seq) || !tree_reserve(0))
		return false;
	if (parent >= T.cap || parent >= seq)
		parent = 0; /* spawned from outside a task: the root's */
	T.parent[seq] = parent;
	T.index[seq] = ++T.kids[parent];
	T.kids[seq] = 0;
	return true;
}

/* seq's spawn path ("0.2.1") into buf. */
static void path_of(uint32_t seq, char *buf, size_t cap)
{
	uint32_t chain[MAX_DEPTH];
	int d = 0;
	for (uint32_t s = seq; s != 0 && s < T.cap && d < MAX_DEPTH; s = T.parent[s])
		chain[d++] = T.index[s];
	if (seq != 0 && (seq >= T.cap || d == MAX_DEPTH)) {
		snprintf(buf, cap, "%" PRIu32, seq);
		return;
	}
	size_t len = (size_t)snprintf(buf, cap, "0");
	while (d > 0 && len < cap)
		len += (size_t)snprintf(buf + len, cap - len, ".%" PRIu32, chain[--d]);
}

bool fl__schedfile_find(const fl__schedfile *f, size_t step, const uint32_t *seq, size_t n,
			size_t *at)
{
	const char *want = f->step[step];
	char path[MAX_DEPTH * 11 + 2];
	bool dotted = strchr(want, '.') != NULL;
	for (size_t i = 0; i < n; i++) {
		if (dotted)
			path_of(seq[i], path, sizeof(path));
		else
			snprintf(path, sizeof(path), "%" PRIu32, seq[i]);
		if (strcmp(path, want) == 0) {
			*at = i;
			return true;
		}
	}
	return false;
}

void fl__schedfile_free(fl__schedfile *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		free(f->step[i]);
	free(f->step);
	free(f);
}

/* One step line: the task (a spawn path or a number), then an optional
 * 'p' (the step preempted a still-runnable task; written, not read). */
static fl_err *step_line(const char *path, long ln, const char *line, char **out)
{
	size_t len = strspn(line, "0123456789.");
	const char *end = line + len;
	end += strspn(end, " \t");
	end += *end == 'p';
	end += strspn(end, " \t\r\n");
	const char *dots = strstr(line, "..");
	if (*end || line[len - 1] == '.' || (dots && dots < line + len))
		return fl_err_wrap(FL_ERR_INVAL,
				   "schedule file '%s', line %ld: '%.20s' is not a task (a spawn "
				   "path such as 0.2.1, or a number) and an optional p",
				   path, ln, line);
	*out = strndup(line, len);
	return *out ? NULL : FL_ERR_NOMEM;
}

static fl_err *push(fl__schedfile *f, size_t *cap, char *step)
{
	if (f->n == *cap) {
		size_t nc = *cap ? 2 * *cap : 256;
		char **na = fl__realloc(f->step, nc * sizeof(*na));
		if (!na) {
			free(step);
			return FL_ERR_NOMEM;
		}
		f->step = na, *cap = nc;
	}
	f->step[f->n++] = step;
	return NULL;
}

/* A "rest" header line. */
static fl_err *rest_line(const char *path, long ln, const char *line, fl__schedfile *f)
{
	f->rest_default = strncmp(line + 5, "default", 7) == 0;
	if (f->rest_default || strncmp(line + 5, "first", 5) == 0)
		return NULL;
	return fl_err_wrap(FL_ERR_INVAL,
			   "schedule file '%s', line %ld: rest is 'default' or 'first'", path, ln);
}

fl_err *fl__schedfile_load(const char *path, fl__schedfile **out)
{
	FILE *in = fopen(path, "r");
	if (!in)
		return fl_err_errno(errno, "schedule file '%s'", path);
	fl__schedfile *f = fl__calloc(1, sizeof(*f));
	size_t cap = 0;
	char line[4096];
	fl_err *err = f ? NULL : FL_ERR_NOMEM;
	for (long ln = 1; !err && fgets(line, sizeof(line), in); ln++) {
		char *step = NULL;
		if (strncmp(line, "rest ", 5) == 0)
			err = rest_line(path, ln, line, f);
		else if (line[0] >= '0' && line[0] <= '9' &&
			 !(err = step_line(path, ln, line, &step)))
			err = push(f, &cap, step);
	}
	fclose(in);
	if (err) {
		fl__schedfile_free(f);
		return err;
	}
	*out = f;
	return NULL;
}

fl_err *fl__schedfile_record(const char *path)
{
	if (rec)
		fclose(rec);
	rec = NULL;
	if (!path || !*path)
		return NULL;
	const char *names = getenv("FAULTLINE_SCHEDULE_NAMES");
	numbers = names && strcmp(names, "number") == 0;
	rec = fopen(path, "w");
	if (!rec)
		return fl_err_errno(errno, "sim: opening schedule file '%s'", path);
	return NULL;
}

void fl__schedfile_begin(void)
{
	if (T.cap)
		T.kids[0] = 0;
	if (!rec)
		return;
	fflush(rec);
	if (ftruncate(fileno(rec), 0) == 0)
		rewind(rec);
}

void fl__schedfile_step(uint32_t seq, bool preempted)
{
	if (rec) {
		char path[MAX_DEPTH * 11 + 2];
		if (numbers)
			snprintf(path, sizeof(path), "%" PRIu32, seq);
		else
			path_of(seq, path, sizeof(path));
		fprintf(rec, "%s%s\n", path, preempted ? " p" : "");
		fflush(rec); /* a run that crashes still leaves its steps */
	}
}
