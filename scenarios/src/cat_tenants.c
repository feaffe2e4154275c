/*
 * cat_tenants.c - bulkhead per tenant (task 14), as the reference builds
 * it: each tenant's items run in the tenant's own group with SetLimit(8),
 * and an outer group runs the tenants concurrently. A tenant task records
 * its tenant's error and returns NULL, so one tenant's failure never
 * cancels the others (the outer group sees no error).
 *
 * Four tenants of 40 items each; tenant b's item 5 fails. Isolation is
 * shown, not hoped for: every other tenant's first item waits on a gate
 * that b's failing item closes just before it returns its error, so the
 * other tenants provably run on after b failed, and must still deliver all
 * 40 items. Inside b, the failure cancels b's own group: items in flight
 * end through the cancellation and later items never start; conservation
 * holds per tenant (produced = delivered + failed + cancelled).
 */
#include "cat_internal.h"

#include <stdio.h>
#include <string.h>

#define TENANTS 4
#define TENANT_ITEMS 40
#define TENANT_LIMIT 8
#define BAD_TENANT 1   /* "b" */
#define BAD_ITEM 5

typedef struct tn_run tn_run;
typedef struct tn_tenant tn_tenant;

typedef struct tn_item {
	tn_tenant *t;
	long index;          /* 1-based */
	int outcome;         /* its task: 0 not started, 1 ok, 2 failed, 3 cancelled */
} tn_item;

struct tn_tenant {
	tn_run *run;
	char name[16];       /* "tenant.a" */
	int id;
	tn_item item[TENANT_ITEMS];
	fl_err *err;         /* its tenant task: the tenant's error */
	int hwm;             /* its tenant task */
};

struct tn_run {
	fl_chan *b_failed;   /* closed by tenant b's failing item */
	tn_tenant tenant[TENANTS];
};

static fl_err *tn_process(fl_ctx *ctx, void *arg)
{
	tn_item *it = arg;
	tn_tenant *t = it->t;
	if (t->id == BAD_TENANT && it->index == BAD_ITEM) {
		it->outcome = 2;
		fl_err_drop(fl_chan_close(t->run->b_failed));
		return fl_err_wrap(fl_scenario_err_invalid, "%s item %ld", t->name, it->index);
	}
	if (t->id != BAD_TENANT && it->index == 1) {
		/* Wait until b has failed: the rest of this tenant runs after. */
		int st = fl_chan_recv(t->run->b_failed, NULL, ctx, FL_FOREVER);
		if (st != FL_CLOSED) {
			it->outcome = 3;
			return fl__scn_stopped(ctx, st, t->name);
		}
	}
	if (fl_ctx_done(ctx)) {
		it->outcome = 3;
		return fl__scn_stopped(ctx, FL_CANCELED, t->name);
	}
	fl_yield(); /* a little work */
	it->outcome = 1;
	return NULL;
}

/* One tenant's pipeline; records its error and never fails the outer group. */
static fl_err *tn_tenant_run(fl_ctx *parent, void *arg)
{
	tn_tenant *t = arg;
	fl_group *g;
	fl_ctx *ctx;
	fl_err *env = fl_group_new(parent, &(struct fl_group_opts){.name = t->name,
								   .limit = TENANT_LIMIT},
				   &g, &ctx);
	if (env)
		return env; /* environment: the scenario could not run */
	for (long i = 0; i < TENANT_ITEMS; i++) {
		t->item[i] = (tn_item){.t = t, .index = i + 1};
		if (!fl__scn_go(g, ctx, "item", tn_process, &t->item[i], &env))
			break;
	}
	t->err = fl_group_wait(g);
	t->hwm = fl_group_hwm(g);
	fl_group_free(g);
	return env;
}

