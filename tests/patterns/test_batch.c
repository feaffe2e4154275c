/* test_batch.c - batch aggregator: size and time triggers, DLQ on failure,
 * cancellation at every blocking point, conservation of items. */
/* fl-test-labels: concurrency memcheck */
#include <fl/batch.h>
#include <fl/chan.h>
#include <fl/fault.h>
#include <fl/group.h>
#include <fl/retry.h>

#include <sqlite3.h>

#include "pat_test_util.h"

FL_ERR_SENTINEL(test_flush_failed, "sink refused batch");

enum { MAXB = 64, MAXI = 256 };

/* What the flush function saw (aggregator task only; read after close). */
struct sink {
	int nbatches;
	size_t sizes[MAXB];
	int items[MAXI];
	int nitems;
	fl_chan *notify;  /* optional: batch sizes, for the test to wait on */
	fl_chan *release; /* optional: flush waits for a token (or ctx) */
	bool fault;       /* evaluate the "batch.flush" fault point */
};

static fl_err *sink_flush(fl_ctx *ctx, const void *items, size_t n, int attempt, void *arg)
{
	struct sink *s = arg;
	if (s->fault) {
		fl_err *e = FL_FAULT(ctx, "batch.flush");
		if (e)
			return e;
	}
	if (s->release) {
		int tok;
		if (s->notify) {
			size_t m = n;
			ASSERT_EQ(fl_chan_send(s->notify, &m, NULL, FL_FOREVER), FL_OK);
		}
		if (fl_chan_recv(s->release, &tok, ctx, FL_FOREVER) != FL_OK)
			return fl_ctx_cause(ctx);
	}
	ASSERT(s->nbatches < MAXB);
	s->sizes[s->nbatches++] = n;
	const int *v = items;
	for (size_t i = 0; i < n; i++) {
		ASSERT(s->nitems < MAXI);
		s->items[s->nitems++] = v[i];
	}
	if (s->notify && !s->release) {
		size_t m = n;
		ASSERT_EQ(fl_chan_send(s->notify, &m, NULL, FL_FOREVER), FL_OK);
	}
	return NULL;
}

static int64_t hang_guard(void) { return fl_deadline_in(fl_test_hang_ns()); }

static void check_conservation(fl_batch *b)
{
	fl_batch_stats s = fl_batch_stats_get(b);
	ASSERT_EQ(s.added, s.flushed + s.dead_lettered + s.cancelled + s.failed);
}

FL_TEST(flush_by_size_and_close)
{
	fl_dlq *q;
	ASSERT_NULL(fl_dlq_new(NULL, &q));
	struct sink s = {0};
	struct fl_batch_opts o = {.item_size = sizeof(int),
				  .max_items = 4,
				  .flush = sink_flush,
				  .arg = &s,
				  .dlq = q};
	fl_batch *b;
	ASSERT_NULL(fl_batch_new(fl_ctx_background(), &o, &b));
	for (int i = 0; i < 10; i++)
		ASSERT_EQ(fl_batch_add(b, &i, NULL, FL_FOREVER), FL_OK);
	ASSERT_NULL(fl_batch_close(b));
	int late = 99;
	ASSERT_EQ(fl_batch_add(b, &late, NULL, FL_FOREVER), FL_CLOSED);
	ASSERT_EQ(s.nbatches, 3);
	ASSERT_EQ(s.sizes[0], 4);
	ASSERT_EQ(s.sizes[1], 4);
	ASSERT_EQ(s.sizes[2], 2); /* the final partial batch */
	for (int i = 0; i < 10; i++)
		ASSERT_EQ(s.items[i], i);
	fl_batch_stats st = fl_batch_stats_get(b);
	ASSERT_EQ(st.added, 10);
	ASSERT_EQ(st.flushed, 10);
	ASSERT_EQ(st.batches, 3);
	ASSERT_EQ(st.by_size, 2);
	ASSERT_EQ(st.by_time, 0);
	check_conservation(b);
	fl_batch_free(b);
	fl_dlq_free(q);
}

