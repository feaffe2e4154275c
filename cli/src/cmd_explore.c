/*
 * cmd_explore.c - `faultline explore TARGET --strategy random|pct|pos|dfs
 * [--depth D|auto] [--steps K] [--preemptions P] --runs N [--seed S]
 * [--keep-going]`: N schedules
 * of one scenario on the sim backend, run i with seed S+i under the
 * strategy (docs/explore.md), until the first failing check.
 *
 * The runs go in batches of forked children as stress's do (batch.c); the
 * strategy reaches them in FAULTLINE_STRATEGY. PCT learns its step bound k
 * from earlier runs: within a child the sim keeps the most steps seen, and
 * each new batch starts from the most steps any run took so far (pct:D:K),
 * so a run's k depends only on the runs before it. Each run reports its
 * trace hash (distinct hashes are distinct schedules), its steps, tasks and
 * the spec with the k it drew from, which the replay line passes back.
 * --keep-going runs all N and reports the share that failed (the
 * measurement of scripts/explore-table.sh). --schedule FILE writes the
 * failing run's schedule file (sim_schedule.c) for `replay --schedule`.
 *
 * dfs (sim_dfs.c) keeps its search in the process that runs it, so explore
 * runs all its runs in one child, every run with seed S; the child stops
 * when the search is exhausted (the last H line says so). The child
 * records each run's steps (FAULTLINE_SCHEDULE_OUT), so that the failing
 * run's schedule file is written without running it again; its replay
 * line is `replay --schedule FILE` (--schedule, or a new file in TMPDIR).
 */
#include "cli_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct explore_state {
	uint64_t *set; /* distinct trace hashes, open addressing, 0 = empty */
	size_t cap, distinct;
	bool zero_seen;
	uint64_t max_steps, max_tasks, max_pre;
	long runs, hits, first; /* first: the first failing run, from 1; 0: none */
	bool exhausted;         /* dfs ran its last schedule */
	char strat[64];         /* the last run's spec */
	char fail_strat[64];    /* the first failing run's */
} explore_state;

static void set_add(explore_state *e, uint64_t h)
{
	if (h == 0) {
		e->distinct += !e->zero_seen;
		e->zero_seen = true;
		return;
	}
	if (2 * (e->distinct + 1) > e->cap) {
		size_t ncap = e->cap ? 2 * e->cap : 1024;
		uint64_t *n = calloc(ncap, sizeof(*n));
		if (!n)
			return; /* counted no further: the number is a floor */
		for (size_t i = 0; i < e->cap; i++)
			for (size_t j = e->set[i] % ncap; e->set[i]; j = (j + 1) % ncap)
				if (!n[j]) {
					n[j] = e->set[i];
					break;
				}
		free(e->set);
		e->set = n;
		e->cap = ncap;
	}
	for (size_t j = h % e->cap;; j = (j + 1) % e->cap) {
		if (e->set[j] == h)
			return;
		if (!e->set[j]) {
			e->set[j] = h;
			e->distinct++;
			return;
		}
	}
}

/* One "H index hash steps tasks failed strategy preemptions last" line
 * from a child. */
static void on_run(void *arg, const char *line)
{
	explore_state *e = arg;
	long i;
	uint64_t h, steps, tasks, pre;
	int failed, last;
	char strat[64];
	if (sscanf(line, "%ld %" SCNu64 " %" SCNu64 " %" SCNu64 " %d %63s %" SCNu64 " %d", &i, &h,
		   &steps, &tasks, &failed, strat, &pre, &last) != 8)
		return;
	e->max_pre = pre > e->max_pre ? pre : e->max_pre;
	e->exhausted = last != 0;
	set_add(e, h);
	e->runs++;
	e->max_steps = steps > e->max_steps ? steps : e->max_steps;
	e->max_tasks = tasks > e->max_tasks ? tasks : e->max_tasks;
	snprintf(e->strat, sizeof(e->strat), "%s", strat);
	if (failed && !e->hits++) {
		snprintf(e->fail_strat, sizeof(e->fail_strat), "%s", strat);
		e->first = i + 1;
	}
}

/* FAULTLINE_STRATEGY for the next batch: PCT starts from the most steps
 * seen so far (and at least --steps). */
static void batch_strategy(const fl__cli_opts *o, const explore_state *e)
{
	char spec[64];
	fl__cli_strategy_spec(o, spec, sizeof(spec));
	if (strncmp(spec, "pct:auto", 8) == 0) {
		uint64_t k = o->steps > e->max_steps ? o->steps : e->max_steps;
		snprintf(spec, sizeof(spec), "pct:auto:3:%" PRIu64, k);
	} else if (strncmp(spec, "pct", 3) == 0) {
		uint64_t k = o->steps > e->max_steps ? o->steps : e->max_steps;
		snprintf(spec, sizeof(spec), "pct:%d:%" PRIu64, o->depth ? o->depth : 3, k);
	}
	setenv("FAULTLINE_STRATEGY", spec, 1);
}

