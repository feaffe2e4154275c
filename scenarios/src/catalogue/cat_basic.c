/*
 * cat_basic.c - ErrSkip (task 6) and the planted task leak (bonus 2).
 *
 * Skip: source -> check -> sink over 20 strings, every 4th empty. The
 * middle stage hands each result downstream with its error; for an empty
 * string that error is ErrSkip (wrapped with the item). The sink passes
 * over anything matching ErrSkip with fl_err_is and fails on any other
 * error, so ErrSkip never reaches the group. A second run plants one
 * invalid string (item 14): the pipeline fails with ErrInvalid, not with
 * ErrSkip, after skipping exactly the empties before it. Results carry an
 * error reference: the sender owns it until a send succeeds, the sink
 * drops it; the channels are unbuffered, so none is ever left buffered.
 *
 * Leak (bonus 2, "a pipeline that works but the task count grows"): the
 * producer sends without watching its context, the consumer gives up
 * after 3 items. The consumer's error cancels the group, but the producer
 * stays blocked in its send with nobody to receive: a leaked task. The
 * scenario finds it as goleak would, after the consumer has returned: the
 * live task count stays above the baseline through a settle window, and
 * the task dump names the producer and what it is blocked on. Then the
 * leak is cleaned up (closing the channel releases the send) so the
 * runner's own leak check passes, and the fixed producer (its send
 * watches the context) shows no leak at all.
 */
#define _GNU_SOURCE /* open_memstream */
#include "cat_internal.h"

#include <fl/check.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- ErrSkip ------------------------------------------------------------------------ */

#define SKIP_ITEMS 20
#define SKIP_BAD 14

typedef struct skip_res {
	long index; /* 1-based */
	size_t len;
	fl_err *err; /* owned by whoever holds the result */
} skip_res;

typedef struct skip_run {
	bool plant_bad;
	fl_chan *in, *out; /* source -> check -> sink, unbuffered */
	long produced;     /* source */
	long delivered;    /* sink */
	long skipped;      /* sink */
	long total_len;    /* sink */
} skip_run;

static const char *skip_input(const skip_run *s, long i)
{
	if (i % 4 == 0)
		return "";
	if (s->plant_bad && i == SKIP_BAD)
		return "!bad";
	return "word";
}

static fl_err *skip_source(fl_ctx *ctx, void *arg)
{
	skip_run *s = arg;
	fl_err *err = NULL;
	for (long i = 1; i <= SKIP_ITEMS && !err; i++) {
		fl__scn_item it = {i, fl_now()};
		int st = fl_chan_send(s->in, &it, ctx, FL_FOREVER);
		if (st != FL_OK)
			err = fl__scn_stopped(ctx, st, "source");
		else
			s->produced++;
	}
	return fl_err_join2(err, fl_chan_close(s->in));
}

/* The middle stage's process(): ErrSkip for empty input. */
static fl_err *skip_process(const char *text, long i)
{
	if (!text[0])
		return fl_err_wrap(fl_scenario_err_skip, "item %ld: empty", i);
	if (text[0] == '!')
		return fl_err_wrap(fl_scenario_err_invalid, "item %ld", i);
	return NULL;
}

static fl_err *skip_check(fl_ctx *ctx, void *arg)
{
	skip_run *s = arg;
	fl_err *err = NULL;
	for (;;) {
		fl__scn_item it;
		int st = fl_chan_recv(s->in, &it, ctx, FL_FOREVER);
		if (st == FL_OK) {
			const char *text = skip_input(s, it.v);
			skip_res res = {it.v, strlen(text), skip_process(text, it.v)};
			st = fl_chan_send(s->out, &res, ctx, FL_FOREVER);
			if (st != FL_OK)
				fl_err_drop(res.err); /* not sent: still ours */
		}
		if (st == FL_CLOSED)
			break;
		if (st != FL_OK) {
			err = fl__scn_stopped(ctx, st, "check");
			break;
		}
	}
	return fl_err_join2(err, fl_chan_close(s->out));
}

static fl_err *skip_sink(fl_ctx *ctx, void *arg)
{
	skip_run *s = arg;
	for (;;) {
		skip_res res;
		int st = fl_chan_recv(s->out, &res, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			return NULL;
		if (st != FL_OK)
			return fl__scn_stopped(ctx, st, "sink");
		if (fl_err_is(res.err, fl_scenario_err_skip)) {
			fl_err_drop(res.err);
			s->skipped++;
			continue;
		}
		if (res.err)
			return fl_err_wrap(res.err, "sink");
		s->delivered++;
		s->total_len += (long)res.len;
	}
}

static fl_err *skip_once(skip_run *s, fl_err **err)
{
	fl_group *g;
	fl_ctx *ctx;
	fl_err *env = fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "skip"}, &g,
				   &ctx);
	if (env)
		return env;
	if (!(env = fl__scn_chan("skip.in", 0, &s->in)))
		env = fl_chan_new(sizeof(skip_res), 0, &(struct fl_chan_opts){.name = "skip.out"},
				  &s->out);
	if (env)
		fl_group_cancel(g, NULL);
	if (!env && fl__scn_go(g, ctx, "source", skip_source, s, &env) &&
	    fl__scn_go(g, ctx, "check", skip_check, s, &env))
		fl__scn_go(g, ctx, "sink", skip_sink, s, &env);
	*err = fl_group_wait(g);
	fl_group_free(g);
	fl_chan_free(s->in);
	fl_chan_free(s->out);
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

