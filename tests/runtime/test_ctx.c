/* fl-test-labels: concurrency memcheck */
/* fl-test-skip-sim: cancel_wakes_every_blocked_task concurrent_children_and_cancel */
/* (they race raw pthreads against each other on purpose; sim allows one thread) */
/*
 * Contexts: cancellation with causes, propagation, deadlines, after-funcs,
 * without-cancel and shielded children, waits and live counts.
 */
#define _GNU_SOURCE
#include <fl/chan.h>
#include <fl/ctx.h>

#include <pthread.h>

#include "fl_test.h"

FL_ERR_SENTINEL(test_cause, "test cause");
FL_ERR_SENTINEL(test_deadline_cause, "slow upstream");

static fl_stats base;

static void baseline(void) { base = fl_stats_get(); }

/* Live counts return to the baseline (timers are released synchronously). */
static void assert_baseline(void)
{
	fl_stats now = fl_stats_get();
	ASSERT_EQ(now.ctxs, base.ctxs);
	ASSERT_EQ(now.timers, base.timers);
	ASSERT_EQ(now.errs, base.errs);
}

static void check(fl_err *err)
{
	if (err) {
		fl_err_print(stderr, err);
		FL_FAIL("unexpected error");
	}
}

FL_TEST(background_never_done)
{
	fl_ctx *bg = fl_ctx_background();
	fl_ctx_cancel(bg, test_cause);
	fl_ctx_free(bg);
	ASSERT(!fl_ctx_done(bg));
	ASSERT_NULL(fl_ctx_err(bg));
	ASSERT_NULL(fl_ctx_cause(bg));
	ASSERT_EQ(fl_ctx_deadline(bg), FL_FOREVER);
	ASSERT_EQ(fl_ctx_wait(bg, FL_TRY), FL_AGAIN);
}

FL_TEST(cancel_sets_err_and_first_cause_wins)
{
	baseline();
	fl_ctx *c;
	check(fl_ctx_with_cancel(fl_ctx_background(), &c));
	ASSERT(!fl_ctx_done(c));
	ASSERT_NULL(fl_ctx_err(c));
	fl_err *first = fl_err_new("first");
	fl_ctx_cancel(c, first);
	fl_ctx_cancel(c, test_cause);
	ASSERT(fl_ctx_done(c));
	ASSERT(fl_ctx_err(c) == FL_ERR_CANCELED);
	fl_err *cause = fl_ctx_cause(c);
	ASSERT(cause == first);
	fl_err_drop(cause);
	fl_err_drop(first);
	ASSERT_EQ(fl_ctx_wait(c, FL_FOREVER), FL_CANCELED);
	fl_ctx_free(c);
	assert_baseline();
}

FL_TEST(cancel_without_cause_uses_err)
{
	fl_ctx *c;
	check(fl_ctx_with_cancel(fl_ctx_background(), &c));
	fl_ctx_cancel(c, NULL);
	fl_err *cause = fl_ctx_cause(c);
	ASSERT(cause == FL_ERR_CANCELED);
	fl_err_drop(cause);
	fl_ctx_free(c);
}

FL_TEST(children_get_parent_cause_parent_unaffected)
{
	baseline();
	fl_ctx *p, *a, *b, *gc;
	check(fl_ctx_with_cancel(fl_ctx_background(), &p));
	check(fl_ctx_with_cancel(p, &a));
	check(fl_ctx_with_cancel(p, &b));
	check(fl_ctx_with_cancel(a, &gc));
	fl_ctx_cancel(b, NULL); /* a child never affects its parent */
	ASSERT(!fl_ctx_done(p));
	ASSERT(!fl_ctx_done(a));
	fl_ctx_cancel(p, test_cause);
	ASSERT(fl_ctx_done(a));
	ASSERT(fl_ctx_done(gc));
	fl_err *c1 = fl_ctx_cause(gc);
	ASSERT(c1 == test_cause);
	ASSERT(fl_ctx_err(gc) == FL_ERR_CANCELED);
	fl_err *c2 = fl_ctx_cause(b);
	ASSERT(c2 == FL_ERR_CANCELED); /* b was cancelled first, by itself */
	fl_ctx_free(gc);
	fl_ctx_free(a);
	fl_ctx_free(b);
	fl_ctx_free(p);
	assert_baseline();
}

