/*
 * run.c - the scenario runner: baseline, run, settle, generic checks.
 *
 * The leak check follows goleak: objects a scenario created must be gone
 * when it returns, but a task that has signalled its group may still be
 * unwinding for a moment, so the runner polls the live counts (fl_yield,
 * then short sleeps) for up to one second, scaled by time_scale, before it
 * compares them with the baseline taken before the run. Backend threads
 * are not compared: the threads backend pools idle threads on purpose.
 *
 * The runner holds no error across the comparison (the run's own error is
 * turned into text and dropped first), so the error count is exact.
 */
#include "scn_internal.h"

#include <stdio.h>
#include <string.h>

/* The counts the leak check compares, in the order they are printed. */
static long stat_field(const fl_stats *st, int i)
{
	switch (i) {
	case 0: return st->tasks;
	case 1: return st->chans;
	case 2: return st->ctxs;
	case 3: return st->errs;
	case 4: return st->timers;
	default: return st->groups;
	}
}
static const char *const stat_names[] = {"tasks", "chans", "ctxs", "errs", "timers", "groups"};
#define NSTATS 6

static long leaked_total(const fl_stats *base, const fl_stats *now)
{
	long total = 0;
	for (int i = 0; i < NSTATS; i++) {
		long d = stat_field(now, i) - stat_field(base, i);
		total += d < 0 ? -d : d;
	}
	return total;
}

/* Polls until the counts match base or the window closes; fills r->after. */
static void settle(fl_scenario_result *r, int64_t window_ns)
{
	int64_t start = fl_now(), end = start + window_ns;
	for (int polls = 0;; polls++) {
		r->after = fl_stats_get();
		if (leaked_total(&r->baseline, &r->after) == 0 || fl_now() >= end)
			break;
		if (polls < 100)
			fl_yield();
		else
			(void)fl_sleep_until(NULL, fl_deadline_in(FL_US(500)));
	}
	r->settle_ns = fl_now() - start;
}

static void check_leaks(fl_scenario_result *r)
{
	char msg[FL_SCENARIO_MSG_MAX] = "";
	size_t len = 0;
	for (int i = 0; i < NSTATS; i++) {
		long d = stat_field(&r->after, i) - stat_field(&r->baseline, i);
		if (d != 0 && len < sizeof(msg))
			len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%s %+ld",
						len ? ", " : "", stat_names[i], d);
	}
	long total = leaked_total(&r->baseline, &r->after);
	char settled[32];
	fl_report_format_ns((double)r->settle_ns, true, settled, sizeof(settled));
	if (total == 0)
		fl_scenario_check(r, FL_SCENARIO_CHECK_LEAKS, true, 0, 0, NULL,
				  "tasks, chans, ctxs, errs, timers, groups at baseline (settled in %s)",
				  settled);
	else
		fl_scenario_check(r, FL_SCENARIO_CHECK_LEAKS, false, (double)total, 0, NULL,
				  "still live after %s: %s", settled, msg);
}

static void check_groups(fl_scenario_result *r)
{
	for (size_t i = 0; i < r->ngroups; i++) {
		const fl_scenario_group *g = &r->groups[i];
		if (g->limit <= 0)
			continue;
		char name[FL_SCENARIO_NAME_MAX];
		snprintf(name, sizeof(name), "group %.32s hwm <= %d", g->name, g->limit);
		fl_scenario_check(r, name, g->hwm <= g->limit, g->hwm, g->limit, NULL,
				  "fl_group_hwm %d with limit %d", g->hwm, g->limit);
	}
}

static bool declared(const fl_scenario *s, const char *name)
{
	for (const char *const *c = s->checks; c && *c; c++)
		if (strcmp(*c, name) == 0)
			return true;
	return false;
}

/* Every check recorded by run must be declared; every declared one run. */
static void check_declared(fl_scenario_result *r, bool run_failed)
{
	const fl_scenario *s = r->scenario;
	for (size_t i = 0; i < r->nchecks; i++)
		if (!declared(s, r->checks[i].name))
			fl__scn_abort("undeclared check", r->checks[i].name);
	for (const char *const *c = s->checks; c && *c; c++) {
		if (fl_scenario_find_check(r, *c))
			continue;
		if (run_failed)
			fl_scenario_skip(r, *c, "not evaluated: the run stopped early");
		else
			fl_scenario_check(r, *c, false, NAN, NAN, NULL, "never evaluated");
	}
}

fl_err *fl_scenario_run(const fl_scenario *s, const fl_scenario_params *p,
			fl_scenario_result *r)
{
	if (!s || !r)
		return fl_err_wrap(FL_ERR_INVAL, "fl_scenario_run: NULL argument");
	fl_scenario_params rp = p ? *p : (fl_scenario_params){0};
	if (rp.iterations <= 0)
		rp.iterations = s->default_iterations > 0 ? s->default_iterations : 1;
	if (rp.time_scale < 1)
		rp.time_scale = 1;
	r->scenario = s;
	r->iterations = rp.iterations;

	r->baseline = fl_stats_get();
	int64_t start = fl_now();
	fl_err *err = s->run(&rp, r);
	r->duration_ns = fl_now() - start;
	if (err)
		fl_err_format(err, r->run_err, sizeof(r->run_err));

	check_declared(r, err != NULL);
	/* The run's error must not count as a leak: drop it before settling and
	 * give the caller a new one with the same text afterwards. */
	fl_err_drop(err);
	settle(r, FL_SEC(1) * rp.time_scale);
	check_leaks(r);
	check_groups(r);
	if (r->run_err[0])
		return fl_err_new("scenario %s: %s", s->name, r->run_err);
	return NULL;
}
