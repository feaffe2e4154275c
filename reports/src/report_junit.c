/*
 * report_junit.c - JUnit XML for CI test viewers.
 *
 * One <testsuite> per scenario, one <testcase> per check: a check named
 * "scenario: check" belongs to that scenario's suite (as the scenarios
 * layer names them), any other to a suite named after the run. CI viewers
 * then show each scenario as a suite instead of one blob. A suite's time is
 * its scenario's run (the counter "<scenario>.duration_ns"), or the run's.
 * A failed check carries <failure message="..."> with the message and the
 * measured value against the threshold; a skipped one carries <skipped>.
 * The run's metadata goes into every suite's <properties>, so it shows up
 * next to the results. The shape is tests/reports/junit.xsd's. Every string from the report passes through
 * fl__report_xml_escape, which also keeps the document valid XML 1.0 when a
 * name holds control characters or bytes that are not UTF-8.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fl/report.h>

#include "report_internal.h"

static void property(FILE *out, const char *name, const char *value)
{
	fprintf(out, "      <property name=\"%s\" value=\"", name);
	fl__report_xml_escape(out, value);
	fputs("\"/>\n", out);
}

static void emit_properties(FILE *out, const fl_report *r)
{
	char buf[64];
	fputs("    <properties>\n", out);
	snprintf(buf, sizeof(buf), "%" PRIu64, r->seed);
	property(out, "seed", buf);
	property(out, "fault_plan", r->fault_plan);
	property(out, "backend", r->backend);
	property(out, "git_rev", r->git_rev);
	property(out, "cpu_model", r->host.cpu_model);
	property(out, "kernel", r->host.kernel);
	snprintf(buf, sizeof(buf), "%" PRId32 " of %" PRId32, r->repetition + 1, r->repetitions);
	property(out, "repetition", buf);
	fputs("    </properties>\n", out);
}

/* "measured 12.3 ms, threshold 10.0 ms", or "" when neither is set. */
static void describe_values(const fl_report_check *c, char *buf, size_t cap)
{
	char m[64], t[64], n[32];
	bool ns = strcmp(c->unit, "ns") == 0;
	if (ns) {
		fl_report_format_ns(c->measured, true, m, sizeof(m));
		fl_report_format_ns(c->threshold, true, t, sizeof(t));
	} else {
		snprintf(m, sizeof(m), "%s%s%s", fl_report_format_num(c->measured, n, sizeof(n)),
			 *c->unit ? " " : "", c->unit);
		snprintf(t, sizeof(t), "%s%s%s", fl_report_format_num(c->threshold, n, sizeof(n)),
			 *c->unit ? " " : "", c->unit);
	}
	buf[0] = '\0';
	if (isfinite(c->measured) && isfinite(c->threshold))
		snprintf(buf, cap, "measured %s, threshold %s", m, t);
	else if (isfinite(c->measured))
		snprintf(buf, cap, "measured %s", m);
}

/* The scenario a check belongs to: the length of "scenario" in
 * "scenario: check", or 0 (the run's own suite). */
static size_t suite_len(const char *name)
{
	const char *sep = strstr(name, ": ");
	return sep ? (size_t)(sep - name) : 0;
}

static bool same_suite(const char *a, size_t alen, const char *b)
{
	return suite_len(b) == alen && strncmp(a, b, alen) == 0;
}

static void emit_case(FILE *out, const fl_report *r, const fl_report_check *c, size_t slen)
{
	char vals[192];
	describe_values(c, vals, sizeof(vals));
	fputs("    <testcase name=\"", out);
	fl__report_xml_escape(out, slen ? c->name + slen + 2 : c->name);
	fputs("\" classname=\"faultline.", out);
	fl__report_xml_escape(out, r->name);
	if (slen) {
		char suite[256];
		snprintf(suite, sizeof(suite), ".%.*s", (int)slen, c->name);
		fl__report_xml_escape(out, suite);
	}
	fprintf(out, "\" time=\"%.3f\"", (double)c->time_ns / 1e9);
	if (c->verdict == FL_REPORT_PASS) {
		fputs("/>\n", out);
		return;
	}
	const char *tag = c->verdict == FL_REPORT_FAIL ? "failure" : "skipped";
	fprintf(out, ">\n      <%s message=\"", tag);
	fl__report_xml_escape(out, *c->message ? c->message : vals);
	if (c->verdict == FL_REPORT_FAIL) {
		fputs("\" type=\"check\">", out);
		fl__report_xml_escape(out, vals);
		fprintf(out, "</%s>\n", tag);
	} else {
		fputs("\"/>\n", out);
	}
	fputs("    </testcase>\n", out);
}

