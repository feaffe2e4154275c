/*
 * cat_errors.c - the exercises about what errors carry: aggregated errors
 * (task 8), typed stage attribution (task 9) and captured panics (task 13).
 *
 * Join: 10 items processed in parallel by a group in collect mode; items
 * 3, 6 and 9 fail with three different sentinels. Every task is started
 * before any may fail (they wait on a gate the owner closes after the last
 * start, because nothing starts after a group is cancelled), and items 6
 * and 9 fail only once fl_group_first_err shows item 3's error recorded:
 * so item 3 is provably the first error and must head the join. (Waiting
 * on the group's context instead would say the same; the recorded error
 * is the more direct evidence.)
 *
 * Attribution: parse -> transform -> store, each stage wrapping its errors
 * in a typed fl_scenario_stage_err {stage, item}; transform rejects item 3.
 * The caller wraps wait's error once more, and fl_err_as must still find
 * transform's payload (the cancelled neighbours' stage errors come later).
 *
 * Panic: source -> risky -> sink in a group with FL_PANIC_CAPTURE; risky
 * calls fl_panic on item 3. Capture cancels the siblings with the panic as
 * cause and runs risky's deferred cleanup. The source, blocked sending item
 * 4, and the sink, waiting for item 3, can then only leave through the
 * cancellation: nobody closes their channels (had the cleanup closed
 * risky's output, the sink could see the close first, since a receive that
 * is not yet waiting takes whichever of the two it meets first).
 */
#include "scn_internal.h"

#include <fl/check.h>

#include <string.h>

#define STAGE_RUNNING 1

/* ---- aggregate errors with join ------------------------------------------------ */

#define JOIN_ITEMS 10

typedef struct join_run {
	fl_group *g;               /* set before the first start */
	fl_chan *gate;             /* closed by the owner after the last start */
	int processed[JOIN_ITEMS]; /* item i's task: 1 once processed */
	struct join_task {
		struct join_run *j;
		long item; /* 1-based */
	} t[JOIN_ITEMS];
} join_run;

/* The failing items and their errors, in the order they must occur. */
static fl_err *join_item_err(long item)
{
	switch (item) {
	case 3: return fl_err_wrap(fl_scenario_err_invalid, "item 3");
	case 6: return fl_err_wrap(fl_scenario_err_unavailable, "item 6");
	case 9: return fl_err_wrap(fl_scenario_err_quota, "item 9");
	default: return NULL;
	}
}

static fl_err *join_process(fl_ctx *ctx, void *arg)
{
	struct join_task *t = arg;
	/* Not ctx: processing continues after failures (the gate opens even
	 * when a start failed). */
	(void)fl_chan_recv(t->j->gate, NULL, NULL, FL_FOREVER);
	t->j->processed[t->item - 1] = 1;
	/* Items 6 and 9 fail only after item 3's error is recorded. Polled
	 * under the group's lock rather than waited for on the context: see
	 * the design note. */
	if (t->item == 6 || t->item == 9)
		while (!fl_group_first_err(t->j->g))
			fl_yield();
	return join_item_err(t->item);
}

typedef struct join_facts {
	size_t len;          /* fl_err_join_len of wait's error */
	bool first_is_first; /* join_at(0) is fl_group_first_err */
	int processed;
} join_facts;

