/*
 * cmd_run.c - `faultline run`: every target in a child process (crash
 * isolation), a verdict table, and the report files.
 *
 * --duration calibrates: each scenario first runs its default iterations
 * once, then runs again with as many iterations as fill the duration at
 * the measured rate (the second run is the one reported).
 */
#include "cmd.h"

#include <fl/report.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FL_GIT_REV
#define FL_GIT_REV ""
#endif

static void fmt_value(double v, const char *unit, char *buf, size_t cap)
{
	if (isnan(v))
		snprintf(buf, cap, "-");
	else if (strcmp(unit, "ns") == 0)
		fl_report_format_ns(v, true, buf, cap);
	else
		snprintf(buf, cap, "%.10g%s%s", v, unit[0] ? " " : "", unit);
}

static void print_rule(int w0, int w1)
{
	printf("%.*s  %.*s  %.7s  %.12s  %.12s\n", w0, "----------------------------------------",
	       w1, "------------------------------------------------------------",
	       "-------", "------------", "------------");
}

void cmd_print_table(fl_scenario_result *const *res, size_t n)
{
	int w0 = (int)strlen("scenario"), w1 = (int)strlen("check");
	for (size_t i = 0; i < n; i++) {
		int l0 = (int)strlen(res[i]->scenario->name);
		w0 = l0 > w0 ? l0 : w0;
		for (size_t k = 0; k < res[i]->nchecks; k++) {
			int l1 = (int)strlen(res[i]->checks[k].name);
			w1 = l1 > w1 ? l1 : w1;
		}
	}
	w0 = w0 > 40 ? 40 : w0;
	w1 = w1 > 60 ? 60 : w1;
	printf("%-*s  %-*s  %-7s  %12s  %12s\n", w0, "scenario", w1, "check", "verdict",
	       "measured", "threshold");
	print_rule(w0, w1);
	for (size_t i = 0; i < n; i++) {
		const fl_scenario_result *r = res[i];
		if (r->run_err[0])
			printf("%-*s  %-*s  %-7s  %s\n", w0, r->scenario->name, w1, "ran", "FAIL",
			       r->run_err);
		for (size_t k = 0; k < r->nchecks; k++) {
			const fl_scenario_verdict *c = &r->checks[k];
			char m[32], t[32];
			fmt_value(c->measured, c->unit, m, sizeof(m));
			fmt_value(c->threshold, c->unit, t, sizeof(t));
			const char *v = c->verdict == FL_REPORT_PASS   ? "pass"
					: c->verdict == FL_REPORT_FAIL ? "FAIL"
								       : "skip";
			printf("%-*s  %-*s  %-7s  %12s  %12s\n", w0, k ? "" : r->scenario->name, w1,
			       c->name, v, m, t);
			if (c->verdict != FL_REPORT_PASS && c->message[0])
				printf("%-*s  %-*s  %s\n", w0, "", w1, "", c->message);
		}
	}
	print_rule(w0, w1);
}

/* mkdir -p: NULL, or an errno error naming the path. */
static fl_err *make_dirs(const char *path)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return fl_err_wrap(FL_ERR_INVAL, "report directory name too long");
	for (char *p = buf + 1;; p++) {
		bool end = *p == '\0';
		if (*p == '/' || end) {
			*p = '\0';
			if (mkdir(buf, 0777) != 0 && errno != EEXIST)
				return fl_err_errno(errno, "mkdir %s", buf);
			if (end)
				return NULL;
			*p = '/';
		}
	}
}

static fl_err *write_outputs(const cmd_opts *o, bool all, fl_scenario_result *const *res,
			     size_t n)
{
	const char *name = all ? "default" : n == 1 ? res[0]->scenario->name : "selection";
	struct fl_report_opts ro = {.git_rev = FL_GIT_REV, .seed = o->seed,
				    .fault_plan = o->faults};
	fl_report *rep;
	fl_err *err = fl_scenario_report_new(name, (const fl_scenario_result *const *)res, n, &ro,
					     &rep);
	if (err)
		return err;
	if (!(err = make_dirs(o->report_dir)))
		err = fl_report_write_all(rep, o->report_dir);
	if (!err && o->json)
		err = fl_report_write_json(rep, o->json);
	if (!err && o->junit)
		err = fl_report_write_junit(rep, o->junit);
	fl_report_free(rep);
	return err;
}

/* One scenario, isolated unless asked not to; false on an environment
 * error (printed). */
static bool run_one(const cmd_opts *o, const fl_scenario *s, fl_scenario_result *r)
{
	fl_scenario_params p = {.iterations = o->iterations, .seed = o->seed,
				.faults = o->faults, .skip_timing = o->skip_timing};
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
	fprintf(stderr, "faultline: ");
	fl_err_print(stderr, err);
	fl_err_drop(err);
	return false;
}

int cmd_run(int argc, char **argv)
{
	cmd_opts o = {.report_dir = "out", .seed = 1};
	cmd_targets t = {0};
	int rc = cmd_parse(argc, argv, &o, &t, "run");
	if (!rc)
		rc = cmd_backend(o.backend, false);
	if (rc) {
		cmd_targets_free(&t);
		return rc;
	}
	bool all = t.n == 0;
	if (all)
		cmd_target_all(&t);
	fl_scenario_result **res = calloc(t.n, sizeof(*res));
	bool env_ok = res != NULL, tty = isatty(STDOUT_FILENO), hung = false;
	size_t n = 0;
	for (size_t i = 0; env_ok && i < t.n; i++) {
		if (tty) { /* one status line, rewritten in place */
			printf("\r\033[K[%zu/%zu] %s ...", i + 1, t.n, t.s[i]->name);
			fflush(stdout);
		}
		fl_scenario_result *r = malloc(sizeof(*r));
		if (!r) {
			env_ok = false;
			break;
		}
		fl_scenario_result_init(r, t.s[i]);
		res[n++] = r;
		if (!run_one(&o, t.s[i], r) && !r->nchecks)
			env_ok = false;
		hung |= r->hung;
	}
	if (tty)
		printf("\r\033[K");
	cmd_print_table(res, n);
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
		fprintf(stderr, "faultline: writing the report: ");
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
	cmd_targets_free(&t);
	return !env_ok ? EXIT_USAGE : hung ? EXIT_HANG : failed ? EXIT_CHECK_FAILED : EXIT_PASS;
}
