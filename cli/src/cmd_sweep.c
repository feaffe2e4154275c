/*
 * cmd_sweep.c - `faultline sweep POINT TARGET`: the Nth-hit fault sweep.
 *
 * For n = 1, 2, ...: runs the target once with "POINT=@n ACTION" armed
 * (the fault sweep of fl/fault.h: fail the nth evaluation), each run in a
 * child, until a run in which the fault no longer fires.
 */
#include "cli_internal.h"

#include <fl/fault.h>

#include <math.h>

#include <stdio.h>
#include <string.h>

/* Checks POINT and ACTION (spliced into "POINT=@N ACTION", each must be
 * one name and one action, not more plan text) and parses the first plan.
 * Returns 0 or EXIT_USAGE, after saying why. */
static int check_args(const char *point, const char *action)
{
	if (strpbrk(point, ";=\n\r# \t") || strpbrk(action, ";=\n\r#") || strstr(action, "->")) {
		fprintf(stderr,
			"%s sweep: POINT is one fault point name and ACTION one "
			"action (e.g. error(inval), sleep(5ms)), not plan text: '%s' '%s'\n",
			fl__cli_prog, point, action);
		return EXIT_USAGE;
	}
	char plan[512];
	if (snprintf(plan, sizeof(plan), "%s=@1 %s", point, action) >= (int)sizeof(plan)) {
		fprintf(stderr, "%s sweep: POINT and ACTION are longer than a plan\n",
			fl__cli_prog);
		return EXIT_USAGE;
	}
	fl_err *perr = fl_fault_check(plan);
	if (perr) {
		fprintf(stderr, "%s sweep: ", fl__cli_prog);
		fl_err_print(stderr, perr);
		fl_err_drop(perr);
		return EXIT_USAGE;
	}
	return 0;
}

/* Evaluation n: the run that fails the n-th evaluation of the point, its
 * line on stdout and its check in rep. Sets *fired, *ok, *hung. */
static fl_err *sweep_once(const fl__cli_opts *o, const fl_scenario *s, const char *point,
			  const char *action, long n, fl_report *rep, bool *fired, bool *ok,
			  bool *hung)
{
	char plan[512];
	snprintf(plan, sizeof(plan), "%s=@%ld %s", point, n, action);
	fl_scenario_params p = {.iterations = 1,
				.seed = o->seed,
				.faults = plan,
				.skip_timing = true,
				.hang_ns = FL_SEC(10)};
	fl_scenario_result r;
	fl_scenario_result_init(&r, s);
	fl_err_drop(fl_scenario_run_isolated(s, &p, &r));
	*fired = r.faults_fired > 0, *ok = fl_scenario_result_passed(&r);
	*hung |= r.hung;
	printf("%s: %s%s\n", plan, *fired ? "fired, " : "did not fire, ",
	       *ok ? "all checks passed" : "FAILED");
	char msg[FL_SCENARIO_NAME_MAX + FL_SCENARIO_MSG_MAX + 4] = "";
	char cname[FL_SCENARIO_NAME_MAX + 520];
	for (size_t k = 0; !*ok && k < r.nchecks; k++)
		if (r.checks[k].verdict == FL_REPORT_FAIL) {
			printf("  %s: %s\n", r.checks[k].name, r.checks[k].message);
			if (!msg[0])
				snprintf(msg, sizeof(msg), "%s: %s", r.checks[k].name,
					 r.checks[k].message);
		}
	snprintf(cname, sizeof(cname), "%s: %s", s->name, plan);
	fl_err *err = fl_report_add_check(rep, cname, *ok ? FL_REPORT_PASS : FL_REPORT_FAIL, NAN,
					  NAN, NULL,
					  *ok ? (*fired ? "fired; all checks passed"
							: "did not fire: the sweep ends")
					      : msg);
	fl_scenario_result_destroy(&r);
	return err;
}

int fl__cli_sweep(int argc, char **argv)
{
	if (fl__cli_sweep_is_alloc(argc, argv))
		return fl__cli_sweep_alloc(argc, argv);
	if (argc < 1 || argv[0][0] == '-') {
		fprintf(stderr, "%s sweep: expected POINT TARGET\n", fl__cli_prog);
		return EXIT_USAGE;
	}
	const char *point = argv[0];
	fl__cli_opts o = {0};
	fl__cli_targets t = {0};
	int rc = fl__cli_parse(argc - 1, argv + 1, &o, &t, "sweep");
	if (!rc && t.n != 1) {
		fprintf(stderr, "%s sweep: name exactly one scenario\n", fl__cli_prog);
		rc = EXIT_USAGE;
	}
	const char *action = o.action ? o.action : "error(inval)";
	if (!rc)
		rc = check_args(point, action);
	if (!rc)
		rc = fl__cli_backend(o.backend, false);
	if (rc) {
		fl__cli_targets_free(&t);
		return rc;
	}
	long max = o.iterations > 0 ? o.iterations : 100000, failed = 0, n;
	bool hung = false, fired = true, ok;
	char rname[160];
	snprintf(rname, sizeof(rname), "sweep %s", point);
	struct fl_report_opts ro = fl__cli_report_opts(&o, NULL);
	fl_report *rep = NULL;
	fl_err *werr = fl_report_new(rname, &ro, &rep);
	for (n = 1; n <= max && fired && !werr; n++) {
		werr = sweep_once(&o, t.s[0], point, action, n, rep, &fired, &ok, &hung);
		failed += !ok;
	}
	printf("sweep %s: %ld run(s), %ld failed\n", point, n - 1, failed);
	if (!werr)
		werr = fl__cli_write_report(&o, rep);
	fl_report_free(rep);
	fl__cli_targets_free(&t);
	if (werr) {
		fprintf(stderr, "%s sweep: writing the report: ", fl__cli_prog);
		fl_err_print(stderr, werr);
		fl_err_drop(werr);
		return EXIT_USAGE;
	}
	return hung ? EXIT_HANG : failed ? EXIT_CHECK_FAILED : EXIT_PASS;
}
