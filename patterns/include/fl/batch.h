/*
 * fl/batch.h - a batch aggregator: flush at N items or T elapsed.
 *
 * Producers add fixed-size items; one aggregator task collects them and
 * calls the flush function with a batch when it holds max_items, or when
 * max_wait_ns has passed since the batch's first item, whichever comes
 * first. The wait is a deadline on the seam's clock, so a quiet stream
 * still flushes (and under a simulated clock no real time passes). A
 * failed flush is retried with the retry policy; when the attempts are
 * spent, or the error is not retryable, the batch goes to the dead-letter
 * queue as one entry (its items' bytes back to back, with the attempt
 * history) and the aggregator carries on. Close flushes the final partial
 * batch.
 *
 * Accounting: every added item ends in exactly one counter,
 *   added == flushed + dead_lettered + cancelled + failed
 * once fl_batch_close has returned. cancelled counts items the aggregator
 * held or had queued when its context was cancelled (including a batch
 * whose flush the cancellation cut short); failed counts items of a batch
 * the DLQ itself could not take (close then returns that error).
 *
 * Thread safety: fl_batch_add and fl_batch_stats from any number of tasks;
 * fl_batch_close and fl_batch_free by the owner, once.
 */
#ifndef FL_BATCH_H
#define FL_BATCH_H

#include <fl/ctx.h>
#include <fl/dlq.h>
#include <fl/err.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fl_batch fl_batch;
struct fl_retry_policy;

/*
 * Flushes n items (item_size bytes each, back to back). attempt is
 * 1-based. Must honour ctx (cancelled when the aggregator is). Returns NULL
 * or an error (one reference).
 */
typedef fl_err *(*fl_batch_flush_fn)(fl_ctx *ctx, const void *items, size_t n, int attempt,
				     void *arg);

/*
 * Options. item_size, max_items, flush and dlq are required.
 *   max_wait_ns   flush a non-empty batch this long after its first item;
 *                 0 = only on size and close.
 *   retry         policy for failed flushes (fl/retry.h); NULL = one try.
 *   dlq           where batches whose flush failed for good go (borrowed;
 *                 must outlive the aggregator).
 */
struct fl_batch_opts {
	const char *name;
	size_t item_size;
	size_t max_items;
	int64_t max_wait_ns;
	fl_batch_flush_fn flush;
	void *arg;
	const struct fl_retry_policy *retry;
	fl_dlq *dlq;
};

/* Counters (each a snapshot; consistent once close has returned). */
typedef struct fl_batch_stats {
	uint64_t added;          /* items accepted by fl_batch_add */
	uint64_t flushed;        /* items in batches flushed successfully */
	uint64_t dead_lettered;  /* items in batches sent to the DLQ */
	uint64_t cancelled;      /* items dropped by cancellation, counted */
	uint64_t failed;         /* items the DLQ refused (error from close) */
	uint64_t batches;        /* successful flushes */
	uint64_t by_size;        /* of which triggered by max_items */
	uint64_t by_time;        /* of which triggered by max_wait_ns */
	uint64_t flush_attempts; /* calls to flush */
} fl_batch_stats;

/*
 * Starts an aggregator whose task runs under ctx: cancelling ctx stops it
 * (what it holds is counted as cancelled). Errors: FL_ERR_INVAL (a required
 * option missing or zero), FL_ERR_NOMEM, and those of fl_group_go.
 */
FL_MUST_CHECK fl_err *fl_batch_new(fl_ctx *ctx, const struct fl_batch_opts *opts, fl_batch **out);

/*
 * Adds a copy of *item. Blocks while the aggregator is busy flushing and
 * its queue (max_items deep) is full.
 * Returns FL_OK (accepted: counted in added), FL_CLOSED (the aggregator was
 * closed or has stopped after cancellation: not accepted), FL_CANCELED
 * (ctx, the caller's, was cancelled: not accepted), FL_TIMEDOUT, FL_AGAIN.
 */
int fl_batch_add(fl_batch *b, const void *item, fl_ctx *ctx, int64_t deadline_ns);

/*
 * Stops accepting, flushes what is queued and the final partial batch,
 * and waits for the aggregator. Returns NULL, or the DLQ's failures joined,
 * or, if the aggregator's context was cancelled, its stop error
 * (fl_ctx_stop_err: it matches FL_ERR_CANCELED or FL_ERR_DEADLINE and the
 * cause). Blocks: until the final flush ends (its retries honour the
 * aggregator's context).
 */
FL_MUST_CHECK fl_err *fl_batch_close(fl_batch *b);

fl_batch_stats fl_batch_stats_get(fl_batch *b);

/* Frees a closed aggregator (closes it first, dropping the result, if the
 * owner did not). NULL ok. */
void fl_batch_free(fl_batch *b);

#ifdef __cplusplus
}
#endif
#endif