/* Receives flush notifications until `want` items in all; returns how
 * many batches that took. */
static int await_items(fl_chan *notify, size_t want)
{
	size_t got = 0, n;
	int batches = 0;
	while (got < want) {
		ASSERT_EQ(fl_chan_recv(notify, &n, NULL, hang_guard()), FL_OK);
		ASSERT_GT(n, 0);
		got += n;
		batches++;
	}
	ASSERT_EQ(got, want);
	return batches;
}

/* A quiet stream: three items and then nothing. The time trigger flushes
 * them without a close, driven by the aggregator's receive deadline. (A
 * slow checker may split a burst across two timed batches, so the test
 * counts items, not batches.) */
FL_TEST(flush_by_time_on_quiet_stream)
{
	fl_dlq *q;
	ASSERT_NULL(fl_dlq_new(NULL, &q));
	fl_chan *notify;
	ASSERT_NULL(fl_chan_new(sizeof(size_t), 16, NULL, &notify));
	struct sink s = {.notify = notify};
	struct fl_batch_opts o = {.item_size = sizeof(int),
				  .max_items = 100,
				  .max_wait_ns = FL_MS(5),
				  .flush = sink_flush,
				  .arg = &s,
				  .dlq = q};
	fl_batch *b;
	ASSERT_NULL(fl_batch_new(fl_ctx_background(), &o, &b));
	int64_t t0 = fl_now();
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(fl_batch_add(b, &i, NULL, FL_FOREVER), FL_OK);
	int batches = await_items(notify, 3);
	ASSERT(fl_now() - t0 >= FL_MS(5)); /* not before the batch's age */
	/* A second burst gets its own timer. */
	for (int i = 3; i < 5; i++)
		ASSERT_EQ(fl_batch_add(b, &i, NULL, FL_FOREVER), FL_OK);
	batches += await_items(notify, 2);
	ASSERT_NULL(fl_batch_close(b));
	fl_batch_stats st = fl_batch_stats_get(b);
	ASSERT_EQ(st.by_time, batches); /* all flushed by the timer, none by close */
	ASSERT_EQ(st.batches, batches);
	ASSERT_EQ(st.by_size, 0);
	ASSERT_EQ(st.flushed, 5);
	ASSERT_EQ(s.nbatches, batches);
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(s.items[i], i);
	check_conservation(b);
	fl_batch_free(b);
	fl_chan_free(notify);
	fl_dlq_free(q);
}

/* The second flush fails (fault injector): that batch goes to the DLQ with
 * its items and history, and the aggregator carries on with the next. */
FL_TEST(failed_flush_goes_to_dlq)
{
	ASSERT_NULL(fl_fault_register_error("EFLUSH", test_flush_failed));
	fl_fault_plan *plan;
	ASSERT_NULL(fl_fault_arm("batch.flush=@2 error(EFLUSH)", 1, &plan));
	fl_dlq *q;
	ASSERT_NULL(fl_dlq_new(NULL, &q));
	struct sink s = {.fault = true};
	struct fl_batch_opts o = {.item_size = sizeof(int),
				  .max_items = 3,
				  .flush = sink_flush,
				  .arg = &s,
				  .dlq = q};
	fl_batch *b;
	ASSERT_NULL(fl_batch_new(fl_ctx_background(), &o, &b));
	for (int i = 0; i < 9; i++)
		ASSERT_EQ(fl_batch_add(b, &i, NULL, FL_FOREVER), FL_OK);
	ASSERT_NULL(fl_batch_close(b));
	fl_fault_plan_free(plan);
	fl_batch_stats st = fl_batch_stats_get(b);
	ASSERT_EQ(st.added, 9);
	ASSERT_EQ(st.flushed, 6);
	ASSERT_EQ(st.dead_lettered, 3);
	check_conservation(b);
	ASSERT_EQ(s.nbatches, 2);
	ASSERT_EQ(s.items[3], 6); /* batch 3 follows batch 1 */
	fl_dlq_entry *v;
	size_t n;
	ASSERT_NULL(fl_dlq_drain(q, &v, &n));
	ASSERT_EQ(n, 1);
	ASSERT_EQ(v[0].item_len, 3 * sizeof(int));
	int items[3];
	memcpy(items, v[0].item, sizeof items);
	ASSERT_EQ(items[0], 3);
	ASSERT_EQ(items[2], 5);
	ASSERT_CONTAINS(v[0].reason, "sink refused batch");
	ASSERT(v[0].nattempts >= 1);
	ASSERT_CONTAINS(v[0].attempts[v[0].nattempts - 1].error, "sink refused batch");
	fl_dlq_entries_free(v, n);
	fl_batch_free(b);
	fl_dlq_free(q);
}

