/* fl-test-labels: concurrency memcheck */
/* fl-test-sim-only: budget_deposits_buy_percent_and_expire */
/* sim-only: its deposits must not expire (20 ms) before the withdrawals
 * that follow them, which a real clock keeps only while not preempted. */
/*
 * Retry: attempts, the final error, non-retryable classes, backoff caps,
 * cancellation during the backoff sleep and inside an attempt, deadlines
 * spanning attempts, the sibling-is-not-cancelled-early property, and the
 * retry budget (refusal, expiry, floor, and the amplification bound under
 * 100% injected downstream failure).
 *
 * Ordering comes from semaphores and the task dump (a task parked in its
 * backoff sleep), never from sleeping. The expiry and floor cases wait for
 * time to pass on purpose: that is the property under test, and they only
 * assert one-sided bounds.
 */
#include <fl/retry.h>

#include <math.h>
#include <stdatomic.h>

#include "resil_util.h"

FL_ERR_SENTINEL(test_flaky, "flaky downstream");
FL_ERR_SENTINEL(test_bad_request, "bad request");

static const fl_err_type test_http_type = {.name = "http", .size = sizeof(int)};

/* fn fails with test_flaky until attempt `ok_at` (0: never). */
typedef struct flaky {
	int ok_at;
	atomic_int calls;
} flaky;

static fl_err *flaky_fn(fl_ctx *ctx, int attempt, void *arg)
{
	(void)ctx;
	flaky *f = arg;
	atomic_fetch_add(&f->calls, 1);
	ASSERT_EQ(attempt, atomic_load(&f->calls));
	if (f->ok_at && attempt >= f->ok_at)
		return NULL;
	return fl_err_wrap(test_flaky, "call %d", attempt);
}

static const fl_retry_info *info_of(const fl_err *e)
{
	const fl_retry_info *in = fl_err_as(e, &fl_retry_error_type);
	ASSERT_NOT_NULL(in);
	return in;
}

FL_TEST(succeeds_after_failures)
{
	baseline();
	flaky f = {.ok_at = 3};
	fl_retry_policy p = {.max_attempts = 5, .initial_ns = FL_US(1), .multiplier = 2};
	fl_retry_stats st;
	ASSERT_NULL(fl_retry(fl_ctx_background(), &p, flaky_fn, &f, &st));
	ASSERT_EQ(st.attempts, 3);
	ASSERT_EQ(atomic_load(&f.calls), 3);
	ASSERT_GE(st.slept_ns, 0);
	assert_baseline();
}

FL_TEST(final_error_wraps_last_cause_and_counts)
{
	baseline();
	flaky f = {0};
	fl_retry_policy p = {.max_attempts = 4};
	fl_retry_stats st;
	fl_err *e = fl_retry(fl_ctx_background(), &p, flaky_fn, &f, &st);
	ASSERT(fl_err_is(e, test_flaky));
	ASSERT(!fl_err_is(e, FL_ERR_BUDGET_EXHAUSTED));
	ASSERT_EQ(info_of(e)->attempts, 4);
	ASSERT_EQ(info_of(e)->stop, FL_RETRY_STOP_ATTEMPTS);
	ASSERT_STR_EQ(err_text(e),
		      "gave up after 4 attempts (attempts spent): call 4: flaky downstream");
	ASSERT_EQ(st.attempts, 4);
	fl_err_drop(e);
	/* max_attempts <= 0 means one attempt. */
	atomic_store(&f.calls, 0);
	p.max_attempts = 0;
	e = fl_retry(fl_ctx_background(), &p, flaky_fn, &f, NULL);
	ASSERT_EQ(info_of(e)->attempts, 1);
	fl_err_drop(e);
	assert_baseline();
}

