/* fl-test-labels: concurrency memcheck */
/* fl-test-sim-only: half_open_probes_close_or_reopen */
/* sim-only: after a failed probe the breaker must still be open, which on a
 * real clock holds only if the test is not preempted for a cool-down; on
 * virtual time no cool-down passes between two steps of the test. */
/*
 * Circuit breaker: opening on a run of failures and on a failure ratio with
 * a minimum volume, the window forgetting old outcomes, fail-fast while
 * open, half-open probes closing or re-opening it, stale tickets,
 * cancellation not counting as failure, callbacks and counters, and
 * concurrent callers under an injected 50% fault rate (the counters add up).
 *
 * Failures come from the fault injector (a point inside the protected call).
 * The cool-down and window cases wait for time to pass on purpose: that is
 * the property under test; they assert the state only after the time has
 * certainly passed.
 */
#include <fl/breaker.h>
#include <fl/retry.h>

#include <stdatomic.h>

#include "resil_util.h"

FL_ERR_SENTINEL(test_dep_down, "dependency down");

/* The protected call: fails where the plan says so. */
typedef struct dep {
	atomic_int calls;
} dep;

static fl_err *dep_call(fl_ctx *ctx, void *arg)
{
	dep *d = arg;
	atomic_fetch_add(&d->calls, 1);
	return FL_FAULT(ctx, "brk/dep");
}

static fl_err *ok_call(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	return NULL;
}

static fl_err *fail_call(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	return fl_err_wrap(test_dep_down, "fail");
}

/* Records transitions. */
typedef struct log {
	atomic_int n;
	enum fl_breaker_state from[16], to[16];
} log_t;

static void on_change(fl_breaker *b, enum fl_breaker_state from, enum fl_breaker_state to,
		      void *arg)
{
	(void)b;
	log_t *l = arg;
	int i = atomic_fetch_add(&l->n, 1);
	ASSERT_LT(i, 16);
	l->from[i] = from;
	l->to[i] = to;
}

static void register_dep_error(void)
{
	ASSERT_NULL(fl_fault_register_error("EDEP", test_dep_down));
}

static void wait_past(int64_t ns) { fl_sleep_until(NULL, fl_deadline_in(ns)); }

FL_TEST(opens_after_consecutive_failures)
{
	baseline();
	register_dep_error();
	fl_fault_plan *plan = arm_plan("brk/dep=100% error(EDEP)");
	log_t lg = {0};
	fl_breaker *b;
	check(fl_breaker_new(&(struct fl_breaker_opts){.name = "db",
						       .consecutive_failures = 3,
						       .cooldown_ns = FL_SEC(3600),
						       .on_change = on_change,
						       .on_change_arg = &lg},
			     &b));
	dep d = {0};
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_CLOSED);
		fl_err *e = fl_breaker_call(b, fl_ctx_background(), dep_call, &d);
		ASSERT(fl_err_is(e, test_dep_down));
		fl_err_drop(e);
	}
	ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_OPEN);
	fl_err *e = fl_breaker_call(b, fl_ctx_background(), dep_call, &d);
	ASSERT(fl_err_is(e, FL_ERR_CIRCUIT_OPEN));
	ASSERT_STR_EQ(err_text(e), "breaker 'db' open: circuit open");
	fl_err_drop(e);
	ASSERT_EQ(atomic_load(&d.calls), 3); /* failed fast: not called */
	fl_breaker_counters c = fl_breaker_counters_get(b);
	ASSERT_EQ(c.failures, 3);
	ASSERT_EQ(c.rejected, 1);
	ASSERT_EQ(c.opened, 1);
	ASSERT_EQ(atomic_load(&lg.n), 1);
	ASSERT_EQ(lg.from[0], FL_BREAKER_CLOSED);
	ASSERT_EQ(lg.to[0], FL_BREAKER_OPEN);
	fl_breaker_free(b);
	fl_fault_plan_free(plan);
	assert_baseline();
}

