/*
 * dispatch.c - fl_bench_main: faultline-bench's verbs as a library
 * function (docs/bench.md), for the faultline-bench program, the faultline
 * command's `bench` verb and users' binaries that register loads with
 * FL_LOAD.
 *
 *   run   [NAME] [LOAD] [--slo DUR] [--max-failures F] [--report DIR]
 *         [--json FILE] [--junit FILE]
 *   sweep [NAME] [LOAD] [--limit L,..] [--buffer B,..] [--workers W,..]
 *         [--rate R,..] [--reps N] [--cell DUR] [--shard I/N] [--slo DUR]
 *         [--report DIR] [--json FILE] [--junit FILE]
 *   sweep-report SWEEP.json [--slo DUR] [--report DIR]
 *   gate BASELINE [NAME] [LOAD] [--reps N] [--warmup-reps K] [--json FILE]
 *        [--md FILE] [--junit FILE]
 *   gate --save FILE [NAME] [LOAD] [--reps N] [--warmup-reps K]
 *   loads                      the registered loads, one a line
 *
 * Exit status: 0 success (gate: no regression), 1 a failed verdict (SLO,
 * failures, gate regression), 2 usage, input or environment error.
 *
 * This file only dispatches: options.c parses every verb's flags (one
 * table), and each verb lives in its own file (run.c, sweep.c, gate.c).
 */
#include "cli_internal.h"
#include "fl_version_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fl__bench_cli_loads(int argc, char **argv)
{
	if (argc > 0 && (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0)) {
		printf("usage: %s loads\nLists the loads registered with FL_LOAD: name and "
		       "description.\n",
		       fl__bench_cli_prog());
		return EXIT_OK;
	}
	if (argc > 0) {
		fprintf(stderr, "%s: loads: unexpected argument '%s'\n", fl__bench_cli_prog(),
			argv[0]);
		return EXIT_USAGE;
	}
	size_t n = 0;
	fl_err *e = fl_bench_load_list(NULL, 0, &n);
	const fl_bench_user_load **v = NULL;
	if (!e && n && !(v = calloc(n, sizeof(*v))))
		e = FL_ERR_NOMEM;
	if (!e && n)
		e = fl_bench_load_list(v, n, &n);
	for (size_t i = 0; !e && i < n; i++)
		printf("%-24s %s\n", v[i]->name, v[i]->description ? v[i]->description : "");
	free(v);
	if (e) {
		fl__bench_cli_print_err("loads", e);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static bool is_help(const char *a)
{
	return strcmp(a, "help") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

int fl_bench_main(int argc, char **argv)
{
	fl__bench_cli_set_prog(argc > 0 ? argv[0] : NULL);
	if (argc < 2) {
		fl__bench_cli_usage(stderr, NULL);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (is_help(cmd)) {
		fl__bench_cli_usage(stdout, argc > 2 ? argv[2] : NULL);
		return EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("%s %s (%s)\n", fl__bench_cli_prog(), FL_VERSION, FL_REVISION);
		return EXIT_OK;
	}
	if (strcmp(cmd, "sweep-report") == 0)
		return fl__bench_cli_sweep_report(argc - 2, argv + 2);
	if (strcmp(cmd, "loads") == 0)
		return fl__bench_cli_loads(argc - 2, argv + 2);
	if (strcmp(cmd, "run") && strcmp(cmd, "sweep") && strcmp(cmd, "gate")) {
		fprintf(stderr,
			"%s: unknown command '%s' (known: run, sweep, sweep-report, gate, "
			"loads, help)\n",
			fl__bench_cli_prog(), cmd);
		fl__bench_cli_usage(stderr, NULL);
		return EXIT_USAGE;
	}
	const char *baseline = NULL;
	fl__bench_cli_opts o = {0};
	int rc = fl__bench_cli_parse(&o, argc - 2, argv + 2, cmd, &baseline);
	if (!rc)
		rc = strcmp(cmd, "run") == 0     ? fl__bench_cli_run(&o)
		     : strcmp(cmd, "sweep") == 0 ? fl__bench_cli_sweep(&o)
						 : fl__bench_cli_gate(&o, baseline);
	fl__bench_cli_opts_destroy(&o);
	return rc == CLI_DONE ? EXIT_OK : rc;
}
