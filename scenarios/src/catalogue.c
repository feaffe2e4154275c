/*
 * catalogue.c - the scenario table, the exercises' errors, and the helpers
 * every exercise uses to start stages and explain how they stopped.
 */
#include "cat_internal.h"

#include <stdio.h>
#include <string.h>

FL_ERR_SENTINEL(fl_scenario_err_negative, "negative value");
FL_ERR_SENTINEL(fl_scenario_err_rejected, "item rejected");
FL_ERR_SENTINEL(fl_scenario_err_invalid, "invalid item");
FL_ERR_SENTINEL(fl_scenario_err_unavailable, "backend unavailable");
FL_ERR_SENTINEL(fl_scenario_err_quota, "quota exceeded");

static int stage_err_format(const void *payload, char *buf, size_t cap)
{
	const fl_scenario_stage_err *se = payload;
	return snprintf(buf, cap, "stage %s, item %ld", se->stage, se->index);
}

const fl_err_type fl_scenario_stage_err_type = {
	.name = "fl_scenario_stage_err",
	.size = sizeof(fl_scenario_stage_err),
	.format = stage_err_format,
};

/* The default suite, in the order of the reference exercises. */
static const fl_scenario *const catalogue[] = {
	&fl__scn_sum,
	&fl__scn_early_return,
	&fl__scn_drain_on_error,
	&fl__scn_fanout_nested,
	&fl__scn_join_errors,
	&fl__scn_stage_as,
	&fl__scn_deadline,
	&fl__scn_panic_capture,
	&fl__scn_set_limit,
	&fl__scn_cancel_latency,
	/* The reference-task catalogue (cat_*.c). */
	&fl__scn_fetch_all,
	&fl__scn_retry_item,
	&fl__scn_skip_sentinel,
	&fl__scn_saga,
	&fl__scn_saga_restart,
	&fl__scn_bulkhead_tenants,
	&fl__scn_circuit_breaker,
	&fl__scn_dead_letter,
	&fl__scn_cursor_restart,
	&fl__scn_hedged_fetch,
	&fl__scn_stream_aggregate,
	&fl__scn_integration,
	&fl__scn_tail_at_scale,
	&fl__scn_leak_found,
	&fl__scn_chaos_1pct,
	&fl__scn_translate_999,
	&fl__scn_forgotten_drain,
	&fl__scn_cancelled_too_early,
	&fl__scn_ok_error_body,
};

const fl_scenario *const *fl_scenario_catalogue(size_t *n)
{
	*n = sizeof(catalogue) / sizeof(catalogue[0]);
	return catalogue;
}

const fl_scenario *fl_scenario_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof(catalogue) / sizeof(catalogue[0]); i++)
		if (strcmp(catalogue[i]->name, name) == 0)
			return catalogue[i];
	return NULL;
}

/* ---- helpers ---------------------------------------------------------------- */

bool fl__scn_go(fl_group *g, fl_ctx *gctx, const char *name, fl_task_fn fn, void *arg,
		fl_err **env)
{
	fl_err *err = fl_group_go_named(g, name, fn, arg);
	if (!err)
		return true;
	if (fl_ctx_done(gctx) && (fl_err_is(err, FL_ERR_CANCELED) || fl_err_is(err, FL_ERR_DEADLINE))) {
		fl_err_drop(err); /* refused after the pipeline failed: not ours */
		return false;
	}
	fl_group_cancel(g, err);
	if (!*env)
		*env = fl_err_wrap(err, "start %s", name);
	else
		fl_err_drop(err);
	return false;
}

fl_err *fl__scn_stopped(fl_ctx *ctx, int st, const char *who)
{
	fl_err *cause = fl_ctx_done(ctx) ? fl_ctx_cause(ctx) : fl_err_from_status(st);
	return fl_err_wrap(cause, "%s", who);
}

bool fl__scn_virtual_time(void) { return strcmp(fl_sched_backend(), "sim") == 0; }

const char *fl__scn_status_name(int st)
{
	switch (st) {
	case FL_OK: return "ok";
	case FL_CLOSED: return "closed";
	case FL_CANCELED: return "canceled";
	case FL_TIMEDOUT: return "timed out";
	case FL_AGAIN: return "would block";
	default: return "running";
	}
}

fl_err *fl__scn_chan(const char *name, size_t cap, fl_chan **out)
{
	struct fl_chan_opts o = {.name = name};
	return fl_err_wrap(fl_chan_new(sizeof(fl__scn_item), cap, &o, out), "channel %s", name);
}
