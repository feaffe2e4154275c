/*
 * cat_breaker.c - a circuit breaker in a pipeline stage (task 15), on
 * fl/breaker.h with the backend's outage from the fault injector.
 *
 * A stage takes 20 items and calls a backend for each through a breaker
 * (open after 5 consecutive failures, cool-down 20 ms scaled, the
 * reference's 30 s shortened, one half-open probe). The backend is down
 * for its first 5 calls:
 *
 *     breaker.backend=@1..5 error(unavailable)
 *
 * Items 1-5 fail at the backend and open the breaker; items 6-10 fail
 * fast with ErrCircuitOpen without reaching it. The stage then waits out
 * the cool-down (the breaker's own clock: it reports half-open once the
 * time has passed); item 11 is the probe, succeeds and closes the breaker;
 * items 12-20 pass. Every item has a result, none is lost, and the
 * transitions are exactly closed -> open -> half-open -> closed.
 *
 * "Items 6-10 fail fast" is exact on virtual time (sim). On a real clock a
 * stage preempted for a whole cool-down among them finds the breaker
 * half-open early: its probe passes and fewer items fail fast. The checks
 * then hold what is true either way: 5 failures at the backend, no backend
 * call while open (calls = items - fast), and the same transitions.
 */
#include "cat_internal.h"

#include <fl/breaker.h>
#include <fl/fault.h>

#include <string.h>

#define BR_ITEMS 20
#define BR_TRIP 5
#define BR_COOLDOWN FL_MS(20)
#define BR_GUARD FL_SEC(10)

static const char br_plan[] = "breaker.backend=@1..5 error(unavailable)";

typedef struct br_run {
	const fl_scenario_params *p;
	fl_breaker *b;
	int trans[8][2]; /* the stage task (on_change runs on it) */
	int ntrans;
	long delivered, failed, fast; /* the stage task */
	long backend_calls;           /* the stage task */
	int probe_ok;                 /* the stage task: item 11 passed */
} br_run;

static void br_change(fl_breaker *b, enum fl_breaker_state from, enum fl_breaker_state to,
		      void *arg)
{
	br_run *br = arg;
	if (br->ntrans < 8) {
		br->trans[br->ntrans][0] = from;
		br->trans[br->ntrans][1] = to;
	}
	br->ntrans++;
}

static fl_err *br_backend(fl_ctx *ctx, void *arg)
{
	br_run *br = arg;
	br->backend_calls++;
	return FL_FAULT(ctx, "breaker.backend");
}

/* Waits until the breaker's cool-down has passed (it then reports
 * half-open), checking every quarter of it; false if ctx ends first. */
static bool br_cooldown(br_run *br, fl_ctx *ctx)
{
	int64_t step = fl__scn_scaled(br->p, BR_COOLDOWN) / 4;
	while (fl_breaker_state(br->b) == FL_BREAKER_OPEN)
		if (fl_sleep_until(ctx, fl_deadline_in(step)) != FL_OK)
			return false;
	return true;
}

static fl_err *br_stage(fl_ctx *ctx, void *arg)
{
	br_run *br = arg;
	for (long i = 1; i <= BR_ITEMS; i++) {
		if (i == 2 * BR_TRIP + 1 && !br_cooldown(br, ctx))
			return fl__scn_stopped(ctx, FL_CANCELED, "breaker stage");
		fl_err *err = fl_breaker_call(br->b, ctx, br_backend, br);
		if (!err)
			br->delivered++;
		else if (fl_err_is(err, FL_ERR_CIRCUIT_OPEN))
			br->fast++;
		else
			br->failed++;
		if (i == 2 * BR_TRIP + 1)
			br->probe_ok = err == NULL;
		fl_err_drop(err); /* per-item results: the stage goes on */
	}
	return NULL;
}

