/* fl-test-labels: concurrency memcheck */
/*
 * Hedging: no hedge when attempt 1 is fast, a hedge that wins while the
 * slow attempt is cancelled and joined, an injected failure hedging at
 * once, every attempt failing (joined error), cancellation during the hedge
 * wait, the quantile estimator and its use as the delay, and tied requests
 * (the first to start cancels the other; the starter's failure is final).
 * Every case checks the live counts return to the baseline: no task leaks.
 *
 * Slow attempts block on their context (only cancellation ends them), so
 * no outcome depends on timing; a hedge delay is either 0/tiny (the hedge
 * must fire) or an hour (it must not).
 */
#include <fl/hedge.h>

#include <stdatomic.h>

#include "resil_util.h"

FL_ERR_SENTINEL(test_hedge_fail, "replica failed");

typedef struct replicas {
	atomic_int calls;
	atomic_int saw_cancel;
	int slow_upto; /* attempts 1..slow_upto block until cancelled */
	sem started;   /* posted by every attempt on entry */
} replicas;

static fl_err *replica(fl_ctx *ctx, int attempt, void *arg)
{
	replicas *r = arg;
	atomic_fetch_add(&r->calls, 1);
	sem_post_(&r->started);
	if (attempt <= r->slow_upto) {
		fl_ctx_wait(ctx, FL_FOREVER);
		atomic_fetch_add(&r->saw_cancel, 1);
		return fl_ctx_cause(ctx);
	}
	return FL_FAULT(ctx, "hedge/replica");
}

static void setup(replicas *r, int slow)
{
	*r = (replicas){.slow_upto = slow};
	sem_init_(&r->started);
}

FL_TEST(fast_first_attempt_fires_no_hedge)
{
	baseline();
	replicas r;
	setup(&r, 0);
	fl_hedge_stats st;
	struct fl_hedge_opts o = {.max_attempts = 3, .delay_ns = FL_SEC(3600)};
	check(fl_hedge(fl_ctx_background(), &o, replica, &r, &st));
	ASSERT_EQ(st.fired, 1);
	ASSERT_EQ(st.winner, 1);
	ASSERT(!st.hedge_won);
	ASSERT_EQ(atomic_load(&r.calls), 1);
	sem_destroy_(&r.started);
	assert_baseline();
}

FL_TEST(hedge_wins_and_slow_attempt_is_cancelled_and_joined)
{
	baseline();
	replicas r;
	setup(&r, 2); /* attempts 1 and 2 hang: the third wins */
	fl_hedge_stats st;
	struct fl_hedge_opts o = {.max_attempts = 3, .delay_ns = FL_US(100)};
	check(fl_hedge(fl_ctx_background(), &o, replica, &r, &st));
	ASSERT_EQ(st.fired, 3);
	ASSERT_EQ(st.winner, 3);
	ASSERT(st.hedge_won);
	ASSERT_EQ(atomic_load(&r.saw_cancel), 2); /* joined: both already returned */
	ASSERT_EQ(fl_stats_get().tasks, base.tasks);
	sem_destroy_(&r.started);
	assert_baseline();
}

FL_TEST(injected_failure_hedges_at_once)
{
	baseline();
	ASSERT_NULL(fl_fault_register_error("EREPLICA", test_hedge_fail));
	fl_fault_plan *plan = arm_plan("hedge/replica=@1 error(EREPLICA)");
	replicas r;
	setup(&r, 0);
	fl_hedge_stats st;
	struct fl_hedge_opts o = {.max_attempts = 3, .delay_ns = FL_SEC(3600)};
	check(fl_hedge(fl_ctx_background(), &o, replica, &r, &st));
	ASSERT_EQ(st.fired, 2); /* did not wait the hour */
	ASSERT_EQ(st.winner, 2);
	fl_fault_plan_free(plan);
	sem_destroy_(&r.started);
	assert_baseline();
}

FL_TEST(all_attempts_fail_with_joined_error)
{
	baseline();
	ASSERT_NULL(fl_fault_register_error("EREPLICA", test_hedge_fail));
	fl_fault_plan *plan = arm_plan("hedge/replica=100% error(EREPLICA)");
	replicas r;
	setup(&r, 0);
	fl_hedge_stats st;
	struct fl_hedge_opts o = {.max_attempts = 3, .delay_ns = FL_SEC(3600)};
	fl_err *e = fl_hedge(fl_ctx_background(), &o, replica, &r, &st);
	ASSERT(fl_err_is(e, test_hedge_fail));
	ASSERT_EQ(fl_err_join_len(e), 3);
	ASSERT_EQ(st.fired, 3);
	ASSERT_EQ(st.winner, 0);
	fl_err_drop(e);
	fl_fault_plan_free(plan);
	sem_destroy_(&r.started);
	assert_baseline();
}

