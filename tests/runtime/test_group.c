/* fl-test-labels: concurrency memcheck */
/*
 * test_group.c - groups: first error and cancellation, limits (blocking,
 * cancellable, try_go), misuse outcomes, collect mode and nesting. Tasks
 * racing inside one group and the live counts are in test_group_race.c;
 * the tasks and errors both use are in group_test_util.h.
 *
 * Ordering comes from semaphores, context waits and polling a condition
 * with fl_yield, never from sleeping. Where a wait is bounded at all, the
 * bound only turns a hang into a failure and scales with
 * FL_TEST_TIME_SCALE.
 */
#define _GNU_SOURCE
#include <fl/chan.h>
#include <fl/ctx.h>
#include <fl/group.h>
#include <fl/task.h>

#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan_internal.h" /* fl__chan_waiting */
#include "fl_test.h"
#include "task_test_util.h"
#include "group_test_util.h"

FL_ERR_SENTINEL(test_e1, "e1");
FL_ERR_SENTINEL(test_e2, "e2");
FL_ERR_SENTINEL(test_e3, "e3");

/* ---- helpers ------------------------------------------------------------ */

/* Whether the task dump currently contains needle. */
static bool dump_contains(const char *needle)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ASSERT_NOT_NULL(f);
	fl_task_dump(f);
	fclose(f);
	bool found = strstr(buf, needle) != NULL;
	free(buf);
	return found;
}

/* Yields until the dump shows needle (a task reached a blocking point). */
static void await_dump(const char *needle)
{
	int64_t until = hang_deadline();
	while (!dump_contains(needle)) {
		if (fl_now() > until)
			FL_FAIL("no task shows \"%s\"", needle);
		fl_yield();
	}
}

/* ---- task bodies ---------------------------------------------------------- */

static fl_err *await_cancel_task(fl_ctx *ctx, void *arg)
{
	atomic_int *woke = arg;
	ASSERT_EQ(fl_ctx_wait(ctx, hang_deadline()), FL_CANCELED);
	if (woke)
		atomic_fetch_add(woke, 1);
	return fl_err_ref(fl_ctx_err(ctx));
}

static fl_err *never_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	atomic_fetch_add((atomic_int *)arg, 1);
	return NULL;
}

static fl_err *sem_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	sem_wait_(arg);
	return NULL;
}

/* ---- first error, success, many tasks ------------------------------------ */

FL_TEST(first_error_is_returned_and_cancels_ctx)
{
	baseline();
	fl_group *g;
	fl_ctx *ctx;
	atomic_int woke = 0;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "fe"}, &g, &ctx));
	for (int i = 0; i < 4; i++)
		check(fl_group_go(g, await_cancel_task, &woke));
	check(fl_group_go(g, boom_task, NULL));
	fl_err *err = fl_group_wait(g);
	ASSERT_EQ(fl_stats_get().tasks, base.tasks);
	ASSERT_NOT_NULL(err);
	ASSERT(fl_err_is(err, test_boom));
	ASSERT(!fl_err_is(err, FL_ERR_CANCELED));
	ASSERT(fl_group_first_err(g) == err);
	ASSERT_EQ(atomic_load(&woke), 4);
	ASSERT(fl_ctx_err(ctx) == FL_ERR_CANCELED);
	fl_err *cause = fl_ctx_cause(ctx);
	ASSERT(cause == err);
	fl_err_drop(cause);
	fl_err_drop(err);
	fl_group_free(g);
	assert_baseline();
}

FL_TEST(all_success_returns_null_and_cancels_after_wait)
{
	baseline();
	fl_group *g;
	fl_ctx *ctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &ctx));
	for (int i = 0; i < 8; i++)
		check(fl_group_go(g, ok_task, NULL));
	ASSERT(!fl_ctx_done(ctx)); /* only an error or wait cancels it */
	fl_err *err = fl_group_wait(g);
	ASSERT_NULL(err);
	ASSERT_EQ(fl_stats_get().tasks, base.tasks);
	ASSERT(fl_ctx_done(ctx));
	fl_err *cause = fl_ctx_cause(ctx);
	ASSERT(cause == FL_ERR_CANCELED);
	fl_err_drop(cause);
	ASSERT_NULL(fl_group_first_err(g));
	fl_group_free(g);
	assert_baseline();
}

