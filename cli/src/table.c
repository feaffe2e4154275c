/*
 * table.c - the verdict table run, stress and replay print: one row per
 * check (scenario, check, verdict, measured, threshold), the message under
 * a failed or skipped check.
 */
#include "cli_internal.h"

#include <fl/report.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

static void fmt_value(double v, const char *unit, char *buf, size_t cap)
{
	if (isnan(v))
		snprintf(buf, cap, "-");
	else if (strcmp(unit, "ns") == 0)
		fl_report_format_ns(v, true, buf, cap);
	else
		snprintf(buf, cap, "%.10g%s%s", v, unit[0] ? " " : "", unit);
}

static void print_rule(int w0, int w1)
{
	printf("%.*s  %.*s  %.7s  %.12s  %.12s\n", w0, "----------------------------------------",
	       w1, "------------------------------------------------------------", "-------",
	       "------------", "------------");
}

void fl__cli_print_table(fl_scenario_result *const *res, size_t n)
{
	int w0 = (int)strlen("scenario"), w1 = (int)strlen("check");
	for (size_t i = 0; i < n; i++) {
		int l0 = (int)strlen(res[i]->scenario->name);
		w0 = l0 > w0 ? l0 : w0;
		for (size_t k = 0; k < res[i]->nchecks; k++) {
			int l1 = (int)strlen(res[i]->checks[k].name);
			w1 = l1 > w1 ? l1 : w1;
		}
	}
	w0 = w0 > 40 ? 40 : w0;
	w1 = w1 > 60 ? 60 : w1;
	printf("%-*s  %-*s  %-7s  %12s  %12s\n", w0, "scenario", w1, "check", "verdict", "measured",
	       "threshold");
	print_rule(w0, w1);
	for (size_t i = 0; i < n; i++) {
		const fl_scenario_result *r = res[i];
		if (r->run_err[0])
			printf("%-*s  %-*s  %-7s  %s\n", w0, r->scenario->name, w1, "ran", "FAIL",
			       r->run_err);
		for (size_t k = 0; k < r->nchecks; k++) {
			const fl_scenario_verdict *c = &r->checks[k];
			char m[32], t[32];
			fmt_value(c->measured, c->unit, m, sizeof(m));
			fmt_value(c->threshold, c->unit, t, sizeof(t));
			const char *v = c->verdict == FL_REPORT_PASS   ? "pass"
					: c->verdict == FL_REPORT_FAIL ? "FAIL"
								       : "skip";
			printf("%-*s  %-*s  %-7s  %12s  %12s\n", w0, k ? "" : r->scenario->name, w1,
			       c->name, v, m, t);
			if (c->verdict != FL_REPORT_PASS && c->message[0])
				printf("%-*s  %-*s  %s\n", w0, "", w1, "", c->message);
		}
	}
	print_rule(w0, w1);
}
