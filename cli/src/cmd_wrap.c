/*
 * cmd_wrap.c - `faultline wrap [options] -- PROGRAM ARGS...`: runs an
 * unmodified, dynamically linked program with libfaultline-preload.so
 * preloaded (wrap/), its libc calls fault points (docs/wrap.md).
 *
 * The verb compiles the plan (cmd_wrap_plan.c), names an accounting file
 * the preload maps shared, forks and execs the program with LD_PRELOAD,
 * waits, then reads the counts (complete even after a crash: they were
 * updated in place) and prints them with the program's outcome. The exit
 * status is the verdict: 0 the program exited 0 with nothing leaked, 1 it
 * exited non-zero, was killed by a signal or leaked, 2 usage or
 * environment (the program could not be started, the preload did not
 * load), 3 it made no wrapped call for the --hang-after window.
 */
#include "cli_internal.h"
#include "cmd_wrap_internal.h"

#include <fl/report.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PRELOAD_NAME "libfaultline-preload.so" /* for the message */

static int usage_err(const char *what, const char *arg)
{
	fprintf(stderr, "%s wrap: %s%s", fl__cli_prog, what, arg);
	fprintf(stderr,
		"\nusage: %s wrap [--faults PLAN] [--seed N] [--report DIR] [--json F] "
		"[--junit F]\n                     [--hang-after D] [--only-from LIBS] "
		"[--report-on SIGNAL]\n                     [--sweep POINT [--max N]] -- PROGRAM "
		"ARGS...\n",
		fl__cli_prog);
	return EXIT_USAGE;
}

/* "USR2", "SIGUSR2", "HUP", "12": a signal a handler can take. */
static bool parse_signal(const char *s, int *out)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"HUP", SIGHUP},    {"INT", SIGINT},
		     {"TERM", SIGTERM}, {"QUIT", SIGQUIT}, {"WINCH", SIGWINCH}};
	const char *n = strncmp(s, "SIG", 3) == 0 ? s + 3 : s;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(n, names[i].name) == 0)
			return *out = names[i].sig, true;
	uint64_t v;
	if (!fl__cli_parse_u64(s, &v) || v < 1 || v > (uint64_t)SIGRTMAX || v == SIGKILL ||
	    v == SIGSTOP)
		return false;
	*out = (int)v;
	return true;
}

static int parse(int argc, char **argv, wrap_opts *w)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0 || a[0] != '-') {
			w->prog = argv + i + (a[0] == '-');
			break;
		}
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return usage_err("a value must follow ", a);
		if (strcmp(a, "--faults") == 0)
			w->o.faults = v;
		else if (strcmp(a, "--seed") == 0 && fl__cli_parse_u64(v, &w->o.seed))
			w->o.seed_set = true;
		else if (strcmp(a, "--seed") == 0)
			return usage_err("--seed: expected an unsigned integer, got ", v);
		else if (strcmp(a, "--report") == 0)
			w->o.report_dir = v;
		else if (strcmp(a, "--json") == 0)
			w->o.json = v;
		else if (strcmp(a, "--junit") == 0)
			w->o.junit = v;
		else if (strcmp(a, "--sweep") == 0)
			w->sweep = v;
		else if (strcmp(a, "--only-from") == 0)
			w->only = v;
		else if (strcmp(a, "--report-on") == 0 && parse_signal(v, &w->report_sig))
			;
		else if (strcmp(a, "--report-on") == 0)
			return usage_err("--report-on: expected a signal a handler can take (USR1, "
					 "USR2, HUP, 1..SIGRTMAX but KILL and STOP), got ",
					 v);
		else if (strcmp(a, "--hang-after") == 0 &&
			 fl__cli_duration(v, FL_SEC(86400), &w->hang_ns))
			;
		else if (strcmp(a, "--hang-after") == 0)
			return usage_err("--hang-after: expected a duration (500ms, 10s, 1m), got ",
					 v);
		else if (strcmp(a, "--max") == 0 && fl__cli_parse_u64(v, &w->o.max))
			;
		else if (strcmp(a, "--max") == 0)
			return usage_err("--max: expected an unsigned integer, got ", v);
		else
			return usage_err("unknown option ", a);
		i++;
	}
	if (!w->prog || !w->prog[0])
		return usage_err("name the program to run after --", "");
	if (w->sweep && w->o.faults)
		return usage_err("--sweep makes its own plans; drop ", "--faults");
	if (w->sweep && w->report_sig)
		return usage_err("--report-on watches one run; drop it or ", "--sweep");
	if (!w->sweep && w->o.max)
		return usage_err("--max bounds a sweep; add ", "--sweep POINT");
	return 0;
}