static fl_err *tn_once(tn_run *run, fl_err **outer)
{
	fl_group *g;
	fl_ctx *ctx;
	fl_err *env = fl_chan_new(1, 0, &(struct fl_chan_opts){.name = "tenants.b_failed"},
				  &run->b_failed);
	if (env)
		return env;
	if ((env = fl_group_new(fl_ctx_background(),
				&(struct fl_group_opts){.name = "tenants"}, &g, &ctx))) {
		fl_chan_free(run->b_failed);
		return env;
	}
	for (int i = 0; i < TENANTS; i++) {
		tn_tenant *t = &run->tenant[i];
		*t = (tn_tenant){.run = run, .id = i};
		snprintf(t->name, sizeof(t->name), "tenant.%c", 'a' + i);
		if (!fl__scn_go(g, ctx, t->name, tn_tenant_run, t, &env))
			break;
	}
	*outer = fl_group_wait(g);
	fl_group_free(g);
	fl_chan_free(run->b_failed);
	if (env) {
		fl_err_drop(*outer);
		*outer = NULL;
		for (int i = 0; i < TENANTS; i++)
			fl_err_drop(run->tenant[i].err);
	}
	return env;
}

static void tn_check(const fl_scenario_params *p, fl_scenario_result *r, tn_run *run)
{
	long produced = 0, delivered = 0, failed = 0, cancelled = 0;
	int healthy_full = 0;
	for (int i = 0; i < TENANTS; i++) {
		tn_tenant *t = &run->tenant[i];
		long n[4] = {0};
		for (int k = 0; k < TENANT_ITEMS; k++)
			n[t->item[k].outcome]++;
		produced += TENANT_ITEMS;
		delivered += n[1];
		failed += n[2];
		cancelled += n[3] + n[0];
		fl_scenario_note_group(r, t->name, TENANT_LIMIT, t->hwm);
		if (i == BAD_TENANT) {
			fl_scenario_note_err(r, p, t->name, t->err);
			bool is = fl_err_is(t->err, fl_scenario_err_invalid) &&
				  strstr(r->err_text, "tenant.b item 5");
			fl_scenario_check(r, "failing tenant records its error", is && n[2] == 1,
					  is, 1, NULL, "%s", t->err ? r->err_text : "<nil>");
			fl_scenario_count(r, "delivered.failing", n[1]);
		} else {
			healthy_full += !t->err && n[1] == TENANT_ITEMS;
			fl_scenario_count(r, "delivered.healthy", n[1]);
		}
		fl_err_drop(t->err);
		t->err = NULL;
	}
	fl_scenario_check(r, "other tenants unaffected", healthy_full == TENANTS - 1,
			  healthy_full, TENANTS - 1, NULL,
			  "%d of %d healthy tenants delivered all %d items after b failed",
			  healthy_full, TENANTS - 1, TENANT_ITEMS);
	fl_scenario_check(r, "conservation", produced == delivered + failed + cancelled,
			  (double)produced, NAN, NULL,
			  "%ld items = %ld delivered + %ld failed + %ld cancelled", produced,
			  delivered, failed, cancelled);
	fl_scenario_count(r, "items", delivered);
	fl_scenario_count(r, "produced", produced);
	fl_scenario_count(r, "delivered", delivered);
	fl_scenario_count(r, "failed", failed);
	fl_scenario_count(r, "cancelled", cancelled);
}

static fl_err *tn_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	static tn_run run; /* the scenario thread's alone */
	for (int i = 0; i < p->iterations; i++) {
		memset(&run, 0, sizeof(run));
		fl_err *outer = NULL, *env = tn_once(&run, &outer);
		if (env)
			return env;
		fl_scenario_check(r, "outer group sees no error", outer == NULL, outer != NULL, 0,
				  NULL, "outer wait %s", outer ? "failed" : "<nil>");
		fl_err_drop(outer);
		tn_check(p, r, &run);
	}
	return NULL;
}

static const char *const tn_checks[] = {"outer group sees no error",
					"failing tenant records its error",
					"other tenants unaffected", "conservation", NULL};
const fl_scenario fl__scn_bulkhead_tenants = {
	.name = "bulkhead_tenants",
	.description = "task 14: a group with SetLimit(8) per tenant under an outer group; "
		       "tenant b's failure leaves a, c and d whole",
	.checks = tn_checks,
	.default_iterations = 1,
	.run = tn_scn,
};
