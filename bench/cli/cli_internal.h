/*
 * cli_internal.h - what the files of faultline-bench share: the options of
 * a command line, the exit statuses and the helpers every verb uses. They
 * are compiled into fl_bench, behind fl_bench_main (fl/bench.h); the
 * faultline-bench program (main.c) only calls it.
 *
 * Layering, from the top: dispatch.c (fl_bench_main) dispatches to the
 * verbs (run.c, sweep.c, gate.c), which use options.c (the one table of
 * flags, and usage) and common.c (error printing, the program name, arming
 * a fault plan). Nothing below calls up.
 */
#ifndef FL_BENCH_CLI_INTERNAL_H
#define FL_BENCH_CLI_INTERNAL_H

#include <fl/bench.h>
#include <fl/fault.h>
#include <fl/job.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_REGRESSION = 1, EXIT_USAGE = 2 };
/* fl__bench_cli_parse: -h/--help was printed; exit 0. */
enum { CLI_DONE = -1 };

/* A parsed command line of run, sweep or gate. */
typedef struct fl__bench_cli_opts {
	struct fl_bench_load_opts load;
	bool sweep; /* --limit, --buffer, --workers, --rate are lists */
	bool have_rate, have_schedule;
	double rate;
	int64_t duration_ns;
	const char *fault_plan, *backend;
	/* --load NAME (or the verb's NAME argument): a registered user load */
	const char *load_name;
	double max_failures; /* --max-failures: allowed failed fraction */
	/* sweep */
	fl_bench_grid grid;
	int reps, warmup_reps, shard, shards;
	int64_t cell_ns, slo_ns;
	/* outputs */
	const char *out_dir, *json, *junit, *md, *save;
	FILE *text; /* the human summary: stderr when a FILE is '-' */
	/* --job FILE[:SECTION] */
	fl_jobs *jobs;
	const char *stage_names[6];
	bool job_has_rate;
	/* LOAD arguments as given, for a baseline binary */
	char **fwd;
	int nfwd;
} fl__bench_cli_opts;

/* ---- options.c ---------------------------------------------------------------------- */

/* The usage text, to out: every verb's (cmd NULL) or one verb's. */
void fl__bench_cli_usage(FILE *out, const char *cmd);
/* Parses argv (after the subcommand cmd: run, sweep or gate) into o and
 * starts the scheduler. Returns EXIT_USAGE after printing why, CLI_DONE
 * after printing the help asked for, else 0. *baseline (gate: may be
 * NULL) receives gate's first argument. */
int fl__bench_cli_parse(fl__bench_cli_opts *o, int argc, char **argv, const char *cmd,
			const char **baseline);
/* Frees what parsing allocated in o. */
void fl__bench_cli_opts_destroy(fl__bench_cli_opts *o);
/* sweep-report's arguments: SWEEP.json [--slo DUR] [--out DIR]. *in stays
 * NULL when no input is named. Returns EXIT_USAGE after printing why. */
int fl__bench_cli_parse_report(int argc, char **argv, const char **in, const char **dir,
			       int64_t *slo_ns);

/* ---- common.c ----------------------------------------------------------------------- */

/* The program name for messages ("faultline-bench"), set by fl_bench_main
 * from its argv[0]; and the words that run this binary's verbs again from
 * a child process (gate's A/B repetitions): argv[0] when it is a verb name
 * other than the executable's own ("bench" inside `faultline bench`). */
void fl__bench_cli_set_prog(const char *argv0);
const char *fl__bench_cli_prog(void);
const char *fl__bench_cli_verb_prefix(void);
/* Prints "<prog>: what: <e>" to stderr and drops e. */
void fl__bench_cli_print_err(const char *what, fl_err *e);
/* The failed fraction of res, and whether it is above o's allowance
 * (printing the count and the first failure when there are any). */
bool fl__bench_cli_failures_over(const fl__bench_cli_opts *o, const fl_bench_result *res);
/* Arms o's fault plan, if any (*plan = NULL otherwise). */
FL_MUST_CHECK fl_err *fl__bench_cli_arm(const fl__bench_cli_opts *o, fl_fault_plan **plan);
/* Adds plan's fires (NULL: none) to r's fault timeline, at their offsets
 * from the end of the warm-up (the plan is armed as the run starts; fires
 * during the warm-up are left out, as its items are). Real clock only.
 * Errors: those of fl_report_add_fault_event. */
FL_MUST_CHECK fl_err *fl__bench_cli_add_faults(fl_report *r, const fl_fault_plan *plan,
					       int64_t warmup_ns);

/* ---- the verbs ---------------------------------------------------------------------- */

int fl__bench_cli_run(fl__bench_cli_opts *o);                        /* run.c */
int fl__bench_cli_sweep(fl__bench_cli_opts *o);                      /* sweep.c */
int fl__bench_cli_sweep_report(int argc, char **argv);               /* sweep.c */
int fl__bench_cli_gate(fl__bench_cli_opts *o, const char *baseline); /* gate.c */
int fl__bench_cli_loads(int argc, char **argv);                      /* dispatch.c */

#endif
