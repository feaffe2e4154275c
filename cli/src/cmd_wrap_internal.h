/*
 * cmd_wrap_internal.h - what `faultline wrap`'s files share (private to
 * cli/src): cmd_wrap.c (the verb) and cmd_wrap_sweep.c (--sweep) above
 * cmd_wrap_run.c (one run) and cmd_wrap_plan.c (the plan compiler).
 */
#ifndef FL_CMD_WRAP_INTERNAL_H
#define FL_CMD_WRAP_INTERNAL_H

#include "cli_internal.h"
#include "wrap_internal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wrap_opts {
	fl__cli_opts o;
	char **prog;       /* NULL-terminated, from argv */
	const char *sweep; /* --sweep POINT; NULL: one run */
	int64_t hang_ns;   /* --hang-after: no wrapped call this long is a hang; 0 off */
	const char *only;  /* --only-from: objects whose calls are evaluated; NULL all */
	int report_sig;    /* --report-on: the signal that takes a leak snapshot; 0 none */
} wrap_opts;

/* One run of the program. */
typedef struct wrap_run {
	int status;     /* waitpid's */
	int exec_errno; /* the program could not be started: why; else 0 */
	double secs;
	struct fl__wrap_acct acct;
	bool have_acct;     /* the preload started in the program */
	bool hung;          /* killed: no wrapped call for the --hang-after window */
	char threads[1024]; /* when hung: each thread's name and kernel wait channel */
} wrap_run;

/* The preload's path into out: $FAULTLINE_PRELOAD, the build tree's, or
 * the installed one. False when none is readable. */
bool fl__wrap_find_preload(char *out, size_t cap);
/* Runs prog once under the compiled plan; fills *r. With
 * FL_WRAP_ENV_SIGNAL set (--report-on, which the program inherits), each
 * leak snapshot the preload takes is printed as it comes, the last one
 * also after the program ended if it was not yet. With hang_ns > 0, a
 * program that makes no wrapped call for hang_ns (the accounting file's
 * evaluation counts stand still) is killed and marked hung, its threads'
 * wait channels noted first. Returns 0, or EXIT_USAGE after printing why
 * (no temporary file, pipe or fork). */
int fl__wrap_run_once(char **prog, const char *preload, const char *plan, int64_t hang_ns,
		      wrap_run *r);
/* "exited 0", "killed by signal 11 (Segmentation fault)". */
void fl__wrap_outcome_text(const wrap_run *r, char *out, size_t cap);
/* "error(EIO)", "sleep", ... */
void fl__wrap_action_text(uint32_t action, int32_t err, char *out, size_t cap);

/* One leak check: its name, what leaked (descriptors, bytes, threads),
 * and what and where. */
typedef struct leak_check {
	const char *name;
	uint64_t n;
	char msg[1400];
} leak_check;
/* The three leak checks, judged at exit against the end of start-up. */
void fl__wrap_leak_checks(const struct fl__wrap_leaks *L, leak_check c[3]);
/* No leak, or not judged (the program did not exit through exit()). */
bool fl__wrap_leaks_ok(const struct fl__wrap_leaks *L);

/* frame ("prog +0x1234", "prog(sym+0x5) +0x1234") with, when the module
 * is the program and addr2line knows the address, " = func at file:line";
 * else frame as is. Runs addr2line (binutils) once. */
void fl__wrap_symbolise(char **prog, const char *frame, char *out, size_t cap);

/* fl__wrap_symbolise over the first frame of the first 8 logged firings
 * and over the leaked blocks' callers, in place (truncated to a frame). */
void fl__wrap_symbolise_acct(char **prog, struct fl__wrap_acct *a);

/* `wrap --sweep POINT [--max N] -- PROGRAM` (cmd_wrap_sweep.c): the
 * program run with the 1st, 2nd, ... call at POINT failing until a run no
 * longer reaches it (or --max runs). Returns the exit status. */
int fl__wrap_sweep(const wrap_opts *w, const char *preload);

#endif