typedef struct caller {
	replicas r;
	fl_err *result;
	fl_hedge_stats st;
} caller;

static fl_err *caller_task(fl_ctx *ctx, void *arg)
{
	caller *c = arg;
	struct fl_hedge_opts o = {.max_attempts = 3, .delay_ns = FL_SEC(3600), .name = "hedged"};
	c->result = fl_hedge(ctx, &o, replica, &c->r, &c->st);
	return NULL;
}

FL_TEST(cancel_during_hedge_wait)
{
	baseline();
	caller c = {0};
	setup(&c.r, 1);
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	check(fl_group_go_named(g, "caller", caller_task, &c));
	sem_wait_(&c.r.started);
	wait_dump("chan recv on 'hedge'"); /* the caller waits out the delay */
	fl_group_cancel(g, test_hedge_fail);
	check(fl_group_wait(g));
	ASSERT(fl_err_is(c.result, FL_ERR_CANCELED));
	ASSERT(fl_err_is(c.result, test_hedge_fail)); /* the cause */
	ASSERT_EQ(c.st.fired, 1);
	ASSERT_EQ(c.st.winner, 0);
	ASSERT_EQ(atomic_load(&c.r.saw_cancel), 1);
	fl_err_drop(c.result);
	fl_group_free(g);
	sem_destroy_(&c.r.started);
	assert_baseline();
}

FL_TEST(estimator_quantiles)
{
	fl_hedge_estimator *e;
	check(fl_hedge_estimator_new(0, &e));
	for (int i = 1; i <= 15; i++)
		fl_hedge_estimator_record(e, i);
	ASSERT_EQ(fl_hedge_estimator_quantile(e, 0.5), -1); /* warming up */
	for (int i = 16; i <= 100; i++)
		fl_hedge_estimator_record(e, i);
	ASSERT_EQ(fl_hedge_estimator_quantile(e, 0.5), 50);
	ASSERT_EQ(fl_hedge_estimator_quantile(e, 0.95), 95);
	ASSERT_EQ(fl_hedge_estimator_quantile(e, 1.0), 100);
	ASSERT_EQ(fl_hedge_estimator_quantile(e, 0), -1);
	fl_hedge_estimator_free(e);
	/* A small window keeps only the most recent samples. */
	check(fl_hedge_estimator_new(16, &e));
	for (int i = 1; i <= 100; i++)
		fl_hedge_estimator_record(e, i);
	ASSERT_EQ(fl_hedge_estimator_quantile(e, 0.01), 85);
	ASSERT_EQ(fl_hedge_estimator_quantile(e, 1.0), 100);
	fl_hedge_estimator_free(e);
	ASSERT(fl_hedge_estimator_new(-1, &e) == FL_ERR_INVAL);
	/* The same q is served from a cache until 16 more samples arrive. */
	check(fl_hedge_estimator_new(0, &e));
	for (int i = 0; i < 16; i++)
		fl_hedge_estimator_record(e, 10);
	ASSERT_EQ(fl_hedge_estimator_quantile(e, 0.9), 10);
	for (int i = 0; i < 15; i++)
		fl_hedge_estimator_record(e, 1000);
	ASSERT_EQ(fl_hedge_estimator_quantile(e, 0.9), 10);    /* cached */
	ASSERT_EQ(fl_hedge_estimator_quantile(e, 0.95), 1000); /* another q: sorted */
	fl_hedge_estimator_record(e, 1000);
	ASSERT_EQ(fl_hedge_estimator_quantile(e, 0.9), 1000);
	fl_hedge_estimator_free(e);
}

FL_TEST(quantile_sets_the_delay_and_first_attempts_are_recorded)
{
	baseline();
	fl_hedge_estimator *est;
	check(fl_hedge_estimator_new(32, &est));
	for (int i = 0; i < 32; i++)
		fl_hedge_estimator_record(est, FL_SEC(3600));
	replicas r;
	setup(&r, 0);
	fl_hedge_stats st;
	struct fl_hedge_opts o = {.max_attempts = 2, .quantile = 0.9, .est = est, .delay_ns = 1};
	check(fl_hedge(fl_ctx_background(), &o, replica, &r, &st));
	ASSERT_EQ(st.delay_ns, FL_SEC(3600));
	ASSERT_EQ(st.fired, 1);
	/* Attempt 1's latency (well under an hour) entered the window. */
	ASSERT_LT(fl_hedge_estimator_quantile(est, 0.01), FL_SEC(3600));
	/* Invalid: a quantile without an estimator. */
	o.est = NULL;
	ASSERT(fl_hedge(fl_ctx_background(), &o, replica, &r, NULL) == FL_ERR_INVAL);
	fl_hedge_estimator_free(est);
	sem_destroy_(&r.started);
	assert_baseline();
}

