/* fl-test-labels: concurrency memcheck */
/*
 * test_fault_actions.c - what each action does when its term fires.
 *
 * Blocking actions run in group tasks; the main thread waits until the fire
 * is recorded (the action is then entered or about to be) before cancelling
 * or disarming, so the outcome never depends on timing. Durations are only
 * checked one-sided (at least d), scaled by FL_TEST_TIME_SCALE.
 */
#include "fl_test.h"

#include <fl/fault.h>
#include <fl/group.h>

#include <string.h>

FL_ERR_SENTINEL(act_etimeout, "operation timed out");

static fl_fault_plan *arm(const char *text)
{
	fl_fault_plan *p = NULL;
	fl_err *e = fl_fault_arm(text, 1, &p);
	if (e) {
		char buf[512];
		fl_err_format(e, buf, sizeof(buf));
		FL_FAIL("arm '%s': %s", text, buf);
	}
	return p;
}

static uint64_t fires(const fl_fault_plan *p, const char *point, enum fl_fault_action a)
{
	fl_fault_point_stats st;
	fl_fault_stats_get(p, point, &st);
	return st.fires[a];
}

/* Waits until the plan recorded n fires at point (the handshake with a task
 * that is entering a blocking action). */
static void wait_fired(const fl_fault_plan *p, const char *point, uint64_t n)
{
	int64_t give_up = fl_deadline_in(fl_test_hang_ns());
	for (;;) {
		fl_fault_point_stats st;
		fl_fault_stats_get(p, point, &st);
		if (st.fires_total >= n)
			return;
		ASSERT_LT(fl_now(), give_up);
		fl_sleep_until(NULL, fl_deadline_in(FL_MS(1)));
	}
}

/* Starts fn in a fresh group under parent. */
static void start(fl_ctx *parent, bool capture, fl_task_fn fn, void *arg, fl_group **g)
{
	struct fl_group_opts o = {.name = "faults", .panic = capture ? FL_PANIC_CAPTURE : 0};
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(parent, &o, g, &gctx));
	ASSERT_NULL(fl_group_go(*g, fn, arg));
}

FL_TEST(error_is_and_as)
{
	ASSERT_NULL(fl_fault_register_error("ETIMEOUT", act_etimeout));
	fl_fault_plan *p = arm("act/err=@2 error(ETIMEOUT)");
	ASSERT_NULL(FL_FAULT(NULL, "act/err"));
	fl_err *e = FL_FAULT(NULL, "act/err");
	ASSERT(fl_err_is(e, act_etimeout));
	const fl_fault_info *info = fl_err_as(e, &fl_fault_info_type);
	ASSERT_NOT_NULL(info);
	ASSERT_STR_EQ(info->point, "act/err");
	ASSERT_EQ(info->action, FL_FAULT_ACT_ERROR);
	ASSERT_EQ(info->eval, 2);
	ASSERT_EQ(info->item, -1);
	ASSERT_U64_EQ(info->plan_id, fl_fault_plan_id(p));
	char buf[256];
	fl_err_format(e, buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "injected error at 'act/err' (eval 2): operation timed out");
	fl_err_drop(e);
	ASSERT_NULL(FL_FAULT(NULL, "act/err"));
	fl_fault_plan_free(p);

	p = arm("act/err2=error(deadline)");
	e = FL_FAULT(NULL, "act/err2");
	ASSERT(fl_err_is(e, FL_ERR_DEADLINE));
	ASSERT(!fl_err_is(e, FL_ERR_CANCELED));
	fl_err_drop(e);
	fl_fault_plan_free(p);
	ASSERT_NULL(FL_FAULT(NULL, "act/err2")); /* disarmed */
}

static fl_err *panic_task(fl_ctx *ctx, void *arg)
{
	(void)arg;
	fl_err *e = FL_FAULT(ctx, "act/panic");
	return e; /* not reached */
}

FL_TEST(panic_is_captured)
{
	fl_fault_plan *p = arm("act/panic=panic(boom)");
	fl_group *g;
	start(fl_ctx_background(), true, panic_task, NULL, &g);
	fl_err *e = fl_group_wait(g);
	ASSERT(fl_err_is(e, FL_ERR_PANIC));
	const fl_panic_info *pi = fl_err_as(e, &fl_panic_type);
	ASSERT_NOT_NULL(pi);
	ASSERT_STR_EQ(pi->msg, "injected panic at 'act/panic' (eval 1): boom");
	fl_err_drop(e);
	fl_group_free(g);
	ASSERT_EQ(fires(p, "act/panic", FL_FAULT_ACT_PANIC), 1);
	fl_fault_plan_free(p); /* the panicking task dropped its reference */
}

