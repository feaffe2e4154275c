/* fl-test-labels: onebackend */
/* onebackend: it runs the faultline binary, which picks sim itself. */
/*
 * `faultline explore` end to end over the bug zoo, on the sim backend with
 * fixed seeds (so every verdict here is exact): a bounded explore (300
 * runs) with a strategy that reaches the bug finds each one and prints a
 * replay line that fails the same check again; the fixed twins find
 * nothing in the same runs; PCT of depth 1 provably misses the bugs whose
 * window is a yield (the running task keeps the top priority through
 * fl_yield, so it is never preempted there) and finds nothing either; the
 * random strategy's trace is the one a run without a strategy writes; bad
 * usage exits 2; replay --check-determinism flags zoo_real_clock; a
 * schedule file written by explore replays the failure alone.
 */
#include <fl/scenario.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_test.h"
#include "fl_test_sh.h"

#define BIN FL_BINARY_DIR "/cli/faultline"

static char out[65536];

typedef struct bug {
	const char *name, *check, *strategy; /* a strategy that reaches it */
	bool yield_window;                   /* pct:1 cannot reach it */
} bug;

static const bug zoo[] = {
	{"lost_wakeup", "no lost wakeup", "pos", true},
	{"order", "initialised before use", "pct --depth 1", false},
	{"atomicity", "balance never negative", "pct --depth 2", true},
	{"deadlock", "no cyclic wait", "pct --depth 3", true},
	{"missed_close", "output closed", "random", true},
	{"double_done", "completed once", "pos", true},
};
#define NZOO (sizeof(zoo) / sizeof(zoo[0]))

static int explore(const char *target, const char *strategy, char *o, size_t cap)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s explore %s --strategy %s --runs 300 --seed 1", BIN, target,
		 strategy);
	return fl_test_sh(cmd, o, cap);
}

FL_TEST(explore_finds_each_bug_and_the_replay_reproduces_it)
{
	static char again[65536];
	for (size_t i = 0; i < NZOO; i++) {
		char target[64];
		snprintf(target, sizeof(target), "zoo_%s", zoo[i].name);
		int rc = explore(target, zoo[i].strategy, out, sizeof(out));
		if (rc != 1 || !strstr(out, "FAILED") || !strstr(out, zoo[i].check))
			FL_FAIL("%s under %s: exit %d, expected 1 and '%s':\n%s", target,
				zoo[i].strategy, rc, zoo[i].check, out);
		ASSERT(strstr(out, "runs/s") != NULL);
		ASSERT(strstr(out, "distinct schedules") != NULL);
		const char *r = strstr(out, "replay: ");
		ASSERT_NOT_NULL(r);
		char cmd[1024];
		snprintf(cmd, sizeof(cmd), "%.*s", (int)strcspn(r + 8, "\n"), r + 8);
		ASSERT(strstr(cmd, "--strategy") != NULL);
		rc = fl_test_sh(cmd, again, sizeof(again));
		if (rc != 1 || !strstr(again, ": FAILED") || !strstr(again, zoo[i].check))
			FL_FAIL("%s: replay `%s` exit %d, expected the same failure:\n%s", target,
				cmd, rc, again);
		/* The same check fails, and only it: its line in the table says FAIL. */
		const char *row = strstr(again, zoo[i].check);
		ASSERT(strstr(row, "FAIL") != NULL);
	}
}

FL_TEST(fixed_twins_find_nothing_in_the_same_runs)
{
	for (size_t i = 0; i < NZOO; i++) {
		char target[64];
		snprintf(target, sizeof(target), "zoo_%s_fixed", zoo[i].name);
		int rc = explore(target, zoo[i].strategy, out, sizeof(out));
		if (rc != 0 || !strstr(out, "300 runs in") || !strstr(out, " 0 failing"))
			FL_FAIL("%s under %s: exit %d, expected 0:\n%s", target, zoo[i].strategy,
				rc, out);
	}
}

FL_TEST(pct_depth_one_cannot_reach_a_yield_window)
{
	for (size_t i = 0; i < NZOO; i++) {
		char target[64];
		snprintf(target, sizeof(target), "zoo_%s", zoo[i].name);
		int rc = explore(target, "pct --depth 1", out, sizeof(out));
		if (zoo[i].yield_window && rc != 0)
			FL_FAIL("%s under pct:1: exit %d, expected 0:\n%s", target, rc, out);
		if (!zoo[i].yield_window && rc != 1) /* the control: it reaches this one */
			FL_FAIL("%s under pct:1: exit %d, expected 1:\n%s", target, rc, out);
	}
}

static int files_cmp(const char *a, const char *b)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cmp -s %s %s", a, b);
	return system(cmd);
}

/* A run under the random strategy writes the trace a run without any
 * strategy writes; PCT's is another (the control). */
