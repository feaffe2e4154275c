/*
 * fl/scenario.h - scenarios: named pipeline runs with checks, counters and
 * latency histograms, and the catalogue behind the `faultline` command.
 *
 * A scenario builds a pipeline with the runtime (fl/chan.h, fl/group.h),
 * runs it one or more times and records what happened into an
 * fl_scenario_result: check verdicts, counters and HDR histograms. The
 * runner (fl_scenario_run) wraps every scenario with the generic checks:
 * live objects back to their pre-run counts (tasks, channels, contexts,
 * errors, timers, groups, with a settle window as goleak allows), the
 * process's OS threads and descriptors back to theirs, the heap not
 * growing with pipeline runs (fl/leak.h's machinery) and, for every group
 * the scenario noted, its high-water mark within its limit.
 * fl_scenario_report_new turns results into one fl_report (fl/report.h)
 * for the JSON, JUnit, Markdown and HTML writers.
 *
 * Scenarios are registered (fl_scenario_register, or the FL_SCENARIO
 * macro from a constructor before main) and the command line of fl/main.h
 * lists and runs the registered ones. The built-in catalogue registers
 * itself through the same call, when a program asks for it
 * (fl_scenario_register_builtins; the faultline command does).
 *
 * The catalogue holds the conformance exercises (sum, early return, drain
 * on error, nested fan-out, joined errors, typed stage errors, deadlines,
 * captured panics, limits, cancel latency) and the rest of the reference
 * tasks and stories (docs/catalogue.md maps each to its scenario), written
 * with this project's runtime and patterns. Their errors and payload types
 * are declared at the end of this header so that callers (the conformance
 * tests) can match them with fl_err_is and fl_err_as.
 *
 * Thread safety: a result belongs to the thread that runs the scenario;
 * tasks inside a scenario never touch it, except through
 * fl_scenario_record, which any task may call. Different results may be used by
 * different threads, but the leak check counts process-wide objects, so
 * scenarios should not run concurrently with other runtime users.
 */
#ifndef FL_SCENARIO_H
#define FL_SCENARIO_H

#include <fl/err.h>
#include <fl/report.h>
#include <fl/task.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Capacities of a result; exceeding one is a catalogue bug and aborts. */
#define FL_SCENARIO_NAME_MAX 64 /* bytes of a name, NUL included */
#define FL_SCENARIO_MSG_MAX 256 /* bytes of a check message */
#define FL_SCENARIO_ERR_MAX 512 /* bytes of an error's text */
#define FL_SCENARIO_MAX_CHECKS 32
#define FL_SCENARIO_MAX_COUNTERS 64
#define FL_SCENARIO_MAX_HISTS 16
#define FL_SCENARIO_MAX_GROUPS 8
#define FL_SCENARIO_MAX_FAULTS 4096 /* fault events kept; more only counted */

/* The name of the generic leak check every run gets. */
#define FL_SCENARIO_CHECK_LEAKS "no leaks"
/* The jemalloc allocated-bytes check (jemalloc builds; skipped otherwise). */
#define FL_SCENARIO_CHECK_HEAP "heap returns to baseline"
/* OS threads the run started are gone after it (the runtime's own pools
 * excepted); the message names each one left (fl/leak.h). */
#define FL_SCENARIO_CHECK_THREADS "no leaked threads"
/* Descriptors the run opened are closed after it; the message names each
 * one left with its target ("fd 7 -> socket:[1234]"). */
#define FL_SCENARIO_CHECK_FDS "no leaked fds"
/* The heap does not grow with pipeline runs: a least-squares line through
 * the heap sampled at every fl_scenario_note_err, after a warm-up, rises by
 * at most FL_SCENARIO_HEAP_GROWTH_TOL bytes per run, or does not fit
 * (R^2 < 0.8). Skipped with fewer than 8 runs to fit, or where the heap
 * cannot be measured (valgrind). docs/scenarios.md has the method. */
