/*
 * main.c - the faultline command.
 *
 *   faultline list
 *   faultline run [NAME...] [--report DIR] [--iterations N] [--json PATH]
 *                 [--junit PATH]
 *
 * `run` without names runs the whole catalogue (the default suite), prints
 * a verdict table and writes report.json, junit.xml, summary.md and
 * index.html into DIR (default out/). Exit status: 0 when every check
 * passed, 1 when a check failed, 2 for a usage, input or environment error
 * (including a scenario that could not be carried out, or a report that
 * could not be written).
 */
#include <fl/report.h>
#include <fl/scenario.h>

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

enum { EXIT_PASS = 0, EXIT_CHECK_FAILED = 1, EXIT_USAGE = 2 };

static void usage(FILE *out)
{
	fprintf(out,
		"usage: faultline list\n"
		"       faultline run [NAME...] [--report DIR] [--iterations N]\n"
		"                     [--json PATH] [--junit PATH]\n"
		"\n"
		"run: runs the named scenarios (all of them when none is named), prints\n"
		"a verdict table and writes report.json, junit.xml, summary.md and\n"
		"index.html into DIR (default: out). --json and --junit write extra\n"
		"copies. --iterations sets the pipeline runs of every scenario (default:\n"
		"each scenario's own, 1, or 200 cancels for cancel_latency).\n"
		"Exit status: 0 all checks passed, 1 a check failed, 2 usage, input or\n"
		"environment error.\n");
}

static int cmd_list(void)
{
	size_t n;
	const fl_scenario *const *cat = fl_scenario_catalogue(&n);
	for (size_t i = 0; i < n; i++) {
		printf("%-16s %s\n", cat[i]->name, cat[i]->description);
		for (const char *const *c = cat[i]->checks; *c; c++)
			printf("%-16s   - %s\n", "", *c);
	}
	return EXIT_PASS;
}

/* ---- options ------------------------------------------------------------------- */

typedef struct run_opts {
	const char *report_dir;
	const char *json, *junit;
	int iterations;
	bool all;                  /* no names given: the default suite */
	const fl_scenario *chosen[64];
	size_t nchosen;
} run_opts;

static int parse_int(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 10000000)
		return -1;
	*out = (int)v;
	return 0;
}

/* Returns 0, or EXIT_USAGE after printing why. */
static int parse_run(int argc, char **argv, run_opts *o)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = strcmp(a, "--report") == 0 ? &o->report_dir
				 : strcmp(a, "--json") == 0  ? &o->json
				 : strcmp(a, "--junit") == 0 ? &o->junit
							     : NULL;
		if (dst || strcmp(a, "--iterations") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "faultline: %s needs a value\n", a);
				return EXIT_USAGE;
			}
			const char *v = argv[++i];
			if (dst) {
				*dst = v;
			} else if (parse_int(v, &o->iterations)) {
				fprintf(stderr, "faultline: --iterations: not a count: '%s'\n", v);
				return EXIT_USAGE;
			}
		} else if (a[0] == '-') {
			fprintf(stderr, "faultline: unknown option '%s'\n", a);
			usage(stderr);
			return EXIT_USAGE;
		} else {
			const fl_scenario *s = fl_scenario_find(a);
			if (!s) {
				fprintf(stderr, "faultline: no scenario '%s' (see: faultline list)\n", a);
				return EXIT_USAGE;
			}
			if (o->nchosen == sizeof(o->chosen) / sizeof(o->chosen[0])) {
				fprintf(stderr, "faultline: too many scenario names\n");
				return EXIT_USAGE;
			}
			o->chosen[o->nchosen++] = s;
		}
	}
	if (o->nchosen == 0) {
		o->all = true;
		size_t n;
		const fl_scenario *const *cat = fl_scenario_catalogue(&n);
		for (size_t i = 0; i < n && i < sizeof(o->chosen) / sizeof(o->chosen[0]); i++)
			o->chosen[o->nchosen++] = cat[i];
	}
	return 0;
}

/* ---- output -------------------------------------------------------------------- */

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

static void print_table(fl_scenario_result *const *res, size_t n)
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

/* mkdir -p: 0, or an errno error naming the path. */
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

static fl_err *write_outputs(const run_opts *o, fl_scenario_result *const *res, size_t n)
{
	const char *name = o->all ? "default" : n == 1 ? res[0]->scenario->name : "selection";
	struct fl_report_opts ro = {.git_rev = FL_GIT_REV};
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

/* ---- run ----------------------------------------------------------------------- */

/* Runs every chosen scenario into res[]; *n results. Returns false if one
 * could not be carried out (an environment error). */
static bool run_chosen(const run_opts *o, fl_scenario_result **res, size_t *n)
{
	bool tty = isatty(STDOUT_FILENO), ok = true;
	*n = 0;
	for (size_t i = 0; i < o->nchosen; i++) {
		if (tty) { /* one status line, rewritten in place */
			printf("\r\033[K[%zu/%zu] %s ...", i + 1, o->nchosen, o->chosen[i]->name);
			fflush(stdout);
		}
		fl_scenario_result *r = malloc(sizeof(*r));
		if (!r) {
			fprintf(stderr, "faultline: out of memory\n");
			return false;
		}
		fl_scenario_result_init(r, o->chosen[i]);
		res[(*n)++] = r;
		fl_scenario_params p = {.iterations = o->iterations};
		fl_err *err = fl_scenario_run(o->chosen[i], &p, r);
		if (err) {
			ok = false;
			fprintf(stderr, "%sfaultline: ", tty ? "\r\033[K" : "");
			fl_err_print(stderr, err);
			fl_err_drop(err);
		}
	}
	if (tty)
		printf("\r\033[K");
	return ok;
}

/* Prints the totals line; returns whether any check failed. */
static bool print_totals(fl_scenario_result *const *res, size_t n)
{
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
	return failed;
}

static int cmd_run(int argc, char **argv)
{
	run_opts o = {.report_dir = "out"};
	int rc = parse_run(argc, argv, &o);
	if (rc)
		return rc;
	fl_scenario_result *res[sizeof(o.chosen) / sizeof(o.chosen[0])];
	size_t n;
	bool env_ok = run_chosen(&o, res, &n);
	print_table(res, n);
	bool failed = print_totals(res, n);
	fl_err *err = write_outputs(&o, res, n);
	if (err) {
		fprintf(stderr, "faultline: writing the report: ");
		fl_err_print(stderr, err);
		fl_err_drop(err);
		env_ok = false;
	} else {
		printf("report: %s/index.html (also report.json, junit.xml, summary.md)\n",
		       o.report_dir);
	}
	for (size_t i = 0; i < n; i++) {
		fl_scenario_result_destroy(res[i]);
		free(res[i]);
	}
	return !env_ok ? EXIT_USAGE : failed ? EXIT_CHECK_FAILED : EXIT_PASS;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "list") == 0 && argc == 2)
		return cmd_list();
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_PASS;
	}
	fprintf(stderr, "faultline: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
