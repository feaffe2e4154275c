/* fl-test-labels: concurrency memcheck */
/*
 * test_group_race.c - groups under concurrency: tasks start siblings while
 * the owner waits, concurrent producers respect the limit, a fast release
 * races a blocking go, cancellation races the slot handover; and the live
 * counts return to their baseline. The rest of the group API is in
 * test_group.c; the tasks and errors both use are in group_test_util.h.
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

/* ---- concurrency ------------------------------------------------------- */

typedef struct tree {
	fl_group *g;
	atomic_int ran;
} tree;

typedef struct tree_node {
	tree *t;
} tree_node;

static tree_node tree_nodes[64];

/* Node i starts children 2i+1 and 2i+2: go from inside the group while the
 * owner is already in wait. */
static fl_err *tree_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	tree_node *n = arg;
	int i = (int)(n - tree_nodes);
	atomic_fetch_add(&n->t->ran, 1);
	for (int k = 2 * i + 1; k <= 2 * i + 2 && k < 63; k++)
		check(fl_group_go(n->t->g, tree_task, &tree_nodes[k]));
	return NULL;
}

FL_TEST(tasks_start_siblings_while_owner_waits)
{
	baseline();
	tree t = {.ran = 0};
	fl_ctx *ctx;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "tree"}, &t.g,
			   &ctx));
	for (int i = 0; i < 63; i++)
		tree_nodes[i] = (tree_node){&t};
	check(fl_group_go(t.g, tree_task, &tree_nodes[0]));
	check(fl_group_wait(t.g));
	ASSERT_EQ(fl_stats_get().tasks, base.tasks);
	ASSERT_EQ(atomic_load(&t.ran), 63);
	fl_group_free(t.g);
	assert_baseline();
}

typedef struct producers {
	fl_group *g;
	atomic_int cur, max, ran, refused;
	int limit;
} producers;

static fl_err *bounded_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	producers *p = arg;
	int c = atomic_fetch_add(&p->cur, 1) + 1;
	ASSERT_LE(c, p->limit);
	int m = atomic_load(&p->max);
	while (c > m && !atomic_compare_exchange_weak(&p->max, &m, c))
		;
	fl_yield();
	atomic_fetch_sub(&p->cur, 1);
	atomic_fetch_add(&p->ran, 1);
	return NULL;
}

/* Mixes blocking go and try_go, as errgroup's TryGo-with-fallback. */
static fl_err *producer_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	producers *p = arg;
	for (int i = 0; i < 25; i++) {
		fl_err *err = fl_group_try_go(p->g, bounded_task, p);
		if (err) {
			ASSERT(fl_err_is(err, FL_ERR_LIMIT));
			fl_err_drop(err);
			atomic_fetch_add(&p->refused, 1);
			check(fl_group_go(p->g, bounded_task, p));
		}
	}
	return NULL;
}

FL_TEST(concurrent_producers_respect_limit)
{
	baseline();
	producers p = {.limit = 3};
	fl_group *drivers;
	fl_ctx *ctx, *dctx;
	check(fl_group_new(fl_ctx_background(),
			   &(struct fl_group_opts){.name = "bounded", .limit = 3}, &p.g, &ctx));
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "producers"},
			   &drivers, &dctx));
	for (int i = 0; i < 4; i++)
		check(fl_group_go(drivers, producer_task, &p));
	check(fl_group_wait(drivers));
	check(fl_group_wait(p.g));
	ASSERT_EQ(fl_stats_get().tasks, base.tasks);
	ASSERT_EQ(atomic_load(&p.ran), 100);
	ASSERT_LE(fl_group_hwm(p.g), 3);
	ASSERT_LE(atomic_load(&p.max), 3);
	fl_group_free(p.g);
	fl_group_free(drivers);
	assert_baseline();
}

/*
 * The lock-free slot paths: two tasks end at the same moment (both released
 * by one close) while the owner's next go finds the group full and blocks.
 * A release that slipped between the go's "full" check and its queueing
 * would leave it asleep with a free slot: the test would hang (ctest's
 * timeout is the guard). Every task must run, and never more than two at
 * once.
 */
typedef struct racers {
	fl_chan *release;
	atomic_int cur, max, ran;
} racers;

static fl_err *racer_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	racers *r = arg;
	int c = atomic_fetch_add(&r->cur, 1) + 1;
	int m = atomic_load(&r->max);
	while (c > m && !atomic_compare_exchange_weak(&r->max, &m, c))
		;
	ASSERT_EQ(fl_chan_recv(r->release, NULL, NULL, FL_FOREVER), FL_CLOSED);
	atomic_fetch_sub(&r->cur, 1);
	atomic_fetch_add(&r->ran, 1);
	return NULL;
}

FL_TEST(fast_release_races_blocking_go)
{
	baseline();
	enum { ITERS = 200 };
	for (int i = 0; i < ITERS; i++) {
		racers r = {.cur = 0};
		fl_group *g;
		fl_ctx *ctx;
		check(fl_chan_new(1, 0, NULL, &r.release));
		check(fl_group_new(fl_ctx_background(),
				   &(struct fl_group_opts){.name = "racers", .limit = 2}, &g,
				   &ctx));
		check(fl_group_go(g, racer_task, &r));
		check(fl_group_go(g, racer_task, &r));
		while (fl__chan_waiting(r.release, FL_RECV) < 2)
			fl_yield();
		check(fl_chan_close(r.release));       /* both end now ... */
		check(fl_group_go(g, racer_task, &r)); /* ... while this one blocks */
		check(fl_group_wait(g));
		ASSERT_EQ(atomic_load(&r.ran), 3);
		ASSERT_LE(atomic_load(&r.max), 2);
		ASSERT_LE(fl_group_hwm(g), 2);
		fl_group_free(g);
		fl_chan_free(r.release);
	}
	assert_baseline();
}

