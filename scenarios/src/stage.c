/*
 * stage.c - what every stage of a scenario uses, whichever file defines
 * it (the catalogue's exercises, the job engine): starting a stage in a
 * group, the error a stage returns when a channel call stopped it, the
 * typed stage error, a channel of pipeline items, and status names.
 *
 * These sit below the catalogue and the engine, so neither calls back up
 * into the table (catalogue/catalogue.c) that lists the scenarios.
 */
#include "scn_internal.h"

#include <stdio.h>
#include <string.h>

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

bool fl__scn_go(fl_group *g, fl_ctx *gctx, const char *name, fl_task_fn fn, void *arg, fl_err **env)
{
	fl_err *err = fl_group_go_named(g, name, fn, arg);
	if (!err)
		return true;
	if (fl_ctx_done(gctx) &&
	    (fl_err_is(err, FL_ERR_CANCELED) || fl_err_is(err, FL_ERR_DEADLINE))) {
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