static fl_err *add_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	atomic_fetch_add((atomic_long *)arg, 1);
	return NULL;
}

typedef struct add_arg {
	atomic_long *sum;
	long v;
} add_arg;

static fl_err *add_value_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	add_arg *a = arg;
	atomic_fetch_add(a->sum, a->v);
	return NULL;
}

FL_TEST(hundred_tasks_sum)
{
	baseline();
	fl_group *g;
	fl_ctx *ctx;
	atomic_long sum = 0, count = 0;
	add_arg args[100];
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "sum"}, &g, &ctx));
	for (long i = 0; i < 100; i++) {
		args[i] = (add_arg){&sum, i};
		check(fl_group_go(g, add_value_task, &args[i]));
		check(fl_group_go(g, add_task, &count));
	}
	check(fl_group_wait(g));
	ASSERT_EQ(fl_stats_get().tasks, base.tasks);
	ASSERT_EQ(atomic_load(&sum), 100 * 99 / 2); /* the sequential oracle */
	ASSERT_EQ(atomic_load(&count), 100);
	ASSERT_LE(fl_group_hwm(g), 200);
	ASSERT_GE(fl_group_hwm(g), 1);
	ASSERT_EQ(fl_group_running(g), 0);
	fl_group_free(g);
	assert_baseline();
}

/* ---- limits --------------------------------------------------------------- */

typedef struct limit_state {
	fl_group *g;
	atomic_int cur, max;
	sem started, release;
	int n;
} limit_state;

static fl_err *limited_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	limit_state *s = arg;
	int c = atomic_fetch_add(&s->cur, 1) + 1;
	ASSERT_LE(c, 2);
	ASSERT_LE(fl_group_running(s->g), 2);
	int m = atomic_load(&s->max);
	while (c > m && !atomic_compare_exchange_weak(&s->max, &m, c))
		;
	sem_post_(&s->started);
	sem_wait_(&s->release);
	atomic_fetch_sub(&s->cur, 1);
	return NULL;
}

/* Releases one task at a time, always with two started and unreleased. */
static fl_err *releaser_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	limit_state *s = arg;
	sem_wait_(&s->started);
	sem_wait_(&s->started);
	for (int i = 0; i < s->n; i++) {
		int unreleased = i + 2 <= s->n ? 2 : 1;
		ASSERT_GE(atomic_load(&s->cur), unreleased); /* released ones may linger */
		sem_post_(&s->release);
		if (i + 2 < s->n)
			sem_wait_(&s->started);
	}
	return NULL;
}

FL_TEST(limit_two_over_ten_tasks)
{
	baseline();
	limit_state s = {.n = 10};
	sem_init_(&s.started);
	sem_init_(&s.release);
	fl_group *driver, *g;
	fl_ctx *dctx, *ctx;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "driver"}, &driver,
			   &dctx));
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "lim2", .limit = 2},
			   &g, &ctx));
	s.g = g;
	check(fl_group_go_named(driver, "releaser", releaser_task, &s));
	for (int i = 0; i < s.n; i++)
		check(fl_group_go(g, limited_task, &s)); /* blocks at the limit */
	check(fl_group_wait(g));
	check(fl_group_wait(driver));
	ASSERT_EQ(fl_stats_get().tasks, base.tasks);
	ASSERT_EQ(fl_group_hwm(g), 2);
	ASSERT_EQ(atomic_load(&s.max), 2);
	fl_group_free(g);
	fl_group_free(driver);
	sem_destroy_(&s.started);
	sem_destroy_(&s.release);
	assert_baseline();
}

typedef struct cancel_at_limit {
	fl_group *g;
	const char *needle;
} cancel_at_limit;

