/*
 * report_md.c - the Markdown summary (GitHub-flavoured tables).
 *
 * Sections: a title with the overall verdict, the run metadata, the check
 * verdicts, a percentile table (times in human units), a row per series
 * (its intervals, throughput range, worst p99 and when), the counters and
 * the fault counts per point. Every user-supplied string is escaped by
 * md_text: Markdown punctuation that could start formatting, links or raw
 * HTML gets a backslash (GFM allows one before any ASCII punctuation), the
 * pipe included so that it cannot split a table cell, and newlines become
 * spaces so that a cell stays on its row. Bytes that are not valid UTF-8,
 * and other control characters, become U+FFFD: the file is always UTF-8,
 * as the JSON and HTML writers' output is.
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <fl/report.h>

#include "report_internal.h"

static void md_text(FILE *out, const char *s)
{
	static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
	while (*s) {
		char c = *s;
		uint32_t cp;
		size_t n = fl__report_utf8_next(s, &cp);
		if (c == '\n' || c == '\r' || c == '\t')
			fputc(' ', out);
		else if (strchr("\\|`*_[]<>#!~&", c))
			fprintf(out, "\\%c", c);
		else if (n == 0 || cp < 0x20 || cp == 0x7f)
			fputs(repl, out); /* not UTF-8, or a control character */
		else
			fwrite(s, 1, n, out);
		s += n ? n : 1;
	}
}

/* A check's value in its unit, for a table cell; "" when NaN. */
static void md_value(FILE *out, double v, const char *unit)
{
	char buf[40];
	if (!isfinite(v))
		return;
	if (strcmp(unit, "ns") == 0) {
		fputs(fl_report_format_ns(v, false, buf, sizeof(buf)), out);
		return;
	}
	fputs(fl_report_format_num(v, buf, sizeof(buf)), out);
	if (*unit) {
		fputc(' ', out);
		md_text(out, unit);
	}
}

static void md_meta(FILE *out, const fl_report *r)
{
	char when[40], dur[32];
	size_t fail = fl_report_count_verdict(r, FL_REPORT_FAIL);
	fputs("# ", out);
	md_text(out, r->name);
	fprintf(out, " — %s\n\n", fail ? "FAIL" : "PASS");
	fputs("| run | |\n|---|---|\n", out);
	fprintf(out, "| seed | `%" PRIu64 "` |\n| fault plan | ", r->seed);
	md_text(out, *r->fault_plan ? r->fault_plan : "(none)");
	fputs(" |\n| backend | ", out);
	md_text(out, r->backend);
	fputs(" |\n| revision | ", out);
	md_text(out, r->git_rev);
	fprintf(out, " |\n| started | %s |\n| duration | %s |\n",
		fl_report_format_time(r->start_unix_ns, when, sizeof(when)),
		fl_report_format_ns((double)r->duration_ns, false, dur, sizeof(dur)));
	fputs("| host | ", out);
	md_text(out, r->host.hostname);
	fputs(", ", out);
	md_text(out, r->host.cpu_model);
	fprintf(out, ", %" PRId32 " cores, ", r->host.cores);
	md_text(out, r->host.kernel);
	fprintf(out, " |\n| repetition | %" PRId32 " of %" PRId32 " |\n\n", r->repetition + 1,
		r->repetitions);
}

static void md_check_row(FILE *out, const fl_report_check *c, const char *badge)
{
	fprintf(out, "| %s | ", badge);
	md_text(out, c->name);
	fputs(" | ", out);
	md_value(out, c->measured, c->unit);
	fputs(" | ", out);
	md_value(out, c->threshold, c->unit);
	fputs(" | ", out);
	md_text(out, c->message);
	fputs(" |\n", out);
}

/* Failures first, then skips, then passes (fl__report_verdict_order). */
static void md_checks(FILE *out, const fl_report *r)
{
	static const char *const badge[] = {"✅ pass", "❌ **fail**", "⏭ skip"};
	if (!r->nchecks)
		return;
	fprintf(out, "## Checks: %zu passed, %zu failed, %zu skipped\n\n",
		fl_report_count_verdict(r, FL_REPORT_PASS),
		fl_report_count_verdict(r, FL_REPORT_FAIL),
		fl_report_count_verdict(r, FL_REPORT_SKIP));
	fputs("| verdict | check | measured | threshold | message |\n"
	      "|---|---|--:|--:|---|\n",
	      out);
	for (int o = 0; o < 3; o++)
		for (size_t i = 0; i < r->nchecks; i++) {
			const fl_report_check *c = &r->checks[i];
			if (c->verdict == fl__report_verdict_order[o])
				md_check_row(out, c, badge[c->verdict]);
		}
	fputc('\n', out);
}