#define FL_SCENARIO_CHECK_HEAP_GROWTH "heap does not grow with iterations"
#define FL_SCENARIO_HEAP_GROWTH_TOL 8192
/* The watchdog's check: the run did not hang (see params.hang_ns). */
#define FL_SCENARIO_CHECK_HANG "no hang"
/* Isolated runs: the child exited normally (no signal). */
#define FL_SCENARIO_CHECK_CRASH "no crash"
/* Recorded (failed) only when, during the run, faultline's libraries
 * absorbed an allocation failure instead of returning an error
 * (fl_alloc_absorbed, fl/alloc.h): an error lost its context, a fault point
 * did not fire. The run's other verdicts may then be off: this says why. */
#define FL_SCENARIO_CHECK_NOMEM "no out of memory"

typedef struct fl_scenario fl_scenario;
typedef struct fl_scenario_result fl_scenario_result;

/*
 * How to run a scenario; the all-zero value means defaults.
 *   iterations   pipeline runs; 0: the scenario's default_iterations.
 *   time_scale   multiplier (>= 1; 0 means 1) for every real-time budget a
 *                scenario uses (work item lengths, deadlines, the settle
 *                window), for slow checkers such as valgrind.
 *   skip_timing  report timing goals (such as "p99 < 100 ms") as skipped
 *                instead of evaluating them on a real clock, so a verdict
 *                never depends on how busy the machine is. On the sim
 *                backend time is virtual and goals are always judged (see
 *                fl_scenario_judge_timing).
 *   seed         recorded in the report; scenarios that draw random
 *                choices derive them from it.
 *   observe      optional: called on the scenario's thread with each
 *                pipeline's final error (NULL for success) before the
 *                scenario drops it; what names the pipeline run ("sum",
 *                "workers=1"). The error is borrowed for the call only.
 */
typedef struct fl_scenario_params {
	int iterations;
	int64_t time_scale;
	bool skip_timing;
	uint64_t seed;
	void (*observe)(const char *what, const fl_err *err, void *arg);
	void *observe_arg;
	/* Added for the faultline command (zero: off / defaults): */
	const char *faults;      /* fault plan armed process-wide around run,
				    with seed as its seed; NULL: none */
	int64_t hang_ns;         /* watchdog: a run that makes no progress (no
				    task finishes or wakes, fl_stats.progress) for
				    this long dumps the live tasks, names them in
				    FL_SCENARIO_CHECK_HANG and disarms the plan; a
				    slow run that progresses is never hung, nor
				    one whose tasks sleep (fl_sleep_until: it looks
				    again a period after the sleep ends). Under sim:
				    this long of virtual time with no progress
				    in sight, by the same rule.
				    0: 60 s x time_scale; < 0: no watchdog */
	int64_t heap_tolerance;  /* bytes the heap check forgives; 0: 4 MiB */
	bool sim_reseed;         /* on the sim backend, fl_sim_begin(seed)
				    before the run, so one run replays alone
				    (stress and replay set it) */
	uint64_t alloc_fail_nth; /* the allocation sweep: the nth allocation of
				    the scenario's body fails (fl/alloc.h's
				    hook, armed after the baselines, off again
				    before the checks); 0: off */
} fl_scenario_params;

/*
 * A scenario (registered, built in, or a job file's section). run performs
 * params->iterations pipeline runs (already resolved by fl_scenario_run)
 * and records into the result. It returns an error only when the scenario
 * could not be carried out (out of memory, no thread): a pipeline's own,
 * expected error is data, recorded in checks. When checks lists names,
 * every check it reports must be among them (another one aborts as a
 * scenario bug) and each must be evaluated; checks NULL declares nothing
 * and lets run record any check.
 */