typedef struct blocked_gos {
	fl_group *g;
	atomic_int started, refused;
} blocked_gos;

static fl_err *count_started_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	atomic_fetch_add(&((blocked_gos *)arg)->started, 1);
	return NULL;
}

static fl_err *blocked_go_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	blocked_gos *b = arg;
	for (int i = 0; i < 10; i++) {
		fl_err *err = fl_group_go(b->g, count_started_task, b);
		if (err) {
			ASSERT(fl_err_is(err, FL_ERR_CANCELED));
			fl_err_drop(err);
			atomic_fetch_add(&b->refused, 1);
		}
	}
	return NULL;
}

/* Cancellation races with slot hand-over: every go either started its task
 * or reported the cancellation, and nothing leaks or hangs. */
FL_TEST(cancel_races_slot_handover)
{
	baseline();
	blocked_gos b = {.started = 0};
	fl_group *drivers;
	fl_ctx *ctx, *dctx;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "race", .limit = 1},
			   &b.g, &ctx));
	check(fl_group_new(fl_ctx_background(), NULL, &drivers, &dctx));
	for (int i = 0; i < 4; i++)
		check(fl_group_go(drivers, blocked_go_task, &b));
	fl_yield();
	fl_group_cancel(b.g, test_cause);
	check(fl_group_wait(drivers));
	check(fl_group_wait(b.g));
	ASSERT_EQ(fl_stats_get().tasks, base.tasks);
	ASSERT_EQ(atomic_load(&b.started) + atomic_load(&b.refused), 40);
	ASSERT_LE(fl_group_hwm(b.g), 1);
	fl_group_free(b.g);
	fl_group_free(drivers);
	assert_baseline();
}

/* ---- live counts -------------------------------------------------------- */

FL_TEST(stats_return_to_baseline)
{
	baseline();
	for (int round = 0; round < 3; round++) {
		fl_group *g;
		fl_ctx *ctx;
		check(fl_group_new(fl_ctx_background(),
				   &(struct fl_group_opts){.name = "stats", .limit = 3}, &g, &ctx));
		ASSERT_EQ(fl_stats_get().groups, base.groups + 1);
		for (int i = 0; i < 20; i++) {
			/* After the boom, go may find the group cancelled. */
			fl_err *e = fl_group_go(g, i == 7 ? boom_task : ok_task, NULL);
			ASSERT(e == NULL || fl_err_is(e, FL_ERR_CANCELED));
			fl_err_drop(e);
		}
		fl_err *err = fl_group_wait(g);
		ASSERT_EQ(fl_stats_get().tasks, base.tasks); /* no retry */
		fl_err_drop(err);
		fl_group_free(g);
		assert_baseline();
	}
}

/* ---- structured task states ------------------------------------------------ */

static fl_err *recv_one(fl_ctx *ctx, void *arg)
{
	int v;
	return fl_chan_recv(arg, &v, ctx, FL_FOREVER) == FL_OK ? NULL : fl_err_new("no value");
}

/* Finds the state of the task named name; false if it is not live. */
static bool state_of(const char *name, fl_task_state *out)
{
	fl_task_state st[64];
	size_t n = fl_task_states(st, 64);
	for (size_t i = 0; i < n && i < 64; i++)
		if (strcmp(st[i].name, name) == 0) {
			*out = st[i];
			return true;
		}
	return false;
}

/* fl_task_states says what a task waits on, as data: a test orders events
 * by it instead of parsing fl_task_dump's text or sleeping. */
FL_TEST(task_states_show_what_tasks_wait_on)
{
	baseline();
	fl_chan *ch;
	check(fl_chan_new(sizeof(int), 0, &(struct fl_chan_opts){.name = "inbox"}, &ch));
	fl_group *g;
	fl_ctx *ctx;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "readers"}, &g,
			   &ctx));
	check(fl_group_go_named(g, "reader", recv_one, ch));
	fl_task_state s;
	int64_t until = hang_deadline();
	while (!state_of("reader", &s) || s.wait != FL_TASK_CHAN_RECV) {
		ASSERT_LT(fl_now(), until); /* it gets there: it waits for a value */
		fl_yield();
	}
	ASSERT(s.on == ch);
	ASSERT_STR_EQ(s.on_label, "inbox");
	ASSERT_STR_EQ(s.group, "readers");
	ASSERT_EQ(s.until_ns, FL_FOREVER);
	ASSERT(!s.thread);
	ASSERT_EQ(fl_task_states(NULL, 0), fl_stats_get().tasks + 1 /* this thread */);
	int v = 7;
	ASSERT_EQ(fl_chan_send(ch, &v, NULL, FL_FOREVER), FL_OK);
	check(fl_group_wait(g));
	ASSERT(!state_of("reader", &s)); /* gone once wait returned */
	fl_group_free(g);
	fl_chan_free(ch);
	assert_baseline();
}

FL_TEST_MAIN(FL_CASE(task_states_show_what_tasks_wait_on),
	     FL_CASE(tasks_start_siblings_while_owner_waits),
	     FL_CASE(concurrent_producers_respect_limit), FL_CASE(fast_release_races_blocking_go),
	     FL_CASE(cancel_races_slot_handover), FL_CASE(stats_return_to_baseline))
