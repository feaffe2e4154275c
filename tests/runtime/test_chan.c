/* fl-test-labels: concurrency memcheck */
/*
 * Channels: buffering and FIFO order, rendezvous, close, cancellation,
 * deadlines, try semantics, draining on free, misuse, and an MPMC stress
 * compared against a sequential oracle.
 */
#include <fl/chan.h>
#include <fl/ctx.h>

#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chan_test_util.h"

/* A blocking operation run on another thread; result holds its status. */
typedef struct op_arg {
	fl_chan *ch;
	int op;    /* FL_SEND or FL_RECV */
	int value; /* send: the value; recv: what arrived */
	fl_ctx *ctx;
	int64_t deadline;
	atomic_int done; /* set after the call returned */
	int result;
} op_arg;

static void *op_thread(void *p)
{
	op_arg *a = p;

	if (a->op == FL_SEND)
		a->result = fl_chan_send(a->ch, &a->value, a->ctx, a->deadline);
	else
		a->result = fl_chan_recv(a->ch, &a->value, a->ctx, a->deadline);
	atomic_store(&a->done, 1);
	return NULL;
}

static op_arg blocking_op(fl_chan *ch, int op, int value, fl_ctx *ctx)
{
	return (op_arg){.ch = ch, .op = op, .value = value, .ctx = ctx, .deadline = FL_FOREVER};
}

FL_TEST(new_rejects_bad_sizes)
{
	fl_chan *ch = (fl_chan *)(uintptr_t)1;
	long chans = fl_stats_get().chans;
	fl_err *err;

	err = fl_chan_new(0, 4, NULL, &ch);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	err = fl_chan_new(FL__CHAN_MAX_ELEM + 1, 0, NULL, &ch);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	err = fl_chan_new(8, SIZE_MAX / 4, NULL, &ch);
	ASSERT(fl_err_is(err, FL_ERR_NOMEM));
	fl_err_drop(err);
	ASSERT(ch == (fl_chan *)(uintptr_t)1); /* untouched on failure */
	ASSERT_EQ(fl_stats_get().chans, chans);

	check(fl_chan_new(FL__CHAN_MAX_ELEM, 0, NULL, &ch));
	ASSERT_EQ(fl_stats_get().chans, chans + 1);
	ASSERT_EQ(fl_chan_cap(ch), 0);
	ASSERT_STR_EQ(fl__chan_label(ch), "chan");
	fl_chan_free(ch);
	fl_chan_free(NULL);
	ASSERT_EQ(fl_stats_get().chans, chans);
}

FL_TEST(buffered_fifo)
{
	fl_chan *ch = chan_make(sizeof(int), 8, "fifo");
	int v;

	ASSERT_EQ(fl_chan_cap(ch), 8);
	for (int i = 0; i < 8; i++)
		ASSERT_EQ(fl_chan_send(ch, &i, NULL, FL_TRY), FL_OK);
	v = 99;
	ASSERT_EQ(fl_chan_send(ch, &v, NULL, FL_TRY), FL_AGAIN);
	ASSERT_EQ(fl_chan_len(ch), 8);
	for (int i = 0; i < 8; i++) {
		ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_FOREVER), FL_OK);
		ASSERT_EQ(v, i);
	}
	ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_TRY), FL_AGAIN);

	/* Keep 5 in flight for 100 rounds so the ring wraps many times. */
	int next_in = 0, next_out = 0;
	for (; next_in < 5; next_in++)
		ASSERT_EQ(fl_chan_send(ch, &next_in, NULL, FL_FOREVER), FL_OK);
	for (int r = 0; r < 100; r++, next_in++, next_out++) {
		ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_FOREVER), FL_OK);
		ASSERT_EQ(v, next_out);
		ASSERT_EQ(fl_chan_send(ch, &next_in, NULL, FL_FOREVER), FL_OK);
	}
	ASSERT_EQ(fl_chan_len(ch), 5);
	ASSERT_EQ(fl_chan_recv(ch, NULL, NULL, FL_TRY), FL_OK); /* discard */
	ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_TRY), FL_OK);
	ASSERT_EQ(v, next_out + 1);
	fl_chan_free(ch);
}

