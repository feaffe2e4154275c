/*
 * cmd_run.c - `faultline run`: every target in a child process (crash
 * isolation), a verdict table, and the report files.
 *
 * --duration calibrates: each scenario first runs its default iterations
 * once, then runs again with as many iterations as fill the duration at
 * the measured rate (the second run is the one reported).
 */
#include "cli_internal.h"

#include <fl/report.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fl_version_internal.h"

static fl_err *write_outputs(const fl__cli_opts *o, bool all, fl_scenario_result *const *res,
			     size_t n)
{
	const char *name = all ? "default" : n == 1 ? res[0]->scenario->name : "selection";
	struct fl_report_opts ro = fl__cli_report_opts(o, NULL);
	fl_report *rep;
	fl_err *err =
		fl_scenario_report_new(name, (const fl_scenario_result *const *)res, n, &ro, &rep);
	if (err)
		return err;
	err = fl__cli_write_report(o, rep);
	fl_report_free(rep);
	return err;
}

/* One scenario, isolated unless asked not to; false on an environment
 * error (printed). */
static bool run_one(const fl__cli_opts *o, const fl_scenario *s, fl_scenario_result *r)
{
	fl_scenario_params p = {.iterations = o->iterations,
				.seed = o->seed,
				.faults = o->faults,
				.skip_timing = o->skip_timing,
				.hang_ns = s->hang_ns,
				.heap_tolerance = s->heap_tolerance};
	fl_err *err;
	if (o->duration_ns > 0) {
		fl_scenario_result probe;
		fl_scenario_result_init(&probe, s);
		err = o->no_isolate ? fl_scenario_run(s, &p, &probe)
				    : fl_scenario_run_isolated(s, &p, &probe);
		int its = probe.iterations > 0 ? probe.iterations : 1;
		double per = (double)(probe.duration_ns > 0 ? probe.duration_ns : 1) / its;
		fl_scenario_result_destroy(&probe);
		fl_err_drop(err);
		double want = (double)o->duration_ns / per;
		p.iterations = want < 1 ? 1 : want > 1e7 ? 10000000 : (int)want;
	}
	err = o->no_isolate ? fl_scenario_run(s, &p, r) : fl_scenario_run_isolated(s, &p, r);
	if (!err)
		return true;
	fprintf(stderr, "%s: ", fl__cli_prog);
	fl_err_print(stderr, err);
	fl_err_drop(err);
	return false;
}

/* Without a terminal (a CI log), a line on stderr at most every 5 s, as
 * the next scenario starts: done, failures, rate, time left, what runs. */
static void progress(size_t done, size_t n, size_t failed, const char *next,
		     const struct timespec *t0, double *last)
{
	double el = fl__cli_since(t0);
	if (el - *last < 5.0)
		return;
	*last = el;
	double rate = el > 0 ? (double)done / el : 0;
	fprintf(stderr,
		"%s run: %zu/%zu scenarios, %zu failed, %.2f/s, about %.0f s left; now %s\n",
		fl__cli_prog, done, n, failed, rate, rate > 0 ? (double)(n - done) / rate : 0.0,
		next);
}

int fl__cli_run(int argc, char **argv)
{
	fl__cli_opts o = {.report_dir = "out", .seed = 1};
	fl__cli_targets t = {0};
	int rc = fl__cli_parse(argc, argv, &o, &t, "run");
	if (!rc)
		rc = fl__cli_backend(o.backend, false);
	if (rc) {
		fl__cli_targets_free(&t);
		return rc;
	}
	bool all = t.n == 0;
	if (all)
		fl__cli_target_all(&t);
	if (t.n == 0) { /* a gate that checked nothing must not pass */
		fprintf(stderr, "%s run: no scenario is registered (FL_SCENARIO, fl/scenario.h)\n",
			fl__cli_prog);
		fl__cli_targets_free(&t);
		return EXIT_USAGE;
	}
	fl_scenario_result **res = calloc(t.n, sizeof(*res));
	bool env_ok = res != NULL, tty = isatty(STDOUT_FILENO), hung = false;
	size_t n = 0, nfailed = 0;
	struct timespec t0;
	double last = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; env_ok && i < t.n; i++) {
		if (tty) { /* one status line, rewritten in place */
			printf("\r\033[K[%zu/%zu] %s ...", i + 1, t.n, t.s[i]->name);
			fflush(stdout);
		} else {
			progress(i, t.n, nfailed, t.s[i]->name, &t0, &last);
		}
		fl_scenario_result *r = malloc(sizeof(*r));
		if (!r) {
			env_ok = false;
			break;
		}
		fl_scenario_result_init(r, t.s[i]);
		res[n++] = r;
		/* A run error means the scenario could not be carried out (no
		 * memory, no thread): the environment's failure, exit 2. */
		if (!run_one(&o, t.s[i], r))
			env_ok = false;
		hung |= r->hung;
		nfailed += !fl_scenario_result_passed(r);
	}
	if (tty)
		printf("\r\033[K");
	fl__cli_print_table(res, n);
	size_t count[3] = {0};
	bool failed = false;
	for (size_t i = 0; i < n; i++) {
		failed |= !fl_scenario_result_passed(res[i]);
		for (size_t k = 0; k < res[i]->nchecks; k++)
			count[res[i]->checks[k].verdict]++;
	}
	printf("%zu scenario%s, %zu checks: %zu passed, %zu failed, %zu skipped\n", n,
	       n == 1 ? "" : "s", count[0] + count[1] + count[2], count[FL_REPORT_PASS],
	       count[FL_REPORT_FAIL], count[FL_REPORT_SKIP]);
	if (hung)
		printf("hang detected: see the task dump on stderr\n");
	fl_err *err = res ? write_outputs(&o, all, res, n) : NULL;
	if (err) {
		fprintf(stderr, "%s: writing the report: ", fl__cli_prog);
		fl_err_print(stderr, err);
		fl_err_drop(err);
		env_ok = false;
	} else if (res) {
		printf("report: %s/index.html (also report.json, junit.xml, summary.md)\n",
		       o.report_dir);
	}
	for (size_t i = 0; i < n; i++) {
		fl_scenario_result_destroy(res[i]);
		free(res[i]);
	}
	free(res);
	fl__cli_targets_free(&t);
	return !env_ok ? EXIT_USAGE : hung ? EXIT_HANG : failed ? EXIT_CHECK_FAILED : EXIT_PASS;
}
