/*
 * main.c - the faultline command: subcommand dispatch and usage. Each verb
 * is a file of its own (cmd_*.c); what they share, the targets, options,
 * the backend and the verdict table, is below them in options.c and
 * table.c.
 *
 *   faultline run     [TARGET...] [options]   the checks, a report
 *   faultline list    [FILE...]               scenarios and their checks
 *   faultline stress  TARGET... [options]     random seeds and fault plans
 *   faultline replay  SEED TARGET [options]   one iteration again
 *   faultline sweep   POINT TARGET [options]  Nth-hit fault sweep
 *   faultline report compare BASE NEW         two runs side by side
 *   faultline report merge OUT IN...          shards' results added up
 *   faultline X ...                           runs faultline-X next to us, or on PATH
 *
 * A TARGET is a catalogue scenario name, a job file (every section in it)
 * or FILE:SECTION. Exit status: 0 all checks passed, 1 a check failed, 2
 * usage, input or environment error, 3 a hang was detected and dumped.
 *
 * The runtime's scheduler is never started in this process before the
 * scenario children are forked (fork keeps only the calling thread), so
 * the backend choice travels to the children in FAULTLINE_BACKEND.
 */
#include "cli_internal.h"
#include "fl_version_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: faultline run [TARGET...] [--seed N] [--backend threads|fibers|sim]\n"
		"                     [--faults PLAN] [--iterations N] [--duration D]\n"
		"                     [--report DIR] [--json PATH] [--junit PATH]\n"
		"                     [--skip-timing] [--no-isolate]\n"
		"       faultline list [TARGET...] [--json]\n"
		"       faultline stress TARGET... [--iterations N] [--seed N] [--batch K]\n"
		"                     [--duration D] [--backend B]\n"
		"       faultline replay SEED TARGET [--faults PLAN] [--backend B]\n"
		"       faultline sweep POINT TARGET [--action ACTION] [--iterations MAX]\n"
		"       faultline report compare BASE NEW\n"
		"       faultline report merge OUT IN...\n"
		"       faultline COMMAND ...   (runs faultline-COMMAND, e.g. faultline bench)\n"
		"\n"
		"TARGET: a scenario of `faultline list`, a job file (docs/scenarios.md),\n"
		"FILE:SECTION, or `catalogue` (every built-in scenario, the default\n"
		"suite). run without targets runs the default suite and writes\n"
		"report.json, junit.xml, summary.md and index.html into DIR (default out).\n"
		"Every scenario runs in a child process (--no-isolate: in this one).\n"
		"--iterations sets the pipeline runs per scenario; --duration (e.g. 30s)\n"
		"repeats them to fill about that long. stress runs one iteration per seed\n"
		"with a fault plan drawn from the scenario's allowed set, stops at the\n"
		"first violation and prints the replay command. report merge adds the\n"
		"shards' results (.json reports or .hlog interval logs, as OUT's\n"
		"extension says) into OUT: histograms and counters add, nothing is\n"
		"averaged.\n"
		"Exit status: 0 all checks passed, 1 a check failed, 2 usage, input or\n"
		"environment error, 3 a hang was detected (live tasks dumped to stderr).\n");
}

/* ---- git-style external commands --------------------------------------------------- */

static int dispatch(int argc, char **argv)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		char path[PATH_MAX];
		if (slash && snprintf(path, sizeof(path), "%.*s/faultline-%s", (int)(slash - self),
				      self, argv[1]) < (int)sizeof(path) &&
		    strchr(argv[1], '/') == NULL && access(path, X_OK) == 0) {
			argv[1] = path;
			execv(path, argv + 1);
			fprintf(stderr, "faultline: cannot run %s: %s\n", path, strerror(errno));
			return EXIT_USAGE;
		}
	}
	(void)argc;
	/* Not beside us (a copied binary): on PATH, as git finds git-X. */
	char name[NAME_MAX + 1];
	if (strchr(argv[1], '/') == NULL &&
	    snprintf(name, sizeof(name), "faultline-%s", argv[1]) < (int)sizeof(name)) {
		char *sub = argv[1];
		argv[1] = name;
		execvp(name, argv + 1);
		argv[1] = sub;
		if (errno != ENOENT) {
			fprintf(stderr, "faultline: cannot run %s: %s\n", name, strerror(errno));
			return EXIT_USAGE;
		}
	}
	fprintf(stderr, "faultline: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
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
		printf("faultline %s (%s)\n", FL_VERSION, FL_REVISION);
		return EXIT_PASS;
	}
	/* -h/--help after any verb: its usage, on stdout, exit 0 */
	for (int i = 2; c[0] != '-' && i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return EXIT_PASS;
		}
	if (strcmp(c, "list") == 0)
		return fl__cli_list(argc - 2, argv + 2);
	if (strcmp(c, "run") == 0)
		return fl__cli_run(argc - 2, argv + 2);
	if (strcmp(c, "stress") == 0)
		return fl__cli_stress(argc - 2, argv + 2);
	if (strcmp(c, "replay") == 0)
		return fl__cli_replay(argc - 2, argv + 2);
	if (strcmp(c, "sweep") == 0)
		return fl__cli_sweep(argc - 2, argv + 2);
	if (strcmp(c, "report") == 0) {
		if (argc >= 3 && strcmp(argv[2], "compare") == 0)
			return fl__cli_compare(argc - 3, argv + 3);
		if (argc >= 3 && strcmp(argv[2], "merge") == 0)
			return fl__cli_merge(argc - 3, argv + 3);
		fprintf(stderr, "faultline report: expected 'compare BASE NEW' or 'merge OUT IN...'\n");
		return EXIT_USAGE;
	}
	if (c[0] == '-') {
		fprintf(stderr, "faultline: expected a command, got '%s'\n", c);
		usage(stderr);
		return EXIT_USAGE;
	}
	return dispatch(argc, argv);
}
