/*
 * checks.c - the engine's verdicts: per iteration, conservation (every
 * item has exactly one fate), error identity (what wait returned against
 * expect_error and the error mode), the bulkheads' limits and tenant
 * isolation, and the per-tenant fate counters; over every iteration, the
 * cancel latencies and the end-to-end SLO. Cancellation, conservation,
 * error identity and the SLO are judged by the public checks (fl/check.h),
 * the same ones any scenario body calls; this file maps the engine's
 * counts and the job's expectations onto them.
 */
#include "engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fate_names[NFATE] = {"produced",  "delivered", "skipped",
					      "shed",      "failed",    "dead_lettered",
					      "cancelled", "duplicated"};

static const fl_err *sentinel_named(const char *name)
{
	static const struct {
		const char *n;
		const fl_err *e;
	} t[] = {{"canceled", FL_ERR_CANCELED}, {"deadline", FL_ERR_DEADLINE},
		 {"nomem", FL_ERR_NOMEM},       {"closed", FL_ERR_CLOSED},
		 {"limit", FL_ERR_LIMIT},       {"inval", FL_ERR_INVAL},
		 {"again", FL_ERR_AGAIN},       {"misuse", FL_ERR_MISUSE},
		 {"panic", FL_ERR_PANIC},       {"system", FL_ERR_SYSTEM}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].n, name) == 0)
			return t[i].e;
	return NULL;
}

static bool stage_named(const void *payload, void *arg)
{
	return strcmp(((const fl_scenario_stage_err *)payload)->stage, (const char *)arg) == 0;
}

/* What the job file expects (expect_error, expect_stage), through the
 * public identity checks; false when it expects nothing in particular. */
static bool check_expected(fl__eng *e, fl_scenario_result *r, const fl_err *err)
{
	const fl__job *j = e->j;
	const char *want = j->expect_error;
	if (!want[0])
		return false;
	if (strcmp(want, "none") == 0)
		fl_check_err_is(r, JOB_CHECK_ERROR, err, NULL);
	else if (strcmp(want, "any") == 0)
		fl_check_err_returned(r, JOB_CHECK_ERROR, err, "expected any");
	else if (strcmp(want, "injected") == 0)
		fl_check_err_as(r, JOB_CHECK_ERROR, err, &fl_fault_info_type, NULL, NULL, NULL);
	else
		fl_check_err_is(r, JOB_CHECK_ERROR, err, sentinel_named(want));
	if (j->expect_stage[0] && strcmp(want, "none") != 0)
		fl_check_err_as(r, JOB_CHECK_ERROR, err, &fl_scenario_stage_err_type, stage_named,
				(void *)j->expect_stage, NULL);
	return true;
}

void fl__eng_check_error(fl__eng *e, fl_scenario_result *r, const fl_err *err, bool cancelled)
{
	const fl__job *j = e->j;
	if (check_expected(e, r, err))
		return;
	long escaped = fl__eng_total(e, C_INJECTED) - fl__eng_total(e, C_ABSORBED);
	bool ok;
	char why[120];
	if ((escaped > 0 || fl__eng_total(e, C_FAILED) > 0) && j->mode == JOB_FIRST_ERROR) {
		snprintf(why, sizeof(why),
			 "%ld injected error(s) escaped, %ld item(s) failed: "
			 "fail-fast must return one",
			 escaped, fl__eng_total(e, C_FAILED));
		if (!err) {
			fl_check_err_returned(r, JOB_CHECK_ERROR, err, why);
			return;
		}
		ok = fl_err_as(err, &fl_fault_info_type) || fl_err_is(err, FL_ERR_CIRCUIT_OPEN) ||
		     fl_err_is(err, FL_ERR_PANIC) || (cancelled && fl_err_is(err, FL_ERR_CANCELED));
	} else if (escaped > 0 && j->mode == JOB_COLLECT_ALL) {
		long kept = (long)e->nerrs + e->extra_errs;
		ok = err && kept == escaped;
		snprintf(why, sizeof(why), "collect-all: %ld of %ld injected errors joined", kept,
			 escaped);
	} else if (cancelled) {
		/* a stage may have failed on its own while the cancel landed */
		ok = fl_err_is(err, FL_ERR_CANCELED) || fl_err_is(err, FL_ERR_PANIC) ||
		     (escaped > 0 && fl_err_as(err, &fl_fault_info_type));
		snprintf(why, sizeof(why), "cancelled by the driver: expected canceled");
	} else {
		ok = err == NULL || fl_err_is(err, FL_ERR_PANIC);
		snprintf(why, sizeof(why), "no error escaped a stage: expected nil");
	}
	fl_check_err_verdict(r, JOB_CHECK_ERROR, ok, (double)escaped, why, err);
}

