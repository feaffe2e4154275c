/*
 * cli_internal.h - what the command line's files share: exit statuses,
 * the program's name, targets (registered names and job files) and option
 * parsing (options.c), the verdict table (table.c), and one entry per verb
 * (cmd_*.c), which cli.c dispatches to.
 */
#ifndef FL_CLI_INTERNAL_H
#define FL_CLI_INTERNAL_H

#include <fl/fault.h>
#include <fl/job.h>
#include <fl/scenario.h>

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

enum { EXIT_PASS = 0, EXIT_CHECK_FAILED = 1, EXIT_USAGE = 2, EXIT_HANG = 3 };

#define FL__CLI_MAX_TARGETS 128

/* The program: argv[0]'s base name, which starts every message, and
 * argv[0] as given, which starts printed commands (replay). "faultline"
 * until fl__cli_set_prog. */
extern const char *fl__cli_prog;
extern const char *fl__cli_argv0;
/* Sets both from argv0 (NULL or "": "faultline"). */
void fl__cli_set_prog(const char *argv0);
/* Whether verb is one of fl_main's (the faultline command hands the
 * others to faultline-VERB). */
bool fl__cli_known_verb(const char *verb);

/* The scenarios named on a command line, with the job files they came from. */
typedef struct fl__cli_targets {
	const fl_scenario *s[FL__CLI_MAX_TARGETS];
	const char *spec[FL__CLI_MAX_TARGETS]; /* how to name it again (replay) */
	char specbuf[FL__CLI_MAX_TARGETS][320];
	size_t n;
	fl_jobs *files[32];
	size_t nfiles;
} fl__cli_targets;

/*
 * Adds what arg names: a registered scenario, a glob over their names, a
 * job file (all its sections) or FILE:SECTION. Returns 0, or EXIT_USAGE after printing why.
 */
int fl__cli_target_add(fl__cli_targets *t, const char *arg);
/* Adds every registered scenario. */
void fl__cli_target_all(fl__cli_targets *t);
void fl__cli_targets_free(fl__cli_targets *t);

/* Common options of run, stress and replay. */
typedef struct fl__cli_opts {
	uint64_t seed;
	bool seed_set;
	const char *backend;
	const char *faults;
	int iterations;
	int64_t duration_ns;
	const char *report_dir, *json, *junit;
	bool no_isolate;
	bool skip_timing;
	int batch;
	const char *action;   /* sweep */
	bool alloc;           /* sweep --alloc */
	uint64_t max;         /* sweep --alloc: runs at most; 0: no bound */
	const char *strategy; /* explore, replay: random, pct, pos or dfs; NULL: random */
	int depth;            /* --depth (pct); 0: not given; FL__CLI_DEPTH_AUTO: auto */
	uint64_t steps;       /* --steps (pct: the step bound to start from) */
	bool steps_set;
	int preemptions; /* --preemptions (dfs: the bound) */
	bool preemptions_set;
	long runs;              /* explore --runs; 0: not given */
	bool keep_going;        /* explore: count every failing run, do not stop */
	bool check_determinism; /* replay: twice, traces compared */
	const char *schedule;   /* explore: the failing run's schedule file */
	long shrink_runs;       /* explore --shrink-runs (0: the default) */
	bool no_shrink;         /* explore --no-shrink */
} fl__cli_opts;

/* A seed or count: decimal or 0x-hex, 0 to 2^64-1 (no sign); false
 * otherwise, *out untouched. */
bool fl__cli_parse_u64(const char *s, uint64_t *out);

/*
 * Writes what the options ask for: report.json, junit.xml, summary.md and
 * index.html into --report DIR (created), --json FILE, --junit FILE ("-"
 * is standard output). Every verb takes these three; one that has nothing
 * asked writes nothing. Returns NULL or the first write's error.
 */