FL_TEST(has_ancestor_walks_every_kind)
{
	fl_ctx *p, *n, *s, *k, *other;
	check(fl_ctx_with_cancel(fl_ctx_background(), &p));
	check(fl_ctx_without_cancel(p, &n));
	check(fl_ctx_shielded(n, FL_SEC(10), &s));
	check(fl_ctx_with_cancel(s, &k));
	check(fl_ctx_with_cancel(fl_ctx_background(), &other));
	ASSERT(fl_ctx_has_ancestor(k, k));
	ASSERT(fl_ctx_has_ancestor(k, p));
	ASSERT(fl_ctx_has_ancestor(k, fl_ctx_background()));
	ASSERT(!fl_ctx_has_ancestor(k, other));
	ASSERT(!fl_ctx_has_ancestor(p, k));
	ASSERT(!fl_ctx_has_ancestor(NULL, p));
	fl_ctx_free(k);
	fl_ctx_free(s);
	fl_ctx_free(n);
	fl_ctx_free(p);
	fl_ctx_free(other);
}

FL_TEST(child_of_cancelled_parent_starts_cancelled)
{
	fl_ctx *p, *c;
	check(fl_ctx_with_cancel(fl_ctx_background(), &p));
	fl_ctx_cancel(p, test_cause);
	check(fl_ctx_with_cancel(p, &c));
	ASSERT(fl_ctx_done(c));
	fl_err *cause = fl_ctx_cause(c);
	ASSERT(fl_err_is(cause, test_cause));
	fl_err_drop(cause);
	fl_ctx_free(c);
	fl_ctx_free(p);
}

FL_TEST(parent_freed_before_child)
{
	baseline();
	fl_ctx *p, *c;
	check(fl_ctx_with_cancel(fl_ctx_background(), &p));
	check(fl_ctx_with_cancel(p, &c));
	fl_ctx_free(p); /* cancels p and so c; p stays alive for c */
	ASSERT(fl_ctx_done(c));
	ASSERT(fl_ctx_err(c) == FL_ERR_CANCELED);
	fl_ctx_free(c);
	assert_baseline();
}

FL_TEST(deadline_is_min_of_parent_and_own)
{
	baseline();
	int64_t now = fl_now();
	fl_ctx *p, *c1, *c2;
	check(fl_ctx_with_deadline(fl_ctx_background(), now + FL_SEC(100), NULL, &p));
	check(fl_ctx_with_deadline(p, now + FL_SEC(200), NULL, &c1));
	check(fl_ctx_with_deadline(p, now + FL_SEC(50), NULL, &c2));
	ASSERT_EQ(fl_ctx_deadline(p), now + FL_SEC(100));
	ASSERT_EQ(fl_ctx_deadline(c1), now + FL_SEC(100));
	ASSERT_EQ(fl_ctx_deadline(c2), now + FL_SEC(50));
	ASSERT_EQ(fl_stats_get().timers, base.timers + 2); /* c1 needs none */
	fl_ctx_free(c2);
	fl_ctx_free(c1);
	fl_ctx_free(p);
	assert_baseline();
}

FL_TEST(expired_deadline_cancels_at_once)
{
	baseline();
	fl_ctx *c;
	check(fl_ctx_with_deadline(fl_ctx_background(), fl_now() - 1, test_deadline_cause, &c));
	ASSERT(fl_ctx_done(c));
	ASSERT(fl_ctx_err(c) == FL_ERR_DEADLINE);
	fl_err *cause = fl_ctx_cause(c);
	ASSERT(cause == test_deadline_cause);
	fl_ctx_free(c);
	assert_baseline();
}

/* fl_ctx_stop_err: what a stopped call returns matches the context's err
 * and its cause, whichever the caller tests for. */
FL_TEST(stop_err_matches_err_and_cause)
{
	baseline();
	fl_ctx *c;
	check(fl_ctx_with_cancel(fl_ctx_background(), &c));
	ASSERT_NULL(fl_ctx_stop_err(c)); /* not done */
	fl_err *why = fl_err_new("shutting down");
	fl_ctx_cancel(c, why);
	fl_err *e = fl_ctx_stop_err(c);
	ASSERT(fl_err_is(e, why));
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	fl_err_drop(e);
	fl_ctx_free(c);
	/* a plain cancel and a deadline: the sentinel itself */
	check(fl_ctx_with_cancel(fl_ctx_background(), &c));
	fl_ctx_cancel(c, NULL);
	e = fl_ctx_stop_err(c);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	fl_err_drop(e);
	fl_ctx_free(c);
	check(fl_ctx_with_deadline(fl_ctx_background(), fl_now() - 1, NULL, &c));
	e = fl_ctx_stop_err(c);
	ASSERT(fl_err_is(e, FL_ERR_DEADLINE));
	ASSERT(!fl_err_is(e, FL_ERR_CANCELED));
	fl_err_drop(e);
	fl_ctx_free(c);
	fl_err_drop(why);
	assert_baseline();
}