static fl_err *cancel_when_blocked_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	cancel_at_limit *c = arg;
	await_dump(c->needle);
	fl_group_cancel(c->g, test_cause);
	return NULL;
}

FL_TEST(go_blocked_at_limit_returns_cancel_error)
{
	baseline();
	fl_group *g, *driver;
	fl_ctx *ctx, *dctx;
	atomic_int called = 0;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "lim1", .limit = 1},
			   &g, &ctx));
	check(fl_group_new(fl_ctx_background(), NULL, &driver, &dctx));
	check(fl_group_go(g, await_cancel_task, NULL));
	cancel_at_limit c = {g, "group limit of 'lim1'"};
	check(fl_group_go(driver, cancel_when_blocked_task, &c));
	fl_err *err = fl_group_go(g, never_task, &called);
	ASSERT_NOT_NULL(err);
	ASSERT(fl_err_is(err, FL_ERR_CANCELED));
	ASSERT(fl_err_is(err, test_cause));
	fl_err_drop(err);
	err = fl_group_wait(g); /* the holder returned FL_ERR_CANCELED */
	ASSERT(fl_err_is(err, FL_ERR_CANCELED));
	fl_err_drop(err);
	check(fl_group_wait(driver));
	ASSERT_EQ(atomic_load(&called), 0);
	ASSERT_EQ(fl_group_hwm(g), 1);
	fl_group_free(g);
	fl_group_free(driver);
	assert_baseline();
}

FL_TEST(nothing_starts_after_cancellation)
{
	baseline();
	fl_group *g;
	fl_ctx *ctx;
	atomic_int called = 0;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "late"}, &g, &ctx));
	fl_group_cancel(g, NULL);
	fl_err *err = fl_group_go(g, never_task, &called);
	ASSERT(fl_err_is(err, FL_ERR_CANCELED));
	fl_err_drop(err);
	err = fl_group_try_go(g, never_task, &called);
	ASSERT(fl_err_is(err, FL_ERR_CANCELED));
	fl_err_drop(err);
	check(fl_group_wait(g));
	ASSERT_EQ(atomic_load(&called), 0);
	ASSERT_EQ(fl_group_hwm(g), 0);
	fl_group_free(g);

	/* A deadline parent: the error says so. */
	fl_ctx *parent;
	check(fl_ctx_with_deadline(fl_ctx_background(), fl_now(), NULL, &parent));
	check(fl_group_new(parent, NULL, &g, &ctx));
	err = fl_group_go(g, never_task, &called);
	ASSERT(fl_err_is(err, FL_ERR_DEADLINE));
	fl_err_drop(err);
	check(fl_group_wait(g));
	fl_group_free(g);
	fl_ctx_free(parent);
	ASSERT_EQ(atomic_load(&called), 0);
	assert_baseline();
}

FL_TEST(try_go_reports_limit_then_succeeds)
{
	baseline();
	fl_group *g;
	fl_ctx *ctx;
	sem hold;
	sem_init_(&hold);
	atomic_int called = 0;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "try", .limit = 1},
			   &g, &ctx));
	check(fl_group_try_go(g, sem_task, &hold));
	fl_err *err = fl_group_try_go(g, never_task, &called);
	ASSERT(fl_err_is(err, FL_ERR_LIMIT));
	fl_err_drop(err);
	sem_post_(&hold);
	int64_t until = hang_deadline();
	while (fl_group_running(g) > 0) { /* the slot frees after the body returns */
		ASSERT_LT(fl_now(), until);
		fl_yield();
	}
	check(fl_group_try_go(g, never_task, &called));
	check(fl_group_wait(g));
	ASSERT_EQ(atomic_load(&called), 1);
	fl_group_free(g);
	sem_destroy_(&hold);
	assert_baseline();
}

/* ---- misuse --------------------------------------------------------------- */

