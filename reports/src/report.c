/*
 * report.c - the run report model: construction, builders, lookups.
 *
 * Design: fl_report is a plain struct of growable arrays (histograms,
 * series, counters, fault events, checks), each paired with a private
 * capacity in caps_[]. Every builder validates first, then copies its
 * strings, then grows the array, and only then commits, so a failing call
 * leaves the report exactly as it was and a histogram passed with
 * FL_REPORT_TAKE stays the caller's.
 *
 * Invariants: every string field is non-NULL (possibly ""); names of
 * histograms, series and counters are unique; lookups are linear, which is
 * fine for the tens of names a run has.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fl/hdr.h>
#include <fl/report.h>

#include "report_internal.h"
#include "fl_alloc_internal.h"

enum { CAP_HISTS, CAP_SERIES, CAP_COUNTERS, CAP_FAULTS, CAP_CHECKS };

const double fl_report_pcts[FL_REPORT_NPCT] = {50.0, 90.0, 99.0, 99.9, 99.99, 100.0};

static const char *const pct_labels[FL_REPORT_NPCT] = {"p50",   "p90",    "p99",
						       "p99.9", "p99.99", "max"};

const char *fl_report_pct_label(int i)
{
	return i >= 0 && i < FL_REPORT_NPCT ? pct_labels[i] : "?";
}

const char *fl_report_verdict_name(enum fl_report_verdict v)
{
	switch (v) {
	case FL_REPORT_PASS: return "pass";
	case FL_REPORT_FAIL: return "fail";
	case FL_REPORT_SKIP: return "skip";
	}
	return "?";
}

static int64_t wall_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static fl_err *check_opts(const char *name, const struct fl_report_opts *o)
{
	if (!name || !*name)
		return fl_err_wrap(FL_ERR_INVAL, "report name is empty");
	int32_t reps = o->repetitions ? o->repetitions : 1;
	if (o->repetition < 0 || reps < 0 || o->repetition >= reps)
		return fl_err_wrap(FL_ERR_INVAL, "repetition %d of %d", (int)o->repetition,
				   (int)reps);
	return NULL;
}

static bool fill_meta(fl_report *r, const char *name, const struct fl_report_opts *o)
{
	r->name = fl__report_strdup(name);
	r->fault_plan = fl__report_strdup(o->fault_plan);
	r->backend = fl__report_strdup(o->backend);
	r->git_rev = fl__report_strdup(o->git_rev);
	r->host.hostname = fl__report_strdup("");
	r->host.cpu_model = fl__report_strdup("");
	r->host.kernel = fl__report_strdup("");
	r->seed = o->seed;
	r->start_unix_ns = o->start_unix_ns ? o->start_unix_ns : wall_now_ns();
	r->repetition = o->repetition;
	r->repetitions = o->repetitions ? o->repetitions : 1;
	return r->name && r->fault_plan && r->backend && r->git_rev && r->host.hostname &&
	       r->host.cpu_model && r->host.kernel;
}

fl_err *fl_report_new(const char *name, const struct fl_report_opts *opts, fl_report **out)
{
	static const struct fl_report_opts defaults;
	const struct fl_report_opts *o = opts ? opts : &defaults;
	fl_err *err = check_opts(name, o);
	if (err)
		return err;
	fl_report *r = fl__calloc(1, sizeof(*r));
	if (!r)
		return FL_ERR_NOMEM;
	if (!fill_meta(r, name, o)) {
		fl_report_free(r);
		return FL_ERR_NOMEM;
	}
	*out = r;
	return NULL;
}

static void free_hdr(fl_hdr *h, bool owned)
{
	if (owned)
		fl_hdr_free(h);
}

static void free_series(fl_report_series *s)
{
	for (size_t i = 0; i < s->nivs; i++)
		free_hdr(s->ivs[i].hdr, s->ivs[i].owned);
	free(s->ivs);
	free(s->name);
}

static void free_lists(fl_report *r)
{
	for (size_t i = 0; i < r->nhists; i++) {
		free_hdr(r->hists[i].hdr, r->hists[i].owned);
		free(r->hists[i].name);
		free(r->hists[i].slos);
	}
	for (size_t i = 0; i < r->nseries; i++)
		free_series(&r->series[i]);
	for (size_t i = 0; i < r->ncounters; i++)
		free(r->counters[i].name);
	for (size_t i = 0; i < r->nfaults; i++) {
		free(r->faults[i].point);
		free(r->faults[i].action);
	}
	for (size_t i = 0; i < r->nchecks; i++) {
		free(r->checks[i].name);
		free(r->checks[i].message);
		free(r->checks[i].unit);
	}
}

void fl_report_free(fl_report *r)
{
	if (!r)
		return;
	free_lists(r);
	free(r->hists);
	free(r->series);
	free(r->counters);
	free(r->faults);
	free(r->checks);
	free(r->name);
	free(r->fault_plan);
	free(r->backend);
	free(r->git_rev);
	free(r->host.hostname);
	free(r->host.cpu_model);
	free(r->host.kernel);
	free(r);
}

fl_err *fl_report_set_duration(fl_report *r, int64_t duration_ns)
{
	if (duration_ns < 0)
		return fl_err_wrap(FL_ERR_INVAL, "negative duration %lld ns",
				   (long long)duration_ns);
	r->duration_ns = duration_ns;
	return NULL;
}

fl_err *fl_report_set_host(fl_report *r, const char *hostname, const char *cpu_model, int32_t cores,
			   const char *kernel)
{
	if (cores < 0)
		return fl_err_wrap(FL_ERR_INVAL, "negative core count %d", (int)cores);
	char *h = fl__report_strdup(hostname);
	char *c = fl__report_strdup(cpu_model);
	char *k = fl__report_strdup(kernel);
	if (!h || !c || !k) {
		free(h);
		free(c);
		free(k);
		return FL_ERR_NOMEM;
	}
	free(r->host.hostname);
	free(r->host.cpu_model);
	free(r->host.kernel);
	r->host = (fl_report_host){h, c, k, cores};
	return NULL;
}

const fl_report_hist *fl_report_find_hist(const fl_report *r, const char *name)
{
	for (size_t i = 0; i < r->nhists; i++)
		if (strcmp(r->hists[i].name, name) == 0)
			return &r->hists[i];
	return NULL;
}

const fl_report_counter *fl_report_find_counter(const fl_report *r, const char *name)
{
	for (size_t i = 0; i < r->ncounters; i++)
		if (strcmp(r->counters[i].name, name) == 0)
			return &r->counters[i];
	return NULL;
}

const fl_report_series *fl_report_find_series(const fl_report *r, const char *name)
{
	for (size_t i = 0; i < r->nseries; i++)
		if (strcmp(r->series[i].name, name) == 0)
			return &r->series[i];
	return NULL;
}

size_t fl_report_count_verdict(const fl_report *r, enum fl_report_verdict v)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nchecks; i++)
		n += r->checks[i].verdict == v;
	return n;
}

/* Adds a histogram entry; exactly one of hdr and stats is non-NULL. */
static fl_err *add_hist(fl_report *r, const char *name, fl_hdr *hdr, enum fl_report_own own,
			const fl_report_stats *stats)
{
	if (!name || !*name)
		return fl_err_wrap(FL_ERR_INVAL, "histogram name is empty");
	if (fl_report_find_hist(r, name))
		return fl_err_wrap(FL_ERR_INVAL, "histogram \"%s\" added twice", name);
	char *n = fl__report_strdup(name);
	if (!n || !fl__report_grow((void **)&r->hists, &r->caps_[CAP_HISTS], r->nhists + 1,
				   sizeof(*r->hists))) {
		free(n);
		return FL_ERR_NOMEM;
	}
	fl_report_hist *h = &r->hists[r->nhists++];
	*h = (fl_report_hist){.name = n, .hdr = hdr, .owned = hdr && own == FL_REPORT_TAKE};
	if (stats)
		h->stats = *stats;
	return NULL;
}