struct fl_scenario {
	const char *name;          /* [a-z0-9_]+, unique */
	const char *description;   /* one line */
	const char *const *checks; /* NULL-terminated check names; NULL */
	int default_iterations;    /* >= 1; 0 means 1 */
	fl_err *(*run)(const fl_scenario_params *p, fl_scenario_result *r);
	/* Optional, may stay zero: */
	const void *data;                 /* for run, via r->scenario (job files) */
	const char *const *stress_faults; /* NULL-terminated plans `faultline
					     stress` draws from; NULL: the
					     generic random-fault plan */
	/* Defaults the command line (fl/main.h) applies when its options do
	 * not set them; zero: the runner's defaults. */
	int64_t hang_ns;        /* params.hang_ns */
	int64_t heap_tolerance; /* params.heap_tolerance */
	const char *labels;     /* ctest labels, space-separated; NULL */
	bool explore_target;    /* a planted bug for `explore` (the bug zoo):
				   listed, run by name, stressed and explored,
				   but left out of `catalogue`, of globs and of
				   `run` without targets */
};

/* One check verdict, merged over iterations (see fl_scenario_check). */
typedef struct fl_scenario_verdict {
	char name[FL_SCENARIO_NAME_MAX];
	enum fl_report_verdict verdict;
	char message[FL_SCENARIO_MSG_MAX]; /* the first failure's, else the last */
	double measured;                   /* in unit; NaN: none */
	double threshold;                  /* in unit; NaN: none */
	char unit[8];                      /* "ns" prints as a time; "" */
	int evals;                         /* times evaluated */
	int fails;                         /* times it did not hold */
	/* Wall time spent on it, ns: for each evaluation, the time since the
	 * run's previous check record (or the body's start), summed. The
	 * JUnit testcase time; the checks' times add up to the run's. */
	int64_t time_ns;
} fl_scenario_verdict;

/* A named count; summed, set or maxed over iterations by its recorder. */
typedef struct fl_scenario_counter {
	char name[FL_SCENARIO_NAME_MAX];
	int64_t value;
} fl_scenario_counter;

/*
 * A histogram's series over the run: what fl_scenario_record put into h
 * during each interval of the run's time (fl_now() from the body's start:
 * virtual on the sim backend). Interval i covers [i * width_ns,
 * (i + 1) * width_ns). The width starts at FL_SCENARIO_SERIES_WIDTH and,
 * when a value falls past the last of FL_SCENARIO_SERIES_MAX intervals,
 * neighbours merge pairwise and the width doubles (as often as needed), so
 * a run of any length past 50 first widths keeps 50 to 100 intervals and
 * every count recorded. Interval histograms have the range of the
 * scenario's (1 ns .. 1 h) with FL_SCENARIO_SERIES_SIGFIGS significant
 * digits (a tenth of the memory of three: the result keeps up to a
 * hundred per series).
 */
#define FL_SCENARIO_SERIES_MAX 100
#define FL_SCENARIO_SERIES_WIDTH FL_MS(10)
#define FL_SCENARIO_SERIES_SIGFIGS 2
typedef struct fl_scenario_series {
	int64_t width_ns; /* 0: no series (nothing recorded by fl_scenario_record) */
	size_t nivs;      /* intervals 0 .. nivs - 1: up to the last one recorded into */
	fl_hdr *ivs[FL_SCENARIO_SERIES_MAX]; /* owned; NULL: nothing recorded in it */
	bool dropped; /* out of memory: intervals freed, no more kept (the histogram is whole) */
} fl_scenario_series;

/* A latency histogram in ns (1 ns .. 1 h, 3 significant digits). */
typedef struct fl_scenario_hist_entry {
	char name[FL_SCENARIO_NAME_MAX];
	fl_hdr *hdr;               /* owned */
	fl_scenario_series series; /* fl_scenario_record's intervals; owned */
} fl_scenario_hist_entry;

/* A group the scenario ran, for the generic limit check. */
typedef struct fl_scenario_group {
	char name[FL_SCENARIO_NAME_MAX];
	int limit;      /* the limit it ran with; 0: none */
	int hwm;        /* highest fl_group_hwm seen over the iterations */
	bool saturated; /* it had more work than its limit: hwm must reach it */
} fl_scenario_group;

