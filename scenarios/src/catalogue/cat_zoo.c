/*
 * cat_zoo.c - the bug zoo: planted concurrency bugs of known depth, each
 * beside its fixed twin, as targets for `faultline explore` (docs/explore.md).
 *
 * Every bug is written with the runtime (tasks in a group, channels,
 * fl_yield as the preemption point a real thread would have anywhere) and
 * has one check that fails only on the buggy interleaving; on every other
 * interleaving, and on every interleaving of the fixed twin, it holds.
 * Waits that the bug would leave blocked forever carry a virtual 1 s
 * deadline, so a hit is a failed check rather than a hang, on any backend.
 * They are exploration targets (fl_scenario.explore_target): listed and
 * run by name, left out of `catalogue` and the default suite.
 *
 *   lost_wakeup   the waiter checks a flag, then waits on an unbuffered
 *                 channel; the notifier sets the flag and signals without
 *                 blocking. If the notifier's three steps of work and its
 *                 signal all fall between the waiter's check and its wait,
 *                 the signal is lost (fixed: a buffered signal).
 *   order         a user reads the configuration after two steps of its
 *                 own work; the initialiser writes it after one step. The
 *                 user's three steps must all come before the
 *                 initialiser's two (fixed: the user waits for a channel
 *                 the initialiser closes).
 *   atomicity     two clients withdraw 60 from a balance of 100 held in a
 *                 channel of capacity 1: each checks the balance (receive,
 *                 send back) and later withdraws (receive, send less).
 *                 Both checks before either withdrawal overdraw it (fixed:
 *                 one receive covers the check and the withdrawal).
 *   deadlock      two tasks take two locks (channels of capacity 1 holding
 *                 a token) in opposite orders; if each holds its first when
 *                 it asks for its second, the wait is cyclic (fixed: one
 *                 order).
 *   missed_close  two producers count themselves out with a read, a step,
 *                 and a write of a shared counter; the last one out closes
 *                 the output. Both reading before either writes loses an
 *                 update, nobody closes, and the consumer waits in vain
 *                 (fixed: read and write in one step).
 *   double_done   a worker and a canceller both complete a request if it
 *                 is not completed yet, with a step between the test and
 *                 the completion: both test before either completes
 *                 (fixed: test and complete in one step).
 *   torn_read     depth 3, and longer (k of 30 and more): a writer, after
 *                 24 steps of work, publishes version 2 of a record as
 *                 header, body, trailer, a step apart; a reader reads them
 *                 in the same order and trusts the body when header and
 *                 trailer agree. It is fooled only by a body read between
 *                 two versions that agree: header before the writer's
 *                 header, body after its body, trailer before its trailer
 *                 (or the mirror image), three ordering constraints, two
 *                 preemptions (fixed: trailer first, header last, as a
 *                 seqlock reads).
 *
 * And zoo_real_clock, for `replay --check-determinism`: its check always
 * holds, but a task yields as many times as the real clock's microseconds
 * modulo 65536 say, something no seed controls, so two replays of one
 * seed write different traces (the same only if they read the clock
 * 65.536 ms apart to the microsecond).
 */
#include "cat_internal.h"

#include <string.h>
#include <time.h>

#define DEADLINE FL_SEC(1)

typedef struct zoo {
	bool fixed;
	fl_ctx *ctx;
	fl_chan *a, *b, *c;
	int flag, value, count;
	bool ok; /* what the check holds */
	char msg[160];
} zoo;

typedef struct zoo_bug {
	const char *check; /* the scenario's one declared check */
	fl_err *(*setup)(zoo *z);
	fl_task_fn task[3];
} zoo_bug;

static void steps(int n)
{
	for (int i = 0; i < n; i++)
		fl_yield();
}

static fl_chan *chan(size_t cap, fl_err **err)
{
	fl_chan *ch = NULL;
	if (!*err)
		*err = fl_chan_new(sizeof(int), cap, NULL, &ch);
	return ch;
}

/* ---- lost wakeup ---------------------------------------------------------------- */

static fl_err *lw_setup(zoo *z)
{
	fl_err *err = NULL;
	z->a = chan(z->fixed ? 1 : 0, &err);
	z->ok = true;
	return err;
}

