/*
 * cmd_replay.c - `faultline replay SEED TARGET`: one stress iteration again.
 *
 * It reruns exactly one stress iteration (same seed, plan, skip_timing:
 * fl__cli_iter_params) on the backend the stress child reported (printed
 * in the command). On
 * sim each iteration starts with fl_sim_begin(seed), so the replay is exact;
 * elsewhere the fault decisions per point repeat but the interleaving may
 * differ. Without --backend, replay uses sim if the build has it.
 * --strategy (with pct's --depth and --steps, as explore prints them)
 * replays an explore run: the child's sim takes it from FAULTLINE_STRATEGY,
 * and since the line carries the step bound k the run drew its change
 * points from, the one run draws them again.
 */
#include "cli_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int fl__cli_replay(int argc, char **argv)
{
	fl__cli_opts o = {0};
	fl__cli_targets t = {0};
	uint64_t seed;
	if (argc < 1) {
		fprintf(stderr, "%s replay: expected SEED TARGET\n", fl__cli_prog);
		return EXIT_USAGE;
	}
	if (!fl__cli_parse_u64(argv[0], &seed)) {
		fprintf(stderr,
			"%s replay: SEED '%s' is not a seed: a decimal or 0x-hex "
			"number from 0 to 18446744073709551615, as stress prints it\n",
			fl__cli_prog, argv[0]);
		return EXIT_USAGE;
	}
	int rc = fl__cli_parse(argc - 1, argv + 1, &o, &t, "replay");
	if (!rc && t.n != 1) {
		fprintf(stderr, "%s replay: name exactly one scenario\n", fl__cli_prog);
		rc = EXIT_USAGE;
	}
	if (!rc && o.strategy && o.backend && strcmp(o.backend, "sim") != 0) {
		fprintf(stderr, "%s replay: --strategy needs the sim backend\n", fl__cli_prog);
		rc = EXIT_USAGE;
	}
	if (!rc && o.strategy) { /* the child's sim reads it at start */
		char spec[64];
		fl__cli_strategy_spec(&o, spec, sizeof(spec));
		setenv("FAULTLINE_STRATEGY", spec, 1);
		rc = fl__cli_backend("sim", false);
	} else if (!rc) {
		rc = o.backend ? fl__cli_backend(o.backend, false) : fl__cli_backend("sim", true);
	}
	if (rc) {
		fl__cli_targets_free(&t);
		return rc;
	}
	fl_scenario_params p = fl__cli_iter_params(t.s[0], seed, o.faults);
	fl_scenario_result r;
	fl_scenario_result_init(&r, t.s[0]);
	fl_err *err = fl_scenario_run_isolated(t.s[0], &p, &r);
	if (err) {
		fprintf(stderr, "%s replay: ", fl__cli_prog);
		fl_err_print(stderr, err);
		fl_err_drop(err);
	}
	fl_scenario_result *rp = &r;
	fl__cli_print_table(&rp, 1);
	rc = r.hung ? EXIT_HANG : fl_scenario_result_passed(&r) ? EXIT_PASS : EXIT_CHECK_FAILED;
	o.seed = seed;
	struct fl_report_opts ro = fl__cli_report_opts(&o, p.faults);
	fl_report *rep = NULL;
	fl_err *werr = fl_scenario_report_new(t.s[0]->name, (const fl_scenario_result *const *)&rp,
					      1, &ro, &rep);
	if (!werr)
		werr = fl__cli_write_report(&o, rep);
	fl_report_free(rep);
	if (werr) {
		fprintf(stderr, "%s replay: writing the report: ", fl__cli_prog);
		fl_err_print(stderr, werr);
		fl_err_drop(werr);
		rc = EXIT_USAGE;
	}
	printf("replay of seed %" PRIu64 ": %s\n", seed,
	       rc == EXIT_PASS   ? "all checks passed"
	       : rc == EXIT_HANG ? "HANG"
				 : "FAILED");
	fl_scenario_result_destroy(&r);
	fl__cli_targets_free(&t);
	return rc;
}
