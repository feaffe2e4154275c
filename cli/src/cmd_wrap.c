/*
 * cmd_wrap.c - `faultline wrap [options] -- PROGRAM ARGS...`: runs an
 * unmodified, dynamically linked program with libfaultline-preload.so
 * preloaded (wrap/), its libc calls fault points (docs/wrap.md).
 *
 * The verb compiles the plan (cmd_wrap_plan.c), names an accounting file
 * the preload maps shared, forks and execs the program with LD_PRELOAD,
 * waits, then reads the counts (complete even after a crash: they were
 * updated in place) and prints them with the program's outcome. The exit
 * status is the verdict: 0 the program exited 0, 1 it exited non-zero or
 * was killed by a signal, 2 usage or environment (the program could not
 * be started, the preload did not load).
 */
#include "cli_internal.h"
#include "wrap_internal.h"

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

#define PRELOAD_NAME "libfaultline-preload.so"

typedef struct wrap_opts {
	fl__cli_opts o;
	char **prog; /* NULL-terminated, from argv */
} wrap_opts;

/* One run of the program. */
typedef struct wrap_run {
	int status;     /* waitpid's */
	int exec_errno; /* the program could not be started: why; else 0 */
	double secs;
	struct fl__wrap_acct acct;
	bool have_acct; /* the preload started in the program */
} wrap_run;

static int usage_err(const char *what, const char *arg)
{
	fprintf(stderr, "%s wrap: %s%s", fl__cli_prog, what, arg);
	fprintf(stderr,
		"\nusage: %s wrap [--faults PLAN] [--seed N] [--report DIR] [--json F] "
		"[--junit F] -- PROGRAM ARGS...\n",
		fl__cli_prog);
	return EXIT_USAGE;
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
		else
			return usage_err("unknown option ", a);
		i++;
	}
	if (!w->prog || !w->prog[0])
		return usage_err("name the program to run after --", "");
	return 0;
}

/* The preload: $FAULTLINE_PRELOAD, else beside this program in the build
 * tree (cli/../wrap/), else where the package installs it (relative to
 * the installed command, FL_WRAP_INSTALL_REL). */
static bool find_preload(char *out, size_t cap)
{
	const char *env = getenv("FAULTLINE_PRELOAD");
	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return access(out, R_OK) == 0;
	}
	char exe[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	const char *rel[] = {"../wrap", FL_WRAP_INSTALL_REL};
	for (size_t i = 0; i < 2; i++) {
		int w = snprintf(out, cap, "%s/%s/%s", exe, rel[i], PRELOAD_NAME);
		if (w > 0 && (size_t)w < cap && access(out, R_OK) == 0)
			return true;
	}
	return false;
}

/* In the child: the environment, then exec; on failure errno to fd. */
static void child(char **prog, const char *preload, const char *plan, const char *acct, int fd)
{
	const char *old = getenv("LD_PRELOAD");
	char lp[PATH_MAX * 2];
	snprintf(lp, sizeof(lp), "%s%s%s", preload, old && *old ? ":" : "", old ? old : "");
	setenv("LD_PRELOAD", lp, 1);
	setenv(FL_WRAP_ENV_PLAN, plan, 1);
	setenv(FL_WRAP_ENV_OUT, acct, 1);
	execvp(prog[0], prog);
	int e = errno;
	(void)!write(fd, &e, sizeof(e));
	_exit(127);
}

/* Runs the program once under the compiled plan. Returns 0 or EXIT_USAGE
 * after printing why (no temporary file, no fork). */
static int run_once(char **prog, const char *preload, const char *plan, wrap_run *r)
{
	memset(r, 0, sizeof(*r));
	const char *t = getenv("TMPDIR");
	char acct[PATH_MAX];
	snprintf(acct, sizeof(acct), "%s/fl-wrap-XXXXXX", t && *t ? t : "/tmp");
	int afd = mkstemp(acct);
	int p[2] = {-1, -1};
	if (afd < 0 || pipe(p) != 0 || fcntl(p[1], F_SETFD, FD_CLOEXEC) != 0) {
		fprintf(stderr, "%s wrap: %s: %s\n", fl__cli_prog, afd < 0 ? acct : "pipe",
			strerror(errno));
		if (afd >= 0)
			close(afd), unlink(acct);
		return EXIT_USAGE;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(prog, preload, plan, acct, p[1]);
	}
	close(p[1]);
	if (pid < 0) {
		fprintf(stderr, "%s wrap: fork: %s\n", fl__cli_prog, strerror(errno));
		close(p[0]), close(afd), unlink(acct);
		return EXIT_USAGE;
	}
	if (read(p[0], &r->exec_errno, sizeof(r->exec_errno)) != sizeof(r->exec_errno))
		r->exec_errno = 0;
	close(p[0]);
	while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
		;
	r->secs = fl__cli_since(&t0);
	r->have_acct = pread(afd, &r->acct, sizeof(r->acct), 0) == (ssize_t)sizeof(r->acct) &&
		       r->acct.magic == FL_WRAP_MAGIC && r->acct.version == FL_WRAP_VERSION &&
		       r->acct.started;
	close(afd);
	unlink(acct);
	return 0;
}

/* "exited 0", "exited 3", "killed by signal 11 (Segmentation fault)". */
static void outcome_text(const wrap_run *r, char *out, size_t cap)
{
	if (WIFSIGNALED(r->status))
		snprintf(out, cap, "killed by signal %d (%s)", WTERMSIG(r->status),
			 strsignal(WTERMSIG(r->status)));
	else
		snprintf(out, cap, "exited %d", WEXITSTATUS(r->status));
}

