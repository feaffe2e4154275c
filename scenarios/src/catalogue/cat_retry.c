/*
 * cat_retry.c - per-item retry (task 5) and the "cancelled too early"
 * story (reference 000), on fl/retry.h with failures from the fault
 * injector.
 *
 * Task 5: 20 items processed by a group of 4 workers; the fake process()
 * fails each item's first two attempts with a transient error,
 *
 *     retry.process=peritem @1..2 error(transient)
 *
 * and each worker retries inside its own task (fl_retry, 3 attempts,
 * exponential backoff from 100 us, scaled). Every item succeeds on its
 * third attempt: 60 calls, no error. With 2 attempts every item gives up,
 * and the error says how: fl_err_as finds the retry payload (2 attempts,
 * attempts spent) and fl_err_is the transient sentinel underneath.
 *
 * The story: 100 sources fetched in parallel, the first attempt of each
 * failing transiently (peritem @1). Returning that first error to the
 * group (the bug) cancels every source after one attempt: nothing is
 * fetched. Retrying inside the task (the fix) fetches all 100; the group
 * sees only final outcomes.
 */
#include "cat_internal.h"

#include <fl/fault.h>
#include <fl/retry.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define RT_ITEMS 20
#define RT_WORKERS 4
#define RT_BACKOFF FL_US(100)
#define EARLY_SOURCES 100

typedef struct rt_run {
	const fl_scenario_params *p;
	fl_retry_policy policy;
	bool retry;        /* story: retry inside the task (the fix) */
	fl_chan *items;    /* owner -> workers, buffered, closed */
	atomic_long calls; /* process() calls */
	atomic_long done;  /* items that succeeded */
} rt_run;

typedef struct rt_call {
	rt_run *rt;
	long item;
} rt_call;

/* The fake process(): the fault plan decides which attempts fail. */
static fl_err *rt_process(fl_ctx *ctx, int attempt, void *arg)
{
	rt_call *c = arg;
	atomic_fetch_add(&c->rt->calls, 1);
	enum fl_fault_verdict v;
	return FL_FAULT_ITEM(ctx, "retry.process", c->item, &v);
}

static fl_err *rt_worker(fl_ctx *ctx, void *arg)
{
	rt_run *rt = arg;
	for (;;) {
		long item;
		int st = fl_chan_recv(rt->items, &item, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			return NULL;
		if (st != FL_OK)
			return fl__scn_stopped(ctx, st, "worker");
		rt_call c = {rt, item};
		fl_err *err = rt->retry ? fl_retry(ctx, &rt->policy, rt_process, &c, NULL)
					: rt_process(ctx, 1, &c);
		if (err)
			return fl_err_wrap(err, "item %ld", item);
		atomic_fetch_add(&rt->done, 1);
	}
}

/* Runs n items through `workers` workers under plan; *err gets wait's. */
static fl_err *rt_once(rt_run *rt, const char *plan_text, long n, int workers, fl_err **err)
{
	fl_group *g;
	fl_ctx *ctx;
	fl_fault_plan *plan = NULL;
	fl_err *env = fl_fault_register_error("transient", fl_scenario_err_transient);
	if (env)
		return env;
	if ((env = fl_chan_new(sizeof(long), (size_t)n, NULL, &rt->items)))
		return env;
	for (long i = 0; i < n; i++)
		(void)fl_chan_send(rt->items, &i, NULL, FL_TRY); /* room for n */
	fl_err_drop(fl_chan_close(rt->items));
	if ((env = fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "retry"}, &g,
				&ctx))) {
		fl_chan_free(rt->items);
		return env;
	}
	if ((env = fl_fault_arm_scoped(plan_text, rt->p->seed, ctx, &plan)))
		fl_group_cancel(g, NULL);
	for (int i = 0; !env && i < workers; i++)
		if (!fl__scn_go(g, ctx, "worker", rt_worker, rt, &env))
			break;
	*err = fl_group_wait(g);
	fl_fault_plan_free(plan);
	fl_group_free(g);
	fl_chan_free(rt->items);
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

static fl_retry_policy rt_policy(const fl_scenario_params *p, int attempts)
{
	return (fl_retry_policy){.max_attempts = attempts,
				 .initial_ns = fl__scn_scaled(p, RT_BACKOFF),
				 .multiplier = 2};
}