static fl_err *join_once(join_facts *jf, fl_err **err)
{
	join_run j = {0};
	fl_group *g;
	fl_ctx *ctx;
	struct fl_group_opts o = {.name = "join", .collect = true};
	fl_err *env = fl_group_new(fl_ctx_background(), &o, &g, &ctx);
	if (env)
		return env;
	j.g = g;
	if ((env = fl_chan_new(1, 0, &(struct fl_chan_opts){.name = "join.gate"}, &j.gate)))
		fl_group_cancel(g, NULL);
	for (long i = 0; !env && i < JOIN_ITEMS; i++) {
		j.t[i] = (struct join_task){&j, i + 1};
		if (!fl__scn_go(g, ctx, "item", join_process, &j.t[i], &env))
			break;
	}
	if (j.gate)
		env = fl_err_join2(env, fl_chan_close(j.gate));
	*err = fl_group_wait(g);
	jf->len = fl_err_join_len(*err);
	jf->first_is_first = jf->len > 0 && fl_err_join_at(*err, 0) == fl_group_first_err(g);
	fl_group_free(g);
	fl_chan_free(j.gate);
	for (int i = 0; i < JOIN_ITEMS; i++)
		jf->processed += j.processed[i];
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

static fl_err *join_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		join_facts jf = {0};
		fl_err *err = NULL, *env = join_once(&jf, &err);
		if (env)
			return env;
		fl_scenario_note_err(r, p, "join", err);
		bool all = fl_err_is(err, fl_scenario_err_invalid) &&
			   fl_err_is(err, fl_scenario_err_unavailable) &&
			   fl_err_is(err, fl_scenario_err_quota);
		fl_scenario_check(r, "join holds every failure", all && jf.len == 3, (double)jf.len,
				  3, NULL, "%s", err ? r->err_text : "<nil>");
		char first[128] = "";
		if (jf.len > 0)
			fl_err_format(fl_err_join_at(err, 0), first, sizeof(first));
		fl_scenario_check(r, "first error is first",
				  jf.first_is_first && strcmp(first, "item 3: invalid item") == 0,
				  NAN, NAN, NULL, "join[0] = \"%s\"%s", first,
				  jf.first_is_first ? "" : ", not the group's first error");
		fl_scenario_check(r, "all items processed", jf.processed == JOIN_ITEMS,
				  jf.processed, JOIN_ITEMS, NULL, "%d of %d processed",
				  jf.processed, JOIN_ITEMS);
		fl_scenario_count(r, "items", jf.processed);
		fl_scenario_set(r, "failed", (int64_t)jf.len);
		fl_scenario_set(r, "succeeded", jf.processed - (int64_t)jf.len);
		fl_err_drop(err);
	}
	return NULL;
}

static const char *const join_checks[] = {"join holds every failure", "first error is first",
					  "all items processed", NULL};
const fl_scenario fl__scn_join_errors = {
	.name = "join_errors",
	.description = "task 8: collect mode joins three different item errors, first first",
	.checks = join_checks,
	.default_iterations = 1,
	.run = join_scn,
};

/* ---- stage attribution with as ------------------------------------------------------ */

#define AS_ITEMS 5
#define AS_FAIL_AT 3

typedef struct as_run {
	fl_chan *a, *b; /* parse -> transform -> store */
	long stored;    /* store */
} as_run;

/* Go's &StageError{Stage: stage, Err: cause} for item index. */
static fl_err *stage_err(const char *stage, long index, fl_err *cause)
{
	if (!cause)
		return NULL;
	fl_scenario_stage_err se = {.index = index};
	snprintf(se.stage, sizeof(se.stage), "%s", stage);
	return fl_err_typed(&fl_scenario_stage_err_type, &se, cause, NULL);
}

static fl_err *as_parse(fl_ctx *ctx, void *arg)
{
	as_run *a = arg;
	fl_err *err = NULL;
	for (long i = 1; i <= AS_ITEMS && !err; i++) {
		fl__scn_item it = {i * 10, fl_now()}; /* "parsed" value */
		int st = fl_chan_send(a->a, &it, ctx, FL_FOREVER);
		if (st != FL_OK)
			err = stage_err("parse", i, fl__scn_stopped(ctx, st, "send"));
	}
	return fl_err_join2(err, fl_chan_close(a->a));
}