FL_TEST(success_resets_the_run)
{
	fl_breaker *b;
	check(fl_breaker_new(&(struct fl_breaker_opts){.consecutive_failures = 3}, &b));
	for (int round = 0; round < 5; round++) {
		for (int i = 0; i < 2; i++)
			fl_err_drop(fl_breaker_call(b, fl_ctx_background(), fail_call, NULL));
		check(fl_breaker_call(b, fl_ctx_background(), ok_call, NULL));
	}
	ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_CLOSED);
	ASSERT_EQ(fl_breaker_counters_get(b).failures, 10);
	fl_breaker_free(b);
}

FL_TEST(opens_on_ratio_with_min_volume)
{
	fl_breaker *b;
	check(fl_breaker_new(&(struct fl_breaker_opts){.failure_ratio = 0.5,
						       .min_volume = 10,
						       .window_ns = FL_SEC(3600)},
			     &b));
	/* 4 failures and 5 successes: 9 calls, below the volume. */
	for (int i = 0; i < 4; i++)
		fl_err_drop(fl_breaker_call(b, fl_ctx_background(), fail_call, NULL));
	for (int i = 0; i < 5; i++)
		check(fl_breaker_call(b, fl_ctx_background(), ok_call, NULL));
	ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_CLOSED);
	/* The 10th call fails: 5/10 reaches the ratio. */
	fl_err_drop(fl_breaker_call(b, fl_ctx_background(), fail_call, NULL));
	ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_OPEN);
	fl_breaker_free(b);
}

FL_TEST(ratio_window_forgets)
{
	int64_t window = FL_MS(20);
	fl_breaker *b;
	check(fl_breaker_new(&(struct fl_breaker_opts){.failure_ratio = 0.5,
						       .min_volume = 4,
						       .window_ns = window},
			     &b));
	for (int i = 0; i < 3; i++)
		fl_err_drop(fl_breaker_call(b, fl_ctx_background(), fail_call, NULL));
	wait_past(window + window / 4); /* those three are out of the window */
	check(fl_breaker_call(b, fl_ctx_background(), ok_call, NULL));
	fl_err_drop(fl_breaker_call(b, fl_ctx_background(), fail_call, NULL));
	ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_CLOSED);
	fl_breaker_free(b);
}

FL_TEST(half_open_probes_close_or_reopen)
{
	baseline();
	int64_t cool = FL_MS(20); /* virtual: no expiry between steps */
	log_t lg = {0};
	fl_breaker *b;
	check(fl_breaker_new(&(struct fl_breaker_opts){.consecutive_failures = 1,
						       .cooldown_ns = cool,
						       .probes = 2,
						       .on_change = on_change,
						       .on_change_arg = &lg},
			     &b));
	fl_err_drop(fl_breaker_call(b, fl_ctx_background(), fail_call, NULL));
	ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_OPEN);
	wait_past(cool);
	ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_HALF_OPEN);
	/* Two probes are admitted, a third is refused. */
	fl_breaker_ticket t1, t2, t3;
	check(fl_breaker_allow(b, &t1));
	check(fl_breaker_allow(b, &t2));
	ASSERT(t1.probe && t2.probe);
	fl_err *e = fl_breaker_allow(b, &t3);
	ASSERT(fl_err_is(e, FL_ERR_CIRCUIT_OPEN));
	fl_err_drop(e);
	fl_breaker_done(b, &t1, NULL);
	ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_HALF_OPEN);
	fl_breaker_done(b, &t2, NULL);
	ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_CLOSED);
	/* Again, and this time a probe fails: open for another cool-down. */
	fl_err_drop(fl_breaker_call(b, fl_ctx_background(), fail_call, NULL));
	wait_past(cool);
	check(fl_breaker_allow(b, &t1));
	fl_err *bad = fl_err_new("probe failed");
	fl_breaker_done(b, &t1, bad);
	fl_err_drop(bad);
	ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_OPEN);
	enum fl_breaker_state want_from[] = {FL_BREAKER_CLOSED,    FL_BREAKER_OPEN,
					     FL_BREAKER_HALF_OPEN, FL_BREAKER_CLOSED,
					     FL_BREAKER_OPEN,      FL_BREAKER_HALF_OPEN};
	enum fl_breaker_state want_to[] = {FL_BREAKER_OPEN, FL_BREAKER_HALF_OPEN, FL_BREAKER_CLOSED,
					   FL_BREAKER_OPEN, FL_BREAKER_HALF_OPEN, FL_BREAKER_OPEN};
	ASSERT_EQ(atomic_load(&lg.n), 6);
	for (int i = 0; i < 6; i++) {
		ASSERT_EQ(lg.from[i], want_from[i]);
		ASSERT_EQ(lg.to[i], want_to[i]);
	}
	fl_breaker_counters c = fl_breaker_counters_get(b);
	ASSERT_EQ(c.opened, 3);
	ASSERT_EQ(c.half_opened, 2);
	ASSERT_EQ(c.closed, 1);
	ASSERT_EQ(c.rejected, 1);
	fl_breaker_free(b);
	assert_baseline();
}

