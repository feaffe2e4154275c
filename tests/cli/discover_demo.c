/*
 * discover_demo.c - two scenarios for faultline_discover_scenarios in our
 * own ctest: demo_pass passes, demo_fail fails on purpose (its test is
 * WILL_FAIL, the negative control: a discovered test does fail when its
 * scenario fails). Linked with faultline::main.
 */
#include <fl/scenario.h>

FL_SCENARIO(demo_pass, "passes")
{
	fl_scenario_check(result, "holds", true, 1, 1, NULL, "as it should");
	return NULL;
}

FL_SCENARIO_WITH(demo_fail, "fails on purpose", .labels = "negative_control")
{
	fl_scenario_check(result, "holds", false, 0, 1, NULL, "a planted failure");
	return NULL;
}