fl_err *fl_report_add_hist(fl_report *r, const char *name, fl_hdr *hdr, enum fl_report_own own)
{
	if (!hdr)
		return fl_err_wrap(FL_ERR_INVAL, "histogram \"%s\" is NULL", name ? name : "");
	return add_hist(r, name, hdr, own, NULL);
}

fl_err *fl_report_add_hist_stats(fl_report *r, const char *name, const fl_report_stats *stats)
{
	return add_hist(r, name, NULL, FL_REPORT_BORROW, stats);
}

fl_err *fl_report_add_slo(fl_report *r, const char *hist, double percentile, int64_t threshold_ns)
{
	fl_report_hist *h = (fl_report_hist *)fl_report_find_hist(r, hist);
	if (!h)
		return fl_err_wrap(FL_ERR_INVAL, "SLO on unknown histogram \"%s\"", hist);
	if (!(percentile > 0.0 && percentile <= 100.0) || threshold_ns < 0)
		return fl_err_wrap(FL_ERR_INVAL, "SLO p%g <= %lld ns on \"%s\"", percentile,
				   (long long)threshold_ns, hist);
	size_t cap = h->nslos; /* exact-size array: SLOs are few */
	if (!fl__report_grow((void **)&h->slos, &cap, h->nslos + 1, sizeof(*h->slos)))
		return FL_ERR_NOMEM;
	h->slos[h->nslos++] = (fl_report_slo){percentile, threshold_ns};
	return NULL;
}