/* Returns test_bad_request, an http-typed error or FL_ERR_CANCELED by arg. */
static fl_err *classed_fn(fl_ctx *ctx, int attempt, void *arg)
{
	(void)ctx;
	(void)attempt;
	int which = *(int *)arg;
	if (which == 0)
		return fl_err_wrap(test_bad_request, "request");
	if (which == 1) {
		int status = 404;
		return fl_err_typed(&test_http_type, &status, NULL, "not found");
	}
	return fl_err_wrap(FL_ERR_CANCELED, "upstream gave up");
}

FL_TEST(non_retryable_by_sentinel_type_and_default)
{
	baseline();
	static const fl_err *const sentinels[] = {test_bad_request, NULL};
	static const fl_err_type *const types[] = {&test_http_type, NULL};
	struct fl_retry_final fin = {.sentinels = sentinels, .types = types};
	fl_retry_policy p = {.max_attempts = 5,
			     .non_retryable = fl_retry_final_match,
			     .non_retryable_arg = &fin};
	for (int which = 0; which < 3; which++) {
		fl_retry_stats st;
		fl_err *e = fl_retry(fl_ctx_background(), &p, classed_fn, &which, &st);
		ASSERT_EQ(st.attempts, 1);
		ASSERT_EQ(info_of(e)->stop, FL_RETRY_STOP_FINAL);
		fl_err_drop(e);
	}
	/* Without the classes only the default (cancellation) is final. */
	p.non_retryable = NULL;
	int which = 2;
	fl_retry_stats st;
	fl_err *e = fl_retry(fl_ctx_background(), &p, classed_fn, &which, &st);
	ASSERT_EQ(st.attempts, 1);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	fl_err_drop(e);
	which = 0;
	e = fl_retry(fl_ctx_background(), &p, classed_fn, &which, &st);
	ASSERT_EQ(st.attempts, 5);
	fl_err_drop(e);
	assert_baseline();
}

FL_TEST(backoff_caps_grow_and_saturate)
{
	fl_retry_policy p = {.initial_ns = 10, .multiplier = 2, .max_ns = 50};
	ASSERT_EQ(fl_retry_backoff_cap(&p, 1), 10);
	ASSERT_EQ(fl_retry_backoff_cap(&p, 2), 20);
	ASSERT_EQ(fl_retry_backoff_cap(&p, 3), 40);
	ASSERT_EQ(fl_retry_backoff_cap(&p, 4), 50);
	ASSERT_EQ(fl_retry_backoff_cap(&p, 1000), 50);
	p.multiplier = 0.5; /* < 1 means 1 */
	ASSERT_EQ(fl_retry_backoff_cap(&p, 7), 10);
	p.initial_ns = 0;
	ASSERT_EQ(fl_retry_backoff_cap(&p, 3), 0);
}

/* ---- cancellation --------------------------------------------------------- */

typedef struct run {
	fl_retry_policy p;
	flaky f;
	sem attempted;
	fl_err *result;
	fl_retry_stats st;
} run;

static fl_err *signal_fn(fl_ctx *ctx, int attempt, void *arg)
{
	run *r = arg;
	fl_err *e = flaky_fn(ctx, attempt, &r->f);
	sem_post_(&r->attempted);
	return e;
}

static fl_err *retry_task(fl_ctx *ctx, void *arg)
{
	run *r = arg;
	r->result = fl_retry(ctx, &r->p, signal_fn, r, &r->st);
	return NULL;
}

FL_TEST(cancel_during_backoff_sleep)
{
	baseline();
	/* Full jitter draws from [0, cap]; a cap of ~30 years makes a short
	 * draw vanishingly rare. */
	run r = {.p = {.max_attempts = 3,
		       .initial_ns = FL_SEC(1000000000),
		       .max_ns = FL_SEC(1000000000)}};
	sem_init_(&r.attempted);
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	check(fl_group_go_named(g, "retrier", retry_task, &r));
	sem_wait_(&r.attempted);
	wait_dump("sleep until");
	fl_group_cancel(g, NULL);
	check(fl_group_wait(g));
	ASSERT(fl_err_is(r.result, FL_ERR_CANCELED));
	ASSERT(fl_err_is(r.result, test_flaky)); /* the last cause is kept */
	ASSERT_EQ(info_of(r.result)->stop, FL_RETRY_STOP_CANCELED);
	ASSERT_EQ(info_of(r.result)->attempts, 1);
	ASSERT_EQ(r.st.attempts, 1);
	fl_err_drop(r.result);
	fl_group_free(g);
	sem_destroy_(&r.attempted);
	assert_baseline();
}