FL_TEST(deadline_fires_with_own_cause)
{
	baseline();
	fl_ctx *p, *c, *kid;
	check(fl_ctx_with_cancel(fl_ctx_background(), &p));
	check(fl_ctx_with_timeout(p, FL_MS(2), test_deadline_cause, &c));
	check(fl_ctx_with_cancel(c, &kid));
	ASSERT_EQ(fl_ctx_wait(kid, FL_FOREVER), FL_CANCELED);
	ASSERT(fl_ctx_err(c) == FL_ERR_DEADLINE);
	ASSERT(fl_ctx_err(kid) == FL_ERR_DEADLINE);
	fl_err *cause = fl_ctx_cause(kid);
	ASSERT(cause == test_deadline_cause);
	ASSERT(!fl_ctx_done(p));
	fl_ctx_free(kid);
	fl_ctx_free(c);
	fl_ctx_free(p);
	assert_baseline();
}

FL_TEST(wait_deadline_and_try)
{
	fl_ctx *c;
	check(fl_ctx_with_cancel(fl_ctx_background(), &c));
	ASSERT_EQ(fl_ctx_wait(c, FL_TRY), FL_AGAIN);
	int64_t t0 = fl_now();
	ASSERT_EQ(fl_ctx_wait(c, t0 + FL_MS(1)), FL_TIMEDOUT);
	ASSERT_GE(fl_now(), t0 + FL_MS(1));
	ASSERT_EQ(fl_sleep_until(c, fl_now() + FL_US(100)), FL_OK);
	fl_ctx_cancel(c, NULL);
	ASSERT_EQ(fl_sleep_until(c, FL_FOREVER), FL_CANCELED);
	fl_ctx_free(c);
}

/* ---- every blocked task wakes ------------------------------------------- */

struct waiters {
	fl_ctx *ctx;
	pthread_barrier_t start;
	_Atomic int woke;
};

static void *wait_thread(void *arg)
{
	struct waiters *w = arg;
	pthread_barrier_wait(&w->start);
	if (fl_ctx_wait(w->ctx, FL_FOREVER) == FL_CANCELED)
		atomic_fetch_add(&w->woke, 1);
	return NULL;
}

/* Counts tasks the dump shows as blocked in a context wait. */
static int blocked_in_ctx_wait(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	fl_task_dump(f);
	fclose(f);
	int n = 0;
	for (char *p = buf; (p = strstr(p, "ctx wait")) != NULL; p++)
		n++;
	free(buf);
	return n;
}

FL_TEST(cancel_wakes_every_blocked_task)
{
	enum { N = 6 };
	struct waiters w = {0};
	pthread_t th[N];
	fl_ctx *p;
	check(fl_ctx_with_cancel(fl_ctx_background(), &p));
	check(fl_ctx_with_cancel(p, &w.ctx));
	pthread_barrier_init(&w.start, NULL, N + 1);
	for (int i = 0; i < N; i++)
		pthread_create(&th[i], NULL, wait_thread, &w);
	pthread_barrier_wait(&w.start);
	while (blocked_in_ctx_wait() < N)
		fl_yield();           /* until all are parked: a condition, not a sleep */
	fl_ctx_cancel(p, test_cause); /* through the parent */
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	ASSERT_EQ(atomic_load(&w.woke), N);
	pthread_barrier_destroy(&w.start);
	fl_ctx_free(w.ctx);
	fl_ctx_free(p);
}

/* ---- after-funcs -------------------------------------------------------- */

/* Set by an after-func, awaited by the test: a channel, so the waiting
 * test parks through the scheduler seam (which the sim backend needs: a
 * condvar wait there would block its one thread). */
struct flag {
	fl_chan *ch;
	int set;
};

static void flag_init(struct flag *f)
{
	f->set = 0;
	check(fl_chan_new(1, 4, &(struct fl_chan_opts){.name = "flag"}, &f->ch));
}