/* Transient flush failures (evaluations 2 and 3) are retried: the batch
 * is flushed on its third attempt and nothing is dead-lettered. */
FL_TEST(flush_retries_transient_failures)
{
	ASSERT_NULL(fl_fault_register_error("EFLUSH", test_flush_failed));
	fl_fault_plan *plan;
	ASSERT_NULL(fl_fault_arm("batch.flush=@2..3 error(EFLUSH)", 1, &plan));
	fl_dlq *q;
	ASSERT_NULL(fl_dlq_new(NULL, &q));
	struct sink s = {.fault = true};
	fl_retry_policy rp = {.max_attempts = 3, .initial_ns = FL_US(100), .multiplier = 2};
	struct fl_batch_opts o = {.item_size = sizeof(int),
				  .max_items = 3,
				  .flush = sink_flush,
				  .arg = &s,
				  .dlq = q,
				  .retry = &rp};
	fl_batch *b;
	ASSERT_NULL(fl_batch_new(fl_ctx_background(), &o, &b));
	for (int i = 0; i < 9; i++)
		ASSERT_EQ(fl_batch_add(b, &i, NULL, FL_FOREVER), FL_OK);
	ASSERT_NULL(fl_batch_close(b));
	fl_fault_plan_free(plan);
	fl_batch_stats st = fl_batch_stats_get(b);
	ASSERT_EQ(st.flushed, 9);
	ASSERT_EQ(st.dead_lettered, 0);
	ASSERT_EQ(st.batches, 3);
	ASSERT_EQ(st.flush_attempts, 5);
	for (int i = 0; i < 9; i++)
		ASSERT_EQ(s.items[i], i);
	size_t n;
	ASSERT_NULL(fl_dlq_count(q, &n));
	ASSERT_EQ(n, 0);
	check_conservation(b);
	fl_batch_free(b);
	fl_dlq_free(q);
}

/* A flush that keeps failing spends its attempts and goes to the DLQ with
 * the whole history; a non-retryable error goes at once. */
