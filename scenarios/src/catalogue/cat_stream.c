/*
 * cat_stream.c - streaming aggregation (task 19) on fl/batch.h and
 * fl/dlq.h: buffer up to 100 events or a time limit, flush each batch
 * downstream, and send a batch whose flush keeps failing to the
 * dead-letter queue, from which it is recovered after the run. Flushes
 * are retried (fl/retry.h, 3 attempts): the batch ending at event 129
 * fails its first flush transiently and goes through on the second; the
 * poison batch fails all 3 and is dead-lettered with its 3 attempts.
 *
 * The input has bursts and pauses: 100 events (a flush by size), 30 and a
 * pause (a flush by time), 100 holding one poison event (its flush fails
 * every time: the batch is dead-lettered and the stream goes on), 20 and
 * a pause (by time again). A pause is a handshake, not a sleep: the flush
 * function reports the last sequence number of every batch it is given,
 * and the producer waits until it sees the end of its burst. The time
 * limit is 20 ms (the reference's 1 s, shortened; scaled by time_scale).
 *
 * Batch boundaries are exact on virtual time (sim): 4 batches, the poison
 * one of 100 events. On a real clock a producer preempted for 20 ms in the
 * middle of a burst sees its batch closed by time there, so the checks hold
 * what is true for any boundaries: every batch's attempts add up (one per
 * batch, one more for the transient failure, 3 for the poison batch), and
 * the poison batch, whatever its size, is the one DLQ entry.
 *
 * After close, every event is in exactly one place: flushed downstream or
 * in the DLQ (the batch's stats say so too); replaying the DLQ entry
 * delivers its 100 events and leaves the queue empty, so downstream ends
 * with all 250 events exactly once.
 */
#include "cat_internal.h"

#include <fl/batch.h>
#include <fl/dlq.h>
#include <fl/retry.h>

#include <string.h>

#define ST_EVENTS 250
#define ST_MAX_ITEMS 100
#define ST_MAX_WAIT FL_MS(20)
#define ST_POISON 150
#define ST_TRANSIENT 129 /* the batch ending here fails its first flush */
#define ST_ATTEMPTS 3
#define ST_GUARD FL_SEC(10)

typedef struct st_event {
	long seq;
	int poison;
} st_event;

typedef struct st_run {
	fl_chan *flushed;             /* last seq of every batch flush() saw */
	unsigned char got[ST_EVENTS]; /* downstream: times each event arrived */
	long delivered;               /* downstream */
} st_run;

/* Downstream: takes a batch. Poison fails the whole batch, every time. */
static fl_err *st_take(st_run *s, const st_event *ev, size_t n, bool refuse_poison)
{
	for (size_t i = 0; refuse_poison && i < n; i++)
		if (ev[i].poison)
			return fl_err_wrap(fl_scenario_err_invalid, "event %ld is poison",
					   ev[i].seq);
	for (size_t i = 0; i < n; i++) {
		if (ev[i].seq >= 0 && ev[i].seq < ST_EVENTS)
			s->got[ev[i].seq]++;
		s->delivered++;
	}
	return NULL;
}

static fl_err *st_flush(fl_ctx *ctx, const void *items, size_t n, int attempt, void *arg)
{
	st_run *s = arg;
	const st_event *ev = items;
	long last = ev[n - 1].seq;
	fl_err *err = last == ST_TRANSIENT && attempt == 1
			      ? fl_err_wrap(fl_scenario_err_transient, "flush up to %ld", last)
			      : st_take(s, ev, n, true);
	(void)fl_chan_send(s->flushed, &last, NULL, FL_TRY); /* room for every batch */
	return err;
}

/* Adds events [from, to) and, if pause, waits until a flush ends at to-1. */
static fl_err *st_burst(fl_batch *b, st_run *s, long from, long to, bool pause, int64_t guard)
{
	for (long i = from; i < to; i++) {
		st_event ev = {i, i == ST_POISON};
		int st = fl_batch_add(b, &ev, NULL, guard);
		if (st != FL_OK)
			return fl_err_wrap(fl_err_from_status(st), "add event %ld", i);
	}
	for (long last = -1; pause && last != to - 1;)
		if (fl_chan_recv(s->flushed, &last, NULL, guard) != FL_OK)
			return fl_err_new("no flush of events up to %ld before the guard", to - 1);
	return NULL;
}

static fl_err *st_replay(fl_ctx *ctx, const fl_dlq_entry *e, void *arg)
{
	st_run *s = arg;
	if (e->nattempts != ST_ATTEMPTS)
		return fl_err_wrap(FL_ERR_INVAL, "entry %lld: %zu attempts recorded",
				   (long long)e->id, e->nattempts);
	if (e->item_len % sizeof(st_event) != 0)
		return fl_err_wrap(FL_ERR_INVAL, "entry %lld: %zu bytes", (long long)e->id,
				   e->item_len);
	return st_take(s, e->item, e->item_len / sizeof(st_event), false); /* repaired */
}

/* What the batcher's counts say: every event accounted for, flushes by
 * size and by time, and the failed flush retried. */