static void flag_set(void *arg)
{
	struct flag *f = arg;
	char c = 1;
	f->set++; /* published by the send */
	ASSERT_EQ(fl_chan_send(f->ch, &c, NULL, FL_TRY), FL_OK);
}

static void flag_await(struct flag *f)
{
	ASSERT_EQ(fl_chan_recv(f->ch, NULL, NULL, FL_FOREVER), FL_OK);
}

static void flag_destroy(struct flag *f) { fl_chan_free(f->ch); }

FL_TEST(after_func_runs_after_cancel)
{
	baseline();
	struct flag f;
	flag_init(&f);
	fl_ctx *c;
	fl_ctx_after *h;
	check(fl_ctx_with_cancel(fl_ctx_background(), &c));
	check(fl_ctx_after_func(c, flag_set, &f, &h));
	fl_ctx_cancel(c, NULL);
	flag_await(&f);
	ASSERT(!fl_ctx_after_stop(h)); /* already ran: stop reports false */
	fl_ctx_free(c);
	ASSERT_EQ(f.set, 1);
	flag_destroy(&f);
	/* The callback's task holds the context until it returns. */
	while (fl_stats_get().ctxs != base.ctxs || fl_stats_get().tasks != base.tasks)
		fl_yield();
}

FL_TEST(after_func_stop_prevents)
{
	baseline();
	struct flag f;
	flag_init(&f);
	fl_ctx *c;
	fl_ctx_after *h;
	check(fl_ctx_with_cancel(fl_ctx_background(), &c));
	check(fl_ctx_after_func(c, flag_set, &f, &h));
	ASSERT(fl_ctx_after_stop(h));
	fl_ctx_cancel(c, NULL);
	fl_ctx_free(c);
	ASSERT_EQ(f.set, 0);
	flag_destroy(&f);
	assert_baseline();
}

FL_TEST(after_func_on_done_ctx_runs_at_once)
{
	baseline();
	struct flag f;
	flag_init(&f);
	fl_ctx *c;
	fl_ctx_after *h;
	check(fl_ctx_with_cancel(fl_ctx_background(), &c));
	fl_ctx_cancel(c, NULL);
	check(fl_ctx_after_func(c, flag_set, &f, &h));
	flag_await(&f);
	fl_ctx_free(c);
	ASSERT(!fl_ctx_after_stop(h)); /* the Go order: free (cancel) first, stop later */
	ASSERT_EQ(f.set, 1);
	flag_destroy(&f);
	/* The callback's task holds the context until it returns. */
	while (fl_stats_get().ctxs != base.ctxs || fl_stats_get().tasks != base.tasks)
		fl_yield();
}

/* Freed before it was cancelled: the free cancels, the callback runs, and
 * the handle stays valid for its stop (it once pointed at freed memory). */
FL_TEST(after_func_stop_after_free)
{
	baseline();
	struct flag f;
	flag_init(&f);
	fl_ctx *c;
	fl_ctx_after *h;
	check(fl_ctx_with_cancel(fl_ctx_background(), &c));
	check(fl_ctx_after_func(c, flag_set, &f, &h));
	fl_ctx_free(c);
	flag_await(&f);
	ASSERT(!fl_ctx_after_stop(h));
	ASSERT_EQ(f.set, 1);
	flag_destroy(&f);
	while (fl_stats_get().ctxs != base.ctxs || fl_stats_get().tasks != base.tasks)
		fl_yield();
}

FL_TEST(after_func_invalid_args)
{
	fl_ctx_after *h;
	fl_err *err = fl_ctx_after_func(NULL, flag_set, NULL, &h);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	err = fl_ctx_with_cancel(NULL, NULL);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
}

/* ---- without_cancel and shielded ---------------------------------------- */

FL_TEST(without_cancel_ignores_parent)
{
	baseline();
	fl_ctx *p, *n;
	check(fl_ctx_with_timeout(fl_ctx_background(), FL_SEC(100), NULL, &p));
	check(fl_ctx_without_cancel(p, &n));
	ASSERT_EQ(fl_ctx_deadline(n), FL_FOREVER);
	fl_ctx_cancel(p, test_cause);
	ASSERT(!fl_ctx_done(n));
	ASSERT_EQ(fl_ctx_wait(n, FL_TRY), FL_AGAIN);
	fl_ctx_free(n);
	fl_ctx_free(p);
	assert_baseline();
}

