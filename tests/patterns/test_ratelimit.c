/* fl-test-labels: concurrency memcheck */
/* fl-test-sim-only: reserve_borrows_from_the_future cancel_returns_unclaimed_tokens */
/* sim-only: they hold a reservation's delay to within 100 ms of its refill,
 * which a real clock keeps only while the test is not preempted. */
/*
 * Rate limiter: burst then refusal, reservation delays, cancelled
 * reservations giving tokens back, waits that succeed, refuse at once past
 * the deadline, or end on cancellation (returning their tokens), and a
 * concurrent bound (granted <= burst + rate * elapsed).
 *
 * Rates are chosen so that the refill during a test step is negligible even
 * under valgrind (one token per hour where a refill must not happen), and
 * delays are asserted only as bounds. Ordering uses the task dump (a task
 * parked in its wait), never sleeps.
 */
#include <fl/ratelimit.h>

#include <stdatomic.h>

#include "resil_util.h"

#define PER_HOUR (1.0 / 3600.0)

FL_TEST(burst_then_refuse)
{
	fl_ratelimit *l;
	check(fl_ratelimit_new(PER_HOUR, 5, &l));
	ASSERT(fl_ratelimit_allow(l, 2));
	ASSERT(fl_ratelimit_allow(l, 3));
	ASSERT(!fl_ratelimit_allow(l, 1));
	ASSERT(fl_ratelimit_allow(l, 0));
	ASSERT(fl_ratelimit_tokens(l) < 0.01);
	fl_ratelimit_free(l);
}

FL_TEST(invalid_arguments)
{
	fl_ratelimit *l = NULL;
	ASSERT(fl_ratelimit_new(0, 1, &l) == FL_ERR_INVAL);
	ASSERT(fl_ratelimit_new(-1, 1, &l) == FL_ERR_INVAL);
	ASSERT(fl_ratelimit_new(1.0 / 0.0, 1, &l) == FL_ERR_INVAL);
	ASSERT(fl_ratelimit_new(1, 0, &l) == FL_ERR_INVAL);
	ASSERT(fl_ratelimit_new(1, 1, NULL) == FL_ERR_INVAL);
	ASSERT_NULL(l);
	check(fl_ratelimit_new(1, 2, &l));
	ASSERT(fl_ratelimit_wait(l, fl_ctx_background(), 3) == FL_ERR_INVAL);
	ASSERT(fl_ratelimit_wait(l, fl_ctx_background(), 0) == FL_ERR_INVAL);
	fl_ratelimit_reservation r;
	ASSERT_EQ(fl_ratelimit_reserve(l, 3, &r), -1);
	ASSERT(!r.ok);
	fl_ratelimit_cancel(&r); /* a failed reservation: nothing happens */
	ASSERT(fl_ratelimit_allow(l, 2));
	fl_ratelimit_free(l);
	fl_ratelimit_free(NULL);
}

FL_TEST(reserve_borrows_from_the_future)
{
	fl_ratelimit *l;
	check(fl_ratelimit_new(1, 2, &l)); /* one per second */
	fl_ratelimit_reservation r1, r2, r3;
	ASSERT_EQ(fl_ratelimit_reserve(l, 2, &r1), 0);
	int64_t d2 = fl_ratelimit_reserve(l, 1, &r2);
	int64_t d3 = fl_ratelimit_reserve(l, 1, &r3);
	ASSERT(r2.ok && r3.ok);
	ASSERT_GT(d2, FL_MS(900));
	ASSERT_LE(d2, FL_SEC(1));
	ASSERT_GT(d3, FL_MS(1900));
	ASSERT_LE(d3, FL_SEC(2));
	ASSERT(!fl_ratelimit_allow(l, 1));
	ASSERT(fl_ratelimit_tokens(l) < -1.9);
	fl_ratelimit_free(l);
}

FL_TEST(cancel_returns_unclaimed_tokens)
{
	fl_ratelimit *l;
	check(fl_ratelimit_new(1, 3, &l));
	ASSERT(fl_ratelimit_allow(l, 3));
	fl_ratelimit_reservation a, b;
	int64_t da = fl_ratelimit_reserve(l, 1, &a); /* ~1 s */
	int64_t db = fl_ratelimit_reserve(l, 1, &b); /* ~2 s */
	ASSERT_GT(db, da);
	/* Cancelling the latest gives its token back: the next one waits ~2 s,
	 * not ~3 s. */
	fl_ratelimit_cancel(&b);
	fl_ratelimit_reservation c;
	int64_t dc = fl_ratelimit_reserve(l, 1, &c);
	ASSERT_LE(dc, FL_SEC(2));
	ASSERT_GT(dc, FL_MS(1900));
	/* Cancelling an earlier one while a later one counts on the refill
	 * returns nothing: c still acts no earlier than promised. */
	double before = fl_ratelimit_tokens(l);
	fl_ratelimit_cancel(&a);
	ASSERT(fl_ratelimit_tokens(l) <= before + 0.01);
	fl_ratelimit_cancel(&a); /* twice: nothing */
	fl_ratelimit_free(l);
}

