/*
 * cat_stories.c - the reference texts' failure stories as regression
 * scenarios: each runs the buggy shape (and checks that the bug shows,
 * exactly) and the fix (and checks that it does not).
 *
 * 999 translations (reference 003): 1000 documents translated by a group
 * with limit 8, one rate-limited. The failing document waits until the
 * other 999 are translated (a token each on a buffered channel), so the
 * counts are exact: with fail-fast errgroup semantics wait returns the
 * rate limit and TranslateAll returns no results, throwing 999 finished
 * translations away; with the fix (every task returns NULL and keeps its
 * error in its own slot, joined after wait as errors.Join) 999 results
 * come back with a joined error naming the one document.
 *
 * The forgotten drain (reference 000): source -> transform -> sink, where
 * the sink meets a sentinel item (4 of 10). The bug: the sink returns
 * success early without draining; the transform, blocked sending item 5
 * with nobody reading, watches a context nobody cancels, so the pipeline
 * can never finish. A hang guard (a deadline on the parent, 100 ms scaled)
 * is the only way out, and the scenario checks that it was. The two fixes
 * finish on their own: `continue` past the sentinel (every other item
 * delivered), or return an error so the group cancels the transform.
 */
#include "cat_internal.h"

#include <string.h>

/* ---- 999 translations thrown away ------------------------------------------------ */

#define DOCS 1000
#define TRANSLATE_LIMIT 8

typedef struct tr_run tr_run;
typedef struct tr_doc {
	tr_run *t;
	long id;         /* 1-based; DOCS is rate-limited */
	bool translated; /* its task */
	fl_err *err;     /* its task, collect mode: its own error */
} tr_doc;

struct tr_run {
	bool collect;  /* the fix */
	fl_chan *done; /* a token per translated document (capacity DOCS) */
	tr_doc doc[DOCS];
};

static fl_err *translate(fl_ctx *ctx, void *arg)
{
	tr_doc *d = arg;
	tr_run *t = d->t;
	fl_err *err = NULL;
	if (d->id == DOCS) {
		/* The upstream API rate-limits this one tenant, after the
		 * others are done (so that the counts are exact). */
		int st = FL_OK;
		for (long n = 0; n < DOCS - 1 && st == FL_OK; n++)
			st = fl_chan_recv(t->done, NULL, ctx, FL_FOREVER);
		err = st == FL_OK ? fl_err_wrap(fl_scenario_err_rate_limited, "translate doc %ld",
						d->id)
				  : fl__scn_stopped(ctx, st, "translate");
	} else {
		char tok = 1;
		d->translated = true;
		(void)fl_chan_send(t->done, &tok, NULL, FL_TRY); /* room for DOCS */
	}
	if (t->collect) {
		d->err = err; /* errgroup never sees it: nobody is cancelled */
		return NULL;
	}
	return err;
}

/* TranslateAll: *kept receives the results handed back, *err the error. */
static fl_err *translate_all(tr_run *t, long *kept, fl_err **err)
{
	fl_group *g;
	fl_ctx *ctx;
	fl_err *env =
		fl_chan_new(1, DOCS, &(struct fl_chan_opts){.name = "translate.done"}, &t->done);
	if (env)
		return env;
	env = fl_group_new(fl_ctx_background(),
			   &(struct fl_group_opts){.name = "translate", .limit = TRANSLATE_LIMIT},
			   &g, &ctx);
	if (env) {
		fl_chan_free(t->done);
		return env;
	}
	for (long i = 0; i < DOCS; i++) {
		t->doc[i] = (tr_doc){.t = t, .id = i + 1};
		if (!fl__scn_go(g, ctx, "translate", translate, &t->doc[i], &env))
			break;
	}
	fl_err *werr = fl_group_wait(g);
	fl_group_free(g);
	fl_chan_free(t->done);
	if (t->collect) {
		fl_err *errs[DOCS];
		for (long i = 0; i < DOCS; i++) {
			errs[i] = t->doc[i].err;
			t->doc[i].err = NULL;
		}
		werr = fl_err_join2(werr, fl_err_join(errs, DOCS));
	}
	*kept = 0;
	if (!werr || t->collect)
		for (long i = 0; i < DOCS; i++)
			*kept += t->doc[i].translated;
	/* Fail-fast: `if err := g.Wait(); err != nil { return nil, err }`. */
	if (env) {
		fl_err_drop(werr);
		return env;
	}
	*err = werr;
	return NULL;
}

