/*
 * scn_internal.h - what the scenario library's files share: a pipeline
 * item, the helpers every stage uses (stage.c) and the watchdog
 * (watchdog.c). The catalogue's own entries are in catalogue/cat_internal.h.
 */
#ifndef FL_SCN_INTERNAL_H
#define FL_SCN_INTERNAL_H

#include <fl/chan.h>
#include <fl/ctx.h>
#include <fl/group.h>
#include <fl/hdr.h>
#include <fl/scenario.h>

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* A catalogue bug (overflowing a table, an undeclared check): aborts. */
void fl__scn_abort(const char *what, const char *name) __attribute__((noreturn));

/* The element every exercise pipeline carries: a value and its birth time,
 * so the last stage can record end-to-end latency. */
typedef struct fl__scn_item {
	long v;
	int64_t born_ns;
} fl__scn_item;

/* A real-time budget scaled for slow checkers. */
static inline int64_t fl__scn_scaled(const fl_scenario_params *p, int64_t ns)
{
	return ns * p->time_scale;
}

/*
 * Starts fn in g as task name. Returns true if it started. If the group
 * refused because its context is already cancelled (nothing starts after
 * cancellation: the pipeline's own failure got there first) returns false
 * and leaves *env alone. Any other failure (no memory, no thread) cancels
 * g and keeps the first such error in *env: the scenario could not be run.
 */
bool fl__scn_go(fl_group *g, fl_ctx *gctx, const char *name, fl_task_fn fn, void *arg,
		fl_err **env);

/*
 * The error a stage returns when a channel call stopped it with status st:
 * the context's cause if it is cancelled (as Go's ctx.Err()), else the
 * status lifted (FL_ERR_CLOSED...), wrapped with "who".
 */
FL_MUST_CHECK fl_err *fl__scn_stopped(fl_ctx *ctx, int st, const char *who);

/* "canceled", "closed", "ok"... for messages. */
const char *fl__scn_status_name(int st);

/*
 * Crash backtraces (backtrace.c). In the child, before the run: sends the
 * loaded objects over fd and installs handlers that send each frame's
 * address on SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT. In the parent:
 * reads fd to its end (and closes it) and writes the frames between the
 * crash and the runner into out as "function (file:line) < ..." (the
 * whole trace goes to stderr); "" when the child did not crash.
 */
void fl__scn_bt_install(int fd);
void fl__scn_bt_read(int fd, char *out, size_t cap);

/* The faults injected while a scenario runs (fault_log.c): watch installs
 * the process-wide fault observer, unwatch removes it and moves the
 * events into r (returning the bytes they hold, which the heap check
 * forgives). fault_add appends one event to r (*cap: its capacity, 0 for
 * an empty r); false when out of memory. */
typedef struct fl__scn_fault_log {
	pthread_mutex_t mu;
	int64_t start_ns;
	fl_scenario_fault *ev;
	size_t n, cap;
	uint64_t unlogged;
} fl__scn_fault_log;
void fl__scn_faults_watch(fl__scn_fault_log *log, int64_t start_ns);
/* The bytes the fault log being watched holds now (0: none), which the
 * heap-growth samples leave out. Thread safety: any thread. */
size_t fl__scn_faults_bytes(void);
size_t fl__scn_faults_unwatch(fl__scn_fault_log *log, fl_scenario_result *r);
bool fl__scn_fault_add(fl_scenario_result *r, size_t *cap, int64_t at_ns, const char *point,
		       const char *action);

/*
 * The series of fl_scenario_record (series.c). start and stop bracket the
 * body (fl_scenario_run): values recorded between them are placed in time
 * from t0_ns. held: the bytes r's series hold (which the heap check
 * forgives); bytes: those every series in the process holds now (which the
 * growth samples leave out). interval: the histogram of interval i of s,
 * allocated when new (NULL, the series dropped and counted in r, when out
 * of memory; NULL also for an i past the last). free: frees s's intervals.
 */
void fl__scn_series_start(fl_scenario_result *r, int64_t t0_ns);
void fl__scn_series_stop(fl_scenario_result *r);
size_t fl__scn_series_held(const fl_scenario_result *r);
size_t fl__scn_series_bytes(void);
fl_hdr *fl__scn_series_interval(fl_scenario_result *r, fl_scenario_series *s, size_t i);
void fl__scn_series_free(fl_scenario_series *s);

/* True on the sim backend, where time is virtual: what depends only on
 * durations (which batch a time limit closes) is exact there, and only
 * bounded on a real clock, where the machine's load moves it. */
bool fl__scn_virtual_time(void);
/* The monotonic wall clock in ns (check times; never starts the scheduler). */
int64_t fl__scn_wall_ns(void);

/* A new channel of fl__scn_item with capacity cap, named name. */
FL_MUST_CHECK fl_err *fl__scn_chan(const char *name, size_t cap, fl_chan **out);