FL_TEST(unbuffered_rendezvous)
{
	fl_chan *ch = chan_make(sizeof(int), 0, "rv");
	int v = 1;

	/* Nobody on the other side: a try never completes. */
	ASSERT_EQ(fl_chan_send(ch, &v, NULL, FL_TRY), FL_AGAIN);
	ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_TRY), FL_AGAIN);
	ASSERT_EQ(fl_chan_len(ch), 0);

	/* A blocked receiver makes a try-send complete, straight into it. */
	op_arg r = blocking_op(ch, FL_RECV, 0, NULL);
	actor t = actor_start(op_thread, &r);
	await_waiting(ch, FL_RECV, 1);
	v = 42;
	ASSERT_EQ(fl_chan_send(ch, &v, NULL, FL_TRY), FL_OK);
	actor_join(t);
	ASSERT_EQ(r.result, FL_OK);
	ASSERT_EQ(r.value, 42);

	/* A sender stays blocked until a receiver arrives. */
	op_arg s = blocking_op(ch, FL_SEND, 7, NULL);
	t = actor_start(op_thread, &s);
	await_waiting(ch, FL_SEND, 1);
	ASSERT_EQ(atomic_load(&s.done), 0);
	ASSERT_EQ(fl_chan_len(ch), 0);
	ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_TRY), FL_OK);
	ASSERT_EQ(v, 7);
	actor_join(t);
	ASSERT_EQ(s.result, FL_OK);
	ASSERT_EQ(fl__chan_waiting(ch, FL_SEND), 0);
	fl_chan_free(ch);
}

/* Large elements are copied whole, directly between the two stacks. */
typedef struct big {
	unsigned char bytes[4096];
} big;

static void *big_sender(void *p)
{
	fl_chan *ch = p;
	big b;

	for (size_t i = 0; i < sizeof(b.bytes); i++)
		b.bytes[i] = (unsigned char)(i * 7);
	ASSERT_EQ(fl_chan_send(ch, &b, NULL, FL_FOREVER), FL_OK);
	return NULL;
}

FL_TEST(large_elements_copied_whole)
{
	fl_chan *ch = chan_make(sizeof(big), 0, "big");
	static big b;

	actor t = actor_start(big_sender, ch);
	ASSERT_EQ(fl_chan_recv(ch, &b, NULL, FL_FOREVER), FL_OK);
	actor_join(t);
	for (size_t i = 0; i < sizeof(b.bytes); i++)
		ASSERT_EQ(b.bytes[i], (unsigned char)(i * 7));
	fl_chan_free(ch);
}

FL_TEST(close_drains_then_reports_closed)
{
	fl_chan *ch = chan_make(sizeof(int), 4, "jobs");
	int v;

	for (int i = 1; i <= 3; i++)
		ASSERT_EQ(fl_chan_send(ch, &i, NULL, FL_FOREVER), FL_OK);
	ASSERT(!fl_chan_closed(ch));
	check(fl_chan_close(ch));
	ASSERT(fl_chan_closed(ch));

	v = 4;
	ASSERT_EQ(fl_chan_send(ch, &v, NULL, FL_FOREVER), FL_CLOSED);
	ASSERT_EQ(fl_chan_send(ch, &v, NULL, FL_TRY), FL_CLOSED);
	for (int i = 1; i <= 3; i++) {
		ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_FOREVER), FL_OK);
		ASSERT_EQ(v, i);
	}
	ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_FOREVER), FL_CLOSED);
	ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_TRY), FL_CLOSED);

	fl_err *err = fl_chan_close(ch);
	ASSERT_NOT_NULL(err);
	ASSERT(fl_err_is(err, FL_ERR_CLOSED));
	ASSERT_STR_EQ(fl_err_msg(err), "close of closed channel 'jobs'");
	fl_err_drop(err);
	fl_chan_free(ch);
}