static long count_translated(const tr_run *t)
{
	long n = 0;
	for (long i = 0; i < DOCS; i++)
		n += t->doc[i].translated;
	return n;
}

static fl_err *translate_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	static tr_run t; /* 1000 slots: not on a task-sized stack; one scenario thread */
	for (int i = 0; i < p->iterations; i++) {
		long kept = -1;
		fl_err *err = NULL;
		memset(&t, 0, sizeof(t));
		fl_err *env = translate_all(&t, &kept, &err);
		if (env)
			return env;
		long done = count_translated(&t);
		fl_scenario_note_err(r, p, "errgroup", err);
		bool is = fl_err_is(err, fl_scenario_err_rate_limited);
		fl_scenario_check(r, "errgroup throws away 999 translations",
				  is && kept == 0 && done == DOCS - 1, (double)(done - kept),
				  DOCS - 1, NULL,
				  "%s: %ld translated, %ld handed back (the bug, reproduced)",
				  err ? r->err_text : "<nil>", done, kept);
		fl_scenario_count(r, "thrown_away", done - kept);
		fl_err_drop(err);

		memset(&t, 0, sizeof(t));
		t.collect = true;
		err = NULL;
		if ((env = translate_all(&t, &kept, &err)))
			return env;
		fl_scenario_note_err(r, p, "collect all", err);
		is = fl_err_is(err, fl_scenario_err_rate_limited);
		bool one = is && fl_err_join_len(err) == 0 && strstr(r->err_text, "doc 1000");
		fl_scenario_check(r, "collect-all keeps 999 results", one && kept == DOCS - 1,
				  (double)kept, DOCS - 1, NULL, "%s: %ld results handed back",
				  err ? r->err_text : "<nil>", kept);
		fl_scenario_check(r, "conservation", kept + (err != NULL) == DOCS,
				  (double)(kept + (err != NULL)), DOCS, NULL,
				  "%d documents = %ld delivered + %d failed", DOCS, kept,
				  err != NULL);
		fl_scenario_count(r, "items", kept);
		fl_scenario_count(r, "delivered", kept);
		fl_scenario_count(r, "failed", err != NULL);
		fl_err_drop(err);
	}
	return NULL;
}

static const char *const translate_checks[] = {"errgroup throws away 999 translations",
					       "collect-all keeps 999 results", "conservation",
					       NULL};
const fl_scenario fl__scn_translate_999 = {
	.name = "translate_999",
	.description = "story: one rate-limited document makes errgroup discard 999 translations; "
		       "collect-all keeps them",
	.checks = translate_checks,
	.default_iterations = 1,
	.run = translate_scn,
};

/* ---- the forgotten drain ------------------------------------------------------------ */

#define DR_ITEMS 10
#define DR_SENTINEL 4
#define DR_GUARD FL_MS(100)      /* after the sink left: ends the early-return bug's hang */
#define DR_HANG_GUARD FL_SEC(60) /* every run: only turns a hang into a failure */

enum dr_mode { DR_RETURN_EARLY, DR_CONTINUE, DR_CANCEL };
static const char *const dr_names[] = {"return nil early", "continue", "return an error"};

typedef struct dr_run {
	const fl_scenario_params *p;
	enum dr_mode mode;
	fl_chan *a, *b;     /* source -> transform -> sink, unbuffered */
	fl_chan *gone;      /* closed by the sink when it leaves */
	long produced;      /* source */
	int transform_exit; /* transform: the status that stopped it */
	long delivered;     /* sink */
	long skipped;       /* sink: sentinels passed over */
} dr_run;

