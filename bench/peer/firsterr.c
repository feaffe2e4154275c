/*
 * firsterr.c - W6 first-error (Go: firsterr.go).
 *
 * One repetition: a group with no limit on the background context and 64
 * tasks started in index order. Task 0 does a plain 1 ms sleep, builds
 * "task 0: sentinel failure" (fl_err_wrap of flb_err_sentinel, the %w of
 * fmt.Errorf), stamps fail_ns and returns it. Tasks 1..63 block in
 * fl_ctx_wait (<-ctx.Done()) and return ctx.Err(). The sample is, after
 * fl_group_wait, now - fail_ns: cancelling, waking 63 blocked tasks and
 * their exit. Check: the error matches the sentinel (fl_err_is), so wait
 * returned the first error, not the cancellation.
 *
 * One difference from errgroup: Go's g.Go always starts the task, even after
 * ctx is cancelled, and such a task returns ctx.Err() at once. fl_group_go
 * refuses to start anything once the group is cancelled. If task 0 fails
 * before main has started all 64 (a slow spawn path), the rest are not
 * started, which is what Go's late tasks amount to; the extra metric
 * `late_tasks` (median per rep) counts them, so a reader can tell.
 */
#include "peer_internal.h"

#include <stdlib.h>

static FL_ERR_SENTINEL(flb_err_sentinel, "sentinel failure");

struct first_cfg {
	int64_t reps, warm, tasks, fail_after_ns;
	int64_t fail_ns; /* per repetition, written by task 0 */
};

static fl_err *failing_task(fl_ctx *ctx, void *arg)
{
	struct first_cfg *c = arg;
	fl_sleep_until(NULL, fl_deadline_in(c->fail_after_ns));
	fl_err *err = fl_err_wrap(flb_err_sentinel, "task 0"); /* built before stamping */
	c->fail_ns = flb_clock_ns();
	return err;
}

static fl_err *waiting_task(fl_ctx *ctx, void *arg)
{
	fl_ctx_wait(ctx, FL_FOREVER);
	return flb_ctx_err(ctx);
}

/* Starts tasks 1..tasks-1; returns how many were refused as too late. */
static int64_t start_waiters(fl_group *g, int64_t tasks)
{
	for (int64_t i = 1; i < tasks; i++) {
		fl_err *err = fl_group_go(g, waiting_task, NULL);
		if (err) {
			flb_must(fl_err_is(err, FL_ERR_CANCELED), "first-error: go failed: %s",
				 fl_err_msg(err));
			fl_err_drop(err);
			return tasks - i;
		}
	}
	return 0;
}

static int64_t first_rep(struct first_cfg *c, int64_t *late)
{
	fl_group *g;
	fl_ctx *ctx;
	flb_must_ok(fl_group_new(fl_ctx_background(), NULL, &g, &ctx), "fl_group_new");
	flb_go(g, failing_task, c);
	*late = start_waiters(g, c->tasks);
	fl_err *err = fl_group_wait(g);
	int64_t d = flb_clock_ns() - c->fail_ns;
	flb_must(fl_err_is(err, flb_err_sentinel), "first-error: wait returned %s",
		 err ? fl_err_msg(err) : "nil");
	fl_err_drop(err);
	fl_group_free(g);
	return d;
}

static void first_run(void *arg, struct flb_metrics *m)
{
	struct first_cfg *c = arg;
	int64_t *lat = calloc((size_t)c->reps, sizeof *lat);
	double *lates = calloc((size_t)c->reps, sizeof *lates);
	int64_t start = 0, late;
	flb_must(lat && lates, "first-error: out of memory");
	for (int64_t r = 0; r < c->warm + c->reps; r++) {
		if (r == c->warm)
			start = flb_clock_ns();
		int64_t d = first_rep(c, &late);
		if (r >= c->warm) {
			lat[r - c->warm] = d;
			lates[r - c->warm] = (double)late;
		}
	}
	int64_t wall = flb_clock_ns() - start;
	flb_metrics_timing(m, c->reps, wall);
	flb_metrics_percentiles(m, lat, (size_t)c->reps);
	flb_metrics_set(m, "late_tasks", flb_median(lates, (size_t)c->reps));
	free(lat);
	free(lates);
}

int flb_cmd_first_error(int argc, char **argv)
{
	int64_t reps = 1000, warm = 10, tasks = 64, fail_after = FL_MS(1);
	struct flb_flag flags[] = {
		{"reps", NULL, FLB_INT, &reps, "groups per run [1000]"},
		{"warm-reps", NULL, FLB_INT, &warm, "discarded reps per run [10]"},
		{"tasks", NULL, FLB_INT, &tasks, "tasks per group (one fails) [64]"},
		{"fail-after", "fail_after", FLB_DUR, &fail_after,
		 "delay before the failing task returns [1ms]"},
	};
	int runs = flb_setup("first-error", flags, 4, argc, argv, 3);
	flb_must(reps > 0 && tasks > 0, "first-error: -reps and -tasks must be > 0");
	struct first_cfg c = {.reps = reps,
			      .warm = warm,
			      .tasks = tasks,
			      .fail_after_ns = fail_after};
	struct flb_bench b = {.workload = "first-error",
			      .ops = reps,
			      .runs = runs,
			      .run = first_run,
			      .arg = &c};
	flb_json_int(&b.params, "reps", reps);
	flb_json_int(&b.params, "tasks", tasks);
	flb_json_num(&b.params, "fail_after_ms", flb_ms(fail_after));
	flb_json_str(&b.params, "percentiles_of", "error_return_to_wait_ns");
	flb_measure(&b);
	return 0;
}