FL_MUST_CHECK fl_err *fl__cli_write_report(const fl__cli_opts *o, const fl_report *rep);
/* Seconds of CLOCK_MONOTONIC since *t0 (progress lines, rates, times). */
double fl__cli_since(const struct timespec *t0);
/* The report's metadata every verb records (seed, plan, backend, revision). */
struct fl_report_opts fl__cli_report_opts(const fl__cli_opts *o, const char *plan);

/*
 * Parses argv: options into o, everything else into targets. Returns 0 or
 * EXIT_USAGE after printing why.
 */
int fl__cli_parse(int argc, char **argv, fl__cli_opts *o, fl__cli_targets *t, const char *cmd);

/* Sets FAULTLINE_BACKEND for the children after checking, in a throwaway
 * child, that the backend starts. Returns 0 or EXIT_USAGE. */
int fl__cli_backend(const char *backend, bool fallback_ok);

/* The quoted form of s for a shell command line ('...'). */
void fl__cli_shell_quote(const char *s, char *out, size_t cap);

/* The parameters of one stress iteration of s with seed and fault plan:
 * what stress runs and replay reruns (options.c); s's own hang bound and
 * heap tolerance when it sets them. */
fl_scenario_params fl__cli_iter_params(const fl_scenario *s, uint64_t seed, const char *plan);

/* --depth auto: PCT's iterative deepening (pct:auto). */
#define FL__CLI_DEPTH_AUTO (-1)

/* The strategy the options name as FAULTLINE_STRATEGY's spec ("pct:2",
 * "pct:2:57", "pos") into buf; "random" when none. */
void fl__cli_strategy_spec(const fl__cli_opts *o, char *buf, size_t cap);

/* ---- batches of iterations in forked children (batch.c) ---- */

uint64_t fl__cli_splitmix(uint64_t x);
/* A seed from /dev/urandom, the clock and the pid (stress, explore without --seed). */
uint64_t fl__cli_random_seed(void);
/* A duration as the command line writes it: "500ms", "10s", "1m" or "2"
 * (seconds), positive and at most max_ns, into *out in ns. False when s is
 * not one. */
bool fl__cli_duration(const char *s, int64_t max_ns, int64_t *out);
/* The scenario's stress plans. */
size_t fl__cli_nplans(const fl_scenario *s);

/* Iterations [from, to) of s in one forked child. */
typedef struct fl__cli_batch {
	const fl_scenario *s;
	uint64_t base;
	long from, to;
	bool explore;    /* seeds base + i, no plans, an H line per run */
	bool same_seed;  /* explore under dfs: every run seed base; stops when the
			    search is exhausted */
	bool keep_going; /* a failed run does not end the batch */
	void (*on_run)(void *arg, const char *hline); /* explore: each H line */
	void *arg;
	const char *plan;       /* explore: the plan armed in every run (NULL: none) */
	const char *faults_out; /* explore: each run's fault firings, one fault line each */
} fl__cli_batch;

/* What the parent learnt from the child. */
typedef struct fl__cli_batch_out {
	char backend[32]; /* the backend the child ran on */
	long last;        /* last iteration started */
	uint64_t seed;
	long plan;
	bool failed, hung;
	bool clean; /* exited 0 with no failure */
	char checks[2048];
} fl__cli_batch_out;

/* Runs the batch, fills *out and the child's wait status. Returns 0, or
 * EXIT_USAGE after printing why (pipe, fork). */
int fl__cli_batch_run(const fl__cli_batch *b, fl__cli_batch_out *out, int *status);
/* The replay command line for one iteration (plan, strategy may be NULL). */
void fl__cli_replay_line(char *out, size_t cap, const char *spec, const char *backend,
			 uint64_t seed, const char *plan, const char *strategy);

/* ---- schedule files as the command line sees them (schedule.c) ---- */

typedef struct fl__cli_sched {
	char seed[32], target[320], strategy[64];
	char *plan;             /* "faults PLAN" (owned), or NULL */
	bool rest_default;      /* "rest default": the default choice past the steps */
	fl_fault_forced *fires; /* "fault POINT EVAL ACTION" lines (names owned) */
	size_t nfires;
	char **task; /* the steps: spawn paths (owned) */
	bool *pre;   /* whether each step preempted a runnable task */
	size_t nsteps;
} fl__cli_sched;