/* One suite: the checks of the scenario named by check `first`, and its
 * counts, time and properties. */
static void emit_suite(FILE *out, const fl_report *r, size_t first, const char *when)
{
	const char *key = r->checks[first].name;
	size_t slen = suite_len(key), tests = 0, fail = 0, skip = 0;
	for (size_t i = first; i < r->nchecks; i++)
		if (same_suite(key, slen, r->checks[i].name)) {
			tests++;
			fail += r->checks[i].verdict == FL_REPORT_FAIL;
			skip += r->checks[i].verdict == FL_REPORT_SKIP;
		}
	double secs = (double)r->duration_ns / 1e9;
	if (slen) {
		char cname[300];
		snprintf(cname, sizeof(cname), "%.*s.duration_ns", (int)slen, key);
		const fl_report_counter *d = fl_report_find_counter(r, cname);
		secs = d ? (double)d->value / 1e9 : 0;
	}
	fputs("  <testsuite name=\"", out);
	if (slen) {
		char suite[256];
		snprintf(suite, sizeof(suite), "%.*s", (int)slen, key);
		fl__report_xml_escape(out, suite);
	} else {
		fl__report_xml_escape(out, r->name);
	}
	fprintf(out,
		"\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"%zu\" "
		"time=\"%.3f\" timestamp=\"%s\" hostname=\"",
		tests, fail, skip, secs, when);
	fl__report_xml_escape(out, r->host.hostname);
	fputs("\">\n", out);
	emit_properties(out, r);
	for (size_t i = first; i < r->nchecks; i++)
		if (same_suite(key, slen, r->checks[i].name))
			emit_case(out, r, &r->checks[i], slen);
	fputs("  </testsuite>\n", out);
}

fl_err *fl__report_emit_junit(const fl_report *r, FILE *out)
{
	char when[40];
	size_t fail = fl_report_count_verdict(r, FL_REPORT_FAIL);
	size_t skip = fl_report_count_verdict(r, FL_REPORT_SKIP);
	double secs = (double)r->duration_ns / 1e9;
	fl_report_format_time(r->start_unix_ns, when, sizeof(when));
	when[19] = '\0'; /* JUnit timestamps carry no zone or fraction */
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
	fprintf(out,
		"<testsuites tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
		"skipped=\"%zu\" time=\"%.3f\">\n",
		r->nchecks, fail, skip, secs);
	for (size_t i = 0; i < r->nchecks; i++) { /* each suite at its first check */
		const char *name = r->checks[i].name;
		size_t slen = suite_len(name);
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = same_suite(name, slen, r->checks[k].name);
		if (!seen)
			emit_suite(out, r, i, when);
	}
	if (r->nchecks == 0) { /* an empty run is still one (empty) suite */
		fputs("  <testsuite name=\"", out);
		fl__report_xml_escape(out, r->name);
		fprintf(out,
			"\" tests=\"0\" failures=\"0\" errors=\"0\" skipped=\"0\" "
			"time=\"%.3f\" timestamp=\"%s\">\n",
			secs, when);
		emit_properties(out, r);
		fputs("  </testsuite>\n", out);
	}
	fputs("</testsuites>\n", out);
	return NULL;
}

fl_err *fl_report_write_junit(const fl_report *r, const char *path)
{
	return fl__report_write_with(r, path, fl__report_emit_junit);
}