static fl_report_series *get_series(fl_report *r, const char *name)
{
	fl_report_series *s = (fl_report_series *)fl_report_find_series(r, name);
	if (s)
		return s;
	char *n = fl__report_strdup(name);
	if (!n || !fl__report_grow((void **)&r->series, &r->caps_[CAP_SERIES], r->nseries + 1,
				   sizeof(*r->series))) {
		free(n);
		return NULL;
	}
	s = &r->series[r->nseries++];
	*s = (fl_report_series){.name = n};
	return s;
}

/* Appends an interval; exactly one of hdr and stats is non-NULL. */
static fl_err *add_interval(fl_report *r, const char *series, int64_t start_ns, int64_t length_ns,
			    fl_hdr *hdr, enum fl_report_own own, const fl_report_stats *stats)
{
	if (!series || !*series)
		return fl_err_wrap(FL_ERR_INVAL, "series name is empty");
	if (start_ns < 0 || length_ns <= 0)
		return fl_err_wrap(FL_ERR_INVAL, "interval [%lld, +%lld ns) of \"%s\"",
				   (long long)start_ns, (long long)length_ns, series);
	fl_report_series *s = get_series(r, series);
	if (!s || !fl__report_grow((void **)&s->ivs, &s->cap_, s->nivs + 1, sizeof(*s->ivs)))
		return FL_ERR_NOMEM; /* a new empty series may remain: harmless */
	fl_report_interval *iv = &s->ivs[s->nivs++];
	*iv = (fl_report_interval){.start_ns = start_ns,
				   .length_ns = length_ns,
				   .hdr = hdr,
				   .owned = hdr && own == FL_REPORT_TAKE};
	if (stats)
		iv->stats = *stats;
	return NULL;
}

fl_err *fl_report_add_series_interval(fl_report *r, const char *series, int64_t start_ns,
				      int64_t length_ns, fl_hdr *hdr, enum fl_report_own own)
{
	if (!hdr)
		return fl_err_wrap(FL_ERR_INVAL, "interval histogram is NULL");
	return add_interval(r, series, start_ns, length_ns, hdr, own, NULL);
}

fl_err *fl_report_add_series_interval_stats(fl_report *r, const char *series, int64_t start_ns,
					    int64_t length_ns, const fl_report_stats *stats)
{
	return add_interval(r, series, start_ns, length_ns, NULL, FL_REPORT_BORROW, stats);
}