FL_TEST(wait_takes_tokens_when_due)
{
	baseline();
	fl_ratelimit *l;
	check(fl_ratelimit_new(1e6, 1, &l)); /* a token per microsecond */
	for (int i = 0; i < 200; i++)
		check(fl_ratelimit_wait(l, fl_ctx_background(), 1));
	fl_ratelimit_free(l);
	assert_baseline();
}

FL_TEST(wait_refuses_at_once_past_deadline)
{
	baseline();
	fl_ratelimit *l;
	check(fl_ratelimit_new(PER_HOUR, 1, &l));
	ASSERT(fl_ratelimit_allow(l, 1));
	fl_ctx *ctx;
	check(fl_ctx_with_timeout(fl_ctx_background(), FL_SEC(60), NULL, &ctx));
	fl_err *e = fl_ratelimit_wait(l, ctx, 1);
	ASSERT(fl_err_is(e, FL_ERR_RATE_LIMITED));
	ASSERT(fl_err_is(e, FL_ERR_DEADLINE));
	ASSERT(!fl_ctx_done(ctx)); /* refused without waiting */
	fl_err_drop(e);
	/* Nothing was taken: a reservation still waits about an hour. */
	fl_ratelimit_reservation r;
	ASSERT_LE(fl_ratelimit_reserve(l, 1, &r), FL_SEC(3600));
	fl_ctx_free(ctx);
	/* An already-cancelled context: its cause. */
	check(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	fl_ctx_cancel(ctx, NULL);
	e = fl_ratelimit_wait(l, ctx, 1);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	fl_err_drop(e);
	fl_ctx_free(ctx);
	/* A custom cause: matched, and so is FL_ERR_CANCELED, as ratelimit.h
	 * promises (only the cause matched once). */
	check(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	fl_err *why = fl_err_new("shutting down");
	fl_ctx_cancel(ctx, why);
	e = fl_ratelimit_wait(l, ctx, 1);
	ASSERT(fl_err_is(e, why));
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	fl_err_drop(e);
	fl_err_drop(why);
	fl_ctx_free(ctx);
	fl_ratelimit_free(l);
	assert_baseline();
}

typedef struct waiter_arg {
	fl_ratelimit *l;
	fl_err *result;
} waiter_arg;

static fl_err *wait_task(fl_ctx *ctx, void *arg)
{
	waiter_arg *w = arg;
	w->result = fl_ratelimit_wait(w->l, ctx, 1);
	return NULL;
}

FL_TEST(cancel_during_wait_returns_tokens)
{
	baseline();
	fl_ratelimit *l;
	check(fl_ratelimit_new(PER_HOUR, 1, &l));
	ASSERT(fl_ratelimit_allow(l, 1));
	waiter_arg w = {.l = l};
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	check(fl_group_go_named(g, "limited", wait_task, &w));
	wait_dump("sleep until");
	ASSERT(fl_ratelimit_tokens(l) < -0.5); /* the waiter holds a claim */
	fl_group_cancel(g, NULL);
	check(fl_group_wait(g));
	ASSERT(fl_err_is(w.result, FL_ERR_CANCELED));
	fl_err_drop(w.result);
	/* The claim went back: the bucket is as before the wait. */
	ASSERT(fl_ratelimit_tokens(l) > -0.01);
	fl_group_free(g);
	fl_ratelimit_free(l);
	assert_baseline();
}

/* Many tasks hammer allow; granted tokens never exceed burst + rate * t. */
typedef struct hammer {
	fl_ratelimit *l;
	atomic_long granted;
} hammer;

static fl_err *hammer_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	hammer *h = arg;
	for (int i = 0; i < 2000; i++) {
		if (fl_ratelimit_allow(h->l, 1))
			atomic_fetch_add(&h->granted, 1);
		if (i % 64 == 0)
			fl_yield();
	}
	return NULL;
}

FL_TEST(concurrent_allow_respects_rate)
{
	baseline();
	double rate = 2000, burst = 20;
	hammer h = {0};
	int64_t t0 = fl_now();
	check(fl_ratelimit_new(rate, (int64_t)burst, &h.l));
	fl_group *g;
	fl_ctx *gctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	for (int i = 0; i < 4; i++)
		check(fl_group_go(g, hammer_task, &h));
	check(fl_group_wait(g));
	double secs = (double)(fl_now() - t0) / 1e9;
	long granted = atomic_load(&h.granted);
	ASSERT_GE(granted, (long)burst);
	ASSERT((double)granted <= burst + rate * secs + 1);
	fl_group_free(g);
	fl_ratelimit_free(h.l);
	assert_baseline();
}

FL_TEST_MAIN(FL_CASE(burst_then_refuse), FL_CASE(invalid_arguments),
	     FL_CASE(reserve_borrows_from_the_future), FL_CASE(cancel_returns_unclaimed_tokens),
	     FL_CASE(wait_takes_tokens_when_due), FL_CASE(wait_refuses_at_once_past_deadline),
	     FL_CASE(cancel_during_wait_returns_tokens), FL_CASE(concurrent_allow_respects_rate))
