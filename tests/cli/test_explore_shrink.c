/* fl-test-labels: onebackend notsan */
/* onebackend: the commands pick sim themselves. notsan: hundreds of forked
 * children per case; the release gate runs it. */
/*
 * Faults in explore, fault lines in schedule files and shrinking, end to
 * end with fixed seeds (every verdict exact): fault_window (fault_window.c)
 * fails only when the third evaluation of fw/step fires and the reader
 * preempts the writer inside the window it opens. explore --faults finds
 * it and writes a schedule file with the run's firings; the file replays
 * the failure, and without its fault lines (the negative control) the
 * replay passes. Shrinking a plan of several firings leaves exactly the
 * one that matters. On the bug zoo, shrinking ends with at most the bug's
 * depth of preemptions, counted by the replay of the minimal file, which
 * still fails, while the same file with one more preemption replaced by
 * the default choice passes. Tasks named by spawn path survive an extra
 * spawn that renumbers them. explore replays a failure twice and says
 * whether the traces agree.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_test.h"
#include "fl_test_sh.h"

#define FW FL_BINARY_DIR "/tests/cli/fl_fault_window"
#define BIN FL_BINARY_DIR "/cli/faultline"
#define PLAN "'fw/step=50%%error(inval);fw/noise=50%%error(inval)'"

static char out[65536];

static void expect(const char *want)
{
	if (!strstr(out, want))
		FL_FAIL("expected \"%s\" in:\n%s", want, out);
}

/* The replay's exit status; *pre the preemptions it reports. */
static int replay(const char *bin, const char *path, long *pre)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s replay --schedule %s", bin, path);
	int rc = fl_test_sh(cmd, out, sizeof(out));
	const char *p = strstr(out, "replayed schedule: ");
	long steps;
	ASSERT(p != NULL);
	ASSERT_EQ(sscanf(p, "replayed schedule: %ld steps, %ld preemptions", &steps, pre), 2);
	return rc;
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return fl_test_sh(cmd, out, sizeof(out));
}

FL_TEST(fault_firing_in_the_schedule_file_replays)
{
	char dir[256], path[300];
	long pre;
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/fw.sched", dir);
	ASSERT_EQ(sh("%s explore fault_window --faults " PLAN
		     " --runs 300 --seed 1 --no-shrink --schedule %s",
		     FW, path),
		  1);
	expect("record never seen half-written");
	ASSERT_EQ(sh("grep -c '^fault fw/step 3 error$' %s", path), 0);
	for (int k = 0; k < 2; k++)
		ASSERT_EQ(replay(FW, path, &pre), 1);
	expect("saw a half-written record");
	ASSERT_EQ(pre, 1);
	/* The control: the same steps without the firings pass. */
	ASSERT_EQ(sh("grep -v '^fault ' %s > %s.nofault", path, path), 0);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), ".nofault");
	ASSERT_EQ(replay(FW, path, &pre), 0);
	ASSERT_EQ(sh("rm -rf %s", dir), 0);
}

FL_TEST(shrinking_leaves_the_one_fault_that_matters)
{
	char dir[256], path[300], min[320];
	long pre;
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/fw.sched", dir);
	snprintf(min, sizeof(min), "%s.min", path);
	ASSERT_EQ(sh("%s explore fault_window --faults " PLAN " --runs 300 --seed 1 --schedule %s",
		     FW, path),
		  1);
	expect(" -> 1 faults");
	ASSERT_EQ(sh("grep -c '^fault ' %s | grep -qx 1 && grep -q '^fault fw/step 3 error$' %s",
		     min, min),
		  0);
	ASSERT_EQ(sh("grep -c '^fault ' %s | grep -qx 1", path), 1); /* it had more */
	ASSERT_EQ(replay(FW, min, &pre), 1);
	ASSERT_EQ(pre, 1);
	ASSERT_EQ(sh("grep -v '^fault ' %s > %s.nofault", min, min), 0);
	snprintf(min + strlen(min), sizeof(min) - strlen(min), ".nofault");
	ASSERT_EQ(replay(FW, min, &pre), 0);
	ASSERT_EQ(sh("rm -rf %s", dir), 0);
}

static const struct {
	const char *name, *strategy;
	long depth;
} zoo[] = {
	{"lost_wakeup", "pos", 2},        {"order", "random", 1},        {"atomicity", "random", 2},
	{"deadlock", "pct --depth 3", 2}, {"missed_close", "random", 2}, {"double_done", "pos", 2},
};

/* The mutation: the first preemption of the file replaced by the task
 * the step before ran (the default choice). */
#define MUTATE                                                                        \
	"awk 'BEGIN{prev=0} /^[0-9]/{ if ($2==\"p\" && !done) { print prev; done=1; " \
	"next } prev=$1 } {print}' %s > %s.mut"