fl_err *fl_report_add_counter(fl_report *r, const char *name, int64_t value)
{
	if (!name || !*name)
		return fl_err_wrap(FL_ERR_INVAL, "counter name is empty");
	if (fl_report_find_counter(r, name))
		return fl_err_wrap(FL_ERR_INVAL, "counter \"%s\" added twice", name);
	char *n = fl__report_strdup(name);
	if (!n || !fl__report_grow((void **)&r->counters, &r->caps_[CAP_COUNTERS], r->ncounters + 1,
				   sizeof(*r->counters))) {
		free(n);
		return FL_ERR_NOMEM;
	}
	r->counters[r->ncounters++] = (fl_report_counter){n, value};
	return NULL;
}

fl_err *fl_report_add_fault_event(fl_report *r, int64_t at_ns, const char *point,
				  const char *action)
{
	if (!point || !*point || at_ns < 0)
		return fl_err_wrap(FL_ERR_INVAL, "fault event \"%s\" at %lld ns",
				   point ? point : "", (long long)at_ns);
	char *p = fl__report_strdup(point);
	char *a = fl__report_strdup(action);
	if (!p || !a ||
	    !fl__report_grow((void **)&r->faults, &r->caps_[CAP_FAULTS], r->nfaults + 1,
			     sizeof(*r->faults))) {
		free(p);
		free(a);
		return FL_ERR_NOMEM;
	}
	r->faults[r->nfaults++] = (fl_report_fault){at_ns, p, a};
	return NULL;
}

fl_err *fl_report_add_check(fl_report *r, const char *name, enum fl_report_verdict verdict,
			    double measured, double threshold, const char *unit,
			    const char *message)
{
	if (!name || !*name)
		return fl_err_wrap(FL_ERR_INVAL, "check name is empty");
	if (verdict != FL_REPORT_PASS && verdict != FL_REPORT_FAIL && verdict != FL_REPORT_SKIP)
		return fl_err_wrap(FL_ERR_INVAL, "check \"%s\": verdict %d", name, (int)verdict);
	char *n = fl__report_strdup(name);
	char *m = fl__report_strdup(message);
	char *u = fl__report_strdup(unit);
	if (!n || !m || !u ||
	    !fl__report_grow((void **)&r->checks, &r->caps_[CAP_CHECKS], r->nchecks + 1,
			     sizeof(*r->checks))) {
		free(n);
		free(m);
		free(u);
		return FL_ERR_NOMEM;
	}
	r->checks[r->nchecks++] = (fl_report_check){.name = n,
						    .verdict = verdict,
						    .message = m,
						    .measured = measured,
						    .threshold = threshold,
						    .unit = u};
	return NULL;
}

static void stats_of_hdr(const fl_hdr *h, fl_report_stats *out)
{
	*out = (fl_report_stats){0};
	out->count = fl_hdr_total_count(h);
	out->out_of_range = fl_hdr_out_of_range(h);
	if (out->count <= 0)
		return;
	out->min = fl_hdr_min(h);
	out->max = fl_hdr_max(h);
	out->mean = fl_hdr_mean(h);
	out->stddev = fl_hdr_stddev(h);
	for (int i = 0; i < FL_REPORT_NPCT; i++)
		out->pct[i] = fl_hdr_value_at_percentile(h, fl_report_pcts[i]);
}

void fl_report_hist_stats(const fl_report_hist *h, fl_report_stats *out)
{
	if (h->hdr)
		stats_of_hdr(h->hdr, out);
	else
		*out = h->stats;
}

void fl_report_interval_stats(const fl_report_interval *iv, fl_report_stats *out)
{
	if (iv->hdr)
		stats_of_hdr(iv->hdr, out);
	else
		*out = iv->stats;
}

