/* fl-test-labels: onebackend */
/* onebackend: it runs the faultline binary, which picks sim itself. */
/*
 * `faultline explore --strategy dfs` and PCT's iterative deepening over
 * the bug zoo, end to end (sim, fixed seeds: every verdict is exact). dfs
 * finds every bug of the zoo and its replay line (a schedule file)
 * fails the same check again; the fixed twins exhaust their space with no
 * failure; without preemptions dfs exhausts the space of each bug whose
 * window needs one and finds nothing, while it still finds the order
 * violation, which needs none (the control); pct:auto finds a depth-2
 * bug that pct:1 cannot, and its replay line names the depth that run
 * used; misplaced options exit 2.
 */
#include <fl/scenario.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_test.h"
#include "fl_test_sh.h"

#define BIN FL_BINARY_DIR "/cli/faultline"

static char out[65536], again[65536];

typedef struct bug {
	const char *name, *check;
	bool needs_preemption; /* its window is a yield: dfs:0 cannot reach it */
} bug;

static const bug zoo[] = {
	{"lost_wakeup", "no lost wakeup", true},       {"order", "initialised before use", false},
	{"atomicity", "balance never negative", true}, {"deadlock", "no cyclic wait", true},
	{"missed_close", "output closed", true},       {"double_done", "completed once", true},
	{"torn_read", "no torn read", true},
};
#define NZOO (sizeof(zoo) / sizeof(zoo[0]))

static int dfs(const char *target, int preemptions, char *o, size_t cap)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "%s explore %s --strategy dfs --preemptions %d --runs 20000 --seed 1", BIN, target,
		 preemptions);
	return fl_test_sh(cmd, o, cap);
}

/* Removes the schedule file a failing dfs explore made for its replay. */
static void remove_schedule(const char *o)
{
	const char *r = strstr(o, "\nreplay: ");
	const char *f = r ? strstr(r, "--schedule ") : NULL;
	char path[1024];
	if (f && snprintf(path, sizeof(path), "%.*s", (int)strcspn(f + 11, "\n"), f + 11) > 0)
		(void)remove(path);
}

/* Runs out's replay line; 1 with the check failing, as the run did. */
static void replay_fails(const char *target, const char *check)
{
	const char *r = strstr(out, "\nreplay: ");
	ASSERT_NOT_NULL(r);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%.*s", (int)strcspn(r + 9, "\n"), r + 9);
	int rc = fl_test_sh(cmd, again, sizeof(again));
	if (rc != 1 || !strstr(again, ": FAILED") || !strstr(again, check) ||
	    strstr(again, "without it"))
		FL_FAIL("%s: replay `%s` exit %d, expected the same failure:\n%s", target, cmd, rc,
			again);
	ASSERT(strstr(strstr(again, check), "FAIL") != NULL);
	remove_schedule(out);
}

FL_TEST(dfs_finds_every_bug_and_the_replay_reproduces_it)
{
	for (size_t i = 0; i < NZOO; i++) {
		char target[64];
		snprintf(target, sizeof(target), "zoo_%s", zoo[i].name);
		int rc = dfs(target, 2, out, sizeof(out));
		if (rc != 1 || !strstr(out, "FAILED") || !strstr(out, zoo[i].check) ||
		    !strstr(out, "--schedule "))
			FL_FAIL("%s under dfs:2: exit %d, expected 1 and '%s':\n%s", target, rc,
				zoo[i].check, out);
		ASSERT(strstr(out, "space exhausted") == NULL);
		replay_fails(target, zoo[i].check);
	}
}

/* The negative control of the above: the twins' spaces hold no failing
 * schedule, and dfs says it ran them all. */
FL_TEST(dfs_exhausts_the_fixed_twins)
{
	for (size_t i = 0; i < NZOO; i++) {
		char target[64];
		snprintf(target, sizeof(target), "zoo_%s_fixed", zoo[i].name);
		int rc = dfs(target, 2, out, sizeof(out));
		if (rc != 0 || !strstr(out, " 0 failing") ||
		    !strstr(out, "space exhausted after ") || !strstr(out, "(2 preemptions)"))
			FL_FAIL("%s under dfs:2: exit %d, expected 0, exhausted:\n%s", target, rc,
				out);
	}
}

