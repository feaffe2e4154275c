/* fl-test-labels: fibers onebackend */
/* onebackend: every case starts the fibers backend itself (white-box). */
/*
 * test_fibers_sched.c - the fibers backend's scheduling, white-box: idle
 * workers steal, a channel handoff goes through the runnext slot, the
 * direct switch races wakes, and fl_blocking runs on the side pool and
 * leaves the workers free. Stacks, the context switch and foreign threads
 * are in test_fibers.c, timers in test_fibers_timers.c.
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

FL_ERR_SENTINEL(test_miss, "handoff did not go through runnext");

/* ---- work stealing -------------------------------------------------------- */

enum { STEAL_TASKS = 64 };

typedef struct steal_state {
	fl_group *g;
	atomic_uint seen; /* bit per worker that ran a child */
	atomic_int done;
	int64_t until;
} steal_state;

static int popcount(unsigned v) { return __builtin_popcount(v); }

static void cpu_relax_test(void)
{
#if defined(__x86_64__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* Marks its worker, then keeps that worker busy (no parking, no yielding)
 * until another worker has run a child: only stealing gets it there. */
static fl_err *steal_child(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	steal_state *s = arg;
	int w = fl__fibers_worker_index();
	ASSERT_GE(w, 0);
	atomic_fetch_or(&s->seen, 1u << w);
	while (popcount(atomic_load(&s->seen)) < WORKERS && fl_now() < s->until)
		cpu_relax_test();
	atomic_fetch_add(&s->done, 1);
	return NULL;
}

/* Spawns every child from one fiber: they all land in its worker's ring. */
static fl_err *steal_root(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	steal_state *s = arg;
	for (int i = 0; i < STEAL_TASKS; i++)
		check(fl_group_go(s->g, steal_child, s));
	return NULL;
}

FL_TEST(idle_workers_steal)
{
	use_fibers();
	steal_state s = {.until = hang_deadline()};
	s.g = group_make("steal");
	check(fl_group_go(s.g, steal_root, &s));
	group_finish(s.g);
	ASSERT_EQ(atomic_load(&s.done), STEAL_TASKS);
	ASSERT_EQ(popcount(atomic_load(&s.seen)), WORKERS);
}

/* ---- the runnext handoff -------------------------------------------------- */

/* sched_fibers.c's STALE_NS: another worker may take a runnext slot that
 * has held the same fiber this long. */
#define RUNNEXT_STALE_NS FL_US(50)

typedef struct handoff {
	fl_chan *ch, *back;
	_Atomic(fl__task *) receiver;
	int receiver_worker;
	int64_t sent_ns; /* sender: just before its send */
	int64_t ran_ns;  /* receiver: as it resumed */
	int64_t until;
} handoff;

static fl_err *handoff_receiver(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	handoff *h = arg;
	int v = 0;
	atomic_store(&h->receiver, fl__sched()->self());
	ASSERT_EQ(fl_chan_recv(h->ch, &v, NULL, FL_FOREVER), FL_OK);
	h->ran_ns = fl__mono_ns();
	h->receiver_worker = fl__fibers_worker_index();
	ASSERT_EQ(fl_chan_send(h->back, &v, NULL, FL_FOREVER), FL_OK);
	return NULL;
}

/* Sends to a parked receiver and checks that the receiver went to this
 * worker's runnext slot and then ran here, once the sender parked. */
static fl_err *handoff_sender(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	handoff *h = arg;
	fl__task *r;
	while (!(r = atomic_load(&h->receiver)) || phase_of(r) != FIBER_PARKED) {
		ASSERT_LT(fl_now(), h->until);
		fl_yield();
	}
	int v = 42;
	h->sent_ns = fl__mono_ns();
	ASSERT_EQ(fl_chan_send(h->ch, &v, NULL, FL_FOREVER), FL_OK);
	fl__task *next = fl__fibers_runnext_task();
	int here = fl__fibers_worker_index();
	ASSERT_EQ(fl_chan_recv(h->back, &v, NULL, FL_FOREVER), FL_OK);
	ASSERT_EQ(v, 42);
	return (next == r && h->receiver_worker == here) ? NULL : test_miss;
}

FL_TEST(handoff_runs_receiver_next_on_same_worker)
{
	use_fibers();
	int hits = 0, tries = 10, quick = 0;
	for (int i = 0; i < tries; i++) {
		handoff h = {.ch = chan_make(sizeof(int), 0, "handoff"),
			     .back = chan_make(sizeof(int), 0, "back"),
			     .until = hang_deadline()};
		fl_group *g = group_make("handoff");
		check(fl_group_go(g, handoff_receiver, &h));
		check(fl_group_go(g, handoff_sender, &h));
		fl_err *err = fl_group_wait(g);
		/* A steal needs the slot unchanged for RUNNEXT_STALE_NS: when the
		 * receiver ran sooner after the send, nobody could have taken it,
		 * so it must be a hit. A slower round (the OS stalled the sender,
		 * as a busy machine does) may legitimately have been stolen. */
		bool in_time = h.ran_ns - h.sent_ns < RUNNEXT_STALE_NS;
		quick += in_time;
		if (!err)
			hits++;
		else if (!fl_err_is(err, test_miss) || in_time)
			FL_FAIL("handoff %d: %s %lld ns after the send", i,
				err == test_miss ? "stolen" : "failed",
				(long long)(h.ran_ns - h.sent_ns));
		fl_err_drop(err);
		fl_group_free(g);
		fl_chan_free(h.ch);
		fl_chan_free(h.back);
	}
	fprintf(stderr, "runnext handoffs: %d of %d (%d within the stale window)\n", hits, tries,
		quick);
}

/*
 * The direct switch: a fiber that parks with a fiber in its runnext slot
 * switches straight to it, and the resumed fiber finishes the park. Here
 * fiber A sends to B (B goes to runnext), then parks in a select on B's
 * reply and on a channel a foreign thread sends to at the same time, so
 * some of those wakes land while A is still switching out (PARKING): A
 * must then run again, and no wake may be lost or doubled. Every value is
 * accounted for; a lost wake hangs (ctest's timeout is the guard).
 */
enum { DIRECT_ROUNDS = 20000, DIRECT_FOREIGN = 2000 };

typedef struct direct {
	fl_chan *ping, *pong, *x;
	long rounds, foreign;
	long long got_x;
} direct;

static fl_err *direct_b(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	direct *d = arg;
	int v;
	while (fl_chan_recv(d->ping, &v, NULL, FL_FOREVER) == FL_OK) {
		v = -v;
		ASSERT_EQ(fl_chan_send(d->pong, &v, NULL, FL_FOREVER), FL_OK);
	}
	return NULL;
}

static fl_err *direct_a(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	direct *d = arg;
	long nx = 0;
	for (int i = 1; i <= d->rounds; i++) {
		ASSERT_EQ(fl_chan_send(d->ping, &i, NULL, FL_FOREVER), FL_OK);
		int back = 0, xv = 0;
		fl_select_case cs[2] = {{.ch = d->pong, .op = FL_RECV, .elem = &back},
					{.ch = d->x, .op = FL_RECV, .elem = &xv}};
		int k = fl_select(cs, 2, NULL, FL_FOREVER);
		if (k == 1) {
			ASSERT_EQ(cs[1].status, FL_OK);
			d->got_x += xv;
			nx++;
			ASSERT_EQ(fl_chan_recv(d->pong, &back, NULL, FL_FOREVER), FL_OK);
		} else {
			ASSERT_EQ(k, 0);
		}
		ASSERT_EQ(back, -i);
	}
	for (int xv; nx < d->foreign; nx++) {
		ASSERT_EQ(fl_chan_recv(d->x, &xv, NULL, FL_FOREVER), FL_OK);
		d->got_x += xv;
	}
	check(fl_chan_close(d->ping));
	return NULL;
}

static void *direct_foreign(void *arg)
{
	direct *d = arg;
	for (int i = 1; i <= d->foreign; i++)
		ASSERT_EQ(fl_chan_send(d->x, &i, NULL, FL_FOREVER), FL_OK);
	return NULL;
}

FL_TEST(direct_switch_races_wakes)
{
	use_fibers();
	direct d = {.ping = chan_make(sizeof(int), 0, "ping"),
		    .pong = chan_make(sizeof(int), 0, "pong"),
		    .x = chan_make(sizeof(int), 0, "x"),
		    .rounds = stress_count(DIRECT_ROUNDS),
		    .foreign = stress_count(DIRECT_FOREIGN)};
	if (d.foreign > d.rounds)
		d.foreign = d.rounds;
	uint64_t before = fl__fibers_direct_switches();
	fl_group *g = group_make("direct");
	check(fl_group_go(g, direct_b, &d));
	check(fl_group_go(g, direct_a, &d));
	actor t = actor_start(direct_foreign, &d);
	actor_join(t);
	group_finish(g);
	ASSERT_EQ(d.got_x, (long long)d.foreign * (d.foreign + 1) / 2);
	uint64_t direct_n = fl__fibers_direct_switches() - before;
	fprintf(stderr, "direct switches: %llu over %ld rounds\n", (unsigned long long)direct_n,
		d.rounds);
	ASSERT_GT(direct_n, 0);
	fl_chan_free(d.ping);
	fl_chan_free(d.pong);
	fl_chan_free(d.x);
}

/* ---- fl_blocking ------------------------------------------------------------ */

enum { BLOCKERS = 4 };

typedef struct blk {
	int fd[2];
	char got;
	atomic_int *inside;
} blk;

typedef struct blk_state {
	blk b[BLOCKERS];
	atomic_int inside;
	long threads_seen;
	bool dump_showed;
	int64_t until;
} blk_state;

static void blocking_read(void *arg)
{
	blk *b = arg;
	atomic_fetch_add(b->inside, 1);
	ASSERT_EQ(read(b->fd[0], &b->got, 1), 1);
}

static fl_err *blocking_reader(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	blk *b = arg;
	fl_blocking(blocking_read, b);
	ASSERT_EQ(b->got, 'x');
	return NULL;
}

static bool dump_contains_n(const char *needle, int n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ASSERT_NOT_NULL(f);
	fl_task_dump(f);
	fclose(f);
	int k = 0;
	for (const char *p = buf; (p = strstr(p, needle)) != NULL; p++)
		k++;
	free(buf);
	return k >= n;
}

/* Runs only if the readers' blocking reads left the workers free. */
static fl_err *blocking_writer(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	blk_state *s = arg;
	while (atomic_load(&s->inside) < BLOCKERS) {
		ASSERT_LT(fl_now(), s->until);
		fl_yield();
	}
	s->threads_seen = fl_stats_get().threads;
	s->dump_showed = dump_contains_n("blocking call", BLOCKERS);
	for (int i = 0; i < BLOCKERS; i++)
		ASSERT_EQ(write(s->b[i].fd[1], "x", 1), 1);
	return NULL;
}

static void note_thread(void *arg) { *(pthread_t *)arg = pthread_self(); }

FL_TEST(blocking_calls_leave_workers_free)
{
	use_fibers();
	blk_state s = {.until = hang_deadline()};
	for (int i = 0; i < BLOCKERS; i++) {
		ASSERT_EQ(pipe(s.b[i].fd), 0);
		s.b[i].inside = &s.inside;
	}
	fl_group *g = group_make("blocking");
	for (int i = 0; i < BLOCKERS; i++)
		check(fl_group_go(g, blocking_reader, &s.b[i]));
	check(fl_group_go(g, blocking_writer, &s));
	group_finish(g);
	ASSERT_GE(s.threads_seen, WORKERS + BLOCKERS);
	ASSERT(s.dump_showed);
	for (int i = 0; i < BLOCKERS; i++) {
		close(s.b[i].fd[0]);
		close(s.b[i].fd[1]);
	}
	/* Off the workers, fl_blocking runs inline. */
	pthread_t ran = 0;
	fl_blocking(note_thread, &ran);
	ASSERT(pthread_equal(ran, pthread_self()));
}

FL_TEST_MAIN(FL_CASE(idle_workers_steal), FL_CASE(handoff_runs_receiver_next_on_same_worker),
	     FL_CASE(direct_switch_races_wakes), FL_CASE(blocking_calls_leave_workers_free))
