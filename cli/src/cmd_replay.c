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
 * --schedule FILE replays a schedule file (explore --schedule writes one):
 * its header names the seed and target, its steps the task run at each
 * step, which the sim follows (FAULTLINE_STRATEGY=schedule:FILE).
 * --check-determinism (sim) replays twice, each run writing its trace, and
 * compares them: identical, or the first event where they diverge, which
 * names what the scheduler does not control (the real clock, a kernel
 * wait, the scenario's own threads). Divergence is exit status 1.
 */
#include "cli_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Compares two trace files line by line: prints where they diverge.
 * Returns 0 when they are the same, 1 when not, -1 when unreadable. */
static int compare_traces(const char *a, const char *b)
{
	FILE *fa = fopen(a, "r"), *fb = fopen(b, "r");
	int rc = fa && fb ? 0 : -1;
	char la[512], lb[512];
	long n = 0;
	while (!rc) {
		char *ra = fgets(la, sizeof(la), fa), *rb = fgets(lb, sizeof(lb), fb);
		if (!ra && !rb)
			break;
		n++;
		if (!ra || !rb || strcmp(la, lb) != 0) {
			printf("nondeterminism check: the two replays diverge at event %ld:\n"
			       "  first:  %s  second: %s"
			       "  (time, event, task, object, result: something the scheduler "
			       "does not control ran, such as the real clock, a blocking "
			       "system call or a thread of the scenario's own)\n",
			       n, ra ? la : "(the trace ended)\n", rb ? lb : "(the trace ended)\n");
			rc = 1;
		}
	}
	if (!rc)
		printf("nondeterminism check: replays deterministically, the two replays' traces "
		       "are identical (%ld events)\n",
		       n);
	if (rc < 0)
		fprintf(stderr, "%s replay: cannot read the traces %s and %s\n", fl__cli_prog, a,
			b);
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return rc;
}

/* --check-determinism: the run twice, each writing its trace
 * (FAULTLINE_TRACE, which the child's sim opens), then compared. *r holds
 * the first run; *nd 0 same, 1 diverged, -1 the traces could not be had. */
fl_err *fl__cli_replay_twice(const fl_scenario *s, const fl_scenario_params *p,
			     fl_scenario_result *r, int *nd)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], path[2][300];
	snprintf(dir, sizeof(dir), "%s/faultline-nd-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		*nd = -1;
		return fl_err_errno(errno, "replay: a directory for the traces");
	}
	fl_err *err = NULL;
	for (int i = 0; i < 2 && !err; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/trace%d.txt", dir, i + 1);
		setenv("FAULTLINE_TRACE", path[i], 1);
		fl_scenario_result again;
		fl_scenario_result_init(&again, s);
		err = fl_scenario_run_isolated(s, p, i == 0 ? r : &again);
		fl_scenario_result_destroy(&again);
	}
	unsetenv("FAULTLINE_TRACE");
	*nd = err ? -1 : compare_traces(path[0], path[1]);
	for (int i = 0; i < 2; i++)
		unlink(path[i]);
	rmdir(dir);
	return err;
}

/* What the replay of a schedule ran: its steps and preemptions as the
 * sim recorded them (FAULTLINE_SCHEDULE_OUT). */
static void print_replayed(const char *rec)
{
	fl__cli_sched sc;
	if (access(rec, R_OK) != 0 || fl__cli_sched_read(rec, NULL, &sc))
		return; /* the run did not start */
	printf("replayed schedule: %zu steps, %zu preemptions\n", sc.nsteps,
	       fl__cli_sched_preemptions(&sc));
	fl__cli_sched_free(&sc);
}

/* `replay --schedule FILE [options]`: the seed, target and plan from
 * FILE's header, the choices from its steps (the schedule:FILE strategy),
 * and with a plan exactly the fault firings its fault lines list
 * (fl_fault_force). */
static int from_schedule(int argc, char **argv)
{
	const char *path = argv[1];
	for (int i = 2; i < argc; i++)
		if (strncmp(argv[i], "--st", 4) == 0 || strncmp(argv[i], "--de", 4) == 0) {
			fprintf(stderr,
				"%s replay: --schedule FILE makes the choices; no --strategy, "
				"--depth or --steps\n",
				fl__cli_prog);
			return EXIT_USAGE;
		}
	fl__cli_sched sc;
	if (fl__cli_sched_read(path, NULL, &sc))
		return EXIT_USAGE;
	if (!sc.seed[0] || !sc.target[0]) {
		fprintf(stderr,
			"%s replay: %s: no 'seed' or no 'target' line (a schedule file "
			"as explore --schedule writes it)\n",
			fl__cli_prog, path);
		fl__cli_sched_free(&sc);
		return EXIT_USAGE;
	}
	fl_err *err = sc.plan ? fl_fault_force(sc.fires, sc.nfires) : NULL;
	char spec[4200], rec[4200];
	snprintf(spec, sizeof(spec), "schedule:%s", path);
	snprintf(rec, sizeof(rec), "%s.replayed", path);
	setenv("FAULTLINE_STRATEGY", spec, 1);
	setenv("FAULTLINE_SCHEDULE_OUT", rec, 1);
	char **av = calloc((size_t)argc + 6, sizeof(*av));
	char backend[] = "--backend", sim[] = "sim", fopt[] = "--faults";
	int rc = EXIT_USAGE, n = 4;
	if (av && !err) {
		av[0] = sc.seed, av[1] = sc.target, av[2] = backend, av[3] = sim;
		if (sc.plan)
			av[n++] = fopt, av[n++] = sc.plan;
		for (int i = 2; i < argc; i++)
			av[n++] = argv[i];
		rc = fl__cli_replay(n, av);
		print_replayed(rec);
	}
	if (err) {
		fprintf(stderr, "%s replay: %s: ", fl__cli_prog, path);
		fl_err_print(stderr, err);
		fl_err_drop(err);
	}
	fl_fault_force_clear();
	unsetenv("FAULTLINE_SCHEDULE_OUT");
	unlink(rec);
	free(av);
	fl__cli_sched_free(&sc);
	return rc;
}

int fl__cli_replay(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[0], "--schedule") == 0)
		return from_schedule(argc, argv);
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
	bool need_sim = o.strategy || o.check_determinism;
	if (!rc && need_sim && o.backend && strcmp(o.backend, "sim") != 0) {
		fprintf(stderr,
			"%s replay: --strategy and --check-determinism need the sim backend\n",
			fl__cli_prog);
		rc = EXIT_USAGE;
	}
	if (!rc && need_sim) { /* the child's sim reads it at start */
		char spec[64];
		fl__cli_strategy_spec(&o, spec, sizeof(spec));
		if (o.strategy)
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
	int nd = 0;
	fl_err *err = o.check_determinism ? fl__cli_replay_twice(t.s[0], &p, &r, &nd)
					  : fl_scenario_run_isolated(t.s[0], &p, &r);
	if (err) {
		fprintf(stderr, "%s replay: ", fl__cli_prog);
		fl_err_print(stderr, err);
		fl_err_drop(err);
	}
	fl_scenario_result *rp = &r;
	fl__cli_print_table(&rp, 1);
	rc = r.hung ? EXIT_HANG : fl_scenario_result_passed(&r) ? EXIT_PASS : EXIT_CHECK_FAILED;
	if (nd && rc == EXIT_PASS)
		rc = nd < 0 ? EXIT_USAGE : EXIT_CHECK_FAILED;
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
