/*
 * cmd_sweep_alloc.c - `faultline sweep --alloc TARGET [--max N]`: the
 * allocation-failure sweep.
 *
 * For n = 1, 2, ...: runs the target once in a child with the allocation
 * hook (fl/alloc.h) armed to fail the nth allocation of the scenario's body
 * (fl_scenario_params.alloc_fail_nth), until a run whose body made fewer
 * than n allocations (the sweep is exhausted) or --max runs. A run is good
 * when it passes, or when it fails with the injected out of memory in
 * sight (its error, or a failed check's message, says "out of memory");
 * it is bad when it crashes, hangs, leaks (the leak, thread, descriptor
 * or heap checks fail), or fails for another reason. One line per bad
 * run, one check per bad run in the report; exit 1 if any was bad.
 */
#include "cli_internal.h"

#include <fl/report.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

bool fl__cli_sweep_is_alloc(int argc, char **argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		size_t n = strlen(argv[i]);
		if (n >= 4 && strncmp(argv[i], "--alloc", n) == 0)
			return true;
	}
	return false;
}

static bool says_nomem(const char *s)
{
	return strstr(s, "out of memory") || strstr(s, "FL_ERR_NOMEM") || strstr(s, "ENOMEM") ||
	       strstr(s, strerror(ENOMEM));
}

static bool is_leak_check(const char *name)
{
	return strcmp(name, FL_SCENARIO_CHECK_LEAKS) == 0 ||
	       strcmp(name, FL_SCENARIO_CHECK_THREADS) == 0 ||
	       strcmp(name, FL_SCENARIO_CHECK_FDS) == 0 ||
	       strcmp(name, FL_SCENARIO_CHECK_HEAP) == 0;
}

/* What went wrong in r, into why ("" for a good run). */
static void judge(const fl_scenario_result *r, char *why, size_t cap)
{
	why[0] = 0;
	bool nomem = says_nomem(r->run_err) || says_nomem(r->err_text), other = false;
	const fl_scenario_verdict *first = NULL;
	for (size_t k = 0; k < r->nchecks; k++) {
		const fl_scenario_verdict *c = &r->checks[k];
		if (c->verdict != FL_REPORT_FAIL)
			continue;
		if (strcmp(c->name, FL_SCENARIO_CHECK_CRASH) == 0 ||
		    strcmp(c->name, FL_SCENARIO_CHECK_HANG) == 0 || is_leak_check(c->name)) {
			snprintf(why, cap, "%s: %s", c->name, c->message);
			return;
		}
		nomem |= says_nomem(c->message);
		if (!first)
			first = c;
		other = true;
	}
	if (!other && !r->run_err[0])
		return; /* passed */
	if (nomem)
		return; /* the injected out of memory, in sight */
	if (first)
		snprintf(why, cap, "failed without an out-of-memory error: %s: %s", first->name,
			 first->message);
	else
		snprintf(why, cap, "failed without an out-of-memory error: %s", r->run_err);
}

static bool crashed(const fl_scenario_result *r)
{
	const fl_scenario_verdict *c = fl_scenario_find_check(r, FL_SCENARIO_CHECK_CRASH);
	return r->hung || r->signal || (c && c->verdict == FL_REPORT_FAIL);
}

/* Run n: fails the nth allocation; its line (when bad) and check in rep.
 * Sets *done when the body never made its nth allocation. */
static fl_err *sweep_once(const fl__cli_opts *o, const fl_scenario *s, uint64_t n, fl_report *rep,
			  bool *done, long *bad, uint64_t *allocs)
{
	fl_scenario_params p = {.iterations = 1,
				.seed = o->seed,
				.skip_timing = true,
				.hang_ns = FL_SEC(10),
				.alloc_fail_nth = n};
	fl_scenario_result r;
	fl_scenario_result_init(&r, s);
	fl_err_drop(fl_scenario_run_isolated(s, &p, &r));
	char why[FL_SCENARIO_NAME_MAX + FL_SCENARIO_MSG_MAX + FL_SCENARIO_ERR_MAX + 64];
	judge(&r, why, sizeof(why));
	*done = !crashed(&r) && r.allocs_failed == 0;
	if (*done)
		*allocs = r.allocs;
	fl_err *err = NULL;
	if (why[0]) {
		(*bad)++;
		printf("%s: allocation %llu failed: BAD: %s\n", s->name, (unsigned long long)n,
		       why);
		char cname[FL_SCENARIO_NAME_MAX + 48];
		snprintf(cname, sizeof(cname), "%s: allocation %llu fails", s->name,
			 (unsigned long long)n);
		err = fl_report_add_check(rep, cname, FL_REPORT_FAIL, NAN, NAN, NULL, why);
	}
	fl_scenario_result_destroy(&r);
	return err;
}

/* The summary line and, when no run was bad, the one passing check. */
static fl_err *summarize(const fl_scenario *s, uint64_t runs, long bad, bool done, uint64_t allocs,
			 fl_report *rep)
{
	char msg[160];
	if (done)
		snprintf(msg, sizeof(msg),
			 "%llu run(s), exhausted (the body makes %llu "
			 "allocations), %ld bad",
			 (unsigned long long)runs, (unsigned long long)allocs, bad);
	else
		snprintf(msg, sizeof(msg),
			 "%llu run(s), stopped by --max before the sweep was "
			 "exhausted, %ld bad",
			 (unsigned long long)runs, bad);
	printf("sweep --alloc %s: %s\n", s->name, msg);
	if (bad)
		return NULL;
	char cname[FL_SCENARIO_NAME_MAX + 32];
	snprintf(cname, sizeof(cname), "%s: allocation sweep", s->name);
	return fl_report_add_check(rep, cname, FL_REPORT_PASS, NAN, NAN, NULL, msg);
}

int fl__cli_sweep_alloc(int argc, char **argv)
{
	fl__cli_opts o = {0};
	fl__cli_targets t = {0};
	int rc = fl__cli_parse(argc, argv, &o, &t, "sweep --alloc");
	if (!rc && t.n != 1) {
		fprintf(stderr, "%s sweep --alloc: name exactly one scenario\n", fl__cli_prog);
		rc = EXIT_USAGE;
	}
	if (!rc)
		rc = fl__cli_backend(o.backend, false);
	if (rc) {
		fl__cli_targets_free(&t);
		return rc;
	}
	const fl_scenario *s = t.s[0];
	uint64_t max = o.max ? o.max : 1000000, n, allocs = 0;
	long bad = 0;
	bool done = false;
	struct fl_report_opts ro = fl__cli_report_opts(&o, NULL);
	fl_report *rep = NULL;
	fl_err *werr = fl_report_new("sweep --alloc", &ro, &rep);
	for (n = 1; n <= max && !done && !werr; n++)
		werr = sweep_once(&o, s, n, rep, &done, &bad, &allocs);
	if (!werr)
		werr = summarize(s, n - 1, bad, done, allocs, rep);
	if (!werr)
		werr = fl__cli_write_report(&o, rep);
	fl_report_free(rep);
	fl__cli_targets_free(&t);
	if (werr) {
		fprintf(stderr, "%s sweep --alloc: writing the report: ", fl__cli_prog);
		fl_err_print(stderr, werr);
		fl_err_drop(werr);
		return EXIT_USAGE;
	}
	return bad ? EXIT_CHECK_FAILED : EXIT_PASS;
}
