/*
 * test_cli.c - the faultline command end to end: exit statuses, git-style
 * dispatch, stress stopping at a violation with a replay command that
 * reproduces it, sweep, and report compare. Runs the built binary.
 */
#include <fl/scenario.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fl_test.h"
#include "fl_test_sh.h"

#define BIN FL_BINARY_DIR "/cli/faultline"
#define JOBS FL_SOURCE_DIR "/scenarios/jobs"

static char out[65536];

FL_TEST(exit_statuses)
{
	char dir[256], cmd[2048];
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(cmd, sizeof(cmd),
		 "%s run %s/shapes.ini:linear_first_error --skip-timing --report %s", BIN, JOBS,
		 dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd), "%s run %s/controls.ini:control_lost_item --report %s", BIN,
		 JOBS, dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 1);
	ASSERT(strstr(out, "conservation") && strstr(out, "FAIL"));
	snprintf(cmd, sizeof(cmd), "%s run %s/controls.ini:control_stuck_stage --report %s", BIN,
		 JOBS, dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 3);
	ASSERT(strstr(out, "live tasks") && strstr(out, "stage(s) work did not return"));
	/* input errors: file, line and key */
	char bad[300];
	snprintf(bad, sizeof(bad), "%s/bad.ini", dir);
	FILE *f = fopen(bad, "w");
	ASSERT(f != NULL);
	fputs("[a]\nshape = linear\nitems = many\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s run %s --report %s", BIN, bad, dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	if (!strstr(out, "bad.ini:3: key 'items'"))
		FL_FAIL("output: %s", out);
	snprintf(cmd, sizeof(cmd), "%s run --bogus", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	snprintf(cmd, sizeof(cmd), "%s run no_such_scenario", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	snprintf(cmd, sizeof(cmd), "%s run sum --backend nosuch", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	ASSERT(strstr(out, "(known: threads, fibers, sim)") != NULL); /* every valid name */
	snprintf(cmd, sizeof(cmd), "%s run sum --faults 'x=50%%x(' --report %s", BIN, dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	/* values out of their domain are usage errors that say what they are */
	snprintf(cmd, sizeof(cmd), "%s run sum --duration nan", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	snprintf(cmd, sizeof(cmd), "%s replay -1 sum", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	ASSERT(strstr(out, "'-1' is not a seed") != NULL);
	snprintf(cmd, sizeof(cmd), "%s replay 99999999999999999999999 sum", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	ASSERT(strstr(out, "is not a seed") != NULL);
	snprintf(cmd, sizeof(cmd), "%s sweep source sum --action 'hang; *=panic(x)'", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	ASSERT(strstr(out, "not plan text") != NULL);
	snprintf(cmd, sizeof(cmd), "%s run /dev/zero", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	ASSERT(strstr(out, "not a regular file") != NULL);
#ifndef FL_SANITIZED /* sanitizers need far more address space to start at all */
	/* A machine without the memory to start the scheduler: an environment
	 * error naming what failed (the parent once aborted starting it only to
	 * learn its name, and children died in the runtime's abort). */
	snprintf(cmd, sizeof(cmd), "ulimit -v 20000; %s run sum --backend fibers --report %s", BIN,
		 dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	/* what could not be had: the allocator's arenas (jemalloc, made first)
	 * or the backend's first worker thread */
	if (!strstr(out, "--backend fibers: fibers: starting worker") &&
	    !strstr(out, "--backend fibers: making jemalloc's arena"))
		FL_FAIL("output: %s", out);
#endif
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
}

FL_TEST(unknown_command_runs_the_tool_next_to_it)
{
	char tool[512], cmd[1024];
	snprintf(tool, sizeof(tool), "%s-fltestecho%d", BIN, (int)getpid());
	FILE *f = fopen(tool, "w");
	ASSERT(f != NULL);
	fputs("#!/bin/sh\necho \"ext:$*\"\nexit 5\n", f);
	fclose(f);
	ASSERT_EQ(chmod(tool, 0755), 0);
	snprintf(cmd, sizeof(cmd), "%s fltestecho%d a 'b c'", BIN, (int)getpid());
	int rc = fl_test_sh(cmd, out, sizeof(out));
	unlink(tool);
	ASSERT_EQ(rc, 5);
	if (!strstr(out, "ext:a b c"))
		FL_FAIL("output: %s", out);
	snprintf(cmd, sizeof(cmd), "%s fltestnone%d", BIN, (int)getpid());
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	ASSERT(strstr(out, "unknown command") != NULL);
}

/* Reads a whole file into out (NUL-terminated, truncated to cap). */
static void slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	if (!f)
		FL_FAIL("no file %s", path);
	size_t n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* stress, replay and sweep write what --report, --json and --junit ask
 * for (they accepted the options and wrote nothing), "-" being standard
 * output; a failure carries its replay line. */
FL_TEST(every_verb_writes_its_reports)
{
	char dir[256], cmd[2048], buf[16384];
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(cmd, sizeof(cmd),
		 "%s stress %s/controls.ini:control_lost_item --iterations 5 "
		 "--seed 5 --report %s/st --junit %s/st.xml --json -",
		 BIN, JOBS, dir, dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 1);
	ASSERT(strstr(out, "\"schema\": \"faultline-report\"") != NULL); /* JSON on stdout */
	ASSERT(strstr(out, "\"verdict\": \"fail\"") != NULL);
	slurp(strcat(strcpy(buf, dir), "/st.xml"), buf, sizeof(buf));
	if (!strstr(buf, "<failure") || !strstr(buf, "replay: " BIN " replay"))
		FL_FAIL("stress junit: %s", buf);
	snprintf(cmd, sizeof(cmd), "test -s %s/st/report.json -a -s %s/st/index.html", dir, dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd), "%s replay 7 early_return --backend sim --json %s/rp.json", BIN,
		 dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	slurp(strcat(strcpy(buf, dir), "/rp.json"), buf, sizeof(buf));
	ASSERT(strstr(buf, "early_return: ") != NULL); /* its checks */
	snprintf(cmd, sizeof(cmd), "%s sweep source early_return --junit %s/sw.xml", BIN, dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	slurp(strcat(strcpy(buf, dir), "/sw.xml"), buf, sizeof(buf));
	if (!strstr(buf, "source=@1 error(inval)"))
		FL_FAIL("sweep junit: %s", buf);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
}

/* The habits of GNU tools: -h/--help after any verb, --opt=value beside
 * --opt value, globs over scenario names, list --json for scripts. */
FL_TEST(command_line_habits)
{
	char dir[256], cmd[2048];
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(cmd, sizeof(cmd), "%s run --help", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	ASSERT(strncmp(out, "usage: faultline run", 20) == 0);
	snprintf(cmd, sizeof(cmd), "%s list --help", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd), "%s run 'early_ret*' --seed=5 --iterations=1 --report=%s", BIN,
		 dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	ASSERT(strstr(out, "early_return") && strstr(out, "1 scenario,"));
	/* getopt_long: options after targets, unique prefixes, `--`; an
	 * ambiguous prefix and a missing value are named */
	snprintf(cmd, sizeof(cmd), "%s run --skip-timing sum --iter 1 --rep %s -- early_return",
		 BIN, dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	ASSERT(strstr(out, "2 scenarios,") != NULL);
	snprintf(cmd, sizeof(cmd), "%s run sum --j x.json", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	ASSERT(strstr(out, "unknown or ambiguous option '--j'") != NULL);
	snprintf(cmd, sizeof(cmd), "%s run sum --seed", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	ASSERT(strstr(out, "--seed needs a value") != NULL);
	snprintf(cmd, sizeof(cmd), "%s run 'no_such_*'", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	ASSERT(strstr(out, "no scenario matches 'no_such_*'") != NULL);
	snprintf(cmd, sizeof(cmd), "%s list --json 'sum'", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	ASSERT(out[0] == '[' && strstr(out, "\"name\": \"sum\"") && strstr(out, "\"checks\": ["));
	/* the bash completion file: verbs, then scenario names from list --json */
	snprintf(cmd, sizeof(cmd),
		 "bash -c 'source %s/cli/completion.bash; COMP_WORDS=(%s run ear); "
		 "COMP_CWORD=2; _faultline; echo \"[${COMPREPLY[*]}]\"; COMP_WORDS=(%s zzz_no); "
		 "COMP_CWORD=1; _faultline; echo \"[${COMPREPLY[*]}]\"'",
		 FL_SOURCE_DIR, BIN, BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	if (!strstr(out, "[early_return]\n[]"))
		FL_FAIL("completion: %s", out);
	snprintf(cmd, sizeof(cmd), "%s --version", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	ASSERT(strncmp(out, "faultline 0.", 12) == 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
}

FL_TEST(stress_stops_and_prints_a_replay_that_reproduces)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "%s stress %s/shapes.ini:fan_out_limit --iterations 30 "
		 "--batch 10 --seed 3",
		 BIN, JOBS);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	ASSERT(strstr(out, "30 iterations") && strstr(out, "0 failures"));
	snprintf(cmd, sizeof(cmd),
		 "%s stress %s/controls.ini:control_lost_item --iterations 50 "
		 "--seed 5",
		 BIN, JOBS);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 1);
	ASSERT(strstr(out, "iteration 1 of 50 FAILED") != NULL);
	const char *r = strstr(out, "replay: " BIN " replay "); /* argv[0] as it was run */
	ASSERT(r != NULL);
	r += strlen("replay: " BIN);
	char line[1024];
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(r, "\n"), r);
	snprintf(cmd, sizeof(cmd), "%s%s", BIN, line);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 1);
	ASSERT(strstr(out, "conservation") && strstr(out, "FAILED"));
}

/* Under sim, stress names its backend in the replay command, and the
 * replay repeats the failing iteration exactly: the same counts twice. */
/* FAULTLINE_TRACE names the file the sim backend writes its scheduling
 * trace to. The parent of the isolated runs used to start the scheduler
 * to learn the backend's name for the report, which truncated the file
 * after the child had written it: the trace came out empty. Now it holds
 * the run's events, and two runs write the same trace byte for byte. */
FL_TEST(trace_file_holds_the_run)
{
	char dir[256], cmd[2048];
	fl_test_tmpdir(dir, sizeof(dir));
	for (int i = 0; i < 2; i++) {
		snprintf(
			cmd, sizeof(cmd),
			"FAULTLINE_TRACE=%s/trace%d.txt %s run early_return --backend sim --seed 3 "
			"--report %s/r%d",
			dir, i, BIN, dir, i);
		ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	}
	snprintf(cmd, sizeof(cmd), "grep -c ' spawn task=' %s/trace0.txt", dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0); /* grep found spawns */
	ASSERT_GT(atoi(out), 2);
	snprintf(cmd, sizeof(cmd), "cmp %s/trace0.txt %s/trace1.txt", dir, dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
}

FL_TEST(replay_under_sim_is_exact)
{
	char dir[256], job[300], cmd[2048], line[1024], first[4096];
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(job, sizeof(job), "%s/lossy.ini", dir);
	FILE *f = fopen(job, "w");
	ASSERT(f != NULL);
	fputs("[lossy]\nshape = fan-out\ngroup_limit = 3\nitems = 60\nplant = lose-item\n"
	      "stress_faults = work=20% drop; source=10% dup | work=10% error(inval)\n",
	      f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s stress %s --backend sim --iterations 5 --seed 9", BIN, job);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 1);
	const char *r = strstr(out, "replay: " BIN " replay "); /* argv[0] as it was run */
	ASSERT(r != NULL);
	r += strlen("replay: " BIN);
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(r, "\n"), r);
	ASSERT(strstr(line, "--backend sim") != NULL);
	snprintf(cmd, sizeof(cmd), "%s%s", BIN, line);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 1);
	const char *c = strstr(out, "produced ");
	ASSERT(c != NULL);
	snprintf(first, sizeof(first), "%.*s", (int)strcspn(c, "\n"), c);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 1);
	c = strstr(out, "produced ");
	ASSERT(c != NULL);
	if (strncmp(c, first, strlen(first)) != 0)
		FL_FAIL("replays differ:\n%s\n%.*s", first, (int)strcspn(c, "\n"), c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
}

/* Every shape and error mode under random plans (panics included): the
 * engine's own accounting holds whatever fires. */
FL_TEST(stress_every_shape_under_random_faults)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s stress %s/chaos.ini --iterations 20 --batch 10 --seed 1",
		 BIN, JOBS);
	int rc = fl_test_sh(cmd, out, sizeof(out));
	if (rc != 0)
		FL_FAIL("exit %d: %s", rc, out);
	ASSERT(strstr(out, "stress chaos_policies: 20 iterations") != NULL);
}

FL_TEST(sweep_fails_each_evaluation_in_turn)
{
	char dir[256], job[300], cmd[2048];
	fl_test_tmpdir(dir, sizeof(dir));
	snprintf(job, sizeof(job), "%s/sweep.ini", dir);
	FILE *f = fopen(job, "w");
	ASSERT(f != NULL);
	fputs("[three]\nshape = linear\nitems = 3\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s sweep work %s --action 'error(inval)'", BIN, job);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	ASSERT(strstr(out, "work=@1 error(inval): fired, all checks passed") != NULL);
	ASSERT(strstr(out, "work=@3 error(inval): fired") != NULL);
	ASSERT(strstr(out, "work=@4 error(inval): did not fire") != NULL);
	ASSERT(strstr(out, "4 run(s), 0 failed") != NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
}

FL_TEST(report_compare_shows_verdict_changes)
{
	char a[256], b[256], cmd[2048];
	fl_test_tmpdir(a, sizeof(a));
	fl_test_tmpdir(b, sizeof(b));
	snprintf(cmd, sizeof(cmd), "%s run %s/controls.ini:control_leak --report %s", BIN, JOBS, b);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 1);
	/* the same section name, without the bug, as the base */
	char job[300];
	snprintf(job, sizeof(job), "%s/base.ini", a);
	FILE *f = fopen(job, "w");
	ASSERT(f != NULL);
	fputs("[control_leak]\nshape = linear\nitems = 40\nbuffer = 0\n", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s run %s --report %s", BIN, job, a);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd), "%s report compare %s %s", BIN, a, b);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 1);
	if (!strstr(out, "control_leak: no leaks") || !strstr(out, "pass -> fail") ||
	    !strstr(out, "1 newly failing"))
		FL_FAIL("output: %s", out);
	/* as every verb: the comparison as a report, the newly failing check
	 * its one failure, and "-" standard output alone */
	snprintf(cmd, sizeof(cmd),
		 "(%s report compare %s %s --junit=%s/cmp.xml --json - 2>/dev/null)", BIN, a, b, a);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 1);
	if (out[0] != '{' || !strstr(out, "\"failed\": 1") || !strstr(out, "pass -> fail"))
		FL_FAIL("compare --json -: %s", out);
	char xml[300];
	snprintf(xml, sizeof(xml), "%s/cmp.xml", a);
	slurp(xml, out, sizeof(out));
	if (!strstr(out, "failures=\"1\"") || !strstr(out, "<failure"))
		FL_FAIL("compare junit: %s", out);
	snprintf(cmd, sizeof(cmd), "%s report compare %s %s/report.json", BIN, a, a);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd), "%s report compare %s %s --bogus", BIN, a, a);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	snprintf(cmd, sizeof(cmd), "%s report compare %s /nonexistent", BIN, a);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	snprintf(cmd, sizeof(cmd), "rm -rf %s %s", a, b);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
}

/* `catalogue` names every built-in scenario but the exploration targets,
 * and mixes with job files. */
FL_TEST(catalogue_target_is_every_builtin_scenario)
{
	char dir[256], cmd[2048], want[64];
	fl_test_tmpdir(dir, sizeof(dir));
	size_t builtin;
	fl_err *err = fl_scenario_register_builtins(); /* what the faultline command does */
	ASSERT_NULL(err);
	size_t all;
	const fl_scenario *const *cat = fl_scenario_catalogue(&all);
	builtin = 0; /* the exploration targets (the bug zoo) are not in it */
	for (size_t i = 0; i < all; i++)
		builtin += !cat[i]->explore_target;
	ASSERT(builtin >= 20);
	ASSERT(builtin < all);
	snprintf(cmd, sizeof(cmd),
		 "%s run catalogue %s/shapes.ini:linear_first_error --iterations 1 "
		 "--skip-timing --report %s",
		 BIN, JOBS, dir);
	int rc = fl_test_sh(cmd, out, sizeof(out));
	if (rc != 0) /* the verdict table says which check failed */
		FL_FAIL("exit status %d, expected 0:\n%s", rc, out);
	snprintf(want, sizeof(want), "\n%zu scenarios, ", builtin + 1);
	if (!strstr(out, want))
		FL_FAIL("expected \"%s\" in:\n%s", want + 1, out);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 0);
}

/* "-" puts the document alone on standard output (people's output moves to
 * standard error), so `--json - | parser` works; both "-" is refused. */
static void dash_alone_on_stdout(const char *verb_args, const char *opt, char first,
				 const char *human)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "(%s %s %s - 2>/dev/null)", BIN, verb_args, opt);
	(void)fl_test_sh(cmd, out, sizeof(out)); /* sh adds 2>&1 outside the parentheses */
	size_t n = strlen(out);
	if (n < 2 || out[0] != first || strstr(out, "--------") || strstr(out, "report:"))
		FL_FAIL("%s: standard output is not the document alone:\n%s", cmd, out);
	/* negative control: what people read is there, on standard error */
	snprintf(cmd, sizeof(cmd), "(%s %s %s - 2>&1 >/dev/null)", BIN, verb_args, opt);
	(void)fl_test_sh(cmd, out, sizeof(out));
	if (!strstr(out, human))
		FL_FAIL("%s: no \"%s\" on standard error:\n%s", cmd, human, out);
}

FL_TEST(dash_is_the_document_alone)
{
	dash_alone_on_stdout("run sum", "--json", '{', "--------");
	dash_alone_on_stdout("replay 3 sum --backend sim", "--json", '{', "--------");
	dash_alone_on_stdout("run sum", "--junit", '<', "--------");
	dash_alone_on_stdout("stress sum --iterations 2 --seed 1", "--junit", '<', "0 failures");
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s run sum --json - --junit -", BIN);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
	ASSERT(strstr(out, "cannot both be standard output") != NULL);
}

FL_TEST_MAIN(FL_CASE(exit_statuses), FL_CASE(dash_is_the_document_alone),
	     FL_CASE(catalogue_target_is_every_builtin_scenario),
	     FL_CASE(unknown_command_runs_the_tool_next_to_it),
	     FL_CASE(stress_stops_and_prints_a_replay_that_reproduces),
	     FL_CASE(stress_every_shape_under_random_faults), FL_CASE(replay_under_sim_is_exact),
	     FL_CASE(trace_file_holds_the_run), FL_CASE(every_verb_writes_its_reports),
	     FL_CASE(command_line_habits), FL_CASE(sweep_fails_each_evaluation_in_turn),
	     FL_CASE(report_compare_shows_verdict_changes))
