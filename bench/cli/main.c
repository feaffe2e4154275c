/*
 * main.c - faultline-bench: open-loop runs, capacity sweeps and the
 * regression gate (docs/bench.md). `faultline bench ARGS` runs it.
 *
 *   faultline-bench run   [LOAD] [--slo DUR] [--out DIR] [--json PATH]
 *   faultline-bench sweep [LOAD] [--limit L,..] [--buffer B,..] [--workers W,..]
 *                         [--rate R,..] [--reps N] [--cell DUR] [--shard I/N]
 *                         [--slo DUR] [--out DIR]
 *   faultline-bench sweep-report SWEEP.json [--slo DUR] [--out DIR]
 *   faultline-bench gate BASELINE [LOAD] [--reps N] [--warmup-reps K]
 *                        [--json PATH] [--md PATH]
 *   faultline-bench gate --save PATH [LOAD] [--reps N] [--warmup-reps K]
 *
 * Exit status: 0 success (gate: no regression), 1 gate: regression,
 * 2 usage, input or environment error.
 *
 * This file only dispatches: options.c parses every verb's flags (one
 * table), and each verb lives in its own file (run.c, sweep.c, gate.c).
 */
#include "cli_internal.h"
#include "fl_version_internal.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fl__bench_cli_usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		fl__bench_cli_usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("faultline-bench %s (%s)\n", FL_VERSION, FL_REVISION);
		return EXIT_OK;
	}
	if (strcmp(cmd, "sweep-report") == 0)
		return fl__bench_cli_sweep_report(argc - 2, argv + 2);
	if (strcmp(cmd, "run") && strcmp(cmd, "sweep") && strcmp(cmd, "gate")) {
		fprintf(stderr, "faultline-bench: unknown command '%s'\n", cmd);
		fl__bench_cli_usage(stderr);
		return EXIT_USAGE;
	}
	const char *baseline = NULL;
	int first = 2;
	if (strcmp(cmd, "gate") == 0 && argc > 2 && argv[2][0] != '-') {
		baseline = argv[2];
		first = 3;
	}
	fl__bench_cli_opts o = {0};
	int rc = fl__bench_cli_parse(&o, argc - first, argv + first, cmd);
	if (!rc)
		rc = strcmp(cmd, "run") == 0     ? fl__bench_cli_run(&o)
		     : strcmp(cmd, "sweep") == 0 ? fl__bench_cli_sweep(&o)
						 : fl__bench_cli_gate(&o, baseline);
	fl__bench_cli_opts_destroy(&o);
	return rc;
}