static fl_err *lw_waiter(fl_ctx *ctx, void *arg)
{
	zoo *z = arg;
	if (z->flag)
		return NULL;
	fl_yield();
	int v;
	if (fl_chan_recv(z->a, &v, ctx, fl_deadline_in(DEADLINE)) != FL_OK) {
		z->ok = false;
		snprintf(z->msg, sizeof(z->msg),
			 "lost wakeup: the waiter saw the flag clear, the signal came before it "
			 "waited, and it waited in vain");
	}
	return NULL;
}

static fl_err *lw_notifier(fl_ctx *ctx, void *arg)
{
	zoo *z = arg;
	int one = 1;
	steps(3);
	z->flag = 1;
	(void)fl_chan_send(z->a, &one, ctx, fl_now()); /* no waiter: dropped */
	return NULL;
}

/* ---- order violation ------------------------------------------------------------- */

/* One unbuffered channel, z->a (order violation, missed close). */
static fl_err *unbuffered_setup(zoo *z)
{
	fl_err *err = NULL;
	z->a = chan(0, &err);
	z->ok = true;
	return err;
}

static fl_err *ov_init(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	zoo *z = arg;
	fl_yield();
	z->value = 42;
	return fl_chan_close(z->a);
}

static fl_err *ov_user(fl_ctx *ctx, void *arg)
{
	zoo *z = arg;
	steps(2);
	if (z->fixed)
		(void)fl_chan_recv(z->a, NULL, ctx, fl_deadline_in(DEADLINE));
	if (z->value != 42) {
		z->ok = false;
		snprintf(z->msg, sizeof(z->msg),
			 "order violation: the user read the configuration as %d before the "
			 "initialiser wrote 42",
			 z->value);
	}
	return NULL;
}

/* ---- atomicity violation across two channel operations ------------------------------- */

static fl_err *av_setup(zoo *z)
{
	fl_err *err = NULL;
	z->a = chan(1, &err);
	int balance = 100;
	if (!err && fl_chan_send(z->a, &balance, NULL, FL_FOREVER) != FL_OK)
		err = fl_err_new("zoo: seeding the balance");
	z->ok = true;
	return err;
}

static fl_err *av_client(fl_ctx *ctx, void *arg)
{
	zoo *z = arg;
	int bal;
	if (fl_chan_recv(z->a, &bal, ctx, FL_FOREVER) != FL_OK)
		return fl_err_new("zoo: balance");
	if (!z->fixed) { /* the check, as an operation of its own */
		(void)fl_chan_send(z->a, &bal, ctx, FL_FOREVER);
		fl_yield();
		if (bal < 60)
			return NULL;
		if (fl_chan_recv(z->a, &bal, ctx, FL_FOREVER) != FL_OK)
			return fl_err_new("zoo: balance");
	} else if (bal < 60) {
		return fl_chan_send(z->a, &bal, ctx, FL_FOREVER) == FL_OK
			       ? NULL
			       : fl_err_new("zoo: balance");
	}
	bal -= 60;
	if (bal < 0 && z->ok) {
		z->ok = false;
		snprintf(z->msg, sizeof(z->msg),
			 "atomicity violation: both clients saw 100 before either withdrew; "
			 "the balance went to %d",
			 bal);
	}
	(void)fl_chan_send(z->a, &bal, ctx, FL_FOREVER);
	return NULL;
}

/* ---- deadlock from a cyclic wait ---------------------------------------------------- */

static fl_err *dl_setup(zoo *z)
{
	fl_err *err = NULL;
	int token = 1;
	z->a = chan(1, &err);
	z->b = chan(1, &err);
	if (!err && (fl_chan_send(z->a, &token, NULL, FL_FOREVER) != FL_OK ||
		     fl_chan_send(z->b, &token, NULL, FL_FOREVER) != FL_OK))
		err = fl_err_new("zoo: the locks");
	z->ok = true;
	return err;
}

static void dl_take_both(zoo *z, fl_ctx *ctx, fl_chan *first, fl_chan *second, const char *who)
{
	int token;
	if (fl_chan_recv(first, &token, ctx, FL_FOREVER) != FL_OK)
		return;
	fl_yield();
	if (fl_chan_recv(second, &token, ctx, fl_deadline_in(DEADLINE)) != FL_OK) {
		z->ok = false;
		snprintf(z->msg, sizeof(z->msg),
			 "deadlock: %s held one lock and waited for the other, held by a task "
			 "waiting for its lock (a cyclic wait, broken by a 1 s deadline)",
			 who);
	} else {
		(void)fl_chan_send(second, &token, ctx, FL_FOREVER);
	}
	(void)fl_chan_send(first, &token, ctx, FL_FOREVER);
}

