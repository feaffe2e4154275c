/*
 * cat_pipeline.c - the first exercises: Sum (task 1), return early on a
 * negative (task 2) and drain on cancellation (task 4).
 *
 * Sum is Go's errgroup sketch: a producer sends each number into an
 * unbuffered channel and closes it on every path (defer close(out)); a
 * consumer adds them up. Both watch the group's context, so a failure on
 * either side stops the other. Early return runs the same pipeline over
 * {1, 2, -1, 4}: the producer fails at item 3 with the ErrNegative
 * sentinel wrapped with the item, and Sum returns 0 and that error.
 *
 * Drain: stage 1 produces 1000 items, stage 2 fails on item 500, stage 3
 * sinks. All channels are unbuffered, so the counts are exact, not
 * statistical: a send completes only when its receiver takes the item, so
 * stage 1 sent exactly 500 items and stage 3 received exactly 499; stage 1
 * is then blocked sending item 501 and can only leave through the
 * cancellation that stage 2's error causes.
 *
 * Each stage owns its state in the run struct; the owner reads it only
 * after fl_group_wait, which orders every task's writes before it returns.
 */
#include "scn_internal.h"

#include <fl/check.h>

#include <string.h>

#define STAGE_RUNNING 1 /* exit status before a stage has stopped */

/* ---- Sum and early return --------------------------------------------------- */

typedef struct sum_run {
	const long *nums;
	size_t n;
	fl_chan *ch;
	fl_hdr *e2e; /* consumer: item latency (and its series) */
	fl_scenario_result *r;
	long produced;     /* producer: items sent */
	long delivered;    /* consumer: items received */
	long total;        /* consumer: their sum */
	int consumer_exit; /* consumer: how it stopped */
} sum_run;

static fl_err *sum_produce(fl_ctx *ctx, void *arg)
{
	sum_run *s = arg;
	fl_err *err = NULL;
	for (size_t i = 0; i < s->n && !err; i++) {
		if (s->nums[i] < 0) {
			err = fl_err_wrap(fl_scenario_err_negative, "process item %zu", i + 1);
			break;
		}
		fl__scn_item it = {s->nums[i], fl_now()};
		int st = fl_chan_send(s->ch, &it, ctx, FL_FOREVER);
		if (st != FL_OK)
			err = fl__scn_stopped(ctx, st, "producer");
		else
			s->produced++;
	}
	return fl_err_join2(err, fl_chan_close(s->ch)); /* defer close(out) */
}

static fl_err *sum_consume(fl_ctx *ctx, void *arg)
{
	sum_run *s = arg;
	for (;;) {
		fl__scn_item it;
		int st = fl_chan_recv(s->ch, &it, ctx, FL_FOREVER);
		if (st != FL_OK) {
			s->consumer_exit = st;
			return st == FL_CLOSED ? NULL : fl__scn_stopped(ctx, st, "consumer");
		}
		s->total += it.v;
		s->delivered++;
		(void)fl_scenario_record(s->r, s->e2e, fl_now() - it.born_ns);
	}
}

/*
 * Go's Sum(ctx, nums): the total, or 0 and the first error in *err.
 * Returns an environment error (and sets nothing else) if the pipeline
 * could not be built.
 */
static fl_err *sum(sum_run *s, long *total, fl_err **err)
{
	fl_group *g;
	fl_ctx *ctx;
	fl_err *env =
		fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "sum"}, &g, &ctx);
	if (env)
		return env;
	s->ch = NULL;
	if ((env = fl__scn_chan("sum.out", 0, &s->ch)))
		fl_group_cancel(g, NULL);
	s->consumer_exit = STAGE_RUNNING;
	if (!env && fl__scn_go(g, ctx, "producer", sum_produce, s, &env))
		fl__scn_go(g, ctx, "consumer", sum_consume, s, &env);
	fl_err *werr = fl_group_wait(g);
	fl_group_free(g);
	fl_chan_free(s->ch);
	if (env) {
		fl_err_drop(werr);
		return env;
	}
	*total = werr ? 0 : s->total;
	*err = werr;
	return NULL;
}