FL_TEST(persistent_and_final_failures_dead_lettered)
{
	ASSERT_NULL(fl_fault_register_error("EFLUSH", test_flush_failed));
	fl_fault_plan *plan;
	ASSERT_NULL(fl_fault_arm("batch.flush=@1..3 error(EFLUSH) -> @4 error(inval)", 1, &plan));
	fl_dlq *q;
	ASSERT_NULL(fl_dlq_new(NULL, &q));
	struct sink s = {.fault = true};
	static const fl_err *const final_errs[] = {FL_ERR_INVAL, NULL};
	struct fl_retry_final fin = {.sentinels = final_errs};
	fl_retry_policy rp = {.max_attempts = 3,
			      .initial_ns = FL_US(100),
			      .multiplier = 2,
			      .non_retryable = fl_retry_final_match,
			      .non_retryable_arg = &fin};
	struct fl_batch_opts o = {.item_size = sizeof(int),
				  .max_items = 2,
				  .flush = sink_flush,
				  .arg = &s,
				  .dlq = q,
				  .retry = &rp};
	fl_batch *b;
	ASSERT_NULL(fl_batch_new(fl_ctx_background(), &o, &b));
	for (int i = 0; i < 6; i++)
		ASSERT_EQ(fl_batch_add(b, &i, NULL, FL_FOREVER), FL_OK);
	ASSERT_NULL(fl_batch_close(b));
	fl_fault_plan_free(plan);
	fl_batch_stats st = fl_batch_stats_get(b);
	ASSERT_EQ(st.dead_lettered, 4);
	ASSERT_EQ(st.flushed, 2);
	ASSERT_EQ(st.flush_attempts, 5);
	check_conservation(b);
	fl_dlq_entry *v;
	size_t n;
	ASSERT_NULL(fl_dlq_drain(q, &v, &n));
	ASSERT_EQ(n, 2);
	ASSERT_EQ(v[0].nattempts, 3);
	for (size_t i = 0; i < 3; i++) {
		ASSERT_EQ(v[0].attempts[i].attempt, (int)i + 1);
		ASSERT_CONTAINS(v[0].attempts[i].error, "sink refused batch");
	}
	ASSERT_CONTAINS(v[0].reason, "3 attempts");
	ASSERT_EQ(v[1].nattempts, 1);
	ASSERT_CONTAINS(v[1].reason, "invalid argument");
	fl_dlq_entries_free(v, n);
	fl_batch_free(b);
	fl_dlq_free(q);
}

static fl_err *failing_flush(fl_ctx *ctx, const void *items, size_t n, int attempt, void *arg)
{
	fl_chan *notify = arg;
	size_t a = (size_t)attempt;
	ASSERT_EQ(fl_chan_send(notify, &a, NULL, FL_FOREVER), FL_OK);
	return fl_err_ref(test_flush_failed);
}

/* Blocking point: the retry backoff between flush attempts (an hour). The
 * cancellation ends it; the batch is counted as cancelled, not lost and
 * not dead-lettered. */
FL_TEST(cancel_during_flush_backoff)
{
	fl_dlq *q;
	ASSERT_NULL(fl_dlq_new(NULL, &q));
	fl_chan *notify;
	ASSERT_NULL(fl_chan_new(sizeof(size_t), 16, NULL, &notify));
	fl_ctx *ctx;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	fl_retry_policy rp = {.max_attempts = 5, .initial_ns = FL_SEC(3600), .multiplier = 1};
	struct fl_batch_opts o = {.item_size = sizeof(int),
				  .max_items = 2,
				  .flush = failing_flush,
				  .arg = notify,
				  .dlq = q,
				  .retry = &rp};
	fl_batch *b;
	ASSERT_NULL(fl_batch_new(ctx, &o, &b));
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(fl_batch_add(b, &i, NULL, FL_FOREVER), FL_OK);
	size_t a;
	ASSERT_EQ(fl_chan_recv(notify, &a, NULL, hang_guard()), FL_OK);
	ASSERT_EQ(a, 1); /* the first attempt failed; the backoff follows */
	fl_ctx_cancel(ctx, NULL);
	fl_err *e = fl_batch_close(b);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	fl_err_drop(e);
	fl_batch_stats st = fl_batch_stats_get(b);
	ASSERT_EQ(st.added, 3);
	ASSERT_EQ(st.cancelled, 3);
	ASSERT_EQ(st.dead_lettered, 0);
	ASSERT(st.flush_attempts <= 2); /* cancelled in (or right before) the sleep */
	check_conservation(b);
	fl_batch_free(b);
	fl_ctx_free(ctx);
	fl_chan_free(notify);
	fl_dlq_free(q);
}

/* Blocking point: the aggregator waiting for more items (no time trigger)
 * with a partial batch held. Cancelling counts the held items. */
