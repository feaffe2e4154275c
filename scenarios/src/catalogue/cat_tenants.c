/*
 * cat_tenants.c - bulkhead per tenant (task 14) on fl/bulkhead.h: each
 * tenant is a compartment, an errgroup with SetLimit(8) of its own, and
 * the bulkhead is the coordinator that runs them all and keeps each
 * tenant's result, so one tenant's failure never cancels another.
 *
 * Four tenants of 40 items each, submitted round-robin; tenant b's item 5
 * fails. Isolation is shown, not hoped for: every other tenant's first
 * item waits on a gate that b's failing item closes just before it returns
 * its error, so the other tenants provably run on after b failed, and
 * must still deliver all 40 items. Inside b, the failure cancels b's
 * compartment only: items in flight end through the cancellation and
 * later ones are refused. Conservation holds per tenant (produced =
 * delivered + failed + cancelled), and the coordinator's error names
 * tenant b alone.
 */
#include "cat_internal.h"

#include <fl/bulkhead.h>
#include <fl/check.h>

#include <stdio.h>
#include <string.h>

#define TENANTS 4
#define TENANT_ITEMS 40
#define TENANT_LIMIT 8
#define BAD_TENANT 1 /* "b" */
#define BAD_ITEM 5

enum { TN_NONE, TN_OK, TN_FAILED, TN_CANCELED };

typedef struct tn_run tn_run;

typedef struct tn_item {
	tn_run *run;
	int tenant;
	long index;  /* 1-based */
	int outcome; /* its task: TN_NONE until it ends */
} tn_item;

struct tn_run {
	fl_chan *b_failed; /* closed by tenant b's failing item */
	tn_item item[TENANTS][TENANT_ITEMS];
};

static fl_err *tn_process(fl_ctx *ctx, void *arg)
{
	tn_item *it = arg;
	if (it->tenant == BAD_TENANT && it->index == BAD_ITEM) {
		it->outcome = TN_FAILED;
		fl_err_drop(fl_chan_close(it->run->b_failed));
		return fl_err_wrap(fl_scenario_err_invalid, "item %ld", it->index);
	}
	if (it->tenant != BAD_TENANT && it->index == 1) {
		/* Wait until b has failed: the rest of this tenant runs after. */
		int st = fl_chan_recv(it->run->b_failed, NULL, ctx, FL_FOREVER);
		if (st != FL_CLOSED) {
			it->outcome = TN_CANCELED;
			return fl__scn_stopped(ctx, st, "tenant item");
		}
	}
	if (fl_ctx_done(ctx)) {
		it->outcome = TN_CANCELED;
		return fl__scn_stopped(ctx, FL_CANCELED, "tenant item");
	}
	fl_yield(); /* a little work */
	it->outcome = TN_OK;
	return NULL;
}

/* Submits every item round-robin; *err gets the coordinator's result. */
static fl_err *tn_once(tn_run *run, fl_bulkhead **out, fl_err **err)
{
	fl_bulkhead *b;
	fl_err *env = fl_chan_new(1, 0, &(struct fl_chan_opts){.name = "tenants.b_failed"},
				  &run->b_failed);
	if (env)
		return env;
	if ((env = fl_bulkhead_new(fl_ctx_background(),
				   &(struct fl_bulkhead_opts){.name = "tenants",
							      .limit = TENANT_LIMIT},
				   &b))) {
		fl_chan_free(run->b_failed);
		return env;
	}
	for (long i = 0; i < TENANT_ITEMS && !env; i++)
		for (int t = 0; t < TENANTS && !env; t++) {
			tn_item *it = &run->item[t][i];
			*it = (tn_item){.run = run, .tenant = t, .index = i + 1};
			char key[2] = {(char)('a' + t), '\0'};
			fl_err *e = fl_bulkhead_go(b, NULL, key, tn_process, it);
			if (e && (fl_err_is(e, FL_ERR_CANCELED) || fl_err_is(e, FL_ERR_DEADLINE)))
				fl_err_drop(e); /* b's compartment ended: refused, counted */
			else if (e)
				env = fl_err_wrap(e, "submit %s item %ld", key, i + 1);
		}
	if (env)
		fl_bulkhead_cancel(b, NULL);
	*err = fl_bulkhead_wait(b);
	fl_chan_free(run->b_failed);
	*out = b; /* its results live until fl_bulkhead_free */
	return env;
}

