/*
 * checks.c - the engine's verdicts: per iteration, conservation (every
 * item has exactly one fate), error identity (what wait returned against
 * expect_error and the error mode), the bulkheads' limits and tenant
 * isolation, and the per-tenant fate counters; over every iteration, the
 * cancel latencies and the end-to-end SLO.
 */
#include "engine_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const fate_names[NFATE] = {
	"produced", "delivered", "skipped", "shed", "failed", "dead_lettered", "cancelled",
	"duplicated"};

static const fl_err *sentinel_named(const char *name)
{
	static const struct { const char *n; const fl_err *e; } t[] = {
		{"canceled", FL_ERR_CANCELED}, {"deadline", FL_ERR_DEADLINE},
		{"nomem", FL_ERR_NOMEM},       {"closed", FL_ERR_CLOSED},
		{"limit", FL_ERR_LIMIT},       {"inval", FL_ERR_INVAL},
		{"again", FL_ERR_AGAIN},       {"misuse", FL_ERR_MISUSE},
		{"panic", FL_ERR_PANIC},       {"system", FL_ERR_SYSTEM}};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (strcmp(t[i].n, name) == 0)
			return t[i].e;
	return NULL;
}

void fl__eng_check_error(fl__eng *e, fl_scenario_result *r, const fl_err *err, bool cancelled)
{
	const fl__job *j = e->j;
	long escaped = fl__eng_total(e, C_INJECTED) - fl__eng_total(e, C_ABSORBED);
	char got[200] = "<nil>";
	if (err)
		fl_err_format(err, got, sizeof(got));
	const char *want = j->expect_error;
	bool ok;
	char why[120] = "";
	if (want[0] && strcmp(want, "none") != 0) {
		if (strcmp(want, "any") == 0)
			ok = err != NULL;
		else if (strcmp(want, "injected") == 0)
			ok = fl_err_as(err, &fl_fault_info_type) != NULL;
		else
			ok = fl_err_is(err, sentinel_named(want));
		snprintf(why, sizeof(why), "expected %s", want);
		if (ok && j->expect_stage[0]) {
			const fl_scenario_stage_err *se = fl_err_as(err, &fl_scenario_stage_err_type);
			ok = se && strcmp(se->stage, j->expect_stage) == 0;
			snprintf(why, sizeof(why), "expected %s from stage %s", want, j->expect_stage);
		}
	} else if (want[0]) {
		ok = err == NULL;
		snprintf(why, sizeof(why), "expected no error");
	} else if ((escaped > 0 || fl__eng_total(e, C_FAILED) > 0) && j->mode == JOB_FIRST_ERROR) {
		ok = err && (fl_err_as(err, &fl_fault_info_type) ||
			     fl_err_is(err, FL_ERR_CIRCUIT_OPEN) || fl_err_is(err, FL_ERR_PANIC) ||
			     (cancelled && fl_err_is(err, FL_ERR_CANCELED)));
		snprintf(why, sizeof(why), "%ld injected error(s) escaped, %ld item(s) failed: "
			 "fail-fast must return one", escaped, fl__eng_total(e, C_FAILED));
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
	fl_scenario_check(r, JOB_CHECK_ERROR, ok, (double)escaped, NAN, NULL, "%s; got %s", why,
			  got);
}

void fl__eng_check_conservation(fl__eng *e, fl_scenario_result *r)
{
	long n[NCOUNT]; /* every task has joined: the counts are final */
	for (int c = 0; c < NCOUNT; c++)
		n[c] = fl__eng_total(e, c);
	long in = n[C_PRODUCED] + n[C_DUPS];
	long out = n[C_DELIVERED] + n[C_SKIPPED] + n[C_SHED] + n[C_FAILED] + n[C_DLQ] +
		   n[C_CANCELLED];
	fl_scenario_check(r, JOB_CHECK_CONSERVE, in == out, (double)out, (double)in, NULL,
			  "produced %ld + duplicated %ld = %ld; delivered %ld + skipped %ld + "
			  "shed %ld + failed %ld + dead-lettered %ld + cancelled %ld = %ld",
			  n[C_PRODUCED], n[C_DUPS], in, n[C_DELIVERED], n[C_SKIPPED], n[C_SHED],
			  n[C_FAILED], n[C_DLQ], n[C_CANCELLED], out);
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
			 const fl_hdr *h)
{
	const fl_scenario_verdict *v = fl_scenario_find_check(r, JOB_CHECK_CANCEL);
	if (v && v->verdict == FL_REPORT_FAIL)
		return; /* the watchdog already named the stuck stage */
	int64_t n = fl_hdr_total_count(h);
	if (n == 0) {
		const char *why = j->bulkhead > 0
					  ? "no pipeline-wide cancellation (no cancel_at, no "
					    "failure outside a bulkhead compartment)"
					  : "no cancellation happened (no cancel_at, no failing stage)";
		fl_scenario_skip(r, JOB_CHECK_CANCEL, why);
		return;
	}
	int64_t p50 = fl_hdr_value_at_percentile(h, 50), p99 = fl_hdr_value_at_percentile(h, 99);
	int64_t max = fl_hdr_max(h);
	char a[24], b[24], c[24];
	fl_report_format_ns((double)p50, true, a, sizeof(a));
	fl_report_format_ns((double)p99, true, b, sizeof(b));
	fl_report_format_ns((double)max, true, c, sizeof(c));
	if (!fl_scenario_judge_timing(p)) {
		fl_scenario_check(r, JOB_CHECK_CANCEL, true, (double)p99, NAN, "ns",
				  "%lld cancels, every wait returned and joined (p50 %s, p99 %s, "
				  "max %s; thresholds not evaluated: skip_timing)",
				  (long long)n, a, b, c);
		return;
	}
	int64_t s = p->time_scale;
	bool ok50 = !j->cancel_p50_ns || p50 <= j->cancel_p50_ns * s;
	bool ok99 = !j->cancel_p99_ns || p99 <= j->cancel_p99_ns * s;
	bool okmax = !j->cancel_max_ns || max <= j->cancel_max_ns * s;
	fl_scenario_check(r, JOB_CHECK_CANCEL, ok50 && ok99 && okmax, (double)p99,
			  j->cancel_p99_ns ? (double)(j->cancel_p99_ns * s) : NAN, "ns",
			  "%lld cancels: p50 %s, p99 %s, max %s%s", (long long)n, a, b, c,
			  ok50 && ok99 && okmax ? "" : " (over a threshold)");
}

void fl__eng_check_slo(const fl__job *j, const fl_scenario_params *p, fl_scenario_result *r,
		      const fl_hdr *h)
{
	static const double pct[4] = {50, 99, 99.9, 100};
	static const char *const label[4] = {"p50", "p99", "p99.9", "max"};
	bool any = false;
	for (int i = 0; i < 4; i++)
		any |= j->slo_ns[i] > 0;
	if (!any)
		return;
	if (!fl_scenario_judge_timing(p)) {
		char why[FL_SCENARIO_MSG_MAX], a[24], b[24];
		fl_report_format_ns((double)fl_hdr_value_at_percentile(h, 99), true, a, sizeof(a));
		fl_report_format_ns((double)fl_hdr_max(h), true, b, sizeof(b));
		snprintf(why, sizeof(why), "timing goal (skip_timing): end-to-end p99 %s, max %s", a,
			 b);
		fl_scenario_skip(r, JOB_CHECK_SLO, why);
		return;
	}
	if (fl_hdr_total_count(h) == 0) {
		fl_scenario_check(r, JOB_CHECK_SLO, false, NAN, NAN, NULL, "no item delivered");
		return;
	}
	for (int i = 0; i < 4; i++) {
		if (j->slo_ns[i] <= 0)
			continue;
		int64_t v = i == 3 ? fl_hdr_max(h) : fl_hdr_value_at_percentile(h, pct[i]);
		char a[24], b[24];
		fl_report_format_ns((double)v, true, a, sizeof(a));
		fl_report_format_ns((double)j->slo_ns[i], true, b, sizeof(b));
		fl_scenario_check(r, JOB_CHECK_SLO, v <= j->slo_ns[i], (double)v,
				  (double)j->slo_ns[i], "ns", "end-to-end %s %s (SLO %s%s)",
				  label[i], a, b, j->rate > 0 ? ", from intended start" : "");
	}
}
