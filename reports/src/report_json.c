/*
 * report_json.c - the JSON summary writer.
 *
 * The format is documented in docs/reports.md and read back by
 * report_load.c; the two must change together. Rules that keep the output
 * valid and lossless:
 *   - strings are escaped per RFC 8259: quote, backslash and control
 *     characters are escaped (\n, \t... or \u00XX), valid UTF-8 passes
 *     through, and bytes that are not valid UTF-8 become U+FFFD (written
 *     as UTF-8, so writing a loaded report reproduces the file exactly);
 *   - integers are printed exactly (int64, and uint64 for the seed);
 *   - doubles use the shortest text that reads back to the same value, and
 *     NaN or infinities become null (JSON has no such numbers).
 * Histograms and intervals that have an fl_hdr also carry it whole, as
 * "hdr": the compressed V2 encoding in base64 (fl/hdr_log.h).
 * Objects are printed with two-space indentation, one member per line,
 * except the small per-percentile objects, which stay on one line.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fl/hdr_log.h>
#include <fl/report.h>

#include "report_internal.h"

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	while (*s) {
		unsigned char c = (unsigned char)*s;
		uint32_t cp;
		size_t n = fl__report_utf8_next(s, &cp);
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\t')
			fputs("\\t", out);
		else if (c == '\r')
			fputs("\\r", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else if (n == 0)
			fputs("\xef\xbf\xbd", out); /* U+FFFD, raw like other text */
		else
			fwrite(s, 1, n, out);
		s += n ? n : 1;
	}
	fputc('"', out);
}

static void json_dbl(FILE *out, double d)
{
	char buf[32];
	fputs(fl__report_fmt_double(d, buf, sizeof(buf)), out);
}

/* Prints `"key": "value"` at indentation ind, with a trailing comma. */
static void kv_str(FILE *out, int ind, const char *key, const char *val)
{
	fprintf(out, "%*s\"%s\": ", ind, "", key);
	json_str(out, val);
	fputs(",\n", out);
}

static void kv_i64(FILE *out, int ind, const char *key, int64_t v)
{
	fprintf(out, "%*s\"%s\": %" PRId64 ",\n", ind, "", key, v);
}

static void emit_host(FILE *out, const fl_report_host *h)
{
	fputs("    \"host\": {\"hostname\": ", out);
	json_str(out, h->hostname);
	fputs(", \"cpu_model\": ", out);
	json_str(out, h->cpu_model);
	fprintf(out, ", \"cores\": %" PRId32 ", \"kernel\": ", h->cores);
	json_str(out, h->kernel);
	fputs("}\n", out);
}

static void emit_run(FILE *out, const fl_report *r)
{
	char when[40];
	fputs("  \"run\": {\n", out);
	kv_str(out, 4, "name", r->name);
	fprintf(out, "    \"seed\": %" PRIu64 ",\n", r->seed);
	kv_str(out, 4, "fault_plan", r->fault_plan);
	kv_str(out, 4, "backend", r->backend);
	kv_str(out, 4, "git_rev", r->git_rev);
	kv_str(out, 4, "start_time",
	       fl_report_format_time(r->start_unix_ns, when, sizeof(when)));
	kv_i64(out, 4, "start_unix_ns", r->start_unix_ns);
	kv_i64(out, 4, "duration_ns", r->duration_ns);
	kv_i64(out, 4, "repetition", r->repetition);
	kv_i64(out, 4, "repetitions", r->repetitions);
	emit_host(out, &r->host);
	fputs("  },\n", out);
}

/* The members of a summary, on the current line, without braces. */
static void emit_stats(FILE *out, const fl_report_stats *st)
{
	fprintf(out, "\"count\": %" PRId64 ", \"min\": %" PRId64
		     ", \"max\": %" PRId64 ", \"mean\": ",
		st->count, st->min, st->max);
	json_dbl(out, st->mean);
	fputs(", \"stddev\": ", out);
	json_dbl(out, st->stddev);
	fputs(", \"percentiles\": {", out);
	for (int i = 0; i < FL_REPORT_NPCT; i++)
		fprintf(out, "%s\"%s\": %" PRId64, i ? ", " : "",
			fl_report_pct_label(i), st->pct[i]);
	fprintf(out, "}, \"out_of_range\": %" PRId64, st->out_of_range);
}

/*
 * The "hdr" member: the whole histogram as a compressed V2 encoding in
 * base64 (HdrHistogram's interchange form), so a loaded report keeps the
 * full distribution and not just the summary. Nothing when hdr is NULL.
 */
static fl_err *emit_hdr(FILE *out, const fl_hdr *hdr)
{
	char *b64 = NULL;
	if (!hdr)
		return NULL;
	fl_err *err = fl_hdr_encode_base64(hdr, -1, &b64);
	if (err)
		return fl_err_wrap(err, "encode histogram");
	fprintf(out, ", \"hdr\": \"%s\"", b64);
	free(b64);
	return NULL;
}

static fl_err *emit_hist(FILE *out, const fl_report_hist *h, bool last)
{
	fl_report_stats st;
	fl_report_hist_stats(h, &st);
	fputs("    {\"name\": ", out);
	json_str(out, h->name);
	fputs(", \"unit\": \"ns\",\n     ", out);
	emit_stats(out, &st);
	fputs(",\n     \"slos\": [", out);
	for (size_t i = 0; i < h->nslos; i++) {
		fprintf(out, "%s{\"percentile\": ", i ? ", " : "");
		json_dbl(out, h->slos[i].percentile);
		fprintf(out, ", \"threshold_ns\": %" PRId64 "}", h->slos[i].threshold_ns);
	}
	fputc(']', out);
	fl_err *err = emit_hdr(out, h->hdr);
	fprintf(out, "}%s\n", last ? "" : ",");
	return err;
}

