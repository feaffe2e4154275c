/*
 * cmd_stress.c - `faultline stress`: random seeds and fault plans, in
 * batches of forked children, until the first violation.
 *
 * stress runs iterations in batches: one forked child per batch runs its
 * iterations in-process (a fork per iteration would dominate the cost of
 * small scenarios), each iteration a fresh fl_scenario_run with one
 * pipeline run, its own seed (splitmix64 of the base seed and the
 * iteration index) and a fault plan drawn by that seed from the
 * scenario's stress_faults. Before each iteration the child writes
 * "B index seed plan" to a pipe, so whatever kills or hangs the child,
 * the parent knows which seed to hand to replay. A failed iteration is
 * reported as "F ..." followed by its failed checks, and the child exits.
 */
#include "cli_internal.h"

#include <fl/fault.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t random_seed(void)
{
	uint64_t s = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &s, sizeof(s)) != (ssize_t)sizeof(s))
			s = 0;
		close(fd);
	}
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return s ^ (uint64_t)t.tv_nsec ^ ((uint64_t)getpid() << 32);
}

static size_t nplans(const fl_scenario *s)
{
	size_t n = 0;
	while (s->stress_faults && s->stress_faults[n])
		n++;
	return n;
}

static void write_line(int fd, const char *fmt, ...) FL_PRINTF(2, 3);
static void write_line(int fd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	for (ssize_t off = 0, k; off < n; off += k)
		if ((k = write(fd, buf + off, (size_t)(n - off))) <= 0)
			return;
}

static void batch_child(const fl_scenario *s, uint64_t base, long from, long to, int fd)
{
	size_t np = nplans(s);
	write_line(fd, "K %s\n", fl_sched_backend());
	for (long i = from; i < to; i++) {
		uint64_t seed = splitmix(base + (uint64_t)i);
		long pi = np ? (long)(seed % np) : -1;
		write_line(fd, "B %ld %" PRIu64 " %ld\n", i, seed, pi);
		fl_scenario_params p =
			fl__cli_iter_params(s, seed, pi >= 0 ? s->stress_faults[pi] : NULL);
		fl_scenario_result r;
		fl_scenario_result_init(&r, s);
		fl_err_drop(fl_scenario_run(s, &p, &r));
		if (!fl_scenario_result_passed(&r)) {
			write_line(fd, "F %ld %" PRIu64 " %ld %d\n", i, seed, pi, r.hung ? 1 : 0);
			if (r.run_err[0])
				write_line(fd, "C ran: %s\n", r.run_err);
			for (size_t k = 0; k < r.nchecks; k++)
				if (r.checks[k].verdict == FL_REPORT_FAIL)
					write_line(fd, "C %s: %s\n", r.checks[k].name,
						   r.checks[k].message);
			fl_scenario_result_destroy(&r);
			_exit(1);
		}
		fl_scenario_result_destroy(&r);
	}
	write_line(fd, "E\n");
	_exit(0);
}

typedef struct batch_out {
	char backend[32]; /* the backend the child ran on */
	long last;        /* last iteration started */
	uint64_t seed;
	long plan;
	bool failed, hung;
	char checks[2048];
} batch_out;

static void read_batch(int fd, batch_out *b)
{
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return;
	}
	char line[1200];
	size_t len = 0;
	while (fgets(line, sizeof(line), f)) {
		long i, pi;
		uint64_t seed;
		int hung;
		if (line[0] == 'K') {
			snprintf(b->backend, sizeof(b->backend), "%.*s",
				 (int)strcspn(line + 2, "\n"), line + 2);
		} else if (line[0] == 'B' &&
			   sscanf(line + 2, "%ld %" SCNu64 " %ld", &i, &seed, &pi) == 3) {
			b->last = i, b->seed = seed, b->plan = pi;
		} else if (line[0] == 'F' &&
			   sscanf(line + 2, "%ld %" SCNu64 " %ld %d", &i, &seed, &pi, &hung) == 4) {
			b->failed = true, b->hung = hung != 0;
		} else if (line[0] == 'C' && len < sizeof(b->checks) - 1) {
			len += (size_t)snprintf(b->checks + len, sizeof(b->checks) - len, "  %s",
						line + 2);
		}
	}
	fclose(f);
}

