/*
 * chan.c - channels: a mutex, a ring buffer and two wait queues.
 *
 * The model is Go's runtime/chan.go. A channel is a ring of cap slots of
 * elem_size bytes plus two FIFO queues of blocked tasks (sched_internal.h wlinks):
 * recvq holds receivers, each link pointing at its destination buffer, and
 * sendq holds senders, each link pointing at its source element. Everything
 * mutable is protected by the channel's one mutex.
 *
 * Invariants (under ch->mu, ignoring stale links whose waiter was already
 * fired elsewhere or withdrew; fl__wqueue_fire_first skips those):
 *   - a live receiver waits only while the ring is empty, and a live sender
 *     only while the ring is full (for cap 0: always "full"), so recvq and
 *     sendq never both hold live waiters that could pair up (one select
 *     with a send and a receive case on the same rendezvous channel sits on
 *     both, but a waiter never pairs with itself: it polled both cases
 *     before queueing, and the next peer to arrive wins it);
 *   - once closed, both queues are empty of live waiters and stay so;
 *   - an element is copied exactly once: by the waker, straight between the
 *     sender's source and the receiver's destination (or through the ring),
 *     before the woken task is unparked.
 *
 * Waking follows THE WAKE PROTOCOL in sched_internal.h: the waker fires the waiter
 * (only the first fire wins), copies the element, and unparks it - all while
 * holding ch->mu - and touches nothing of the waiter afterwards. A waiter
 * that woke for another reason (its context, its deadline) takes ch->mu
 * again and removes its own link if the waker did not already drop it.
 *
 * Lock order: ch->mu, then the backend's parker lock (inside unpark). The
 * context lock is never taken while ch->mu is held: the context link is
 * added after the channel link, outside the channel lock. fl_select locks
 * several channels in address order (select.c).
 */
#include "chan_internal.h"

#include <fl/ctx.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctx_internal.h"
#include "leak_internal.h"
#include "fl_alloc_internal.h"

static unsigned char *slot(const fl_chan *ch, size_t i)
{
	return ch->buf + ((ch->head + i) % ch->cap) * ch->elem_size;
}

/* Appends *elem at the tail of the ring; caller checked count < cap. */
static void ring_push(fl_chan *ch, const void *elem)
{
	memcpy(slot(ch, ch->count), elem, ch->elem_size);
	ch->count++;
}

/* Moves the oldest element into *elem (NULL: discards it). count > 0. */
static void ring_pop(fl_chan *ch, void *elem)
{
	if (elem)
		memcpy(elem, slot(ch, 0), ch->elem_size);
	ch->head = (ch->head + 1) % ch->cap;
	ch->count--;
}

fl_err *fl_chan_new(size_t elem_size, size_t cap, const struct fl_chan_opts *opts, fl_chan **out)
{
	static const struct fl_chan_opts defaults;
	fl_chan *ch;

	if (!opts)
		opts = &defaults;
	if (!out)
		return fl_err_wrap(FL_ERR_INVAL, "fl_chan_new: out is NULL");
	if (elem_size == 0 || elem_size > FL__CHAN_MAX_ELEM)
		return fl_err_wrap(FL_ERR_INVAL, "fl_chan_new: element size %zu not in 1..%zu",
				   elem_size, FL__CHAN_MAX_ELEM);
	if (cap > SIZE_MAX / 2 / elem_size)
		return fl_err_wrap(FL_ERR_NOMEM, "fl_chan_new: capacity %zu too large", cap);

	ch = fl__calloc(1, sizeof(*ch));
	if (!ch)
		goto error0;
	if (cap > 0) {
		ch->buf = fl__malloc(cap * elem_size);
		if (!ch->buf)
			goto error1;
	}
	if (opts->name) {
		ch->name = fl__strdup(opts->name);
		if (!ch->name)
			goto error2;
	}
	fl__mutex_init(&ch->mu);
	ch->elem_size = elem_size;
	ch->cap = cap;
	ch->free_elem = opts->free_elem;
	ch->obj.label = ch->name ? ch->name : "chan";
	if (fl__sim_on)
		ch->obj.trace_id = fl__sim_obj_id();
	fl__count_add(FL__C_CHANS, 1);
	FL__LEAK_TRACK(&ch->obj, FL__LEAK_CHAN);
	*out = ch;
	return NULL;

error2:
	free(ch->buf);
error1:
	free(ch);
error0:
	return FL_ERR_NOMEM;
}