static fl_err *br_once(br_run *br, fl_err **err)
{
	fl_ctx *guard, *ctx;
	fl_group *g;
	fl_fault_plan *plan = NULL;
	fl_err *env = fl_fault_register_error("unavailable", fl_scenario_err_unavailable);
	if (env)
		return env;
	struct fl_breaker_opts o = {.name = "backend",
				    .consecutive_failures = BR_TRIP,
				    .cooldown_ns = fl__scn_scaled(br->p, BR_COOLDOWN),
				    .probes = 1,
				    .on_change = br_change,
				    .on_change_arg = br};
	if ((env = fl_breaker_new(&o, &br->b)))
		return env;
	if ((env = fl_ctx_with_timeout(fl_ctx_background(), fl__scn_scaled(br->p, BR_GUARD), NULL,
				       &guard))) {
		fl_breaker_free(br->b);
		return env;
	}
	if (!(env = fl_group_new(guard, &(struct fl_group_opts){.name = "breaker"}, &g, &ctx))) {
		if (!(env = fl_fault_arm_scoped(br_plan, br->p->seed, ctx, &plan)))
			fl__scn_go(g, ctx, "stage", br_stage, br, &env);
		*err = fl_group_wait(g);
		fl_fault_plan_free(plan);
		fl_group_free(g);
	}
	fl_ctx_free(guard);
	fl_breaker_free(br->b);
	return env;
}

static fl_err *br_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		br_run br = {.p = p};
		fl_err *err = NULL, *env = br_once(&br, &err);
		if (env) {
			fl_err_drop(err);
			return env;
		}
		fl_scenario_note_err(r, p, "stage", err);
		bool fast = fl__scn_virtual_time() ? br.fast == BR_TRIP : br.fast <= BR_TRIP;
		fl_scenario_check(r, "opens after 5 failures, fails fast",
				  br.failed == BR_TRIP && fast &&
					  br.backend_calls == BR_ITEMS - br.fast,
				  (double)br.fast, BR_TRIP, NULL,
				  "%ld failed at the backend, %ld failed fast, %ld backend calls",
				  br.failed, br.fast, br.backend_calls);
		static const int want[3][2] = {{FL_BREAKER_CLOSED, FL_BREAKER_OPEN},
					       {FL_BREAKER_OPEN, FL_BREAKER_HALF_OPEN},
					       {FL_BREAKER_HALF_OPEN, FL_BREAKER_CLOSED}};
		bool path = br.ntrans == 3 && memcmp(br.trans, want, sizeof(want)) == 0;
		fl_scenario_check(r, "half-open probe closes it", path && br.probe_ok, br.ntrans, 3,
				  NULL, "%d transitions%s, probe %s", br.ntrans,
				  path ? " closed>open>half-open>closed" : "",
				  br.probe_ok ? "passed" : "failed");
		long total = br.delivered + br.failed + br.fast;
		fl_scenario_check(r, "conservation", !err && total == BR_ITEMS, (double)total,
				  BR_ITEMS, NULL,
				  "%d items = %ld delivered + %ld failed + %ld failed "
				  "fast; %s",
				  BR_ITEMS, br.delivered, br.failed, br.fast,
				  err ? r->err_text : "stage <nil>");
		fl_scenario_count(r, "items", br.delivered);
		fl_scenario_count(r, "failed", br.failed);
		fl_scenario_count(r, "failed_fast", br.fast);
		fl_scenario_count(r, "backend_calls", br.backend_calls);
		fl_err_drop(err);
	}
	return NULL;
}

static const char *const br_checks[] = {"opens after 5 failures, fails fast",
					"half-open probe closes it", "conservation", NULL};
const fl_scenario fl__scn_circuit_breaker = {
	.name = "circuit_breaker",
	.description = "task 15: 5 backend failures open the breaker, calls fail fast, a "
		       "half-open probe after the cool-down closes it",
	.checks = br_checks,
	.default_iterations = 1,
	.run = br_scn,
};
