/*
 * report_json.c - the JSON summary writer.
 *
 * The format is documented in docs/reports.md and read back by
 * report_load.c; the two must change together. The report becomes a
 * jansson tree, dumped with two-space indentation (one member or element
 * per line, members in insertion order). Every json_t made here goes to its
 * parent through a *_new call, which takes the reference even when it
 * fails (a NULL child included), so the root owns the whole tree, one
 * json_decref frees it, and a single flag collects out-of-memory. Rules
 * that keep the output valid and lossless:
 *   - strings: bytes that are not valid UTF-8 become U+FFFD first (jansson
 *     takes UTF-8 only; writing a loaded report then reproduces the file),
 *     and jansson escapes quote, backslash and control characters;
 *   - integers are exact; the uint64 seed is a number up to INT64_MAX
 *     (json_int_t is int64) and a decimal string above it;
 *   - doubles: NaN and infinities become null; an integral value below 2^53
 *     is written as an integer; any other as 17 significant digits, which
 *     reads back to the same double (jansson has one precision per dump,
 *     so not the shortest text: 0.1 is 0.10000000000000001).
 * Histograms and intervals that have an fl_hdr also carry it whole, as
 * "hdr": the compressed V2 encoding in base64 (fl/hdr_log.h).
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fl/hdr_log.h>
#include <fl/report.h>

#include "report_internal.h"
#include "fl_alloc_internal.h"

/* s as valid UTF-8: a copy with U+FFFD for each invalid byte, or NULL when
 * s is valid already (or out of memory: *oom set). */
static char *utf8_fixed(const char *s, bool *oom)
{
	size_t n = 0;
	bool bad = false;
	for (const char *p = s; *p;) {
		uint32_t cp;
		size_t k = fl__report_utf8_next(p, &cp);
		bad |= k == 0;
		n += k ? k : 3;
		p += k ? k : 1;
	}
	if (!bad)
		return NULL;
	char *out = fl__malloc(n + 1), *o = out;
	if (!out) {
		*oom = true;
		return NULL;
	}
	for (const char *p = s; *p;) {
		uint32_t cp;
		size_t k = fl__report_utf8_next(p, &cp);
		memcpy(o, k ? p : "\xef\xbf\xbd", k ? k : 3);
		o += k ? k : 3;
		p += k ? k : 1;
	}
	*o = '\0';
	return out;
}

static json_t *jstr(const char *s)
{
	bool oom = false;
	char *fixed = utf8_fixed(s ? s : "", &oom);
	if (oom)
		return NULL;
	json_t *v = json_string(fixed ? fixed : s ? s : "");
	free(fixed);
	return v;
}

static json_t *jint(int64_t v) { return json_integer((json_int_t)v); }

static json_t *jdbl(double d)
{
	if (!isfinite(d))
		return json_null();
	/* Integral below 2^53: exact as an integer; -0.0 stays a real. */
	if (d == trunc(d) && fabs(d) < 9007199254740992.0 && !(d == 0 && signbit(d)))
		return json_integer((json_int_t)d);
	return json_real(d);
}

/* The seed: a number up to INT64_MAX, a decimal string above it. */
static json_t *jseed(uint64_t seed)
{
	if (seed <= INT64_MAX)
		return json_integer((json_int_t)seed);
	char buf[24];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)seed);
	return json_string(buf);
}

/* Sets o[key] = v (taking v; NULL v fails). false: out of memory. */
static bool put(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v) == 0;
}

/* As put, for a key that may not be valid UTF-8 (a name from the user). */
static bool put_name(json_t *o, const char *key, json_t *v)
{
	bool oom = false;
	char *fixed = utf8_fixed(key, &oom);
	if (oom) {
		json_decref(v);
		return false;
	}
	bool ok = json_object_set_new(o, fixed ? fixed : key, v) == 0;
	free(fixed);
	return ok;
}

static bool add(json_t *a, json_t *v) { return json_array_append_new(a, v) == 0; }

static json_t *host_json(const fl_report_host *h)
{
	json_t *o = json_object();
	bool ok = put(o, "hostname", jstr(h->hostname)) & put(o, "cpu_model", jstr(h->cpu_model)) &
		  put(o, "cores", jint(h->cores)) & put(o, "kernel", jstr(h->kernel));
	return ok ? o : (json_decref(o), NULL);
}

