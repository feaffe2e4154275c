/*
 * schedule.c - schedule files as the command line reads and writes them:
 * a header (seed, target, strategy, faults, rest), the fault firings
 * ("fault POINT EVAL ACTION"), and the steps (a task's spawn path, or a
 * per-run number, " p" when the step preempted a still-runnable task). The sim reads only the steps and
 * "rest" (runtime/src/sched/sim_schedule.c); replay reads the seed,
 * target, plan and firings; explore writes files and shrinking rewrites
 * them (cmd_explore_shrink.c). The format is in docs/explore.md.
 */
#include "cli_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fl__cli_sched_free(fl__cli_sched *s)
{
	for (size_t i = 0; i < s->nfires; i++)
		free((char *)s->fires[i].point);
	free(s->fires);
	for (size_t i = 0; i < s->nsteps; i++)
		free(s->task[i]);
	free(s->task);
	free(s->pre);
	free(s->plan);
	*s = (fl__cli_sched){0};
}

static bool action_of(const char *name, enum fl_fault_action *out)
{
	for (int a = 0; a < FL_FAULT_NACTIONS; a++)
		if (strcmp(fl_fault_action_name((enum fl_fault_action)a), name) == 0) {
			*out = (enum fl_fault_action)a;
			return true;
		}
	return false;
}

bool fl__cli_sched_add_fire(fl__cli_sched *s, const char *point, uint64_t eval,
			    enum fl_fault_action a)
{
	fl_fault_forced *n = realloc(s->fires, (s->nfires + 1) * sizeof(*n));
	if (!n)
		return false;
	s->fires = n;
	char *p = strdup(point);
	if (!p)
		return false;
	s->fires[s->nfires++] = (fl_fault_forced){p, eval, a};
	return true;
}

static bool add_step(fl__cli_sched *s, const char *task, size_t len, bool pre)
{
	if (s->nsteps % 256 == 0) {
		char **t = realloc(s->task, (s->nsteps + 256) * sizeof(*t));
		if (t)
			s->task = t;
		bool *p = realloc(s->pre, (s->nsteps + 256) * sizeof(*p));
		if (p)
			s->pre = p;
		if (!t || !p)
			return false;
	}
	if (!(s->task[s->nsteps] = strndup(task, len)))
		return false;
	s->pre[s->nsteps++] = pre;
	return true;
}

/* A step line: a spawn path ("0.2.1") or a task number, then maybe p. */
static bool step_line(fl__cli_sched *s, const char *line)
{
	size_t len = strspn(line, "0123456789.");
	const char *end = line + len + strspn(line + len, " \t");
	bool pre = *end == 'p';
	end += pre;
	return !end[strspn(end, " \t")] && line[len - 1] != '.' && add_step(s, line, len, pre);
}

/* One line of a schedule file into s; false when it is malformed. */
static bool read_line(fl__cli_sched *s, char *line)
{
	line[strcspn(line, "\r\n")] = '\0';
	char point[512], act[32];
	uint64_t eval;
	if (line[0] >= '0' && line[0] <= '9')
		return step_line(s, line);
	if (strncmp(line, "fault ", 6) == 0) {
		enum fl_fault_action a;
		return sscanf(line + 6, "%511s %" SCNu64 " %31s", point, &eval, act) == 3 &&
		       action_of(act, &a) && eval >= 1 && fl__cli_sched_add_fire(s, point, eval, a);
	}
	if (strncmp(line, "seed ", 5) == 0)
		snprintf(s->seed, sizeof(s->seed), "%.31s", line + 5);
	else if (strncmp(line, "target ", 7) == 0)
		snprintf(s->target, sizeof(s->target), "%.319s", line + 7);
	else if (strncmp(line, "strategy ", 9) == 0)
		snprintf(s->strategy, sizeof(s->strategy), "%.63s", line + 9);
	else if (strncmp(line, "faults ", 7) == 0 && !s->plan)
		return (s->plan = strdup(line + 7)) != NULL;
	else if (strncmp(line, "rest ", 5) == 0)
		return (s->rest_default = strcmp(line + 5, "default") == 0) ||
		       strcmp(line + 5, "first") == 0;
	return true;
}

int fl__cli_sched_read(const char *path, const char *faults_path, fl__cli_sched *s)
{
	*s = (fl__cli_sched){0};
	const char *paths[2] = {path, faults_path};
	for (int k = 0; k < 2 && paths[k]; k++) {
		FILE *f = fopen(paths[k], "r");
		if (!f) {
			fprintf(stderr, "%s: schedule file %s: %s\n", fl__cli_prog, paths[k],
				strerror(errno));
			fl__cli_sched_free(s);
			return EXIT_USAGE;
		}
		char line[4096];
		for (long ln = 1; fgets(line, sizeof(line), f); ln++)
			if (!read_line(s, line)) {
				fprintf(stderr,
					"%s: schedule file %s, line %ld: '%.40s' is not "
					"a step, a fault line or a header line\n",
					fl__cli_prog, paths[k], ln, line);
				fclose(f);
				fl__cli_sched_free(s);
				return EXIT_USAGE;
			}
		fclose(f);
	}
	return 0;
}

size_t fl__cli_sched_preemptions(const fl__cli_sched *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->nsteps; i++)
		n += s->pre[i];
	return n;
}

int fl__cli_sched_write(const char *path, const fl__cli_sched *s)
{
	FILE *out = fopen(path, "w");
	if (!out) {
		fprintf(stderr, "%s: cannot write the schedule file %s: %s\n", fl__cli_prog, path,
			strerror(errno));
		return EXIT_USAGE;
	}
	fprintf(out, "# faultline schedule: the task run at each step by its spawn path (0 the "
		     "root, 0.2 its second child), p a preemption; replay with: faultline replay "
		     "--schedule FILE\n");
	fprintf(out, "seed %s\ntarget %s\nstrategy %s\n", s->seed, s->target,
		s->strategy[0] ? s->strategy : "random");
	if (s->plan)
		fprintf(out, "faults %s\n", s->plan);
	if (s->rest_default)
		fprintf(out, "rest default\n");
	fprintf(out, "steps %zu\npreemptions %zu\n", s->nsteps, fl__cli_sched_preemptions(s));
	for (size_t i = 0; i < s->nfires; i++)
		fprintf(out, "fault %s %" PRIu64 " %s\n", s->fires[i].point, s->fires[i].eval,
			fl_fault_action_name(s->fires[i].action));
	for (size_t i = 0; i < s->nsteps; i++)
		fprintf(out, "%s%s\n", s->task[i], s->pre[i] ? " p" : "");
	if (fclose(out) != 0) {
		fprintf(stderr, "%s: cannot write the schedule file %s\n", fl__cli_prog, path);
		return EXIT_USAGE;
	}
	return 0;
}