void fl__eng_check_conservation(fl__eng *e, fl_scenario_result *r)
{
	/* every task has joined: the counts are final */
	static const struct {
		int c;
		enum fl_check_fate f;
	} map[] = {{C_PRODUCED, FL_ITEM_PRODUCED}, {C_DUPS, FL_ITEM_DUPLICATED},
		   {C_DELIVERED, FL_ITEM_DONE},    {C_FAILED, FL_ITEM_FAILED},
		   {C_SKIPPED, FL_ITEM_SKIPPED},   {C_SHED, FL_ITEM_SHED},
		   {C_DLQ, FL_ITEM_DEAD_LETTERED}, {C_CANCELLED, FL_ITEM_CANCELLED}};
	fl_check_items items;
	fl_check_items_init(&items);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		fl_check_items_add(&items, map[i].f, fl__eng_total(e, map[i].c));
	fl_check_items_judge(&items, r, JOB_CHECK_CONSERVE);
}

/* ---- bulkhead checks ------------------------------------------------------------ */

/* Per dispatching stage, over its compartments: no hwm above the limit,
 * and every compartment ever found full (try_go refused) reached it. */
void fl__eng_check_bulkheads(fl__eng *e, fl_scenario_result *r)
{
	const fl__job *j = e->j;
	int lim = j->bulkhead;
	bool shared = j->plant == PLANT_SHARED_BULKHEAD;
	for (int s = 1; s < j->nstages - 1; s++) {
		const char *hwm_check = j->bh_checks[s][0], *reach_check = j->bh_checks[s][1];
		if (!hwm_check[0])
			continue;
		const fl__eng_bh *bs = &e->bh[s];
		if (!bs->ran) {
			fl_scenario_skip(r, hwm_check, "the dispatcher did not run to its end");
			fl_scenario_skip(r, reach_check, "the dispatcher did not run to its end");
			continue;
		}
		int nkeys = 0, top = -1, nsat = 0, short_k = -1;
		for (int k = 0; k < FL__JOB_MAX_TENANTS; k++) {
			if (!bs->used[k])
				continue;
			nkeys++;
			if (top < 0 || bs->hwm[k] > bs->hwm[top])
				top = k;
			if (!bs->saturated[k])
				continue;
			nsat++;
			if (bs->hwm[k] != lim && short_k < 0)
				short_k = k;
		}
		const char *stage = j->shape == JOB_PERITEM ? "per-item" : j->stages[s];
#define KEY(k) (shared ? "shared" : e->tkeys[k])
		int hwm = top < 0 ? 0 : bs->hwm[top];
		fl_scenario_check(r, hwm_check, hwm <= lim, hwm, lim, NULL,
				  "%d compartment(s); highest hwm %d (%s/%s), limit %d", nkeys, hwm,
				  stage, top < 0 ? "-" : KEY(top), lim);
		if (nsat == 0)
			fl_scenario_skip(r, reach_check, "no compartment was ever full");
		else if (short_k < 0)
			fl_scenario_check(r, reach_check, true, lim, lim, NULL,
					  "%d compartment(s) were full and every one reached %d",
					  nsat, lim);
		else
			fl_scenario_check(r, reach_check, false, bs->hwm[short_k], lim, NULL,
					  "%s/%s was full (try_go refused) but its hwm is %d of %d",
					  stage, KEY(short_k), bs->hwm[short_k], lim);
#undef KEY
	}
}

typedef struct hit_scan {
	const fl__eng *e;
	bool *hit;
} hit_scan;

static void hit_by_event(const fl_fault_event *ev, void *arg)
{
	hit_scan *h = arg;
	if (ev->item >= 0 && ev->t_ns >= h->e->t_start)
		h->hit[fl__eng_tenant_of(h->e, (long)ev->item)] = true;
}

/* Marks the tenants plan's faults met in this iteration: from its fire
 * log, or if the log overflowed, from its "tK/STAGE" points' counts. */
static void hits_of_plan(const fl__eng *e, const fl_fault_plan *plan, bool *hit)
{
	if (!plan)
		return;
	hit_scan hs = {e, hit};
	fl_fault_log_foreach(plan, hit_by_event, &hs);
	if (fl_fault_log_overflows(plan) == 0)
		return;
	fl_fault_point_stats st;
	for (int t = 0; t < e->ntenants; t++)
		for (int s = 1; s < e->j->nstages - 1 && !hit[t]; s++)
			hit[t] = fl_fault_stats_get(plan, e->tpoints[t][s], &st) &&
				 st.fires_total > 0;
}