/* FILE = a header (seed, target, strategy, steps) and the steps the sim
 * recorded in the file steps, which it removes. Returns 0 or EXIT_USAGE. */
static int emit_schedule(const char *steps, const char *path, const char *spec, uint64_t seed,
			 const char *strat)
{
	FILE *in = fopen(steps, "r"), *out = in ? fopen(path, "w") : NULL;
	if (out) {
		long n = 0;
		char line[64];
		fprintf(out, "# faultline schedule: the task (per-run number, 0 the root) run at "
			     "each step; replay with: faultline replay --schedule FILE\n");
		fprintf(out, "seed %" PRIu64 "\ntarget %s\nstrategy %s\n", seed, spec, strat);
		while (fgets(line, sizeof(line), in))
			n++;
		fprintf(out, "steps %ld\n", n);
		rewind(in);
		while (fgets(line, sizeof(line), in))
			fputs(line, out);
	}
	if (in)
		fclose(in);
	unlink(steps);
	if (!out || fclose(out) != 0) {
		fprintf(stderr, "%s explore: cannot write the schedule file %s\n", fl__cli_prog,
			path);
		return EXIT_USAGE;
	}
	printf("schedule: %s (replay: %s replay --schedule %s)\n", path, fl__cli_argv0, path);
	return 0;
}

/* --schedule FILE: the failing run (index i) once more in a child that
 * records its steps (FAULTLINE_SCHEDULE_OUT), then the file. */
static int write_schedule(const fl_scenario *s, const char *spec, const char *path, uint64_t base,
			  long i, const char *strat)
{
	char steps[4200];
	snprintf(steps, sizeof(steps), "%s.steps", path);
	setenv("FAULTLINE_STRATEGY", strat, 1);
	setenv("FAULTLINE_SCHEDULE_OUT", steps, 1);
	fl__cli_batch bt =
		{.s = s, .base = base, .from = i, .to = i + 1, .explore = true, .keep_going = true};
	fl__cli_batch_out b;
	int status, rc = fl__cli_batch_run(&bt, &b, &status);
	unsetenv("FAULTLINE_SCHEDULE_OUT");
	if (rc) {
		unlink(steps);
		return rc;
	}
	return emit_schedule(steps, path, spec, base + (uint64_t)i, strat);
}

/* dfs's failing run replays from its schedule file: the child recorded
 * every run's steps into dfs_path.steps (the last run's remain). */
static int report_failure(const fl_scenario *s, const char *spec, const fl__cli_opts *o,
			  uint64_t base, const fl__cli_batch_out *b, int status,
			  const explore_state *e, const char *dfs_path)
{
	const char *strat = e->fail_strat[0] ? e->fail_strat : e->strat;
	printf("explore %s: run %ld FAILED (seed %" PRIu64 ", strategy %s)\n", s->name, b->last + 1,
	       b->seed, strat);
	if (WIFSIGNALED(status))
		printf("  crashed: signal %d (%s)\n", WTERMSIG(status),
		       strsignal(WTERMSIG(status)));
	fputs(b->checks, stdout);
	char replay[1700];
	fl__cli_replay_line(replay, sizeof(replay), spec, "sim", b->seed, NULL, strat);
	if (!dfs_path)
		printf("replay: %s\n", replay);
	int rc = 0;
	if (dfs_path) {
		char steps[4200];
		snprintf(steps, sizeof(steps), "%s.steps", dfs_path);
		rc = emit_schedule(steps, dfs_path, spec, b->seed, strat);
		if (!rc)
			printf("replay: %s replay --schedule %s\n", fl__cli_argv0, dfs_path);
	} else if (o->schedule) {
		rc = write_schedule(s, spec, o->schedule, base, b->last, strat);
	}
	if (rc)
		return EXIT_USAGE;
	bool hang = b->hung || (WIFEXITED(status) && WEXITSTATUS(status) == 3);
	return hang ? EXIT_HANG : EXIT_CHECK_FAILED;
}

static void summary(const fl_scenario *s, const fl__cli_opts *o, const explore_state *e, double el)
{
	char spec[64];
	fl__cli_strategy_spec(o, spec, sizeof(spec));
	printf("explore %s: %ld runs in %.2f s (%.0f runs/s), %zu distinct schedules, "
	       "%ld failing (%.4f%%), n = %" PRIu64 " tasks, k = %" PRIu64
	       " steps, at most %" PRIu64 " preemptions a run\n",
	       s->name, e->runs, el, el > 0 ? (double)e->runs / el : 0.0, e->distinct, e->hits,
	       e->runs ? 100.0 * (double)e->hits / (double)e->runs : 0.0, e->max_tasks,
	       e->max_steps, e->max_pre);
	if (e->exhausted)
		printf("explore %s: space exhausted after %ld runs (%s preemptions)\n", s->name,
		       e->runs, spec + 4);
	if (o->keep_going)
		printf("result: target=%s strategy=%s runs=%ld hits=%ld distinct=%zu n=%" PRIu64
		       " k=%" PRIu64 " preemptions=%" PRIu64 " exhausted=%d first=%ld\n",
		       s->name, spec, e->runs, e->hits, e->distinct, e->max_tasks, e->max_steps,
		       e->max_pre, e->exhausted, e->first);
}

