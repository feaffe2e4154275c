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
 * In jemalloc builds the heap is compared too (fl_leak_heap_bytes:
 * "stats.allocated" minus thread-cache and internal bytes), before and
 * after, within a tolerance (4 MiB by default) for what the runtime keeps
 * on purpose (pooled threads' buffers, per-thread state). Sanitizer and
 * valgrind builds use their own allocator: the check is skipped there.
 *
 * The run is a leak scope (fl/leak.h): the objects it creates are its own,
 * so a failed "no leaks" names them and their creators, and the scope's
 * baselines give the OS-thread and descriptor checks. A leak too small
 * for the tolerance is caught by its growth over pipeline runs: growth.c
 * samples the heap at each fl_scenario_note_err and check_growth fits a
 * line through the samples (docs/scenarios.md).
 *
 * Every fault injected during the run, by any plan, is kept in the result
 * (fault_log.c) for the report's counts and timeline, and every value the
 * body records with fl_scenario_record is placed in time from the body's
 * start (series.c); the heap check forgives what both keep in the result.
 *
 * Under the allocation sweep (params.alloc_fail_nth) the hook of fl/alloc.h
 * is armed for the scenario's body only: the baselines before it and the
 * checks after it allocate freely, and the result says whether the nth
 * allocation came (allocs_failed). Whenever the libraries absorbed an
 * allocation failure during the body (fl_alloc_absorbed), injected or
 * real, FL_SCENARIO_CHECK_NOMEM fails and says so.
 *
 * A watchdog (watchdog.c) guards the whole run: past params.hang_ns it
 * dumps the live tasks, names them in FL_SCENARIO_CHECK_HANG and disarms
 * the run's fault plan so that stuck tasks come back.
 */
#include "scn_internal.h"

#include <fl/alloc.h>
#include <fl/fault.h>
#include <fl/leak.h>

#include <stdio.h>
#include <string.h>

#define GROWTH_R2 0.8 /* a fit at least this good is growth, not noise */

/* jemalloc's allocated bytes (process-wide), or -1 when the program does
 * not run on jemalloc (sanitizer and valgrind builds, or a user's program
 * that does not link it): the 4 MiB check is tuned for jemalloc only. The
 * growth check (growth.c) takes any source fl_leak_heap_bytes has. */
static int64_t heap_allocated(void)
{
	const char *src;
	int64_t h = fl_leak_heap_bytes(&src);
	return strncmp(src, "jemalloc", 8) == 0 ? h : -1;
}

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

/* What the scope still finds of kinds what, one line ("; "-separated)
 * without the error's "leak scope" prefix; returns how many items. */
static int scope_text(fl_leak_scope *scope, unsigned what, int64_t settle_ns, char *buf, size_t cap)
{
	buf[0] = '\0';
	fl_leak_opts o = {.settle_ns = settle_ns, .skip = ~what};
	fl_err *e = fl_leak_verify_none(scope, &o);
	if (!e)
		return 0;
	char text[FL_SCENARIO_ERR_MAX];
	fl_err_format(e, text, sizeof(text));
	fl_err_drop(e);
	const char *p = strchr(text, '\n');
	int n = 0;
	size_t len = 0;
	while (p && len + 1 < cap) {
		p += 3; /* "\n  " */
		size_t k = strcspn(p, "\n");
		len += (size_t)snprintf(buf + len, cap - len, "%s%.*s", n ? "; " : "", (int)k, p);
		n++;
		p = strchr(p, '\n');
	}
	return n ? n : 1;
}

static void check_leaks(fl_scenario_result *r, fl_leak_scope *scope)
{
	char msg[FL_SCENARIO_MSG_MAX] = "", named[FL_SCENARIO_MSG_MAX] = "";
	if (scope && leaked_total(&r->baseline, &r->after) != 0)
		(void)scope_text(scope, FL_LEAK_OBJECTS, -1, named, sizeof(named));
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
		fl_scenario_check(
			r, FL_SCENARIO_CHECK_LEAKS, true, 0, 0, NULL,
			"tasks, chans, ctxs, errs, timers, groups at baseline (settled in %s)",
			settled);
	else
		fl_scenario_check(r, FL_SCENARIO_CHECK_LEAKS, false, (double)total, 0, NULL,
				  "still live after %s: %s%s%s", settled, msg, named[0] ? ": " : "",
				  named);
}

static void check_heap(fl_scenario_result *r, int64_t heap0, int64_t tol)
{
	if (heap0 < 0) {
		fl_scenario_skip(
			r, FL_SCENARIO_CHECK_HEAP,
			"the program does not allocate with jemalloc (a sanitizer or valgrind "
			"build, or a program that does not link it): no exact heap total");
		return;
	}
	fl_scenario_check(r, FL_SCENARIO_CHECK_HEAP, r->heap_delta <= tol, (double)r->heap_delta,
			  (double)tol, "B", "jemalloc stats.allocated %+lld bytes after the run",
			  (long long)r->heap_delta);
}

/* The process-wide checks: OS threads and descriptors the run left,
 * after up to settle_ns more (the objects have settled by now). */
static void check_process(fl_scenario_result *r, fl_leak_scope *scope, int64_t settle_ns)
{
	static const struct {
		const char *name;
		unsigned what;
		const char *ok;
	} k[] = {
		{FL_SCENARIO_CHECK_THREADS, FL_LEAK_THREADS,
		 "no OS thread beyond the baseline and the runtime's pools"},
		{FL_SCENARIO_CHECK_FDS, FL_LEAK_FDS, "every descriptor opened was closed"},
	};
	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
		if (!scope) {
			fl_scenario_skip(r, k[i].name, "no baseline: cannot read /proc/self");
			continue;
		}
		char msg[FL_SCENARIO_MSG_MAX - 16];
		int n = scope_text(scope, k[i].what, settle_ns, msg, sizeof(msg));
		if (n == 0)
			fl_scenario_check(r, k[i].name, true, 0, 0, NULL, "%s", k[i].ok);
		else
			fl_scenario_check(r, k[i].name, false, n, 0, NULL, "left: %s", msg);
	}
}