/* Reads path (and faults_path's fault lines when not NULL) into *s.
 * Returns 0, or EXIT_USAGE after printing the file and line. */
int fl__cli_sched_read(const char *path, const char *faults_path, fl__cli_sched *s);
/* Writes s to path. Returns 0 or EXIT_USAGE after printing why. */
int fl__cli_sched_write(const char *path, const fl__cli_sched *s);
bool fl__cli_sched_add_fire(fl__cli_sched *s, const char *point, uint64_t eval,
			    enum fl_fault_action a);
size_t fl__cli_sched_preemptions(const fl__cli_sched *s);
void fl__cli_sched_free(fl__cli_sched *s);

/* Shrinks the schedule file at path (a failing run of s, cmd_explore_shrink.c):
 * the fault firings by delta debugging, then the preemptions, each attempt
 * one replay in a forked child, at most max_runs of them; writes the
 * smallest failing schedule to min_path. Returns 0 or EXIT_USAGE. */
int fl__cli_shrink(const fl_scenario *s, const char *path, const char *min_path, long max_runs);

/* The nondeterminism check (cmd_replay.c, replay --check-determinism and
 * explore): runs s with p twice, each isolated run writing its trace, and
 * prints whether the traces are identical or the first event where they
 * diverge. *r holds the first run (caller's, initialised); *nd is 0 (the
 * same), 1 (diverged) or -1 (no traces). Returns the runs' error. */
FL_MUST_CHECK fl_err *fl__cli_replay_twice(const fl_scenario *s, const fl_scenario_params *p,
					   fl_scenario_result *r, int *nd);

/* The verdict table (table.c). */
void fl__cli_print_table(fl_scenario_result *const *res, size_t n);

/* The verbs, each in its own file: argv holds what follows the verb.
 * Each returns the exit status. */
int fl__cli_run(int argc, char **argv);
int fl__cli_list(int argc, char **argv);
int fl__cli_stress(int argc, char **argv);
int fl__cli_explore(int argc, char **argv);
int fl__cli_replay(int argc, char **argv);
int fl__cli_sweep(int argc, char **argv);
/* `sweep --alloc TARGET [--max N]` (cmd_sweep_alloc.c): whether argv
 * asks for it (an --alloc, or a prefix of it, before any `--`), and the verb. */
bool fl__cli_sweep_is_alloc(int argc, char **argv);
int fl__cli_sweep_alloc(int argc, char **argv);
int fl__cli_compare(int argc, char **argv);
/* `wrap [options] -- PROGRAM ARGS...` (cmd_wrap.c): an unmodified program
 * under the preloaded library. */
int fl__cli_wrap(int argc, char **argv);

/* ---- wrap's plan compiler (cmd_wrap_plan.c) ---- */

/* Parses plan (NULL: none) with the fault library and compiles it into the
 * preload's flat form (wrap_internal.h), *out malloc'd; *seed_used is the
 * plan's seed=N or seed. Errors: the plan's parse errors (FL_ERR_INVAL),
 * and FL_ERR_INVAL naming the rule and term of anything the preload cannot
 * run (an errno not valid for the call, an unsupported action, modifier
 * or distribution, a pattern that names no wrapped call); FL_ERR_NOMEM. */
FL_MUST_CHECK fl_err *fl__wrap_compile(const char *plan, uint64_t seed, char **out,
				       uint64_t *seed_used);
/* The errno names a wrapped call may fail with, space-separated, in the
 * order of its table ("EIO ENOSPC EINTR EPIPE"). */
const char *fl__wrap_errnos(int point);
/* The name of an errno value wrap injects ("EIO"), or "?". */
const char *fl__wrap_errno_name(int value);
int fl__cli_merge(int argc, char **argv);
#endif