static fl_err *sum_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	static const long nums[] = {1, 2, 3, 4, 5};
	for (int i = 0; i < p->iterations; i++) {
		sum_run s = {.nums = nums, .n = 5, .r = r};
		fl_err *env = fl_scenario_hist(r, "e2e", &s.e2e);
		long total = -1;
		fl_err *err = NULL;
		if (env || (env = sum(&s, &total, &err)))
			return env;
		fl_scenario_note_err(r, p, "sum", err);
		fl_scenario_check(r, "total is 15", total == 15, (double)total, 15, NULL,
				  "Sum({1..5}) = %ld", total);
		fl_scenario_check(r, "wait returns no error", err == NULL, err != NULL, 0, NULL,
				  "%s", err ? r->err_text : "<nil>");
		fl_scenario_check(r, "every item delivered", s.produced == 5 && s.delivered == 5,
				  (double)s.delivered, 5, NULL,
				  "produced %ld, delivered %ld, consumer %s", s.produced,
				  s.delivered, fl__scn_status_name(s.consumer_exit));
		fl_scenario_count(r, "items", s.delivered);
		fl_scenario_set(r, "total", total);
		fl_scenario_set(r, "produced", s.produced);
		fl_scenario_set(r, "delivered", s.delivered);
		fl_err_drop(err);
	}
	return NULL;
}

static const char *const sum_checks[] = {"total is 15", "wait returns no error",
					 "every item delivered", NULL};
const fl_scenario fl__scn_sum = {
	.name = "sum",
	.description = "task 1: producer and consumer in a group sum 1..5 to 15",
	.checks = sum_checks,
	.default_iterations = 1,
	.run = sum_scn,
};

static fl_err *early_return_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	static const long nums[] = {1, 2, -1, 4};
	static const char want[] = "process item 3: negative value";
	for (int i = 0; i < p->iterations; i++) {
		sum_run s = {.nums = nums, .n = 4, .r = r};
		fl_err *env = fl_scenario_hist(r, "e2e", &s.e2e);
		long total = -1;
		fl_err *err = NULL;
		if (env || (env = sum(&s, &total, &err)))
			return env;
		fl_scenario_note_err(r, p, "sum", err);
		fl_check_err_is(r, "wait error is ErrNegative", err, fl_scenario_err_negative);
		fl_scenario_check(r, "error names the item", strcmp(r->err_text, want) == 0, NAN,
				  NAN, NULL, "\"%s\"", r->err_text);
		fl_scenario_check(r, "total is 0 on error", total == 0, (double)total, 0, NULL,
				  "Sum returned %ld", total);
		/* The consumer got 1 and 2 and left through the cancellation or
		 * the close, never by failing itself. */
		bool stopped = s.consumer_exit == FL_CANCELED || s.consumer_exit == FL_CLOSED;
		fl_scenario_check(r, "consumer stops", stopped && s.delivered == 2,
				  (double)s.delivered, 2, NULL, "consumer %s after %ld items",
				  fl__scn_status_name(s.consumer_exit), s.delivered);
		fl_scenario_count(r, "items", s.delivered);
		fl_scenario_set(r, "produced", s.produced);
		fl_scenario_set(r, "delivered", s.delivered);
		fl_scenario_count(r, "failed", err != NULL);
		fl_err_drop(err);
	}
	return NULL;
}

static const char *const early_return_checks[] = {"wait error is ErrNegative",
						  "error names the item", "total is 0 on error",
						  "consumer stops", NULL};
const fl_scenario fl__scn_early_return = {
	.name = "early_return",
	.description = "task 2: a negative item fails the producer with a wrapped sentinel",
	.checks = early_return_checks,
	.default_iterations = 1,
	.run = early_return_scn,
};

/* ---- drain on error ------------------------------------------------------------ */

#define DRAIN_ITEMS 1000
#define DRAIN_FAIL_AT 500

typedef struct drain_run {
	fl_chan *a, *b; /* stage 1 -> 2 -> 3, unbuffered */
	fl_hdr *e2e;    /* stage 3 (and its series) */
	fl_scenario_result *r;
	long produced;     /* stage 1: sends that completed */
	int producer_exit; /* stage 1: the status that stopped it */
	long forwarded;    /* stage 2 */
	long delivered;    /* stage 3 */
	int sink_exit;     /* stage 3 */
} drain_run;

static fl_err *drain_produce(fl_ctx *ctx, void *arg)
{
	drain_run *d = arg;
	fl_err *err = NULL;
	d->producer_exit = FL_OK;
	for (long v = 1; v <= DRAIN_ITEMS; v++) {
		fl__scn_item it = {v, fl_now()};
		int st = fl_chan_send(d->a, &it, ctx, FL_FOREVER);
		if (st != FL_OK) {
			d->producer_exit = st;
			err = fl__scn_stopped(ctx, st, "stage 1");
			break;
		}
		d->produced++;
	}
	return fl_err_join2(err, fl_chan_close(d->a));
}