/*
 * When a hedge wins, the estimator learns attempt 1's time (cut short when
 * it lost, so at least the hedge delay), not the winner's: recording
 * winners would keep only the fast side of hedged calls and drag the
 * quantile, and with it the delay, down. The window holds 16 samples of
 * D = 2 ms, so the delay is D; attempt 1 blocks until cancelled, which
 * comes after attempt 2 was fired D after it, so counted from its own fire
 * it lasted at least D. Only a recorded winner (a few microseconds) could
 * bring the window's minimum under D.
 */
FL_TEST(losing_first_attempt_is_recorded_not_the_winner)
{
	baseline();
	fl_hedge_estimator *est;
	check(fl_hedge_estimator_new(16, &est));
	for (int i = 0; i < 16; i++)
		fl_hedge_estimator_record(est, FL_MS(2));
	replicas r;
	setup(&r, 1);
	fl_hedge_stats st;
	struct fl_hedge_opts o = {.max_attempts = 2, .quantile = 0.5, .est = est};
	check(fl_hedge(fl_ctx_background(), &o, replica, &r, &st));
	ASSERT_EQ(st.delay_ns, FL_MS(2));
	ASSERT_EQ(st.winner, 2);
	ASSERT_EQ(atomic_load(&r.saw_cancel), 1);
	ASSERT_GE(fl_hedge_estimator_quantile(est, 0.01), FL_MS(2));
	fl_hedge_estimator_free(est);
	sem_destroy_(&r.started);
	assert_baseline();
}

/* Tied: attempt 1 is queued (waits for a go signal or its cancellation);
 * attempt 2 starts at once. */
typedef struct tied {
	fl_chan *go1;
	atomic_int lost_start;
	atomic_int cancelled;
	bool starter_fails;
} tied;

static fl_err *tied_fn(fl_ctx *ctx, fl_hedge_tie *tie, void *arg)
{
	tied *t = arg;
	if (fl_hedge_tie_attempt(tie) == 1) {
		if (fl_chan_recv(t->go1, NULL, ctx, FL_FOREVER) == FL_CANCELED)
			atomic_fetch_add(&t->cancelled, 1);
		if (!fl_hedge_tie_start(tie)) {
			atomic_fetch_add(&t->lost_start, 1);
			return fl_ctx_cause(ctx);
		}
		return NULL;
	}
	ASSERT(fl_hedge_tie_start(tie));
	ASSERT(fl_hedge_tie_start(tie)); /* idempotent for the starter */
	return t->starter_fails ? fl_err_wrap(test_hedge_fail, "attempt 2") : NULL;
}

static void tied_case(bool starter_fails)
{
	baseline();
	tied t = {.starter_fails = starter_fails};
	check(fl_chan_new(1, 0, NULL, &t.go1));
	fl_hedge_stats st;
	struct fl_hedge_opts o = {.max_attempts = 2, .delay_ns = 0};
	fl_err *e = fl_hedge_tied(fl_ctx_background(), &o, tied_fn, &t, &st);
	if (starter_fails) {
		ASSERT(fl_err_is(e, test_hedge_fail));
		ASSERT(!fl_err_is(e, FL_ERR_CANCELED)); /* not joined with the loser */
		ASSERT_EQ(st.winner, 0);
	} else {
		ASSERT_NULL(e);
		ASSERT_EQ(st.winner, 2);
		ASSERT(st.hedge_won);
	}
	fl_err_drop(e);
	ASSERT_EQ(st.fired, 2); /* no third attempt after the start */
	ASSERT_EQ(atomic_load(&t.cancelled), 1);
	ASSERT_EQ(atomic_load(&t.lost_start), 1);
	fl_chan_free(t.go1);
	assert_baseline();
}

FL_TEST(tied_first_to_start_cancels_the_other)
{
	tied_case(false);
	tied_case(true);
}

FL_TEST_MAIN(FL_CASE(fast_first_attempt_fires_no_hedge),
	     FL_CASE(hedge_wins_and_slow_attempt_is_cancelled_and_joined),
	     FL_CASE(injected_failure_hedges_at_once), FL_CASE(all_attempts_fail_with_joined_error),
	     FL_CASE(cancel_during_hedge_wait), FL_CASE(estimator_quantiles),
	     FL_CASE(quantile_sets_the_delay_and_first_attempts_are_recorded),
	     FL_CASE(losing_first_attempt_is_recorded_not_the_winner),
	     FL_CASE(tied_first_to_start_cancels_the_other))