static fl_err *emit_hists(FILE *out, const fl_report *r)
{
	fl_err *err = NULL;
	fputs("  \"histograms\": [\n", out);
	for (size_t i = 0; i < r->nhists && !err; i++)
		err = emit_hist(out, &r->hists[i], i + 1 == r->nhists);
	fputs("  ],\n", out);
	return err;
}

static fl_err *emit_one_series(FILE *out, const fl_report_series *s, bool last)
{
	fl_err *err = NULL;
	fputs("    {\"name\": ", out);
	json_str(out, s->name);
	fputs(", \"unit\": \"ns\", \"intervals\": [\n", out);
	for (size_t i = 0; i < s->nivs && !err; i++) {
		fl_report_stats st;
		fl_report_interval_stats(&s->ivs[i], &st);
		fprintf(out, "      {\"start_ns\": %" PRId64 ", \"length_ns\": %" PRId64 ", ",
			s->ivs[i].start_ns, s->ivs[i].length_ns);
		emit_stats(out, &st);
		err = emit_hdr(out, s->ivs[i].hdr);
		fprintf(out, "}%s\n", i + 1 == s->nivs ? "" : ",");
	}
	fprintf(out, "    ]}%s\n", last ? "" : ",");
	return err;
}

static fl_err *emit_series(FILE *out, const fl_report *r)
{
	fl_err *err = NULL;
	fputs("  \"series\": [\n", out);
	for (size_t i = 0; i < r->nseries && !err; i++)
		err = emit_one_series(out, &r->series[i], i + 1 == r->nseries);
	fputs("  ],\n", out);
	return err;
}

static void emit_counters(FILE *out, const fl_report *r)
{
	fputs("  \"counters\": {", out);
	for (size_t i = 0; i < r->ncounters; i++) {
		fputs(i ? ",\n    " : "\n    ", out);
		json_str(out, r->counters[i].name);
		fprintf(out, ": %" PRId64, r->counters[i].value);
	}
	fputs(r->ncounters ? "\n  },\n" : "},\n", out);
}

static fl_err *emit_faults(FILE *out, const fl_report *r)
{
	fl__report_point *pts = NULL;
	size_t n = fl__report_fault_points(r, &pts);
	if (n == SIZE_MAX)
		return FL_ERR_NOMEM;
	fprintf(out, "  \"faults\": {\n    \"total\": %zu,\n    \"counts\": {", r->nfaults);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : "", out);
		json_str(out, pts[i].name);
		fprintf(out, ": %" PRId64, pts[i].count);
	}
	free(pts);
	fputs("},\n    \"events\": [", out);
	for (size_t i = 0; i < r->nfaults; i++) {
		fprintf(out, "%s\n      {\"at_ns\": %" PRId64 ", \"point\": ",
			i ? "," : "", r->faults[i].at_ns);
		json_str(out, r->faults[i].point);
		fputs(", \"action\": ", out);
		json_str(out, r->faults[i].action);
		fputc('}', out);
	}
	fputs(r->nfaults ? "\n    ]\n  },\n" : "]\n  },\n", out);
	return NULL;
}

static void emit_check(FILE *out, const fl_report_check *c, bool last)
{
	fputs("    {\"name\": ", out);
	json_str(out, c->name);
	fprintf(out, ", \"verdict\": \"%s\", \"measured\": ",
		fl_report_verdict_name(c->verdict));
	json_dbl(out, c->measured);
	fputs(", \"threshold\": ", out);
	json_dbl(out, c->threshold);
	fputs(", \"unit\": ", out);
	json_str(out, c->unit);
	fputs(",\n     \"message\": ", out);
	json_str(out, c->message);
	fprintf(out, "}%s\n", last ? "" : ",");
}

static void emit_checks(FILE *out, const fl_report *r)
{
	fputs("  \"checks\": [\n", out);
	for (size_t i = 0; i < r->nchecks; i++)
		emit_check(out, &r->checks[i], i + 1 == r->nchecks);
	fprintf(out, "  ],\n  \"summary\": {\"passed\": %zu, \"failed\": %zu, "
		     "\"skipped\": %zu}\n",
		fl_report_count_verdict(r, FL_REPORT_PASS),
		fl_report_count_verdict(r, FL_REPORT_FAIL),
		fl_report_count_verdict(r, FL_REPORT_SKIP));
}

fl_err *fl__report_emit_json(const fl_report *r, FILE *out)
{
	fputs("{\n  \"schema\": \"faultline-report\",\n  \"version\": 1,\n", out);
	emit_run(out, r);
	fl_err *err = emit_hists(out, r);
	if (!err)
		err = emit_series(out, r);
	if (err)
		return err;
	emit_counters(out, r);
	err = emit_faults(out, r);
	if (err)
		return err;
	emit_checks(out, r);
	fputs("}\n", out);
	return NULL;
}

fl_err *fl_report_write_json(const fl_report *r, const char *path)
{
	return fl__report_write_with(r, path, fl__report_emit_json);
}