static void md_hist_row(FILE *out, const fl_report_hist *h)
{
	fl_report_stats st;
	char buf[32];
	fl_report_hist_stats(h, &st);
	fputs("| ", out);
	md_text(out, h->name);
	fprintf(out, " | %" PRId64 " |", st.count);
	for (int i = 0; i < FL_REPORT_NPCT; i++)
		fprintf(out, " %s |",
			fl_report_format_ns((double)st.pct[i], false, buf, sizeof(buf)));
	fprintf(out, " %s |\n", fl_report_format_ns(st.mean, false, buf, sizeof(buf)));
}

static void md_hists(FILE *out, const fl_report *r)
{
	if (!r->nhists)
		return;
	fputs("## Latency\n\n| histogram | count |", out);
	for (int i = 0; i < FL_REPORT_NPCT; i++)
		fprintf(out, " %s |", fl_report_pct_label(i));
	fputs(" mean |\n|---|--:|", out);
	for (int i = 0; i <= FL_REPORT_NPCT; i++)
		fputs("--:|", out);
	fputc('\n', out);
	for (size_t i = 0; i < r->nhists; i++)
		md_hist_row(out, &r->hists[i]);
	fputc('\n', out);
}

/* One series: its intervals, the range of their throughput and the worst
 * interval's p99 with its start (what a CI log needs of the HTML plots). */
static void md_series_row(FILE *out, const fl_report_series *s)
{
	double lo = INFINITY, hi = 0;
	int64_t worst = -1, at = 0;
	for (size_t i = 0; i < s->nivs; i++) {
		fl_report_stats st;
		fl_report_interval_stats(&s->ivs[i], &st);
		double rate = (double)st.count / ((double)s->ivs[i].length_ns / 1e9);
		lo = fmin(lo, rate);
		hi = fmax(hi, rate);
		if (st.count > 0 && st.pct[2] > worst) {
			worst = st.pct[2];
			at = s->ivs[i].start_ns;
		}
	}
	char a[32], b[32], w[32], t[32], len[32];
	fputs("| ", out);
	md_text(out, s->name);
	fprintf(out, " | %zu x %s | %s..%s/s | %s | %s |\n", s->nivs,
		fl_report_format_ns(s->nivs ? (double)s->ivs[0].length_ns : 0, false, len,
				    sizeof(len)),
		fl__report_fmt_si(s->nivs ? lo : 0, a, sizeof(a)),
		fl__report_fmt_si(hi, b, sizeof(b)),
		worst < 0 ? "-" : fl_report_format_ns((double)worst, false, w, sizeof(w)),
		worst < 0 ? "-" : fl_report_format_ns((double)at, false, t, sizeof(t)));
}

static void md_series(FILE *out, const fl_report *r)
{
	if (!r->nseries)
		return;
	fputs("## Over time\n\n| series | intervals | throughput | worst p99 | at |\n"
	      "|---|--:|--:|--:|--:|\n",
	      out);
	for (size_t i = 0; i < r->nseries; i++)
		md_series_row(out, &r->series[i]);
	fputc('\n', out);
}

static void md_counters(FILE *out, const fl_report *r)
{
	if (!r->ncounters)
		return;
	fputs("## Counters\n\n| counter | value |\n|---|--:|\n", out);
	for (size_t i = 0; i < r->ncounters; i++) {
		fputs("| ", out);
		md_text(out, r->counters[i].name);
		fprintf(out, " | %" PRId64 " |\n", r->counters[i].value);
	}
	fputc('\n', out);
}

static fl_err *md_faults(FILE *out, const fl_report *r)
{
	fl__report_fault_kind *k = NULL;
	size_t n = fl__report_fault_kinds(r, &k);
	if (n == SIZE_MAX)
		return FL_ERR_NOMEM;
	if (n)
		fprintf(out,
			"## Faults: %zu injected\n\n| point | action | events |\n"
			"|---|---|--:|\n",
			r->nfaults);
	for (size_t i = 0; i < n; i++) {
		fputs("| ", out);
		md_text(out, k[i].point);
		fputs(" | ", out);
		md_text(out, k[i].action);
		fprintf(out, " | %" PRId64 " |\n", k[i].count);
	}
	if (n)
		fputc('\n', out);
	free(k);
	return NULL;
}

fl_err *fl__report_emit_markdown(const fl_report *r, FILE *out)
{
	md_meta(out, r);
	md_checks(out, r);
	md_hists(out, r);
	md_series(out, r);
	md_counters(out, r);
	return md_faults(out, r);
}

fl_err *fl_report_write_markdown(const fl_report *r, const char *path)
{
	return fl__report_write_with(r, path, fl__report_emit_markdown);
}

fl_err *fl_report_print_markdown(const fl_report *r, FILE *out)
{
	fl_err *err = fl__report_emit_markdown(r, out);
	if (err)
		return err;
	return fl__report_stream_err(out, "markdown summary");
}