FL_TEST(shielded_ignores_parent_but_keeps_own_deadline)
{
	baseline();
	fl_ctx *p, *s, *short_s;
	check(fl_ctx_with_cancel(fl_ctx_background(), &p));
	fl_ctx_cancel(p, test_cause);
	/* A deadline far beyond any checker's slowness: only the parent's
	 * cancellation could end it, and it must not. */
	check(fl_ctx_shielded(p, FL_SEC(3600), &s));
	ASSERT(!fl_ctx_done(s)); /* the caller is cancelled, cleanup still runs */
	ASSERT_EQ(fl_ctx_wait(s, FL_TRY), FL_AGAIN);
	/* Its own deadline still ends it, with FL_ERR_DEADLINE. */
	check(fl_ctx_shielded(p, FL_MS(2), &short_s));
	ASSERT_EQ(fl_ctx_wait(short_s, FL_FOREVER), FL_CANCELED);
	ASSERT(fl_ctx_err(short_s) == FL_ERR_DEADLINE);
	fl_ctx *unused = NULL;
	fl_err *err = fl_ctx_shielded(p, 0, &unused);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	ASSERT_NULL(unused);
	fl_err_drop(err);
	fl_ctx_free(short_s);
	fl_ctx_free(s);
	fl_ctx_free(p);
	assert_baseline();
}

/* ---- depth and concurrency ---------------------------------------------- */

FL_TEST(deep_tree_cancels_iteratively)
{
	baseline();
	enum { DEPTH = 20000 };
	fl_ctx **chain = malloc(DEPTH * sizeof(*chain));
	check(fl_ctx_with_cancel(fl_ctx_background(), &chain[0]));
	for (int i = 1; i < DEPTH; i++)
		check(fl_ctx_with_cancel(chain[i - 1], &chain[i]));
	fl_ctx_cancel(chain[0], test_cause);
	ASSERT(fl_ctx_done(chain[DEPTH - 1]));
	for (int i = DEPTH - 1; i >= 0; i--)
		fl_ctx_free(chain[i]);
	free(chain);
	assert_baseline();
}

struct churn {
	fl_ctx *parent;
	pthread_barrier_t start;
};

static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	pthread_barrier_wait(&c->start);
	for (int i = 0; i < 2000; i++) {
		fl_ctx *k, *d;
		if (fl_ctx_with_cancel(c->parent, &k))
			abort();
		if (fl_ctx_with_timeout(k, FL_SEC(10), NULL, &d))
			abort();
		if (i % 3 == 0)
			fl_ctx_cancel(k, NULL);
		fl_ctx_free(d);
		fl_ctx_free(k);
	}
	return NULL;
}

FL_TEST(concurrent_children_and_cancel)
{
	baseline();
	enum { N = 4 };
	struct churn c;
	pthread_t th[N];
	check(fl_ctx_with_cancel(fl_ctx_background(), &c.parent));
	pthread_barrier_init(&c.start, NULL, N + 1);
	for (int i = 0; i < N; i++)
		pthread_create(&th[i], NULL, churn_thread, &c);
	pthread_barrier_wait(&c.start);
	fl_ctx_cancel(c.parent, test_cause); /* races with the churn */
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&c.start);
	fl_ctx_free(c.parent);
	assert_baseline();
}

FL_TEST_MAIN(FL_CASE(background_never_done), FL_CASE(cancel_sets_err_and_first_cause_wins),
	     FL_CASE(cancel_without_cause_uses_err),
	     FL_CASE(children_get_parent_cause_parent_unaffected),
	     FL_CASE(has_ancestor_walks_every_kind),
	     FL_CASE(child_of_cancelled_parent_starts_cancelled),
	     FL_CASE(parent_freed_before_child), FL_CASE(deadline_is_min_of_parent_and_own),
	     FL_CASE(expired_deadline_cancels_at_once), FL_CASE(stop_err_matches_err_and_cause),
	     FL_CASE(deadline_fires_with_own_cause), FL_CASE(wait_deadline_and_try),
	     FL_CASE(cancel_wakes_every_blocked_task), FL_CASE(after_func_runs_after_cancel),
	     FL_CASE(after_func_stop_prevents), FL_CASE(after_func_on_done_ctx_runs_at_once),
	     FL_CASE(after_func_stop_after_free), FL_CASE(after_func_invalid_args),
	     FL_CASE(without_cancel_ignores_parent),
	     FL_CASE(shielded_ignores_parent_but_keeps_own_deadline),
	     FL_CASE(deep_tree_cancels_iteratively), FL_CASE(concurrent_children_and_cancel))