/* One injected fault seen during a run, from any plan. */
typedef struct fl_scenario_fault {
	int64_t at_ns;                    /* from the run's start */
	char point[FL_SCENARIO_NAME_MAX]; /* the fault point */
	char action[32];                  /* "error", "sleep 1.20ms", ... */
	uint64_t eval;                    /* the 1-based evaluation of the point that fired; 0 when
			  not known (a run isolated in a child passes no index) */
} fl_scenario_fault;

/*
 * The outcome of one scenario run. Caller storage: fl_scenario_result_init,
 * then fl_scenario_run, read the fields, fl_scenario_result_destroy.
 */
struct fl_scenario_result {
	const fl_scenario *scenario;
	int iterations;                     /* pipeline runs asked for */
	int64_t duration_ns;                /* the run, without the settle window */
	fl_stats baseline;                  /* live counts before the run */
	fl_stats after;                     /* live counts after run and settling */
	int64_t settle_ns;                  /* time the counts took to settle */
	char run_err[FL_SCENARIO_ERR_MAX];  /* why run failed; "" if it did not */
	char err_text[FL_SCENARIO_ERR_MAX]; /* last pipeline error, one line */

	fl_scenario_verdict checks[FL_SCENARIO_MAX_CHECKS];
	size_t nchecks;
	fl_scenario_counter counters[FL_SCENARIO_MAX_COUNTERS];
	size_t ncounters;
	fl_scenario_hist_entry hists[FL_SCENARIO_MAX_HISTS];
	size_t nhists;
	fl_scenario_group groups[FL_SCENARIO_MAX_GROUPS];
	size_t ngroups;

	bool hung;             /* the watchdog fired (exit status 3) */
	int signal;            /* isolated run: the child's fatal signal */
	uint64_t faults_fired; /* injections by params->faults' plan */
	/* While run runs: the plan armed from params->faults (NULL: none),
	 * for a scenario that reads its accounting (fl/fault.h); NULL after. */
	const struct fl_fault_plan *faults_plan;
	int64_t heap_delta; /* jemalloc allocated bytes after - before */
	/* Every fault injected while run ran, by any plan (the runner's, a
	 * job file's, the scenario's own), in order; owned, freed by
	 * fl_scenario_result_destroy. Past FL_SCENARIO_MAX_FAULTS they are
	 * counted in faults_unlogged only. */
	fl_scenario_fault *faults;
	size_t nfaults;
	uint64_t faults_unlogged;
	/* With params->alloc_fail_nth: allocations the body made up to the
	 * failed one (all of them when none failed), and 1 if the nth one
	 * came and failed, 0 if the body made fewer than n. */
	uint64_t allocs;
	uint64_t allocs_failed;
	/* The monotonic wall clock (ns) at the last check record, or at the
	 * body's start (set by fl_scenario_run); 0: check times are not kept. */
	int64_t check_mark_ns;
	/* fl_scenario_record's clock, set by fl_scenario_run while the body
	 * runs: series_on, and the fl_now() of the body's start, from which
	 * interval times count. Outside the body values go to the histogram
	 * only. */
	bool series_on;
	int64_t series_t0_ns;
	/* Series dropped for want of memory (fl_scenario_series.dropped):
	 * their histograms are whole, their intervals gone. */
	uint64_t series_dropped;
};

/* ---- the registry ---------------------------------------------------------- */

/*
 * Registers s, to be listed and run by the command line (fl/main.h) and
 * found by fl_scenario_find. Validates: name is [a-z0-9_]+, shorter than
 * FL_SCENARIO_NAME_MAX and not registered yet; run is non-NULL;
 * default_iterations >= 0 (0 means 1); every name in checks is non-empty
 * and shorter than FL_SCENARIO_NAME_MAX, and the list (like
 * stress_faults) ends in NULL; hang_ns and heap_tolerance >= 0.
 * Registering the same s again is a no-op; another scenario with a name
 * already registered is an error. Scenarios keep their registration order.
 * Ownership: borrows s and everything it points to, which must outlive
 * every use of the registry (static storage, as FL_SCENARIO gives).
 * Errors: FL_ERR_INVAL naming the scenario and the field ("scenario
 * 'Bad': name: ..."), FL_ERR_NOMEM. On error nothing is registered.
 * Thread safety: any thread, concurrently, and from constructors that run
 * before main (a mutex, initialised statically). Blocks: no.
 */