FL_TEST(stale_ticket_and_cancellation_do_not_drive_state)
{
	fl_breaker *b;
	check(fl_breaker_new(&(struct fl_breaker_opts){.consecutive_failures = 2,
						       .cooldown_ns = FL_SEC(3600)},
			     &b));
	fl_breaker_ticket old;
	check(fl_breaker_allow(b, &old)); /* admitted while closed */
	/* Cancelled calls are ignored, not failures. */
	fl_ctx *ctx;
	check(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	fl_ctx_cancel(ctx, NULL);
	for (int i = 0; i < 5; i++) {
		fl_breaker_ticket t;
		check(fl_breaker_allow(b, &t));
		fl_breaker_done(b, &t, fl_ctx_err(ctx));
	}
	ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_CLOSED);
	for (int i = 0; i < 2; i++)
		fl_err_drop(fl_breaker_call(b, fl_ctx_background(), fail_call, NULL));
	ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_OPEN);
	/* The old ticket's success arrives late: counted, but it stays open. */
	fl_breaker_done(b, &old, NULL);
	ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_OPEN);
	fl_breaker_counters c = fl_breaker_counters_get(b);
	ASSERT_EQ(c.ignored, 5);
	ASSERT_EQ(c.successes, 1);
	ASSERT_EQ(c.failures, 2);
	fl_ctx_free(ctx);
	fl_breaker_free(b);
}

FL_TEST(invalid_options)
{
	fl_breaker *b = NULL;
	ASSERT(fl_breaker_new(&(struct fl_breaker_opts){.failure_ratio = 1.5}, &b) == FL_ERR_INVAL);
	ASSERT(fl_breaker_new(&(struct fl_breaker_opts){.probes = -1}, &b) == FL_ERR_INVAL);
	ASSERT(fl_breaker_new(NULL, NULL) == FL_ERR_INVAL);
	ASSERT_NULL(b);
	check(fl_breaker_new(NULL, &b)); /* defaults: 5 in a row */
	for (int i = 0; i < 4; i++)
		fl_err_drop(fl_breaker_call(b, fl_ctx_background(), fail_call, NULL));
	ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_CLOSED);
	fl_err_drop(fl_breaker_call(b, fl_ctx_background(), fail_call, NULL));
	ASSERT_EQ(fl_breaker_state(b), FL_BREAKER_OPEN);
	fl_breaker_free(b);
	fl_breaker_free(NULL);
}

/* Concurrent callers, half the calls failing by plan: every call is
 * accounted for exactly once, and the breaker cycles without losing any. */
typedef struct conc {
	fl_breaker *b;
	dep d;
	atomic_long ok, failed, rejected;
} conc;

static fl_err *conc_task(fl_ctx *ctx, void *arg)
{
	conc *c = arg;
	for (int i = 0; i < 300; i++) {
		fl_err *e = fl_breaker_call(c->b, ctx, dep_call, &c->d);
		if (!e)
			atomic_fetch_add(&c->ok, 1);
		else if (fl_err_is(e, FL_ERR_CIRCUIT_OPEN))
			atomic_fetch_add(&c->rejected, 1);
		else if (fl_err_is(e, test_dep_down))
			atomic_fetch_add(&c->failed, 1);
		else
			FL_FAIL("unexpected error %s", err_text(e));
		fl_err_drop(e);
	}
	return NULL;
}