/* An attempt that blocks until its context ends. */
static fl_err *hang_fn(fl_ctx *ctx, int attempt, void *arg)
{
	(void)attempt;
	sem_post_(arg);
	fl_ctx_wait(ctx, FL_FOREVER);
	return fl_ctx_cause(ctx);
}

typedef struct hang_run {
	sem started;
	fl_err *result;
	fl_retry_stats st;
} hang_run;

static fl_err *hang_task(fl_ctx *ctx, void *arg)
{
	hang_run *h = arg;
	fl_retry_policy p = {.max_attempts = 5};
	h->result = fl_retry(ctx, &p, hang_fn, &h->started, &h->st);
	return NULL;
}

FL_TEST(cancel_during_attempt)
{
	baseline();
	hang_run h = {0};
	sem_init_(&h.started);
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	check(fl_group_go(g, hang_task, &h));
	sem_wait_(&h.started);
	fl_group_cancel(g, test_bad_request);
	check(fl_group_wait(g));
	ASSERT(fl_err_is(h.result, test_bad_request)); /* the cancel cause */
	ASSERT_EQ(h.st.attempts, 1);
	fl_err_drop(h.result);
	fl_group_free(g);
	sem_destroy_(&h.started);
	assert_baseline();
}

FL_TEST(deadline_spans_attempts)
{
	baseline();
	/* A deadline that passes inside an attempt ends the retry. */
	fl_ctx *ctx;
	check(fl_ctx_with_timeout(fl_ctx_background(), FL_MS(20) * fl_test_time_scale(), NULL,
				  &ctx));
	sem s;
	sem_init_(&s);
	fl_retry_policy p = {.max_attempts = 100};
	fl_retry_stats st;
	fl_err *e = fl_retry(ctx, &p, hang_fn, &s, &st);
	ASSERT(fl_err_is(e, FL_ERR_DEADLINE));
	/* Never a second attempt. On virtual time the first attempt surely
	 * started; on a busy machine the 20 ms may pass before it does. */
	if (fl_test_virtual_time())
		ASSERT_EQ(st.attempts, 1);
	ASSERT_LE(st.attempts, 1);
	fl_err_drop(e);
	fl_ctx_free(ctx);
	/* A backoff that would end past the deadline gives up without sleeping. */
	check(fl_ctx_with_timeout(fl_ctx_background(), FL_SEC(3600), NULL, &ctx));
	flaky f = {0};
	/* A cap of ~30 years: a draw below the hour is vanishingly rare. */
	p = (fl_retry_policy){.max_attempts = 5, .initial_ns = FL_SEC(1000000000)};
	int tries = 0;
	do {
		atomic_store(&f.calls, 0);
		e = fl_retry(ctx, &p, flaky_fn, &f, &st);
		ASSERT_EQ(st.attempts, 1);
		ASSERT(fl_err_is(e, test_flaky));
		ASSERT(fl_err_is(e, FL_ERR_DEADLINE));
		ASSERT_EQ(st.slept_ns, 0);
		fl_err_drop(e);
	} while (++tries < 3);
	fl_ctx_free(ctx);
	/* Already done before the first attempt: no attempt, the ctx's cause. */
	check(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	fl_ctx_cancel(ctx, test_bad_request);
	e = fl_retry(ctx, &p, flaky_fn, &f, &st);
	ASSERT_EQ(st.attempts, 0);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	ASSERT(fl_err_is(e, test_bad_request));
	ASSERT_EQ(info_of(e)->attempts, 0);
	fl_err_drop(e);
	fl_ctx_free(ctx);
	sem_destroy_(&s);
	assert_baseline();
}

/* ---- the "cancelled too early" bug ------------------------------------------ */

/*
 * Task A retries an operation that fails on every attempt; at each attempt it
 * hands the sibling B a token and waits for B's verdict: B checks that its
 * group context is still live. So B observes the context at every attempt,
 * the last one included, before A returns its final error.
 */
typedef struct sib {
	fl_chan *to_b, *to_a;
	int max;
	atomic_int live_seen;
	bool succeed_last;
} sib;

static fl_err *sib_attempt(fl_ctx *ctx, int attempt, void *arg)
{
	sib *s = arg;
	ASSERT_EQ(fl_chan_send(s->to_b, &attempt, ctx, FL_FOREVER), FL_OK);
	int ack;
	ASSERT_EQ(fl_chan_recv(s->to_a, &ack, ctx, FL_FOREVER), FL_OK);
	if (s->succeed_last && attempt == s->max)
		return NULL;
	return fl_err_wrap(test_flaky, "attempt %d", attempt);
}

static fl_err *sib_a(fl_ctx *ctx, void *arg)
{
	sib *s = arg;
	fl_retry_policy p = {.max_attempts = s->max, .initial_ns = FL_US(10)};
	return fl_retry(ctx, &p, sib_attempt, s, NULL);
}

static fl_err *sib_b(fl_ctx *ctx, void *arg)
{
	sib *s = arg;
	for (int i = 1; i <= s->max; i++) {
		int attempt;
		ASSERT_EQ(fl_chan_recv(s->to_b, &attempt, ctx, FL_FOREVER), FL_OK);
		ASSERT_EQ(attempt, i);
		if (!fl_ctx_done(ctx))
			atomic_fetch_add(&s->live_seen, 1);
		ASSERT_EQ(fl_chan_send(s->to_a, &i, ctx, FL_FOREVER), FL_OK);
	}
	/* After the final failure the group cancels B. */
	if (!s->succeed_last)
		ASSERT_EQ(fl_ctx_wait(ctx, hang_deadline()), FL_CANCELED);
	return NULL;
}

static void sibling_case(bool succeed_last)
{
	baseline();
	sib s = {.max = 4, .succeed_last = succeed_last};
	check(fl_chan_new(sizeof(int), 0, NULL, &s.to_b));
	check(fl_chan_new(sizeof(int), 0, NULL, &s.to_a));
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	check(fl_group_go_named(g, "a-retries", sib_a, &s));
	check(fl_group_go_named(g, "b-sibling", sib_b, &s));
	fl_err *e = fl_group_wait(g);
	ASSERT_EQ(atomic_load(&s.live_seen), s.max);
	if (succeed_last) {
		ASSERT_NULL(e);
	} else {
		ASSERT(fl_err_is(e, test_flaky));
		ASSERT_EQ(info_of(e)->attempts, s.max);
	}
	fl_err_drop(e);
	fl_group_free(g);
	fl_chan_free(s.to_a);
	fl_chan_free(s.to_b);
	assert_baseline();
}

FL_TEST(sibling_not_cancelled_before_attempts_spent)
{
	sibling_case(false);
	sibling_case(true);
}

/* ---- budget ----------------------------------------------------------------- */

FL_TEST(budget_refuses_with_sentinel)
{
	baseline();
	fl_retry_budget *b;
	check(fl_retry_budget_new(0, 0, FL_SEC(1), &b));
	flaky f = {0};
	fl_retry_policy p = {.max_attempts = 5, .budget = b};
	fl_retry_stats st;
	fl_err *e = fl_retry(fl_ctx_background(), &p, flaky_fn, &f, &st);
	ASSERT_EQ(st.attempts, 1);
	ASSERT(fl_err_is(e, FL_ERR_BUDGET_EXHAUSTED));
	ASSERT(fl_err_is(e, test_flaky));
	ASSERT_EQ(info_of(e)->stop, FL_RETRY_STOP_BUDGET);
	ASSERT_STR_EQ(err_text(e),
		      "gave up after 1 attempt (retry budget exhausted): call 1: flaky downstream");
	/* The budget-exhausted error is final for an outer retry by default. */
	ASSERT(fl_retry_default_final(e, NULL));
	fl_err_drop(e);
	fl_retry_budget_stats bs = fl_retry_budget_stats_get(b);
	ASSERT_EQ(bs.requests, 1);
	ASSERT_EQ(bs.retries, 0);
	ASSERT_EQ(bs.refused, 1);
	fl_retry_budget_free(b);
	assert_baseline();
}

FL_TEST(budget_invalid_arguments)
{
	fl_retry_budget *b = NULL;
	ASSERT(fl_retry_budget_new(-0.1, 0, FL_SEC(1), &b) == FL_ERR_INVAL);
	ASSERT(fl_retry_budget_new(0.1, -1, FL_SEC(1), &b) == FL_ERR_INVAL);
	ASSERT(fl_retry_budget_new(NAN, 0, FL_SEC(1), &b) == FL_ERR_INVAL);
	ASSERT(fl_retry_budget_new(0.1, 0, 0, &b) == FL_ERR_INVAL);
	ASSERT(fl_retry_budget_new(0.1, 0, FL_SEC(1), NULL) == FL_ERR_INVAL);
	ASSERT_NULL(b);
	fl_retry_policy p = {0};
	ASSERT(fl_retry(NULL, &p, flaky_fn, NULL, NULL) == FL_ERR_INVAL);
	ASSERT(fl_retry(fl_ctx_background(), NULL, flaky_fn, NULL, NULL) == FL_ERR_INVAL);
	fl_retry_budget_free(NULL);
}

FL_TEST(budget_deposits_buy_percent_and_expire)
{
	fl_retry_budget *b;
	int64_t window = FL_MS(20);
	check(fl_retry_budget_new(0.1, 0, window, &b));
	for (int i = 0; i < 30; i++)
		fl_retry_budget_deposit(b);
	for (int i = 0; i < 3; i++)
		ASSERT(fl_retry_budget_try_withdraw(b));
	ASSERT(!fl_retry_budget_try_withdraw(b));
	for (int i = 0; i < 10; i++)
		fl_retry_budget_deposit(b);
	/* Wait out the window: every deposit must have expired. */
	fl_sleep_until(NULL, fl_deadline_in(window + window / 8));
	ASSERT(!fl_retry_budget_try_withdraw(b));
	fl_retry_budget_stats bs = fl_retry_budget_stats_get(b);
	ASSERT_EQ(bs.requests, 40);
	ASSERT_EQ(bs.retries, 3);
	ASSERT_EQ(bs.refused, 2);
	fl_retry_budget_free(b);
}

FL_TEST(budget_floor_accrues_per_second)
{
	fl_retry_budget *b;
	double floor = 1000; /* per second; window 10 ms caps it at 10 */
	check(fl_retry_budget_new(0, floor, FL_MS(10), &b));
	fl_sleep_until(NULL, fl_deadline_in(FL_MS(20)));
	int64_t t0 = fl_now();
	int got = 0;
	while (fl_retry_budget_try_withdraw(b))
		got++;
	double spent_s = (double)(fl_now() - t0) / 1e9;
	ASSERT_GE(got, 10);
	ASSERT_LE(got, 10 + (int)(floor * spent_s) + 1);
	fl_retry_budget_free(b);
}

/*
 * The amplification bound under 100% downstream failure: every attempt of
 * every request fails at an injected fault point; tasks retry concurrently
 * against one budget. attempts <= (1 + percent) * requests + floor * seconds.
 */
typedef struct proof {
	fl_retry_budget *b;
	atomic_long attempts;
	atomic_long refused;
	int per_task;
} proof;

static fl_err *down_fn(fl_ctx *ctx, int attempt, void *arg)
{
	(void)attempt;
	proof *pr = arg;
	atomic_fetch_add(&pr->attempts, 1);
	fl_err *e = FL_FAULT(ctx, "retry/downstream");
	ASSERT_NOT_NULL(e); /* the plan fails every call */
	return e;
}

static fl_err *proof_task(fl_ctx *ctx, void *arg)
{
	proof *pr = arg;
	fl_retry_policy p = {.max_attempts = 5, .budget = pr->b};
	for (int i = 0; i < pr->per_task; i++) {
		fl_err *e = fl_retry(ctx, &p, down_fn, pr, NULL);
		ASSERT(fl_err_is(e, test_flaky));
		if (fl_err_is(e, FL_ERR_BUDGET_EXHAUSTED))
			atomic_fetch_add(&pr->refused, 1);
		fl_err_drop(e);
	}
	return NULL;
}

FL_TEST(budget_bounds_attempts_under_total_failure)
{
	baseline();
	ASSERT_NULL(fl_fault_register_error("EDOWN", test_flaky));
	fl_fault_plan *plan = arm_plan("retry/downstream=100% error(EDOWN)");
	double percent = 0.1, floor = 5;
	enum { TASKS = 4, PER_TASK = 250 };
	proof pr = {.per_task = PER_TASK};
	int64_t t0 = fl_now();
	check(fl_retry_budget_new(percent, floor, FL_SEC(1), &pr.b));
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	for (int i = 0; i < TASKS; i++)
		check(fl_group_go(g, proof_task, &pr));
	check(fl_group_wait(g));
	double secs = (double)(fl_now() - t0) / 1e9;
	long requests = TASKS * PER_TASK;
	long attempts = atomic_load(&pr.attempts);
	double bound = (1 + percent) * (double)requests + floor * secs;
	fl_retry_budget_stats bs = fl_retry_budget_stats_get(pr.b);
	printf("retry budget proof: requests=%ld attempts=%ld bound=%.2f "
	       "(percent=%.2f floor=%.1f/s over %.3f s) refused=%ld; "
	       "without a budget: %ld attempts\n",
	       requests, attempts, bound, percent, floor, secs, (long)bs.refused, requests * 5);
	ASSERT_EQ(bs.requests, requests);
	ASSERT_EQ(bs.retries, attempts - requests);
	ASSERT_GE(attempts, requests);
	ASSERT((double)attempts <= bound + 1e-6);
	/* The budget did its job: most requests were refused a retry. */
	ASSERT_GE(atomic_load(&pr.refused), requests / 2);
	ASSERT_EQ(atomic_load(&pr.refused), bs.refused);
	fl_group_free(g);
	fl_fault_plan_free(plan);
	fl_retry_budget_free(pr.b);
	assert_baseline();
}

FL_TEST_MAIN(FL_CASE(succeeds_after_failures), FL_CASE(final_error_wraps_last_cause_and_counts),
	     FL_CASE(non_retryable_by_sentinel_type_and_default),
	     FL_CASE(backoff_caps_grow_and_saturate), FL_CASE(cancel_during_backoff_sleep),
	     FL_CASE(cancel_during_attempt), FL_CASE(deadline_spans_attempts),
	     FL_CASE(sibling_not_cancelled_before_attempts_spent),
	     FL_CASE(budget_refuses_with_sentinel), FL_CASE(budget_invalid_arguments),
	     FL_CASE(budget_deposits_buy_percent_and_expire),
	     FL_CASE(budget_floor_accrues_per_second),
	     FL_CASE(budget_bounds_attempts_under_total_failure))