static void print_acct(const struct fl__wrap_acct *a)
{
	printf("fault accounting (seed %" PRIu64 "):\n  %-25s %10s  %s\n", a->seed, "point",
	       "evals", "fired");
	for (int p = 0; p < FL_WRAP_NPOINTS; p++) {
		if (!a->evals[p])
			continue;
		printf("  %-25s %10" PRIu64 " ", fl__wrap_point_names[p], a->evals[p]);
		bool any = false;
		for (int k = 0; k < FL_WRAP_NACT; k++)
			if (a->fires[p][k]) {
				printf(" %" PRIu64 " %s", a->fires[p][k], fl__wrap_action_names[k]);
				any = true;
			}
		printf("%s\n", any ? "" : " 0");
	}
	uint64_t n = a->nlog < FL_WRAP_LOG ? a->nlog : FL_WRAP_LOG;
	if (n)
		printf("firings (first %" PRIu64 " of %" PRIu64 "):\n", n, a->nlog);
	for (uint64_t i = 0; i < n; i++) {
		const struct fl__wrap_firing *f = &a->log[i];
		char act[64];
		fl__wrap_action_text(f->action, f->err, act, sizeof(act));
		printf("  %s eval %" PRIu64 ", thread %u: %s\n",
		       f->point < FL_WRAP_NPOINTS ? fl__wrap_point_names[f->point] : "?", f->eval,
		       f->thread, act);
		for (uint32_t j = 0; j < f->nframes && j < FL_WRAP_FRAMES; j++)
			printf("      at %.*s\n", FL_WRAP_FRAME_LEN, f->frames[j]);
	}
}

static void print_leaks(const struct fl__wrap_leaks *L)
{
	if (!L->judged) {
		printf("leaks: not judged (the program did not exit through exit())\n");
		return;
	}
	leak_check c[3];
	fl__wrap_leak_checks(L, c);
	for (int i = 0; i < 3; i++)
		printf("%s: %s (%s)\n", c[i].name, c[i].n ? "FAIL" : "pass", c[i].msg);
}

/* The report: the program's outcome as a check, the counts as counters,
 * the logged firings as fault events. */
static fl_err *add_to_report(fl_report *rep, const wrap_run *r, const char *prog)
{
	char out[128], msg[PATH_MAX + 160], key[96];
	fl__wrap_outcome_text(r, out, sizeof(out));
	bool ok = WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
	snprintf(msg, sizeof(msg), "%s %s", prog, out);
	fl_err *e = fl_report_add_check(rep, "program exit", ok ? FL_REPORT_PASS : FL_REPORT_FAIL,
					WIFEXITED(r->status) ? WEXITSTATUS(r->status) : NAN, 0,
					NULL, msg);
	if (!e)
		rep->checks[rep->nchecks - 1].time_ns = (int64_t)(r->secs * 1e9);
	if (!e && r->hung)
		e = fl_report_add_check(rep, "no hang", FL_REPORT_FAIL, NAN, NAN, NULL, r->threads);
	const struct fl__wrap_acct *a = &r->acct;
	leak_check c[3];
	fl__wrap_leak_checks(&a->leaks, c);
	for (int i = 0; i < 3 && !e; i++)
		e = fl_report_add_check(rep, c[i].name,
					!a->leaks.judged ? FL_REPORT_SKIP
					: c[i].n         ? FL_REPORT_FAIL
							 : FL_REPORT_PASS,
					(double)c[i].n, 0, NULL,
					a->leaks.judged ? c[i].msg
							: "not judged: the program did not exit");
	for (int p = 0; p < FL_WRAP_NPOINTS && !e; p++) {
		if (!a->evals[p])
			continue;
		snprintf(key, sizeof(key), "%s.evals", fl__wrap_point_names[p]);
		e = fl_report_add_counter(rep, key, (int64_t)a->evals[p]);
		for (int k = 0; k < FL_WRAP_NACT && !e; k++) {
			if (!a->fires[p][k])
				continue;
			snprintf(key, sizeof(key), "%s.%s", fl__wrap_point_names[p],
				 fl__wrap_action_names[k]);
			e = fl_report_add_counter(rep, key, (int64_t)a->fires[p][k]);
		}
	}
	uint64_t n = a->nlog < FL_WRAP_LOG ? a->nlog : FL_WRAP_LOG;
	for (uint64_t i = 0; i < n && !e; i++) {
		char act[64];
		fl__wrap_action_text(a->log[i].action, a->log[i].err, act, sizeof(act));
		if (a->log[i].point < FL_WRAP_NPOINTS)
			e = fl_report_add_fault_event(rep, 0, fl__wrap_point_names[a->log[i].point],
						      act);
	}
	return e;
}

