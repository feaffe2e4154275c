/*
 * cat_chaos.c - bonus 3: 1% random faults, many cheap iterations. This is
 * the scenario `faultline stress` hammers.
 *
 * Each iteration runs source -> work -> sink over 16 items (channels of
 * capacity 2) with fault points in all three stages, under a plan armed
 * for that iteration only (scoped to its context, seeded from the run's
 * seed and the iteration, so any one iteration replays from its seed):
 *
 *     chaos.work=1% error(chaos) -> 1% drop -> 1% sleep(100us)
 *     chaos.*=1% error(chaos) -> 1% sleep(100us)
 *
 * Checks, every iteration:
 *   - never hangs: wait returns before a hang guard (10 s, scaled) expires;
 *   - never swallows: every error the plan's accounting shows fired was
 *     met by a stage, and wait returns an injected error (fl_err_as finds
 *     its fl_fault_info) exactly when a stage met one, no error otherwise;
 *   - no lost item: produced = delivered + dropped (the plan's verdict) +
 *     failed (at a fault) + cancelled in flight (held by a stage or left
 *     in a channel when the group was cancelled).
 * The last two are the public checks (fl/check.h): an error-identity
 * verdict and fl_check_items, whose message lists every count by name.
 * An iteration costs about a millisecond, most of it arming the plan.
 */
#include "cat_internal.h"

#include <fl/check.h>
#include <fl/fault.h>

#include <stdio.h>
#include <string.h>

#define CHAOS_ITEMS 16
#define CHAOS_GUARD FL_SEC(10) /* a hang bound: far above a loaded run, never a goal */

static const char chaos_plan[] = "chaos.work=1% error(chaos) -> 1% drop -> 1% sleep(100us);"
				 "chaos.*=1% error(chaos) -> 1% sleep(100us)";

typedef struct chaos_run {
	fl_chan *a, *b;
	long produced;   /* source: sends that completed */
	long dropped;    /* work */
	long failed[2];  /* work [0], sink [1]: items that met an error (one
				writer each: both may fail in one run, at once) */
	long held;       /* work: items held when cancelled */
	long delivered;  /* sink */
	long left;       /* owner: items left in the channels */
	int injected[3]; /* source, work, sink: injected errors met */
} chaos_run;

/* Notes an injected error (of any armed plan) met by stage i. */
static fl_err *met(chaos_run *c, int i, fl_err *err)
{
	const fl_fault_info *fi = fl_err_as(err, &fl_fault_info_type);
	if (fi && fi->action == FL_FAULT_ACT_ERROR)
		c->injected[i]++;
	return err;
}

static fl_err *chaos_source(fl_ctx *ctx, void *arg)
{
	chaos_run *c = arg;
	fl_err *err = NULL;
	for (long v = 0; v < CHAOS_ITEMS && !err; v++) {
		if ((err = met(c, 0, FL_FAULT(ctx, "chaos.source"))))
			break;
		fl__scn_item it = {v, fl_now()};
		int st = fl_chan_send(c->a, &it, ctx, FL_FOREVER);
		if (st != FL_OK)
			err = fl__scn_stopped(ctx, st, "source");
		else
			c->produced++;
	}
	return fl_err_join2(err, fl_chan_close(c->a));
}

