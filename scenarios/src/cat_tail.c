/*
 * cat_tail.c - "The Tail at Scale" (Dean and Barroso): a request fans out
 * to 100 leaves and waits for all of them, so a 1% chance of a slow leaf
 * makes most requests slow (1 - 0.99^100 = 63%).
 *
 * Each request runs 100 leaf tasks in a group. A leaf's service time is
 * 100 us (a cancellable sleep) and the fault injector makes 1% of leaf
 * calls 100 times slower:
 *
 *     tail.leaf=1% sleep(10ms)
 *
 * armed for the scenario's requests only (scoped to their parent context,
 * seeded from params.seed; both durations scaled by time_scale). Recorded: the leaf and request latencies as
 * HDR histograms, and p50/p99/p99.9 of requests as counters in
 * microseconds. Checks that hold on any machine: every request gets all
 * 100 answers and no error, and the slow leaves the plan fired show up in
 * the request tail (at least one request at or above the injected 10 ms,
 * whenever the plan fired at all). Hedging at the leaf p95 (the paper's
 * remedy) comes with fl/hedge.h; until then this is the unhedged baseline
 * whose p99.9 it is to improve.
 */
#include "cat_internal.h"

#include <fl/fault.h>

#include <stdio.h>
#include <string.h>

#define LEAVES 100
#define LEAF_NS FL_US(100)
#define SLOW_NS FL_MS(10)
#define REQUESTS 100

typedef struct tail_run {
	const fl_scenario_params *p;
	int64_t leaf_ns[LEAVES]; /* leaf i's task: its latency */
	int answered[LEAVES];    /* leaf i's task */
} tail_run;

typedef struct tail_leaf {
	tail_run *t;
	int i;
} tail_leaf;

static fl_err *tail_leaf_fn(fl_ctx *ctx, void *arg)
{
	tail_leaf *l = arg;
	int64_t start = fl_now();
	fl_err *err = FL_FAULT(ctx, "tail.leaf"); /* 1%: 10 ms more */
	if (err)
		return err;
	if (fl_sleep_until(ctx, start + fl__scn_scaled(l->t->p, LEAF_NS)) != FL_OK)
		return fl__scn_stopped(ctx, FL_CANCELED, "leaf");
	l->t->leaf_ns[l->i] = fl_now() - start;
	l->t->answered[l->i] = 1;
	return NULL;
}

/* One request: all 100 leaves. *ns receives its latency. */
static fl_err *tail_request(tail_run *t, fl_ctx *parent, int64_t *ns, fl_err **err)
{
	fl_group *g;
	fl_ctx *ctx;
	tail_leaf leaves[LEAVES];
	fl_err *env = fl_group_new(parent, &(struct fl_group_opts){.name = "request"}, &g, &ctx);
	if (env)
		return env;
	memset(t->answered, 0, sizeof(t->answered));
	int64_t start = fl_now();
	for (int i = 0; i < LEAVES; i++) {
		leaves[i] = (tail_leaf){t, i};
		if (!fl__scn_go(g, ctx, "leaf", tail_leaf_fn, &leaves[i], &env))
			break;
	}
	*err = fl_group_wait(g);
	*ns = fl_now() - start;
	fl_group_free(g);
	return env;
}

static fl_err *tail_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	fl_hdr *leaf, *req;
	fl_err *env = fl_scenario_hist(r, "leaf", &leaf);
	if (!env)
		env = fl_scenario_hist(r, "request", &req);
	fl_ctx *scope = NULL;
	fl_fault_plan *plan = NULL;
	if (!env)
		env = fl_ctx_with_cancel(fl_ctx_background(), &scope);
	char plan_text[64]; /* tail.leaf=1% sleep(10ms), scaled */
	snprintf(plan_text, sizeof(plan_text), "tail.leaf=1%% sleep(%lldms)",
		 (long long)(fl__scn_scaled(p, SLOW_NS) / FL_MS(1)));
	if (!env)
		env = fl_fault_arm_scoped(plan_text, p->seed, scope, &plan);
	tail_run t = {.p = p};
	long complete = 0, requests = (long)p->iterations * REQUESTS;
	int64_t slowest = 0;
	for (long k = 0; !env && k < requests; k++) {
		int64_t ns = 0;
		fl_err *err = NULL;
		if ((env = tail_request(&t, scope, &ns, &err)))
			break;
		int answered = 0;
		for (int i = 0; i < LEAVES; i++) {
			answered += t.answered[i];
			if (t.answered[i])
				fl_hdr_record(leaf, t.leaf_ns[i]);
		}
		complete += !err && answered == LEAVES;
		if (err)
			fl_scenario_note_err(r, p, "request", err);
		fl_err_drop(err);
		fl_hdr_record(req, ns);
		slowest = ns > slowest ? ns : slowest;
	}
	fl_fault_point_stats st = {0};
	if (plan) {
		fl_fault_disarm(plan);
		fl_fault_stats_get(plan, "tail.leaf", &st);
		fl_fault_plan_free(plan);
	}
	fl_ctx_free(scope);
	if (env)
		return env;
	fl_scenario_check(r, "every request gets all 100 answers", complete == requests,
			  (double)complete, (double)requests, NULL,
			  "%ld of %ld requests complete", complete, requests);
	int64_t slow = fl__scn_scaled(p, SLOW_NS);
	bool shows = st.fires_total == 0 || slowest >= slow;
	fl_scenario_check(r, "slow leaves reach the request tail", shows, (double)slowest,
			  (double)slow, "ns", "%llu slow leaf calls of %llu",
			  (unsigned long long)st.fires_total, (unsigned long long)st.evals);
	fl_scenario_set(r, "leaf_calls", (int64_t)st.evals);
	fl_scenario_set(r, "slow_leaves", (int64_t)st.fires_total);
	fl_scenario_set(r, "requests", requests);
	fl_scenario_set(r, "p50_us", fl_hdr_value_at_percentile(req, 50) / 1000);
	fl_scenario_set(r, "p99_us", fl_hdr_value_at_percentile(req, 99) / 1000);
	fl_scenario_set(r, "p999_us", fl_hdr_value_at_percentile(req, 99.9) / 1000);
	fl_scenario_count(r, "items", complete);
	return NULL;
}

static const char *const tail_checks[] = {"every request gets all 100 answers",
					  "slow leaves reach the request tail", NULL};
const fl_scenario fl__scn_tail_at_scale = {
	.name = "tail_at_scale",
	.description = "Tail at Scale: requests fan out to 100 leaves, 1% of leaf calls 100x "
		       "slower; request p50/p99/p99.9 (no hedging yet)",
	.checks = tail_checks,
	.default_iterations = 1,
	.run = tail_scn,
};