static json_t *run_json(const fl_report *r)
{
	char when[40];
	json_t *o = json_object();
	bool ok = put(o, "name", jstr(r->name)) & put(o, "seed", jseed(r->seed)) &
		  put(o, "fault_plan", jstr(r->fault_plan)) & put(o, "backend", jstr(r->backend)) &
		  put(o, "git_rev", jstr(r->git_rev)) &
		  put(o, "start_time",
		      jstr(fl_report_format_time(r->start_unix_ns, when, sizeof(when)))) &
		  put(o, "start_unix_ns", jint(r->start_unix_ns)) &
		  put(o, "duration_ns", jint(r->duration_ns)) &
		  put(o, "repetition", jint(r->repetition)) &
		  put(o, "repetitions", jint(r->repetitions)) & put(o, "host", host_json(&r->host));
	return ok ? o : (json_decref(o), NULL);
}

/* Adds the members of a summary to o. */
static bool put_stats(json_t *o, const fl_report_stats *st)
{
	json_t *pct = json_object();
	bool ok = pct != NULL;
	for (int i = 0; i < FL_REPORT_NPCT && ok; i++)
		ok = put(pct, fl_report_pct_label(i), jint(st->pct[i]));
	if (!ok) {
		json_decref(pct);
		pct = NULL;
	}
	return put(o, "count", jint(st->count)) & put(o, "min", jint(st->min)) &
	       put(o, "max", jint(st->max)) & put(o, "mean", jdbl(st->mean)) &
	       put(o, "stddev", jdbl(st->stddev)) & put(o, "percentiles", pct) &
	       put(o, "out_of_range", jint(st->out_of_range));
}

/*
 * The "hdr" member: the whole histogram as a compressed V2 encoding in
 * base64 (HdrHistogram's interchange form), so a loaded report keeps the
 * full distribution and not just the summary. Nothing when hdr is NULL.
 */
static fl_err *put_hdr(json_t *o, const fl_hdr *hdr)
{
	char *b64 = NULL;
	if (!hdr)
		return NULL;
	fl_err *err = fl_hdr_encode_base64(hdr, -1, &b64);
	if (err)
		return fl_err_wrap(err, "encode histogram");
	bool ok = put(o, "hdr", json_string(b64));
	free(b64);
	return ok ? NULL : FL_ERR_NOMEM;
}

static fl_err *hist_json(const fl_report_hist *h, json_t **out)
{
	fl_report_stats st;
	fl_report_hist_stats(h, &st);
	json_t *o = json_object(), *slos = json_array();
	bool ok = put(o, "name", jstr(h->name)) & put(o, "unit", json_string("ns")) &
		  put_stats(o, &st);
	for (size_t i = 0; i < h->nslos && ok && slos; i++) {
		json_t *slo = json_object();
		ok = put(slo, "percentile", jdbl(h->slos[i].percentile)) &
		     put(slo, "threshold_ns", jint(h->slos[i].threshold_ns));
		ok = add(slos, ok ? slo : (json_decref(slo), NULL)) && ok;
	}
	ok = put(o, "slos", slos) && ok;
	fl_err *err = ok ? put_hdr(o, h->hdr) : FL_ERR_NOMEM;
	if (err)
		json_decref(o);
	*out = err ? NULL : o;
	return err;
}

static fl_err *series_json(const fl_report_series *s, json_t **out)
{
	json_t *o = json_object(), *ivs = json_array();
	bool ok = put(o, "name", jstr(s->name)) & put(o, "unit", json_string("ns"));
	fl_err *err = NULL;
	for (size_t i = 0; i < s->nivs && ok && ivs && !err; i++) {
		fl_report_stats st;
		fl_report_interval_stats(&s->ivs[i], &st);
		json_t *iv = json_object();
		ok = put(iv, "start_ns", jint(s->ivs[i].start_ns)) &
		     put(iv, "length_ns", jint(s->ivs[i].length_ns)) & put_stats(iv, &st);
		if (ok)
			err = put_hdr(iv, s->ivs[i].hdr);
		ok = add(ivs, ok && !err ? iv : (json_decref(iv), NULL)) && ok;
	}
	ok = put(o, "intervals", ivs) && ok;
	if (!err && !ok)
		err = FL_ERR_NOMEM;
	if (err)
		json_decref(o);
	*out = err ? NULL : o;
	return err;
}

