/*
 * series.c - the over-time series of a result's histograms
 * (fl_scenario_record).
 *
 * Problem: a scenario run's report had no throughput or p99 over time,
 * only whole-run histograms, so a stall or a slow tail in the middle of a
 * run was invisible. The bench fills series from its own intervals; a
 * scenario's tasks record latencies from any thread at any time.
 *
 * So a value recorded with fl_scenario_record also goes into the interval
 * of its histogram's series that holds fl_now() since the body's start.
 * Intervals have a fixed width that adapts: it starts at
 * FL_SCENARIO_SERIES_WIDTH, and a value past the last of
 * FL_SCENARIO_SERIES_MAX intervals merges neighbours pairwise (fl_hdr_add:
 * exact, same layout) and doubles the width, until it fits. A run of any
 * length then ends with 50 to 100 intervals, and every count recorded is
 * in exactly one of them: the intervals add up to the histogram.
 *
 * An interval's histogram is allocated on its first value; when that
 * fails the series is dropped (freed, marked, counted) and the histogram
 * goes on alone: a missing plot is better than an aborted run.
 *
 * One process-wide mutex serialises every record (and so the histogram
 * too): results are zeroed caller storage with no room for a lock that
 * needs initialising, and one scenario runs at a time. What the series
 * hold is counted (live_bytes) so the heap-growth samples leave it out,
 * as they do the fault log: a series grows with the run by design.
 *
 * Layering: below result.c, run.c, isolate.c, report.c and growth.c; uses
 * none of them.
 */
#define _GNU_SOURCE 1
#include "scn_internal.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic size_t live_bytes;

/* The bytes an interval's histogram holds: fl_hdr_new makes one
 * allocation that starts at the handle (reports/src/hdr.c). */
static size_t hdr_bytes(const fl_hdr *h) { return malloc_usable_size((void *)h); }

size_t fl__scn_series_bytes(void)
{
	return atomic_load_explicit(&live_bytes, memory_order_relaxed);
}

static void iv_free(fl_hdr **iv)
{
	if (!*iv)
		return;
	atomic_fetch_sub_explicit(&live_bytes, hdr_bytes(*iv), memory_order_relaxed);
	fl_hdr_free(*iv);
	*iv = NULL;
}

void fl__scn_series_free(fl_scenario_series *s)
{
	for (size_t i = 0; i < s->nivs; i++)
		iv_free(&s->ivs[i]);
	s->nivs = 0;
}

size_t fl__scn_series_held(const fl_scenario_result *r)
{
	size_t n = 0;
	for (size_t i = 0; i < r->nhists; i++)
		for (size_t j = 0; j < r->hists[i].series.nivs; j++)
			if (r->hists[i].series.ivs[j])
				n += hdr_bytes(r->hists[i].series.ivs[j]);
	return n;
}

fl_hdr *fl__scn_series_interval(fl_scenario_result *r, fl_scenario_series *s, size_t i)
{
	if (s->dropped || i >= FL_SCENARIO_SERIES_MAX)
		return NULL;
	if (!s->ivs[i]) {
		fl_hdr *h;
		fl_err *err = fl_hdr_new(1, FL_SEC(3600), FL_SCENARIO_SERIES_SIGFIGS, &h);
		if (err) {
			fl_err_drop(err);
			fl__scn_series_free(s);
			s->dropped = true;
			r->series_dropped++;
			return NULL;
		}
		atomic_fetch_add_explicit(&live_bytes, hdr_bytes(h), memory_order_relaxed);
		s->ivs[i] = h;
	}
	if (i >= s->nivs)
		s->nivs = i + 1;
	return s->ivs[i];
}

/* Halves the number of intervals: interval k takes 2k and 2k + 1 (each
 * write to k comes after the reads of 2k and 2k + 1, and before those of
 * 2k + 2 on), and the width doubles. */
static void merge(fl_scenario_series *s)
{
	size_t n = (s->nivs + 1) / 2;
	for (size_t k = 0; k < n; k++) {
		fl_hdr *a = s->ivs[2 * k];
		fl_hdr *b = 2 * k + 1 < s->nivs ? s->ivs[2 * k + 1] : NULL;
		if (a && b) {
			(void)fl_hdr_add(a, b); /* same layout: nothing dropped */
			iv_free(&b);
		} else if (!a) {
			a = b;
		}
		s->ivs[k] = a;
	}
	for (size_t k = n; k < s->nivs; k++)
		s->ivs[k] = NULL;
	s->nivs = n;
	s->width_ns *= 2;
}

static fl_scenario_series *series_of(fl_scenario_result *r, const fl_hdr *h)
{
	for (size_t i = 0; i < r->nhists; i++)
		if (r->hists[i].hdr == h)
			return &r->hists[i].series;
	fprintf(stderr, "faultline: scenario misuse: fl_scenario_record: not a histogram of %s\n",
		r->scenario ? r->scenario->name : "the result");
	abort();
}

bool fl_scenario_record(fl_scenario_result *r, fl_hdr *h, int64_t value_ns)
{
	pthread_mutex_lock(&mu);
	fl_scenario_series *s = series_of(r, h);
	bool ok = fl_hdr_record(h, value_ns);
	if (r->series_on && !s->dropped) {
		int64_t at = fl_now() - r->series_t0_ns;
		if (at < 0)
			at = 0;
		if (!s->width_ns)
			s->width_ns = FL_SCENARIO_SERIES_WIDTH;
		while (at / s->width_ns >= FL_SCENARIO_SERIES_MAX)
			merge(s);
		fl_hdr *iv = fl__scn_series_interval(r, s, (size_t)(at / s->width_ns));
		if (iv)
			(void)fl_hdr_record(iv, value_ns);
	}
	pthread_mutex_unlock(&mu);
	return ok;
}

void fl__scn_series_start(fl_scenario_result *r, int64_t t0_ns)
{
	pthread_mutex_lock(&mu);
	r->series_t0_ns = t0_ns;
	r->series_on = true;
	pthread_mutex_unlock(&mu);
}

void fl__scn_series_stop(fl_scenario_result *r)
{
	pthread_mutex_lock(&mu);
	r->series_on = false;
	pthread_mutex_unlock(&mu);
}
