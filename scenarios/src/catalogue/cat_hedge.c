/*
 * cat_hedge.c - hedged requests (task 18) on fl/hedge.h, against the
 * loopback HTTP server of cat_http.c.
 *
 * HedgedFetch(urls): attempt i fetches urls[i]; the next attempt fires
 * after 1 ms (scaled) without a success, or at once when one fails. The
 * first success wins and every other attempt is cancelled and joined
 * before fl_hedge returns; if all fail the error is the join of theirs.
 *   - /hang/0, /hang/1, /doc/2: the third attempt wins with "doc 2", the
 *     two hanging fetches end through their cancelled contexts;
 *   - /fail/0, /fail/1, /fail/2: the error joins three status errors.
 */
#include "cat_internal.h"

#include <fl/hedge.h>

#include <stdio.h>
#include <string.h>

#define HF_URLS 3
#define HF_DELAY FL_MS(1)

enum { HF_NONE, HF_OK, HF_FAILED, HF_CANCELED };

typedef struct hf_run {
	int port;
	char path[HF_URLS][32];
	char body[HF_URLS][64]; /* attempt i's slot */
	int outcome[HF_URLS];   /* attempt i */
} hf_run;

static fl_err *hf_attempt(fl_ctx *ctx, int attempt, void *arg)
{
	hf_run *h = arg;
	int i = attempt - 1, status = 0;
	fl_err *err =
		fl__http_get(ctx, h->port, h->path[i], &status, h->body[i], sizeof(h->body[i]));
	if (!err && status != 200)
		err = fl_err_wrap(fl_scenario_err_http_status, "status %d", status);
	h->outcome[i] = !err ? HF_OK : fl_err_is(err, FL_ERR_CANCELED) ? HF_CANCELED : HF_FAILED;
	return fl_err_wrap(err, "fetch %s", h->path[i]);
}

/* HedgedFetch over routes[0..2]; *err and *st receive fl_hedge's. */
static fl_err *hf_fetch(const fl_scenario_params *p, hf_run *h, const char *const routes[HF_URLS],
			fl_err **err, fl_hedge_stats *st)
{
	fl__http_srv *srv;
	fl_err *env = fl__http_start(fl_ctx_background(), NULL, &srv);
	if (env)
		return env;
	h->port = fl__http_port(srv);
	for (int i = 0; i < HF_URLS; i++)
		snprintf(h->path[i], sizeof(h->path[i]), "/%s/%d", routes[i], i);
	fl_ctx *guard;
	if (!(env = fl_ctx_with_timeout(fl_ctx_background(), fl__scn_scaled(p, FL_SEC(10)), NULL,
					&guard))) {
		struct fl_hedge_opts o = {.max_attempts = HF_URLS,
					  .delay_ns = fl__scn_scaled(p, HF_DELAY),
					  .name = "hedged.fetch"};
		*err = fl_hedge(guard, &o, hf_attempt, h, st);
		fl_ctx_free(guard);
	}
	fl_err *serr = fl__http_stop(srv, NULL);
	if (!env)
		env = serr;
	else
		fl_err_drop(serr);
	return env;
}

static fl_err *hf_scn(const fl_scenario_params *p, fl_scenario_result *r)
{
	static const char *const slow[HF_URLS] = {"hang", "hang", "doc"};
	static const char *const bad[HF_URLS] = {"fail", "fail", "fail"};
	for (int i = 0; i < p->iterations; i++) {
		hf_run a = {0}, b = {0};
		fl_hedge_stats sa = {0}, sb = {0};
		fl_err *ea = NULL, *eb = NULL;
		fl_err *env = hf_fetch(p, &a, slow, &ea, &sa);
		if (!env)
			env = hf_fetch(p, &b, bad, &eb, &sb);
		if (env) {
			fl_err_drop(ea);
			fl_err_drop(eb);
			return env;
		}
		fl_scenario_note_err(r, p, "two hang, one answers", ea);
		bool won =
			!ea && sa.winner == 3 && sa.fired == 3 && strcmp(a.body[2], "doc 2") == 0;
		fl_scenario_check(r, "first success wins", won, sa.winner, 3, NULL,
				  "%s; attempt %d of %d won with \"%s\"",
				  ea ? r->err_text : "<nil>", sa.winner, sa.fired, a.body[2]);
		bool cancelled = a.outcome[0] == HF_CANCELED && a.outcome[1] == HF_CANCELED;
		fl_scenario_check(r, "losers cancelled", cancelled, cancelled, 1, NULL,
				  "hanging attempts ended %d and %d (3: cancelled)", a.outcome[0],
				  a.outcome[1]);
		fl_scenario_note_err(r, p, "all fail", eb);
		int statuses = 0;
		for (size_t k = 0; k < fl_err_join_len(eb); k++)
			statuses += fl_err_is(fl_err_join_at(eb, k), fl_scenario_err_http_status);
		fl_scenario_check(r, "all failing joins every error",
				  statuses == HF_URLS && sb.winner == 0, statuses, HF_URLS, NULL,
				  "%s", eb ? r->err_text : "<nil>");
		fl_scenario_count(r, "items", !ea);
		fl_scenario_count(r, "attempts", sa.fired + sb.fired);
		fl_scenario_count(r, "failed", eb != NULL);
		fl_err_drop(ea);
		fl_err_drop(eb);
	}
	return NULL;
}

static const char *const hf_checks[] = {"first success wins", "losers cancelled",
					"all failing joins every error", NULL};
const fl_scenario fl__scn_hedged_fetch = {
	.name = "hedged_fetch",
	.description = "task 18: HedgedFetch over a loopback HTTP server; the first success "
		       "wins, the losers are cancelled; all failing joins the errors",
	.checks = hf_checks,
	.default_iterations = 1,
	.run = hf_scn,
};
