/* fl-test-labels: concurrency memcheck */
/* fl-test-skip-sim: arm_disarm_races_evaluation */
/* (its racers spin without ever blocking, so sim's virtual time, which moves
 * only when every task is blocked, never reaches the arming loop's sleeps) */
/*
 * test_fault_scope.c - scoped plans: parallel tests do not disturb each other.
 *
 * Two tenants run at once, each with its own plan scoped to its own context
 * and naming the same point. Both plans are armed before either tenant
 * evaluates (a channel handshake), and each tenant must see only its own
 * plan's faults, and each plan count only its own tenant's evaluations.
 */
#include "fl_test.h"

#include <fl/chan.h>
#include <fl/fault.h>
#include <fl/group.h>

#include <stdatomic.h>

#define WORKERS 2
#define ITEMS 1000

struct tenant {
	const char *plan;
	fl_chan *mine, *other; /* "armed" handshake */
	atomic_int errors, drops;
	uint64_t evals_seen; /* by the plan, after the run */
};

static fl_err *worker(fl_ctx *ctx, void *arg)
{
	struct tenant *t = arg;
	for (int64_t i = 0; i < ITEMS; i++) {
		enum fl_fault_verdict v;
		fl_err *e = FL_FAULT_ITEM(ctx, "scope/stage", i, &v);
		if (e) {
			ASSERT(fl_err_is(e, FL_ERR_INVAL));
			atomic_fetch_add(&t->errors, 1);
		}
		fl_err_drop(e);
		if (v == FL_FAULT_DROP)
			atomic_fetch_add(&t->drops, 1);
	}
	return NULL;
}

/* One tenant: arm a plan scoped to a fresh context, wait for the other
 * tenant to be armed too, then run WORKERS workers under the scope. */
static fl_err *tenant_main(fl_ctx *ctx, void *arg)
{
	struct tenant *t = arg;
	fl_ctx *scope;
	ASSERT_NULL(fl_ctx_with_cancel(ctx, &scope));
	fl_fault_plan *p;
	ASSERT_NULL(fl_fault_arm_scoped(t->plan, 1, scope, &p));
	int one = 1;
	ASSERT_EQ(fl_chan_send(t->mine, &one, NULL, FL_FOREVER), FL_OK);
	ASSERT_EQ(fl_chan_recv(t->other, &one, NULL, FL_FOREVER), FL_OK);
	enum fl_fault_verdict v;
	ASSERT_NULL(FL_FAULT_ITEM(NULL, "scope/stage", 0, &v)); /* outside every scope */
	ASSERT_EQ(v, FL_FAULT_KEEP);
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(scope, NULL, &g, &gctx));
	for (int w = 0; w < WORKERS; w++)
		ASSERT_NULL(fl_group_go(g, worker, t));
	ASSERT_NULL(fl_group_wait(g));
	fl_group_free(g);
	fl_fault_point_stats st;
	ASSERT(fl_fault_stats_get(p, "scope/stage", &st));
	t->evals_seen = st.evals;
	fl_fault_plan_free(p);
	fl_ctx_free(scope);
	return NULL;
}

FL_TEST(parallel_scopes_are_isolated)
{
	fl_chan *ca, *cb;
	ASSERT_NULL(fl_chan_new(sizeof(int), 1, NULL, &ca));
	ASSERT_NULL(fl_chan_new(sizeof(int), 1, NULL, &cb));
	struct tenant a = {.plan = "scope/stage=error(inval)", .mine = ca, .other = cb};
	struct tenant b = {.plan = "scope/*=drop", .mine = cb, .other = ca};
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	ASSERT_NULL(fl_group_go(g, tenant_main, &a));
	ASSERT_NULL(fl_group_go(g, tenant_main, &b));
	ASSERT_NULL(fl_group_wait(g));
	fl_group_free(g);
	fl_chan_free(ca);
	fl_chan_free(cb);
	ASSERT_EQ(atomic_load(&a.errors), WORKERS * ITEMS);
	ASSERT_EQ(atomic_load(&a.drops), 0);
	ASSERT_EQ(atomic_load(&b.errors), 0);
	ASSERT_EQ(atomic_load(&b.drops), WORKERS * ITEMS);
	ASSERT_EQ(a.evals_seen, WORKERS * ITEMS);
	ASSERT_EQ(b.evals_seen, WORKERS * ITEMS);
}