FL_MUST_CHECK fl_err *fl_scenario_register(const fl_scenario *s);

/*
 * Registers the built-in catalogue (the conformance exercises and the
 * reference tasks, docs/catalogue.md) through fl_scenario_register, in
 * catalogue order. A program gets no built-in scenario unless it calls
 * this; the faultline command does. Idempotent: a second call registers
 * nothing more. Errors: those of fl_scenario_register (FL_ERR_INVAL when a
 * scenario of the program already took a built-in name). Thread safety:
 * any thread. Blocks: no.
 */
FL_MUST_CHECK fl_err *fl_scenario_register_builtins(void);

/*
 * The registered scenarios in registration order; *n receives their
 * number. Ownership: the array belongs to the registry and stays valid
 * until the next registration (which may move it): read it once
 * registration is done, from main on. Thread safety: any thread, but not
 * concurrently with fl_scenario_register. Blocks: no.
 */
const fl_scenario *const *fl_scenario_catalogue(size_t *n);
/* The registered scenario named name, or NULL (NULL name: NULL). Thread
 * safety: any thread (takes the registry's mutex). Blocks: no. */
const fl_scenario *fl_scenario_find(const char *name);

/*
 * Options of FL_SCENARIO_WITH, named with designated initialisers; the
 * all-zero value means defaults.
 *   iterations     pipeline runs per `run` unless --iterations says; 0: 1.
 *   checks         NULL-terminated names of the checks the body records
 *                  (fl_scenario_check): `list` shows them, one the run
 *                  never evaluates fails ("never evaluated"), and the body
 *                  may record no other. NULL: none declared, any allowed.
 *   stress_faults  NULL-terminated fault plans `stress` draws from (the
 *                  plan language, docs/faults.md). NULL: the generic
 *                  random-fault plan.
 *   hang_ns        the watchdog's bound (fl_scenario_params.hang_ns) for
 *                  `run`; 0: the runner's default (60 s).
 *   heap_tolerance bytes the heap check forgives; 0: its default (4 MiB).
 *   labels         ctest labels for faultline_discover_scenarios,
 *                  space-separated ("slow orders"); NULL: none.
 *   data           handed to the body as result->scenario->data.
 *   explore_target a planted bug (fl_scenario.explore_target): left out
 *                  of the default suite, `catalogue` and globs.
 */
typedef struct fl_scenario_options {
	int iterations;
	const char *const *checks;
	const char *const *stress_faults;
	int64_t hang_ns;
	int64_t heap_tolerance;
	const char *labels;
	const void *data;
	bool explore_target;
} fl_scenario_options;

/*
 * Fills s from name, description, o (NULL: defaults) and run, and
 * registers it with fl_scenario_register. For FL_SCENARIO's constructors,
 * which cannot return an error: a failure is kept (the first eight, in
 * order) and returned by fl_scenario_registry_err, so it is never silent.
 * Ownership: borrows all arguments; s, name, description and o must live
 * as long as the registry (static storage). Thread safety: as
 * fl_scenario_register. Blocks: no.
 */
void fl_scenario_define(fl_scenario *s, const char *name, const char *description,
			const fl_scenario_options *o,
			fl_err *(*run)(const fl_scenario_params *p, fl_scenario_result *r));

/*
 * The registrations fl_scenario_define could not make (a bad name, a
 * duplicate, no memory), joined in order; NULL when there were none. The
 * command line calls it before anything else and exits 2 with it. A
 * program that never calls it has them printed to stderr, once, by its
 * first fl_scenario_catalogue or fl_scenario_find after they happened.
 * Ownership: a new reference for the caller. Thread safety: any thread.
 */
FL_MUST_CHECK fl_err *fl_scenario_registry_err(void);