static fl_err *dl_left(fl_ctx *ctx, void *arg)
{
	zoo *z = arg;
	dl_take_both(z, ctx, z->a, z->b, "left");
	return NULL;
}

static fl_err *dl_right(fl_ctx *ctx, void *arg)
{
	zoo *z = arg;
	if (z->fixed)
		dl_take_both(z, ctx, z->a, z->b, "right");
	else
		dl_take_both(z, ctx, z->b, z->a, "right");
	return NULL;
}

/* ---- missed close ------------------------------------------------------------------- */

static fl_err *mc_producer(fl_ctx *ctx, void *arg)
{
	zoo *z = arg;
	int v = 1;
	if (fl_chan_send(z->a, &v, ctx, fl_deadline_in(DEADLINE)) != FL_OK)
		return NULL;
	int done = z->count;
	if (!z->fixed)
		fl_yield();
	z->count = done + 1;
	if (z->count == 2)
		return fl_chan_close(z->a);
	return NULL;
}

static fl_err *mc_consumer(fl_ctx *ctx, void *arg)
{
	zoo *z = arg;
	int v, got = 0, st;
	while ((st = fl_chan_recv(z->a, &v, ctx, fl_deadline_in(DEADLINE))) == FL_OK)
		got++;
	if (st != FL_CLOSED) {
		z->ok = false;
		snprintf(z->msg, sizeof(z->msg),
			 "missed close: both producers finished (%d items) but the count of "
			 "producers out reached %d, so nobody closed the output",
			 got, z->count);
	}
	return NULL;
}

/* ---- double completion ------------------------------------------------------------- */

static fl_err *dd_setup(zoo *z)
{
	z->ok = true;
	return NULL;
}

static fl_err *dd_complete(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	zoo *z = arg;
	if (z->flag)
		return NULL;
	if (!z->fixed)
		fl_yield();
	z->flag = 1;
	if (++z->count > 1) {
		z->ok = false;
		snprintf(z->msg, sizeof(z->msg),
			 "double completion: the worker and the canceller both found the request "
			 "open and completed it (%d completions)",
			 z->count);
	}
	return NULL;
}

/* ---- torn read (depth 3) ----------------------------------------------------------- */

#define TR_WORK 24 /* the writer's steps of work before it publishes */
#define TR_AFTER 6 /* the reader's steps of work on what it read */

/* The record: header version (flag), body (value, 100 per version),
 * trailer version (count); version 1 to start. */
static fl_err *tr_setup(zoo *z)
{
	z->flag = 1, z->value = 100, z->count = 1;
	z->ok = true;
	return NULL;
}

static fl_err *tr_writer(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	zoo *z = arg;
	steps(TR_WORK);
	z->flag = 2;
	fl_yield();
	z->value = 200;
	fl_yield();
	z->count = 2;
	return NULL;
}

static fl_err *tr_reader(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	zoo *z = arg;
	int h, b, t;
	if (!z->fixed) { /* the writer's order: a body between two versions passes */
		h = z->flag;
		fl_yield();
		b = z->value;
		fl_yield();
		t = z->count;
	} else { /* trailer first, header last: equal versions bracket the body */
		t = z->count;
		fl_yield();
		b = z->value;
		fl_yield();
		h = z->flag;
	}
	steps(TR_AFTER);
	if (h == t && b != 100 * h) {
		z->ok = false;
		snprintf(z->msg, sizeof(z->msg),
			 "torn read: header and trailer said version %d but the body was %d, "
			 "version %d's",
			 h, b, b / 100);
	}
	return NULL;
}

/* ---- the scenarios ------------------------------------------------------------------ */

static const zoo_bug bugs[] = {
	{"no lost wakeup", lw_setup, {lw_waiter, lw_notifier}},
	{"initialised before use", unbuffered_setup, {ov_user, ov_init}},
	{"balance never negative", av_setup, {av_client, av_client}},
	{"no cyclic wait", dl_setup, {dl_left, dl_right}},
	{"output closed", unbuffered_setup, {mc_producer, mc_producer, mc_consumer}},
	{"completed once", dd_setup, {dd_complete, dd_complete}},
	{"no torn read", tr_setup, {tr_reader, tr_writer}},
};

