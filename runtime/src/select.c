/*
 * select.c - fl_select: wait on several channel operations, perform one.
 *
 * The model is Go's selectgo. A select runs in three passes:
 *
 *   1. Lock every distinct channel of the cases, in address order (the lock
 *      order rule for holding several channel locks at once; a select may
 *      name one channel in several cases, so the set is deduplicated).
 *   2. Poll the cases in a random permutation (Go's pollorder) and perform
 *      the first one that can complete without waiting. The random order is
 *      what makes the choice among ready cases uniform.
 *   3. Otherwise put one wlink per case (index = case index, elem = the
 *      case's buffer) on the matching queue of its channel, all links
 *      sharing one waiter, unlock, and wait. Whichever waker fires the
 *      waiter first wins (sched_internal.h); it does the copy for its case. On waking
 *      the task locks the channels again and removes every link of its own
 *      that no waker dropped.
 *
 * A link left on another channel between the win and the clean-up is
 * harmless: fl__wqueue_fire_first skips links whose waiter is no longer
 * WAITING, and the clean-up takes each channel's lock, so no waker can
 * still be reading the waiter when the select returns.
 */
#include "chan_internal.h"

#include <fl/ctx.h>

#include <stdint.h>

#include "ctx_internal.h"

/*
 * Fills locks[] with the distinct non-NULL channels of cases, sorted by
 * address, and returns how many there are.
 */
static size_t lock_order(const fl_select_case *cases, size_t n, fl_chan **locks)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		fl_chan *ch = cases[i].ch;
		size_t j;

		if (!ch)
			continue;
		/* Insertion sort; n <= 64, so quadratic is fine. */
		for (j = k; j > 0 && (uintptr_t)locks[j - 1] > (uintptr_t)ch; j--)
			;
		if (j > 0 && locks[j - 1] == ch)
			continue;
		for (size_t m = k; m > j; m--)
			locks[m] = locks[m - 1];
		locks[j] = ch;
		k++;
	}
	return k;
}

static void lock_all(fl_chan **locks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fl__mutex_lock(&locks[i]->mu);
}

static void unlock_all(fl_chan **locks, size_t n)
{
	for (size_t i = n; i > 0; i--)
		fl__mutex_unlock(&locks[i - 1]->mu);
}

/* A uniformly random permutation of 0..n-1 (Fisher-Yates). */
static void poll_order(uint8_t *order, size_t n)
{
	for (size_t i = 0; i < n; i++)
		order[i] = (uint8_t)i;
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)(fl__sched()->rand() % i);
		uint8_t t = order[i - 1];

		order[i - 1] = order[j];
		order[j] = t;
	}
}

/*
 * Performs the first case (in order) that can complete now, sets its status
 * and returns its index; -1 if none can. Every channel is locked.
 */
static int poll_cases(fl_select_case *cases, const uint8_t *order, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		fl_select_case *c = &cases[order[k]];
		int rc;

		if (!c->ch)
			continue;
		if (c->op == FL_SEND)
			rc = fl__chan_try_send_locked(c->ch, c->elem);
		else
			rc = fl__chan_try_recv_locked(c->ch, c->elem);
		if (rc != FL_AGAIN) {
			c->status = rc;
			return order[k];
		}
	}
	return -1;
}

static fl__wqueue *case_queue(const fl_select_case *c)
{
	return c->op == FL_SEND ? &c->ch->sendq : &c->ch->recvq;
}

/* Removes every link a waker did not drop. Takes and releases the locks. */
static void withdraw_all(fl_select_case *cases, fl__wlink *links, size_t n, fl_chan **locks,
			 size_t nlocks)
{
	lock_all(locks, nlocks);
	for (size_t i = 0; i < n; i++)
		if (cases[i].ch && links[i].queued)
			fl__wqueue_remove(case_queue(&cases[i]), &links[i]);
	unlock_all(locks, nlocks);
}

/* The outcome of a fired waiter: its case index, or a negative status. */
static int outcome(fl_select_case *cases, const fl__waiter *w)
{
	if (w->fired_index < 0)
		return FL_CANCELED;
	cases[w->fired_index].status = w->result;
	return w->fired_index;
}

/*
 * Pass 3: queues one link per case, waits, and cleans up. Entered with every
 * channel locked and w initialised; returns with them released.
 */
static int select_block(fl_select_case *cases, size_t n, fl_chan **locks, size_t nlocks,
			fl__waiter *w, fl_ctx *ctx, int64_t deadline_ns)
{
	fl__wlink links[FL__SELECT_MAX];
	fl__wlink ctx_link = {.w = w, .index = -1};
	bool fired;

	for (size_t i = 0; i < n; i++) {
		links[i] = (fl__wlink){.w = w, .index = (int)i, .elem = cases[i].elem};
		if (cases[i].ch)
			fl__wqueue_push(case_queue(&cases[i]), &links[i]);
	}
	unlock_all(locks, nlocks);

	if (!fl__ctx_watch(ctx, &ctx_link)) {
		fired = !fl__waiter_abort(w);
		withdraw_all(cases, links, n, locks, nlocks);
		return fired ? outcome(cases, w) : FL_CANCELED;
	}
	fired = fl__waiter_wait(w, deadline_ns, FL__WAIT_SELECT, nlocks ? locks[0] : NULL);
	withdraw_all(cases, links, n, locks, nlocks);
	fl__ctx_unwatch(ctx, &ctx_link);
	if (fired)
		return outcome(cases, w);
	/* An unbounded wait ends unfired only on a sim deadlock. */
	return deadline_ns == FL_FOREVER ? FL_DEADLOCK : FL_TIMEDOUT;
}

static int select_impl(fl_select_case *cases, size_t n, fl_ctx *ctx, int64_t deadline_ns);

int fl_select(fl_select_case *cases, size_t n, fl_ctx *ctx, int64_t deadline_ns)
{
	int idx = select_impl(cases, n, ctx, deadline_ns);
	/* arg: the chosen case and its status, or the negative result */
	FL__SIM_TRACE(FL__EV_SELECT, idx >= 0 && cases[idx].ch ? cases[idx].ch->obj.trace_id : 0,
		      idx >= 0 ? (int64_t)idx * 16 - cases[idx].status : idx);
	return idx;
}

static int select_impl(fl_select_case *cases, size_t n, fl_ctx *ctx, int64_t deadline_ns)
{
	fl_chan *locks[FL__SELECT_MAX];
	uint8_t order[FL__SELECT_MAX];
	fl__waiter w;
	size_t nlocks;
	int idx;

	FL_ASSERT(n <= FL__SELECT_MAX && (n == 0 || cases));
	for (size_t i = 0; i < n; i++)
		FL_ASSERT(!cases[i].ch || cases[i].op == FL_RECV ||
			  (cases[i].op == FL_SEND && cases[i].elem));
	if (ctx && fl_ctx_done(ctx))
		return FL_CANCELED;

	nlocks = lock_order(cases, n, locks);
	poll_order(order, n);
	if (deadline_ns != FL_TRY)
		fl__waiter_init(&w); /* outside the locks: may adopt the thread */
	lock_all(locks, nlocks);
	idx = poll_cases(cases, order, n);
	if (idx >= 0 || deadline_ns == FL_TRY) {
		unlock_all(locks, nlocks);
		return idx >= 0 ? idx : FL_AGAIN;
	}
	return select_block(cases, n, locks, nlocks, &w, ctx, deadline_ns);
}
