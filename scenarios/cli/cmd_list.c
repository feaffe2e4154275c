/*
 * cmd_list.c - `faultline list [FILE...]`: the scenarios the targets name
 * (default: the catalogue), each with its declared checks and stress plans.
 */
#include "cli_internal.h"

#include <stdio.h>

static void list_one(const fl_scenario *s)
{
	printf("%-20s %s\n", s->name, s->description);
	for (const char *const *c = s->checks; c && *c; c++)
		printf("%-20s   - %s\n", "", *c);
	for (const char *const *f = s->stress_faults; f && *f; f++)
		printf("%-20s   stress plan: %s\n", "", *f);
}

int fl__cli_list(int argc, char **argv)
{
	fl__cli_targets t = {0};
	int rc = 0;
	if (argc == 0)
		fl__cli_target_all(&t);
	for (int i = 0; i < argc && !rc; i++)
		rc = fl__cli_target_add(&t, argv[i]);
	for (size_t i = 0; i < t.n && !rc; i++)
		list_one(t.s[i]);
	if (!rc && argc == 0)
		printf("\nevery scenario also gets: %s, %s, %s (isolated runs), %s,\n"
		       "and for each group it notes: hwm <= limit (and reaches it when "
		       "saturated)\n",
		       FL_SCENARIO_CHECK_LEAKS, FL_SCENARIO_CHECK_HEAP, FL_SCENARIO_CHECK_CRASH,
		       FL_SCENARIO_CHECK_HANG);
	fl__cli_targets_free(&t);
	return rc;
}
