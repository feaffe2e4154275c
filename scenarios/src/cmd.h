/*
 * cmd.h - what the faultline command's files share (main.c, cmd_run.c,
 * cmd_stress.c): exit statuses, targets (catalogue names and job files)
 * and option parsing helpers.
 */
#ifndef FL_CMD_H
#define FL_CMD_H

#include <fl/job.h>
#include <fl/scenario.h>

#include <stdbool.h>
#include <stdint.h>

enum { EXIT_PASS = 0, EXIT_CHECK_FAILED = 1, EXIT_USAGE = 2, EXIT_HANG = 3 };

#define CMD_MAX_TARGETS 128

/* The scenarios named on a command line, with the job files they came from. */
typedef struct cmd_targets {
	const fl_scenario *s[CMD_MAX_TARGETS];
	const char *spec[CMD_MAX_TARGETS]; /* how to name it again (replay) */
	char specbuf[CMD_MAX_TARGETS][320];
	size_t n;
	fl_jobs *files[32];
	size_t nfiles;
} cmd_targets;

/*
 * Adds what arg names: a catalogue scenario, a job file (all its
 * sections) or FILE:SECTION. Returns 0, or EXIT_USAGE after printing why.
 */
int cmd_target_add(cmd_targets *t, const char *arg);
/* Adds the whole catalogue. */
void cmd_target_all(cmd_targets *t);
void cmd_targets_free(cmd_targets *t);

/* Common options of run, stress and replay. */
typedef struct cmd_opts {
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
	const char *action;        /* sweep */
} cmd_opts;

/*
 * Parses argv: options into o, everything else into targets. Returns 0 or
 * EXIT_USAGE after printing why.
 */
int cmd_parse(int argc, char **argv, cmd_opts *o, cmd_targets *t, const char *cmd);

/* Sets FAULTLINE_BACKEND for the children after checking, in a throwaway
 * child, that the backend starts. Returns 0 or EXIT_USAGE. */
int cmd_backend(const char *backend, bool fallback_ok);

/* The quoted form of s for a shell command line ('...'). */
void cmd_shell_quote(const char *s, char *out, size_t cap);

int cmd_run(int argc, char **argv);
int cmd_stress(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_compare(int argc, char **argv);

/* Verdict table and totals (cmd_run.c). */
void cmd_print_table(fl_scenario_result *const *res, size_t n);
#endif
