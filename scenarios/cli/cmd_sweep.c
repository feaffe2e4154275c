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

int fl__cli_sweep(int argc, char **argv)
{
	if (argc < 1 || argv[0][0] == '-') {
		fprintf(stderr, "faultline sweep: expected POINT TARGET\n");
		return EXIT_USAGE;
	}
	const char *point = argv[0];
	fl__cli_opts o = {0};
	fl__cli_targets t = {0};
	int rc = fl__cli_parse(argc - 1, argv + 1, &o, &t, "sweep");
	if (!rc && t.n != 1) {
		fprintf(stderr, "faultline sweep: name exactly one scenario\n");
		rc = EXIT_USAGE;
	}
	const char *action = o.action ? o.action : "error(inval)";
	/* POINT and ACTION are spliced into "POINT=@N ACTION": each must be
	 * one name and one action, not more plan text. */
	if (!rc && (strpbrk(point, ";=\n\r# \t") || strpbrk(action, ";=\n\r#") ||
		    strstr(action, "->"))) {
		fprintf(stderr, "faultline sweep: POINT is one fault point name and ACTION one "
				"action (e.g. error(inval), sleep(5ms)), not plan text: '%s' '%s'\n",
			point, action);
		rc = EXIT_USAGE;
	}
	char plan[512];
	if (!rc && snprintf(plan, sizeof(plan), "%s=@1 %s", point, action) >= (int)sizeof(plan)) {
		fprintf(stderr, "faultline sweep: POINT and ACTION are longer than a plan\n");
		rc = EXIT_USAGE;
	}
	fl_err *perr = rc ? NULL : fl_fault_check(plan);
	if (perr) {
		fprintf(stderr, "faultline sweep: ");
		fl_err_print(stderr, perr);
		fl_err_drop(perr);
		rc = EXIT_USAGE;
	}
	if (!rc)
		rc = fl__cli_backend(o.backend, false);
	if (rc) {
		fl__cli_targets_free(&t);
		return rc;
	}
	long max = o.iterations > 0 ? o.iterations : 100000, failed = 0, n;
	bool hung = false;
	char rname[160];
	snprintf(rname, sizeof(rname), "sweep %s", point);
	struct fl_report_opts ro = fl__cli_report_opts(&o, NULL);
	fl_report *rep = NULL;
	fl_err *werr = fl_report_new(rname, &ro, &rep);
	for (n = 1; n <= max && !werr; n++) {
		snprintf(plan, sizeof(plan), "%s=@%ld %s", point, n, action);
		fl_scenario_params p = {.iterations = 1, .seed = o.seed, .faults = plan,
					.skip_timing = true, .hang_ns = FL_SEC(10)};
		fl_scenario_result r;
		fl_scenario_result_init(&r, t.s[0]);
		fl_err_drop(fl_scenario_run_isolated(t.s[0], &p, &r));
		bool fired = r.faults_fired > 0, ok = fl_scenario_result_passed(&r);
		hung |= r.hung;
		printf("%s=@%ld %s: %s%s\n", point, n, action, fired ? "fired, " : "did not fire, ",
		       ok ? "all checks passed" : "FAILED");
		char msg[FL_SCENARIO_MSG_MAX] = "", cname[FL_SCENARIO_NAME_MAX + 32];
		for (size_t k = 0; !ok && k < r.nchecks; k++)
			if (r.checks[k].verdict == FL_REPORT_FAIL) {
				printf("  %s: %s\n", r.checks[k].name, r.checks[k].message);
				if (!msg[0])
					snprintf(msg, sizeof(msg), "%s: %s", r.checks[k].name,
						 r.checks[k].message);
			}
		snprintf(cname, sizeof(cname), "%s: %s=@%ld %s", t.s[0]->name, point, n, action);
		werr = fl_report_add_check(rep, cname, ok ? FL_REPORT_PASS : FL_REPORT_FAIL, NAN, NAN,
					   NULL, ok ? (fired ? "fired; all checks passed"
							     : "did not fire: the sweep ends")
						    : msg);
		failed += !ok;
		fl_scenario_result_destroy(&r);
		if (!fired)
			break;
	}
	printf("sweep %s: %ld run(s), %ld failed\n", point, n > max ? max : n, failed);
	if (!werr)
		werr = fl__cli_write_report(&o, rep);
	fl_report_free(rep);
	fl__cli_targets_free(&t);
	if (werr) {
		fprintf(stderr, "faultline sweep: writing the report: ");
		fl_err_print(stderr, werr);
		fl_err_drop(werr);
		return EXIT_USAGE;
	}
	return hung ? EXIT_HANG : failed ? EXIT_CHECK_FAILED : EXIT_PASS;
}