FL_TEST(global_and_scoped_plans_in_arm_order)
{
	fl_ctx *scope;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &scope));
	fl_fault_guard global, scoped;
	ASSERT_NULL(fl_fault_guard_begin(&global, "scope/both=every(2) drop", 1, NULL));
	ASSERT_NULL(fl_fault_guard_begin(&scoped, "scope/both=error(closed)", 1, scope));
	/* Under the scope: the global plan drops every 2nd item, which settles
	 * the evaluation; otherwise the scoped plan's error applies. */
	for (int64_t i = 1; i <= 4; i++) {
		enum fl_fault_verdict v;
		fl_err *e = FL_FAULT_ITEM(scope, "scope/both", i, &v);
		ASSERT_EQ(v, i % 2 == 0 ? FL_FAULT_DROP : FL_FAULT_KEEP);
		ASSERT_EQ(fl_err_is(e, FL_ERR_CLOSED), i % 2 == 1);
		fl_err_drop(e);
	}
	/* Outside it, only the global plan. */
	enum fl_fault_verdict v;
	ASSERT_NULL(FL_FAULT_ITEM(NULL, "scope/both", 5, &v));
	ASSERT_EQ(v, FL_FAULT_KEEP); /* the global plan's 5th evaluation */
	fl_fault_guard_end(&scoped);
	fl_fault_guard_end(&scoped); /* twice is fine */
	fl_fault_guard_end(&global);
	ASSERT_NULL(FL_FAULT_ITEM(scope, "scope/both", 6, &v));
	ASSERT_EQ(v, FL_FAULT_KEEP);
	fl_ctx_free(scope);
}

FL_TEST(scoped_arm_needs_scope)
{
	fl_fault_plan *p = NULL;
	fl_err *e = fl_fault_arm_scoped("x=off", 1, NULL, &p);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	ASSERT_NULL(p);
	fl_err_drop(e);
	fl_fault_guard g;
	e = fl_fault_guard_begin(&g, "x=bogus", 1, NULL);
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	ASSERT_NULL(g.plan);
	fl_err_drop(e);
	fl_fault_guard_end(&g);
}

/* ---- arm and disarm while tasks evaluate ------------------------------------------- */

#define RACE_ROUNDS 200

struct race {
	atomic_bool stop;
	atomic_long evals, errors;
};

static fl_err *racer(fl_ctx *ctx, void *arg)
{
	struct race *r = arg;
	while (!atomic_load(&r->stop)) {
		fl_err *e = FL_FAULT(ctx, "race/point");
		atomic_fetch_add(&r->evals, 1);
		if (e) {
			ASSERT(fl_err_is(e, FL_ERR_INVAL));
			atomic_fetch_add(&r->errors, 1);
		}
		fl_err_drop(e);
	}
	return NULL;
}

/* Plans come and go (some tasks hang in them and must be woken by the
 * disarm) while tasks evaluate; afterwards nothing is left behind. (No
 * short timed sleeps here: a timed condvar wait whose timeout races with a
 * wake-up trips a Helgrind false positive inside glibc.) */
FL_TEST(arm_disarm_races_evaluation)
{
	fl_stats before = fl_stats_get();
	struct race r = {0};
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	for (int t = 0; t < 3; t++)
		ASSERT_NULL(fl_group_go(g, racer, &r));
	for (int i = 0; i < RACE_ROUNDS; i++) {
		fl_fault_guard guard;
		const char *plan = i % 2 ? "race/point=10% hang->30% error(inval)->yield"
					 : "race/*=every(3) error(inval)->yield";
		ASSERT_NULL(fl_fault_guard_begin(&guard, plan, (uint64_t)i, i % 4 ? NULL : gctx));
		fl_sleep_until(NULL, fl_deadline_in(FL_US(100)));
		fl_fault_guard_end(&guard);
	}
	atomic_store(&r.stop, true);
	ASSERT_NULL(fl_group_wait(g));
	fl_group_free(g);
	ASSERT_GT(atomic_load(&r.evals), 0);
	fl_stats after = fl_stats_get();
	ASSERT_EQ(after.chans, before.chans); /* every plan's channel was freed */
	ASSERT_EQ(after.errs, before.errs);
	ASSERT_EQ(after.ctxs, before.ctxs);
}

FL_TEST_MAIN(FL_CASE(parallel_scopes_are_isolated), FL_CASE(global_and_scoped_plans_in_arm_order),
	     FL_CASE(scoped_arm_needs_scope), FL_CASE(arm_disarm_races_evaluation))