FL_TEST(concurrent_callers_under_faults)
{
	baseline();
	register_dep_error();
	fl_fault_plan *plan = arm_plan("brk/dep=50% error(EDEP)");
	conc c = {0};
	check(fl_breaker_new(&(struct fl_breaker_opts){.consecutive_failures = 4,
						       .cooldown_ns = FL_US(50),
						       .probes = 2},
			     &c.b));
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	for (int i = 0; i < 4; i++)
		check(fl_group_go(g, conc_task, &c));
	check(fl_group_wait(g));
	fl_breaker_counters k = fl_breaker_counters_get(c.b);
	ASSERT_EQ(k.successes, atomic_load(&c.ok));
	ASSERT_EQ(k.failures, atomic_load(&c.failed));
	ASSERT_EQ(k.rejected, atomic_load(&c.rejected));
	ASSERT_EQ(k.successes + k.failures + k.rejected, 4 * 300);
	ASSERT_EQ(k.successes + k.failures, atomic_load(&c.d.calls));
	ASSERT_GE(k.opened, 1); /* 50% failures make 4 in a row near certain */
	ASSERT_GE(k.opened, k.closed);
	fl_group_free(g);
	fl_breaker_free(c.b);
	fl_fault_plan_free(plan);
	assert_baseline();
}

/* A retry around the breaker: once the circuit opens, the open-circuit
 * error is final and the remaining attempts are not spent. */
typedef struct guarded {
	fl_breaker *b;
	dep d;
} guarded;

static fl_err *guarded_attempt(fl_ctx *ctx, int attempt, void *arg)
{
	(void)attempt;
	guarded *g = arg;
	return fl_breaker_call(g->b, ctx, dep_call, &g->d);
}

FL_TEST(retry_stops_at_open_circuit)
{
	baseline();
	register_dep_error();
	fl_fault_plan *plan = arm_plan("brk/dep=100% error(EDEP)");
	guarded g = {0};
	check(fl_breaker_new(&(struct fl_breaker_opts){.consecutive_failures = 3,
						       .cooldown_ns = FL_SEC(3600)},
			     &g.b));
	static const fl_err *const final_errs[] = {FL_ERR_CIRCUIT_OPEN, NULL};
	struct fl_retry_final fin = {.sentinels = final_errs};
	fl_retry_policy p = {.max_attempts = 10,
			     .non_retryable = fl_retry_final_match,
			     .non_retryable_arg = &fin};
	fl_retry_stats st;
	fl_err *e = fl_retry(fl_ctx_background(), &p, guarded_attempt, &g, &st);
	ASSERT(fl_err_is(e, FL_ERR_CIRCUIT_OPEN));
	ASSERT_EQ(st.attempts, 4);             /* 3 failures, then fail fast */
	ASSERT_EQ(atomic_load(&g.d.calls), 3); /* the dependency saw only 3 */
	const fl_retry_info *in = fl_err_as(e, &fl_retry_error_type);
	ASSERT_NOT_NULL(in);
	ASSERT_EQ(in->stop, FL_RETRY_STOP_FINAL);
	fl_err_drop(e);
	fl_breaker_free(g.b);
	fl_fault_plan_free(plan);
	assert_baseline();
}

FL_TEST_MAIN(FL_CASE(opens_after_consecutive_failures), FL_CASE(success_resets_the_run),
	     FL_CASE(opens_on_ratio_with_min_volume), FL_CASE(ratio_window_forgets),
	     FL_CASE(half_open_probes_close_or_reopen),
	     FL_CASE(stale_ticket_and_cancellation_do_not_drive_state), FL_CASE(invalid_options),
	     FL_CASE(concurrent_callers_under_faults), FL_CASE(retry_stops_at_open_circuit))