static fl_err *skip_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		skip_run s = {0};
		fl_err *err = NULL, *env = skip_once(&s, &err);
		if (env)
			return env;
		fl_scenario_note_err(r, p, "skip empties", err);
		fl_scenario_check(r, "ErrSkip never fails the pipeline", err == NULL, err != NULL,
				  0, NULL, "%s", err ? r->err_text : "wait <nil>");
		fl_scenario_check(r, "empties skipped, others delivered",
				  s.skipped == SKIP_ITEMS / 4 && s.total_len == 4 * s.delivered,
				  (double)s.skipped, SKIP_ITEMS / 4, NULL,
				  "%ld skipped, %ld delivered (%ld bytes)", s.skipped, s.delivered,
				  s.total_len);
		fl_check_items items;
		fl_check_items_init(&items);
		fl_check_items_add(&items, FL_ITEM_PRODUCED, s.produced);
		fl_check_items_add(&items, FL_ITEM_DONE, s.delivered);
		fl_check_items_add(&items, FL_ITEM_SKIPPED, s.skipped);
		fl_check_items_judge(&items, r, "conservation");
		fl_scenario_count(r, "items", s.delivered);
		fl_scenario_count(r, "skipped", s.skipped);
		fl_err_drop(err);

		skip_run b = {.plant_bad = true};
		if ((env = skip_once(&b, &err)))
			return env;
		fl_scenario_note_err(r, p, "one invalid", err);
		bool ok = fl_err_is(err, fl_scenario_err_invalid) &&
			  !fl_err_is(err, fl_scenario_err_skip) &&
			  b.skipped == (SKIP_BAD - 1) / 4 &&
			  b.delivered == SKIP_BAD - 1 - (SKIP_BAD - 1) / 4;
		fl_scenario_check(r, "other errors still fail", ok, ok, 1, NULL,
				  "%s; %ld skipped, %ld delivered before it",
				  err ? r->err_text : "<nil>", b.skipped, b.delivered);
		fl_scenario_count(r, "failed", err != NULL);
		fl_err_drop(err);
	}
	return NULL;
}

static const char *const skip_checks[] = {"ErrSkip never fails the pipeline",
					  "empties skipped, others delivered", "conservation",
					  "other errors still fail", NULL};
const fl_scenario fl__scn_skip_sentinel = {
	.name = "skip_sentinel",
	.description = "task 6: empty items return ErrSkip, which the next stage passes over "
		       "with fl_err_is",
	.checks = skip_checks,
	.default_iterations = 1,
	.run = skip_scn,
};

/* ---- the planted leak -------------------------------------------------------------- */

#define LEAK_GIVE_UP 3
#define LEAK_SETTLE FL_MS(20) /* goleak's retry window, scaled */
#define LEAK_GUARD FL_SEC(60) /* a hang bound for the consumer to end, scaled */

typedef struct leak_run {
	bool watch_ctx; /* the fix */
	fl_chan *ch;
	long produced; /* producer */
	long consumed; /* consumer */
} leak_run;

static fl_err *leak_produce(fl_ctx *ctx, void *arg)
{
	leak_run *l = arg;
	for (long v = 1;; v++) {
		fl__scn_item it = {v, fl_now()};
		/* The bug: no ctx, so cancellation cannot reach this send. */
		int st = fl_chan_send(l->ch, &it, l->watch_ctx ? ctx : NULL, FL_FOREVER);
		if (st != FL_OK)
			return st == FL_CLOSED ? NULL : fl__scn_stopped(ctx, st, "producer");
		l->produced++;
	}
}

static fl_err *leak_consume(fl_ctx *ctx, void *arg)
{
	leak_run *l = arg;
	for (;;) {
		int st = fl_chan_recv(l->ch, NULL, ctx, FL_FOREVER);
		if (st != FL_OK)
			return fl__scn_stopped(ctx, st, "consumer");
		if (++l->consumed == LEAK_GIVE_UP)
			return fl_err_wrap(fl_scenario_err_rejected, "consumer: gave up after %d",
					   LEAK_GIVE_UP);
	}
}

/* Polls (yield, then 200 us sleeps) until g runs at most `running` tasks
 * or deadline passes; returns whether it got there. */
static bool await_running(fl_group *g, int running, int64_t deadline)
{
	for (int polls = 0; fl_group_running(g) > running; polls++) {
		if (fl_now() >= deadline)
			return false;
		if (polls < 100)
			fl_yield();
		else
			(void)fl_sleep_until(NULL, fl_deadline_in(FL_US(200)));
	}
	return true;
}

