/*
 * result.c - load results: their histograms and intervals, adding results
 * to a report, and the gate's sample of a result or of a stored report.
 * Both clocks fill results through the helpers here; run.c, above the
 * clocks, runs a load on either.
 *
 * A result goes into a report as histograms and counters only, so that
 * results of shards and repetitions add: histograms with fl_hdr_add and
 * counters by summing. Everything a cell shows (throughput, utilisation,
 * Little's L) is a ratio of such sums, never an average of averages.
 */
#include <fl/bench.h>
#include <fl/hdr.h>
#include <fl/hdr_log.h>
#include <fl/report.h>

#include "load_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static fl_err *hdr_new(fl_hdr **h)
{
	return fl_hdr_new(FL__BENCH_HDR_LO, FL__BENCH_HDR_HI, FL__BENCH_HDR_SIG, h);
}

fl_err *fl__bench_result_init(fl_bench_result *r)
{
	memset(r, 0, sizeof(*r));
	fl_err *e;
	if ((e = hdr_new(&r->response)) || (e = hdr_new(&r->service)) ||
	    (e = hdr_new(&r->sched_error))) {
		fl_bench_result_destroy(r);
		return e;
	}
	return NULL;
}

fl_err *fl__bench_result_push(fl_bench_result *r, int64_t start_ns, int64_t length_ns, fl_hdr *resp,
			      fl_hdr *svc)
{
	if (r->nivs % 16 == 0) {
		fl_bench_interval *n = realloc(r->ivs, (r->nivs + 16) * sizeof(*n));
		if (!n) {
			fl_hdr_free(resp);
			fl_hdr_free(svc);
			return FL_ERR_NOMEM;
		}
		r->ivs = n;
	}
	r->ivs[r->nivs++] = (fl_bench_interval){start_ns, length_ns, resp, svc};
	return NULL;
}

void fl_bench_result_destroy(fl_bench_result *r)
{
	fl_hdr_free(r->response);
	fl_hdr_free(r->service);
	fl_hdr_free(r->sched_error);
	for (size_t i = 0; i < r->nivs; i++) {
		fl_hdr_free(r->ivs[i].response);
		fl_hdr_free(r->ivs[i].service);
	}
	free(r->ivs);
	fl_err_drop(r->first_failure);
	memset(r, 0, sizeof(*r));
}

const char *fl__bench_tag(const struct fl_bench_load_opts *o, const char *what, char *buf,
			  size_t cap)
{
	if (o->tag && o->tag[0])
		snprintf(buf, cap, "%s.%s", o->tag, what);
	else
		snprintf(buf, cap, "%s", what);
	return buf;
}

/* ---- into a report ---------------------------------------------------------------- */

static fl_err *add_hist(fl_report *rep, const char *name, const fl_hdr *h)
{
	const fl_report_hist *have = fl_report_find_hist(rep, name);
	if (have && have->hdr) {
		fl_hdr_add(have->hdr, h);
		return NULL;
	}
	if (have)
		return fl_err_wrap(FL_ERR_INVAL, "histogram %s has no encoding to add to", name);
	fl_hdr *c;
	fl_err *e = fl_hdr_clone(h, &c);
	if (e)
		return e;
	if ((e = fl_report_add_hist(rep, name, c, FL_REPORT_TAKE)))
		fl_hdr_free(c);
	return e;
}

static fl_err *add_counter(fl_report *rep, const char *name, int64_t v)
{
	for (size_t i = 0; i < rep->ncounters; i++)
		if (strcmp(rep->counters[i].name, name) == 0) {
			rep->counters[i].value += v;
			return NULL;
		}
	return fl_report_add_counter(rep, name, v);
}