/* The replay command line for one iteration, into out. */
static void replay_line(char *out, size_t cap, const char *spec, const char *backend, uint64_t seed,
			const char *plan)
{
	char q[1200], t[400];
	fl__cli_shell_quote(spec, t, sizeof(t));
	int n = snprintf(out, cap, "%s replay %" PRIu64 " %s", fl__cli_argv0, seed, t);
	if (plan && n >= 0 && (size_t)n < cap) {
		fl__cli_shell_quote(plan, q, sizeof(q));
		n += snprintf(out + n, cap - (size_t)n, " --faults %s", q);
	}
	if (backend[0] && n >= 0 && (size_t)n < cap)
		snprintf(out + n, cap - (size_t)n, " --backend %s", backend);
}

/* What one target's stress did, for the report. */
typedef struct stress_sum {
	long done;          /* iterations that ran */
	char verdict[4200]; /* the failure: iteration, replay line, checks; "" */
} stress_sum;

/* Without a terminal (a CI log), a line on stderr every 5 s: iterations
 * done, failures (none yet: stress stops at the first), rate and ETA. */
static void progress(const char *name, long done, long n, const struct timespec *t0, double *last)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	double el = (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
	if (el - *last < 5.0 || done >= n)
		return;
	*last = el;
	double rate = el > 0 ? (double)done / el : 0;
	fprintf(stderr, "stress %s: %ld/%ld iterations, 0 failures, %.0f/s, about %.0f s left\n",
		name, done, n, rate, rate > 0 ? (double)(n - done) / rate : 0.0);
}

/* Prints a failed batch (the iteration, its checks, the replay command)
 * and fills *sum; returns the exit status. */
static int report_failure(const fl_scenario *s, const char *spec, long n, const batch_out *b,
			  int status, stress_sum *sum)
{
	const char *plan = b->plan >= 0 ? s->stress_faults[b->plan] : NULL;
	printf("stress %s: iteration %ld of %ld FAILED (seed %" PRIu64 "%s%s)\n", s->name,
	       b->last + 1, n, b->seed, plan ? ", plan " : "", plan ? plan : "");
	if (WIFSIGNALED(status))
		printf("  crashed: signal %d (%s)\n", WTERMSIG(status),
		       strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 3)
		printf("  hung: the watchdog could not free it (dump on stderr)\n");
	fputs(b->checks, stdout);
	char replay[1700];
	replay_line(replay, sizeof(replay), spec, b->backend, b->seed, plan);
	printf("replay: %s\n", replay);
	sum->done = b->last + 1;
	snprintf(sum->verdict, sizeof(sum->verdict),
		 "iteration %ld of %ld failed%s; replay: %s\n%s", b->last + 1, n,
		 WIFSIGNALED(status) ? " (crashed)" : "", replay, b->checks);
	bool hang = b->hung || (WIFEXITED(status) && WEXITSTATUS(status) == 3);
	return hang ? EXIT_HANG : EXIT_CHECK_FAILED;
}

