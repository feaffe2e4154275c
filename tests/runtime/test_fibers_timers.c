/* fl-test-labels: fibers onebackend */
/* onebackend: every case starts the fibers backend itself (white-box). */
/*
 * test_fibers_timers.c - the fibers backend's timers, white-box: sleeps
 * wake at their deadlines, park deadlines and context timers, deadlines
 * racing channel handoffs, and what stopping a timer promises. Stacks
 * and the context switch are in test_fibers.c, scheduling in
 * test_fibers_sched.c.
 *
 * Every case selects the backend itself (two workers, whatever
 * FAULTLINE_BACKEND says), so the file is registered once. Not labelled
 * "concurrency" or "memcheck": Valgrind does not follow hand-written stack
 * switches, so the Helgrind and memcheck gates skip it.
 */
#define _GNU_SOURCE
#include <fl/chan.h>
#include <fl/ctx.h>
#include <fl/group.h>
#include <fl/task.h>

#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fiber_internal.h"
#include "chan_test_util.h"
#include "fiber_test_util.h"

/* ---- timers and deadlines ---------------------------------------------- */

enum { SLEEPERS = 200 };

typedef struct sleeper {
	int64_t deadline;
	int64_t woke;
} sleeper;

static fl_err *sleeper_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	sleeper *s = arg;
	ASSERT_EQ(fl_sleep_until(NULL, s->deadline), FL_OK);
	s->woke = fl_now();
	return NULL;
}

FL_TEST(sleeps_wake_at_their_deadlines)
{
	use_fibers();
	sleeper *s = calloc(SLEEPERS, sizeof(*s));
	ASSERT_NOT_NULL(s);
	uint64_t rng = 12345;
	int64_t t0 = fl_now();
	fl_group *g = group_make("sleepers");
	for (int i = 0; i < SLEEPERS; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		s[i].deadline = t0 + FL_MS(1) + (int64_t)((rng >> 33) % (uint64_t)FL_MS(20));
		check(fl_group_go(g, sleeper_task, &s[i]));
	}
	group_finish(g);
	int64_t worst = 0, total = 0;
	for (int i = 0; i < SLEEPERS; i++) {
		ASSERT_GE(s[i].woke, s[i].deadline);
		total += s[i].woke - s[i].deadline;
		if (s[i].woke - s[i].deadline > worst)
			worst = s[i].woke - s[i].deadline;
	}
	fprintf(stderr, "%d sleepers, lateness mean %.3f ms, worst %.3f ms\n", SLEEPERS,
		(double)total / SLEEPERS / 1e6, (double)worst / 1e6);
	free(s);
}

typedef struct deadlines {
	fl_chan *ch;
	fl_ctx *ctx;
} deadlines;

static fl_err *deadline_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	deadlines *d = arg;
	int v;
	int64_t t0 = fl_now();
	ASSERT_EQ(fl_chan_recv(d->ch, &v, NULL, t0 + FL_MS(5)), FL_TIMEDOUT);
	ASSERT_GE(fl_now(), t0 + FL_MS(5));
	ASSERT_EQ(fl_chan_recv(d->ch, &v, NULL, t0 - 1), FL_TIMEDOUT); /* passed */
	ASSERT_EQ(fl_ctx_wait(d->ctx, FL_FOREVER), FL_CANCELED);       /* its timer */
	ASSERT(fl_ctx_err(d->ctx) == FL_ERR_DEADLINE);
	return NULL;
}

FL_TEST(park_deadlines_and_ctx_timers)
{
	use_fibers();
	deadlines d = {.ch = chan_make(sizeof(int), 0, "never")};
	check(fl_ctx_with_timeout(fl_ctx_background(), FL_MS(10), NULL, &d.ctx));
	fl_group *g = group_make("deadlines");
	for (int i = 0; i < 8; i++)
		check(fl_group_go(g, deadline_task, &d));
	group_finish(g);
	fl_ctx_free(d.ctx);
	fl_chan_free(d.ch);
}

/* Receivers with deadlines of a few microseconds race senders, so a
 * deadline often fires just as a sender hands its value over. Every value
 * arrives exactly once and nothing hangs. */
enum { RACE_PAIRS = 8, RACE_ITEMS = 20000 };

typedef struct race {
	fl_chan *ch;
	long items;
	long got, sum, timeouts;
	uint64_t rng;
} race;

static fl_err *race_sender(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	race *r = arg;
	for (long i = 1; i <= r->items; i++)
		ASSERT_EQ(fl_chan_send(r->ch, &i, NULL, FL_FOREVER), FL_OK);
	return NULL;
}