FL_TEST(close_wakes_blocked_tasks)
{
	fl_chan *rv = chan_make(sizeof(int), 0, "rv");     /* blocked sender */
	fl_chan *full = chan_make(sizeof(int), 1, "full"); /* blocked sender */
	fl_chan *empty = chan_make(sizeof(int), 2, "empty");
	op_arg a[5] = {
		blocking_op(rv, FL_SEND, 1, NULL),    blocking_op(full, FL_SEND, 2, NULL),
		blocking_op(empty, FL_RECV, 0, NULL), blocking_op(empty, FL_RECV, 0, NULL),
		blocking_op(empty, FL_RECV, 0, NULL),
	};
	actor t[5];
	int v = 0;

	ASSERT_EQ(fl_chan_send(full, &v, NULL, FL_TRY), FL_OK);
	for (int i = 0; i < 5; i++)
		t[i] = actor_start(op_thread, &a[i]);
	await_waiting(rv, FL_SEND, 1);
	await_waiting(full, FL_SEND, 1);
	await_waiting(empty, FL_RECV, 3);
	check(fl_chan_close(rv));
	check(fl_chan_close(full));
	check(fl_chan_close(empty));
	for (int i = 0; i < 5; i++) {
		actor_join(t[i]);
		ASSERT_EQ(a[i].result, FL_CLOSED);
	}
	/* The element buffered before the close is still delivered. */
	ASSERT_EQ(fl_chan_recv(full, &v, NULL, FL_TRY), FL_OK);
	ASSERT_EQ(v, 0);
	ASSERT_EQ(fl_chan_recv(full, &v, NULL, FL_TRY), FL_CLOSED);
	fl_chan_free(rv);
	fl_chan_free(full);
	fl_chan_free(empty);
}

/* Cancels a task blocked on ch (op) and checks it leaves no trace. */
static void cancel_blocked(fl_chan *ch, int op)
{
	fl_ctx *ctx;

	check(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	op_arg a = blocking_op(ch, op, 5, ctx);
	actor t = actor_start(op_thread, &a);
	await_waiting(ch, op, 1);
	fl_ctx_cancel(ctx, NULL);
	actor_join(t);
	ASSERT_EQ(a.result, FL_CANCELED);
	ASSERT(fl_ctx_err(ctx) == FL_ERR_CANCELED);
	ASSERT_EQ(fl__chan_waiting(ch, op), 0);
	fl_ctx_free(ctx);
}

FL_TEST(cancel_blocked_recv)
{
	fl_chan *ch = chan_make(sizeof(int), 0, "c");
	int v = 3;

	cancel_blocked(ch, FL_RECV);
	/* The channel is still usable and nothing was consumed or left. */
	op_arg s = blocking_op(ch, FL_SEND, 9, NULL);
	actor t = actor_start(op_thread, &s);
	ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_FOREVER), FL_OK);
	ASSERT_EQ(v, 9);
	actor_join(t);
	fl_chan_free(ch);
}

FL_TEST(cancel_blocked_send)
{
	fl_chan *ch = chan_make(sizeof(int), 1, "c");
	int v = 1;

	ASSERT_EQ(fl_chan_send(ch, &v, NULL, FL_TRY), FL_OK);
	cancel_blocked(ch, FL_SEND);
	/* The cancelled element was not sent: only the first is buffered. */
	ASSERT_EQ(fl_chan_len(ch), 1);
	ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_TRY), FL_OK);
	ASSERT_EQ(v, 1);
	ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_TRY), FL_AGAIN);
	fl_chan_free(ch);
}

/* One side of a race, released by a barrier: cancels ctx or try-sends. */
typedef struct racer {
	fl_ctx *ctx; /* cancel this, or if NULL ... */
	fl_chan *ch; /* ... try-send value on ch */
	int value;
	int sent; /* the try-send's result */
	pthread_barrier_t *go;
} racer;

static void race(racer *r)
{
	actor_barrier_wait(r->go);
	if (r->ctx)
		fl_ctx_cancel(r->ctx, NULL);
	else
		r->sent = fl_chan_send(r->ch, &r->value, NULL, FL_TRY);
}

static void *racer_thread(void *p)
{
	race(p);
	return NULL;
}