void fl_chan_free(fl_chan *ch)
{
	if (!ch)
		return;
	/* Locking orders this free after the last operation that unlocked. */
	fl__mutex_lock(&ch->mu);
	if (!fl__wqueue_empty(&ch->recvq) || !fl__wqueue_empty(&ch->sendq))
		FL_ABORT("fl_chan_free: tasks still blocked on channel");
	fl__mutex_unlock(&ch->mu);

	if (ch->free_elem)
		for (size_t i = 0; i < ch->count; i++)
			ch->free_elem(slot(ch, i));
	fl__mutex_destroy(&ch->mu);
	fl__count_add(FL__C_CHANS, -1);
	FL__LEAK_UNTRACK(ch->obj.leak);
	free(ch->name);
	free(ch->buf);
	free(ch);
}

int fl__chan_try_send_locked(fl_chan *ch, const void *elem)
{
	fl__wlink *l;

	if (ch->closed)
		return FL_CLOSED;
	l = fl__wqueue_fire_first(&ch->recvq, FL_OK);
	if (l) {
		/* A live receiver means the ring is empty: hand over directly. */
		if (l->elem)
			memcpy(l->elem, elem, ch->elem_size);
		fl__waiter_unpark(l->w);
		return FL_OK;
	}
	if (ch->count < ch->cap) {
		ring_push(ch, elem);
		return FL_OK;
	}
	return FL_AGAIN;
}

int fl__chan_try_recv_locked(fl_chan *ch, void *elem)
{
	fl__wlink *l;

	if (ch->closed && ch->count == 0)
		return FL_CLOSED;
	l = fl__wqueue_fire_first(&ch->sendq, FL_OK);
	if (l) {
		/*
		 * A live sender means the ring is full. Unbuffered: take its
		 * element directly. Buffered: take the head and move the
		 * sender's element into the freed tail, keeping FIFO order.
		 */
		if (ch->cap == 0) {
			if (elem)
				memcpy(elem, l->elem, ch->elem_size);
		} else {
			ring_pop(ch, elem);
			ring_push(ch, l->elem);
		}
		fl__waiter_unpark(l->w);
		return FL_OK;
	}
	if (ch->count > 0) {
		ring_pop(ch, elem);
		return FL_OK;
	}
	return FL_AGAIN;
}

/* Removes l from q if a waker has not already dropped it. */
static void withdraw(fl_chan *ch, fl__wqueue *q, fl__wlink *l)
{
	fl__mutex_lock(&ch->mu);
	if (l->queued)
		fl__wqueue_remove(q, l);
	fl__mutex_unlock(&ch->mu);
}

/*
 * Blocks the calling task on q (sendq or recvq) until a peer completes the
 * operation, the channel closes, ctx is cancelled or the deadline passes.
 * Entered with ch->mu held and w initialised; returns with it released.
 */
static int chan_block(fl_chan *ch, fl__wqueue *q, fl__waiter *w, void *elem, fl_ctx *ctx,
		      int64_t deadline_ns, int kind)
{
	fl__wlink link = {.w = w, .index = 0, .elem = elem};
	fl__wlink ctx_link = {.w = w, .index = -1};

	fl__wqueue_push(q, &link);
	fl__mutex_unlock(&ch->mu);

	if (!fl__ctx_watch(ctx, &ctx_link)) {
		if (!fl__waiter_abort(w))
			return w->result; /* the channel won the race */
		withdraw(ch, q, &link);
		return FL_CANCELED;
	}
	bool fired = fl__waiter_wait(w, deadline_ns, kind, ch);
	fl__ctx_unwatch(ctx, &ctx_link);
	if (fired && w->fired_index >= 0)
		return w->result; /* FL_OK or FL_CLOSED; link dropped */
	withdraw(ch, q, &link);
	/* An unbounded wait ends unfired only on a sim deadlock. */
	return fired ? FL_CANCELED : deadline_ns == FL_FOREVER ? FL_DEADLOCK : FL_TIMEDOUT;
}