static void check_growth(fl_scenario_result *r, const fl__scn_growth *g)
{
	char why[FL_SCENARIO_MSG_MAX];
	fl__scn_fit f;
	if (strcmp(g->source, "none") == 0) {
		fl_scenario_skip(r, FL_SCENARIO_CHECK_HEAP_GROWTH,
				 "no heap statistics under valgrind's allocator");
		return;
	}
	if (!fl__scn_growth_fit(g, &f)) {
		snprintf(why, sizeof(why),
			 "%d pipeline runs noted: too few to fit a line (needs %d after warm-up)",
			 f.samples, FL__SCN_GROWTH_MIN);
		fl_scenario_skip(r, FL_SCENARIO_CHECK_HEAP_GROWTH, why);
		return;
	}
	bool grows = f.slope > FL_SCENARIO_HEAP_GROWTH_TOL && f.r2 >= GROWTH_R2;
	fl_scenario_check(r, FL_SCENARIO_CHECK_HEAP_GROWTH, !grows, f.slope,
			  FL_SCENARIO_HEAP_GROWTH_TOL, "B",
			  "%s %+.0f B per pipeline run (R^2 %.2f over %d samples of %d runs, "
			  "after %d warm-up; %s)",
			  grows ? "heap grows with iterations:" : "heap slope", f.slope, f.r2,
			  f.used, f.samples, f.warmup, g->source);
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
	if (strcmp(name, FL_SCENARIO_CHECK_HANG) == 0 || strcmp(name, FL_SCENARIO_CHECK_NOMEM) == 0)
		return true; /* generic: the runner's own */
	for (const char *const *c = s->checks; c && *c; c++)
		if (strcmp(*c, name) == 0)
			return true;
	return false;
}

/* Every check recorded by run must be declared; every declared one run.
 * A scenario that declares none (checks NULL, as FL_SCENARIO gives) may
 * record any. */