/*
 * A blocked receive whose ctx is cancelled just as a sender arrives reports
 * exactly one outcome, consistently on both sides: never a lost element
 * and never a half-done operation. The roles alternate between the main
 * thread and a helper, so each side wins the race some of the time.
 */
FL_TEST(cancel_races_completion)
{
	fl_chan *ch = chan_make(sizeof(int), 0, "race");
	long rounds = stress_count(2000), completed = 0;
	pthread_barrier_t go;

	ASSERT_EQ(pthread_barrier_init(&go, NULL, 2), 0);
	for (long i = 0; i < rounds; i++) {
		fl_ctx *ctx;

		check(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
		op_arg r = blocking_op(ch, FL_RECV, -1, ctx);
		racer canceller = {.ctx = ctx, .go = &go};
		racer sender = {.ch = ch, .value = (int)i, .go = &go};
		racer *mine = i % 2 ? &canceller : &sender;
		racer *theirs = i % 2 ? &sender : &canceller;
		actor tr = actor_start(op_thread, &r);
		await_waiting(ch, FL_RECV, 1);
		actor tc = actor_start(racer_thread, theirs);
		race(mine);
		actor_join(tc);
		actor_join(tr);
		if (sender.sent == FL_OK) {
			ASSERT_EQ(r.result, FL_OK);
			ASSERT_EQ(r.value, i);
			completed++;
		} else {
			ASSERT_EQ(sender.sent, FL_AGAIN);
			ASSERT_EQ(r.result, FL_CANCELED);
			ASSERT_EQ(r.value, -1);
		}
		ASSERT_EQ(fl__chan_waiting(ch, FL_RECV), 0);
		fl_ctx_free(ctx);
	}
	if (getenv("FL_TEST_VERBOSE"))
		fprintf(stderr, "completed %ld of %ld\n", completed, rounds);
	pthread_barrier_destroy(&go);
	fl_chan_free(ch);
}

FL_TEST(deadline_times_out)
{
	fl_chan *empty = chan_make(sizeof(int), 0, "empty");
	fl_chan *full = chan_make(sizeof(int), 1, "full");
	int v = 1;

	ASSERT_EQ(fl_chan_send(full, &v, NULL, FL_TRY), FL_OK);
	ASSERT_EQ(fl_chan_recv(empty, &v, NULL, fl_deadline_in(FL_MS(1))), FL_TIMEDOUT);
	ASSERT_EQ(fl_chan_send(empty, &v, NULL, fl_deadline_in(FL_MS(1))), FL_TIMEDOUT);
	ASSERT_EQ(fl_chan_send(full, &v, NULL, fl_deadline_in(FL_MS(1))), FL_TIMEDOUT);
	/* A deadline already in the past (but not FL_TRY) times out too. */
	ASSERT_EQ(fl_chan_recv(empty, &v, NULL, 1), FL_TIMEDOUT);

	/* With a context watched as well, the deadline still decides. */
	fl_ctx *ctx;
	check(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	ASSERT_EQ(fl_chan_recv(empty, &v, ctx, fl_deadline_in(FL_MS(1))), FL_TIMEDOUT);
	fl_ctx_free(ctx);

	ASSERT_EQ(fl__chan_waiting(empty, FL_RECV), 0);
	ASSERT_EQ(fl__chan_waiting(empty, FL_SEND), 0);
	ASSERT_EQ(fl__chan_waiting(full, FL_SEND), 0);
	ASSERT_EQ(fl_chan_len(full), 1);
	fl_chan_free(empty);
	fl_chan_free(full);
}

FL_TEST(cancelled_ctx_on_entry)
{
	fl_chan *ch = chan_make(sizeof(int), 2, "c");
	fl_ctx *ctx;
	int v = 1;

	check(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	fl_ctx_cancel(ctx, NULL);
	/* Space available, but the channel is not touched. */
	ASSERT_EQ(fl_chan_send(ch, &v, ctx, FL_FOREVER), FL_CANCELED);
	ASSERT_EQ(fl_chan_send(ch, &v, ctx, FL_TRY), FL_CANCELED);
	ASSERT_EQ(fl_chan_len(ch), 0);
	ASSERT_EQ(fl_chan_send(ch, &v, NULL, FL_TRY), FL_OK);
	ASSERT_EQ(fl_chan_recv(ch, &v, ctx, FL_FOREVER), FL_CANCELED);
	ASSERT_EQ(fl_chan_len(ch), 1);
	check(fl_chan_close(ch));
	ASSERT_EQ(fl_chan_send(ch, &v, ctx, FL_FOREVER), FL_CANCELED);
	fl_ctx_free(ctx);
	fl_chan_free(ch);
}

FL_TEST(try_semantics)
{
	fl_chan *ch = chan_make(sizeof(int), 1, "c");
	int v = 5;

	ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_TRY), FL_AGAIN);
	ASSERT_EQ(fl_chan_send(ch, &v, NULL, FL_TRY), FL_OK);
	ASSERT_EQ(fl_chan_send(ch, &v, NULL, FL_TRY), FL_AGAIN);
	ASSERT_EQ(fl__chan_waiting(ch, FL_SEND), 0); /* a try never queues */
	ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_TRY), FL_OK);
	ASSERT_EQ(v, 5);
	check(fl_chan_close(ch));
	/* Closed beats "would block": a try reports FL_CLOSED, not FL_AGAIN. */
	ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_TRY), FL_CLOSED);
	ASSERT_EQ(fl_chan_send(ch, &v, NULL, FL_TRY), FL_CLOSED);
	fl_chan_free(ch);
}

