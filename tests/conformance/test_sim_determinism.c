/* fl-test-labels: sim onebackend notsan */
/* onebackend: every case starts the sim backend itself (seeded).
 * notsan: sim runs every task on one thread, so ThreadSanitizer has no race
 * to find here, while its slow fiber switches stretch the 1.6 M-event runs
 * past the test timeout; ASan and the release build run it. */
/*
 * The conformance scenarios under the sim backend replay exactly: the
 * whole catalogue run with one scheduler seed gives the same trace hash five
 * times in a row, and another scheduler seed (same scenario seed, same
 * program) gives another hash. Every scenario must also pass under sim.
 *
 * The scenarios that talk HTTP over real loopback sockets are left out:
 * the kernel's timing decides when their poll(2) calls return, which no
 * scheduler seed controls.
 *
 * Not labelled "concurrency" or "memcheck": Valgrind does not follow
 * hand-written stack switches.
 */
#include <fl/scenario.h>
#include <fl/task.h>

#include <inttypes.h>

#include "fl_test.h"

#define SCENARIO_SEED 42 /* the scenarios' own random choices: fixed */
#define RUNS 5
/* Iterations per scenario: enough for every scheduling choice to matter,
 * few enough that five runs stay fast under ASan. */
#define MAX_ITERATIONS 20

static const char *const uses_sockets[] = {"fetch_all", "ok_error_body", "hedged_fetch"};

static bool skipped(const char *name)
{
	for (size_t i = 0; i < sizeof(uses_sockets) / sizeof(uses_sockets[0]); i++)
		if (strcmp(name, uses_sockets[i]) == 0)
			return true;
	return false;
}

static void check(fl_err *err)
{
	if (err) {
		fl_err_print(stderr, err);
		FL_FAIL("unexpected error");
	}
}

/* Runs every scenario once under sim seed sched_seed; returns the hash. */
static uint64_t run_catalogue(uint64_t sched_seed, int *ran)
{
	size_t n;
	check(fl_scenario_register_builtins()); /* a program has none until it asks */
	const fl_scenario *const *cat = fl_scenario_catalogue(&n);
	check(fl_sim_begin(sched_seed));
	*ran = 0;
	for (size_t i = 0; i < n; i++) {
		if (skipped(cat[i]->name) || cat[i]->explore_target) /* planted bugs */
			continue;
		fl_scenario_result r;
		fl_scenario_result_init(&r, cat[i]);
		int iters = cat[i]->default_iterations;
		fl_scenario_params p = {.iterations =
						iters < MAX_ITERATIONS ? iters : MAX_ITERATIONS,
					.time_scale = 1,
					.skip_timing = true,
					.seed = SCENARIO_SEED};
		check(fl_scenario_run(cat[i], &p, &r));
		if (!fl_scenario_result_passed(&r))
			FL_FAIL("scenario %s failed under sim (seed %" PRIu64 ")", cat[i]->name,
				sched_seed);
		fl_scenario_result_destroy(&r);
		(*ran)++;
	}
	return fl_sim_trace_hash();
}

static void use_sim(void)
{
	check(fl_sched_init(&(struct fl_sched_opts){.backend = "sim", .seed = 1}));
}

FL_TEST(same_seed_same_hash_five_runs)
{
	use_sim();
	int ran;
	int64_t t0 = fl_now();
	uint64_t h = run_catalogue(7, &ran);
	ASSERT_GE(ran, 10); /* the ten conformance exercises at least */
	ASSERT_GT(fl_sim_trace_events(), 1000);
	for (int i = 1; i < RUNS; i++)
		ASSERT_U64_EQ(run_catalogue(7, &ran), h);
	fprintf(stderr,
		"%d scenarios x %d runs: trace hash %016" PRIx64 " (%" PRIu64
		" events per run), %.1f s of virtual time\n",
		ran, RUNS, h, fl_sim_trace_events(), (double)(fl_now() - t0) / 1e9);
}

FL_TEST(another_seed_changes_the_hash)
{
	use_sim();
	int ran;
	uint64_t a = run_catalogue(7, &ran);
	uint64_t b = run_catalogue(8, &ran);
	ASSERT_NE(a, b);
	ASSERT_U64_EQ(run_catalogue(7, &ran), a); /* and 7 is still 7 */
}

FL_TEST_MAIN(FL_CASE(same_seed_same_hash_five_runs), FL_CASE(another_seed_changes_the_hash))
