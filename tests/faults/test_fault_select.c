/* fl-test-labels: concurrency memcheck */
/*
 * test_fault_select.c - which evaluations fire: @N, @N..M, every(N), p%,
 * cnt*, items(..), peritem, time windows, and seed reproducibility.
 *
 * Probabilities are checked over 100k evaluations with a tolerance of many
 * standard deviations (and the draws are seeded, so the counts never vary
 * anyway). Time windows use small durations and one-sided assertions that
 * hold whatever the scheduler does: "before the window" is asserted only if
 * the evaluation provably happened before it.
 */
#include "fl_test.h"

#include <fl/fault.h>
#include <fl/group.h>

#include <stdlib.h>
#include <string.h>

static fl_fault_plan *arm_seeded(const char *text, uint64_t seed)
{
	fl_fault_plan *p = NULL;
	fl_err *e = fl_fault_arm(text, seed, &p);
	if (e) {
		char buf[512];
		fl_err_format(e, buf, sizeof(buf));
		FL_FAIL("arm '%s': %s", text, buf);
	}
	return p;
}

/* Evaluates site n times; sets fired[k] (1-based k) for each error. */
static int eval_n(fl_fault_site *site, int n, bool *fired)
{
	int count = 0;
	for (int k = 1; k <= n; k++) {
		fl_err *e = fl_fault_point(site, NULL);
		if (fired)
			fired[k] = e != NULL;
		count += e != NULL;
		fl_err_drop(e);
	}
	return count;
}

FL_TEST(exact_hit)
{
	static fl_fault_site site = FL_FAULT_SITE_INIT("sel/at");
	fl_fault_plan *p = arm_seeded("sel/at=@3 error(inval)", 1);
	bool fired[11];
	ASSERT_EQ(eval_n(&site, 10, fired), 1);
	ASSERT(fired[3]);
	fl_fault_plan_free(p);
}

FL_TEST(hit_range)
{
	static fl_fault_site site = FL_FAULT_SITE_INIT("sel/range");
	fl_fault_plan *p = arm_seeded("sel/range=@3..5 error(inval)", 1);
	bool fired[11];
	ASSERT_EQ(eval_n(&site, 10, fired), 3);
	for (int k = 1; k <= 10; k++)
		ASSERT_EQ(fired[k], k >= 3 && k <= 5);
	fl_fault_plan_free(p);
}

FL_TEST(every_nth)
{
	static fl_fault_site site = FL_FAULT_SITE_INIT("sel/every");
	fl_fault_plan *p = arm_seeded("sel/every=every(4) error(inval)", 1);
	bool fired[13];
	ASSERT_EQ(eval_n(&site, 12, fired), 3);
	for (int k = 1; k <= 12; k++)
		ASSERT_EQ(fired[k], k % 4 == 0);
	fl_fault_plan_free(p);
}

FL_TEST(probability)
{
	static fl_fault_site site = FL_FAULT_SITE_INIT("sel/pct");
	fl_fault_plan *p = arm_seeded("sel/pct=1% error(inval)", 12345);
	int n = eval_n(&site, 100000, NULL);
	ASSERT_GE(n, 700); /* 1% +- 0.3%: about 9.5 standard deviations */
	ASSERT_LE(n, 1300);
	fl_fault_plan_free(p);
	p = arm_seeded("sel/pct=0% error(inval)", 1);
	ASSERT_EQ(eval_n(&site, 1000, NULL), 0);
	fl_fault_plan_free(p);
	p = arm_seeded("sel/pct=100% error(inval)", 1);
	ASSERT_EQ(eval_n(&site, 1000, NULL), 1000);
	fl_fault_plan_free(p);
}