static atomic_int freed;

static void free_str(void *elem)
{
	free(*(char **)elem);
	atomic_fetch_add(&freed, 1);
}

FL_TEST(free_elem_drains_buffer)
{
	struct fl_chan_opts o = {.name = "strings", .free_elem = free_str};
	fl_chan *ch;
	char *s;

	check(fl_chan_new(sizeof(char *), 4, &o, &ch));
	ASSERT_STR_EQ(fl__chan_label(ch), "strings");
	/* Fill, take two, refill: the ring wraps before the drain. */
	for (int i = 0; i < 4; i++) {
		s = strdup("payload");
		ASSERT_EQ(fl_chan_send(ch, &s, NULL, FL_TRY), FL_OK);
	}
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(fl_chan_recv(ch, &s, NULL, FL_TRY), FL_OK);
		ASSERT_STR_EQ(s, "payload");
		free(s); /* received: ours now */
	}
	for (int i = 0; i < 2; i++) {
		s = strdup("payload");
		ASSERT_EQ(fl_chan_send(ch, &s, NULL, FL_TRY), FL_OK);
	}
	/* A failed send leaves ownership with the sender. */
	s = strdup("kept");
	ASSERT_EQ(fl_chan_send(ch, &s, NULL, FL_TRY), FL_AGAIN);
	free(s);
	check(fl_chan_close(ch));
	fl_chan_free(ch);
	ASSERT_EQ(atomic_load(&freed), 4);
}

/*
 * Freeing a channel a task is blocked on is misuse and aborts. The child is
 * a fresh exec of this binary (fork alone is unsafe once threads exist, and
 * TSan refuses threads after a multithreaded fork).
 */
static void blocked_free_child(void)
{
	fl_chan *ch = chan_make(sizeof(int), 0, "doomed");
	op_arg a = blocking_op(ch, FL_RECV, 0, NULL);

	actor_start(op_thread, &a);
	await_waiting(ch, FL_RECV, 1);
	fl_chan_free(ch); /* must abort */
	_exit(0);
}

FL_TEST(free_with_blocked_task_aborts)
{
	char self[4096];
	ssize_t n;
	pid_t pid;
	int st;

	if (getenv("FL_CHAN_ABORT_CHILD"))
		blocked_free_child();
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ASSERT_GT(n, 0);
	self[n] = '\0';
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		setenv("FL_CHAN_ABORT_CHILD", "1", 1);
		execl(self, self, "free_with_blocked_task_aborts", (char *)NULL);
		_exit(127);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ASSERT(WIFSIGNALED(st));
	ASSERT_EQ(WTERMSIG(st), SIGABRT);
}