int fl_chan_send(fl_chan *ch, const void *elem, fl_ctx *ctx, int64_t deadline_ns)
{
	fl__waiter w;
	int rc;

	FL_ASSERT(ch && elem);
	if (ctx && fl_ctx_done(ctx))
		return FL_CANCELED;
	if (deadline_ns != FL_TRY)
		fl__waiter_init(&w); /* outside ch->mu: may adopt the thread */
	fl__mutex_lock(&ch->mu);
	rc = fl__chan_try_send_locked(ch, elem);
	if (rc != FL_AGAIN || deadline_ns == FL_TRY) {
		fl__mutex_unlock(&ch->mu);
		FL__SIM_TRACE(FL__EV_SEND, ch->obj.trace_id, rc);
		return rc;
	}
	/* The link only reads through elem; the cast drops const for storage. */
	rc = chan_block(ch, &ch->sendq, &w, (void *)(uintptr_t)elem, ctx, deadline_ns,
			FL__WAIT_CHAN_SEND);
	FL__SIM_TRACE(FL__EV_SEND, ch->obj.trace_id, rc);
	return rc;
}

int fl_chan_recv(fl_chan *ch, void *elem, fl_ctx *ctx, int64_t deadline_ns)
{
	fl__waiter w;
	int rc;

	FL_ASSERT(ch);
	if (ctx && fl_ctx_done(ctx))
		return FL_CANCELED;
	if (deadline_ns != FL_TRY)
		fl__waiter_init(&w);
	fl__mutex_lock(&ch->mu);
	rc = fl__chan_try_recv_locked(ch, elem);
	if (rc != FL_AGAIN || deadline_ns == FL_TRY) {
		fl__mutex_unlock(&ch->mu);
		FL__SIM_TRACE(FL__EV_RECV, ch->obj.trace_id, rc);
		return rc;
	}
	rc = chan_block(ch, &ch->recvq, &w, elem, ctx, deadline_ns, FL__WAIT_CHAN_RECV);
	FL__SIM_TRACE(FL__EV_RECV, ch->obj.trace_id, rc);
	return rc;
}

/* Fires every live waiter on q with FL_CLOSED and unparks it. ch->mu held. */
static void wake_all_closed(fl__wqueue *q)
{
	fl__wlink *l;

	while ((l = fl__wqueue_fire_first(q, FL_CLOSED)) != NULL)
		fl__waiter_unpark(l->w);
}

fl_err *fl_chan_close(fl_chan *ch)
{
	FL_ASSERT(ch);
	fl__mutex_lock(&ch->mu);
	if (ch->closed) {
		fl__mutex_unlock(&ch->mu);
		return fl_err_wrap(FL_ERR_CLOSED, "close of closed channel '%s'",
				   fl__chan_label(ch));
	}
	ch->closed = true;
	FL__SIM_TRACE(FL__EV_CLOSE, ch->obj.trace_id, 0);
	wake_all_closed(&ch->recvq);
	wake_all_closed(&ch->sendq);
	fl__mutex_unlock(&ch->mu);
	return NULL;
}

size_t fl_chan_len(fl_chan *ch)
{
	size_t n;

	FL_ASSERT(ch);
	fl__mutex_lock(&ch->mu);
	n = ch->count;
	fl__mutex_unlock(&ch->mu);
	return n;
}

size_t fl_chan_cap(const fl_chan *ch)
{
	FL_ASSERT(ch);
	return ch->cap;
}

bool fl_chan_closed(fl_chan *ch)
{
	bool closed;

	FL_ASSERT(ch);
	fl__mutex_lock(&ch->mu);
	closed = ch->closed;
	fl__mutex_unlock(&ch->mu);
	return closed;
}

const char *fl__chan_label(const void *ch) { return fl__obj_label(ch, "nil"); }

static size_t queue_len(const fl__wqueue *q)
{
	size_t n = 0;

	for (const fl__wlink *l = q->head; l; l = l->next)
		n++;
	return n;
}

size_t fl__chan_waiting(fl_chan *ch, int op)
{
	size_t n;

	fl__mutex_lock(&ch->mu);
	n = queue_len(op == FL_SEND ? &ch->sendq : &ch->recvq);
	fl__mutex_unlock(&ch->mu);
	return n;
}
