/*
 * cmd_stress.c - `faultline stress`: random seeds and fault plans, in
 * batches of forked children (batch.c), until the first violation.
 *
 * Each iteration is a fresh fl_scenario_run with one pipeline run, its own
 * seed (splitmix64 of the base seed and the iteration index) and a fault
 * plan drawn by that seed from the scenario's stress_faults.
 */
#include "cli_internal.h"

#include <fl/fault.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What one target's stress did, for the report. */
typedef struct stress_sum {
	long done;          /* iterations that ran */
	char verdict[4200]; /* the failure: iteration, replay line, checks; "" */
} stress_sum;

/* Without a terminal (a CI log), a line on stderr every 5 s: iterations
 * done, failures (none yet: stress stops at the first), rate and ETA. */
static void progress(const char *name, long done, long n, const struct timespec *t0, double *last)
{
	double el = fl__cli_since(t0);
	if (el - *last < 5.0 || done >= n)
		return;
	*last = el;
	double rate = el > 0 ? (double)done / el : 0;
	fprintf(stderr, "stress %s: %ld/%ld iterations, 0 failures, %.0f/s, about %.0f s left\n",
		name, done, n, rate, rate > 0 ? (double)(n - done) / rate : 0.0);
}

/* Prints a failed batch (the iteration, its checks, the replay command)
 * and fills *sum; returns the exit status. */
static int report_failure(const fl_scenario *s, const char *spec, long n,
			  const fl__cli_batch_out *b, int status, stress_sum *sum)
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
	fl__cli_replay_line(replay, sizeof(replay), spec, b->backend, b->seed, plan, NULL);
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
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bool tty = isatty(STDOUT_FILENO);
	long done = 0;
	double last = 0;
	if (fl__cli_nplans(s))
		printf("stress %s: %ld iterations, base seed %" PRIu64 ", %zu fault plans\n",
		       s->name, n, base, fl__cli_nplans(s));
	else
		printf("stress %s: %ld iterations, base seed %" PRIu64 ", the scenario's own "
		       "faults (seeded per iteration)\n",
		       s->name, n, base);
	while (done < n) {
		if (o->duration_ns > 0 && fl__cli_since(&t0) * 1e9 >= (double)o->duration_ns)
			break;
		long to = done + batch < n ? done + batch : n;
		fl__cli_batch bt = {.s = s, .base = base, .from = done, .to = to};
		fl__cli_batch_out b;
		int status;
		if (fl__cli_batch_run(&bt, &b, &status))
			return EXIT_USAGE;
		bool clean = b.clean;
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
	double el = fl__cli_since(&t0);
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
	uint64_t base = o.seed_set ? o.seed : fl__cli_random_seed();
	o.seed = base;
	struct fl_report_opts ro = fl__cli_report_opts(&o, NULL);
	fl_report *rep = NULL;
	fl_err *werr = rc ? NULL : fl_report_new("stress", &ro, &rep);
	for (size_t i = 0; i < t.n && !rc && !werr; i++) {
		stress_sum sum = {0, ""};
		struct timespec a;
		clock_gettime(CLOCK_MONOTONIC, &a);
		rc = stress_one(t.s[i], t.spec[i], &o, base, &sum);
		double secs = fl__cli_since(&a);
		/* one check per target: its iterations, and a failure's replay */
		char name[FL_SCENARIO_NAME_MAX + 16], key[FL_SCENARIO_NAME_MAX + 32];
		snprintf(name, sizeof(name), "%s: stress", t.s[i]->name);
		werr = fl_report_add_check(rep, name,
					   sum.verdict[0] ? FL_REPORT_FAIL : FL_REPORT_PASS,
					   (double)sum.done, NAN, NULL,
					   sum.verdict[0] ? sum.verdict : "no violation");
		if (!werr) /* the testcase time: this target's whole stress */
			rep->checks[rep->nchecks - 1].time_ns = (int64_t)(secs * 1e9);
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