static fl_err *drain_check(fl_ctx *ctx, void *arg)
{
	drain_run *d = arg;
	fl_err *err = NULL;
	for (;;) {
		fl__scn_item it;
		int st = fl_chan_recv(d->a, &it, ctx, FL_FOREVER);
		if (st == FL_OK && it.v == DRAIN_FAIL_AT)
			err = fl_err_wrap(fl_scenario_err_rejected, "stage 2: item %ld", it.v);
		else if (st == FL_OK && (st = fl_chan_send(d->b, &it, ctx, FL_FOREVER)) == FL_OK)
			d->forwarded++;
		if (st == FL_CLOSED)
			break;
		if (st != FL_OK)
			err = fl__scn_stopped(ctx, st, "stage 2");
		if (err)
			break;
	}
	return fl_err_join2(err, fl_chan_close(d->b));
}

static fl_err *drain_sink(fl_ctx *ctx, void *arg)
{
	drain_run *d = arg;
	for (;;) {
		fl__scn_item it;
		int st = fl_chan_recv(d->b, &it, ctx, FL_FOREVER);
		if (st != FL_OK) {
			d->sink_exit = st;
			return st == FL_CLOSED ? NULL : fl__scn_stopped(ctx, st, "stage 3");
		}
		d->delivered++;
		(void)fl_scenario_record(d->r, d->e2e, fl_now() - it.born_ns);
	}
}

/* One pipeline run; *err receives wait's result. */
static fl_err *drain_once(drain_run *d, fl_err **err)
{
	fl_group *g;
	fl_ctx *ctx;
	fl_err *env = fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "drain"},
				   &g, &ctx);
	if (env)
		return env;
	d->a = d->b = NULL;
	if (!(env = fl__scn_chan("drain.a", 0, &d->a)))
		env = fl__scn_chan("drain.b", 0, &d->b);
	if (env)
		fl_group_cancel(g, NULL);
	d->producer_exit = d->sink_exit = STAGE_RUNNING;
	if (!env && fl__scn_go(g, ctx, "stage1", drain_produce, d, &env) &&
	    fl__scn_go(g, ctx, "stage2", drain_check, d, &env))
		fl__scn_go(g, ctx, "stage3", drain_sink, d, &env);
	*err = fl_group_wait(g);
	fl_group_free(g);
	fl_chan_free(d->a);
	fl_chan_free(d->b);
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

static fl_err *drain_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		drain_run d = {.r = r};
		fl_err *err = NULL, *env = fl_scenario_hist(r, "e2e", &d.e2e);
		if (env || (env = drain_once(&d, &err)))
			return env;
		fl_scenario_note_err(r, p, "drain", err);
		bool stage_err = fl_err_is(err, fl_scenario_err_rejected);
		fl_scenario_check(r, "wait returns the stage error", stage_err, stage_err, 1, NULL,
				  "%s", err ? r->err_text : "<nil>");
		fl_scenario_check(r, "producer exits on cancellation",
				  d.producer_exit == FL_CANCELED && d.produced < DRAIN_ITEMS,
				  (double)d.produced, DRAIN_ITEMS, NULL,
				  "stage 1 sent %ld of %d items, then %s", d.produced, DRAIN_ITEMS,
				  fl__scn_status_name(d.producer_exit));
		fl_scenario_check(r, "sink gets only earlier items",
				  d.delivered == DRAIN_FAIL_AT - 1, (double)d.delivered,
				  DRAIN_FAIL_AT - 1, NULL, "stage 3 received %ld items, then %s",
				  d.delivered, fl__scn_status_name(d.sink_exit));
		fl_scenario_count(r, "items", d.delivered);
		fl_scenario_set(r, "produced", d.produced);
		fl_scenario_set(r, "forwarded", d.forwarded);
		fl_scenario_set(r, "delivered", d.delivered);
		fl_scenario_count(r, "failed", err != NULL);
		fl_scenario_count(r, "producer_canceled", d.producer_exit == FL_CANCELED);
		fl_err_drop(err);
	}
	return NULL;
}

static const char *const drain_checks[] = {"wait returns the stage error",
					   "producer exits on cancellation",
					   "sink gets only earlier items", NULL};
const fl_scenario fl__scn_drain_on_error = {
	.name = "drain_on_error",
	.description = "task 4: stage 2 fails at item 500 of 1000; stage 1 exits on cancellation",
	.checks = drain_checks,
	.default_iterations = 1,
	.run = drain_scn,
};