FL_TEST(dump_names_the_channel)
{
	fl_chan *ch = chan_make(sizeof(int), 0, "inbox");
	op_arg a = blocking_op(ch, FL_RECV, 0, NULL);
	char *text = NULL;
	size_t len = 0;
	int v = 1;

	actor t = actor_start(op_thread, &a);
	await_waiting(ch, FL_RECV, 1);
	/* Queued is not yet parked: retry until the dump shows the wait. */
	for (int i = 0; !text || !strstr(text, "chan recv on 'inbox'"); i++) {
		ASSERT_LT(i, 100000);
		free(text);
		FILE *out = open_memstream(&text, &len);
		ASSERT_NOT_NULL(out);
		fl_task_dump(out);
		fclose(out);
		if (!strstr(text, "chan recv on 'inbox'"))
			fl_yield();
	}
	free(text);
	ASSERT_EQ(fl_chan_send(ch, &v, NULL, FL_FOREVER), FL_OK);
	actor_join(t);
	fl_chan_free(ch);
}

/* ---- progress: completed waits and finished tasks count, idling not ---- */

/* Echoes until ping closes: it does not finish inside the pinger's round. */
static fl_err *pp_echo(fl_ctx *ctx, void *arg)
{
	fl_chan **ch = arg;
	int v;
	while (fl_chan_recv(ch[0], &v, ctx, FL_FOREVER) == FL_OK)
		ASSERT_EQ(fl_chan_send(ch[1], &v, ctx, FL_FOREVER), FL_OK);
	return NULL;
}

static fl_err *pp_ping(fl_ctx *ctx, void *arg)
{
	fl_chan **ch = arg;
	int v = 1;
	unsigned long before = fl_stats_get().progress;
	ASSERT_EQ(fl_chan_send(ch[0], &v, ctx, FL_FOREVER), FL_OK);
	ASSERT_EQ(fl_chan_recv(ch[1], &v, ctx, FL_FOREVER), FL_OK);
	ASSERT_GT(fl_stats_get().progress, before); /* a side blocked; the reply orders it */
	return fl_chan_close(ch[0]);
}

static fl_err *pp_nothing(fl_ctx *ctx, void *arg) { return (void)ctx, (void)arg, NULL; }

static unsigned long progress_still(void)
{
	unsigned long a = fl_stats_get().progress;
	nanosleep(&(struct timespec){0, 2000000}, NULL);
	ASSERT_U64_EQ(fl_stats_get().progress, a); /* nothing ran: the negative control */
	return a;
}

