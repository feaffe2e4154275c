/*
 * cli.c - fl_main: the command line over the registered scenarios, its
 * verb dispatch and usage. Each verb is a file of its own (cmd_*.c); what
 * they share, the targets, options, the backend and the verdict table, is
 * below them in options.c and table.c.
 *
 *   PROG run     [TARGET...] [options]   the checks, a report
 *   PROG list    [TARGET...]             scenarios and their checks
 *   PROG stress  TARGET... [options]     random seeds and fault plans
 *   PROG explore TARGET [options]        schedules under a strategy (sim)
 *   PROG replay  SEED TARGET [options]   one iteration again
 *   PROG sweep   POINT TARGET [options]  Nth-hit fault sweep
 *   PROG sweep   --alloc TARGET [--max N] the allocation-failure sweep
 *   PROG report compare BASE NEW         two runs side by side
 *   PROG report merge OUT IN...          shards' results added up
 *   PROG wrap [options] -- PROGRAM ARGS  an unmodified program, libc faulted
 *   PROG bench ...                       the bench verbs over the loads
 *
 * PROG is argv[0]: a user's test binary linked with faultline::main, or
 * the faultline command (faultline.c), which registers the built-in
 * catalogue first. A TARGET is a registered scenario name or a glob over
 * them, a job file (every section in it) or FILE:SECTION. Exit status: 0
 * all checks passed, 1 a check failed, 2 usage, input or environment
 * error, 3 a hang was detected and dumped.
 *
 * The runtime's scheduler is never started in this process before the
 * scenario children are forked (fork keeps only the calling thread), so
 * the backend choice travels to the children in FAULTLINE_BACKEND.
 */
#include "cli_internal.h"
#include "fl_version_internal.h"

#include <fl/bench.h>
#include <fl/main.h>

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %1$s run [TARGET...] [--seed N] [--backend threads|fibers|sim]\n"
		"                     [--faults PLAN] [--iterations N] [--duration D]\n"
		"                     [--report DIR] [--json PATH] [--junit PATH]\n"
		"                     [--skip-timing] [--no-isolate]\n"
		"       %1$s list [TARGET...] [--json | --names]\n"
		"       %1$s stress TARGET... [--iterations N] [--seed N] [--batch K]\n"
		"                     [--duration D] [--backend B]\n"
		"       %1$s explore TARGET [--strategy random|pct|pos|dfs] [--depth D|auto]\n"
		"                     [--steps K] [--preemptions P] [--runs N] [--seed S]\n"
		"                     [--batch K] [--keep-going]\n"
		"                     [--schedule FILE]\n"
		"       %1$s replay SEED TARGET [--faults PLAN] [--backend B]\n"
		"                     [--strategy S [--depth D] [--steps K]] [--check-determinism]\n"
		"       %1$s replay --schedule FILE [--check-determinism]\n"
		"       %1$s sweep POINT TARGET [--action ACTION] [--iterations MAX]\n"
		"       %1$s sweep --alloc TARGET [--max N] [--seed N] [--backend B]\n"
		"       %1$s report compare BASE NEW [--report DIR] [--json F] [--junit F]\n"
		"       %1$s report merge OUT IN...\n"
		"       %1$s wrap [--faults PLAN] [--seed N] [--report DIR] [--json F]\n"
		"                     [--junit F] [--only-from OBJ] [--hang-after D]\n"
		"                     [--sweep POINT [--max N]]\n"
		"                     -- PROGRAM ARGS...\n"
		"       %1$s bench VERB ...   (load generation over the program's loads)\n"
		"\n"
		"TARGET: a scenario of `%1$s list` or a glob over their names ('orders_*'),\n"
		"a job file (docs/scenarios.md), FILE:SECTION, or `catalogue` (every\n"
		"registered scenario, the default suite). run without targets runs the\n"
		"default suite and writes report.json, junit.xml, summary.md and\n"
		"index.html into DIR (default out).\n"
		"Every scenario runs in a child process (--no-isolate: in this one).\n"
		"--iterations sets the pipeline runs per scenario; --duration (e.g. 30s)\n"
		"repeats them to fill about that long. stress runs one iteration per seed\n"
		"with a fault plan drawn from the scenario's allowed set, stops at the\n"
		"first violation and prints the replay command. explore runs N schedules\n"
		"on the sim backend (run i with seed S+i) under a strategy, stops at the\n"
		"first failing check and prints the replay line, runs per second and the\n"
		"distinct schedules (docs/explore.md); --keep-going counts every failing\n"
		"run instead. dfs runs every schedule with at most P preemptions (default\n"
		"2), all with seed S, and says when the space is exhausted. Planted bugs (list's exploration targets) are run by name.\n"
		"replay --check-determinism (sim) runs twice and compares the traces.\n"
		"wrap runs an unmodified program with its libc calls (libc/mem/malloc,\n"
		"libc/io/write, ...) as fault points and checks it for leaked fds, heap\n"
		"and threads at exit; --sweep fails the 1st, 2nd, ... call (docs/wrap.md).\n"
		"report merge adds the\n"
		"shards' results (.json reports or .hlog interval logs, as OUT's\n"
		"extension says) into OUT: histograms and counters add, nothing is\n"
		"averaged. list --names prints one scenario name per line.\n"
		"Exit status: 0 all checks passed, 1 a check failed, 2 usage, input or\n"
		"environment error, 3 a hang was detected (live tasks dumped to stderr).\n",
		fl__cli_prog);
}

