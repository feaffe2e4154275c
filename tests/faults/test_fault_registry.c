/* fl-test-labels: concurrency memcheck */
/*
 * test_fault_registry.c - the registry's striped lock under load, and the
 * references an evaluation takes only when a plan fires.
 *
 * An evaluation finds its plans and decides under one stripe of the
 * registry lock, and takes plan references only from the first plan that
 * fires on; interning a name and recomputing a stale resolution take every
 * stripe. These cases check that later plans still see an evaluation after
 * an earlier plan's action ran outside the lock, that a settled evaluation
 * stops there, and that exact counts survive more tasks than stripes
 * evaluating shared and run-time-named sites while plans are armed,
 * disarmed and listed around them.
 */
#include "fl_test.h"

#include <fl/fault.h>
#include <fl/group.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static fl_fault_plan *arm(const char *text)
{
	fl_fault_plan *p = NULL;
	ASSERT_NULL(fl_fault_arm(text, 1, &p));
	return p;
}

static fl_fault_point_stats stats(const fl_fault_plan *p, const char *point)
{
	fl_fault_point_stats st;
	ASSERT(fl_fault_stats_get(p, point, &st));
	return st;
}

FL_TEST(later_plans_see_the_evaluation_after_a_fire)
{
	/* quiet never fires (decided under the lock, no reference), loud
	 * fires off without settling (references from here on), errs is then
	 * evaluated after loud's action, outside the lock. */
	fl_fault_plan *quiet = arm("reg/order=@1000 off");
	fl_fault_plan *loud = arm("reg/order=off");
	fl_fault_plan *errs = arm("reg/order=every(2) error(inval)");
	for (int i = 1; i <= 4; i++) {
		fl_err *e = FL_FAULT(NULL, "reg/order");
		ASSERT_EQ(e != NULL, i % 2 == 0);
		ASSERT(!e || fl_err_is(e, FL_ERR_INVAL));
		fl_err_drop(e);
	}
	ASSERT_U64_EQ(stats(quiet, "reg/order").evals, 4);
	ASSERT_U64_EQ(stats(quiet, "reg/order").fires_total, 0);
	ASSERT_U64_EQ(stats(loud, "reg/order").evals, 4);
	ASSERT_U64_EQ(stats(loud, "reg/order").fires[FL_FAULT_ACT_OFF], 4);
	ASSERT_U64_EQ(stats(errs, "reg/order").evals, 4);
	ASSERT_U64_EQ(stats(errs, "reg/order").fires[FL_FAULT_ACT_ERROR], 2);
	fl_fault_plan_free(errs);
	fl_fault_plan_free(loud);
	fl_fault_plan_free(quiet);
}

FL_TEST(settled_evaluation_stops_at_its_plan)
{
	/* The first evaluation leaves an oom pending in first; the guarded
	 * allocation then takes it under the lock, which settles it before
	 * second sees it. */
	fl_fault_plan *first = arm("reg/mem=@1 oom");
	fl_fault_plan *second = arm("reg/mem=off");
	ASSERT_NULL(FL_FAULT(NULL, "reg/mem"));
	ASSERT(FL_FAULT_ALLOC(NULL, "reg/mem"));
	ASSERT(!FL_FAULT_ALLOC(NULL, "reg/mem"));
	ASSERT_U64_EQ(stats(first, "reg/mem").evals, 3);
	ASSERT_U64_EQ(stats(second, "reg/mem").evals, 2); /* not the settled one */
	fl_fault_plan_free(second);
	fl_fault_plan_free(first);
}

/* ---- more tasks than stripes, while plans come and go ---------------------------- */

#define TASKS 24 /* more than the registry's stripes: threads share them */
#define NAMES 6
#define EVALS 1000
#define CHURN 20 /* rounds at least; more until every task is done */

static const char *const names[NAMES] = {"reg/t0", "reg/t1", "reg/t2",
					 "reg/t3", "reg/t4", "reg/t5"};

static atomic_int done;

static fl_err *evaluator(fl_ctx *ctx, void *arg)
{
	int id = (int)(intptr_t)arg;
	/* A run-time-named site of its own: tasks with the same name intern
	 * it concurrently through different sites. */
	fl_fault_site site;
	fl_fault_site_init(&site, names[id % NAMES]);
	for (int i = 0; i < EVALS; i++) {
		fl_err *e = FL_FAULT(ctx, "reg/hot"); /* one site shared by all */
		ASSERT_NULL(e);
		e = fl_fault_point(&site, ctx);
		ASSERT_NULL(e);
	}
	atomic_fetch_add(&done, 1);
	return NULL;
}

FL_TEST(exact_counts_with_more_tasks_than_stripes)
{
	/* yield makes fibers move between workers between evaluations. */
	fl_fault_plan *base = arm("reg/hot=every(5) off; reg/t*=every(7) yield");
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	for (int t = 0; t < TASKS; t++)
		ASSERT_NULL(fl_group_go(g, evaluator, (void *)(intptr_t)t));
	/* Each arm and disarm bumps the generation, so the tasks' cached
	 * resolutions go stale and are recomputed on the write side; the
	 * listing and the stats read under a stripe meanwhile. */
	for (int r = 0; r < CHURN || atomic_load(&done) < TASKS; r++) {
		fl_fault_plan *churn = arm(r % 2 ? "reg/**=every(3) off" : "reg/t1=@1 off");
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		ASSERT_NOT_NULL(m);
		fl_fault_list(m);
		fclose(m);
		free(buf);
		fl_fault_point_stats st;
		(void)fl_fault_stats_get(base, "reg/hot", &st);
		fl_fault_plan_free(churn);
		fl_yield();
	}
	ASSERT_NULL(fl_group_wait(g));
	fl_group_free(g);

	fl_fault_point_stats hot = stats(base, "reg/hot");
	ASSERT_U64_EQ(hot.evals, TASKS * EVALS);
	ASSERT_U64_EQ(hot.fires[FL_FAULT_ACT_OFF], TASKS * EVALS / 5);
	for (int k = 0; k < NAMES; k++) {
		fl_fault_point_stats st = stats(base, names[k]);
		uint64_t n = (uint64_t)(TASKS / NAMES) * EVALS;
		ASSERT_U64_EQ(st.evals, n);
		ASSERT_U64_EQ(st.fires[FL_FAULT_ACT_YIELD], n / 7);
	}
	fl_fault_plan_free(base);
}

FL_TEST_MAIN(FL_CASE(later_plans_see_the_evaluation_after_a_fire),
	     FL_CASE(settled_evaluation_stops_at_its_plan),
	     FL_CASE(exact_counts_with_more_tasks_than_stripes))
