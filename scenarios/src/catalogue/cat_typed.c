/*
 * cat_typed.c - bonus 1 of the hands-on tasks: errors matched by their text
 * converted to a typed sentinel matched through the wrap chain.
 *
 * The pipeline: a producer sends items 1..TY_ITEMS on an unbuffered
 * channel to a consumer that looks each one up. Every tenth item is not
 * found: the store returns ErrNotFound, and the fetch layer above it wraps
 * it ("fetch item 10: not found"), as real code does to add context. The
 * consumer skips a not-found item and fails the pipeline on anything else.
 * In the "backend" runs item TY_BROKEN fails with a different, fatal
 * error whose text happens to contain "not found" ("backend: route not
 * found"). How the consumer recognises "not found" is the variable:
 *   - exact text (Go's err.Error() == "not found"): the wrap breaks it, so
 *     the first not-found item fails the whole pipeline;
 *   - substring (strings.Contains): the wrap no longer breaks it, but the
 *     backend's fatal error now matches too and is swallowed as a skip;
 *   - the sentinel through the chain (fl_err_is, errors.Is): skips exactly
 *     the not-found items, wrapped or not, and fails on the backend error.
 * The two text-matching runs are the negative controls: their checks pass
 * when the failure they demonstrate shows, exactly (the consumer handles
 * items one at a time from an unbuffered channel, so counts are exact).
 */
#include "cat_internal.h"

#include <string.h>

#define TY_ITEMS 100
#define TY_EVERY 10  /* items 10, 20, ... are not found */
#define TY_BROKEN 55 /* the backend run's fatal item */

static FL_ERR_SENTINEL(ty_not_found, "not found");
static FL_ERR_SENTINEL(ty_backend, "backend: route not found");

enum ty_match { TY_EXACT, TY_SUBSTRING, TY_SENTINEL };

typedef struct ty_run {
	enum ty_match match;
	bool backend_fails; /* item TY_BROKEN fails with ty_backend */
	fl_chan *items;
	long produced;  /* producer */
	long delivered; /* consumer */
	long skipped;   /* consumer: treated as not found */
} ty_run;

/* The store under the fetch layer: the sentinel, bare. */
static fl_err *store_get(const ty_run *t, long v)
{
	if (t->backend_fails && v == TY_BROKEN)
		return ty_backend;
	return v % TY_EVERY == 0 ? ty_not_found : NULL;
}

/* The fetch layer adds context, as every layer should. */
static fl_err *fetch(const ty_run *t, long v)
{
	fl_err *e = store_get(t, v);
	return e ? fl_err_wrap(e, "fetch item %ld", v) : NULL;
}

static bool is_not_found(const ty_run *t, const fl_err *e)
{
	char text[256];
	switch (t->match) {
	case TY_EXACT: fl_err_format(e, text, sizeof(text)); return strcmp(text, "not found") == 0;
	case TY_SUBSTRING:
		fl_err_format(e, text, sizeof(text));
		return strstr(text, "not found") != NULL;
	default: return fl_err_is(e, ty_not_found);
	}
}

static fl_err *ty_producer(fl_ctx *ctx, void *arg)
{
	ty_run *t = arg;
	fl_err *err = NULL;
	for (long v = 1; v <= TY_ITEMS && !err; v++) {
		fl__scn_item it = {v, fl_now()};
		int st = fl_chan_send(t->items, &it, ctx, FL_FOREVER);
		if (st != FL_OK)
			err = fl__scn_stopped(ctx, st, "producer");
		else
			t->produced++;
	}
	return fl_err_join2(err, fl_chan_close(t->items));
}

static fl_err *ty_consumer(fl_ctx *ctx, void *arg)
{
	ty_run *t = arg;
	for (;;) {
		fl__scn_item it;
		int st = fl_chan_recv(t->items, &it, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			return NULL;
		if (st != FL_OK)
			return fl__scn_stopped(ctx, st, "consumer");
		fl_err *e = fetch(t, it.v);
		if (!e) {
			t->delivered++;
		} else if (is_not_found(t, e)) {
			t->skipped++;
			fl_err_drop(e);
		} else {
			return e;
		}
	}
}

static fl_err *ty_once(ty_run *t, fl_err **err)
{
	fl_group *g;
	fl_ctx *ctx;
	fl_err *env = fl__scn_chan("typed.items", 0, &t->items);
	if (env)
		return env;
	if ((env = fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = "typed"}, &g,
				&ctx))) {
		fl_chan_free(t->items);
		return env;
	}
	if (fl__scn_go(g, ctx, "producer", ty_producer, t, &env))
		fl__scn_go(g, ctx, "consumer", ty_consumer, t, &env);
	*err = fl_group_wait(g);
	fl_group_free(g);
	fl_chan_free(t->items);
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

