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
 */
#include "peer_internal.h"

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
	static const struct { const char *k; double q; } qs[] = {
		{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"p999", 0.999},
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

FL_PRINTF(2, 3) static void json_add(struct flb_json *j, const char *fmt, ...)
{
	size_t room = sizeof j->buf - j->len;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(j->buf + j->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		fprintf(stderr, "fl-bench: JSON object too long\n");
		abort();
	}
	j->len += (size_t)n;
}

static void json_key(struct flb_json *j, const char *k)
{
	json_add(j, "%s\"%s\":", j->count++ ? "," : "", k);
}

void flb_json_int(struct flb_json *j, const char *k, int64_t v)
{
	json_key(j, k);
	json_add(j, "%lld", (long long)v);
}

void flb_json_num(struct flb_json *j, const char *k, double v)
{
	char buf[64];
	json_key(j, k);
	json_add(j, "%s", flb_fmt_float(k, v, buf, sizeof buf));
}

void flb_json_str(struct flb_json *j, const char *k, const char *v)
{
	json_key(j, k);
	json_add(j, "\"");
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			json_add(j, "\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			json_add(j, "\\u%04x", (unsigned)*p);
		else
			json_add(j, "%c", *p);
	}
	json_add(j, "\"");
}

const char *flb_json_object(const struct flb_json *j)
{
	static char out[sizeof j->buf + 2];
	snprintf(out, sizeof out, "{%.*s}", (int)j->len, j->buf);
	return out;
}

/* ---- measure -------------------------------------------------------------- */

/* The median over runs of metric i (every run sets the same keys). */
static double column_median(const struct flb_metrics *all, int runs, int i, double *lo,
			    double *hi)
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
	static struct flb_json j; /* large; one line at a time */
	memset(&j, 0, sizeof j);
	flb_json_str(&j, "workload", b->workload);
	json_key(&j, "params");
	json_add(&j, "%s", flb_json_object(&b->params));
	flb_json_int(&j, "ops", b->ops);
	add_metrics(&j, all, b->runs);
	if (b->info.count)
		json_add(&j, ",%.*s", (int)b->info.len, b->info.buf);
	flb_json_int(&j, "runs", b->runs);
	flb_json_str(&j, "c_backend", fl_sched_backend());
	flb_json_str(&j, "c_version", flb_version());
	flb_json_int(&j, "sched_workers", flb_sched_workers());
	flb_json_str(&j, "driver", flb_driver_task() ? "task" : "thread");
	flb_json_int(&j, "threads", threads);
	flb_json_int(&j, "ncpu", sysconf(_SC_NPROCESSORS_ONLN));
	printf("%s\n", flb_json_object(&j));
	fflush(stdout);
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
}