/*
 * The watchdog (watchdog.c): a plain pthread that, if not stopped within
 * after_ns of real time, dumps the live tasks to stderr, keeps their names
 * in stuck ("enrich, sink") and disarms plans so that tasks held by faults
 * return. If the run still has not finished 5 s later it exits the process
 * with status 3. The whole-run watchdog (fl__scn_watchdog_start) counts
 * those periods from the runtime's last progress (fl_stats.progress), not
 * from its start; the cancel watchdog (start_idle, then kick) from the kick.
 * Fields other than fired/stuck are private.
 */
typedef struct fl_fault_plan fl_fault_plan;
typedef struct fl__scn_watchdog {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool running, stopping;
	bool sim;              /* the sim backend: a task on virtual time */
	struct fl_group *simg; /* sim: the watchdog task's group, once kicked */
	bool armed;            /* mu; the countdown runs */
	bool on_progress;      /* mu; periods restart while progress moves */
	bool disarm_all;       /* mu; firing disarms every plan in the process */
	bool fired;            /* mu; read after stop */
	char stuck[192];       /* mu; the live tasks' names at the dump */
	char what[96];
	int64_t after_ns;
	fl_fault_plan *plans[4];
	int nplans;
} fl__scn_watchdog;

/* Starts the whole-run watchdog: it fires after after_ns of real time
 * without progress (under sim: after_ns of virtual time from the start).
 * Returns false if no thread could be created. */
bool fl__scn_watchdog_start(fl__scn_watchdog *wd, const char *what, int64_t after_ns,
			    fl_fault_plan *const *plans, int nplans);
/* A watchdog whose countdown begins only at fl__scn_watchdog_kick and fires
 * after_ns after it, progress or not (the cancel watchdog). */
bool fl__scn_watchdog_start_idle(fl__scn_watchdog *wd, const char *what, int64_t after_ns,
				 fl_fault_plan *const *plans, int nplans);
/* Starts the countdown (once; later kicks do nothing). Any thread. */
void fl__scn_watchdog_kick(fl__scn_watchdog *wd);
/* Stops and joins it. Returns whether it fired. Safe if start failed. */
bool fl__scn_watchdog_stop(fl__scn_watchdog *wd);
/*
 * Under the sim backend the watchdog is a task ("faultline.watchdog")
 * sleeping on virtual time from the kick, so a stage that ignores a cancel
 * is caught after exactly after_ns of simulated time, the same on every
 * replay. A hang with no timer pending at all (nothing left to sleep on
 * before the kick) is the sim's deadlock instead: a wait of the scenario
 * thread returns FL_ERR_DEADLOCK, and the caller calls this on the
 * simulation thread. It does what the watchdog does when it fires (dump,
 * name the live tasks, disarm the plans) and returns true if the wait is
 * worth repeating (the first time only).
 */
bool fl__scn_watchdog_deadlock(fl__scn_watchdog *wd);
/* In an isolated child, before the run: a watchdog that gives up (exit 3)
 * first writes "S<US>names of the stuck tasks" to fd, the result pipe. */
void fl__scn_watchdog_giveup_fd(int fd);

/*
 * Heap growth over a run's pipeline ends (growth.c): fl_scenario_run
 * begins a record on its thread, fl_scenario_note_err samples the heap
 * into it, the runner fits a line through the samples after a warm-up.
 */
#define FL__SCN_GROWTH_CAP 256 /* samples kept (decimated beyond) */
#define FL__SCN_GROWTH_MIN 8   /* samples fitted, at least, after warm-up */
typedef struct fl__scn_growth {
	int64_t x[FL__SCN_GROWTH_CAP]; /* the sample's ordinal (pipeline end) */
	int64_t y[FL__SCN_GROWTH_CAP]; /* heap bytes then */
	int n;                         /* samples kept */
	int64_t stride;                /* every stride-th end is sampled */
	int64_t seen;                  /* pipeline ends so far */
	const char *source;            /* fl_leak_heap_bytes's source */
} fl__scn_growth;
typedef struct fl__scn_fit {
	double slope; /* bytes per pipeline end */
	double r2;    /* how well the line fits, 0..1 */
	int samples;  /* pipeline ends seen */
	int warmup;   /* kept samples skipped */
	int used;     /* kept samples fitted */
} fl__scn_fit;
/* Makes g current on this thread (if the heap can be measured). */
void fl__scn_growth_begin(fl__scn_growth *g);
void fl__scn_growth_end(fl__scn_growth *g);
/* One sample into the thread's current record, if any. */
void fl__scn_growth_sample(void);
/* Fits g; false (f->samples still set) when too few samples to judge. */
bool fl__scn_growth_fit(const fl__scn_growth *g, fl__scn_fit *f);

#endif