FL_TEST(count_limits_fires)
{
	static fl_fault_site site = FL_FAULT_SITE_INIT("sel/cnt");
	fl_fault_plan *p = arm_seeded("sel/cnt=3*error(inval)", 1);
	bool fired[11];
	ASSERT_EQ(eval_n(&site, 10, fired), 3);
	ASSERT(fired[1] && fired[2] && fired[3]);
	fl_fault_plan_free(p);
	/* fail(9): an exhausted term passes to the next one. */
	p = arm_seeded("sel/cnt=2*error(inval)->error(closed)", 1);
	for (int k = 1; k <= 4; k++) {
		fl_err *e = fl_fault_point(&site, NULL);
		ASSERT(fl_err_is(e, k <= 2 ? FL_ERR_INVAL : FL_ERR_CLOSED));
		fl_err_drop(e);
	}
	fl_fault_plan_free(p);
	/* So does a term whose selector excludes the evaluation. */
	p = arm_seeded("sel/cnt=@2 error(inval)->off", 1);
	ASSERT_EQ(eval_n(&site, 5, fired), 1);
	ASSERT(fired[2]);
	fl_fault_plan_free(p);
}

FL_TEST(item_ranges)
{
	fl_fault_plan *p = arm_seeded("sel/items=items(5..7) error(inval)", 1);
	for (int64_t i = 0; i < 10; i++) {
		enum fl_fault_verdict v;
		fl_err *e = FL_FAULT_ITEM(NULL, "sel/items", i, &v);
		ASSERT_EQ(e != NULL, i >= 5 && i <= 7);
		fl_err_drop(e);
	}
	fl_err *e = FL_FAULT(NULL, "sel/items"); /* no item: items() never matches */
	ASSERT_NULL(e);
	fl_fault_plan_free(p);
}

/* Task 5 of the reference exercises: every item fails transiently twice. */
static fl_err *retry_items(fl_ctx *ctx, void *arg)
{
	int64_t first = *(int64_t *)arg;
	for (int64_t item = first; item < 400; item += 4) {
		for (int attempt = 1;; attempt++) {
			enum fl_fault_verdict v;
			fl_err *e = FL_FAULT_ITEM(ctx, "sel/fetch", item, &v);
			if (!e)
				break;
			ASSERT(fl_err_is(e, FL_ERR_AGAIN));
			const fl_fault_info *info = fl_err_as(e, &fl_fault_info_type);
			ASSERT_EQ(info->item, item);
			fl_err_drop(e);
			ASSERT_LE(attempt, 2);
		}
	}
	return NULL;
}

FL_TEST(peritem_counts_attempts_per_item)
{
	fl_fault_plan *p = arm_seeded("sel/fetch=peritem @1..2 error(again)", 1);
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	static int64_t firsts[4] = {0, 1, 2, 3};
	for (int t = 0; t < 4; t++)
		ASSERT_NULL(fl_group_go(g, retry_items, &firsts[t]));
	ASSERT_NULL(fl_group_wait(g));
	fl_group_free(g);
	fl_fault_point_stats st;
	ASSERT(fl_fault_stats_get(p, "sel/fetch", &st));
	ASSERT_EQ(st.evals, 3 * 400);
	ASSERT_EQ(st.fires[FL_FAULT_ACT_ERROR], 2 * 400);
	fl_fault_plan_free(p);
}

FL_TEST(window_after)
{
	static fl_fault_site site = FL_FAULT_SITE_INIT("sel/after");
	int64_t w = FL_MS(20) * fl_test_time_scale();
	char text[96];
	snprintf(text, sizeof(text), "sel/after=after(%lldns) error(inval)", (long long)w);
	int64_t t0 = fl_now();
	fl_fault_plan *p = arm_seeded(text, 1);
	int64_t armed = fl_now();
	fl_err *e = fl_fault_point(&site, NULL);
	if (fl_now() - t0 < w) /* provably inside the window's "before" part */
		ASSERT_NULL(e);
	fl_err_drop(e);
	fl_sleep_until(NULL, armed + w);
	e = fl_fault_point(&site, NULL);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	fl_fault_plan_free(p);
}

FL_TEST(window_until)
{
	static fl_fault_site site = FL_FAULT_SITE_INIT("sel/until");
	int64_t w = FL_MS(20) * fl_test_time_scale();
	char text[96];
	snprintf(text, sizeof(text), "sel/until=until(%lldns) error(inval)", (long long)w);
	int64_t t0 = fl_now();
	fl_fault_plan *p = arm_seeded(text, 1);
	int64_t armed = fl_now();
	fl_err *e = fl_fault_point(&site, NULL);
	if (fl_now() - t0 < w)
		ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	fl_sleep_until(NULL, armed + w);
	ASSERT_NULL(fl_fault_point(&site, NULL));
	fl_fault_plan_free(p);
}