static fl_err *chaos_work(fl_ctx *ctx, void *arg)
{
	chaos_run *c = arg;
	fl_err *err = NULL;
	for (;;) {
		fl__scn_item it;
		int st = fl_chan_recv(c->a, &it, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			break;
		if (st != FL_OK) {
			err = fl__scn_stopped(ctx, st, "work");
			break;
		}
		enum fl_fault_verdict v;
		if ((err = met(c, 1, FL_FAULT_ITEM(ctx, "chaos.work", it.v, &v)))) {
			c->failed[0]++;
			break;
		}
		if (v == FL_FAULT_DROP) {
			c->dropped++;
			continue;
		}
		if ((st = fl_chan_send(c->b, &it, ctx, FL_FOREVER)) != FL_OK) {
			c->held++;
			err = fl__scn_stopped(ctx, st, "work");
			break;
		}
	}
	return fl_err_join2(err, fl_chan_close(c->b));
}

static fl_err *chaos_sink(fl_ctx *ctx, void *arg)
{
	chaos_run *c = arg;
	for (;;) {
		fl__scn_item it;
		int st = fl_chan_recv(c->b, &it, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			return NULL;
		if (st != FL_OK)
			return fl__scn_stopped(ctx, st, "sink");
		fl_err *err = met(c, 2, FL_FAULT(ctx, "chaos.sink"));
		if (err) {
			c->failed[1]++;
			return err;
		}
		c->delivered++;
	}
}

static long drain_left(fl_chan *ch)
{
	long n = 0;
	while (fl_chan_recv(ch, NULL, NULL, FL_TRY) == FL_OK)
		n++;
	return n;
}

/* Error fires the plan made, over its three points. */
static uint64_t error_fires(const fl_fault_plan *plan)
{
	static const char *const points[] = {"chaos.source", "chaos.work", "chaos.sink"};
	uint64_t errors = 0;
	for (int i = 0; i < 3; i++) {
		fl_fault_point_stats st;
		if (!fl_fault_stats_get(plan, points[i], &st))
			continue;
		errors += st.fires[FL_FAULT_ACT_ERROR];
	}
	return errors;
}

/* One iteration under a plan scoped to guard; *err receives wait's. */
static fl_err *chaos_once(chaos_run *c, fl_ctx *guard, fl_err **err)
{
	fl_group *g;
	fl_ctx *ctx;
	fl_err *env = fl_group_new(guard, &(struct fl_group_opts){.name = "chaos"}, &g, &ctx);
	if (env)
		return env;
	if (!(env = fl__scn_chan("chaos.a", 2, &c->a)))
		env = fl__scn_chan("chaos.b", 2, &c->b);
	if (env)
		fl_group_cancel(g, NULL);
	if (!env && fl__scn_go(g, ctx, "source", chaos_source, c, &env) &&
	    fl__scn_go(g, ctx, "work", chaos_work, c, &env))
		fl__scn_go(g, ctx, "sink", chaos_sink, c, &env);
	*err = fl_group_wait(g);
	fl_group_free(g);
	if (c->a)
		c->left += drain_left(c->a);
	if (c->b)
		c->left += drain_left(c->b);
	fl_chan_free(c->a);
	fl_chan_free(c->b);
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

/* Checks one iteration; returns whether all three held. */
static bool chaos_check(fl_scenario_result *r, const chaos_run *c, const fl_err *err, bool hung,
			uint64_t errors, uint64_t seed)
{
	bool ok = fl_scenario_check(r, "never hangs", !hung, hung, 0, NULL, "seed %llu: %s",
				    (unsigned long long)seed,
				    hung ? "the hang guard fired" : "wait returned in time");
	/* Every error this iteration's plan fired was met by a stage, and
	 * wait returns an injected error exactly when a stage met one (also
	 * from a plan armed around the whole run, as `faultline stress` does). */
	long injected = c->injected[0] + c->injected[1] + c->injected[2];
	bool is = fl_err_as(err, &fl_fault_info_type) != NULL;
	bool honest = (uint64_t)injected >= errors && (injected ? is : err == NULL);
	char why[120];
	snprintf(why, sizeof(why),
		 "seed %llu: %llu fire(s) of its plan, %ld injected error(s) "
		 "met: expected %s",
		 (unsigned long long)seed, (unsigned long long)errors, injected,
		 (uint64_t)injected < errors ? "every fire met by a stage"
		 : injected                  ? "an injected error"
					     : "nil");
	if (injected && !err)
		ok &= fl_check_err_returned(r, "never swallows an error", err, why);
	else
		ok &= fl_check_err_verdict(r, "never swallows an error", honest, (double)injected,
					   why, err);
	/* the counts are read after the group's wait */
	fl_check_items items;
	fl_check_items_init(&items);
	fl_check_items_add(&items, FL_ITEM_PRODUCED, c->produced);
	fl_check_items_add(&items, FL_ITEM_DONE, c->delivered);
	fl_check_items_add(&items, FL_ITEM_SKIPPED, c->dropped);
	fl_check_items_add(&items, FL_ITEM_FAILED, c->failed[0] + c->failed[1]);
	fl_check_items_add(&items, FL_ITEM_CANCELLED, c->held + c->left);
	ok &= fl_check_items_judge(&items, r, "no lost item");
	return ok;
}

static fl_err *chaos_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	fl_err *env = fl_fault_register_error("chaos", fl_scenario_err_chaos);
	for (int i = 0; !env && i < p->iterations; i++) {
		uint64_t seed = p->seed * 1000003u + (uint64_t)i;
		fl_ctx *guard;
		fl_fault_plan *plan = NULL;
		if ((env = fl_ctx_with_timeout(fl_ctx_background(), fl__scn_scaled(p, CHAOS_GUARD),
					       NULL, &guard)))
			break;
		if ((env = fl_fault_arm_scoped(chaos_plan, seed, guard, &plan))) {
			fl_ctx_free(guard);
			break;
		}
		chaos_run c = {0};
		fl_err *err = NULL;
		env = chaos_once(&c, guard, &err);
		bool hung = fl_ctx_done(guard);
		fl_fault_disarm(plan);
		uint64_t errors = error_fires(plan);
		fl_fault_plan_free(plan);
		fl_ctx_free(guard);
		if (env)
			break;
		fl_scenario_note_err(r, p, "chaos", err);
		chaos_check(r, &c, err, hung, errors, seed);
		fl_scenario_count(r, "items", c.delivered);
		fl_scenario_count(r, "produced", c.produced);
		fl_scenario_count(r, "delivered", c.delivered);
		fl_scenario_count(r, "dropped", c.dropped);
		fl_scenario_count(r, "failed", c.failed[0] + c.failed[1]);
		fl_scenario_count(r, "cancelled", c.held + c.left);
		fl_scenario_count(r, "faulted_runs", err != NULL);
		fl_scenario_count(r, "error_fires", (int64_t)errors);
		fl_err_drop(err);
	}
	return env;
}

static const char *const chaos_checks[] = {"never hangs", "never swallows an error", "no lost item",
					   NULL};
const fl_scenario fl__scn_chaos_1pct = {
	.name = "chaos_1pct",
	.description = "bonus 3: 1% random errors, drops and sleeps in a 3-stage pipeline; never "
		       "hangs, never swallows, loses nothing",
	.checks = chaos_checks,
	.default_iterations = 1000,
	.run = chaos_scn,
};
