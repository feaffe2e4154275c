/*
 * cat_fetch.c - the exercises that talk HTTP to a server the scenario
 * starts on 127.0.0.1 (cat_http.c): parallel fetch with SetLimit(8)
 * (task 3) and the 200-OK-with-error-body story (reference 000, "When
 * errgroup is not enough").
 *
 * FetchAll: one task per URL in a group with limit 8, each writing its
 * own slot (Go's pre-allocated result slice), errors wrapped with the
 * URL. Two runs per iteration:
 *   - 32 /doc/ URLs, the server holding its answers until 8 requests are
 *     in flight at once: every body arrives in order and the group's
 *     high-water mark is exactly 8 (the cap neither breaks nor starves).
 *   - 7 /hang/ URLs, then a /fail/ one, then 24 /doc/ ones: the 500 is
 *     the error wait returns (naming its URL), the 7 hanging fetches were
 *     in flight and end through the cancellation, and the 24 later ones
 *     never start, because nothing starts after cancellation. The time
 *     from the failing return to wait's return is the cancel latency.
 *
 * The story: a third-party API answers a rate limit with 200 OK and an
 * error body. fetch -> parse -> store over 6 /json/ URLs, the 4th being
 * /limited/. A parse that only decodes accepts {"error":...} as an empty
 * record: the pipeline "succeeds" and stores one bogus record (the bug,
 * reproduced). The fix validates inside parse: the pipeline fails at the
 * 4th item with a typed parse-stage error wrapping ErrBadRecord, and
 * nothing bogus is stored. Unbuffered channels make the counts exact.
 */
#include "cat_internal.h"

#include <fl/check.h>

#include <stdio.h>
#include <string.h>

#define GUARD_NS FL_SEC(10) /* hang guard of every pipeline, scaled */

/* ---- FetchAll ------------------------------------------------------------------ */

#define FETCH_URLS 32
#define FETCH_LIMIT 8
#define FETCH_HANG 7 /* hanging URLs before the failing one */

enum { NOT_STARTED, FETCH_OK, FETCH_FAILED, FETCH_CANCELED };

typedef struct fetch_run fetch_run;
typedef struct fetch_slot {
	fetch_run *f;
	char path[32];
	char body[64]; /* its task: the body fetched */
	int outcome;   /* its task: NOT_STARTED until it ends */
} fetch_slot;

struct fetch_run {
	int port;
	fetch_slot slot[FETCH_URLS];
	int64_t failed_at; /* the failing task: when it returned */
	int hwm;           /* the owner, after wait */
};

static fl_err *fetch_one(fl_ctx *ctx, void *arg)
{
	fetch_slot *s = arg;
	int status = 0;
	fl_err *err = fl__http_get(ctx, s->f->port, s->path, &status, s->body, sizeof(s->body));
	if (!err && status != 200)
		err = fl_err_wrap(fl_scenario_err_http_status, "status %d", status);
	if (!err) {
		s->outcome = FETCH_OK;
		return NULL;
	}
	s->outcome = fl_err_is(err, FL_ERR_CANCELED) ? FETCH_CANCELED : FETCH_FAILED;
	if (s->outcome == FETCH_FAILED)
		s->f->failed_at = fl_now();
	return fl_err_wrap(err, "fetch http://127.0.0.1:%d%s", s->f->port, s->path);
}