static fl_err *point_task(fl_ctx *ctx, void *arg) { return fl_fault_point(arg, ctx); }

/* Runs a blocking action in a task, waits for its fire, cancels the group,
 * and returns what the task returned. */
static fl_err *cancel_while_blocked(const char *plan, fl_fault_site *site)
{
	fl_fault_plan *p = arm(plan);
	fl_group *g;
	int64_t t0 = fl_now();
	start(fl_ctx_background(), false, point_task, site, &g);
	wait_fired(p, site->name, 1);
	fl_group_cancel(g, NULL);
	fl_err *e = fl_group_wait(g);
	if (fl_test_virtual_time()) /* the cancel, not the action's minute, ended it */
		ASSERT_LT(fl_now() - t0, FL_SEC(1));
	fl_group_free(g);
	fl_fault_plan_free(p);
	return e;
}

FL_TEST(sleep_wakes_on_cancel)
{
	static fl_fault_site site = FL_FAULT_SITE_INIT("act/sleep");
	fl_err *e = cancel_while_blocked("act/sleep=sleep(1m)", &site);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	const fl_fault_info *info = fl_err_as(e, &fl_fault_info_type);
	ASSERT_EQ(info->action, FL_FAULT_ACT_SLEEP);
	fl_err_drop(e);
}

static void first_event(const fl_fault_event *ev, void *arg)
{
	fl_fault_event *out = arg;
	if (out->eval == 0)
		*out = *ev;
}

FL_TEST(sleep_durations)
{
	fl_fault_plan *p = arm("act/nap=@1 sleep(20ms)->@2 sleep(uniform(5ms,10ms))");
	int64_t t0 = fl_now();
	ASSERT_NULL(FL_FAULT(NULL, "act/nap"));
	int64_t t1 = fl_now();
	ASSERT_GE(t1 - t0, FL_MS(20));
	ASSERT_NULL(FL_FAULT(NULL, "act/nap"));
	ASSERT_GE(fl_now() - t1, FL_MS(5));
	fl_fault_point_stats st;
	ASSERT(fl_fault_stats_get(p, "act/nap", &st));
	ASSERT_EQ(st.fires[FL_FAULT_ACT_SLEEP], 2);
	ASSERT_GE(st.delay_ns, FL_MS(25));
	fl_fault_event ev = {0};
	fl_fault_log_foreach(p, first_event, &ev);
	ASSERT_EQ(ev.delay_ns, FL_MS(20));
	fl_fault_plan_free(p);
}

FL_TEST(delay_busy_waits)
{
	fl_ctx *ctx;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	fl_ctx_cancel(ctx, NULL); /* delay ignores cancellation */
	fl_fault_plan *p = arm("act/delay=delay(10ms)");
	int64_t t0 = fl_now();
	ASSERT_NULL(FL_FAULT(ctx, "act/delay"));
	ASSERT_GE(fl_now() - t0, FL_MS(10));
	ASSERT_EQ(fires(p, "act/delay", FL_FAULT_ACT_DELAY), 1);
	fl_fault_plan_free(p);
	fl_ctx_free(ctx);
}

FL_TEST(hang_wakes_on_cancel)
{
	static fl_fault_site site = FL_FAULT_SITE_INIT("act/hang");
	fl_err *e = cancel_while_blocked("act/hang=hang", &site);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	const fl_fault_info *info = fl_err_as(e, &fl_fault_info_type);
	ASSERT_EQ(info->action, FL_FAULT_ACT_HANG);
	fl_err_drop(e);
}

FL_TEST(hang_wakes_on_guard_end)
{
	static fl_fault_site site = FL_FAULT_SITE_INIT("act/hang2");
	fl_ctx *scope;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &scope));
	fl_fault_guard guard;
	ASSERT_NULL(fl_fault_guard_begin(&guard, "act/hang2=hang", 1, scope));
	fl_group *g;
	start(scope, false, point_task, &site, &g);
	wait_fired(guard.plan, "act/hang2", 1);
	fl_fault_guard_end(&guard); /* the task wakes and proceeds */
	ASSERT_NULL(guard.plan);
	ASSERT_NULL(fl_group_wait(g));
	ASSERT(!fl_ctx_done(scope));
	fl_group_free(g);
	fl_ctx_free(scope);
}

FL_TEST(stuck_ignores_cancel)
{
	fl_ctx *ctx;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	fl_ctx_cancel(ctx, NULL);
	fl_fault_plan *p = arm("act/stuck=stuck(30ms)");
	int64_t t0 = fl_now();
	ASSERT_NULL(FL_FAULT(ctx, "act/stuck"));
	ASSERT_GE(fl_now() - t0, FL_MS(30));
	fl_fault_plan_free(p);
	fl_ctx_free(ctx);
}

