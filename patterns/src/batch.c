/*
 * batch.c - batch aggregator (fl/batch.h).
 *
 * Producers send items into a channel max_items deep; one aggregator task
 * receives into the current batch with a deadline of first_item +
 * max_wait_ns, so the same receive that takes items also fires the time
 * trigger: FL_OK appends (and flushes at max_items), FL_TIMEDOUT flushes
 * what there is, FL_CLOSED flushes the final batch and ends, FL_CANCELED
 * ends. A flush runs on the aggregator task itself, so a slow flush pushes
 * back on producers through the full channel.
 *
 * Accounting: only the aggregator writes the counters, and it counts an
 * item as added when it receives it, so "accepted by fl_batch_add" and
 * "counted" are the same event. On cancellation the aggregator closes the
 * channel and drains it without a context (a cancelled context would make
 * the receive refuse), counting every item it finds as cancelled: an item a
 * producer's send delivered is in the buffer or was received, and a send
 * after the close fails with FL_CLOSED, so nothing accepted goes uncounted.
 * The counters are atomics read as snapshots; fl_group_wait in close orders
 * the final values before the owner reads them.
 */
#include <fl/batch.h>
#include <fl/chan.h>
#include <fl/group.h>
#include <fl/task.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pat_retry_internal.h"
#include "fl_alloc_internal.h"

#define HIST_MAX 16

struct fl_batch {
	struct fl_batch_opts o; /* immutable copy */
	fl_chan *in;            /* producers -> aggregator */
	fl_group *g;            /* runs the aggregator task */
	fl_ctx *gctx;           /* the group's context */
	char *buf;              /* aggregator only: the current batch */
	size_t n;               /* aggregator only: items in buf */
	fl_err *dlq_errs;       /* aggregator only, then read after wait */
	bool closed;            /* owner only */
	fl_err *result;         /* owner only: close's result */
	_Atomic uint64_t added, flushed, dead_lettered, cancelled, failed;
	_Atomic uint64_t batches, by_size, by_time, flush_attempts;
};