/*
 * Tenant isolation: a tenant no fault met must lose nothing to another's
 * trouble. Hit: a fault fired on one of its items in this iteration (the
 * fire logs of the job's plan and of the runner's), the engine saw an
 * injected error or a fault's wait cut short on one, or an item of it
 * failed or was dead-lettered. Every other tenant must have shed nothing
 * and had nothing cancelled.
 */
void fl__eng_check_isolation(fl__eng *e, fl_scenario_result *r, bool cancelled)
{
	if (cancelled) {
		fl_scenario_skip(r, JOB_CHECK_ISOLATION,
				 "does not apply under a driver cancel (cancel_at): every tenant "
				 "loses its items in flight");
		return;
	}
	if (atomic_load(&e->fail_ns)) {
		fl_scenario_skip(r, JOB_CHECK_ISOLATION,
				 "does not apply: a failure outside the compartments cancelled "
				 "the whole pipeline");
		return;
	}
	int nt = e->ntenants;
	bool hit[FL__JOB_MAX_TENANTS];
	for (int t = 0; t < nt; t++)
		hit[t] = atomic_load(&e->hit[t]) || atomic_load(&e->tn[C_FAILED][t]) > 0 ||
			 atomic_load(&e->tn[C_DLQ][t]) > 0;
	hits_of_plan(e, e->plan, hit);        /* the job's own */
	hits_of_plan(e, r->faults_plan, hit); /* the runner's (--faults, stress) */
	char hits[120] = "";
	size_t len = 0;
	int nhit = 0, bad = -1, nbad = 0;
	for (int t = 0; t < nt; t++) {
		long shed = atomic_load(&e->tn[C_SHED][t]);
		long canc = atomic_load(&e->tn[C_CANCELLED][t]);
		if (hit[t]) {
			nhit++;
			if (len < sizeof(hits) - 1)
				len += (size_t)snprintf(hits + len, sizeof(hits) - len, "%s%s",
							len ? ", " : "", e->tkeys[t]);
		} else if (shed || canc) {
			nbad++;
			bad = bad < 0 ? t : bad;
		}
	}
	if (bad >= 0) {
		fl_scenario_check(r, JOB_CHECK_ISOLATION, false, nbad, 0, NULL,
				  "%s: no fault met it, yet %ld shed and %ld cancelled (produced "
				  "%ld, delivered %ld); %d such tenant(s); hit: %s",
				  e->tkeys[bad], atomic_load(&e->tn[C_SHED][bad]),
				  atomic_load(&e->tn[C_CANCELLED][bad]),
				  atomic_load(&e->tn[C_PRODUCED][bad]),
				  atomic_load(&e->tn[C_DELIVERED][bad]), nbad,
				  nhit ? hits : "none");
		return;
	}
	fl_scenario_check(r, JOB_CHECK_ISOLATION, true, 0, 0, NULL,
			  "%d tenant(s) hit (%s); the other %d lost nothing", nhit,
			  nhit ? hits : "none", nt - nhit);
}

/* Per-tenant fates as counters "tenant.tK.FATE" (produced and delivered
 * always, the others when not zero), as far as the result has room. */
void fl__eng_count_tenants(fl__eng *e, fl_scenario_result *r)
{
	char name[FL_SCENARIO_NAME_MAX];
	for (int t = 0; t < e->ntenants; t++)
		for (int c = 0; c < NFATE; c++) {
			long v = atomic_load(&e->tn[c][t]);
			if (v == 0 && c != C_PRODUCED && c != C_DELIVERED)
				continue;
			snprintf(name, sizeof(name), "tenant.%s.%s", e->tkeys[t], fate_names[c]);
			if (fl_scenario_find_counter(r, name) ||
			    r->ncounters < FL_SCENARIO_MAX_COUNTERS)
				fl_scenario_count(r, name, v);
		}
}

/* p50/p99/max of the cancel latencies against the job's thresholds. */
void fl__eng_check_cancel(const fl__job *j, const fl_scenario_params *p, fl_scenario_result *r,
			  fl_check_cancel *c)
{
	(void)j;
	const fl_scenario_verdict *v = fl_scenario_find_check(r, JOB_CHECK_CANCEL);
	if (v && v->verdict == FL_REPORT_FAIL)
		return; /* the watchdog already named the stuck stage */
	fl_check_cancel_judge(c, p);
}

/* The end-to-end SLOs the job sets, over every iteration's items. */
void fl__eng_check_slo(const fl__job *j, const fl_scenario_params *p, fl_scenario_result *r)
{
	static const double pct[4] = {50, 99, 99.9, 100};
	for (int i = 0; i < 4; i++)
		if (j->slo_ns[i] > 0)
			fl_check_slo(r, p, JOB_CHECK_SLO, "e2e", pct[i], j->slo_ns[i]);
}