FL_TEST(zoo_bugs_shrink_to_their_depth)
{
	char dir[256], path[300], min[320], mut[330], cmd[1024];
	fl_test_tmpdir(dir, sizeof(dir));
	for (size_t i = 0; i < sizeof(zoo) / sizeof(zoo[0]); i++) {
		long pre;
		snprintf(path, sizeof(path), "%s/%s.sched", dir, zoo[i].name);
		snprintf(min, sizeof(min), "%s.min", path);
		snprintf(mut, sizeof(mut), "%s.mut", min);
		snprintf(cmd, sizeof(cmd),
			 "%s explore zoo_%s --strategy %s --runs 300 --seed 1 --schedule %s", BIN,
			 zoo[i].name, zoo[i].strategy, path);
		ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 1);
		expect("shrunk: ");
		ASSERT_EQ(replay(BIN, min, &pre), 1);
		if (pre > zoo[i].depth)
			FL_FAIL("zoo_%s: %ld preemptions left, depth %ld", zoo[i].name, pre,
				zoo[i].depth);
		if (pre == 0)
			continue; /* nothing left to remove */
		ASSERT_EQ(sh(MUTATE, min, min), 0);
		if (replay(BIN, mut, &pre) != 0)
			FL_FAIL("zoo_%s: the file with one preemption less still fails:\n%s",
				zoo[i].name, out);
	}
	ASSERT_EQ(sh("rm -rf %s", dir), 0);
}

/* explore replays a failure twice before its replay line: clock_fail
 * (fault_window.c) reads the real clock, so its replays diverge; a bug of
 * the schedule alone replays deterministically (the control). */
FL_TEST(explore_checks_the_failure_replays_deterministically)
{
	ASSERT_EQ(sh("%s explore clock_fail --runs 10 --seed 1", FW), 1);
	expect("the two replays diverge at event");
	ASSERT(strstr(out, "replays deterministically") == NULL);
	ASSERT(strstr(out, "diverge") < strstr(out, "replay: "));
	ASSERT_EQ(sh("%s explore zoo_atomicity --strategy pct --depth 2 --runs 300 --seed 1", BIN),
		  1);
	expect("nondeterminism check: replays deterministically");
	ASSERT(strstr(out, "diverge") == NULL);
	ASSERT(strstr(out, "replays deterministically") < strstr(out, "replay: "));
}

/* Schedule files name tasks by spawn path: spawn_extra's failing file
 * still fails when FW_EXTRA=1 makes the writer spawn one more task before
 * the reader is spawned (renumbering the reader); the same run recorded
 * with per-run numbers (FAULTLINE_SCHEDULE_NAMES=number, the control)
 * replays without the extra task, but not with it. */
FL_TEST(spawn_paths_survive_an_extra_spawn)
{
	char dir[256], path[300];
	long pre;
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/se.sched", dir);
	ASSERT_EQ(sh("%s explore spawn_extra --runs 300 --seed 1 --no-shrink --schedule %s", FW,
		     path),
		  1);
	ASSERT_EQ(sh("grep -q '^0\\.[0-9]' %s", path), 0);
	ASSERT_EQ(replay(FW, path, &pre), 1);
	ASSERT_EQ(replay("FW_EXTRA=1 " FW, path, &pre), 1);
	expect("update never seen halfway");
	ASSERT_EQ(sh("FAULTLINE_SCHEDULE_NAMES=number %s explore spawn_extra --runs 300 --seed 1 "
		     "--no-shrink --schedule %s.num",
		     FW, path),
		  1);
	ASSERT_EQ(sh("grep -q '^0\\.[0-9]' %s.num", path), 1);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), ".num");
	ASSERT_EQ(replay(FW, path, &pre), 1);
	ASSERT_EQ(replay("FW_EXTRA=1 " FW, path, &pre), 0);
	ASSERT_EQ(sh("rm -rf %s", dir), 0);
}

/* Bad schedule lines and shrink options: exit 2 naming the file and line
 * (or the option); the well-formed file beside them replays (exit 1, the
 * bug), so the failures are the lines'. */
FL_TEST(bad_schedule_lines_and_options_exit_2)
{
	char dir[256];
	fl_test_tmpdir(dir, sizeof(dir));
	static const char *const bad[] =
		{"0.x", "0..2", "0.2 q", "fault x 0 error", "fault x 1 nosuch", "rest later"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ASSERT_EQ(sh("printf 'seed 1\\ntarget zoo_order\\nfaults x=error(inval)\\n%s\\n' "
			     "> %s/bad.sched && %s replay --schedule %s/bad.sched",
			     bad[i], dir, BIN, dir),
			  2);
		expect("bad.sched");
		expect("line 4");
	}
	ASSERT_EQ(sh("printf 'seed 2\\ntarget zoo_order\\n' > %s/ok.sched && %s replay "
		     "--schedule %s/ok.sched --strategy random",
		     dir, BIN, dir),
		  2); /* --strategy does not go with --schedule's own */
	ASSERT_EQ(sh("%s replay 1 zoo_order --shrink-runs 5", BIN), 2);
	expect("belong to explore");
	ASSERT_EQ(sh("%s explore zoo_order --shrink-runs 0", BIN), 2);
	ASSERT_EQ(sh("rm -rf %s", dir), 0);
}

FL_TEST_MAIN(FL_CASE(fault_firing_in_the_schedule_file_replays),
	     FL_CASE(bad_schedule_lines_and_options_exit_2),
	     FL_CASE(spawn_paths_survive_an_extra_spawn),
	     FL_CASE(explore_checks_the_failure_replays_deterministically),
	     FL_CASE(shrinking_leaves_the_one_fault_that_matters),
	     FL_CASE(zoo_bugs_shrink_to_their_depth))