/* dfs: where the failing run's schedule goes (--schedule FILE, else a new
 * file in TMPDIR), and the child's recording of each run's steps beside
 * it (FAULTLINE_SCHEDULE_OUT). False after printing why. */
static bool dfs_record(const fl_scenario *s, const fl__cli_opts *o, char *path, size_t cap)
{
	if (o->schedule) {
		snprintf(path, cap, "%s", o->schedule);
	} else {
		const char *dir = getenv("TMPDIR");
		snprintf(path, cap, "%s/faultline-%s-XXXXXX", dir && *dir ? dir : "/tmp", s->name);
		int fd = mkstemp(path);
		if (fd < 0) {
			fprintf(stderr, "%s explore: cannot create %s: %s\n", fl__cli_prog, path,
				strerror(errno));
			return false;
		}
		close(fd);
	}
	char steps[4200];
	snprintf(steps, sizeof(steps), "%s.steps", path);
	setenv("FAULTLINE_SCHEDULE_OUT", steps, 1);
	return true;
}

static void dfs_unrecord(const fl__cli_opts *o, const char *path, bool keep)
{
	char steps[4200];
	snprintf(steps, sizeof(steps), "%s.steps", path);
	unsetenv("FAULTLINE_SCHEDULE_OUT");
	unlink(steps);
	if (!keep && !o->schedule)
		unlink(path);
}

static int explore_one(const fl_scenario *s, const char *spec, const fl__cli_opts *o, uint64_t base)
{
	long n = o->runs ? o->runs : 1000, batch = o->batch > 0 ? o->batch : 500;
	explore_state e = {0};
	char strat[64], dfs_path[4096];
	fl__cli_strategy_spec(o, strat, sizeof(strat));
	bool dfs = strncmp(strat, "dfs", 3) == 0;
	printf("explore %s: strategy %s, %ld runs from seed %" PRIu64 "%s\n", s->name, strat, n,
	       base, dfs ? " (the same seed for every run)" : "");
	if (dfs && !dfs_record(s, o, dfs_path, sizeof(dfs_path)))
		return EXIT_USAGE;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = EXIT_PASS;
	for (long done = 0; done < n && rc == EXIT_PASS && !e.exhausted;) {
		/* dfs's search lives in one process: one child runs it all. */
		long to = dfs || done + batch >= n ? n : done + batch;
		batch_strategy(o, &e);
		fl__cli_batch bt = {.s = s,
				    .base = base,
				    .from = done,
				    .to = to,
				    .explore = true,
				    .same_seed = dfs,
				    .keep_going = o->keep_going,
				    .on_run = on_run,
				    .arg = &e};
		fl__cli_batch_out b;
		int status;
		if (fl__cli_batch_run(&bt, &b, &status))
			rc = EXIT_USAGE;
		else if (!b.clean)
			rc = report_failure(s, spec, o, base, &b, status, &e,
					    dfs ? dfs_path : NULL);
		done = to;
	}
	if (dfs)
		dfs_unrecord(o, dfs_path, rc == EXIT_CHECK_FAILED || rc == EXIT_HANG);
	summary(s, o, &e, fl__cli_since(&t0));
	free(e.set);
	if (rc == EXIT_PASS && e.hits)
		rc = EXIT_CHECK_FAILED;
	return rc;
}

int fl__cli_explore(int argc, char **argv)
{
	fl__cli_opts o = {0};
	fl__cli_targets t = {0};
	int rc = fl__cli_parse(argc, argv, &o, &t, "explore");
	if (!rc && t.n != 1) {
		fprintf(stderr, "%s explore: name exactly one scenario\n", fl__cli_prog);
		rc = EXIT_USAGE;
	}
	if (!rc && o.faults) {
		fprintf(stderr, "%s explore: explore varies the schedule only; no --faults\n",
			fl__cli_prog);
		rc = EXIT_USAGE;
	}
	if (!rc && o.backend && strcmp(o.backend, "sim") != 0) {
		fprintf(stderr, "%s explore: the strategies run on the sim backend only\n",
			fl__cli_prog);
		rc = EXIT_USAGE;
	}
	if (!rc)
		rc = fl__cli_backend("sim", false);
	if (!rc)
		rc = explore_one(t.s[0], t.spec[0], &o,
				 o.seed_set ? o.seed : fl__cli_random_seed());
	fl__cli_targets_free(&t);
	return rc;
}
