/*
 * cmd_explore_shrink.c - shrinking a failing schedule file (explore
 * --schedule FILE writes FILE, then FILE.min): first the fault firings,
 * then the preemptions, keeping a change only while the same check still
 * fails.
 *
 * Each attempt writes a candidate schedule (with "rest default": past its
 * steps, and where a step's task is not runnable, the run takes the
 * default, non-preemptive choice) and replays it in one forked child
 * (batch.c, the schedule:FILE strategy, the firings forced with
 * fl_fault_force). A failing attempt's run, as the sim and the fault
 * observer recorded it, becomes the current schedule when it is smaller,
 * so the file stays one that replays exactly.
 *
 * Faults: Zeller's ddmin over the list of firings, complements only (drop
 * one of n chunks while the failure persists; n doubles when no chunk can
 * go, down to single firings), which ends 1-minimal: no single firing of
 * what is left can go. Preemptions: at each step marked p, the task the
 * previous step ran (the default choice, as that task was still runnable)
 * in place of the recorded one. Bounded by max_runs attempts and
 * SHRINK_SECONDS, with a progress line on standard error.
 */
#include "cli_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHRINK_SECONDS 120.0

typedef struct shrinker {
	const fl_scenario *s;
	uint64_t seed;
	char try_path[4200], rec[4200], fires[4200];
	char check[256]; /* what the original run failed */
	long runs, max;
	struct timespec t0;
} shrinker;

static bool budget(const shrinker *k)
{
	return k->runs < k->max && fl__cli_since(&k->t0) < SHRINK_SECONDS;
}

/* What a failed attempt failed: its first failed check's name, "hang" or
 * the signal; "" when it passed. */
static void failure_of(const fl__cli_batch_out *b, int status, char *out, size_t cap)
{
	if (b->clean)
		snprintf(out, cap, "%s", "");
	else if (b->hung)
		snprintf(out, cap, "%s", "hang");
	else if (WIFSIGNALED(status))
		snprintf(out, cap, "signal %d", WTERMSIG(status));
	else
		snprintf(out, cap, "%.*s", (int)strcspn(b->checks + 2, ":\n"), b->checks + 2);
}

/* Replays cand once; true when it failed the same check, *out then the
 * run as recorded (owned by the caller). */
static bool attempt(shrinker *k, const fl__cli_sched *cand, fl__cli_sched *out)
{
	k->runs++;
	if (fl__cli_sched_write(k->try_path, cand))
		return false;
	char spec[4300], what[256];
	snprintf(spec, sizeof(spec), "schedule:%s", k->try_path);
	setenv("FAULTLINE_STRATEGY", spec, 1);
	setenv("FAULTLINE_SCHEDULE_OUT", k->rec, 1);
	fl_err *err = cand->plan ? fl_fault_force(cand->fires, cand->nfires) : NULL;
	fl__cli_batch bt = {.s = k->s,
			    .base = k->seed,
			    .from = 0,
			    .to = 1,
			    .explore = true,
			    .plan = cand->plan,
			    .faults_out = k->fires};
	fl__cli_batch_out b;
	int status = 0;
	bool ran = !err && fl__cli_batch_run(&bt, &b, &status) == 0;
	fl_err_drop(err);
	fl_fault_force_clear();
	unsetenv("FAULTLINE_SCHEDULE_OUT");
	if (!ran)
		return false;
	failure_of(&b, status, what, sizeof(what));
	if (!k->check[0])
		snprintf(k->check, sizeof(k->check), "%s", what);
	if (!what[0] || strcmp(what, k->check) != 0 || fl__cli_sched_read(k->rec, k->fires, out))
		return false;
	memcpy(out->seed, cand->seed, sizeof(out->seed));
	memcpy(out->target, cand->target, sizeof(out->target));
	memcpy(out->strategy, cand->strategy, sizeof(out->strategy));
	out->plan = cand->plan ? strdup(cand->plan) : NULL;
	out->rest_default = true;
	return true;
}

static void progress(const shrinker *k, const fl__cli_sched *cur)
{
	fprintf(stderr, "shrink: %ld runs, %.1f s: %zu preemptions, %zu faults\n", k->runs,
		fl__cli_since(&k->t0), fl__cli_sched_preemptions(cur), cur->nfires);
}

