/*
 * cli_internal.h - what the files of faultline-bench share: the options of
 * a command line, the exit statuses and the helpers every verb uses.
 *
 * Layering, from the top: main.c dispatches to the verbs (run.c, sweep.c,
 * gate.c), which use options.c (the one table of flags, and usage) and
 * common.c (error printing, directories, arming a fault plan). Nothing
 * below calls up.
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

/* A parsed command line of run, sweep or gate. */
typedef struct fl__bench_cli_opts {
	struct fl_bench_load_opts load;
	bool sweep;                 /* --limit, --buffer, --workers, --rate are lists */
	bool have_rate, have_schedule;
	double rate;
	int64_t duration_ns;
	const char *fault_plan, *backend;
	/* sweep */
	fl_bench_grid grid;
	int reps, warmup_reps, shard, shards;
	int64_t cell_ns, slo_ns;
	/* outputs */
	const char *out_dir, *json, *md, *save;
	/* --job FILE[:SECTION] */
	fl_jobs *jobs;
	const char *stage_names[6];
	bool job_has_rate;
	/* LOAD arguments as given, for a baseline binary */
	char **fwd;
	int nfwd;
} fl__bench_cli_opts;

/* ---- options.c ---------------------------------------------------------------------- */

/* The usage text, to out. */
void fl__bench_cli_usage(FILE *out);
/* Parses argv (after the subcommand cmd: run, sweep or gate) into o and
 * starts the scheduler. Returns EXIT_USAGE after printing why, else 0. */
int fl__bench_cli_parse(fl__bench_cli_opts *o, int argc, char **argv, const char *cmd);
/* Frees what parsing allocated in o. */
void fl__bench_cli_opts_destroy(fl__bench_cli_opts *o);
/* sweep-report's arguments: SWEEP.json [--slo DUR] [--out DIR]. *in stays
 * NULL when no input is named. Returns EXIT_USAGE after printing why. */
int fl__bench_cli_parse_report(int argc, char **argv, const char **in, const char **dir,
			       int64_t *slo_ns);

/* ---- common.c ----------------------------------------------------------------------- */

/* Prints "faultline-bench: what: <e>" to stderr and drops e. */
void fl__bench_cli_print_err(const char *what, fl_err *e);
/* Arms o's fault plan, if any (*plan = NULL otherwise). */
FL_MUST_CHECK fl_err *fl__bench_cli_arm(const fl__bench_cli_opts *o, fl_fault_plan **plan);

/* ---- the verbs ---------------------------------------------------------------------- */

int fl__bench_cli_run(fl__bench_cli_opts *o);                /* run.c */
int fl__bench_cli_sweep(fl__bench_cli_opts *o);              /* sweep.c */
int fl__bench_cli_sweep_report(int argc, char **argv);       /* sweep.c */
int fl__bench_cli_gate(fl__bench_cli_opts *o, const char *baseline); /* gate.c */

#endif