/* Live tasks above base once at most `want` are left or the window has
 * passed, as goleak retries. */
static long tasks_after_settle(const fl_stats *base, long want, int64_t window)
{
	int64_t end = fl_now() + window;
	long extra;
	while ((extra = fl_stats_get().tasks - base->tasks) > want && fl_now() < end)
		(void)fl_sleep_until(NULL, fl_deadline_in(FL_US(500)));
	return extra;
}

/* Whether the task dump lists the producer blocked in a send. */
static bool dump_shows_producer(void)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return false;
	fl_task_dump(f);
	fclose(f);
	bool named = text && strstr(text, "leak.producer") && strstr(text, "send");
	free(text);
	return named;
}

/* Polls the dump until it lists the producer blocked in its send or
 * deadline passes. The consumer having returned does not put the
 * producer in its send at once: it may be between its last send and
 * the next (slow under memcheck), so one look could miss it. */
static bool dump_names_producer(int64_t deadline)
{
	bool named;
	while (!(named = dump_shows_producer()) && fl_now() < deadline)
		(void)fl_sleep_until(NULL, fl_deadline_in(FL_US(500)));
	return named;
}

static fl_err *leak_once(const fl_scenario_params *p, fl_scenario_result *r, leak_run *l)
{
	fl_stats base = fl_stats_get();
	fl_group *g;
	fl_ctx *ctx;
	fl_err *env = fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "leak"}, &g,
				   &ctx);
	if (env)
		return env;
	if ((env = fl__scn_chan("leak.ch", 0, &l->ch)))
		fl_group_cancel(g, NULL);
	if (!env && fl__scn_go(g, ctx, "leak.producer", leak_produce, l, &env))
		fl__scn_go(g, ctx, "leak.consumer", leak_consume, l, &env);
	const char *what = l->watch_ctx ? "producer watches ctx" : "producer ignores ctx";
	if (!env && !l->watch_ctx) {
		/* After the consumer has returned, the producer can only be
		 * blocked in its send: nobody will ever receive. */
		bool gone = await_running(g, 1, fl_deadline_in(fl__scn_scaled(p, LEAK_GUARD)));
		/* The consumer's task still ends after its body: wait for that
		 * (it must happen), then one task above baseline is the leak. */
		long extra = tasks_after_settle(&base, 1, fl__scn_scaled(p, LEAK_GUARD));
		bool named = dump_names_producer(fl_deadline_in(fl__scn_scaled(p, LEAK_GUARD)));
		fl_scenario_check(r, "leak check finds the planted leak", gone && extra == 1,
				  (double)extra, 1, NULL,
				  "%ld task(s) above baseline after the consumer returned", extra);
		fl_scenario_check(r, "dump names the leaked task", named, named, 1, NULL,
				  "task dump %s leak.producer blocked in a send",
				  named ? "lists" : "does not list");
		fl_scenario_count(r, "leaked_tasks", extra);
		/* Clean up the planted leak: closing the channel releases it. */
		fl_err_drop(fl_chan_close(l->ch));
	} else if (env && l->ch) {
		/* The consumer could not start: a producer that ignores ctx
		 * would block in its send forever. Release it the same way. */
		fl_err_drop(fl_chan_close(l->ch));
	}
	fl_err *err = fl_group_wait(g);
	fl_group_free(g);
	fl_chan_free(l->ch);
	if (!env && l->watch_ctx) {
		long extra = tasks_after_settle(&base, 0, fl__scn_scaled(p, LEAK_SETTLE));
		fl_scenario_check(r, "fixed producer leaks nothing", extra == 0 && err,
				  (double)extra, 0, NULL, "%ld task(s) above baseline after wait",
				  extra);
	}
	fl_scenario_note_err(r, p, what, err);
	if (!env)
		fl_scenario_check(r, "wait returns the consumer's error",
				  fl_err_is(err, fl_scenario_err_rejected), NAN, NAN, NULL,
				  "%s: %s", what, err ? r->err_text : "<nil>");
	fl_err_drop(err);
	return env;
}

static fl_err *leak_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		leak_run bug = {.watch_ctx = false}, fix = {.watch_ctx = true};
		fl_err *env = leak_once(p, r, &bug);
		if (!env)
			env = leak_once(p, r, &fix);
		if (env)
			return env;
		fl_scenario_count(r, "items", bug.consumed + fix.consumed);
	}
	return NULL;
}

static const char *const leak_checks[] = {"leak check finds the planted leak",
					  "dump names the leaked task",
					  "fixed producer leaks nothing",
					  "wait returns the consumer's error", NULL};
const fl_scenario fl__scn_leak_found = {
	.name = "leak_found",
	.description = "bonus 2 (negative control): a producer that ignores ctx leaks a task; "
		       "the leak check and the dump find it",
	.checks = leak_checks,
	.default_iterations = 1,
	.run = leak_scn,
};