/* The verdict of one run, printed; the exit status. */
static int verdict(const wrap_run *r, const char *prog)
{
	char out[128];
	fl__wrap_outcome_text(r, out, sizeof(out));
	print_acct(&r->acct);
	print_leaks(&r->acct.leaks);
	if (r->hung)
		printf("threads when it stopped: %s\n", r->threads);
	bool ok = !r->hung && WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0 &&
		  fl__wrap_leaks_ok(&r->acct.leaks);
	printf("wrap %s: %s in %.2f s: %s\n", prog, out, r->secs, ok ? "PASS" : "FAIL");
	return r->hung ? EXIT_HANG : ok ? EXIT_PASS : EXIT_CHECK_FAILED;
}

/* The command line that runs the same decisions again. */
static void print_replay(const wrap_opts *w)
{
	char q[1200];
	printf("replay: %s wrap --seed %" PRIu64, fl__cli_argv0, w->o.seed);
	if (w->o.faults) {
		fl__cli_shell_quote(w->o.faults, q, sizeof(q));
		printf(" --faults %s", q);
	}
	if (w->only) {
		fl__cli_shell_quote(w->only, q, sizeof(q));
		printf(" --only-from %s", q);
	}
	if (w->report_sig)
		printf(" --report-on %d", w->report_sig);
	if (w->hang_ns > 0)
		printf(" --hang-after %" PRId64 "ms", (w->hang_ns + 999999) / 1000000);
	printf(" --");
	for (char **a = w->prog; *a; a++) {
		fl__cli_shell_quote(*a, q, sizeof(q));
		printf(" %s", q);
	}
	printf("\n");
}

static int report(const wrap_opts *w, const wrap_run *r, int rc)
{
	struct fl_report_opts ro = fl__cli_report_opts(&w->o, NULL);
	ro.backend = NULL;
	fl_report *rep = NULL;
	fl_err *e = fl_report_new("wrap", &ro, &rep);
	if (!e)
		e = add_to_report(rep, r, w->prog[0]);
	if (!e)
		e = fl__cli_write_report(&w->o, rep);
	fl_report_free(rep);
	if (!e)
		return rc;
	fprintf(stderr, "%s wrap: writing the report: ", fl__cli_prog);
	fl_err_print(stderr, e);
	fl_err_drop(e);
	return rc ? rc : EXIT_USAGE;
}

int fl__cli_wrap(int argc, char **argv)
{
	wrap_opts w = {{0}, NULL, NULL, 0, NULL, 0};
	int rc = parse(argc, argv, &w);
	if (rc)
		return rc;
	char *flat = NULL;
	uint64_t seed = 0;
	fl_err *e = fl__wrap_compile(w.o.faults, w.o.seed_set ? w.o.seed : fl__cli_random_seed(),
				     &flat, &seed);
	if (e) {
		fprintf(stderr, "%s wrap: --faults: ", fl__cli_prog);
		fl_err_print(stderr, e);
		fl_err_drop(e);
		return EXIT_USAGE;
	}
	w.o.seed = seed;
	char preload[PATH_MAX];
	if (!fl__wrap_find_preload(preload, sizeof(preload))) {
		fprintf(stderr, "%s wrap: %s not found (set FAULTLINE_PRELOAD to its path)\n",
			fl__cli_prog, PRELOAD_NAME);
		free(flat);
		return EXIT_USAGE;
	}
	/* the program inherits it (the preload takes it out of its environment) */
	if (w.only)
		setenv(FL_WRAP_ENV_ONLY, w.only, 1);
	else
		unsetenv(FL_WRAP_ENV_ONLY);
	if (w.report_sig) {
		char num[16];
		snprintf(num, sizeof(num), "%d", w.report_sig);
		setenv(FL_WRAP_ENV_SIGNAL, num, 1);
	} else {
		unsetenv(FL_WRAP_ENV_SIGNAL);
	}
	if (w.sweep) {
		free(flat);
		return fl__wrap_sweep(&w, preload);
	}
	wrap_run r;
	rc = fl__wrap_run_once(w.prog, preload, flat, w.hang_ns, &r);
	free(flat);
	if (rc)
		return rc;
	if (r.exec_errno) {
		fprintf(stderr, "%s wrap: %s: %s\n", fl__cli_prog, w.prog[0],
			strerror(r.exec_errno));
		return EXIT_USAGE;
	}
	if (!r.have_acct) {
		fprintf(stderr,
			"%s wrap: %s ran without the preload (a static or setuid program?): "
			"nothing was wrapped\n",
			fl__cli_prog, w.prog[0]);
		return EXIT_USAGE;
	}
	fl__wrap_symbolise_acct(w.prog, &r.acct);
	rc = verdict(&r, w.prog[0]);
	if (rc)
		print_replay(&w);
	return report(&w, &r, rc);
}