FL_TEST(cancel_while_waiting_for_items)
{
	fl_dlq *q;
	ASSERT_NULL(fl_dlq_new(NULL, &q));
	struct sink s = {0};
	fl_ctx *ctx;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	struct fl_batch_opts o = {.item_size = sizeof(int),
				  .max_items = 8,
				  .flush = sink_flush,
				  .arg = &s,
				  .dlq = q};
	fl_batch *b;
	ASSERT_NULL(fl_batch_new(ctx, &o, &b));
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(fl_batch_add(b, &i, NULL, FL_FOREVER), FL_OK);
	fl_ctx_cancel(ctx, NULL);
	fl_err *e = fl_batch_close(b);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	fl_err_drop(e);
	fl_batch_stats st = fl_batch_stats_get(b);
	ASSERT_EQ(st.added, 5);
	ASSERT_EQ(st.cancelled, 5);
	ASSERT_EQ(st.flushed, 0);
	ASSERT_EQ(s.nbatches, 0);
	check_conservation(b);
	fl_batch_free(b);
	fl_ctx_free(ctx);
	fl_dlq_free(q);
}

/* Cancelled with a cause of the caller's: close returns the context's stop
 * error, which matches FL_ERR_CANCELED and the cause both (the cause alone
 * would not match FL_ERR_CANCELED). */
FL_TEST(cancel_with_cause_matches_both)
{
	fl_dlq *q;
	ASSERT_NULL(fl_dlq_new(NULL, &q));
	struct sink s = {0};
	fl_ctx *ctx;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	struct fl_batch_opts o = {.item_size = sizeof(int),
				  .max_items = 8,
				  .flush = sink_flush,
				  .arg = &s,
				  .dlq = q};
	fl_batch *b;
	ASSERT_NULL(fl_batch_new(ctx, &o, &b));
	int one = 1;
	ASSERT_EQ(fl_batch_add(b, &one, NULL, FL_FOREVER), FL_OK);
	fl_err *cause = fl_err_new("shutting down");
	fl_ctx_cancel(ctx, cause);
	fl_err *e = fl_batch_close(b);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	ASSERT(fl_err_is(e, cause));
	fl_err_drop(e);
	fl_err_drop(cause);
	check_conservation(b);
	fl_batch_free(b);
	fl_ctx_free(ctx);
	fl_dlq_free(q);
}

/* Blocking point: inside the flush (the sink hangs on its ctx). The batch
 * being flushed and the queued items are all counted as cancelled. */
FL_TEST(cancel_during_flush)
{
	fl_dlq *q;
	ASSERT_NULL(fl_dlq_new(NULL, &q));
	fl_chan *notify, *release;
	ASSERT_NULL(fl_chan_new(sizeof(size_t), 16, NULL, &notify));
	ASSERT_NULL(fl_chan_new(sizeof(int), 0, NULL, &release));
	struct sink s = {.notify = notify, .release = release};
	fl_ctx *ctx;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	struct fl_batch_opts o = {.item_size = sizeof(int),
				  .max_items = 2,
				  .flush = sink_flush,
				  .arg = &s,
				  .dlq = q};
	fl_batch *b;
	ASSERT_NULL(fl_batch_new(ctx, &o, &b));
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(fl_batch_add(b, &i, NULL, FL_FOREVER), FL_OK);
	size_t n;
	ASSERT_EQ(fl_chan_recv(notify, &n, NULL, hang_guard()), FL_OK); /* in flush */
	for (int i = 2; i < 4; i++) /* fill the queue behind it */
		ASSERT_EQ(fl_batch_add(b, &i, NULL, FL_FOREVER), FL_OK);
	/* Blocking point: a producer on the full queue; its own ctx. */
	fl_ctx *pctx;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &pctx));
	fl_ctx_cancel(pctx, NULL);
	int x = 4;
	ASSERT_EQ(fl_batch_add(b, &x, pctx, FL_FOREVER), FL_CANCELED);
	ASSERT_EQ(fl_batch_add(b, &x, NULL, FL_TRY), FL_AGAIN);
	fl_ctx_free(pctx);
	fl_ctx_cancel(ctx, NULL);
	fl_err *e = fl_batch_close(b);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	fl_err_drop(e);
	fl_batch_stats st = fl_batch_stats_get(b);
	ASSERT_EQ(st.added, 4);
	ASSERT_EQ(st.cancelled, 4);
	ASSERT_EQ(st.flushed, 0);
	ASSERT_EQ(st.dead_lettered, 0);
	check_conservation(b);
	ASSERT_EQ(fl_batch_add(b, &x, NULL, FL_FOREVER), FL_CLOSED);
	fl_batch_free(b);
	fl_ctx_free(ctx);
	fl_chan_free(notify);
	fl_chan_free(release);
	fl_dlq_free(q);
}