bool fl__report_value_at(const fl_report_hist *h, const fl_report_stats *st, double p, int64_t *v)
{
	for (int i = 0; i < FL_REPORT_NPCT; i++) {
		if (fl_report_pcts[i] == p) {
			*v = st->pct[i];
			return true;
		}
	}
	if (!h->hdr)
		return false;
	*v = fl_hdr_value_at_percentile(h->hdr, p);
	return true;
}

static fl_err *eval_slo(fl_report *r, const fl_report_hist *h, const fl_report_stats *st,
			const fl_report_slo *slo)
{
	char name[512], thr[24], msg[160];
	int64_t v = 0;
	fl__report_fmt_ns_g((double)slo->threshold_ns, true, thr, sizeof(thr));
	if (slo->percentile == 100.0)
		snprintf(name, sizeof(name), "%s max <= %s", h->name, thr);
	else
		snprintf(name, sizeof(name), "%s p%g <= %s", h->name, slo->percentile, thr);
	if (st->count == 0 || !fl__report_value_at(h, st, slo->percentile, &v))
		return fl_report_add_check(r, name, FL_REPORT_SKIP, NAN, (double)slo->threshold_ns,
					   "ns",
					   st->count ? "percentile not in summary" : "no samples");
	bool ok = v <= slo->threshold_ns;
	char val[24];
	snprintf(msg, sizeof(msg), "measured %s, %s the threshold",
		 fl_report_format_ns((double)v, true, val, sizeof(val)), ok ? "within" : "above");
	return fl_report_add_check(r, name, ok ? FL_REPORT_PASS : FL_REPORT_FAIL, (double)v,
				   (double)slo->threshold_ns, "ns", msg);
}

fl_err *fl_report_eval_slos(fl_report *r)
{
	size_t nh = r->nhists;
	for (size_t i = 0; i < nh; i++) {
		fl_report_stats st;
		fl_report_hist_stats(&r->hists[i], &st);
		for (size_t j = 0; j < r->hists[i].nslos; j++) {
			/* Adding a check never moves r->hists. */
			fl_err *err = eval_slo(r, &r->hists[i], &st, &r->hists[i].slos[j]);
			if (err)
				return err;
		}
	}
	return NULL;
}

size_t fl__report_fault_points(const fl_report *r, fl__report_point **out)
{
	fl__report_point *pts = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < r->nfaults; i++) {
		size_t j = 0;
		while (j < n && strcmp(pts[j].name, r->faults[i].point) != 0)
			j++;
		if (j == n) {
			if (!fl__report_grow((void **)&pts, &cap, n + 1, sizeof(*pts))) {
				free(pts);
				return SIZE_MAX;
			}
			pts[n++] = (fl__report_point){r->faults[i].point, 0};
		}
		pts[j].count++;
	}
	*out = pts;
	return n;
}

const enum fl_report_verdict fl__report_verdict_order[3] = {FL_REPORT_FAIL, FL_REPORT_SKIP,
							    FL_REPORT_PASS};

size_t fl__report_fault_kinds(const fl_report *r, fl__report_fault_kind **out)
{
	fl__report_fault_kind *k = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < r->nfaults; i++) {
		const char *a = r->faults[i].action;
		int alen = (int)strcspn(a, " ");
		if (alen > (int)sizeof(k->action) - 1)
			alen = (int)sizeof(k->action) - 1;
		size_t j = 0;
		while (j < n &&
		       (strcmp(k[j].point, r->faults[i].point) != 0 ||
			strncmp(k[j].action, a, (size_t)alen) != 0 || k[j].action[alen] != '\0'))
			j++;
		if (j == n) {
			if (!fl__report_grow((void **)&k, &cap, n + 1, sizeof(*k))) {
				free(k);
				return SIZE_MAX;
			}
			k[n] = (fl__report_fault_kind){.point = r->faults[i].point};
			snprintf(k[n].action, sizeof(k[n].action), "%.*s", alen, a);
			n++;
		}
		k[j].count++;
	}
	*out = k;
	return n;
}