static void tn_check(const fl_scenario_params *p, fl_scenario_result *r, tn_run *run,
		     fl_bulkhead *b, const fl_err *err)
{
	fl_scenario_note_err(r, p, "coordinator", err);
	const fl_bulkhead_result *res;
	size_t nres = fl_bulkhead_results(b, &res);
	bool only_b = fl_err_is(err, fl_scenario_err_invalid) && fl_err_join_len(err) == 0 &&
		      strstr(r->err_text, "'b'") && strstr(r->err_text, "item 5");
	fl_scenario_check(r, "failing tenant records its error", only_b, only_b, 1, NULL, "%s",
			  err ? r->err_text : "<nil>");
	long produced = 0, n[4] = {0};
	int healthy_full = 0;
	for (int t = 0; t < TENANTS; t++) {
		long mine[4] = {0};
		for (int k = 0; k < TENANT_ITEMS; k++)
			mine[run->item[t][k].outcome]++;
		for (int k = 0; k < 4; k++)
			n[k] += mine[k];
		produced += TENANT_ITEMS;
		if (t == BAD_TENANT)
			fl_scenario_count(r, "delivered.failing", mine[TN_OK]);
		else
			fl_scenario_count(r, "delivered.healthy", mine[TN_OK]);
		healthy_full += t != BAD_TENANT && mine[TN_OK] == TENANT_ITEMS;
	}
	for (size_t i = 0; i < nres; i++) {
		char name[32];
		snprintf(name, sizeof(name), "tenant.%s", res[i].key);
		fl_scenario_note_group(r, name, TENANT_LIMIT, res[i].hwm);
		if (res[i].key[0] != 'a' + BAD_TENANT)
			healthy_full -= res[i].err != NULL; /* a healthy tenant has no error */
	}
	fl_scenario_check(r, "other tenants unaffected",
			  healthy_full == TENANTS - 1 && nres == TENANTS, healthy_full, TENANTS - 1,
			  NULL,
			  "%d of %d healthy tenants delivered all %d items after b failed (%zu "
			  "compartments)",
			  healthy_full, TENANTS - 1, TENANT_ITEMS, nres);
	long cancelled = n[TN_CANCELED] + n[TN_NONE];
	fl_check_items items;
	fl_check_items_init(&items);
	fl_check_items_add(&items, FL_ITEM_PRODUCED, produced);
	fl_check_items_add(&items, FL_ITEM_DONE, n[TN_OK]);
	fl_check_items_add(&items, FL_ITEM_FAILED, n[TN_FAILED]);
	fl_check_items_add(&items, FL_ITEM_CANCELLED, cancelled);
	fl_check_items_judge(&items, r, "conservation");
	fl_scenario_count(r, "items", n[TN_OK]);
	fl_scenario_count(r, "produced", produced);
	fl_scenario_count(r, "delivered", n[TN_OK]);
	fl_scenario_count(r, "failed", n[TN_FAILED]);
	fl_scenario_count(r, "cancelled", cancelled);
}

static fl_err *tn_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	static tn_run run; /* the scenario thread's alone */
	for (int i = 0; i < p->iterations; i++) {
		memset(&run, 0, sizeof(run));
		fl_bulkhead *b = NULL;
		fl_err *err = NULL, *env = tn_once(&run, &b, &err);
		if (!env)
			tn_check(p, r, &run, b, err);
		fl_err_drop(err);
		fl_bulkhead_free(b);
		if (env)
			return env;
	}
	return NULL;
}

static const char *const tn_checks[] = {"failing tenant records its error",
					"other tenants unaffected", "conservation", NULL};
const fl_scenario fl__scn_bulkhead_tenants = {
	.name = "bulkhead_tenants",
	.description = "task 14: a compartment with SetLimit(8) per tenant (fl/bulkhead.h); "
		       "tenant b's failure leaves a, c and d whole",
	.checks = tn_checks,
	.default_iterations = 1,
	.run = tn_scn,
};