FL_TEST(dfs_without_preemptions_misses_a_preemption_window)
{
	for (size_t i = 0; i < NZOO; i++) {
		char target[64];
		snprintf(target, sizeof(target), "zoo_%s", zoo[i].name);
		int rc = dfs(target, 0, out, sizeof(out));
		if (zoo[i].needs_preemption && (rc != 0 || !strstr(out, "space exhausted after ") ||
						!strstr(out, "at most 0 preemptions")))
			FL_FAIL("%s under dfs:0: exit %d, expected 0, exhausted:\n%s", target, rc,
				out);
		if (!zoo[i].needs_preemption && rc != 1) /* the control */
			FL_FAIL("%s under dfs:0: exit %d, expected 1:\n%s", target, rc, out);
		remove_schedule(out);
	}
}

/* The run count dfs reports is the number of distinct schedules: every
 * run of the search is a new one. The summary names the preemptions. */
FL_TEST(dfs_runs_are_distinct_and_stop_at_exhaustion)
{
	ASSERT_EQ(dfs("zoo_deadlock_fixed", 2, out, sizeof(out)), 0);
	long runs = 0, distinct = -1;
	const char *sum = strstr(out, "\nexplore zoo_deadlock_fixed: ");
	ASSERT_NOT_NULL(sum);
	ASSERT(sscanf(sum, "\nexplore zoo_deadlock_fixed: %ld runs in", &runs) == 1);
	ASSERT(sscanf(strstr(out, "runs/s), ") + 9, "%ld distinct", &distinct) == 1);
	ASSERT_GT(runs, 1);
	ASSERT_EQ(runs, distinct);
	char want[64];
	snprintf(want, sizeof(want), "space exhausted after %ld runs", runs);
	ASSERT(strstr(out, want) != NULL);
	/* --runs below the space: no exhaustion claimed (the control). */
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "%s explore zoo_deadlock_fixed --strategy dfs --runs %ld --seed 1", BIN, runs - 1);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	ASSERT(strstr(out, "space exhausted") == NULL);
}

/* pct:auto cycles the depth over the runs (1 + seed mod 3), so it reaches
 * a depth-2 bug that pct:1 never does; the replay line names the depth
 * the failing run drew, 2 or 3, never auto. */
FL_TEST(pct_auto_finds_what_depth_one_cannot)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
		 "%s explore zoo_atomicity --strategy pct --depth auto --runs 300 --seed 1", BIN);
	int rc = fl_test_sh(cmd, out, sizeof(out));
	if (rc != 1 || !strstr(out, "balance never negative"))
		FL_FAIL("pct:auto: exit %d, expected 1:\n%s", rc, out);
	const char *r = strstr(out, "\nreplay: ");
	ASSERT_NOT_NULL(r);
	ASSERT(strstr(r, "--depth 2") || strstr(r, "--depth 3"));
	ASSERT(strstr(r, "auto") == NULL);
	replay_fails("zoo_atomicity", "balance never negative");
	snprintf(cmd, sizeof(cmd),
		 "%s explore zoo_atomicity --strategy pct --depth 1 --runs 300 --seed 1", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0); /* the control */
}

FL_TEST(misplaced_options_exit_2)
{
	const char *bad[] = {
		"explore zoo_order --strategy random --preemptions 1",
		"explore zoo_order --strategy dfs --depth 2",
		"explore zoo_order --strategy dfs --preemptions x",
		"explore zoo_order --strategy dfs --preemptions 65",
		"explore zoo_order --strategy pos --depth auto",
		"explore zoo_order --strategy pct --depth autox",
	};
	fl_test_usage_errors(BIN, bad, sizeof(bad) / sizeof(bad[0]));
	ASSERT_EQ(dfs("zoo_order_fixed", 1, out, sizeof(out)), 0); /* the control */
}

FL_TEST_MAIN(FL_CASE(dfs_finds_every_bug_and_the_replay_reproduces_it),
	     FL_CASE(dfs_exhausts_the_fixed_twins),
	     FL_CASE(dfs_without_preemptions_misses_a_preemption_window),
	     FL_CASE(dfs_runs_are_distinct_and_stop_at_exhaustion),
	     FL_CASE(pct_auto_finds_what_depth_one_cannot), FL_CASE(misplaced_options_exit_2))