/* Go's FetchAll(ctx, urls) over f's slots; *err receives wait's error. */
static fl_err *fetch_all(const fl_scenario_params *p, fetch_run *f, fl_err **err)
{
	fl_ctx *guard, *ctx;
	fl_group *g;
	fl_err *env =
		fl_ctx_with_timeout(fl_ctx_background(), fl__scn_scaled(p, GUARD_NS), NULL, &guard);
	if (env)
		return env;
	env = fl_group_new(guard, &(struct fl_group_opts){.name = "fetch", .limit = FETCH_LIMIT},
			   &g, &ctx);
	if (env) {
		fl_ctx_free(guard);
		return env;
	}
	for (int i = 0; i < FETCH_URLS; i++)
		if (!fl__scn_go(g, ctx, "fetch", fetch_one, &f->slot[i], &env))
			break;
	*err = fl_group_wait(g);
	f->hwm = fl_group_hwm(g);
	fl_group_free(g);
	fl_ctx_free(guard);
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

/* Starts a server, runs FetchAll over paths[i] = fmt(i), stops the server. */
static fl_err *fetch_with_server(const fl_scenario_params *p, fetch_run *f, int hold, fl_err **err,
				 fl__http_stats *st)
{
	fl__http_srv *srv;
	fl_err *env =
		fl__http_start(fl_ctx_background(), &(struct fl__http_opts){.hold = hold}, &srv);
	if (env)
		return env;
	f->port = fl__http_port(srv);
	env = fetch_all(p, f, err);
	fl_err *serr = fl__http_stop(srv, st);
	if (serr && !env)
		env = serr;
	else
		fl_err_drop(serr);
	if (env) { /* the callers return env alone: wait's error is ours to drop */
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

static void fetch_count(fl_scenario_result *r, const fetch_run *f, long out[4])
{
	memset(out, 0, 4 * sizeof(long));
	for (int i = 0; i < FETCH_URLS; i++)
		out[f->slot[i].outcome]++;
	/* never started: cancelled before its fetch began */
	fl_check_items items;
	fl_check_items_init(&items);
	fl_check_items_add(&items, FL_ITEM_PRODUCED, FETCH_URLS);
	fl_check_items_add(&items, FL_ITEM_DONE, out[FETCH_OK]);
	fl_check_items_add(&items, FL_ITEM_FAILED, out[FETCH_FAILED]);
	fl_check_items_add(&items, FL_ITEM_CANCELLED, out[FETCH_CANCELED] + out[NOT_STARTED]);
	fl_check_items_judge(&items, r, "conservation");
	fl_scenario_count(r, "produced", FETCH_URLS);
	fl_scenario_count(r, "delivered", out[FETCH_OK]);
	fl_scenario_count(r, "items", out[FETCH_OK]);
	fl_scenario_count(r, "failed", out[FETCH_FAILED]);
	fl_scenario_count(r, "cancelled", out[FETCH_CANCELED] + out[NOT_STARTED]);
}

static fl_err *fetch_happy(const fl_scenario_params *p, fl_scenario_result *r)
{
	fetch_run f = {0};
	for (int i = 0; i < FETCH_URLS; i++) {
		f.slot[i].f = &f;
		snprintf(f.slot[i].path, sizeof(f.slot[i].path), "/doc/%d", i);
	}
	fl_err *err = NULL;
	fl__http_stats st;
	fl_err *env = fetch_with_server(p, &f, FETCH_LIMIT, &err, &st);
	if (env)
		return env;
	fl_scenario_note_err(r, p, "fetch all", err);
	fl_scenario_check(r, "wait returns no error", err == NULL, err != NULL, 0, NULL, "%s",
			  err ? r->err_text : "<nil>");
	int in_order = 0;
	for (int i = 0; i < FETCH_URLS; i++) {
		char want[32];
		snprintf(want, sizeof(want), "doc %d", i);
		in_order += strcmp(f.slot[i].body, want) == 0;
	}
	fl_scenario_check(r, "bodies in order", in_order == FETCH_URLS, in_order, FETCH_URLS, NULL,
			  "%d of %d slots hold their own URL's body", in_order, FETCH_URLS);
	fl_scenario_check(r, "limit reached", f.hwm == FETCH_LIMIT, f.hwm, FETCH_LIMIT, NULL,
			  "fl_group_hwm %d with SetLimit(%d), %ld requests served", f.hwm,
			  FETCH_LIMIT, st.requests);
	fl_scenario_note_group(r, "fetch", FETCH_LIMIT, f.hwm);
	long out[4];
	fetch_count(r, &f, out);
	fl_scenario_count(r, "requests", st.requests);
	fl_err_drop(err);
	return NULL;
}

static fl_err *fetch_failing(const fl_scenario_params *p, fl_scenario_result *r, fl_hdr *lat)
{
	fetch_run f = {0};
	for (int i = 0; i < FETCH_URLS; i++) {
		f.slot[i].f = &f;
		const char *route = i < FETCH_HANG ? "hang" : i == FETCH_HANG ? "fail" : "doc";
		snprintf(f.slot[i].path, sizeof(f.slot[i].path), "/%s/%d", route, i);
	}
	fl_err *err = NULL;
	fl__http_stats st;
	fl_err *env = fetch_with_server(p, &f, 0, &err, &st);
	int64_t waited = fl_now();
	if (env)
		return env;
	fl_scenario_note_err(r, p, "fetch all, one 500", err);
	char want[64];
	snprintf(want, sizeof(want), "/fail/%d: status 500", FETCH_HANG);
	bool named = fl_err_is(err, fl_scenario_err_http_status) && strstr(r->err_text, want);
	fl_scenario_check(r, "error names the failed URL", named, named, 1, NULL, "%s",
			  err ? r->err_text : "<nil>: the 500 was swallowed");
	long out[4];
	fetch_count(r, &f, out);
	fl_scenario_check(r, "in-flight fetches cancelled",
			  out[FETCH_CANCELED] == FETCH_HANG && out[FETCH_FAILED] == 1,
			  (double)out[FETCH_CANCELED], FETCH_HANG, NULL,
			  "%ld of %d hanging fetches ended by the cancellation, %ld failed",
			  out[FETCH_CANCELED], FETCH_HANG, out[FETCH_FAILED]);
	fl_scenario_check(r, "nothing starts after the failure",
			  out[NOT_STARTED] == FETCH_URLS - FETCH_HANG - 1, (double)out[NOT_STARTED],
			  FETCH_URLS - FETCH_HANG - 1, NULL, "%ld URLs never fetched (%ld served)",
			  out[NOT_STARTED], st.requests);
	fl_scenario_note_group(r, "fetch", FETCH_LIMIT, f.hwm);
	if (f.failed_at > 0)
		fl_hdr_record(lat, waited - f.failed_at);
	fl_err_drop(err);
	return NULL;
}

static fl_err *fetch_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	fl_hdr *lat;
	fl_err *env = fl_scenario_hist(r, "fail_to_wait", &lat);
	for (int i = 0; !env && i < p->iterations; i++)
		if (!(env = fetch_happy(p, r)))
			env = fetch_failing(p, r, lat);
	if (env)
		return env;
	/* from the 500 to wait's return */
	fl_check_slo(r, p, "fail to wait p99 < 100 ms", "fail_to_wait", 99, FL_MS(100));
	return NULL;
}

static const char *const fetch_checks[] = {"wait returns no error",
					   "bodies in order",
					   "limit reached",
					   "conservation",
					   "error names the failed URL",
					   "in-flight fetches cancelled",
					   "nothing starts after the failure",
					   "fail to wait p99 < 100 ms",
					   NULL};
const fl_scenario fl__scn_fetch_all = {
	.name = "fetch_all",
	.description = "task 3: FetchAll over a loopback HTTP server with SetLimit(8); a 500 "
		       "cancels the in-flight fetches",
	.checks = fetch_checks,
	.default_iterations = 1,
	.run = fetch_scn,
};

/* ---- the 200 OK with an error body ------------------------------------------------ */

#define BODY_ITEMS 6
#define BODY_LIMITED 4 /* 1-based: the rate-limited answer */

typedef struct body_msg {
	long index; /* 1-based */
	char body[64];
} body_msg;

typedef struct record {
	long index;
	long id;
	char text[32];
} record;

typedef struct body_run {
	bool validate; /* the fix */
	int port;
	fl_chan *bodies;  /* fetch -> parse */
	fl_chan *records; /* parse -> store */
	long stored;      /* store */
	long bogus;       /* store: records that are not valid */
} body_run;

static fl_err *stage_err(const char *stage, long index, fl_err *cause)
{
	fl_scenario_stage_err se = {.index = index};
	snprintf(se.stage, sizeof(se.stage), "%s", stage);
	return fl_err_typed(&fl_scenario_stage_err_type, &se, cause, NULL);
}

static fl_err *body_fetch(fl_ctx *ctx, void *arg)
{
	body_run *b = arg;
	fl_err *err = NULL;
	for (long i = 1; i <= BODY_ITEMS && !err; i++) {
		body_msg m = {.index = i};
		char path[32];
		snprintf(path, sizeof(path), "/%s/%ld", i == BODY_LIMITED ? "limited" : "json", i);
		int status = 0;
		err = fl__http_get(ctx, b->port, path, &status, m.body, sizeof(m.body));
		if (!err && status != 200)
			err = fl_err_wrap(fl_scenario_err_http_status, "GET %s: status %d", path,
					  status);
		if (err) {
			err = stage_err("fetch", i, err);
			break;
		}
		int st = fl_chan_send(b->bodies, &m, ctx, FL_FOREVER);
		if (st != FL_OK)
			err = fl__scn_stopped(ctx, st, "fetch");
	}
	return fl_err_join2(err, fl_chan_close(b->bodies));
}

/* Decodes a body as json.Unmarshal into a struct would: unknown fields are
 * ignored, so {"error":...} decodes to an empty record without error. */
static void decode(const char *body, record *rec)
{
	rec->id = 0;
	rec->text[0] = '\0';
	(void)sscanf(body, "{\"id\":%ld,\"text\":\"%31[^\"]\"}", &rec->id, rec->text);
}

static fl_err *body_parse(fl_ctx *ctx, void *arg)
{
	body_run *b = arg;
	fl_err *err = NULL;
	for (;;) {
		body_msg m;
		int st = fl_chan_recv(b->bodies, &m, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			break;
		if (st != FL_OK) {
			err = fl__scn_stopped(ctx, st, "parse");
			break;
		}
		record rec = {.index = m.index};
		decode(m.body, &rec);
		if (b->validate && (rec.id <= 0 || !rec.text[0])) {
			err = stage_err("parse", m.index,
					fl_err_wrap(fl_scenario_err_bad_record, "body %s", m.body));
			break;
		}
		if ((st = fl_chan_send(b->records, &rec, ctx, FL_FOREVER)) != FL_OK) {
			err = fl__scn_stopped(ctx, st, "parse");
			break;
		}
	}
	return fl_err_join2(err, fl_chan_close(b->records));
}

static fl_err *body_store(fl_ctx *ctx, void *arg)
{
	body_run *b = arg;
	for (;;) {
		record rec;
		int st = fl_chan_recv(b->records, &rec, ctx, FL_FOREVER);
		if (st == FL_CLOSED)
			return NULL;
		if (st != FL_OK)
			return fl__scn_stopped(ctx, st, "store");
		b->stored++;
		b->bogus += rec.id != rec.index;
	}
}

static fl_err *body_once(const fl_scenario_params *p, body_run *b, fl_err **err)
{
	fl__http_srv *srv;
	fl_ctx *guard = NULL, *ctx;
	fl_group *g = NULL;
	fl_err *env = fl__http_start(fl_ctx_background(), NULL, &srv);
	if (env)
		return env;
	b->port = fl__http_port(srv);
	if (!(env = fl_ctx_with_timeout(fl_ctx_background(), fl__scn_scaled(p, GUARD_NS), NULL,
					&guard)))
		env = fl_group_new(guard, &(struct fl_group_opts){.name = "body"}, &g, &ctx);
	if (!env && !(env = fl_chan_new(sizeof(body_msg), 0, NULL, &b->bodies)) &&
	    !(env = fl_chan_new(sizeof(record), 0, NULL, &b->records)) &&
	    fl__scn_go(g, ctx, "fetch", body_fetch, b, &env) &&
	    fl__scn_go(g, ctx, "parse", body_parse, b, &env))
		fl__scn_go(g, ctx, "store", body_store, b, &env);
	if (g) {
		if (env)
			fl_group_cancel(g, NULL);
		*err = fl_group_wait(g);
		fl_group_free(g);
	}
	fl_chan_free(b->bodies);
	fl_chan_free(b->records);
	fl_ctx_free(guard);
	fl_err *serr = fl__http_stop(srv, NULL);
	if (!env)
		env = serr;
	else
		fl_err_drop(serr);
	if (env) {
		fl_err_drop(*err);
		*err = NULL;
	}
	return env;
}

static fl_err *body_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	for (int i = 0; i < p->iterations; i++) {
		body_run naive = {.validate = false}, fixed = {.validate = true};
		fl_err *nerr = NULL, *ferr = NULL;
		fl_err *env = body_once(p, &naive, &nerr);
		if (env)
			return env;
		fl_scenario_note_err(r, p, "decode only", nerr);
		fl_scenario_check(r, "decode-only parse swallows the error",
				  !nerr && naive.bogus == 1 && naive.stored == BODY_ITEMS,
				  (double)naive.bogus, 1, NULL,
				  "%s: %ld of %ld stored records are bogus (the bug, reproduced)",
				  nerr ? r->err_text : "wait <nil>", naive.bogus, naive.stored);
		fl_err_drop(nerr);
		if ((env = body_once(p, &fixed, &ferr)))
			return env;
		fl_scenario_note_err(r, p, "validating parse", ferr);
		const fl_scenario_stage_err *se = fl_err_as(ferr, &fl_scenario_stage_err_type);
		bool caught = fl_err_is(ferr, fl_scenario_err_bad_record) && se &&
			      strcmp(se->stage, "parse") == 0 && se->index == BODY_LIMITED;
		fl_scenario_check(r, "validating parse fails the pipeline", caught, caught, 1, NULL,
				  "%s", ferr ? r->err_text : "<nil>");
		fl_scenario_check(r, "nothing bogus stored",
				  fixed.bogus == 0 && fixed.stored == BODY_LIMITED - 1,
				  (double)fixed.bogus, 0, NULL, "%ld stored, %ld bogus",
				  fixed.stored, fixed.bogus);
		fl_scenario_count(r, "items", naive.stored + fixed.stored);
		fl_scenario_count(r, "bogus_naive", naive.bogus);
		fl_scenario_count(r, "bogus_fixed", fixed.bogus);
		fl_scenario_count(r, "failed", ferr != NULL);
		fl_err_drop(ferr);
	}
	return NULL;
}

static const char *const body_checks[] = {"decode-only parse swallows the error",
					  "validating parse fails the pipeline",
					  "nothing bogus stored", NULL};
const fl_scenario fl__scn_ok_error_body = {
	.name = "ok_error_body",
	.description = "story: a 200 OK with an error body passes a decode-only parse; "
		       "validation in parse catches it",
	.checks = body_checks,
	.default_iterations = 1,
	.run = body_scn,
};
