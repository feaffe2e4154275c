/*
 * test_fl_main.c - fl_main over a program's own scenarios, run as a user
 * runs their test binary: user_scenarios.c (FL_SCENARIO, FL_SCENARIO_WITH,
 * linked with faultline::main) lists exactly its own scenarios in
 * registration order, runs them by name and by glob with the exit codes of
 * the faultline command, applies FL_SCENARIO_WITH's options, names itself
 * (argv[0]) in messages and in the replay line, explores them (the verb
 * is fl_main's), and user_badreg.c's failed
 * registrations stop every verb with exit 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fl_test.h"
#include "fl_test_sh.h"

#define DIR FL_BINARY_DIR "/tests/cli"
#define USER DIR "/fl_user_scenarios"
#define BADREG DIR "/fl_user_badreg"

static char out[65536];

/* Runs USER with args (a report directory of its own); exit status. */
static int user(const char *args)
{
	char cmd[2048], dir[256];
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/fl-main-XXXXXX", t && *t ? t : "/tmp");
	ASSERT(mkdtemp(dir) != NULL);
	snprintf(cmd, sizeof(cmd), "%s %s --report %s/r", USER, args, dir);
	int rc = fl_test_sh(cmd, out, sizeof(out));
	char rm[512];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	ASSERT_EQ(system(rm), 0);
	return rc;
}

static void expect(const char *want)
{
	if (!strstr(out, want))
		FL_FAIL("expected \"%s\" in:\n%s", want, out);
}

FL_TEST(list_names_its_own_scenarios_in_order)
{
	ASSERT_EQ(fl_test_sh(USER " list --names", out, sizeof(out)), 0);
	ASSERT_STR_EQ(out, "orders_sum\norders_lost\nwith_options\n"); /* no built-in */
	ASSERT_EQ(fl_test_sh(USER " list --names 'orders_*'", out, sizeof(out)), 0);
	ASSERT_STR_EQ(out, "orders_sum\norders_lost\n");
	ASSERT_EQ(fl_test_sh(USER " list --json with_options", out, sizeof(out)), 0);
	expect("\"labels\": \"slow orders\"");
	expect("\"saw three iterations\"");
	ASSERT_EQ(fl_test_sh(USER " list --names --json", out, sizeof(out)), 2);
	ASSERT_EQ(fl_test_sh(USER " list sum", out, sizeof(out)),
		  2); /* the built-ins are not here */
}

FL_TEST(run_exit_codes_and_globs)
{
	ASSERT_EQ(user("run orders_sum"), 0);
	expect("1 scenario,");
	ASSERT_EQ(user("run orders_lost"), 1); /* the planted lost item is caught */
	expect("every item accounted");
	expect("FAIL");
	ASSERT_EQ(user("run 'orders_*'"), 1);
	expect("2 scenarios,");
	ASSERT_EQ(user("run 'orders_s*' 'with_*'"), 0);
	expect("2 scenarios,");
	ASSERT_EQ(user("run"), 1); /* all three, one fails */
	expect("3 scenarios,");
	ASSERT_EQ(user("run 'nothing_*'"), 2);
	expect("no scenario matches 'nothing_*'");
	ASSERT_EQ(user("run --bogus"), 2);
	ASSERT_EQ(fl_test_sh(USER " frobnicate", out, sizeof(out)), 2);
	expect("unknown command 'frobnicate'");
	ASSERT_EQ(fl_test_sh(USER, out, sizeof(out)), 2); /* no verb: usage */
	ASSERT_EQ(fl_test_sh(USER " --help", out, sizeof(out)), 0);
	ASSERT(strncmp(out, "usage: fl_user_scenarios run", 28) == 0);
}

FL_TEST(options_apply)
{
	ASSERT_EQ(user("run with_options"), 0); /* three iterations by default */
	/* negative control: other iterations break its check */
	ASSERT_EQ(user("run with_options --iterations 2"), 1);
	expect("iterations 2");
}

FL_TEST(messages_name_the_program)
{
	ASSERT_EQ(user("run nope"), 2);
	expect("fl_user_scenarios: no scenario 'nope' (see: fl_user_scenarios list)");
	ASSERT(strstr(out, "faultline") == NULL);
}

/* The replay line starts with argv[0] as the program was run, so pasting
 * it runs the same binary: here a relative ./ path from its directory. */
FL_TEST(replay_line_names_argv0_and_reproduces)
{
	ASSERT_EQ(fl_test_sh("cd " DIR " && ./fl_user_scenarios stress orders_lost --iterations 3 "
			     "--seed 4",
			     out, sizeof(out)),
		  1);
	const char *r = strstr(out, "replay: ./fl_user_scenarios replay ");
	if (!r)
		FL_FAIL("no replay line naming ./fl_user_scenarios in:\n%s", out);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "cd " DIR " && %.*s", (int)strcspn(r + 8, "\n"), r + 8);
	ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 1);
	expect("every item accounted");
	/* negative control: the clean scenario's stress passes, no replay line */
	ASSERT_EQ(fl_test_sh("cd " DIR
			     " && ./fl_user_scenarios stress orders_sum --iterations 3 --seed 4",
			     out, sizeof(out)),
		  0);
	ASSERT(strstr(out, "replay:") == NULL);
}

/* explore is one of fl_main's verbs: a user's binary explores its own
 * scenarios on sim and prints a replay line naming itself. */
FL_TEST(explore_in_a_users_binary)
{
	ASSERT_EQ(fl_test_sh("cd " DIR
			     " && ./fl_user_scenarios explore orders_lost --strategy pos --runs 5 "
			     "--seed 4",
			     out, sizeof(out)),
		  1);
	expect("replay: ./fl_user_scenarios replay 4 'orders_lost' --backend sim --strategy pos");
	/* negative control: the clean scenario explores without a failure */
	ASSERT_EQ(fl_test_sh("cd " DIR
			     " && ./fl_user_scenarios explore orders_sum --strategy pos --runs 5 "
			     "--seed 4",
			     out, sizeof(out)),
		  0);
	expect("5 runs in");
}

FL_TEST(failed_registration_stops_every_verb)
{
	static const char *const verbs[] = {" list", " list --names", " run", " stress twice"};
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "%s%s", BADREG, verbs[i]);
		ASSERT_EQ(fl_test_sh(cmd, out, sizeof(out)), 2);
		expect("fl_user_badreg: a scenario failed to register");
		expect("scenario 'Orders': name may hold only a-z, 0-9 and _");
		expect("scenario 'twice': name is already registered");
	}
}

FL_TEST_MAIN(FL_CASE(list_names_its_own_scenarios_in_order), FL_CASE(run_exit_codes_and_globs),
	     FL_CASE(options_apply), FL_CASE(messages_name_the_program),
	     FL_CASE(replay_line_names_argv0_and_reproduces), FL_CASE(explore_in_a_users_binary),
	     FL_CASE(failed_registration_stops_every_verb))
