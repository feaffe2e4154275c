/* fl-test-labels: concurrency memcheck */
/*
 * fl_select: ready cases, blocking until one is ready, fair choice among
 * ready cases, cancellation, deadlines, closed channels, two cases on one
 * channel, NULL channels, 64 cases, and select-versus-select rendezvous.
 */
#include <fl/chan.h>
#include <fl/ctx.h>

#include <stdatomic.h>
#include <stdint.h>

#include "chan_test_util.h"

#define NCASES(c) (sizeof(c) / sizeof((c)[0]))

/* A select run on another thread; result holds its return value. */
typedef struct sel_arg {
	fl_select_case *cases;
	size_t n;
	fl_ctx *ctx;
	int64_t deadline;
	int result;
} sel_arg;

static void *sel_thread(void *p)
{
	sel_arg *a = p;

	a->result = fl_select(a->cases, a->n, a->ctx, a->deadline);
	return NULL;
}

FL_TEST(returns_the_ready_case)
{
	fl_chan *c[3];
	int in[3] = {0, 0, 0}, v = 11, out = 5;

	for (int i = 0; i < 3; i++)
		c[i] = chan_make(sizeof(int), 1, "c");
	ASSERT_EQ(fl_chan_send(c[1], &v, NULL, FL_TRY), FL_OK);

	fl_select_case recv3[] = {
		{.op = FL_RECV, .ch = c[0], .elem = &in[0]},
		{.op = FL_RECV, .ch = c[1], .elem = &in[1]},
		{.op = FL_RECV, .ch = c[2], .elem = &in[2]},
	};
	ASSERT_EQ(fl_select(recv3, 3, NULL, FL_FOREVER), 1);
	ASSERT_EQ(recv3[1].status, FL_OK);
	ASSERT_EQ(in[1], 11);
	ASSERT_EQ(in[0], 0);
	ASSERT_EQ(fl_select(recv3, 3, NULL, FL_TRY), FL_AGAIN);

	/* Fill c[0] and c[2]: only a send to c[1] can proceed. */
	ASSERT_EQ(fl_chan_send(c[0], &v, NULL, FL_TRY), FL_OK);
	ASSERT_EQ(fl_chan_send(c[2], &v, NULL, FL_TRY), FL_OK);
	fl_select_case send3[] = {
		{.op = FL_SEND, .ch = c[0], .elem = &out},
		{.op = FL_SEND, .ch = c[1], .elem = &out},
		{.op = FL_SEND, .ch = c[2], .elem = &out},
	};
	ASSERT_EQ(fl_select(send3, 3, NULL, FL_FOREVER), 1);
	ASSERT_EQ(send3[1].status, FL_OK);
	ASSERT_EQ(fl_chan_recv(c[1], &v, NULL, FL_TRY), FL_OK);
	ASSERT_EQ(v, 5);
	for (int i = 0; i < 3; i++)
		fl_chan_free(c[i]);
}

FL_TEST(blocks_until_a_case_is_ready)
{
	fl_chan *a = chan_make(sizeof(int), 0, "a"), *b = chan_make(sizeof(int), 0, "b");
	int va = 0, vb = 0, v = 77;
	fl_select_case cs[] = {
		{.op = FL_RECV, .ch = a, .elem = &va},
		{.op = FL_RECV, .ch = b, .elem = &vb},
	};
	sel_arg s = {.cases = cs, .n = 2, .deadline = FL_FOREVER};

	actor t = actor_start(sel_thread, &s);
	await_waiting(a, FL_RECV, 1);
	await_waiting(b, FL_RECV, 1);
	ASSERT_EQ(fl_chan_send(b, &v, NULL, FL_TRY), FL_OK);
	actor_join(t);
	ASSERT_EQ(s.result, 1);
	ASSERT_EQ(cs[1].status, FL_OK);
	ASSERT_EQ(vb, 77);
	ASSERT_EQ(va, 0);
	/* The losing link was withdrawn: a's queue is empty again. */
	ASSERT_EQ(fl__chan_waiting(a, FL_RECV), 0);
	ASSERT_EQ(fl__chan_waiting(b, FL_RECV), 0);
	ASSERT_EQ(fl_chan_send(a, &v, NULL, FL_TRY), FL_AGAIN);
	fl_chan_free(a);
	fl_chan_free(b);
}

