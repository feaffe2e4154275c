/*
 * report.c - runs, medians, nearest-rank percentiles and the JSON line.
 *
 * Mirrors the Go peer's report.go so the two suites print comparable lines:
 * `warmup` discarded runs, then `runs` timed runs; every numeric metric is
 * the median over the timed runs taken separately per metric; the spread of
 * ns_per_op, p50 and p99 follows as _min and _max; keys keep insertion order
 * and numbers use the same per-key precision (flb_fmt_float). The Go peer's
 * go_version/gomaxprocs become c_backend, c_version, sched_workers, threads
 * (backend OS threads after the runs, the pool's size) and ncpu.
 *
 * Go calls runtime.GC() before each timed run; C has no collector, so
 * nothing stands in for it.
 *
 * The line is a jansson object printed compact (members keep insertion
 * order). A number is first formatted as Go's fmtFloat would (flb_fmt_float)
 * and that text is what goes in the tree: an integer when it has no point,
 * else the double it reads as, printed with 15 significant digits, which
 * gives back the same text for every value of up to 15 digits. Two
 * differences from Go's text: a non-zero value below 1e-4 prints in
 * exponent form (1e-5, where Go prints 0.00001), and one with more than 15
 * significant digits (a fraction above 1e14) loses its last ones;
 * compare.py reads numbers, and no metric comes near either.
 */
#include "peer_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- metrics ------------------------------------------------------------ */

void flb_metrics_set(struct flb_metrics *m, const char *k, double v)
{
	for (int i = 0; i < m->n; i++) {
		if (strcmp(m->keys[i], k) == 0) {
			m->vals[i] = v;
			return;
		}
	}
	if (m->n == FLB_MAX_METRICS) {
		fprintf(stderr, "fl-bench: too many metrics (%s)\n", k);
		abort();
	}
	m->keys[m->n] = k;
	m->vals[m->n++] = v;
}

void flb_metrics_timing(struct flb_metrics *m, int64_t ops, int64_t ns)
{
	flb_metrics_set(m, "secs", (double)ns / 1e9);
	flb_metrics_set(m, "ns_per_op", (double)ns / (double)ops);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int64_t flb_nearest_rank(const int64_t *s, size_t n, double q)
{
	long i = (long)ceil(q * (double)n) - 1;
	if (i < 0)
		i = 0;
	if (i >= (long)n)
		i = (long)n - 1;
	return s[i];
}

void flb_metrics_percentiles(struct flb_metrics *m, int64_t *lat, size_t n)
{
	static const struct {
		const char *k;
		double q;
	} qs[] = {
		{"p50", 0.50},
		{"p90", 0.90},
		{"p99", 0.99},
		{"p999", 0.999},
	};
	if (n == 0)
		return;
	qsort(lat, n, sizeof lat[0], cmp_i64);
	for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
		flb_metrics_set(m, qs[i].k, (double)flb_nearest_rank(lat, n, qs[i].q));
	flb_metrics_set(m, "max", (double)lat[n - 1]);
}

double flb_median(double *xs, size_t n)
{
	qsort(xs, n, sizeof xs[0], cmp_dbl);
	if (n % 2 == 1)
		return xs[n / 2];
	return (xs[n / 2 - 1] + xs[n / 2]) / 2;
}

/* ---- number and JSON formatting ------------------------------------------ */

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *flb_fmt_float(const char *k, double v, char *buf, size_t cap)
{
	if (v == trunc(v) && fabs(v) < 1e15 && !has_suffix(k, "secs")) {
		snprintf(buf, cap, "%lld", (long long)v);
		return buf;
	}
	int prec = has_suffix(k, "secs") ? 6 : has_suffix(k, "ratio") ? 4 : 1;
	snprintf(buf, cap, "%.*f", prec, v);
	if (strchr(buf, '.')) {
		size_t n = strlen(buf);
		while (n > 0 && buf[n - 1] == '0')
			buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '.')
			buf[--n] = '\0';
	}
	return buf;
}

static void *must_alloc(void *p)
{
	if (!p) {
		fprintf(stderr, "fl-bench: out of memory building a JSON line\n");
		exit(1);
	}
	return p;
}

/* Adds k: v (a new reference, taken over) in insertion order. */
static void json_set(struct flb_json *j, const char *k, json_t *v)
{
	if (!j->obj)
		j->obj = must_alloc(json_object());
	if (json_object_set_new(j->obj, k, must_alloc(v)) != 0)
		must_alloc(NULL);
}

void flb_json_int(struct flb_json *j, const char *k, int64_t v)
{
	json_set(j, k, json_integer((json_int_t)v));
}

/* The number Go's fmtFloat text stands for, as jansson should print it. */
json_t *flb_json_go_number(const char *k, double v)
{
	char buf[64];
	const char *t = flb_fmt_float(k, v, buf, sizeof buf);
	if (!strpbrk(t, ".eE"))
		return json_integer((json_int_t)strtoll(t, NULL, 10));
	return json_real(strtod(t, NULL));
}

void flb_json_num(struct flb_json *j, const char *k, double v)
{
	json_set(j, k, flb_json_go_number(k, v));
}