static fl_err *retry_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	static const char plan[] = "retry.process=peritem @1..2 error(transient)";
	for (int i = 0; i < p->iterations; i++) {
		rt_run ok = {.p = p, .policy = rt_policy(p, 3), .retry = true};
		fl_err *err = NULL, *env = rt_once(&ok, plan, RT_ITEMS, RT_WORKERS, &err);
		if (env)
			return env;
		fl_scenario_note_err(r, p, "3 attempts", err);
		long calls = atomic_load(&ok.calls), done = atomic_load(&ok.done);
		fl_scenario_check(r, "third attempt succeeds",
				  !err && done == RT_ITEMS && calls == 3 * RT_ITEMS, (double)calls,
				  3 * RT_ITEMS, NULL, "%s; %ld items done in %ld calls",
				  err ? r->err_text : "wait <nil>", done, calls);
		fl_scenario_count(r, "items", done);
		fl_scenario_count(r, "attempts", calls);
		fl_err_drop(err);

		rt_run short_ = {.p = p, .policy = rt_policy(p, 2), .retry = true};
		if ((env = rt_once(&short_, plan, RT_ITEMS, RT_WORKERS, &err)))
			return env;
		fl_scenario_note_err(r, p, "2 attempts", err);
		const fl_retry_info *ri = fl_err_as(err, &fl_retry_error_type);
		bool gave_up = ri && ri->attempts == 2 && ri->stop == FL_RETRY_STOP_ATTEMPTS &&
			       fl_err_is(err, fl_scenario_err_transient) &&
			       atomic_load(&short_.done) == 0;
		fl_scenario_check(r, "exhausted retries return the error", gave_up, gave_up, 1,
				  NULL, "%s",
				  err ? r->err_text : "<nil>: the failure was swallowed");
		fl_scenario_count(r, "failed", err != NULL);
		fl_err_drop(err);
	}
	return NULL;
}

static const char *const retry_checks[] = {"third attempt succeeds",
					   "exhausted retries return the error", NULL};
const fl_scenario fl__scn_retry_item = {
	.name = "retry_item",
	.description = "task 5: each item fails twice (peritem faults) and succeeds on the third "
		       "of 3 attempts with backoff; 2 attempts give up",
	.checks = retry_checks,
	.default_iterations = 1,
	.run = retry_scn,
};

/* ---- the story: cancelled too early ------------------------------------------------ */

static fl_err *early_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	static const char plan[] = "retry.process=peritem @1 error(transient)";
	for (int i = 0; i < p->iterations; i++) {
		rt_run bug = {.p = p, .retry = false};
		fl_err *err = NULL, *env = rt_once(&bug, plan, EARLY_SOURCES, EARLY_SOURCES, &err);
		if (env)
			return env;
		fl_scenario_note_err(r, p, "error from the first attempt", err);
		long done = atomic_load(&bug.done);
		bool early = fl_err_is(err, fl_scenario_err_transient) && done == 0;
		fl_scenario_check(r, "first attempt's error cancels every source", early,
				  (double)done, 0, NULL, "%s; %ld of %d sources fetched (the bug)",
				  err ? r->err_text : "<nil>", done, EARLY_SOURCES);
		fl_err_drop(err);

		rt_run fix = {.p = p, .policy = rt_policy(p, 5), .retry = true};
		if ((env = rt_once(&fix, plan, EARLY_SOURCES, EARLY_SOURCES, &err)))
			return env;
		fl_scenario_note_err(r, p, "retry inside the task", err);
		done = atomic_load(&fix.done);
		fl_scenario_check(r, "retrying inside the task fetches all",
				  !err && done == EARLY_SOURCES, (double)done, EARLY_SOURCES, NULL,
				  "%s; %ld of %d sources fetched", err ? r->err_text : "wait <nil>",
				  done, EARLY_SOURCES);
		fl_scenario_count(r, "items", done);
		fl_scenario_count(r, "attempts", atomic_load(&fix.calls));
		fl_err_drop(err);
	}
	return NULL;
}

static const char *const early_checks[] = {"first attempt's error cancels every source",
					   "retrying inside the task fetches all", NULL};
const fl_scenario fl__scn_cancelled_too_early = {
	.name = "cancelled_too_early",
	.description = "story: returning a first transient error to the group cancels all 100 "
		       "sources; retrying inside the task fetches them",
	.checks = early_checks,
	.default_iterations = 1,
	.run = early_scn,
};