FL_TEST(set_limit_while_running_is_misuse)
{
	baseline();
	fl_group *g;
	fl_ctx *ctx;
	sem hold;
	sem_init_(&hold);
	check(fl_group_new(fl_ctx_background(), NULL, &g, &ctx));
	check(fl_group_go(g, sem_task, &hold));
	fl_err *err = fl_group_set_limit(g, 4);
	ASSERT(fl_err_is(err, FL_ERR_MISUSE));
	fl_err_drop(err);
	sem_post_(&hold);
	check(fl_group_wait(g));
	err = fl_group_set_limit(g, -1);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	check(fl_group_set_limit(g, 3));
	fl_group_free(g);
	sem_destroy_(&hold);

	err = fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.limit = -2}, &g, &ctx);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	err = fl_group_new(NULL, NULL, &g, &ctx);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	assert_baseline();
}

FL_TEST(go_after_wait_is_misuse)
{
	baseline();
	fl_group *g;
	fl_ctx *ctx;
	atomic_int called = 0;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &ctx));
	check(fl_group_go(g, ok_task, NULL));
	check(fl_group_wait(g));
	fl_err *err = fl_group_go(g, never_task, &called);
	ASSERT(fl_err_is(err, FL_ERR_MISUSE));
	fl_err_drop(err);
	err = fl_group_try_go(g, never_task, &called);
	ASSERT(fl_err_is(err, FL_ERR_MISUSE));
	fl_err_drop(err);
	ASSERT_EQ(atomic_load(&called), 0);
	fl_group_free(g);
	assert_baseline();
}

static fl_err *wait_own_group_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	fl_err *err = fl_group_wait(arg);
	ASSERT(fl_err_is(err, FL_ERR_MISUSE));
	fl_err_drop(err);
	return NULL;
}

FL_TEST(wait_from_own_task_is_misuse)
{
	baseline();
	fl_group *g;
	fl_ctx *ctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &ctx));
	check(fl_group_go(g, wait_own_group_task, g));
	check(fl_group_wait(g));
	fl_group_free(g);
	assert_baseline();
}

FL_TEST(second_wait_returns_same_error)
{
	baseline();
	fl_group *g;
	fl_ctx *ctx;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &ctx));
	check(fl_group_go(g, boom_task, NULL));
	fl_err *a = fl_group_wait(g);
	fl_err *b = fl_group_wait(g);
	ASSERT(fl_err_is(a, test_boom));
	ASSERT(a == b);
	fl_err_drop(a);
	fl_err_drop(b);
	fl_group_free(g);
	fl_group_free(NULL);
	assert_baseline();
}

FL_TEST(stop_cancels_then_waits)
{
	baseline();
	fl_group *g;
	fl_ctx *ctx;
	atomic_int woke = 0;
	check(fl_group_new(fl_ctx_background(), NULL, &g, &ctx));
	for (int i = 0; i < 3; i++)
		check(fl_group_go(g, await_cancel_task, &woke));
	fl_err *err = fl_group_stop(g, test_cause);
	ASSERT_EQ(atomic_load(&woke), 3);
	ASSERT(fl_err_is(err, FL_ERR_CANCELED)); /* the tasks' own answer */
	fl_err_drop(err);
	fl_err *cause = fl_ctx_cause(ctx);
	ASSERT(cause == test_cause);
	fl_err_drop(cause);
	fl_group_free(g);
	assert_baseline();
}

FL_TEST(free_unwaited_aborts)
{
	if (in_child()) {
		fl_group *g;
		fl_ctx *ctx;
		check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "orphan"},
				   &g, &ctx));
		fl_group_free(g);
		return; /* not reached */
	}
	char out[8192];
	int status = run_child("free_unwaited_aborts", out, sizeof(out));
	assert_aborted_with(status, out, "group 'orphan' was never waited on");
}

/* ---- collect mode, nesting --------------------------------------------- */

static fl_err *err_after_cancel_task(fl_ctx *ctx, void *arg)
{
	ASSERT_EQ(fl_ctx_wait(ctx, hang_deadline()), FL_CANCELED);
	return fl_err_wrap(arg, "later");
}

static fl_err *e1_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	return fl_err_wrap(test_e1, "first");
}

