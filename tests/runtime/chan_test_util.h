/*
 * chan_test_util.h - shared helpers for the channel and select tests.
 *
 * Tests create concurrent actors with plain pthreads (users never do; the
 * runtime adopts such threads on first use), or runtime tasks under the sim
 * backend, which runs everything on one thread. Ordering comes from the white-box
 * count of queued waiters (fl__chan_waiting), never from sleeps: once a task's
 * link is queued, it can only return through a wake, its context or its
 * deadline, so what the test does next decides the outcome.
 */
#ifndef FL_CHAN_TEST_UTIL_H
#define FL_CHAN_TEST_UTIL_H

#include <fl/chan.h>
#include <fl/ctx.h>
#include <fl/group.h>

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan_internal.h"
#include "fl_test.h"

static inline void check(fl_err *err)
{
	if (err) {
		fl_err_print(stderr, err);
		FL_FAIL("unexpected error");
	}
}

static inline fl_chan *chan_make(size_t elem_size, size_t cap, const char *name)
{
	struct fl_chan_opts o = {.name = name};
	fl_chan *ch = NULL;

	check(fl_chan_new(elem_size, cap, &o, &ch));
	ASSERT_NOT_NULL(ch);
	return ch;
}

/* True on the sim backend, where every actor must be a runtime task. */
static inline bool on_sim(void) { return strcmp(fl_sched_backend(), "sim") == 0; }

/* An actor: a plain pthread, or under sim (one thread only) a runtime task
 * in a group of its own. */
typedef struct actor {
	pthread_t th;
	fl_group *g;
} actor;

typedef struct actor_box {
	void *(*fn)(void *);
	void *arg;
} actor_box;

static inline fl_err *actor_task(fl_ctx *ctx, void *arg)
{
	actor_box b = *(actor_box *)arg;
	(void)ctx;
	free(arg);
	b.fn(b.arg);
	return NULL;
}

static inline actor actor_start(void *(*fn)(void *), void *arg)
{
	actor a = {0};

	if (on_sim()) {
		fl_ctx *gctx;
		actor_box *b = malloc(sizeof(*b));

		ASSERT_NOT_NULL(b);
		b->fn = fn;
		b->arg = arg;
		check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "actor"},
				   &a.g, &gctx));
		check(fl_group_go(a.g, actor_task, b));
		return a;
	}
	/*
	 * Adopt the creating thread before any actor, so the runtime's one-time
	 * adoption setup happens-before every actor through pthread_create.
	 * Helgrind does not see pthread_once as an ordering, so it reports the
	 * threads backend's key setup as a race whenever an actor happens to
	 * adopt first and another thread adopts later.
	 */
	(void)fl_task_name();
	ASSERT_EQ(pthread_create(&a.th, NULL, fn, arg), 0);
	return a;
}

static inline void actor_join(actor a)
{
	if (a.g) {
		check(fl_group_wait(a.g));
		fl_group_free(a.g);
		return;
	}
	ASSERT_EQ(pthread_join(a.th, NULL), 0);
}

/*
 * A start barrier between actors (and the test). A no-op under sim: there
 * actors interleave only at runtime calls, and a pthread barrier would
 * block the one thread.
 */
static inline void actor_barrier_wait(pthread_barrier_t *b)
{
	if (!on_sim())
		pthread_barrier_wait(b);
}

/*
 * Waits until at least n links are queued on ch for op (FL_SEND/FL_RECV).
 * Polls politely; fails after the harness's hang bound instead of hanging
 * the suite.
 */
static inline void await_waiting(fl_chan *ch, int op, size_t n)
{
	int64_t limit = fl_now() + fl_test_hang_ns();
	struct timespec nap = {0, 100000};

	if (on_sim()) { /* virtual time stands still while we yield: count */
		for (long spins = 0; fl__chan_waiting(ch, op) < n; spins++) {
			if (spins > 1000000)
				FL_FAIL("no %zu waiter(s) on the channel after 1e6 yields", n);
			fl_yield();
		}
		return;
	}

	for (int spins = 0; fl__chan_waiting(ch, op) < n; spins++) {
		if (fl_now() > limit)
			FL_FAIL("no %zu waiter(s) on the channel after 10s", n);
		if (spins < 100)
			sched_yield();
		else
			nanosleep(&nap, NULL);
	}
}

/*
 * Iteration count for stress loops: base, times FL_STRESS_SCALE if set
 * (a float), else divided by FL_TEST_TIME_SCALE (slow checkers).
 */
static inline long stress_count(long base)
{
	const char *s = getenv("FL_STRESS_SCALE");
	long n;

	if (s && *s)
		n = (long)((double)base * atof(s));
	else
		n = base / fl_test_time_scale();
	return n > 0 ? n : 1;
}

#endif