static void check_batches(fl_scenario_result *r, const fl_batch_stats *st)
{
	bool conserved = st->added == ST_EVENTS &&
			 st->added == st->flushed + st->dead_lettered + st->cancelled + st->failed;
	fl_scenario_check(r, "conservation", conserved, (double)st->added, ST_EVENTS, NULL,
			  "%llu added = %llu flushed + %llu dead-lettered + %llu cancelled + %llu "
			  "failed",
			  (unsigned long long)st->added, (unsigned long long)st->flushed,
			  (unsigned long long)st->dead_lettered, (unsigned long long)st->cancelled,
			  (unsigned long long)st->failed);
	fl_scenario_check(r, "flushes by size and by time", st->by_size >= 1 && st->by_time >= 2,
			  (double)st->by_time, 2, NULL, "%llu batches: %llu by size, %llu by time",
			  (unsigned long long)st->batches, (unsigned long long)st->by_size,
			  (unsigned long long)st->by_time);
	/* One attempt per flushed batch, one more for the transient failure,
	 * ST_ATTEMPTS for the poison batch: 1 + 2 + 3 + 1 on virtual time. */
	bool exact = fl__scn_virtual_time();
	uint64_t want = st->batches + 1 + ST_ATTEMPTS;
	fl_scenario_check(r, "failed flush retried",
			  st->flush_attempts == want && (!exact || st->batches == 3),
			  (double)st->flush_attempts, (double)want, NULL,
			  "%llu flush attempts for %llu batches",
			  (unsigned long long)st->flush_attempts, (unsigned long long)st->batches);
}

static fl_err *st_once(const fl_scenario_params *p, fl_scenario_result *r, st_run *s)
{
	int64_t guard = fl_deadline_in(fl__scn_scaled(p, ST_GUARD));
	fl_dlq *q;
	fl_batch *b;
	fl_err *env = fl_dlq_new(NULL, &q);
	if (env)
		return env;
	if ((env = fl_chan_new(sizeof(long), 64, NULL, &s->flushed))) {
		fl_dlq_free(q);
		return env;
	}
	fl_retry_policy retry = {.max_attempts = ST_ATTEMPTS,
				 .initial_ns = fl__scn_scaled(p, FL_US(100)),
				 .multiplier = 2};
	struct fl_batch_opts o = {.name = "aggregate",
				  .item_size = sizeof(st_event),
				  .max_items = ST_MAX_ITEMS,
				  .max_wait_ns = fl__scn_scaled(p, ST_MAX_WAIT),
				  .flush = st_flush,
				  .arg = s,
				  .retry = &retry,
				  .dlq = q};
	if ((env = fl_batch_new(fl_ctx_background(), &o, &b)))
		goto out;
	if (!(env = st_burst(b, s, 0, 100, false, guard)) &&
	    !(env = st_burst(b, s, 100, 130, true, guard)) &&
	    !(env = st_burst(b, s, 130, 230, false, guard)))
		env = st_burst(b, s, 230, ST_EVENTS, true, guard);
	fl_err *cerr = fl_batch_close(b);
	fl_batch_stats st = fl_batch_stats_get(b);
	fl_batch_free(b);
	fl_scenario_note_err(r, p, "close", cerr);
	fl_err_drop(cerr);
	if (env)
		goto out;
	check_batches(r, &st);
	bool exact = fl__scn_virtual_time();
	size_t queued = 0;
	if ((env = fl_dlq_count(q, &queued)))
		goto out;
	fl_scenario_check(r, "poison batch dead-lettered, stream goes on",
			  queued == 1 && st.dead_lettered >= 1 &&
				  (!exact || st.dead_lettered == ST_MAX_ITEMS) &&
				  st.flushed == ST_EVENTS - st.dead_lettered,
			  (double)st.dead_lettered, ST_MAX_ITEMS, NULL,
			  "%zu DLQ entries, %llu events dead-lettered, %llu flushed", queued,
			  (unsigned long long)st.dead_lettered, (unsigned long long)st.flushed);
	size_t replayed = 0, left = 0;
	fl_err *rerr = fl_dlq_replay(q, fl_ctx_background(), st_replay, s, &replayed);
	if (!(env = fl_dlq_count(q, &left))) {
		long once = 0;
		for (long i = 0; i < ST_EVENTS; i++)
			once += s->got[i] == 1;
		char why[160] = "no error";
		if (rerr)
			fl_err_format(rerr, why, sizeof(why));
		fl_scenario_check(
			r, "DLQ recovers every event once",
			!rerr && replayed == 1 && left == 0 && once == ST_EVENTS, (double)once,
			ST_EVENTS, NULL,
			"replayed %zu entries (%zu left; %s): %ld of %d events downstream "
			"once",
			replayed, left, why, once, ST_EVENTS);
	}
	fl_err_drop(rerr);
	fl_scenario_count(r, "items", s->delivered);
	fl_scenario_count(r, "dead_lettered", (int64_t)st.dead_lettered);
	fl_scenario_count(r, "batches", (int64_t)st.batches);
	fl_scenario_count(r, "by_time", (int64_t)st.by_time);
out:
	fl_chan_free(s->flushed);
	fl_dlq_free(q);
	return env;
}

static fl_err *st_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		st_run s;
		memset(&s, 0, sizeof(s));
		fl_err *env = st_once(p, r, &s);
		if (env)
			return env;
	}
	return NULL;
}

static const char *const st_checks[] = {"conservation",
					"flushes by size and by time",
					"failed flush retried",
					"poison batch dead-lettered, stream goes on",
					"DLQ recovers every event once",
					NULL};
const fl_scenario fl__scn_stream_aggregate = {
	.name = "stream_aggregate",
	.description = "task 19: batches of 100 events or 20 ms over bursts and pauses; a "
		       "poison batch goes to the DLQ and is replayed",
	.checks = st_checks,
	.default_iterations = 1,
	.run = st_scn,
};
