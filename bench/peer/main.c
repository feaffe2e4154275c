/*
 * main.c - fl-bench: the table of subcommands and the dispatch.
 *
 * One subcommand per workload of the Go peer (W1-W10), each printing one
 * JSON line per variant, plus `list`, `all` and `selftest`. Flags, backend
 * choice and size defaults are in flags.c.
 *
 * Layering: this file is the top of fl-bench. Its table refers to the
 * workload files' flb_cmd_* entry points; no file calls back into it.
 */
#include "peer_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- commands ------------------------------------------------------------- */

static int cmd_list(int argc, char **argv);
static int cmd_all(int argc, char **argv);

static const struct command {
	const char *name, *help;
	int (*main)(int argc, char **argv);
	bool workload;
} commands[] = {
	{"spawn", "W1  group go of N no-op tasks under a limit", flb_cmd_spawn, true},
	{"trygo", "W2  try_go, falling back to go when refused", flb_cmd_trygo, true},
	{"pipeline", "W3  4-stage linear channel pipeline", flb_cmd_pipeline, true},
	{"fanout", "W4  producer -> N workers (nested group) -> consumer", flb_cmd_fanout, true},
	{"cancel", "W5  parent-cancel latency of a running pipeline", flb_cmd_cancel, true},
	{"cancel-err", "W5b stage-error cancel latency of a running pipeline", flb_cmd_cancel_err,
	 true},
	{"first-error", "W6  first-error propagation across 64 tasks", flb_cmd_first_error, true},
	{"pingpong", "W7  unbuffered channel round trip", flb_cmd_pingpong, true},
	{"sync", "W8  uncontended mutex, atomic add, clock reads", flb_cmd_sync, true},
	{"hedge", "W9  hedged requests vs heavy-tailed latency", flb_cmd_hedge, true},
	{"retry", "W10 retry with exponential backoff under a limit", flb_cmd_retry, true},
	{"hedge-demo", "fl_hedge on a long-tailed stage: p99.9 and extra requests",
	 flb_cmd_hedge_demo, false},
	{"all", "run every workload in this process (flags are passed on)", cmd_all, false},
	{"list", "print the workload command names", cmd_list, false},
	{"selftest", "check the golden values, draws and percentile rule", flb_cmd_selftest, false},
};

static int cmd_list(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (commands[i].workload)
			printf("%s\n", commands[i].name);
	return 0;
}

static int cmd_all(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (commands[i].workload && commands[i].main(argc, argv) != 0)
			return 1;
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: fl-bench <command> [flags]   (fl-bench <command> -h for flags)\n\n"
			"commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(stderr, "  %-12s %s\n", commands[i].name, commands[i].help);
	exit(2);
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, argv[1]) == 0)
			return commands[i].main(argc - 2, argv + 2);
	usage();
}