static void action_text(uint32_t action, int32_t err, char *out, size_t cap)
{
	if (action == FL_WRAP_ACT_ERROR)
		snprintf(out, cap, "error(%s)", fl__wrap_errno_name(err));
	else
		snprintf(out, cap, "%s",
			 action < FL_WRAP_NACT ? fl__wrap_action_names[action] : "?");
}

static void print_acct(const struct fl__wrap_acct *a)
{
	printf("fault accounting (seed %" PRIu64 "):\n  %-22s %10s  %s\n", a->seed, "point",
	       "evals", "fired");
	for (int p = 0; p < FL_WRAP_NPOINTS; p++) {
		if (!a->evals[p])
			continue;
		printf("  %-22s %10" PRIu64 " ", fl__wrap_point_names[p], a->evals[p]);
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
		action_text(f->action, f->err, act, sizeof(act));
		printf("  %s eval %" PRIu64 ", thread %u: %s\n",
		       f->point < FL_WRAP_NPOINTS ? fl__wrap_point_names[f->point] : "?", f->eval,
		       f->thread, act);
		for (uint32_t j = 0; j < f->nframes && j < FL_WRAP_FRAMES; j++)
			printf("      at %.*s\n", FL_WRAP_FRAME_LEN, f->frames[j]);
	}
}

/* The three leak checks, judged at the program's exit against what was
 * there when its start-up ended. */
typedef struct leak_check {
	const char *name;
	uint64_t n;     /* what leaked: descriptors, bytes, threads */
	char msg[1400]; /* what and where */
} leak_check;

static void leak_checks(const struct fl__wrap_leaks *L, leak_check c[3])
{
	c[0] = (leak_check){"no leaked fds", L->nfds, ""};
	c[1] = (leak_check){"no leaked heap", L->heap_bytes, ""};
	c[2] = (leak_check){"no leaked threads", L->threads, ""};
	size_t k =
		(size_t)snprintf(c[0].msg, sizeof(c[0].msg), "%u descriptors left open", L->nfds);
	for (uint32_t i = 0; i < L->nfds && i < FL_WRAP_LEAK_FDS && k < sizeof(c[0].msg); i++)
		k += (size_t)snprintf(c[0].msg + k, sizeof(c[0].msg) - k, "%s %d -> %.*s",
				      i ? "," : ":", L->fd[i], FL_WRAP_FRAME_LEN, L->fd_target[i]);
	k = (size_t)snprintf(c[1].msg, sizeof(c[1].msg),
			     "%" PRIu64 " bytes in %" PRIu64 " blocks not freed", L->heap_bytes,
			     L->heap_blocks);
	for (uint32_t i = 0; i < L->nsites && i < FL_WRAP_LEAK_SITES && k < sizeof(c[1].msg); i++)
		k += (size_t)snprintf(c[1].msg + k, sizeof(c[1].msg) - k,
				      "%s %" PRIu64 " bytes from %.*s", i ? "," : ":",
				      L->site_bytes[i], FL_WRAP_FRAME_LEN, L->site[i]);
	if (L->heap_untracked && k < sizeof(c[1].msg))
		snprintf(c[1].msg + k, sizeof(c[1].msg) - k,
			 " (%" PRIu64 " blocks not followed: the table was full)",
			 L->heap_untracked);
	snprintf(c[2].msg, sizeof(c[2].msg), "%u threads still alive at exit", L->threads);
}

static bool leaks_ok(const struct fl__wrap_leaks *L)
{
	return !L->judged || (!L->nfds && !L->heap_bytes && !L->threads);
}

static void print_leaks(const struct fl__wrap_leaks *L)
{
	if (!L->judged) {
		printf("leaks: not judged (the program did not exit through exit())\n");
		return;
	}
	leak_check c[3];
	leak_checks(L, c);
	for (int i = 0; i < 3; i++)
		printf("%s: %s (%s)\n", c[i].name, c[i].n ? "FAIL" : "pass", c[i].msg);
}

/* The report: the program's outcome as a check, the counts as counters,
 * the logged firings as fault events. */
static fl_err *add_to_report(fl_report *rep, const wrap_run *r, const char *prog)
{
	char out[128], msg[PATH_MAX + 160], key[96];
	outcome_text(r, out, sizeof(out));
	bool ok = WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0;
	snprintf(msg, sizeof(msg), "%s %s", prog, out);
	fl_err *e = fl_report_add_check(rep, "program exit", ok ? FL_REPORT_PASS : FL_REPORT_FAIL,
					WIFEXITED(r->status) ? WEXITSTATUS(r->status) : NAN, 0,
					NULL, msg);
	if (!e)
		rep->checks[rep->nchecks - 1].time_ns = (int64_t)(r->secs * 1e9);
	const struct fl__wrap_acct *a = &r->acct;
	leak_check c[3];
	leak_checks(&a->leaks, c);
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
		action_text(a->log[i].action, a->log[i].err, act, sizeof(act));
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
	outcome_text(r, out, sizeof(out));
	print_acct(&r->acct);
	print_leaks(&r->acct.leaks);
	bool ok = WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0 && leaks_ok(&r->acct.leaks);
	printf("wrap %s: %s in %.2f s: %s\n", prog, out, r->secs, ok ? "PASS" : "FAIL");
	return ok ? EXIT_PASS : EXIT_CHECK_FAILED;
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
	wrap_opts w = {{0}, NULL};
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
	if (!find_preload(preload, sizeof(preload))) {
		fprintf(stderr, "%s wrap: %s not found (set FAULTLINE_PRELOAD to its path)\n",
			fl__cli_prog, PRELOAD_NAME);
		free(flat);
		return EXIT_USAGE;
	}
	wrap_run r;
	rc = run_once(w.prog, preload, flat, &r);
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
	rc = verdict(&r, w.prog[0]);
	if (rc)
		print_replay(&w);
	return report(&w, &r, rc);
}