typedef struct zoo_data {
	int bug; /* index in bugs */
	bool fixed;
} zoo_data;

static fl_err *zoo_run(const fl_scenario_params *p, fl_scenario_result *r)
{
	const zoo_data *d = r->scenario->data;
	const zoo_bug *b = &bugs[d->bug];
	for (int it = 0; it < p->iterations; it++) {
		zoo z = {.fixed = d->fixed};
		fl_group *g = NULL;
		fl_err *err = b->setup(&z);
		if (!err)
			err = fl_group_new(fl_ctx_background(), NULL, &g, &z.ctx);
		for (int i = 0; i < 3 && b->task[i] && !err; i++)
			err = fl_group_go(g, b->task[i], &z);
		if (g)
			err = fl_err_join2(err, fl_group_wait(g));
		fl_group_free(g);
		fl_chan_free(z.a);
		fl_chan_free(z.b);
		if (err)
			return err;
		fl_scenario_check(r, b->check, z.ok, NAN, NAN, NULL, "%s",
				  z.ok ? "held on this interleaving" : z.msg);
	}
	return NULL;
}

#define ZOO_PAIR(id, idx, check, desc)                                                    \
	static const char *const zoo_checks_##id[] = {check, NULL};                       \
	static const zoo_data zoo_data_##id = {idx, false};                               \
	static const zoo_data zoo_data_##id##_fixed = {idx, true};                        \
	const fl_scenario fl__scn_zoo_##id = {.name = "zoo_" #id,                         \
					      .description = "bug zoo: " desc,            \
					      .checks = zoo_checks_##id,                  \
					      .default_iterations = 1,                    \
					      .run = zoo_run,                             \
					      .data = &zoo_data_##id,                     \
					      .explore_target = true};                    \
	const fl_scenario fl__scn_zoo_##id##_fixed = {.name = "zoo_" #id "_fixed",        \
						      .description = "bug zoo: " desc     \
								     " (the fixed twin)", \
						      .checks = zoo_checks_##id,          \
						      .default_iterations = 1,            \
						      .run = zoo_run,                     \
						      .data = &zoo_data_##id##_fixed,     \
						      .explore_target = true};

ZOO_PAIR(lost_wakeup, 0, "no lost wakeup", "a lost wakeup (flag test, then an unbuffered wait)")
ZOO_PAIR(order, 1, "initialised before use", "an order violation (use before initialisation)")
ZOO_PAIR(atomicity, 2, "balance never negative",
	 "an atomicity violation across two channel operations")
ZOO_PAIR(deadlock, 3, "no cyclic wait", "a deadlock from a cyclic wait on two locks")
ZOO_PAIR(missed_close, 4, "output closed",
	 "a missed close (a lost update of the producers-out count)")
ZOO_PAIR(double_done, 5, "completed once", "a double completion (test, then complete)")
ZOO_PAIR(torn_read, 6, "no torn read",
	 "a torn read (versions checked in the writer's order), depth 3")

/* ---- nondeterminism the scheduler does not control ----------------------------------- */

static fl_err *rc_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	int *n = arg;
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	*n = (int)((t.tv_nsec / 1000) % 65536);
	steps(*n);
	return NULL;
}

static fl_err *rc_run(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int it = 0; it < p->iterations; it++) {
		int n = 0;
		fl_group *g;
		fl_ctx *gctx;
		fl_err *err = fl_group_new(fl_ctx_background(), NULL, &g, &gctx);
		if (err)
			return err;
		err = fl_group_go(g, rc_task, &n);
		err = fl_err_join2(err, fl_group_wait(g));
		fl_group_free(g);
		if (err)
			return err;
		fl_scenario_check(r, "ran", true, n, NAN, NULL,
				  "yielded %d times, as the real clock said", n);
	}
	return NULL;
}

static const char *const rc_checks[] = {"ran", NULL};

const fl_scenario fl__scn_zoo_real_clock = {
	.name = "zoo_real_clock",
	.description = "bug zoo: reads the real clock, so no seed replays it "
		       "(replay --check-determinism)",
	.checks = rc_checks,
	.default_iterations = 1,
	.run = rc_run,
	.explore_target = true,
};