FL_TEST(slow_multiplies_work)
{
	ASSERT(FL_FAULT_SLOW(NULL, "act/slow") == 1.0);
	fl_fault_plan *p = arm("act/slow=slow(3); act/work=slow(3)");
	ASSERT_DBL_NEAR(FL_FAULT_SLOW(NULL, "act/slow"), 3.0, 0);
	int64_t t0 = fl_now();
	ASSERT_NULL(FL_FAULT_WORK(NULL, "act/work", FL_MS(10)));
	ASSERT_GE(fl_now() - t0, FL_MS(20)); /* (3 - 1) x 10ms more */
	fl_fault_point_stats st;
	ASSERT(fl_fault_stats_get(p, "act/work", &st));
	ASSERT_EQ(st.fires[FL_FAULT_ACT_SLOW], 1);
	ASSERT_GE(st.delay_ns, FL_MS(20));
	ASSERT_NULL(FL_FAULT(NULL, "act/slow")); /* slow does not apply at a plain point */
	fl_fault_plan_free(p);
}

FL_TEST(drop_and_dup_verdicts)
{
	fl_fault_plan *p = arm("act/item=items(2..2) drop->items(3..3) dup");
	static const enum fl_fault_verdict want[] = {FL_FAULT_KEEP, FL_FAULT_KEEP, FL_FAULT_DROP,
						     FL_FAULT_DUP, FL_FAULT_KEEP};
	for (int64_t i = 0; i < 5; i++) {
		enum fl_fault_verdict v = FL_FAULT_DUP;
		ASSERT_NULL(FL_FAULT_ITEM(NULL, "act/item", i, &v));
		ASSERT_EQ(v, want[i]);
	}
	ASSERT_NULL(FL_FAULT(NULL, "act/item")); /* verdicts need an item site */
	fl_fault_point_stats st;
	ASSERT(fl_fault_stats_get(p, "act/item", &st));
	ASSERT_EQ(st.evals, 6);
	ASSERT_EQ(st.fires[FL_FAULT_ACT_DROP], 1);
	ASSERT_EQ(st.fires[FL_FAULT_ACT_DUP], 1);
	fl_fault_plan_free(p);
}

FL_TEST(oom_fails_guarded_allocation)
{
	fl_fault_plan *p = arm("act/alloc=@2 oom; act/oom=@1 oom");
	ASSERT(!FL_FAULT_ALLOC(NULL, "act/alloc"));
	ASSERT(FL_FAULT_ALLOC(NULL, "act/alloc"));
	ASSERT(!FL_FAULT_ALLOC(NULL, "act/alloc"));
	/* An oom fired at a plain point fails the next guarded allocation. */
	ASSERT_NULL(FL_FAULT(NULL, "act/oom"));
	ASSERT(FL_FAULT_ALLOC(NULL, "act/oom"));
	ASSERT(!FL_FAULT_ALLOC(NULL, "act/oom"));
	fl_fault_plan_free(p);
}

FL_TEST(yield_print_off)
{
	fl_fault_plan *p = arm("act/misc=@1 yield->@2 print(hello)->@3 off->error(inval)");
	ASSERT_NULL(FL_FAULT(NULL, "act/misc"));
	ASSERT_NULL(FL_FAULT(NULL, "act/misc"));
	ASSERT_NULL(FL_FAULT(NULL, "act/misc"));
	fl_err *e = FL_FAULT(NULL, "act/misc");
	ASSERT(fl_err_is(e, FL_ERR_INVAL));
	fl_err_drop(e);
	fl_fault_point_stats st;
	ASSERT(fl_fault_stats_get(p, "act/misc", &st));
	ASSERT_EQ(st.fires[FL_FAULT_ACT_YIELD], 1);
	ASSERT_EQ(st.fires[FL_FAULT_ACT_PRINT], 1);
	ASSERT_EQ(st.fires[FL_FAULT_ACT_OFF], 1);
	ASSERT_EQ(st.fires[FL_FAULT_ACT_ERROR], 1);
	ASSERT_EQ(st.fires_total, 4);
	fl_fault_plan_free(p);
}

FL_TEST_MAIN(FL_CASE(error_is_and_as), FL_CASE(panic_is_captured), FL_CASE(sleep_wakes_on_cancel),
	     FL_CASE(sleep_durations), FL_CASE(delay_busy_waits), FL_CASE(hang_wakes_on_cancel),
	     FL_CASE(hang_wakes_on_guard_end), FL_CASE(stuck_ignores_cancel),
	     FL_CASE(slow_multiplies_work), FL_CASE(drop_and_dup_verdicts),
	     FL_CASE(oom_fails_guarded_allocation), FL_CASE(yield_print_off))
