/*
 * cmd_list.c - `PROG list [TARGET...] [--json | --names]`: the scenarios
 * the targets name (default: every registered one, the exploration
 * targets in a section of their own, not in --json or --names), each with its
 * declared checks and stress plans; --json prints them as one JSON array
 * (jansson) for scripts and CI matrices, --names one name per line (what
 * faultline_discover_scenarios reads to add one ctest test per scenario).
 */
#include "cli_internal.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* One scenario as {"name", "description", "checks": [], "stress_plans": [],
 * "labels"}. */
static json_t *json_of(const fl_scenario *s)
{
	json_t *checks = json_array(), *plans = json_array();
	for (const char *const *c = s->checks; c && *c; c++)
		json_array_append_new(checks, json_string(*c));
	for (const char *const *f = s->stress_faults; f && *f; f++)
		json_array_append_new(plans, json_string(*f));
	return json_pack("{s:s, s:s, s:o, s:o, s:s}", "name", s->name, "description",
			 s->description ? s->description : "", "checks", checks, "stress_plans",
			 plans, "labels", s->labels ? s->labels : "");
}

static int list_json(const fl__cli_targets *t)
{
	json_t *all = json_array();
	for (size_t i = 0; all && i < t->n; i++)
		if (json_array_append_new(all, json_of(t->s[i])) != 0) {
			json_decref(all);
			all = NULL;
		}
	int rc = all && json_dumpf(all, stdout, JSON_INDENT(2)) == 0 ? 0 : EXIT_USAGE;
	if (!rc)
		putchar('\n');
	else
		fprintf(stderr, "%s list: out of memory writing JSON\n", fl__cli_prog);
	json_decref(all);
	return rc;
}

static void list_one(const fl_scenario *s)
{
	printf("%-20s %s\n", s->name, s->description);
	for (const char *const *c = s->checks; c && *c; c++)
		printf("%-20s   - %s\n", "", *c);
	for (const char *const *f = s->stress_faults; f && *f; f++)
		printf("%-20s   stress plan: %s\n", "", *f);
}

/* The exploration targets (the bug zoo): not in the default suite, nor in
 * --names or --json without targets; run, stress and explore take them by
 * name. */
static void list_targets(void)
{
	size_t n;
	const fl_scenario *const *cat = fl_scenario_catalogue(&n);
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		if (!cat[i]->explore_target)
			continue;
		if (first)
			printf("\nexploration targets (planted bugs: not in the default suite; "
			       "run, stress and explore take them by name):\n");
		first = false;
		list_one(cat[i]);
	}
}

int fl__cli_list(int argc, char **argv)
{
	fl__cli_targets t = {0};
	int rc = 0, ntargets = 0;
	bool json = false, names = false;
	for (int i = 0; i < argc && !rc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--names") == 0)
			names = true;
		else if (argv[i][0] == '-' && argv[i][1])
			fprintf(stderr, "%s list: unknown option '%s'\n", fl__cli_prog, argv[i]),
				rc = EXIT_USAGE;
		else
			rc = fl__cli_target_add(&t, argv[i]), ntargets++;
	}
	if (!rc && ntargets == 0)
		fl__cli_target_all(&t);
	if (!rc && json && names) {
		fprintf(stderr, "%s list: --json or --names, not both\n", fl__cli_prog);
		rc = EXIT_USAGE;
	}
	if (!rc && names) { /* job-file targets print as FILE:SECTION, as run takes them */
		for (size_t i = 0; i < t.n; i++)
			printf("%s\n", t.spec[i]);
		fl__cli_targets_free(&t);
		return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
	}
	if (!rc && json) {
		rc = list_json(&t);
		fl__cli_targets_free(&t);
		return rc;
	}
	for (size_t i = 0; i < t.n && !rc; i++)
		list_one(t.s[i]);
	if (!rc && ntargets == 0)
		list_targets();
	if (!rc && ntargets == 0)
		printf("\nevery scenario also gets: %s, %s, %s, %s, %s,\n%s (isolated runs), %s, "
		       "and for each group it notes: hwm <= limit (and reaches it when "
		       "saturated)\n",
		       FL_SCENARIO_CHECK_LEAKS, FL_SCENARIO_CHECK_THREADS, FL_SCENARIO_CHECK_FDS,
		       FL_SCENARIO_CHECK_HEAP, FL_SCENARIO_CHECK_HEAP_GROWTH,
		       FL_SCENARIO_CHECK_CRASH, FL_SCENARIO_CHECK_HANG);
	fl__cli_targets_free(&t);
	return rc;
}