static void check_declared(fl_scenario_result *r, bool run_failed)
{
	const fl_scenario *s = r->scenario;
	for (size_t i = 0; s->checks && i < r->nchecks; i++)
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

/* The scheduler (as an error rather than the runtime's abort: a machine
 * out of memory or threads is an environment error that names what could
 * not be had, and the command exits 2, not a crash), and under sim a
 * reseed when asked. */
static fl_err *start_sched(const fl_scenario *s, const fl_scenario_params *rp,
			   fl_scenario_result *r)
{
	fl_err *ierr = fl_sched_init(NULL);
	if (ierr) {
		fl_err_format(ierr, r->run_err, sizeof(r->run_err));
		fl_err_drop(ierr);
		return fl_err_new("scenario %s: cannot start the scheduler: %s", s->name,
				  r->run_err);
	}
	if (rp->sim_reseed && fl__scn_virtual_time()) {
		fl_err *serr = fl_sim_begin(rp->seed);
		if (serr) {
			fl_err_format(serr, r->run_err, sizeof(r->run_err));
			fl_err_drop(serr);
			return fl_err_new("scenario %s: %s", s->name, r->run_err);
		}
	}
	return NULL;
}

/* The scenario's body, with the allocation hook armed around it when
 * params ask (alloc_fail_nth: the sweep of `faultline sweep --alloc`),
 * after every baseline, and off again before the settle and the checks. */
static fl_err *run_body(const fl_scenario *s, const fl_scenario_params *rp, fl_scenario_result *r)
{
	uint64_t absorbed = fl_alloc_absorbed();
	if (rp->alloc_fail_nth)
		fl_alloc_fail_after(rp->alloc_fail_nth);
	fl_err *err = s->run(rp, r);
	if (rp->alloc_fail_nth) {
		r->allocs = fl_alloc_count();
		r->allocs_failed = fl_alloc_failed();
		fl_alloc_fail_after(0);
	}
	absorbed = fl_alloc_absorbed() - absorbed;
	if (absorbed)
		fl_scenario_check(r, FL_SCENARIO_CHECK_NOMEM, false, (double)absorbed, 0, NULL,
				  "out of memory: %llu allocation failure(s) absorbed by the "
				  "libraries (an error without its context, a fault point that "
				  "did not fire): other verdicts of this run may be off",
				  (unsigned long long)absorbed);
	return err;
}

/* After the run: settle, then every generic check. */
static void generic_checks(fl_scenario_result *r, const fl_scenario_params *rp,
			   fl_leak_scope *scope, const fl__scn_growth *growth, int64_t heap0,
			   int64_t tol)
{
	settle(r, FL_SEC(1) * rp->time_scale, heap0, tol);
	check_leaks(r, scope);
	check_heap(r, heap0, tol);
	check_process(r, scope, FL_MS(200) * rp->time_scale);
	check_growth(r, growth);
	check_groups(r);
}

fl_err *fl_scenario_run(const fl_scenario *s, const fl_scenario_params *p, fl_scenario_result *r)
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
	fl_err *err = start_sched(s, &rp, r);
	if (err)
		return err;
	if ((err = arm_env(s, r)))
		return err;
	/* Baselines after the scheduler (its pools are not the scenario's);
	 * the plan's own objects are gone before settling, and the histograms
	 * the run adds to r are not leaks. The leak scope makes the run's
	 * objects its own and holds the thread and descriptor baselines. */
	fl_leak_scope *scope = NULL;
	fl_err_drop(fl_leak_baseline(s->name, &scope)); /* none: those checks skip */
	fl__scn_growth growth;
	fl__scn_growth_begin(&growth);
	size_t nhists0 = r->nhists;
	int64_t heap0 = heap_allocated();
	r->baseline = fl_stats_get();
	fl_fault_plan *plan;
	if (!arm_faults(&rp, r, &plan)) {
		fl__scn_growth_end(&growth);
		fl_leak_scope_free(scope);
		return fl_err_new("scenario %s: %s", s->name, r->run_err);
	}
	fl__scn_watchdog wd = {0};
	char what[FL_SCENARIO_NAME_MAX + 16];
	snprintf(what, sizeof(what), "scenario %s", s->name);
	if (rp.hang_ns > 0)
		(void)fl__scn_watchdog_start(&wd, what, rp.hang_ns, &plan, 1);

	int64_t start = fl_now();
	r->check_mark_ns = fl__scn_wall_ns();
	fl__scn_fault_log flog;
	fl__scn_faults_watch(&flog, start);
	r->faults_plan = plan;
	fl__scn_series_start(r, start);
	err = run_body(s, &rp, r);
	fl__scn_series_stop(r);
	r->faults_plan = NULL;
	size_t flog_bytes = fl__scn_faults_unwatch(&flog, r);
	r->duration_ns = fl_now() - start;
	fl__scn_growth_end(&growth);
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
	if (heap0 >= 0) /* what the result keeps: its histograms, series and fault events */
		heap0 += (int64_t)((r->nhists - nhists0) * fl_hdr_memory_size(1, FL_SEC(3600), 3) +
				   flog_bytes + fl__scn_series_held(r));
	generic_checks(r, &rp, scope, &growth, heap0, tol);
	fl_leak_scope_free(scope);
	if (r->run_err[0])
		return fl_err_new("scenario %s: %s", s->name, r->run_err);
	return NULL;
}