struct prod {
	fl_batch *b;
	int base;
	int accepted;
	int status;
};

static fl_err *producer(fl_ctx *ctx, void *arg)
{
	struct prod *p = arg;
	for (int i = 0; i < 60; i++) {
		int v = p->base + i;
		int st = fl_batch_add(p->b, &v, NULL, FL_FOREVER);
		if (st != FL_OK) {
			p->status = st;
			return NULL;
		}
		p->accepted++;
	}
	return NULL;
}

/* Several producers, flushes failing at random (some batches dead-
 * lettered), and a cancellation at the third flush: every accepted item is
 * flushed, dead-lettered or counted cancelled, and the counts agree with
 * what producers saw accepted, the sink saw and the DLQ holds. */
FL_TEST(conservation_under_faults_and_cancel)
{
	ASSERT_NULL(fl_fault_register_error("EFLUSH", test_flush_failed));
	fl_fault_plan *plan;
	ASSERT_NULL(fl_fault_arm("batch.flush=30% error(EFLUSH)", 7, &plan));
	fl_dlq *q;
	ASSERT_NULL(fl_dlq_new(NULL, &q));
	fl_chan *notify, *release;
	ASSERT_NULL(fl_chan_new(sizeof(size_t), 64, NULL, &notify));
	ASSERT_NULL(fl_chan_new(sizeof(int), 64, NULL, &release));
	int tok = 1;
	for (int i = 0; i < 2; i++) /* two flushes pass, the third waits */
		ASSERT_EQ(fl_chan_send(release, &tok, NULL, FL_TRY), FL_OK);
	struct sink s = {.notify = notify, .release = release, .fault = true};
	fl_ctx *ctx;
	ASSERT_NULL(fl_ctx_with_cancel(fl_ctx_background(), &ctx));
	struct fl_batch_opts o = {.item_size = sizeof(int),
				  .max_items = 5,
				  .flush = sink_flush,
				  .arg = &s,
				  .dlq = q};
	fl_batch *b;
	ASSERT_NULL(fl_batch_new(ctx, &o, &b));
	fl_group *g;
	fl_ctx *gctx;
	ASSERT_NULL(fl_group_new(fl_ctx_background(), NULL, &g, &gctx));
	struct prod ps[3];
	for (int i = 0; i < 3; i++) {
		ps[i] = (struct prod){b, 1000 * (i + 1), 0, FL_OK};
		ASSERT_NULL(fl_group_go(g, producer, &ps[i]));
	}
	size_t n;
	for (int i = 0; i < 3; i++) /* the third successful-so-far flush entered */
		ASSERT_EQ(fl_chan_recv(notify, &n, NULL, hang_guard()), FL_OK);
	fl_ctx_cancel(ctx, NULL);
	fl_err *e = fl_batch_close(b);
	ASSERT(fl_err_is(e, FL_ERR_CANCELED));
	fl_err_drop(e);
	ASSERT_NULL(fl_group_wait(g));
	fl_group_free(g);
	fl_fault_plan_free(plan);
	fl_batch_stats st = fl_batch_stats_get(b);
	uint64_t accepted = 0;
	for (int i = 0; i < 3; i++)
		accepted += (uint64_t)ps[i].accepted;
	ASSERT_EQ(st.added, accepted);
	check_conservation(b);
	ASSERT_EQ(st.flushed, (uint64_t)s.nitems);
	ASSERT_EQ(st.failed, 0);
	ASSERT(st.cancelled >= 5); /* at least the batch cut short */
	size_t dl = 0;
	fl_dlq_entry *v;
	ASSERT_NULL(fl_dlq_drain(q, &v, &n));
	for (size_t i = 0; i < n; i++)
		dl += v[i].item_len / sizeof(int);
	fl_dlq_entries_free(v, n);
	ASSERT_EQ(st.dead_lettered, dl);
	fl_batch_free(b);
	fl_ctx_free(ctx);
	fl_chan_free(notify);
	fl_chan_free(release);
	fl_dlq_free(q);
}