static void bump(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

struct flush_call {
	fl_batch *b;
	fl_dlq_attempt hist[HIST_MAX]; /* the last HIST_MAX failed attempts */
	size_t nhist;
	int failures;
};

static fl_err *flush_once(fl_ctx *ctx, int attempt, void *arg)
{
	struct flush_call *fc = arg;
	fl_batch *b = fc->b;
	bump(&b->flush_attempts, 1);
	fl_err *e = b->o.flush(ctx, b->buf, b->n, attempt, b->o.arg);
	if (e) {
		if (fc->nhist == HIST_MAX) {
			memmove(fc->hist, fc->hist + 1, (HIST_MAX - 1) * sizeof fc->hist[0]);
			fc->nhist--;
		}
		fl_dlq_attempt_set(&fc->hist[fc->nhist++], attempt, e);
		fc->failures++;
	}
	return e;
}

/* Flushes the current batch. Returns false if cancellation cut it short
 * (the batch is then counted as cancelled). */
static bool flush(fl_batch *b, fl_ctx *ctx, _Atomic uint64_t *trigger)
{
	if (b->n == 0)
		return true;
	struct flush_call fc = {.b = b};
	fl_err *e = fl__pat_retry(ctx, b->o.retry, flush_once, &fc, NULL);
	size_t n = b->n;
	b->n = 0;
	if (!e) {
		bump(&b->flushed, n);
		bump(&b->batches, 1);
		if (trigger)
			bump(trigger, 1);
		return true;
	}
	if (fl_ctx_done(ctx)) {
		fl_err_drop(e);
		bump(&b->cancelled, n);
		return false;
	}
	fl_err *de = fl_dlq_put(b->o.dlq, b->buf, n * b->o.item_size, e, fc.hist, fc.nhist);
	if (de) {
		bump(&b->failed, n);
		b->dlq_errs = fl_err_join2(
			b->dlq_errs,
			fl_err_wrap(fl_err_join2(de, e),
				    "batch of %zu items lost: dead-letter queue refused it", n));
	} else {
		fl_err_drop(e);
		bump(&b->dead_lettered, n);
	}
	return true;
}

/* Cancellation: count the held batch and everything still queued. */
static fl_err *cancel_rest(fl_batch *b, fl_ctx *ctx)
{
	bump(&b->cancelled, b->n);
	b->n = 0;
	fl_err_drop(fl_chan_close(b->in));
	while (fl_chan_recv(b->in, b->buf, NULL, FL_TRY) == FL_OK) {
		bump(&b->added, 1);
		bump(&b->cancelled, 1);
	}
	return fl_ctx_stop_err(ctx);
}

static fl_err *aggregate(fl_ctx *ctx, void *arg)
{
	fl_batch *b = arg;
	int64_t first_at = 0;
	for (;;) {
		int64_t dl = FL_FOREVER;
		if (b->n && b->o.max_wait_ns > 0)
			dl = first_at > FL_FOREVER - b->o.max_wait_ns ? FL_FOREVER
								      : first_at + b->o.max_wait_ns;
		int st = fl_chan_recv(b->in, b->buf + b->n * b->o.item_size, ctx, dl);
		bool ok = true;
		if (st == FL_OK) {
			bump(&b->added, 1);
			if (b->n++ == 0)
				first_at = fl_now();
			if (b->n == b->o.max_items)
				ok = flush(b, ctx, &b->by_size);
		} else if (st == FL_TIMEDOUT) {
			ok = flush(b, ctx, &b->by_time);
		} else if (st == FL_CLOSED) {
			if (flush(b, ctx, NULL))
				return NULL;
			ok = false;
		} else {
			ok = false;
		}
		if (!ok)
			return cancel_rest(b, ctx);
	}
}

fl_err *fl_batch_new(fl_ctx *ctx, const struct fl_batch_opts *opts, fl_batch **out)
{
	if (!ctx || !opts || !out || !opts->item_size || !opts->max_items || !opts->flush ||
	    !opts->dlq || opts->max_wait_ns < 0)
		return FL_ERR_INVAL;
	fl_batch *b = fl__calloc(1, sizeof *b);
	if (!b)
		return FL_ERR_NOMEM;
	b->o = *opts;
	b->o.name = NULL;
	fl_err *e = NULL;
	if (!(b->buf = fl__calloc(opts->max_items, opts->item_size))) {
		e = FL_ERR_NOMEM;
		goto fail_buf;
	}
	struct fl_chan_opts co = {.name = opts->name ? opts->name : "batch"};
	if ((e = fl_chan_new(opts->item_size, opts->max_items, &co, &b->in)))
		goto fail_chan;
	struct fl_group_opts go = {.name = opts->name ? opts->name : "batch"};
	if ((e = fl_group_new(ctx, &go, &b->g, &b->gctx)))
		goto fail_group;
	if ((e = fl_group_go_named(b->g, "aggregator", aggregate, b))) {
		fl_err_drop(fl_group_wait(b->g));
		fl_group_free(b->g);
		goto fail_group;
	}
	*out = b;
	return NULL;
fail_group:
	fl_chan_free(b->in);
fail_chan:
	free(b->buf);
fail_buf:
	free(b);
	return e;
}

int fl_batch_add(fl_batch *b, const void *item, fl_ctx *ctx, int64_t deadline_ns)
{
	return fl_chan_send(b->in, item, ctx, deadline_ns);
}

fl_err *fl_batch_close(fl_batch *b)
{
	if (b->closed)
		return fl_err_ref(b->result);
	b->closed = true;
	fl_err_drop(fl_chan_close(b->in));
	fl_err *e = fl_group_wait(b->g);
	b->result = fl_err_join2(e, b->dlq_errs);
	b->dlq_errs = NULL;
	return fl_err_ref(b->result);
}

fl_batch_stats fl_batch_stats_get(fl_batch *b)
{
#define LD(f) atomic_load_explicit(&b->f, memory_order_relaxed)
	fl_batch_stats s = {LD(added),     LD(flushed), LD(dead_lettered),
			    LD(cancelled), LD(failed),  LD(batches),
			    LD(by_size),   LD(by_time), LD(flush_attempts)};
#undef LD
	return s;
}

void fl_batch_free(fl_batch *b)
{
	if (!b)
		return;
	fl_err_drop(fl_batch_close(b));
	fl_err_drop(b->result);
	fl_group_free(b->g);
	fl_chan_free(b->in);
	free(b->buf);
	free(b);
}