fl_err *fl_bench_result_add_to_report(fl_report *rep, const char *prefix,
				      const fl_bench_result *res)
{
	char n[256];
	fl_err *e = NULL;
	static const char *const hn[] = {"response", "service", "sched_error"};
	const fl_hdr *hh[] = {res->response, res->service, res->sched_error};
	for (int k = 0; k < 3 && !e; k++) {
		snprintf(n, sizeof(n), "%s%s", prefix, hn[k]);
		e = add_hist(rep, n, hh[k]);
	}
	snprintf(n, sizeof(n), "%sresponse", prefix);
	/* A series interval per interval; a repeated result continues the
	 * series after the previous one's end. */
	int64_t base = 0;
	const fl_report_series *s = fl_report_find_series(rep, n);
	if (s && s->nivs)
		base = s->ivs[s->nivs - 1].start_ns + s->ivs[s->nivs - 1].length_ns;
	for (size_t i = 0; i < res->nivs && !e; i++) {
		fl_hdr *c;
		if ((e = fl_hdr_clone(res->ivs[i].response, &c)))
			break;
		if ((e = fl_report_add_series_interval(rep, n, base + res->ivs[i].start_ns,
						       res->ivs[i].length_ns, c, FL_REPORT_TAKE)))
			fl_hdr_free(c);
	}
	const struct {
		const char *name;
		int64_t v;
	} cs[] = {
		{"items", res->items},
		{"failed", res->failed},
		{"window_ns", res->window_ns},
		{"busy_ns", res->busy_ns},
		{"capacity_ns", res->window_ns * res->servers},
		{"area_ns", (int64_t)llround(res->mean_in_system * (double)res->window_ns)},
		{"offered_milli", (int64_t)llround(res->offered_rate * 1000)},
		{"reps", 1},
	};
	for (size_t k = 0; k < sizeof(cs) / sizeof(cs[0]) && !e; k++) {
		snprintf(n, sizeof(n), "%s%s", prefix, cs[k].name);
		e = add_counter(rep, n, cs[k].v);
	}
	return e;
}

/* ---- gate samples --------------------------------------------------------------- */

static const char *const metric_names[FL_BENCH_NMETRICS] = {"throughput", "p50", "p99", "p99.9"};

const char *fl_bench_metric_name(int m)
{
	return m >= 0 && m < FL_BENCH_NMETRICS ? metric_names[m] : "?";
}

/* Throughput counts the requests that succeeded (goodput): a load that
 * starts failing fast must not look faster to the gate. */
static void sample_fill(const fl_hdr *resp, int64_t items, int64_t failed, int64_t window_ns,
			fl_bench_sample *out)
{
	out->v[0] = window_ns > 0 ? (double)(items - failed) * 1e9 / (double)window_ns : 0;
	out->v[1] = (double)fl_hdr_value_at_percentile(resp, 50);
	out->v[2] = (double)fl_hdr_value_at_percentile(resp, 99);
	out->v[3] = (double)fl_hdr_value_at_percentile(resp, 99.9);
}

void fl_bench_sample_of(const fl_bench_result *r, fl_bench_sample *out)
{
	sample_fill(r->response, r->items, r->failed, r->window_ns, out);
}

fl_err *fl_bench_sample_of_report(const fl_report *r, const char *prefix, fl_bench_sample *out)
{
	char n[256];
	snprintf(n, sizeof(n), "%sresponse", prefix);
	const fl_report_hist *h = fl_report_find_hist(r, n);
	if (!h || !h->hdr)
		return fl_err_wrap(FL_ERR_INVAL, "report %s: no histogram '%s' with its encoding",
				   r->name, n);
	snprintf(n, sizeof(n), "%sitems", prefix);
	const fl_report_counter *items = fl_report_find_counter(r, n);
	snprintf(n, sizeof(n), "%swindow_ns", prefix);
	const fl_report_counter *win = fl_report_find_counter(r, n);
	if (!items || !win)
		return fl_err_wrap(FL_ERR_INVAL, "report %s: no counters '%sitems' and '%s'",
				   r->name, prefix, n);
	snprintf(n, sizeof(n), "%sfailed", prefix);
	const fl_report_counter *failed = fl_report_find_counter(r, n); /* older reports: none */
	sample_fill(h->hdr, items->value, failed ? failed->value : 0, win->value, out);
	return NULL;
}