static fl_err *as_transform(fl_ctx *ctx, void *arg)
{
	as_run *a = arg;
	fl_err *err = NULL;
	for (long i = 1; !err; i++) {
		fl__scn_item it;
		int st = fl_chan_recv(a->a, &it, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			break;
		if (st == FL_OK && i == AS_FAIL_AT)
			err = stage_err("transform", i,
					fl_err_wrap(fl_scenario_err_invalid, "value %ld", it.v));
		else if (st == FL_OK)
			st = fl_chan_send(a->b, &it, ctx, FL_FOREVER);
		if (!err && st != FL_OK)
			err = stage_err("transform", i, fl__scn_stopped(ctx, st, "forward"));
	}
	return fl_err_join2(err, fl_chan_close(a->b));
}

static fl_err *as_store(fl_ctx *ctx, void *arg)
{
	as_run *a = arg;
	for (long i = 1;; i++) {
		fl__scn_item it;
		int st = fl_chan_recv(a->b, &it, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			return NULL;
		if (st != FL_OK)
			return stage_err("store", i, fl__scn_stopped(ctx, st, "receive"));
		a->stored++;
	}
}

/* The pipeline as a caller sees it: wait's error wrapped once more. */
static fl_err *as_once(as_run *a, fl_err **err)
{
	fl_group *g;
	fl_ctx *ctx;
	fl_err *env = fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "stage_as"},
				   &g, &ctx);
	if (env)
		return env;
	if ((env = fl__scn_chan("stage_as.parsed", 0, &a->a)) ||
	    (env = fl__scn_chan("stage_as.transformed", 0, &a->b)))
		fl_group_cancel(g, NULL);
	if (!env && fl__scn_go(g, ctx, "parse", as_parse, a, &env) &&
	    fl__scn_go(g, ctx, "transform", as_transform, a, &env))
		fl__scn_go(g, ctx, "store", as_store, a, &env);
	*err = fl_err_wrap(fl_group_wait(g), "pipeline");
	fl_group_free(g);
	fl_chan_free(a->a);
	fl_chan_free(a->b);
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

static fl_err *as_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		as_run a = {0};
		fl_err *err = NULL, *env = as_once(&a, &err);
		if (env)
			return env;
		fl_scenario_note_err(r, p, "pipeline", err);
		const fl_scenario_stage_err *se = fl_err_as(err, &fl_scenario_stage_err_type);
		fl_scenario_check(r, "as finds the stage error", se != NULL, se != NULL, 1, NULL,
				  "%s", err ? r->err_text : "<nil>");
		const char *stage = se ? se->stage : "(none)";
		fl_scenario_check(r, "stage is transform", strcmp(stage, "transform") == 0, NAN,
				  NAN, NULL, "stage %s", stage);
		long index = se ? se->index : -1;
		fl_scenario_check(r, "item index is 3", index == AS_FAIL_AT, (double)index,
				  AS_FAIL_AT, NULL, "item %ld; cause %s invalid item", index,
				  fl_err_is(err, fl_scenario_err_invalid) ? "matches"
									  : "does not match");
		fl_scenario_count(r, "items", a.stored);
		fl_scenario_set(r, "stored", a.stored);
		fl_scenario_set(r, "stage_index", index);
		fl_scenario_count(r, "failed", err != NULL);
		fl_err_drop(err);
	}
	return NULL;
}

static const char *const as_checks[] = {"as finds the stage error", "stage is transform",
					"item index is 3", NULL};
const fl_scenario fl__scn_stage_as = {
	.name = "stage_as",
	.description = "task 9: a typed stage error is found with fl_err_as through the group",
	.checks = as_checks,
	.default_iterations = 1,
	.run = as_scn,
};

/* ---- panic captured ----------------------------------------------------------------- */

#define PANIC_AT 3

typedef struct panic_run {
	fl_chan *a, *b;  /* source -> risky -> sink */
	long sent;       /* source */
	int source_exit; /* source */
	long delivered;  /* sink */
	int sink_exit;   /* sink */
	int cleanup_ran; /* risky's deferred cleanup */
} panic_run;

static fl_err *panic_source(fl_ctx *ctx, void *arg)
{
	panic_run *pr = arg;
	fl_err *err = NULL;
	for (long v = 1; !err; v++) { /* endless: only cancellation stops it */
		fl__scn_item it = {v, fl_now()};
		int st = fl_chan_send(pr->a, &it, ctx, FL_FOREVER);
		if (st != FL_OK) {
			pr->source_exit = st;
			err = fl__scn_stopped(ctx, st, "source");
		} else {
			pr->sent++;
		}
	}
	return fl_err_join2(err, fl_chan_close(pr->a));
}

static void risky_cleanup(void *arg)
{
	panic_run *pr = arg;
	pr->cleanup_ran++;
}