/* Not-found items among 1..n. */
static long not_found_upto(long n) { return n / TY_EVERY; }

/* The two negative controls: the text-matching consumers fail as shown. */
static void ty_check_text(fl_scenario_result *r, ty_run *t, const fl_err *err)
{
	bool ok;
	if (t->match == TY_EXACT) {
		/* the wrapped first not-found item (10) is fatal: 9 delivered */
		ok = fl_err_is(err, ty_not_found) && t->delivered == TY_EVERY - 1 &&
		     t->skipped == 0;
		fl_scenario_check(r, "negative control: exact text misses the wrapped sentinel", ok,
				  (double)t->delivered, TY_EVERY - 1, NULL,
				  "%s; %ld delivered, %ld skipped (the failure, reproduced)",
				  err ? r->err_text : "<nil>", t->delivered, t->skipped);
		fl_scenario_count(r, "exact_text_delivered", t->delivered);
		return;
	}
	/* the backend's fatal error is skipped as if not found */
	ok = !err && t->skipped == not_found_upto(TY_ITEMS) + 1 &&
	     t->delivered + t->skipped == TY_ITEMS;
	fl_scenario_check(r, "negative control: substring match swallows another error", ok,
			  (double)t->skipped, not_found_upto(TY_ITEMS) + 1, NULL,
			  "%s; %ld skipped, item %d's '%s' among them (the failure, reproduced)",
			  err ? r->err_text : "wait <nil>", t->skipped, TY_BROKEN,
			  fl_err_msg(ty_backend));
	fl_scenario_count(r, "substring_swallowed", ok);
}

/* The fix: skips exactly the not-found items, fails on the backend error. */
static void ty_check_sentinel(fl_scenario_result *r, ty_run *t, const fl_err *err)
{
	bool ok;
	if (!t->backend_fails) {
		long nf = not_found_upto(TY_ITEMS);
		ok = !err && t->skipped == nf && t->delivered == TY_ITEMS - nf;
		fl_scenario_check(r, "sentinel match skips through the wrap chain", ok,
				  (double)t->skipped, (double)nf, NULL,
				  "%s; %ld delivered, %ld skipped",
				  err ? r->err_text : "wait <nil>", t->delivered, t->skipped);
		fl_scenario_check(r, "conservation", t->produced == t->delivered + t->skipped,
				  (double)t->produced, NAN, NULL,
				  "%ld produced = %ld delivered + %ld skipped", t->produced,
				  t->delivered, t->skipped);
		fl_scenario_count(r, "items", t->delivered);
		fl_scenario_count(r, "skipped", t->skipped);
		return;
	}
	long nf = not_found_upto(TY_BROKEN);
	ok = fl_err_is(err, ty_backend) && !fl_err_is(err, ty_not_found) && t->skipped == nf &&
	     t->delivered == TY_BROKEN - 1 - nf;
	fl_scenario_check(r, "sentinel match still fails on another error", ok,
			  (double)t->delivered, (double)(TY_BROKEN - 1 - nf), NULL,
			  "%s; %ld delivered, %ld skipped", err ? r->err_text : "<nil>",
			  t->delivered, t->skipped);
	fl_scenario_count(r, "failed", err != NULL);
}

static const char *const ty_names[] = {"exact text", "substring", "sentinel",
				       "sentinel, backend fails"};

static fl_err *typed_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	static const struct {
		enum ty_match match;
		bool backend_fails;
	} runs[] = {{TY_EXACT, false},
		    {TY_SUBSTRING, true},
		    {TY_SENTINEL, false},
		    {TY_SENTINEL, true}};
	for (int i = 0; i < p->iterations; i++) {
		for (size_t k = 0; k < sizeof(runs) / sizeof(runs[0]); k++) {
			ty_run t = {.match = runs[k].match, .backend_fails = runs[k].backend_fails};
			fl_err *err = NULL, *env = ty_once(&t, &err);
			if (env)
				return env;
			fl_scenario_note_err(r, p, ty_names[k], err);
			if (t.match == TY_SENTINEL)
				ty_check_sentinel(r, &t, err);
			else
				ty_check_text(r, &t, err);
			fl_err_drop(err);
		}
	}
	return NULL;
}

static const char *const typed_checks[] =
	{"negative control: exact text misses the wrapped sentinel",
	 "negative control: substring match swallows another error",
	 "sentinel match skips through the wrap chain",
	 "conservation",
	 "sentinel match still fails on another error",
	 NULL};
const fl_scenario fl__scn_typed_errors = {
	.name = "typed_errors",
	.description = "bonus 1: matching errors by text breaks on a wrap or swallows another "
		       "error (negative controls); fl_err_is on a sentinel does neither",
	.checks = typed_checks,
	.default_iterations = 1,
	.run = typed_scn,
};