/* The DLQ itself refuses (its SQLite table was dropped behind its back):
 * the batch is counted as failed, close reports it, and the aggregator
 * still flushes the next batch. */
FL_TEST(dlq_refusal_counted_and_reported)
{
	ASSERT_NULL(fl_fault_register_error("EFLUSH", test_flush_failed));
	fl_fault_plan *plan;
	ASSERT_NULL(fl_fault_arm("batch.flush=@1 error(EFLUSH)", 1, &plan));
	pat_tmp t;
	char p[600];
	pat_tmp_init(&t);
	struct fl_dlq_opts qo = {.path = pat_tmp_path(&t, "dlq.db", p, sizeof p)};
	fl_dlq *q;
	ASSERT_NULL(fl_dlq_new(&qo, &q));
	sqlite3 *db;
	ASSERT_EQ(sqlite3_open(p, &db), SQLITE_OK);
	ASSERT_EQ(sqlite3_exec(db, "DROP TABLE dlq_entry", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	struct sink s = {.fault = true};
	struct fl_batch_opts o = {.item_size = sizeof(int),
				  .max_items = 2,
				  .flush = sink_flush,
				  .arg = &s,
				  .dlq = q};
	fl_batch *b;
	ASSERT_NULL(fl_batch_new(fl_ctx_background(), &o, &b));
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(fl_batch_add(b, &i, NULL, FL_FOREVER), FL_OK);
	fl_err *e = fl_batch_close(b);
	ASSERT_NOT_NULL(e);
	ASSERT_CONTAINS(pat_errtext(e), "batch of 2 items lost: dead-letter queue refused it");
	ASSERT_CONTAINS(pat_errtext(e), p);
	ASSERT(fl_err_is(e, test_flush_failed));
	fl_err_drop(e);
	fl_fault_plan_free(plan);
	fl_batch_stats st = fl_batch_stats_get(b);
	ASSERT_EQ(st.failed, 2);
	ASSERT_EQ(st.flushed, 2);
	check_conservation(b);
	fl_batch_free(b);
	fl_dlq_free(q);
	pat_tmp_destroy(&t);
}

FL_TEST(bad_options)
{
	fl_dlq *q;
	ASSERT_NULL(fl_dlq_new(NULL, &q));
	struct sink s = {0};
	struct fl_batch_opts o = {.item_size = sizeof(int),
				  .max_items = 0,
				  .flush = sink_flush,
				  .arg = &s,
				  .dlq = q};
	fl_batch *b = NULL;
	ASSERT(fl_batch_new(fl_ctx_background(), &o, &b) == FL_ERR_INVAL);
	o.max_items = 2;
	o.dlq = NULL;
	ASSERT(fl_batch_new(fl_ctx_background(), &o, &b) == FL_ERR_INVAL);
	ASSERT_NULL(b);
	fl_dlq_free(q);
}

FL_TEST_MAIN(FL_CASE(flush_by_size_and_close), FL_CASE(flush_by_time_on_quiet_stream),
	     FL_CASE(failed_flush_goes_to_dlq), FL_CASE(flush_retries_transient_failures),
	     FL_CASE(persistent_and_final_failures_dead_lettered),
	     FL_CASE(cancel_during_flush_backoff), FL_CASE(cancel_while_waiting_for_items),
	     FL_CASE(cancel_with_cause_matches_both), FL_CASE(cancel_during_flush),
	     FL_CASE(conservation_under_faults_and_cancel),
	     FL_CASE(dlq_refusal_counted_and_reported), FL_CASE(bad_options))