/* Stresses one scenario; returns the exit status, fills *sum. */
static int stress_one(const fl_scenario *s, const char *spec, const fl__cli_opts *o, uint64_t base,
		      stress_sum *sum)
{
	long n = o->iterations > 0 ? o->iterations : 1000, batch = o->batch > 0 ? o->batch : 200;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool tty = isatty(STDOUT_FILENO);
	long done = 0;
	double last = 0;
	if (nplans(s))
		printf("stress %s: %ld iterations, base seed %" PRIu64 ", %zu fault plans\n",
		       s->name, n, base, nplans(s));
	else
		printf("stress %s: %ld iterations, base seed %" PRIu64 ", the scenario's own "
		       "faults (seeded per iteration)\n",
		       s->name, n, base);
	while (done < n) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double el =
			(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (o->duration_ns > 0 && el * 1e9 >= (double)o->duration_ns)
			break;
		long to = done + batch < n ? done + batch : n;
		int pfd[2];
		if (pipe(pfd) != 0) {
			fprintf(stderr, "%s: pipe: %s\n", fl__cli_prog, strerror(errno));
			return EXIT_USAGE;
		}
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();
		if (pid < 0) {
			fprintf(stderr, "%s: fork: %s\n", fl__cli_prog, strerror(errno));
			return EXIT_USAGE;
		}
		if (pid == 0) {
			close(pfd[0]);
			batch_child(s, base, done, to, pfd[1]);
		}
		close(pfd[1]);
		batch_out b = {.last = -1, .plan = -1};
		read_batch(pfd[0], &b);
		int status = 0;
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0 && !b.failed;
		if (!clean) {
			if (tty)
				printf("\r\033[K");
			return report_failure(s, spec, n, &b, status, sum);
		}
		done = to;
		if (tty) {
			printf("\r\033[K%s: %ld/%ld iterations, 0 failures", s->name, done, n);
			fflush(stdout);
		} else {
			progress(s->name, done, n, &t0, &last);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double el = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (tty)
		printf("\r\033[K");
	printf("stress %s: %ld iterations in %.1f s: 0 failures (0 hangs, 0 crashes, 0 swallowed "
	       "errors, 0 lost items, 0 leaks)\n",
	       s->name, done, el);
	sum->done = done;
	return EXIT_PASS;
}

int fl__cli_stress(int argc, char **argv)
{
	fl__cli_opts o = {0};
	fl__cli_targets t = {0};
	int rc = fl__cli_parse(argc, argv, &o, &t, "stress");
	if (!rc && t.n == 0) {
		fprintf(stderr, "%s stress: name a scenario or job file\n", fl__cli_prog);
		rc = EXIT_USAGE;
	}
	if (!rc && o.faults) {
		fprintf(stderr,
			"%s stress: plans come from the scenario's stress set; "
			"use replay or run for --faults\n",
			fl__cli_prog);
		rc = EXIT_USAGE;
	}
	if (!rc)
		rc = fl__cli_backend(o.backend, false);
	uint64_t base = o.seed_set ? o.seed : random_seed();
	o.seed = base;
	struct fl_report_opts ro = fl__cli_report_opts(&o, NULL);
	fl_report *rep = NULL;
	fl_err *werr = rc ? NULL : fl_report_new("stress", &ro, &rep);
	for (size_t i = 0; i < t.n && !rc && !werr; i++) {
		stress_sum sum = {0, ""};
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		rc = stress_one(t.s[i], t.spec[i], &o, base, &sum);
		clock_gettime(CLOCK_MONOTONIC, &b);
		/* one check per target: its iterations, and a failure's replay */
		char name[FL_SCENARIO_NAME_MAX + 16], key[FL_SCENARIO_NAME_MAX + 32];
		snprintf(name, sizeof(name), "%s: stress", t.s[i]->name);
		werr = fl_report_add_check(rep, name,
					   sum.verdict[0] ? FL_REPORT_FAIL : FL_REPORT_PASS,
					   (double)sum.done, NAN, NULL,
					   sum.verdict[0] ? sum.verdict : "no violation");
		if (!werr) /* the testcase time: this target's whole stress */
			rep->checks[rep->nchecks - 1].time_ns =
				(int64_t)(b.tv_sec - a.tv_sec) * 1000000000 +
				(b.tv_nsec - a.tv_nsec);
		snprintf(key, sizeof(key), "%s.iterations", t.s[i]->name);
		if (!werr)
			werr = fl_report_add_counter(rep, key, sum.done);
	}
	if (!werr && rep)
		werr = fl__cli_write_report(&o, rep);
	fl_report_free(rep);
	fl__cli_targets_free(&t);
	if (werr) {
		fprintf(stderr, "%s stress: writing the report: ", fl__cli_prog);
		fl_err_print(stderr, werr);
		fl_err_drop(werr);
		return rc ? rc : EXIT_USAGE;
	}
	return rc;
}
