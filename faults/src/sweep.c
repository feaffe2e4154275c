/*
 * sweep.c - SQLite-style Nth-hit failure sweeps.
 *
 * Problem: a pipeline's error paths are only trustworthy if every one of
 * them has run. SQLite's malloc tests fail the 1st, 2nd, ... allocation
 * until a run completes without reaching the Nth; a sweep does the same for
 * any point and action: run n arms "<point>=@n <action>", scoped to a fresh
 * context so that other tests in the process are untouched.
 *
 * Each run is independent: its own context, plan and accounting. The sweep
 * stops after the first run in which the fault did not fire - the run saw
 * fewer than n evaluations, or the action does not apply at the point's
 * kind of site - and reports that run too.
 */
#include "fault_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fl_alloc_internal.h"

#define SWEEP_MAX 1000000

struct totals {
	uint64_t evals, fires;
};

static void add_point(const fl_fault_point_stats *st, void *arg)
{
	struct totals *t = arg;
	t->evals += st->evals;
	t->fires += st->fires_total;
}

/* Runs the scenario once with the nth evaluation failing. */
static fl_err *sweep_run(const char *text, fl_fault_run_fn run, void *arg,
			 fl_fault_sweep_result *res, fl_err **run_err)
{
	fl_ctx *ctx;
	fl_err *e = fl_ctx_with_cancel(fl_ctx_background(), &ctx);
	if (e)
		return e;
	fl_fault_plan *p;
	e = fl_fault_arm_scoped(text, 0, ctx, &p);
	if (e) {
		fl_ctx_free(ctx);
		return e;
	}
	*run_err = run(ctx, arg);
	struct totals t = {0, 0};
	fl_fault_stats_foreach(p, add_point, &t);
	fl_fault_plan_free(p);
	fl_ctx_free(ctx);
	res->err = *run_err;
	res->fired = t.fires > 0;
	res->evals = t.evals;
	return NULL;
}

fl_err *fl_fault_sweep(const char *point, const char *action, fl_fault_run_fn run,
		       void (*report)(const fl_fault_sweep_result *r, void *arg), void *arg)
{
	if (!point || !action || !run)
		return fl_err_wrap(FL_ERR_INVAL, "fl_fault_sweep: NULL argument");
	size_t cap = strlen(point) + strlen(action) + 32;
	char *text = fl__malloc(cap);
	if (!text)
		return FL_ERR_NOMEM;
	fl_err *e = NULL;
	for (uint64_t n = 1; !e; n++) {
		if (n > SWEEP_MAX) {
			e = fl_err_wrap(FL_ERR_LIMIT, "fl_fault_sweep: %d runs", SWEEP_MAX);
			break;
		}
		snprintf(text, cap, "%s=@%llu %s", point, (unsigned long long)n, action);
		fl_fault_sweep_result res = {.n = n};
		fl_err *run_err = NULL;
		e = sweep_run(text, run, arg, &res, &run_err);
		if (e)
			break;
		if (report)
			report(&res, arg);
		fl_err_drop(run_err);
		if (!res.fired)
			break;
	}
	free(text);
	return e;
}