FL_TEST(collect_mode_joins_all_errors_first_first)
{
	baseline();
	fl_group *g;
	fl_ctx *ctx;
	check(fl_group_new(fl_ctx_background(),
			   &(struct fl_group_opts){.name = "coll", .collect = true}, &g, &ctx));
	check(fl_group_go(g, err_after_cancel_task, test_e2));
	check(fl_group_go(g, err_after_cancel_task, test_e3));
	check(fl_group_go(g, ok_task, NULL));
	check(fl_group_go(g, e1_task, NULL));
	fl_err *err = fl_group_wait(g);
	ASSERT_EQ(fl_err_join_len(err), 3);
	ASSERT(fl_err_is(fl_err_join_at(err, 0), test_e1));
	ASSERT(fl_err_is(err, test_e1));
	ASSERT(fl_err_is(err, test_e2));
	ASSERT(fl_err_is(err, test_e3));
	ASSERT(fl_err_is(fl_group_first_err(g), test_e1));
	fl_err *again = fl_group_wait(g);
	ASSERT(again == err);
	fl_err *cause = fl_ctx_cause(ctx);
	ASSERT(cause == fl_group_first_err(g));
	fl_err_drop(cause);
	fl_err_drop(again);
	fl_err_drop(err);
	fl_group_free(g);
	assert_baseline();
}

typedef struct nested {
	sem inner_started;
	atomic_int inner_woke;
} nested;

static fl_err *inner_task(fl_ctx *ctx, void *arg)
{
	nested *n = arg;
	ASSERT_EQ(fl_ctx_wait(ctx, hang_deadline()), FL_CANCELED);
	fl_err *cause = fl_ctx_cause(ctx);
	ASSERT(cause == test_cause);
	fl_err_drop(cause);
	atomic_fetch_add(&n->inner_woke, 1);
	return NULL;
}

static fl_err *outer_task(fl_ctx *ctx, void *arg)
{
	nested *n = arg;
	fl_group *inner;
	fl_ctx *ictx;
	check(fl_group_new(ctx, &(struct fl_group_opts){.name = "inner"}, &inner, &ictx));
	for (int i = 0; i < 3; i++)
		check(fl_group_go(inner, inner_task, n));
	sem_post_(&n->inner_started);
	fl_err *err = fl_group_wait(inner);
	fl_group_free(inner);
	return err;
}

FL_TEST(nested_group_cancels_with_parent)
{
	baseline();
	nested n = {.inner_woke = 0};
	sem_init_(&n.inner_started);
	fl_group *g;
	fl_ctx *ctx;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "outer"}, &g,
			   &ctx));
	check(fl_group_go(g, outer_task, &n));
	sem_wait_(&n.inner_started);
	fl_group_cancel(g, test_cause);
	check(fl_group_wait(g));
	ASSERT_EQ(fl_stats_get().tasks, base.tasks);
	ASSERT_EQ(atomic_load(&n.inner_woke), 3);
	fl_group_free(g);
	sem_destroy_(&n.inner_started);
	assert_baseline();
}

FL_TEST_MAIN(FL_CASE(first_error_is_returned_and_cancels_ctx),
	     FL_CASE(all_success_returns_null_and_cancels_after_wait), FL_CASE(hundred_tasks_sum),
	     FL_CASE(limit_two_over_ten_tasks), FL_CASE(go_blocked_at_limit_returns_cancel_error),
	     FL_CASE(nothing_starts_after_cancellation),
	     FL_CASE(try_go_reports_limit_then_succeeds),
	     FL_CASE(set_limit_while_running_is_misuse), FL_CASE(go_after_wait_is_misuse),
	     FL_CASE(wait_from_own_task_is_misuse), FL_CASE(second_wait_returns_same_error),
	     FL_CASE(stop_cancels_then_waits), FL_CASE(free_unwaited_aborts),
	     FL_CASE(collect_mode_joins_all_errors_first_first),
	     FL_CASE(nested_group_cancels_with_parent))