/*
 * FL_SCENARIO(name, "one-line description") { body }
 * Defines a scenario named name (an identifier, [a-z0-9_]+) and registers
 * it before main runs (a constructor). The body that follows is a function
 *   static fl_err *name(const fl_scenario_params *params,
 *                       fl_scenario_result *result)
 * with fl_scenario.run's contract: it performs params->iterations pipeline
 * runs, records checks, counters and histograms into result, and returns
 * an error only when the scenario could not be carried out. Use it at file
 * scope, once per name in a program. A failed registration is reported by
 * fl_scenario_registry_err (the command line exits 2 naming it).
 *
 * FL_SCENARIO_WITH(name, "description", .iterations = 10,
 *                  .checks = (const char *const[]){"a", "b", NULL}) { body }
 * The same with options: designated initialisers of fl_scenario_options.
 * Needs GCC or Clang (the constructor attribute).
 */
#define FL_SCENARIO(name, description) FL_SCENARIO_WITH(name, description, .iterations = 0)

#define FL_SCENARIO_WITH(name, description, ...)                                           \
	static fl_err *name(const fl_scenario_params *params, fl_scenario_result *result); \
	static fl_scenario fl_scenario_def_##name;                                         \
	static const fl_scenario_options fl_scenario_opts_##name = {__VA_ARGS__};          \
	__attribute__((constructor)) static void fl_scenario_ctor_##name(void)             \
	{                                                                                  \
		fl_scenario_define(&fl_scenario_def_##name, #name, description,            \
				   &fl_scenario_opts_##name, name);                        \
	}                                                                                  \
	static fl_err *name(const fl_scenario_params *params __attribute__((unused)),      \
			    fl_scenario_result *result __attribute__((unused)))

/* ---- running -------------------------------------------------------------- */

/* Prepares r for s (zeroes it). Does not allocate. */
void fl_scenario_result_init(fl_scenario_result *r, const fl_scenario *s);
/* Frees the histograms, series and fault events r owns. Accepts NULL. */
void fl_scenario_result_destroy(fl_scenario_result *r);

/*
 * Runs s into r (initialised for s): takes the live-count baseline, calls
 * s->run with the resolved parameters (p may be NULL), waits up to one
 * second (times time_scale) for the counts to settle, then adds the
 * generic checks: FL_SCENARIO_CHECK_LEAKS, one "group <name> hwm <= <limit>"
 * per noted group with a limit, and a failed check for any declared check
 * the run did not evaluate.
 * Returns NULL, or when s->run failed a new error with its text (also kept
 * in run_err; the original is dropped before the leak check so that it
 * does not count as a leak). The result is complete either way.
 * Errors: FL_ERR_INVAL (NULL s or r), "scenario <name>: <run's error>".
 * Blocks: for the run and the settle window.
 */
FL_MUST_CHECK fl_err *fl_scenario_run(const fl_scenario *s, const fl_scenario_params *p,
				      fl_scenario_result *r);

/*
 * As fl_scenario_run, in a forked child process, so a crash cannot take
 * the caller down: the child runs fl_scenario_run and sends the result
 * back over a pipe. A child killed by a signal gives a failed
 * FL_SCENARIO_CHECK_CRASH check naming the signal, with the child's
 * backtrace in the message (r->signal set). The caller must not have
 * started the runtime's scheduler yet (fork keeps only the calling
 * thread); the command runs everything in children for that reason.
 * Errors: FL_ERR_SYSTEM (pipe, fork), FL_ERR_INVAL, and the text of the
 * child's own run error. Blocks: for the child.
 */
FL_MUST_CHECK fl_err *fl_scenario_run_isolated(const fl_scenario *s, const fl_scenario_params *p,
					       fl_scenario_result *r);

/* True when r has no failed check (skipped ones are fine). */
bool fl_scenario_result_passed(const fl_scenario_result *r);

/* ---- recording (for scenario authors) ------------------------------------ */

/*
 * Records one evaluation of check name: pass or not, with the measured
 * value and the threshold it was held to (NaN when not numeric), in unit
 * (NULL: ""), and a printf message. Evaluations of the same name merge: the
 * check fails if any evaluation failed, keeping the first failure's values
 * and message, else the latest pass's. Returns pass.
 */
bool fl_scenario_check(fl_scenario_result *r, const char *name, bool pass, double measured,
		       double threshold, const char *unit, const char *fmt, ...) FL_PRINTF(7, 8);
/* Records a skipped check (e.g. a timing goal under skip_timing). */
void fl_scenario_skip(fl_scenario_result *r, const char *name, const char *why);

/*
 * Whether the run judges its timing goals (latency SLOs, "finishes before
 * the deadline"): always on the sim backend, where durations are virtual
 * and a verdict is the same on a busy machine as on a quiet one; on a real
 * clock unless p->skip_timing. A goal that is not judged is recorded with
 * fl_scenario_skip and the measured value in its reason. Call it from a
 * scenario's run (it reads the running backend). Thread safety: any thread.
 */
bool fl_scenario_judge_timing(const fl_scenario_params *p);

/* Adds delta to counter name (created at 0). */
void fl_scenario_count(fl_scenario_result *r, const char *name, int64_t delta);
/* Sets counter name to value. */
void fl_scenario_set(fl_scenario_result *r, const char *name, int64_t value);
/* Raises counter name to value if value is larger (created at value). */
void fl_scenario_max(fl_scenario_result *r, const char *name, int64_t value);

/*
 * The histogram named name, created on first use (1 ns .. 1 h, 3 digits).
 * Errors: FL_ERR_NOMEM. *out only on success.
 */
FL_MUST_CHECK fl_err *fl_scenario_hist(fl_scenario_result *r, const char *name, fl_hdr **out);

/*
 * Records value_ns into h, a histogram of r (fl_scenario_hist), and into
 * the interval of h's series (fl_scenario_series) that holds the call's
 * time: fl_now() - r->series_t0_ns. The time is the call's, so call it
 * when the measured operation completes. Outside the scenario's body
 * (r->series_on false) it records into h only. A value out of h's range
 * (below 0, above 1 h) is counted out of range in both, as fl_hdr_record.
 * Returns what fl_hdr_record(h, value_ns) returns: false when out of range.
 * Errors: none. When an interval's histogram cannot be allocated the
 * series is dropped (its intervals freed, series.dropped set,
 * r->series_dropped counted, reported as "<scenario>.series_dropped") and
 * h keeps recording: never an abort, the run goes on. An h that is not one
 * of r's histograms is a scenario bug and aborts.
 * Ownership: borrows r and h; the series belongs to r (freed by
 * fl_scenario_result_destroy).
 * Thread safety: any task or thread, concurrently with other
 * fl_scenario_record calls (one process-wide mutex serialises them and
 * covers h), but not with other writers of h or r's hist table: record
 * into h through this call only, and create histograms before the tasks.
 * Blocks: on that mutex only, for an fl_hdr_record or two and, every
 * new interval, one allocation.
 */
bool fl_scenario_record(fl_scenario_result *r, fl_hdr *h, int64_t value_ns);

/* Notes a group's limit and its fl_group_hwm (call after wait). */
void fl_scenario_note_group(fl_scenario_result *r, const char *name, int limit, int hwm);
/*
 * As fl_scenario_note_group for a group that was given more concurrent work
 * than its limit: the runner then also checks "group <name> reaches <limit>"
 * (hwm == limit), so a limit that starves is caught as well as one that
 * breaks.
 */
void fl_scenario_note_group_saturated(fl_scenario_result *r, const char *name, int limit, int hwm);

/*
 * Notes a pipeline's final error: keeps its one-line text in r->err_text
 * ("" for NULL) and passes it to p->observe. Borrows err. Also the end of a
 * pipeline run for FL_SCENARIO_CHECK_HEAP_GROWTH: call it once per
 * pipeline run, after the pipeline's objects are freed, on the thread
 * that runs the scenario.
 */
void fl_scenario_note_err(fl_scenario_result *r, const fl_scenario_params *p, const char *what,
			  const fl_err *err);

/* ---- reading -------------------------------------------------------------- */

/* The check named name, or NULL. */
const fl_scenario_verdict *fl_scenario_find_check(const fl_scenario_result *r, const char *name);
/* The counter named name, or NULL. */
const fl_scenario_counter *fl_scenario_find_counter(const fl_scenario_result *r, const char *name);
/* The value of counter name, or -1 when there is none. */
int64_t fl_scenario_counter_value(const fl_scenario_result *r, const char *name);
/* The histogram named name (borrowed), or NULL. */
const fl_hdr *fl_scenario_find_hist(const fl_scenario_result *r, const char *name);

/* ---- reports ---------------------------------------------------------------- */

/*
 * Appends one result to a report: checks as "<scenario>: <check>",
 * counters as "<scenario>.<counter>", histograms (cloned, owned by the
 * report) as "<scenario>.<hist>" with their series (fl_scenario_record's
 * intervals, an empty one as a count of 0) as series "<scenario>.<hist>"
 * (and "<scenario>.series_dropped" when some were dropped), fault events
 * as point "<scenario>: <point>" (and "<scenario>.faults_unlogged" when
 * some were only counted),
 * and a failed "<scenario>: ran" check when the run stopped early. Errors: those of the fl_report_add_* calls
 * (FL_ERR_INVAL for a name already used), FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_scenario_report_add(fl_report *rep, const fl_scenario_result *r);

/*
 * Builds one report named name from n results (a suite run): opts as
 * fl_report_new (the backend defaults to the running one), the host
 * detected, the duration the sum of the runs', every result appended with
 * fl_scenario_report_add (fault events and series intervals offset by the
 * runs before it, so the timeline is the suite's). Throughput is per scenario, from its own
 * "<scenario>.items": nothing is summed across scenarios. *out only on
 * success.
 * Errors: FL_ERR_INVAL (NULL name or out), those of fl_report_new and
 * fl_scenario_report_add, FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_scenario_report_new(const char *name,
					     const fl_scenario_result *const *results, size_t n,
					     const struct fl_report_opts *opts, fl_report **out);

/* ---- the conformance exercises' errors ------------------------------------ */

FL_ERR_DECLARE(fl_scenario_err_negative);    /* "negative value" (early_return) */
FL_ERR_DECLARE(fl_scenario_err_rejected);    /* "item rejected" (drain_on_error) */
FL_ERR_DECLARE(fl_scenario_err_invalid);     /* "invalid item" (join_errors, stage_as) */
FL_ERR_DECLARE(fl_scenario_err_unavailable); /* "backend unavailable" (join_errors) */
FL_ERR_DECLARE(fl_scenario_err_quota);       /* "quota exceeded" (join_errors) */

/* The payload of a typed stage error (Go's *StageError), stage_as. */
typedef struct fl_scenario_stage_err {
	char stage[32]; /* "parse", "transform" or "store" */
	long index;     /* 1-based index of the item that failed */
} fl_scenario_stage_err;
/* Formats as "stage transform, item 3". */
extern const fl_err_type fl_scenario_stage_err_type;

/* ---- the reference-task catalogue's errors --------------------------------- */

FL_ERR_DECLARE(fl_scenario_err_http_status);  /* "bad HTTP status" (fetch_all) */
FL_ERR_DECLARE(fl_scenario_err_bad_record);   /* "invalid record" (ok_error_body) */
FL_ERR_DECLARE(fl_scenario_err_skip);         /* "skip item" (skip_sentinel: never returned) */
FL_ERR_DECLARE(fl_scenario_err_rate_limited); /* "rate limited" (translate_999) */
FL_ERR_DECLARE(fl_scenario_err_transient); /* "transient failure" (retry_item: error(transient)) */
FL_ERR_DECLARE(fl_scenario_err_chaos);     /* "injected fault" (chaos_1pct: error(chaos)) */

#ifdef __cplusplus
}
#endif
#endif