FL_TEST(random_strategy_keeps_the_trace)
{
	char cmd[1024], dir[256];
	fl_test_tmpdir(dir, sizeof(dir));
	const char *modes[] = {"", "--strategy random", "--strategy pct --depth 2 --steps 40"};
	for (int m = 0; m < 3; m++) {
		snprintf(cmd, sizeof(cmd),
			 "FAULTLINE_TRACE=%s/t%d.txt %s replay 5 mini_group --backend sim %s", dir,
			 m, BIN, modes[m]);
		ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	}
	char a[300], b[300], c[300];
	snprintf(a, sizeof(a), "%s/t0.txt", dir);
	snprintf(b, sizeof(b), "%s/t1.txt", dir);
	snprintf(c, sizeof(c), "%s/t2.txt", dir);
	ASSERT_EQ(files_cmp(a, b), 0);
	ASSERT_NE(files_cmp(a, c), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
}

FL_TEST(usage_errors_exit_2)
{
	const char *bad[] = {
		"explore",
		"explore zoo_order zoo_atomicity",
		"explore zoo_order --strategy bogus",
		"explore zoo_order --strategy random --depth 2",
		"explore zoo_order --backend threads",
		"explore zoo_order --runs 0",
		"explore zoo_order --faults 'x=error'",
		"stress zoo_order --strategy pct",
		"replay 1 zoo_order --backend threads --strategy pos",
		"run zoo_order --keep-going",
	};
	fl_test_usage_errors(BIN, bad, sizeof(bad) / sizeof(bad[0]));
	/* The control: the same verb well formed runs. */
	ASSERT_EQ(explore("zoo_order_fixed", "pos", out, sizeof(out)), 0);
}

/* The zoo is not in the default suite: `catalogue` and globs leave it
 * out, list shows it apart, run takes it by name. */
FL_TEST(zoo_is_listed_apart_and_run_by_name)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s list", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	const char *sec = strstr(out, "exploration targets");
	ASSERT_NOT_NULL(sec);
	ASSERT(strstr(out, "zoo_order") > sec);
	snprintf(cmd, sizeof(cmd), "%s list --names", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	ASSERT_NULL(strstr(out, "zoo_"));
	ASSERT(strstr(out, "mini_group") != NULL);
	snprintf(cmd, sizeof(cmd), "%s list 'zoo_*'", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	snprintf(cmd, sizeof(cmd), "%s run zoo_order_fixed --backend sim", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
}

/* replay --check-determinism: a scenario that reads the real clock is
 * flagged with the event where its two replays diverge; one that does
 * not (the control) replays to the same trace. */
FL_TEST(nondeterminism_check_flags_the_real_clock)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s replay 1 zoo_real_clock --check-determinism", BIN);
	int rc = fl_test_sh(cmd, out, sizeof(out));
	if (rc != 1 || !strstr(out, "the two replays diverge at event"))
		FL_FAIL("exit %d, expected 1 and a divergence:\n%s", rc, out);
	snprintf(cmd, sizeof(cmd),
		 "%s replay 2 zoo_atomicity --check-determinism --strategy pct --depth 2 --steps 8",
		 BIN);
	rc = fl_test_sh(cmd, out, sizeof(out));
	if (rc != 1 || !strstr(out, "traces are identical") || !strstr(out, ": FAILED"))
		FL_FAIL("exit %d, expected the bug, replayed identically:\n%s", rc, out);
	snprintf(cmd, sizeof(cmd), "%s replay 3 zoo_order_fixed --check-determinism", BIN);
	rc = fl_test_sh(cmd, out, sizeof(out));
	if (rc != 0 || !strstr(out, "traces are identical"))
		FL_FAIL("exit %d, expected 0 and identical traces:\n%s", rc, out);
	snprintf(cmd, sizeof(cmd), "%s replay 3 zoo_order --check-determinism --backend threads",
		 BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
}

/* explore --schedule FILE writes the failing run's schedule; replay
 * --schedule FILE fails the same check from the file alone (the seed and
 * target in its header, the steps below). The control: the same file with
 * its steps removed leaves the run to the default choices, and the
 * replay tells that it ran out of steps. */
FL_TEST(schedule_file_replays_the_failing_run)
{
	char cmd[1024], dir[256], path[300];
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/atomicity.sched", dir);
	snprintf(cmd, sizeof(cmd),
		 "%s explore zoo_atomicity --strategy pct --depth 2 --runs 300 --seed 1 "
		 "--schedule %s",
		 BIN, path);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 1);
	ASSERT(strstr(out, "schedule: ") != NULL);
	for (int k = 0; k < 2; k++) {
		snprintf(cmd, sizeof(cmd), "%s replay --schedule %s", BIN, path);
		int rc = fl_test_sh(cmd, out, sizeof(out));
		if (rc != 1 || !strstr(out, "balance never negative") || strstr(out, "without it"))
			FL_FAIL("replay --schedule: exit %d, expected the failure:\n%s", rc, out);
	}
	snprintf(cmd, sizeof(cmd),
		 "grep -v '^[0-9]' %s > %s.empty && %s replay --schedule %s.empty", path, path, BIN,
		 path);
	(void)fl_test_sh(cmd, out, sizeof(out));
	ASSERT(strstr(out, "has no more steps") != NULL);
	snprintf(cmd, sizeof(cmd), "%s replay --schedule %s/none", BIN, dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
}

FL_TEST_MAIN(FL_CASE(explore_finds_each_bug_and_the_replay_reproduces_it),
	     FL_CASE(fixed_twins_find_nothing_in_the_same_runs),
	     FL_CASE(pct_depth_one_cannot_reach_a_yield_window),
	     FL_CASE(random_strategy_keeps_the_trace), FL_CASE(usage_errors_exit_2),
	     FL_CASE(zoo_is_listed_apart_and_run_by_name),
	     FL_CASE(nondeterminism_check_flags_the_real_clock),
	     FL_CASE(schedule_file_replays_the_failing_run))
