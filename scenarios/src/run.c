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
 *
 * In jemalloc builds the heap is compared too: "stats.allocated" minus the
 * bytes parked in thread caches (both after an "epoch" refresh), before
 * and after, within a tolerance (4 MiB by default) for what the runtime
 * keeps on purpose (pooled threads' buffers, per-thread state). Sanitizer and valgrind builds use their own
 * allocator: the check is skipped there.
 *
 * A watchdog (watchdog.c) guards the whole run: past params.hang_ns it
 * dumps the live tasks, names them in FL_SCENARIO_CHECK_HANG and disarms
 * the run's fault plan so that stuck tasks come back.
 */
#include "scn_internal.h"

#include <fl/fault.h>

#include <stdio.h>
#include <string.h>

#ifdef FL_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
/* Weak: the library does not pull jemalloc into a user's program. A program
 * that links it (faultline does) gets the heap check; others skip it. */
#pragma weak mallctl

/* Allocated bytes (process-wide), or -1 when jemalloc will not say. */
static int64_t heap_allocated(void)
{
	if (!mallctl)
		return -1;
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch);
	(void)mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
	if (mallctl("epoch", &epoch, &sz, &epoch, sz) != 0)
		return -1;
	size_t allocated, cached = 0;
	sz = sizeof(allocated);
	if (mallctl("stats.allocated", &allocated, &sz, NULL, 0) != 0)
		return -1;
	/* Not the program's live data: freed blocks parked in the threads'
	 * caches, and jemalloc's own internal allocations, which stats.allocated
	 * includes (the tcache of every thread: a backend that keeps more
	 * pooled worker threads after a busy run holds ~20 KB more per thread
	 * without leaking anything). */
	char name[64];
	size_t internal = 0;
	snprintf(name, sizeof(name), "stats.arenas.%u.tcache_bytes", (unsigned)MALLCTL_ARENAS_ALL);
	sz = sizeof(cached);
	if (mallctl(name, &cached, &sz, NULL, 0) != 0 || cached > allocated)
		cached = 0;
	snprintf(name, sizeof(name), "stats.arenas.%u.internal", (unsigned)MALLCTL_ARENAS_ALL);
	sz = sizeof(internal);
	if (mallctl(name, &internal, &sz, NULL, 0) != 0 || internal > allocated - cached)
		internal = 0;
	return (int64_t)(allocated - cached - internal);
}
#else
static int64_t heap_allocated(void) { return -1; }
#endif

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

/* Polls until the counts match base (and the heap is within tolerance)
 * or the window closes; fills r->after and r->heap_delta. */