/* Takes a smaller failing run in place of *cur. */
static void take(const shrinker *k, fl__cli_sched *cur, fl__cli_sched *next)
{
	fl__cli_sched_free(cur);
	*cur = *next;
	progress(k, cur);
}

/* ddmin over the firings, complements only. */
static void shrink_faults(shrinker *k, fl__cli_sched *cur)
{
	size_t n = 2;
	while (cur->nfires > 0 && budget(k)) {
		size_t len = cur->nfires;
		n = n > len ? len : n;
		bool reduced = false;
		for (size_t c = 0; c < n && !reduced && budget(k); c++) {
			size_t lo = c * len / n, hi = (c + 1) * len / n, m = 0;
			fl__cli_sched cand = *cur, next;
			cand.fires = malloc((len - (hi - lo) + 1) * sizeof(*cand.fires));
			if (!cand.fires)
				return;
			for (size_t i = 0; i < len; i++)
				if (i < lo || i >= hi)
					cand.fires[m++] = cur->fires[i];
			cand.nfires = m;
			bool same = attempt(k, &cand, &next);
			free(cand.fires);
			if (same && next.nfires < len) {
				take(k, cur, &next);
				n = n > 2 ? n - 1 : 2;
				reduced = true;
			} else if (same) {
				fl__cli_sched_free(&next);
			}
		}
		if (!reduced && n >= len)
			break;
		if (!reduced)
			n = 2 * n < len ? 2 * n : len;
	}
}

/* Each preemption in turn replaced by the default choice. */
static void shrink_preemptions(shrinker *k, fl__cli_sched *cur)
{
	for (size_t i = 0; i < cur->nsteps && budget(k); i++) {
		if (!cur->pre[i])
			continue;
		char *was = cur->task[i], root[] = "0";
		bool waspre = cur->pre[i];
		cur->task[i] = i ? cur->task[i - 1] : root;
		cur->pre[i] = false;
		fl__cli_sched next;
		bool same = attempt(k, cur, &next);
		cur->task[i] = was;
		cur->pre[i] = waspre;
		if (same && fl__cli_sched_preemptions(&next) < fl__cli_sched_preemptions(cur))
			take(k, cur, &next);
		else if (same)
			fl__cli_sched_free(&next);
	}
}

int fl__cli_shrink(const fl_scenario *s, const char *path, const char *min_path, long max_runs)
{
	shrinker k = {.s = s, .max = max_runs};
	snprintf(k.try_path, sizeof(k.try_path), "%s.try", min_path);
	snprintf(k.rec, sizeof(k.rec), "%s.rec", min_path);
	snprintf(k.fires, sizeof(k.fires), "%s.fires", min_path);
	clock_gettime(CLOCK_MONOTONIC, &k.t0);
	fl__cli_sched orig, cur;
	int rc = fl__cli_sched_read(path, NULL, &orig);
	if (rc)
		return rc;
	fl__cli_parse_u64(orig.seed, &k.seed);
	orig.rest_default = true;
	size_t p0 = fl__cli_sched_preemptions(&orig), f0 = orig.nfires;
	if (!attempt(&k, &orig, &cur)) {
		printf("shrink: the schedule does not fail when replayed (%s); not shrunk\n",
		       k.check[0] ? k.check : "passed");
	} else {
		shrink_faults(&k, &cur);
		shrink_preemptions(&k, &cur);
		rc = fl__cli_sched_write(min_path, &cur);
		if (!rc)
			printf("shrunk: %s: %zu -> %zu preemptions, %zu -> %zu faults, %zu steps "
			       "(%ld runs, %.2f s%s; replay: %s replay --schedule %s)\n",
			       min_path, p0, fl__cli_sched_preemptions(&cur), f0, cur.nfires,
			       cur.nsteps, k.runs, fl__cli_since(&k.t0),
			       budget(&k) ? "" : ", bound reached", fl__cli_argv0, min_path);
		fl__cli_sched_free(&cur);
	}
	fl__cli_sched_free(&orig);
	unlink(k.try_path);
	unlink(k.rec);
	unlink(k.fires);
	return rc;
}