/* ---- reproducibility ------------------------------------------------------------ */

#define REPRO_THREADS 4
#define REPRO_EVALS 10000

static fl_err *repro_task(fl_ctx *ctx, void *arg)
{
	(void)arg;
	for (int i = 0; i < REPRO_EVALS / REPRO_THREADS; i++) {
		enum fl_fault_verdict v;
		fl_err *e = FL_FAULT_ITEM(ctx, "sel/repro", 0, &v);
		fl_err_drop(e);
	}
	return NULL;
}

/* decision[k] = 1 + the term that fired at evaluation k, or 0. */
static void record(const fl_fault_event *ev, void *arg)
{
	unsigned char *decision = arg;
	ASSERT_GE(ev->eval, 1);
	ASSERT_LE(ev->eval, REPRO_EVALS);
	ASSERT_EQ(decision[ev->eval], 0);
	decision[ev->eval] = (unsigned char)(1 + ev->term);
}

/* Runs the plan with seed on 4 concurrent tasks (or 1); fills decision. */
static void repro_run(uint64_t seed, int tasks, unsigned char *decision)
{
	fl_fault_plan *p =
		arm_seeded("sel/repro=10% error(inval)->10% drop->5% error(closed)", seed);
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	for (int t = 0; t < REPRO_THREADS; t++) {
		if (tasks == 1)
			ASSERT_NULL(repro_task(gctx, NULL));
		else
			ASSERT_NULL(fl_group_go(g, repro_task, NULL));
	}
	ASSERT_NULL(fl_group_wait(g));
	fl_group_free(g);
	memset(decision, 0, REPRO_EVALS + 1);
	ASSERT_EQ(fl_fault_log_overflows(p), 0);
	fl_fault_log_foreach(p, record, decision);
	fl_fault_plan_free(p);
}

FL_TEST(same_seed_same_decisions)
{
	unsigned char *a = malloc(REPRO_EVALS + 1), *b = malloc(REPRO_EVALS + 1);
	unsigned char *c = malloc(REPRO_EVALS + 1), *d = malloc(REPRO_EVALS + 1);
	repro_run(42, REPRO_THREADS, a);
	repro_run(42, REPRO_THREADS, b);
	repro_run(42, 1, c); /* the sequential oracle */
	repro_run(43, REPRO_THREADS, d);
	ASSERT_EQ(memcmp(a, b, REPRO_EVALS + 1), 0);
	ASSERT_EQ(memcmp(a, c, REPRO_EVALS + 1), 0);
	ASSERT_NE(memcmp(a, d, REPRO_EVALS + 1), 0);
	int per_term[4] = {0};
	for (int k = 1; k <= REPRO_EVALS; k++)
		per_term[a[k]]++;
	ASSERT_GT(per_term[1], 800); /* 10% of 10k */
	ASSERT_GT(per_term[2], 600); /* 10% of the remaining 90% */
	ASSERT_GT(per_term[3], 250); /* 5% of the remaining 81% */
	free(a);
	free(b);
	free(c);
	free(d);
}

FL_TEST(seed_term_overrides_argument)
{
	fl_fault_plan *p = arm_seeded("seed=99; sel/x=off", 5);
	ASSERT_U64_EQ(fl_fault_plan_seed(p), 99);
	ASSERT_STR_EQ(fl_fault_plan_text(p), "seed=99; sel/x=off");
	fl_fault_plan_free(p);
	p = arm_seeded("sel/x=off", 5);
	ASSERT_U64_EQ(fl_fault_plan_seed(p), 5);
	fl_fault_plan_free(p);
}

FL_TEST_MAIN(FL_CASE(exact_hit), FL_CASE(hit_range), FL_CASE(every_nth), FL_CASE(probability),
	     FL_CASE(count_limits_fires), FL_CASE(item_ranges),
	     FL_CASE(peritem_counts_attempts_per_item), FL_CASE(window_after),
	     FL_CASE(window_until), FL_CASE(same_seed_same_decisions),
	     FL_CASE(seed_term_overrides_argument))
