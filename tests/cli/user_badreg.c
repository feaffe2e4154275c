/*
 * user_badreg.c - a test binary whose scenarios fail to register before
 * main: an upper-case name and a name taken twice. test_fl_main.c checks
 * that every verb then exits 2 naming both, instead of running without
 * them.
 */
#include <fl/scenario.h>

FL_SCENARIO(Orders, "an upper-case name: not a scenario name") { return NULL; }

FL_SCENARIO(twice, "registered first") { return NULL; }

/* The same name from another definition (as another file would). */
static fl_scenario again;

__attribute__((constructor)) static void register_again(void)
{
	fl_scenario_define(&again, "twice", "registered second", NULL, twice);
}