FL_TEST(fair_among_ready_cases)
{
	fl_chan *c[2] = {chan_make(sizeof(int), 1, "x"), chan_make(sizeof(int), 1, "y")};
	int v = 0, got;
	long wins[2] = {0, 0};
	const long rounds = 10000;
	fl_select_case cs[] = {
		{.op = FL_RECV, .ch = c[0], .elem = &got},
		{.op = FL_RECV, .ch = c[1], .elem = &got},
	};

	for (int i = 0; i < 2; i++)
		ASSERT_EQ(fl_chan_send(c[i], &v, NULL, FL_TRY), FL_OK);
	for (long r = 0; r < rounds; r++) {
		int idx = fl_select(cs, 2, NULL, FL_TRY);
		ASSERT(idx == 0 || idx == 1);
		wins[idx]++;
		/* Refill the chosen channel: both cases stay ready. */
		ASSERT_EQ(fl_chan_send(c[idx], &v, NULL, FL_TRY), FL_OK);
	}
	ASSERT_GE(wins[0] * 100, rounds * 40);
	ASSERT_GE(wins[1] * 100, rounds * 40);
	fl_chan_free(c[0]);
	fl_chan_free(c[1]);
}

FL_TEST(cancel_while_blocked)
{
	fl_chan *a = chan_make(sizeof(int), 0, "a"), *b = chan_make(sizeof(int), 1, "b");
	int va, v = 1;
	fl_ctx *ctx;

	check(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	ASSERT_EQ(fl_chan_send(b, &v, NULL, FL_TRY), FL_OK); /* b is full */
	fl_select_case cs[] = {
		{.op = FL_RECV, .ch = a, .elem = &va},
		{.op = FL_SEND, .ch = b, .elem = &v},
	};
	sel_arg s = {.cases = cs, .n = 2, .ctx = ctx, .deadline = FL_FOREVER};
	actor t = actor_start(sel_thread, &s);
	await_waiting(a, FL_RECV, 1);
	await_waiting(b, FL_SEND, 1);
	fl_ctx_cancel(ctx, NULL);
	actor_join(t);
	ASSERT_EQ(s.result, FL_CANCELED);
	ASSERT_EQ(fl__chan_waiting(a, FL_RECV), 0);
	ASSERT_EQ(fl__chan_waiting(b, FL_SEND), 0);
	ASSERT_EQ(fl_chan_len(b), 1);

	/* Already cancelled on entry: nothing is touched, ready or not. */
	ASSERT_EQ(fl_select(cs, 2, ctx, FL_FOREVER), FL_CANCELED);
	cs[1].op = FL_RECV;
	ASSERT_EQ(fl_select(cs, 2, ctx, FL_TRY), FL_CANCELED);
	ASSERT_EQ(fl_chan_len(b), 1);
	fl_ctx_free(ctx);
	fl_chan_free(a);
	fl_chan_free(b);
}

FL_TEST(deadline_times_out)
{
	fl_chan *a = chan_make(sizeof(int), 0, "a");
	int va;
	fl_ctx *ctx;
	fl_select_case cs[] = {
		{.op = FL_RECV, .ch = a, .elem = &va},
		{.op = FL_SEND, .ch = a, .elem = &va},
	};

	check(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	ASSERT_EQ(fl_select(cs, 2, NULL, fl_deadline_in(FL_MS(1))), FL_TIMEDOUT);
	ASSERT_EQ(fl_select(cs, 2, ctx, fl_deadline_in(FL_MS(1))), FL_TIMEDOUT);
	ASSERT_EQ(fl__chan_waiting(a, FL_RECV), 0);
	ASSERT_EQ(fl__chan_waiting(a, FL_SEND), 0);
	fl_ctx_free(ctx);
	fl_chan_free(a);
}

FL_TEST(closed_channels_are_ready)
{
	fl_chan *a = chan_make(sizeof(int), 0, "a"), *b = chan_make(sizeof(int), 0, "b");
	int v = 3;

	check(fl_chan_close(a));
	fl_select_case send[] = {{.op = FL_SEND, .ch = a, .elem = &v}};
	ASSERT_EQ(fl_select(send, 1, NULL, FL_FOREVER), 0);
	ASSERT_EQ(send[0].status, FL_CLOSED);
	fl_select_case recv[] = {
		{.op = FL_RECV, .ch = b, .elem = &v},
		{.op = FL_RECV, .ch = a, .elem = &v},
	};
	ASSERT_EQ(fl_select(recv, 2, NULL, FL_TRY), 1);
	ASSERT_EQ(recv[1].status, FL_CLOSED);

	/* A select blocked on b wakes with FL_CLOSED when b closes. */
	fl_select_case wait_b[] = {{.op = FL_RECV, .ch = b, .elem = &v}};
	sel_arg s = {.cases = wait_b, .n = 1, .deadline = FL_FOREVER};
	actor t = actor_start(sel_thread, &s);
	await_waiting(b, FL_RECV, 1);
	check(fl_chan_close(b));
	actor_join(t);
	ASSERT_EQ(s.result, 0);
	ASSERT_EQ(wait_b[0].status, FL_CLOSED);
	fl_chan_free(a);
	fl_chan_free(b);
}

FL_TEST(send_and_recv_on_one_channel)
{
	fl_chan *c = chan_make(sizeof(int), 0, "c");
	int out = 7, in = 0, v;
	fl_select_case cs[] = {
		{.op = FL_SEND, .ch = c, .elem = &out},
		{.op = FL_RECV, .ch = c, .elem = &in},
	};
	sel_arg s = {.cases = cs, .n = 2, .deadline = FL_FOREVER};

	/* Unbuffered: the select cannot pair with itself; it blocks. */
	ASSERT_EQ(fl_select(cs, 2, NULL, FL_TRY), FL_AGAIN);
	/* A receiver arriving completes the send case. */
	actor t = actor_start(sel_thread, &s);
	await_waiting(c, FL_SEND, 1);
	await_waiting(c, FL_RECV, 1);
	ASSERT_EQ(fl_chan_recv(c, &v, NULL, FL_TRY), FL_OK);
	actor_join(t);
	ASSERT_EQ(s.result, 0);
	ASSERT_EQ(cs[0].status, FL_OK);
	ASSERT_EQ(v, 7);
	/* A sender arriving completes the receive case. */
	t = actor_start(sel_thread, &s);
	await_waiting(c, FL_SEND, 1);
	await_waiting(c, FL_RECV, 1);
	v = 9;
	ASSERT_EQ(fl_chan_send(c, &v, NULL, FL_TRY), FL_OK);
	actor_join(t);
	ASSERT_EQ(s.result, 1);
	ASSERT_EQ(cs[1].status, FL_OK);
	ASSERT_EQ(in, 9);
	ASSERT_EQ(fl__chan_waiting(c, FL_SEND), 0);
	ASSERT_EQ(fl__chan_waiting(c, FL_RECV), 0);
	fl_chan_free(c);

	/* Buffered: empty, only the send is ready; full, only the receive. */
	c = chan_make(sizeof(int), 1, "b");
	cs[0].ch = cs[1].ch = c;
	ASSERT_EQ(fl_select(cs, 2, NULL, FL_TRY), 0);
	ASSERT_EQ(fl_select(cs, 2, NULL, FL_TRY), 1);
	ASSERT_EQ(in, 7);
	fl_chan_free(c);
}

FL_TEST(null_channels_never_ready)
{
	int v = 0;
	fl_ctx *ctx;
	fl_select_case cs[] = {
		{.op = FL_RECV, .ch = NULL, .elem = &v},
		{.op = FL_SEND, .ch = NULL, .elem = &v},
	};

	ASSERT_EQ(fl_select(cs, 2, NULL, FL_TRY), FL_AGAIN);
	ASSERT_EQ(fl_select(NULL, 0, NULL, FL_TRY), FL_AGAIN);
	ASSERT_EQ(fl_select(cs, 2, NULL, fl_deadline_in(FL_MS(1))), FL_TIMEDOUT);
	ASSERT_EQ(fl_select(NULL, 0, NULL, fl_deadline_in(FL_MS(1))), FL_TIMEDOUT);

	/* Only the context can end a select over nothing (Go's select {}). */
	check(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	sel_arg s = {.cases = cs, .n = 2, .ctx = ctx, .deadline = FL_FOREVER};
	actor t = actor_start(sel_thread, &s);
	fl_ctx_cancel(ctx, NULL);
	actor_join(t);
	ASSERT_EQ(s.result, FL_CANCELED);
	fl_ctx_free(ctx);

	/* A NULL case beside a ready one does not get in the way. */
	fl_chan *c = chan_make(sizeof(int), 1, "c");
	cs[1].ch = c;
	ASSERT_EQ(fl_select(cs, 2, NULL, FL_TRY), 1);
	ASSERT_EQ(fl_chan_len(c), 1);
	fl_chan_free(c);
}

FL_TEST(sixty_four_cases)
{
	enum { N = 64 };
	fl_chan *c[N];
	fl_select_case cs[N];
	int in[N], v = 37;

	for (int i = 0; i < N; i++) {
		c[i] = chan_make(sizeof(int), 0, "c");
		cs[i] = (fl_select_case){.op = FL_RECV, .ch = c[i], .elem = &in[i]};
	}
	/* The same channel twice as well: locked once, queued twice. */
	cs[N - 1].ch = c[0];
	ASSERT_EQ(fl_select(cs, N, NULL, FL_TRY), FL_AGAIN);

	sel_arg s = {.cases = cs, .n = N, .deadline = FL_FOREVER};
	actor t = actor_start(sel_thread, &s);
	await_waiting(c[37], FL_RECV, 1);
	ASSERT_EQ(fl_chan_send(c[37], &v, NULL, FL_TRY), FL_OK);
	actor_join(t);
	ASSERT_EQ(s.result, 37);
	ASSERT_EQ(in[37], 37);
	for (int i = 0; i < N; i++) {
		ASSERT_EQ(fl__chan_waiting(c[i], FL_RECV), 0);
		fl_chan_free(c[i]);
	}
}

/* ---- select against select ---------------------------------------------- */

typedef struct rendezvous {
	fl_chan *c[2];
	long n;
	long used[2]; /* receiver: items that came through each channel */
	uint64_t sum; /* receiver */
} rendezvous;

static void *select_sender(void *p)
{
	rendezvous *r = p;
	long v;
	fl_select_case cs[] = {
		{.op = FL_SEND, .ch = r->c[0], .elem = &v},
		{.op = FL_SEND, .ch = r->c[1], .elem = &v},
	};

	for (v = 0; v < r->n; v++) {
		int idx = fl_select(cs, 2, NULL, FL_FOREVER);
		ASSERT(idx == 0 || idx == 1);
		ASSERT_EQ(cs[idx].status, FL_OK);
	}
	return NULL;
}

FL_TEST(select_vs_select_rendezvous)
{
	rendezvous r = {.n = stress_count(100000)};
	long v, expect = 0;
	fl_select_case cs[2];

	r.c[0] = chan_make(sizeof(long), 0, "left");
	r.c[1] = chan_make(sizeof(long), 0, "right");
	for (int i = 0; i < 2; i++)
		cs[i] = (fl_select_case){.op = FL_RECV, .ch = r.c[i], .elem = &v};
	actor t = actor_start(select_sender, &r);
	for (long i = 0; i < r.n; i++) {
		int idx = fl_select(cs, 2, NULL, FL_FOREVER);
		ASSERT(idx == 0 || idx == 1);
		ASSERT_EQ(cs[idx].status, FL_OK);
		/* Unbuffered: each send completes before the next starts. */
		ASSERT_EQ(v, expect);
		expect++;
		r.used[idx]++;
		r.sum += (uint64_t)v;
	}
	actor_join(t);
	ASSERT_U64_EQ(r.sum, (uint64_t)r.n * (uint64_t)(r.n - 1) / 2);
	if (r.n >= 1000) {
		ASSERT_GT(r.used[0], 0);
		ASSERT_GT(r.used[1], 0);
	}
	ASSERT_EQ(fl__chan_waiting(r.c[0], FL_SEND) + fl__chan_waiting(r.c[1], FL_SEND), 0);
	fl_chan_free(r.c[0]);
	fl_chan_free(r.c[1]);
}

FL_TEST_MAIN(FL_CASE(returns_the_ready_case), FL_CASE(blocks_until_a_case_is_ready),
	     FL_CASE(fair_among_ready_cases), FL_CASE(cancel_while_blocked),
	     FL_CASE(deadline_times_out), FL_CASE(closed_channels_are_ready),
	     FL_CASE(send_and_recv_on_one_channel), FL_CASE(null_channels_never_ready),
	     FL_CASE(sixty_four_cases), FL_CASE(select_vs_select_rendezvous))