/* ---- bench ---------------------------------------------------------------------- */

/* The bench verbs over the program's registered loads (FL_LOAD), the
 * synthetic stages and job files: fl_bench_main with argv[0] "bench". */
static int bench(int argc, char **argv) { return fl_bench_main(argc, argv); }

/* ---- dispatch ------------------------------------------------------------------- */

static const char *const verbs[] = {"run",    "list",  "stress", "explore", "replay",  "sweep",
				    "report", "bench", "wrap",   "help",    "version", NULL};

bool fl__cli_known_verb(const char *verb)
{
	for (size_t i = 0; verbs[i]; i++)
		if (strcmp(verbs[i], verb) == 0)
			return true;
	return false;
}

/* A registration that failed before main (FL_SCENARIO in a constructor)
 * is an input error of the program: named, exit 2, before any verb. */
static int registry_ok(void)
{
	fl_err *err = fl_scenario_registry_err();
	if (!err)
		return 0;
	fprintf(stderr, "%s: a scenario failed to register: ", fl__cli_prog);
	fl_err_print(stderr, err);
	fl_err_drop(err);
	return EXIT_USAGE;
}

static int verb(int argc, char **argv)
{
	const char *c = argv[1];
	if (strcmp(c, "list") == 0)
		return fl__cli_list(argc - 2, argv + 2);
	if (strcmp(c, "run") == 0)
		return fl__cli_run(argc - 2, argv + 2);
	if (strcmp(c, "stress") == 0)
		return fl__cli_stress(argc - 2, argv + 2);
	if (strcmp(c, "explore") == 0)
		return fl__cli_explore(argc - 2, argv + 2);
	if (strcmp(c, "replay") == 0)
		return fl__cli_replay(argc - 2, argv + 2);
	if (strcmp(c, "sweep") == 0)
		return fl__cli_sweep(argc - 2, argv + 2);
	if (strcmp(c, "bench") == 0)
		return bench(argc - 1, argv + 1);
	if (strcmp(c, "wrap") == 0)
		return fl__cli_wrap(argc - 2, argv + 2);
	if (strcmp(c, "report") == 0) {
		if (argc >= 3 && strcmp(argv[2], "compare") == 0)
			return fl__cli_compare(argc - 3, argv + 3);
		if (argc >= 3 && strcmp(argv[2], "merge") == 0)
			return fl__cli_merge(argc - 3, argv + 3);
		fprintf(stderr, "%s report: expected 'compare BASE NEW' or 'merge OUT IN...'\n",
			fl__cli_prog);
		return EXIT_USAGE;
	}
	fprintf(stderr, "%s: %s '%s'\n", fl__cli_prog,
		c[0] == '-' ? "expected a command, got" : "unknown command", c);
	usage(stderr);
	return EXIT_USAGE;
}

int fl_main(int argc, char **argv)
{
	fl__cli_set_prog(argc > 0 ? argv[0] : NULL);
	int rc = registry_ok();
	if (rc)
		return rc;
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *c = argv[1];
	if (strcmp(c, "help") == 0 || strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0) {
		usage(stdout);
		return EXIT_PASS;
	}
	if (strcmp(c, "--version") == 0 || strcmp(c, "version") == 0) {
		printf("%s (faultline %s, %s)\n", fl__cli_prog, FL_VERSION, FL_REVISION);
		return EXIT_PASS;
	}
	/* -h/--help after any verb but bench (its own), before a "--" (what
	 * follows is wrap's program): its usage, on stdout, exit 0 */
	for (int i = 2;
	     c[0] != '-' && strcmp(c, "bench") != 0 && i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return EXIT_PASS;
		}
	return verb(argc, argv);
}