static void settle(fl_scenario_result *r, int64_t window_ns, int64_t heap0, int64_t tol)
{
	int64_t start = fl_now(), end = start + window_ns;
	for (int polls = 0;; polls++) {
		r->after = fl_stats_get();
		int64_t heap = heap0 < 0 ? -1 : heap_allocated();
		r->heap_delta = heap < 0 ? 0 : heap - heap0;
		bool heap_ok = heap < 0 || r->heap_delta <= tol;
		if ((leaked_total(&r->baseline, &r->after) == 0 && heap_ok) || fl_now() >= end)
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

static void check_heap(fl_scenario_result *r, int64_t heap0, int64_t tol)
{
	if (heap0 < 0) {
		fl_scenario_skip(r, FL_SCENARIO_CHECK_HEAP,
				 "not a jemalloc build (sanitizer or valgrind allocator)");
		return;
	}
	fl_scenario_check(r, FL_SCENARIO_CHECK_HEAP, r->heap_delta <= tol, (double)r->heap_delta,
			  (double)tol, "B", "jemalloc stats.allocated %+lld bytes after the run",
			  (long long)r->heap_delta);
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
		if (!g->saturated)
			continue;
		snprintf(name, sizeof(name), "group %.32s reaches %d", g->name, g->limit);
		fl_scenario_check(r, name, g->hwm == g->limit, g->hwm, g->limit, NULL,
				  "saturated: fl_group_hwm %d, limit %d", g->hwm, g->limit);
	}
}

/* Arms params->faults; false (with r->run_err set) if it does not parse. */
static bool arm_faults(const fl_scenario_params *p, fl_scenario_result *r, fl_fault_plan **plan)
{
	*plan = NULL;
	if (!p->faults || !p->faults[0])
		return true;
	fl_err *err = fl_fault_arm(p->faults, p->seed, plan);
	if (!err)
		return true;
	char msg[FL_SCENARIO_ERR_MAX - 16];
	fl_err_format(err, msg, sizeof(msg));
	snprintf(r->run_err, sizeof(r->run_err), "--faults: %s", msg);
	fl_err_drop(err);
	return false;
}

/* Arms the environment's plan (FAULTLINE_FAULTS) for the process, once,
 * before the baseline: the plan's own objects are not the scenario's. */
static fl_err *arm_env(const fl_scenario *s, fl_scenario_result *r)
{
	fl_err *err = fl_fault_init_from_env(NULL);
	if (!err)
		return NULL;
	fl_err_format(err, r->run_err, sizeof(r->run_err));
	fl_err_drop(err);
	return fl_err_new("scenario %s: %s", s->name, r->run_err);
}

static void sum_fires(const fl_fault_point_stats *st, void *arg)
{
	*(uint64_t *)arg += st->fires_total;
}

static bool declared(const fl_scenario *s, const char *name)
{
	if (strcmp(name, FL_SCENARIO_CHECK_HANG) == 0)
		return true; /* generic: the runner's own */
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

	if (rp.hang_ns == 0)
		rp.hang_ns = FL_SEC(60) * rp.time_scale;
	int64_t tol = rp.heap_tolerance > 0 ? rp.heap_tolerance : (int64_t)4 << 20;

	/* The scheduler first, as an error rather than the runtime's abort: a
	 * machine out of memory or threads is an environment error that names
	 * what could not be had (the command exits 2), not a crash. */
	fl_err *ierr = fl_sched_init(NULL);
	if (ierr) {
		fl_err_format(ierr, r->run_err, sizeof(r->run_err));
		fl_err_drop(ierr);
		return fl_err_new("scenario %s: cannot start the scheduler: %s", s->name, r->run_err);
	}
	/* Baselines first: the plan's own objects are gone before settling.
	 * The scheduler starts before the heap baseline (its pools are not the
	 * scenario's), and the histograms the run adds to r are not leaks. */
	if (rp.sim_reseed && fl__scn_virtual_time()) {
		fl_err *serr = fl_sim_begin(rp.seed);
		if (serr) {
			fl_err_format(serr, r->run_err, sizeof(r->run_err));
			fl_err_drop(serr);
			return fl_err_new("scenario %s: %s", s->name, r->run_err);
		}
	}
	if ((ierr = arm_env(s, r)))
		return ierr;
	size_t nhists0 = r->nhists;
	int64_t heap0 = heap_allocated();
	r->baseline = fl_stats_get();
	fl_fault_plan *plan;
	if (!arm_faults(&rp, r, &plan))
		return fl_err_new("scenario %s: %s", s->name, r->run_err);
	fl__scn_watchdog wd = {0};
	char what[FL_SCENARIO_NAME_MAX + 16];
	snprintf(what, sizeof(what), "scenario %s", s->name);
	if (rp.hang_ns > 0)
		(void)fl__scn_watchdog_start(&wd, what, rp.hang_ns, &plan, 1);

	int64_t start = fl_now();
	r->faults_plan = plan;
	fl_err *err = s->run(&rp, r);
	r->faults_plan = NULL;
	r->duration_ns = fl_now() - start;
	if (err)
		fl_err_format(err, r->run_err, sizeof(r->run_err));

	if (fl__scn_watchdog_stop(&wd)) {
		r->hung = true;
		fl_scenario_check(r, FL_SCENARIO_CHECK_HANG, false, NAN, (double)rp.hang_ns, "ns",
				  "still running after the limit; live tasks: %s", wd.stuck);
	}
	if (plan) {
		fl_fault_stats_foreach(plan, sum_fires, &r->faults_fired);
		fl_fault_plan_free(plan);
	}
	check_declared(r, err != NULL);
	/* The run's error must not count as a leak: drop it before settling and
	 * give the caller a new one with the same text afterwards. */
	fl_err_drop(err);
	if (heap0 >= 0)
		heap0 += (int64_t)((r->nhists - nhists0) * fl_hdr_memory_size(1, FL_SEC(3600), 3));
	settle(r, FL_SEC(1) * rp.time_scale, heap0, tol);
	check_leaks(r);
	check_heap(r, heap0, tol);
	check_groups(r);
	if (r->run_err[0])
		return fl_err_new("scenario %s: %s", s->name, r->run_err);
	return NULL;
}