void flb_json_str(struct flb_json *j, const char *k, const char *v)
{
	json_t *s = json_string(v);
	if (!s) /* not UTF-8: passed through as bytes, as Go's %s would */
		s = json_string_nocheck(v);
	json_set(j, k, s);
}

void flb_json_free(struct flb_json *j)
{
	json_decref(j->obj);
	j->obj = NULL;
}

char *flb_json_dump(json_t *v)
{
	return must_alloc(json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15)));
}

/* ---- measure -------------------------------------------------------------- */

/* The median over runs of metric i (every run sets the same keys). */
static double column_median(const struct flb_metrics *all, int runs, int i, double *lo, double *hi)
{
	double xs[64];
	*lo = INFINITY;
	*hi = -INFINITY;
	for (int r = 0; r < runs; r++) {
		xs[r] = all[r].vals[i];
		*lo = fmin(*lo, xs[r]);
		*hi = fmax(*hi, xs[r]);
	}
	return flb_median(xs, (size_t)runs);
}

static int metric_index(const struct flb_metrics *m, const char *k)
{
	for (int i = 0; i < m->n; i++)
		if (strcmp(m->keys[i], k) == 0)
			return i;
	return -1;
}

/* Appends the medians, then the spread of the headline metrics. */
static void add_metrics(struct flb_json *j, const struct flb_metrics *all, int runs)
{
	static const char *spread[] = {"ns_per_op", "p50", "p99"};
	double lo, hi;
	for (int i = 0; i < all[0].n; i++)
		flb_json_num(j, all[0].keys[i], column_median(all, runs, i, &lo, &hi));
	for (size_t s = 0; s < sizeof spread / sizeof spread[0]; s++) {
		int i = metric_index(&all[0], spread[s]);
		if (i < 0)
			continue;
		char kmin[32], kmax[32];
		snprintf(kmin, sizeof kmin, "%s_min", spread[s]);
		snprintf(kmax, sizeof kmax, "%s_max", spread[s]);
		column_median(all, runs, i, &lo, &hi);
		flb_json_num(j, kmin, lo);
		flb_json_num(j, kmax, hi);
	}
}

static void print_line(const struct flb_bench *b, const struct flb_metrics *all, long threads)
{
	struct flb_json j = {0};
	flb_json_str(&j, "workload", b->workload);
	json_set(&j, "params", b->params.obj ? json_incref(b->params.obj) : json_object());
	flb_json_int(&j, "ops", b->ops);
	add_metrics(&j, all, b->runs);
	if (b->info.obj && json_object_update(j.obj, b->info.obj) != 0)
		must_alloc(NULL);
	flb_json_int(&j, "runs", b->runs);
	flb_json_str(&j, "c_backend", fl_sched_backend());
	flb_json_str(&j, "c_version", flb_version());
	flb_json_int(&j, "sched_workers", flb_sched_workers());
	flb_json_str(&j, "driver", flb_driver_task() ? "task" : "thread");
	flb_json_int(&j, "threads", threads);
	flb_json_int(&j, "ncpu", sysconf(_SC_NPROCESSORS_ONLN));
	char *line = flb_json_dump(j.obj);
	printf("%s\n", line);
	fflush(stdout);
	free(line);
	flb_json_free(&j);
}

struct driver_call {
	struct flb_bench *b;
	struct flb_metrics *m;
};

static fl_err *driver_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	struct driver_call *c = arg;
	c->b->run(c->b->arg, c->m);
	return NULL;
}

/*
 * One run. With -driver task (the default) the run's driver is a task of
 * its own group, as the Go peer's main is a goroutine: on an M:N backend
 * its waits are then user-space switches, not OS wake-ups of the main
 * thread. The group's set-up and wait are outside the timed region, which
 * the run measures itself.
 */
static void run_once(struct flb_bench *b, struct flb_metrics *m)
{
	if (!flb_driver_task()) {
		b->run(b->arg, m);
		return;
	}
	struct driver_call c = {.b = b, .m = m};
	fl_group *g;
	fl_ctx *ctx;
	struct fl_group_opts o = {.name = "driver"};
	flb_must_ok(fl_group_new(fl_ctx_background(), &o, &g, &ctx), "fl_group_new (driver)");
	flb_go(g, driver_task, &c);
	flb_must_ok(fl_group_wait(g), "driver");
	fl_group_free(g);
}

void flb_measure(struct flb_bench *b)
{
	struct flb_metrics all[64];
	long threads = 0;
	if (b->runs < 1 || b->runs > 64) {
		fprintf(stderr, "fl-bench: -runs must be 1..64\n");
		exit(2);
	}
	for (int i = 0; i < b->warmup; i++) {
		struct flb_metrics m = {0};
		run_once(b, &m);
	}
	for (int i = 0; i < b->runs; i++) {
		memset(&all[i], 0, sizeof all[i]);
		run_once(b, &all[i]);
		long t = fl_stats_get().threads;
		threads = t > threads ? t : threads;
	}
	print_line(b, all, threads);
	flb_json_free(&b->params);
	flb_json_free(&b->info);
}