static fl_err *panic_risky(fl_ctx *ctx, void *arg)
{
	panic_run *pr = arg;
	fl_err *err = fl_defer(risky_cleanup, pr);
	for (int st = FL_OK; !err;) {
		fl__scn_item it;
		if ((st = fl_chan_recv(pr->a, &it, ctx, FL_FOREVER)) == FL_OK && it.v == PANIC_AT)
			fl_panic("risky stage: bad item %ld", it.v);
		if (st == FL_OK)
			st = fl_chan_send(pr->b, &it, ctx, FL_FOREVER);
		if (st != FL_OK)
			err = fl__scn_stopped(ctx, st, "risky");
	}
	return err;
}

static fl_err *panic_sink(fl_ctx *ctx, void *arg)
{
	panic_run *pr = arg;
	for (;;) {
		int st = fl_chan_recv(pr->b, NULL, ctx, FL_FOREVER);
		if (st != FL_OK) {
			pr->sink_exit = st;
			return st == FL_CLOSED ? NULL : fl__scn_stopped(ctx, st, "sink");
		}
		pr->delivered++;
	}
}

static fl_err *panic_once(panic_run *pr, fl_err **err)
{
	fl_group *g;
	fl_ctx *ctx;
	struct fl_group_opts o = {.name = "panic", .panic = FL_PANIC_CAPTURE};
	fl_err *env = fl_group_new(fl_ctx_background(), &o, &g, &ctx);
	if (env)
		return env;
	if ((env = fl__scn_chan("panic.a", 0, &pr->a)) ||
	    (env = fl__scn_chan("panic.b", 0, &pr->b)))
		fl_group_cancel(g, NULL);
	pr->source_exit = pr->sink_exit = STAGE_RUNNING;
	if (!env && fl__scn_go(g, ctx, "source", panic_source, pr, &env) &&
	    fl__scn_go(g, ctx, "risky", panic_risky, pr, &env))
		fl__scn_go(g, ctx, "sink", panic_sink, pr, &env);
	*err = fl_group_wait(g);
	fl_group_free(g);
	fl_chan_free(pr->a);
	fl_chan_free(pr->b);
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

static fl_err *panic_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		panic_run pr = {0};
		fl_err *err = NULL, *env = panic_once(&pr, &err);
		if (env)
			return env;
		fl_scenario_note_err(r, p, "panic", err);
		bool is = fl_check_err_is(r, "wait error is a panic", err, FL_ERR_PANIC);
		const fl_panic_info *pi = fl_err_as(err, &fl_panic_type);
		const char *msg = pi ? pi->msg : "(no fl_panic_info)";
		fl_scenario_check(r, "panic message kept",
				  strcmp(msg, "risky stage: bad item 3") == 0, NAN, NAN, NULL,
				  "\"%s\" in task %s", msg, pi ? pi->task : "?");
		fl_scenario_check(r, "other stages exit on cancellation",
				  pr.source_exit == FL_CANCELED && pr.sink_exit == FL_CANCELED, NAN,
				  NAN, NULL, "source %s after %ld items, sink %s after %ld",
				  fl__scn_status_name(pr.source_exit), pr.sent,
				  fl__scn_status_name(pr.sink_exit), pr.delivered);
		fl_scenario_check(r, "deferred cleanup ran", pr.cleanup_ran == 1, pr.cleanup_ran, 1,
				  NULL, "risky's fl_defer cleanup ran %d time%s while unwinding",
				  pr.cleanup_ran, pr.cleanup_ran == 1 ? "" : "s");
		fl_scenario_count(r, "items", pr.delivered);
		fl_scenario_set(r, "sent", pr.sent);
		fl_scenario_set(r, "delivered", pr.delivered);
		fl_scenario_count(r, "panics", is);
		fl_err_drop(err);
	}
	return NULL;
}

static const char *const panic_checks[] = {"wait error is a panic", "panic message kept",
					   "other stages exit on cancellation",
					   "deferred cleanup ran", NULL};
const fl_scenario fl__scn_panic_capture = {
	.name = "panic_capture",
	.description = "task 13: a stage's fl_panic is captured; wait returns it, siblings cancel",
	.checks = panic_checks,
	.default_iterations = 1,
	.run = panic_scn,
};