static fl_err *put_hists_series(json_t *root, const fl_report *r)
{
	json_t *hs = json_array(), *ss = json_array(), *v;
	fl_err *err = NULL;
	bool ok = hs && ss;
	for (size_t i = 0; i < r->nhists && ok && !err; i++)
		if (!(err = hist_json(&r->hists[i], &v)))
			ok = add(hs, v);
	for (size_t i = 0; i < r->nseries && ok && !err; i++)
		if (!(err = series_json(&r->series[i], &v)))
			ok = add(ss, v);
	ok = put(root, "histograms", hs) & put(root, "series", ss) && ok;
	return err ? err : ok ? NULL : FL_ERR_NOMEM;
}

static bool put_counters(json_t *root, const fl_report *r)
{
	json_t *o = json_object();
	bool ok = o != NULL;
	for (size_t i = 0; i < r->ncounters && ok; i++)
		ok = put_name(o, r->counters[i].name, jint(r->counters[i].value));
	return put(root, "counters", ok ? o : (json_decref(o), NULL));
}

static bool put_faults(json_t *root, const fl_report *r)
{
	fl__report_point *pts = NULL;
	size_t n = fl__report_fault_points(r, &pts);
	if (n == SIZE_MAX)
		return false;
	json_t *o = json_object(), *counts = json_object(), *evs = json_array();
	bool ok = o && counts && evs;
	for (size_t i = 0; i < n && ok; i++)
		ok = put_name(counts, pts[i].name, jint(pts[i].count));
	free(pts);
	for (size_t i = 0; i < r->nfaults && ok; i++) {
		json_t *e = json_object();
		ok = put(e, "at_ns", jint(r->faults[i].at_ns)) &
		     put(e, "point", jstr(r->faults[i].point)) &
		     put(e, "action", jstr(r->faults[i].action));
		ok = add(evs, ok ? e : (json_decref(e), NULL)) && ok;
	}
	ok = put(o, "total", jint((int64_t)r->nfaults)) & put(o, "counts", counts) &
		     put(o, "events", evs) &&
	     ok;
	return put(root, "faults", ok ? o : (json_decref(o), NULL));
}

static json_t *check_json(const fl_report_check *c)
{
	json_t *o = json_object();
	bool ok = put(o, "name", jstr(c->name)) &
		  put(o, "verdict", json_string(fl_report_verdict_name(c->verdict))) &
		  put(o, "measured", jdbl(c->measured)) & put(o, "threshold", jdbl(c->threshold)) &
		  put(o, "unit", jstr(c->unit)) & put(o, "message", jstr(c->message)) &
		  put(o, "time_ns", jint(c->time_ns));
	return ok ? o : (json_decref(o), NULL);
}

static bool put_checks(json_t *root, const fl_report *r)
{
	json_t *a = json_array(), *sum = json_object();
	bool ok = a && sum;
	for (size_t i = 0; i < r->nchecks && ok; i++)
		ok = add(a, check_json(&r->checks[i]));
	ok = put(sum, "passed", jint((int64_t)fl_report_count_verdict(r, FL_REPORT_PASS))) &
		     put(sum, "failed", jint((int64_t)fl_report_count_verdict(r, FL_REPORT_FAIL))) &
		     put(sum, "skipped",
			 jint((int64_t)fl_report_count_verdict(r, FL_REPORT_SKIP))) &&
	     ok;
	return put(root, "checks", a) & put(root, "summary", sum) && ok;
}

fl_err *fl__report_emit_json(const fl_report *r, FILE *out)
{
	json_t *root = json_object();
	bool ok = put(root, "schema", json_string("faultline-report")) &
		  put(root, "version", json_integer(1)) & put(root, "run", run_json(r));
	fl_err *err = ok ? put_hists_series(root, r) : FL_ERR_NOMEM;
	if (!err && !(put_counters(root, r) & put_faults(root, r) & put_checks(root, r)))
		err = FL_ERR_NOMEM;
	if (!err && (json_dumpf(root, out, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0 ||
		     fputc('\n', out) == EOF)) {
		/* A write error shows in the stream; otherwise jansson ran out
		 * of memory. */
		err = fl__report_stream_err(out, "JSON report");
		if (!err)
			err = FL_ERR_NOMEM;
	}
	json_decref(root);
	return err;
}

fl_err *fl_report_write_json(const fl_report *r, const char *path)
{
	return fl__report_write_with(r, path, fl__report_emit_json);
}