static fl_err *dr_source(fl_ctx *ctx, void *arg)
{
	dr_run *d = arg;
	fl_err *err = NULL;
	for (long v = 1; v <= DR_ITEMS && !err; v++) {
		fl__scn_item it = {v, fl_now()};
		int st = fl_chan_send(d->a, &it, ctx, FL_FOREVER);
		if (st != FL_OK)
			err = fl__scn_stopped(ctx, st, "source");
		else
			d->produced++;
	}
	return fl_err_join2(err, fl_chan_close(d->a));
}

static fl_err *dr_transform(fl_ctx *ctx, void *arg)
{
	dr_run *d = arg;
	fl_err *err = NULL;
	for (;;) {
		fl__scn_item it;
		int st = fl_chan_recv(d->a, &it, ctx, FL_FOREVER);
		if (st == FL_OK)
			st = fl_chan_send(d->b, &it, ctx, FL_FOREVER);
		if (st != FL_OK) {
			d->transform_exit = st;
			if (st != FL_CLOSED)
				err = fl__scn_stopped(ctx, st, "transform");
			break;
		}
	}
	return fl_err_join2(err, fl_chan_close(d->b));
}

static fl_err *dr_sink_loop(fl_ctx *ctx, dr_run *d)
{
	for (;;) {
		fl__scn_item it;
		int st = fl_chan_recv(d->b, &it, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			return NULL;
		if (st != FL_OK)
			return fl__scn_stopped(ctx, st, "sink");
		if (it.v != DR_SENTINEL) {
			d->delivered++;
			continue;
		}
		switch (d->mode) {
		case DR_RETURN_EARLY: return NULL; /* the bug: nobody drains b */
		case DR_CONTINUE: d->skipped++; continue;
		default: return fl_err_wrap(fl_scenario_err_skip, "sink: abort at item %ld", it.v);
		}
	}
}

static fl_err *dr_sink(fl_ctx *ctx, void *arg)
{
	dr_run *d = arg;
	fl_err *err = dr_sink_loop(ctx, d);
	return fl_err_join2(err, fl_chan_close(d->gone));
}

/* The guard of the story: its clock starts once the sink has left, so the
 * early-return run is stranded for DR_GUARD however slowly the machine got
 * it there. It fails the group with a deadline error, as a guard deadline
 * would; in the fixed runs it just ends. */
static fl_err *dr_guard(fl_ctx *ctx, void *arg)
{
	dr_run *d = arg;
	if (fl_chan_recv(d->gone, NULL, ctx, FL_FOREVER) != FL_CLOSED || d->mode != DR_RETURN_EARLY)
		return NULL;
	int64_t guard = fl__scn_scaled(d->p, DR_GUARD);
	if (fl_sleep_until(ctx, fl_deadline_in(guard)) == FL_CANCELED)
		return NULL;
	return fl_err_wrap(FL_ERR_DEADLINE, "guard: %lld ms after the sink left",
			   (long long)(guard / FL_MS(1)));
}

static fl_err *dr_once(const fl_scenario_params *p, dr_run *d, fl_err **err)
{
	fl_ctx *guard, *ctx;
	fl_group *g;
	fl_err *env = fl_ctx_with_timeout(fl_ctx_background(), fl__scn_scaled(p, DR_HANG_GUARD),
					  NULL, &guard);
	if (env)
		return env;
	if ((env = fl_group_new(guard, &(struct fl_group_opts){.name = "drain"}, &g, &ctx))) {
		fl_ctx_free(guard);
		return env;
	}
	d->p = p;
	if (!(env = fl__scn_chan("drain.a", 0, &d->a)) &&
	    !(env = fl__scn_chan("drain.b", 0, &d->b)))
		env = fl__scn_chan("drain.gone", 0, &d->gone);
	if (env)
		fl_group_cancel(g, NULL);
	d->transform_exit = 1;
	if (!env && fl__scn_go(g, ctx, "source", dr_source, d, &env) &&
	    fl__scn_go(g, ctx, "transform", dr_transform, d, &env) &&
	    fl__scn_go(g, ctx, "sink", dr_sink, d, &env))
		fl__scn_go(g, ctx, "guard", dr_guard, d, &env);
	*err = fl_group_wait(g);
	fl_group_free(g);
	fl_ctx_free(guard);
	fl_chan_free(d->a);
	fl_chan_free(d->b);
	fl_chan_free(d->gone);
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

/*
 * The transform was stopped by the cancellation: it saw it itself, or it
 * was waiting in a receive when the source, stopped by it, closed its
 * input. On threads and fibers the second happens when the source wakes
 * and closes before the cancelling task's fan-out reaches the transform's
 * wait (whichever fires a waiter first wins); the source cut short
 * (produced < DR_ITEMS) tells it from a source that ran out of items.
 */
static bool dr_upstream_stopped(const dr_run *d)
{
	return d->transform_exit == FL_CANCELED ||
	       (d->transform_exit == FL_CLOSED && d->produced < DR_ITEMS);
}

static fl_err *drain_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		for (int m = DR_RETURN_EARLY; m <= DR_CANCEL; m++) {
			dr_run d = {.mode = (enum dr_mode)m};
			fl_err *err = NULL, *env = dr_once(p, &d, &err);
			if (env)
				return env;
			fl_scenario_note_err(r, p, dr_names[m], err);
			bool ok;
			if (m == DR_RETURN_EARLY) {
				/* Stuck until the guard: the transform leaves only
				 * through the deadline, holding item 5. */
				ok = fl_err_is(err, FL_ERR_DEADLINE) && dr_upstream_stopped(&d) &&
				     d.delivered == DR_SENTINEL - 1;
				fl_scenario_check(r, "early return hangs until the guard", ok, ok,
						  1, NULL, "%s; transform %s, %ld delivered",
						  err ? r->err_text : "<nil>",
						  fl__scn_status_name(d.transform_exit),
						  d.delivered);
				fl_scenario_count(r, "hung", ok);
			} else if (m == DR_CONTINUE) {
				ok = !err && d.delivered + d.skipped == DR_ITEMS && d.skipped == 1;
				fl_scenario_check(r, "continue drains every item", ok,
						  (double)(d.delivered + d.skipped), DR_ITEMS, NULL,
						  "%s; %ld produced = %ld delivered + %ld skipped",
						  err ? r->err_text : "wait <nil>", d.produced,
						  d.delivered, d.skipped);
				fl_scenario_check(r, "conservation",
						  d.produced == d.delivered + d.skipped,
						  (double)d.produced, NAN, NULL,
						  "%ld produced = %ld delivered + %ld skipped",
						  d.produced, d.delivered, d.skipped);
				fl_scenario_count(r, "items", d.delivered);
				fl_scenario_count(r, "skipped", d.skipped);
			} else {
				ok = fl_err_is(err, fl_scenario_err_skip) &&
				     !fl_err_is(err, FL_ERR_DEADLINE) && dr_upstream_stopped(&d);
				fl_scenario_check(r, "returning an error cancels upstream", ok, ok,
						  1, NULL, "%s; transform %s, %ld of %d produced",
						  err ? r->err_text : "<nil>",
						  fl__scn_status_name(d.transform_exit), d.produced,
						  DR_ITEMS);
			}
			fl_err_drop(err);
		}
	}
	return NULL;
}

static const char *const drain_checks[] = {"early return hangs until the guard",
					   "continue drains every item", "conservation",
					   "returning an error cancels upstream", NULL};
const fl_scenario fl__scn_forgotten_drain = {
	.name = "forgotten_drain",
	.description = "story: a sink that returns nil early strands its producer until a guard "
		       "deadline; continue or an error fix it",
	.checks = drain_checks,
	.default_iterations = 1,
	.run = drain_scn,
};
