/*
 * sim.c - the virtual clock: a deterministic discrete-event run of the
 * load model, for the gate's controls, the shard-merge test and quick
 * what-if sweeps.
 *
 * Model: every stage is `workers` first-come-first-served servers fed by an
 * unbounded queue (the buffer and the in-flight limit are not modelled).
 * Stage by stage, items are taken in order of arrival at that stage (ties
 * by item number) and each goes to the server that frees up first:
 *     start = max(arrival, server free), finish = start + work x slow,
 * which is exactly FCFS with parallel servers. The next stage's arrivals
 * are this stage's finishes. work is the item's seeded draw; slow is what
 * the fault injector's FL_FAULT_SLOW returns at the point "stage<N>", so
 * `stage1=slow(1.05)` makes stage 1 exactly 5% slower. Nothing here reads
 * a clock, so the same options give the same histograms everywhere.
 */
#include <fl/bench.h>
#include <fl/fault.h>
#include <fl/hdr.h>
#include <fl/hdr_log.h>

#include "load_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct vitem {
	int64_t intended; /* arrival at the pipeline */
	int64_t at;       /* arrival at the current stage, then completion */
	int64_t start;    /* start at the first stage */
	uint32_t id;
	bool measured;
} vitem;

static int cmp_at(const void *a, const void *b)
{
	const vitem *x = a, *y = b;
	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Generates the arrivals into *items (malloc'ed). */
static fl_err *arrivals(const struct fl_bench_load_opts *o, vitem **items, size_t *n,
			int64_t *issued)
{
	fl__bench_arrivals a;
	fl__bench_arrivals_init(&a, o);
	size_t cap = 1024, k = 0;
	vitem *v = malloc(cap * sizeof(*v));
	int64_t at;
	bool meas;
	while (v && fl__bench_arrivals_next(&a, &at, &meas)) {
		if (k == UINT32_MAX) {
			free(v);
			return fl_err_wrap(FL_ERR_INVAL, "virtual run: more than 2^32 items");
		}
		if (k == cap) {
			vitem *g = realloc(v, 2 * cap * sizeof(*v));
			if (!g)
				break;
			v = g;
			cap *= 2;
		}
		v[k] = (vitem){at, at, 0, (uint32_t)k, meas};
		k++;
	}
	if (!v || k < a.index) {
		free(v);
		return FL_ERR_NOMEM;
	}
	*items = v;
	*n = k;
	*issued = (int64_t)k;
	return NULL;
}

/* One stage: FCFS over `workers` servers; items sorted by arrival. */
static void stage(const struct fl_bench_load_opts *o, int s, vitem *v, size_t n,
		  int64_t *free_at, int64_t *busy)
{
	char name[24];
	snprintf(name, sizeof(name), "stage%d", s + 1);
	fl_fault_site site;
	fl_fault_site_init(&site, o->stage_names ? o->stage_names[s] : name);
	for (int w = 0; w < o->workers; w++)
		free_at[w] = 0;
	for (size_t k = 0; k < n; k++) {
		int best = 0;
		for (int w = 1; w < o->workers; w++)
			if (free_at[w] < free_at[best])
				best = w;
		int64_t start = v[k].at > free_at[best] ? v[k].at : free_at[best];
		int64_t work = fl_bench_dist_draw(&o->service, o->seed, (uint64_t)s + 1, v[k].id);
		double slow = fl_fault_slow(&site, NULL);
		if (slow != 1.0)
			work = (int64_t)llround((double)work * slow);
		if (s == 0)
			v[k].start = start;
		v[k].at = start + work;
		free_at[best] = v[k].at;
		if (v[k].measured)
			*busy += work;
	}
}

/* Time-averaged items in flight over [lo, hi], every item counted from its
 * intended start to its completion. */
static double mean_in_system(const vitem *v, size_t n, int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return 0;
	int64_t *in = malloc(n * sizeof(*in)), *out = malloc(n * sizeof(*out));
	if (!in || !out) {
		free(in);
		free(out);
		return NAN;
	}
	for (size_t k = 0; k < n; k++) {
		in[k] = v[k].intended;
		out[k] = v[k].at;
	}
	qsort(in, n, sizeof(*in), cmp_i64);
	qsort(out, n, sizeof(*out), cmp_i64);
	double area = 0;
	int64_t count = 0, t = lo;
	size_t i = 0, j = 0;
	while (i < n || j < n) {
		bool arrive = j == n || (i < n && in[i] <= out[j]);
		int64_t e = arrive ? in[i] : out[j];
		int64_t ce = e < lo ? lo : e > hi ? hi : e;
		area += (double)count * (double)(ce - t);
		t = ce;
		count += arrive ? 1 : -1;
		arrive ? i++ : j++;
	}
	free(in);
	free(out);
	return area / (double)(hi - lo);
}

/* The interval histograms: measured items by completion time. */
static fl_err *intervals(const struct fl_bench_load_opts *o, const vitem *v, size_t n,
			 fl_bench_result *r)
{
	int64_t len = o->interval_ns ? o->interval_ns : FL_BENCH_SEC(1);
	size_t nivs = (size_t)(r->window_ns / len) + 1;
	fl_err *e = NULL;
	for (size_t k = 0; k < nivs && !e; k++) {
		fl_hdr *resp, *svc;
		if ((e = fl_hdr_new(FL__BENCH_HDR_LO, FL__BENCH_HDR_HI, FL__BENCH_HDR_SIG, &resp)))
			break;
		if ((e = fl_hdr_new(FL__BENCH_HDR_LO, FL__BENCH_HDR_HI, FL__BENCH_HDR_SIG, &svc))) {
			fl_hdr_free(resp);
			break;
		}
		e = fl__bench_result_push(r, (int64_t)k * len, len, resp, svc);
	}
	for (size_t k = 0; k < n && !e; k++) {
		if (!v[k].measured)
			continue;
		size_t b = (size_t)((v[k].at - o->warmup_ns) / len);
		fl_hdr_record(r->ivs[b].response, v[k].at - v[k].intended);
		fl_hdr_record(r->ivs[b].service, v[k].at - v[k].start);
	}
	if (e || !o->hlog)
		return e;
	/* The log is stamped from the wall clock at the (virtual) warm-up end. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t base = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	fl_hdr_log_writer *w;
	if ((e = fl_hdr_log_writer_new(o->hlog, NULL, &w)))
		return e;
	e = fl_hdr_log_write_header(w, base, base);
	char t1[160], t2[160];
	fl__bench_tag(o, "response", t1, sizeof(t1));
	fl__bench_tag(o, "service", t2, sizeof(t2));
	for (size_t k = 0; k < r->nivs && !e; k++) {
		int64_t s = base + r->ivs[k].start_ns, end = s + r->ivs[k].length_ns;
		if (!(e = fl_hdr_log_write_interval(w, r->ivs[k].response, s, end, t1)))
			e = fl_hdr_log_write_interval(w, r->ivs[k].service, s, end, t2);
	}
	fl_hdr_log_writer_free(w);
	return e;
}

fl_err *fl__bench_run_virtual(const struct fl_bench_load_opts *o, fl_bench_result *r)
{
	vitem *v = NULL;
	size_t n = 0;
	fl_err *e = arrivals(o, &v, &n, &r->issued);
	if (e)
		return e;
	int64_t *free_at = malloc((size_t)o->workers * sizeof(*free_at));
	if (!free_at) {
		free(v);
		return FL_ERR_NOMEM;
	}
	for (int s = 0; s < o->stages; s++) {
		stage(o, s, v, n, free_at, &r->busy_ns);
		qsort(v, n, sizeof(*v), cmp_at);
	}
	free(free_at);
	int64_t last = o->warmup_ns, first = INT64_MAX, lastin = o->warmup_ns;
	for (size_t k = 0; k < n; k++) {
		if (!v[k].measured)
			continue;
		fl_hdr_record(r->response, v[k].at - v[k].intended);
		fl_hdr_record(r->service, v[k].at - v[k].start);
		r->items++;
		last = v[k].at > last ? v[k].at : last;
		first = v[k].intended < first ? v[k].intended : first;
		lastin = v[k].intended > lastin ? v[k].intended : lastin;
	}
	r->window_ns = last - o->warmup_ns;
	r->offered_rate = r->items > 1 && lastin > first
				  ? (double)(r->items - 1) * 1e9 / (double)(lastin - first)
				  : 0;
	r->mean_in_system = mean_in_system(v, n, o->warmup_ns, last);
	e = intervals(o, v, n, r);
	free(v);
	return e;
}