static fl_err *race_receiver(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	race *r = arg;
	while (r->got < r->items) {
		r->rng = r->rng * 6364136223846793005ull + 1442695040888963407ull;
		long v = 0;
		int rc = fl_chan_recv(r->ch, &v, NULL,
				      fl_deadline_in((int64_t)(r->rng >> 59) * 1000));
		if (rc == FL_TIMEDOUT) {
			r->timeouts++;
			continue;
		}
		ASSERT_EQ(rc, FL_OK);
		r->got++;
		r->sum += v;
	}
	return NULL;
}

FL_TEST(deadlines_race_handoffs)
{
	use_fibers();
	race rs[RACE_PAIRS];
	long items = stress_count(RACE_ITEMS), timeouts = 0;
	fl_group *g = group_make("race");
	for (int i = 0; i < RACE_PAIRS; i++) {
		rs[i] = (race){.ch = chan_make(sizeof(long), 0, "race"),
			       .items = items,
			       .rng = (uint64_t)i + 1};
		check(fl_group_go(g, race_receiver, &rs[i]));
		check(fl_group_go(g, race_sender, &rs[i]));
	}
	group_finish(g);
	for (int i = 0; i < RACE_PAIRS; i++) {
		ASSERT_EQ(rs[i].got, items);
		ASSERT_EQ(rs[i].sum, items * (items + 1) / 2);
		timeouts += rs[i].timeouts;
		fl_chan_free(rs[i].ch);
	}
	fprintf(stderr, "%d pairs x %ld items, %ld receive deadlines expired\n", RACE_PAIRS, items,
		timeouts);
}

typedef struct slow_timer {
	fl__timer t;
	atomic_int entered, release, returned, calling;
	int stop_result, returned_at_stop;
	int64_t until;
} slow_timer;

static void slow_callback(fl__timer *t)
{
	slow_timer *s = t->arg;
	atomic_store(&s->entered, 1);
	while (!atomic_load(&s->release) && fl__mono_ns() < s->until)
		;
	atomic_store(&s->returned, 1);
}

static void fast_callback(fl__timer *t)
{
	atomic_int *fired = t->arg;
	atomic_store(fired, 1);
}

static fl_err *stopper_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	slow_timer *s = arg;
	atomic_store(&s->calling, 1);
	s->stop_result = fl__sched()->timer_stop(&s->t);
	s->returned_at_stop = atomic_load(&s->returned);
	return NULL;
}

/* timer_stop on a pending timer wins; on a firing one it waits for the
 * callback to return (here from a fiber, while the callback runs on a
 * worker's scheduler loop). */
FL_TEST(timer_stop_semantics)
{
	use_fibers();
	const fl__sched_ops *ops = fl__sched();
	atomic_int fired1 = 0, fired2 = 0;
	fl__timer t1 = {.when_ns = fl_now() + FL_MS(5), .fn = fast_callback, .arg = &fired1};
	fl__timer t2 = {.when_ns = fl_now() + FL_MS(10), .fn = fast_callback, .arg = &fired2};
	ops->timer_start(&t1);
	ops->timer_start(&t2);
	ASSERT(ops->timer_stop(&t1));
	int64_t until = hang_deadline();
	while (!atomic_load(&fired2)) {
		ASSERT_LT(fl_now(), until);
		nap_us(100);
	}
	ASSERT(!ops->timer_stop(&t2));
	ASSERT_EQ(atomic_load(&fired1), 0);

	slow_timer s = {.until = hang_deadline()};
	s.t = (fl__timer){.when_ns = fl_now(), .fn = slow_callback, .arg = &s};
	ops->timer_start(&s.t);
	while (!atomic_load(&s.entered)) {
		ASSERT_LT(fl_now(), s.until);
		nap_us(100);
	}
	fl_group *g = group_make("stopper");
	check(fl_group_go(g, stopper_task, &s));
	while (!atomic_load(&s.calling)) {
		ASSERT_LT(fl_now(), s.until);
		nap_us(100);
	}
	nap_us(2000); /* best effort: let the stopper reach its wait */
	atomic_store(&s.release, 1);
	group_finish(g);
	ASSERT_EQ(s.stop_result, 0);
	ASSERT_EQ(s.returned_at_stop, 1);
}

FL_TEST_MAIN(FL_CASE(sleeps_wake_at_their_deadlines), FL_CASE(park_deadlines_and_ctx_timers),
	     FL_CASE(deadlines_race_handoffs), FL_CASE(timer_stop_semantics))