FL_TEST(progress_counts_handoffs_and_finished_tasks)
{
	fl_chan *ch[2] = {chan_make(sizeof(int), 0, "ping"), chan_make(sizeof(int), 0, "pong")};
	unsigned long p0 = progress_still();
	int64_t limit = fl_now() + FL_SEC(10) * fl_test_time_scale();
	fl_group *g;
	fl_ctx *gctx;

	check(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	check(fl_group_go(g, pp_nothing, NULL)); /* neither it nor main waits */
	for (long i = 0; fl_stats_get().progress == p0 || fl_group_running(g) > 0; i++) {
		ASSERT(on_sim() ? i < 1000000 : fl_now() < limit);
		on_sim() ? fl_yield() : (void)sched_yield();
	}
	check(fl_group_go(g, pp_echo, ch));
	check(fl_group_go(g, pp_ping, ch));
	check(fl_group_wait(g));
	fl_group_free(g);
	progress_still();
	fl_chan_free(ch[0]);
	fl_chan_free(ch[1]);
}

/* ---- MPMC stress against a sequential oracle ---------------------------- */

enum { NPROD = 4, NCONS = 4 };

typedef struct mpmc {
	fl_chan *ch;
	long per_producer;
	pthread_barrier_t start;
} mpmc;

typedef struct consumer {
	mpmc *m;
	unsigned char *seen; /* per value: how often this consumer got it */
	long count;
	uint64_t sum;
	long last[NPROD]; /* per producer: last sequence number seen */
} consumer;

typedef struct producer {
	mpmc *m;
	int id;
} producer;

static void *produce(void *p)
{
	producer *pr = p;
	mpmc *m = pr->m;

	actor_barrier_wait(&m->start);
	for (long i = 0; i < m->per_producer; i++) {
		long v = pr->id * m->per_producer + i;
		ASSERT_EQ(fl_chan_send(m->ch, &v, NULL, FL_FOREVER), FL_OK);
	}
	return NULL;
}

static void *consume(void *p)
{
	consumer *c = p;
	mpmc *m = c->m;
	long v;
	int rc;

	for (int i = 0; i < NPROD; i++)
		c->last[i] = -1;
	actor_barrier_wait(&m->start);
	while ((rc = fl_chan_recv(m->ch, &v, NULL, FL_FOREVER)) == FL_OK) {
		long prod = v / m->per_producer, seq = v % m->per_producer;
		/* One producer's items reach any one consumer in order. */
		ASSERT_GT(seq, c->last[prod]);
		c->last[prod] = seq;
		c->seen[v]++;
		c->count++;
		c->sum += (uint64_t)v;
	}
	ASSERT_EQ(rc, FL_CLOSED);
	return NULL;
}

static void mpmc_run(size_t cap)
{
	mpmc m = {.per_producer = stress_count(100000) / NPROD};
	long total = m.per_producer * NPROD;
	producer pr[NPROD];
	consumer co[NCONS];
	actor tp[NPROD], tc[NCONS];
	uint64_t oracle_sum = 0, sum = 0;
	long count = 0;

	m.ch = chan_make(sizeof(long), cap, "mpmc");
	ASSERT_EQ(pthread_barrier_init(&m.start, NULL, NPROD + NCONS), 0);
	for (int i = 0; i < NCONS; i++) {
		co[i] = (consumer){.m = &m, .seen = calloc((size_t)total, 1)};
		ASSERT_NOT_NULL(co[i].seen);
		tc[i] = actor_start(consume, &co[i]);
	}
	for (int i = 0; i < NPROD; i++) {
		pr[i] = (producer){.m = &m, .id = i};
		tp[i] = actor_start(produce, &pr[i]);
	}
	for (int i = 0; i < NPROD; i++)
		actor_join(tp[i]);
	check(fl_chan_close(m.ch));
	for (int i = 0; i < NCONS; i++)
		actor_join(tc[i]);

	/* The oracle: every value 0..total-1 exactly once. */
	for (long v = 0; v < total; v++) {
		int times = 0;
		for (int i = 0; i < NCONS; i++)
			times += co[i].seen[v];
		if (times != 1)
			FL_FAIL("value %ld received %d times", v, times);
		oracle_sum += (uint64_t)v;
	}
	for (int i = 0; i < NCONS; i++) {
		count += co[i].count;
		sum += co[i].sum;
		free(co[i].seen);
	}
	ASSERT_EQ(count, total);
	ASSERT_U64_EQ(sum, oracle_sum);
	pthread_barrier_destroy(&m.start);
	fl_chan_free(m.ch);
}

FL_TEST(mpmc_stress_unbuffered) { mpmc_run(0); }
FL_TEST(mpmc_stress_buffered) { mpmc_run(8); }

FL_TEST_MAIN(FL_CASE(new_rejects_bad_sizes), FL_CASE(buffered_fifo), FL_CASE(unbuffered_rendezvous),
	     FL_CASE(large_elements_copied_whole), FL_CASE(close_drains_then_reports_closed),
	     FL_CASE(close_wakes_blocked_tasks), FL_CASE(cancel_blocked_recv),
	     FL_CASE(cancel_blocked_send), FL_CASE(cancel_races_completion),
	     FL_CASE(deadline_times_out), FL_CASE(cancelled_ctx_on_entry), FL_CASE(try_semantics),
	     FL_CASE(free_elem_drains_buffer), FL_CASE(free_with_blocked_task_aborts),
	     FL_CASE(dump_names_the_channel), FL_CASE(progress_counts_handoffs_and_finished_tasks),
	     FL_CASE(mpmc_stress_unbuffered), FL_CASE(mpmc_stress_buffered))
