/*
 * sweep.c - capacity sweeps: a grid of load runs, sharded, read back from
 * a (merged) report, judged against an SLO and drawn.
 *
 * Cell c of a grid is the mixed-radix number (limit, buffer, workers,
 * rate), rate fastest; shard i of N runs the cells with c % N == i, so
 * shards interleave the rates and take about equally long. Everything a
 * cell records goes into the report under "cell.<key>." as histograms and
 * counters (fl_bench_result_add_to_report), which add when shards or
 * repetitions are merged; fl_bench_sweep_cells derives the cell's numbers
 * from those sums only.
 */
#include <fl/bench.h>
#include <fl/hdr.h>
#include <fl/report.h>

#include "load_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static fl_err *axis_parse(const char *what, const char *text, bool rate, int *iv, double *dv,
			  int *n)
{
	char buf[512];
	if (strlen(text) >= sizeof(buf))
		return fl_err_wrap(FL_ERR_INVAL, "%s: too long", what);
	strcpy(buf, text);
	int k = 0;
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		errno = 0;
		double v = strtod(t, &end);
		bool ok = end != t && !*end && !errno && v >= 0 && v <= (rate ? 1e8 : 1 << 24);
		if (ok && rate)
			ok = v > 0;
		if (ok && !rate)
			ok = v == floor(v);
		if (!ok)
			return fl_err_wrap(FL_ERR_INVAL, "%s: bad value '%s' in '%s'", what, t,
					   text);
		if (k == FL_BENCH_MAX_AXIS)
			return fl_err_wrap(FL_ERR_INVAL, "%s: more than %d values", what,
					   FL_BENCH_MAX_AXIS);
		if (rate)
			dv[k++] = v;
		else
			iv[k++] = (int)v;
	}
	if (k == 0)
		return fl_err_wrap(FL_ERR_INVAL, "%s: no values", what);
	*n = k;
	return NULL;
}

fl_err *fl_bench_axis_parse_int(const char *what, const char *text, int *v, int *n)
{
	return axis_parse(what, text, false, v, NULL, n);
}

fl_err *fl_bench_axis_parse_rate(const char *what, const char *text, double *v, int *n)
{
	return axis_parse(what, text, true, NULL, v, n);
}

size_t fl_bench_grid_cells(const fl_bench_grid *g)
{
	return (size_t)g->nlimit * (size_t)g->nbuffer * (size_t)g->nworkers * (size_t)g->nrate;
}

/* The axis values of cell c. */
static void cell_at(const fl_bench_grid *g, size_t c, int *l, int *b, int *w, double *r)
{
	*r = g->rate[c % (size_t)g->nrate];
	c /= (size_t)g->nrate;
	*w = g->workers[c % (size_t)g->nworkers];
	c /= (size_t)g->nworkers;
	*b = g->buffer[c % (size_t)g->nbuffer];
	c /= (size_t)g->nbuffer;
	*l = g->limit[c];
}

char *fl_bench_cell_key(const fl_bench_grid *g, size_t c, char *buf, size_t cap)
{
	int l, b, w;
	double r;
	cell_at(g, c, &l, &b, &w, &r);
	snprintf(buf, cap, "l%d_b%d_w%d_r%.10g", l, b, w, r);
	return buf;
}

fl_err *fl_bench_sweep_run(const fl_bench_grid *g, int reps, int shard, int shards,
			   const struct fl_bench_load_opts *base, int64_t cell_ns, fl_report *rep,
			   FILE *progress)
{
	if (shards < 1 || shard < 0 || shard >= shards)
		return fl_err_wrap(FL_ERR_INVAL, "--shard: %d/%d is not a shard (1..N of N)",
				   shard + 1, shards);
	if (reps < 1 || cell_ns <= 0)
		return fl_err_wrap(FL_ERR_INVAL, "--reps and the cell duration must be > 0");
	size_t n = fl_bench_grid_cells(g);
	fl_err *e = NULL;
	for (size_t c = (size_t)shard; c < n && !e; c += (size_t)shards) {
		struct fl_bench_load_opts o = *base;
		double rate;
		cell_at(g, c, &o.limit, &o.buffer, &o.workers, &rate);
		fl_bench_schedule_const(&o.schedule, rate, cell_ns);
		char key[64], prefix[80];
		fl_bench_cell_key(g, c, key, sizeof(key));
		snprintf(prefix, sizeof(prefix), "cell.%s.", key);
		char tag[72];
		snprintf(tag, sizeof(tag), "cell.%s", key);
		o.tag = tag;
		for (int r = 0; r < reps && !e; r++) {
			o.seed = base->seed + (uint64_t)r;
			fl_bench_result res;
			if ((e = fl_bench_load_run(&o, &res)))
				break;
			e = fl_bench_result_add_to_report(rep, prefix, &res);
			if (progress) {
				char p99[24];
				fl_report_format_ns((double)fl_hdr_value_at_percentile(res.response,
										       99),
						    true, p99, sizeof(p99));
				fprintf(progress,
					"cell %s rep %d: %.0f/s offered, %.0f/s achieved, "
					"p99 %s, %lld failed\n",
					key, r + 1, res.offered_rate,
					res.window_ns
						? (double)res.items * 1e9 / (double)res.window_ns
						: 0,
					p99, (long long)res.failed);
			}
			fl_bench_result_destroy(&res);
		}
	}
	return e;
}

/* ---- reading cells back ----------------------------------------------------------------- */

static int64_t counter(const fl_report *r, const char *prefix, const char *name, bool *ok)
{
	char n[160];
	snprintf(n, sizeof(n), "%s%s", prefix, name);
	const fl_report_counter *c = fl_report_find_counter(r, n);
	*ok &= c != NULL;
	return c ? c->value : 0;
}

static int cmp_cell(const void *a, const void *b)
{
	const fl_bench_cell *x = a, *y = b;
	if (x->limit != y->limit)
		return x->limit < y->limit ? -1 : 1;
	if (x->buffer != y->buffer)
		return x->buffer < y->buffer ? -1 : 1;
	if (x->workers != y->workers)
		return x->workers < y->workers ? -1 : 1;
	return x->offered < y->offered ? -1 : x->offered > y->offered;
}

static bool same_config(const fl_bench_cell *a, const fl_bench_cell *b)
{
	return a->limit == b->limit && a->buffer == b->buffer && a->workers == b->workers;
}

static fl_err *cell_read(const fl_report *r, const char *key, int64_t slo_ns, fl_bench_cell *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->key, sizeof(c->key), "%s", key);
	if (sscanf(key, "l%d_b%d_w%d_r%lf", &c->limit, &c->buffer, &c->workers, &c->offered) != 4)
		return fl_err_wrap(FL_ERR_INVAL, "sweep report %s: bad cell key '%s'", r->name,
				   key);
	char prefix[96], n[128];
	snprintf(prefix, sizeof(prefix), "cell.%s.", key);
	bool ok = true;
	c->reps = counter(r, prefix, "reps", &ok);
	int64_t items = counter(r, prefix, "items", &ok);
	int64_t win = counter(r, prefix, "window_ns", &ok);
	int64_t busy = counter(r, prefix, "busy_ns", &ok);
	int64_t area = counter(r, prefix, "area_ns", &ok);
	snprintf(n, sizeof(n), "%sresponse", prefix);
	const fl_report_hist *h = fl_report_find_hist(r, n);
	if (!ok || !h || !h->hdr)
		return fl_err_wrap(FL_ERR_INVAL,
				   "sweep report %s: cell %s lacks its counters or "
				   "its response histogram",
				   r->name, key);
	c->throughput = win > 0 ? (double)items * 1e9 / (double)win : 0;
	c->p50 = fl_hdr_value_at_percentile(h->hdr, 50);
	c->p99 = fl_hdr_value_at_percentile(h->hdr, 99);
	c->p999 = fl_hdr_value_at_percentile(h->hdr, 99.9);
	int64_t capacity = counter(r, prefix, "capacity_ns", &ok);
	c->utilisation = capacity > 0 ? (double)busy / (double)capacity : 0;
	c->little_l = win > 0 ? (double)area / (double)win : 0;
	c->little_lw = c->throughput * fl_hdr_mean(h->hdr) / 1e9;
	c->little_dev = c->little_lw > 0 ? (c->little_l - c->little_lw) / c->little_lw : 0;
	c->queue = c->little_l - (win > 0 ? (double)busy / (double)win : 0);
	if (c->queue < 0)
		c->queue = 0;
	c->within_slo = c->p99 <= slo_ns;
	return NULL;
}

fl_err *fl_bench_sweep_cells(const fl_report *rep, int64_t slo_ns, fl_bench_cell **cells,
			     size_t *ncells)
{
	size_t n = 0;
	fl_bench_cell *v = calloc(rep->ncounters + 1, sizeof(*v));
	if (!v)
		return FL_ERR_NOMEM;
	fl_err *e = NULL;
	for (size_t i = 0; i < rep->ncounters && !e; i++) {
		const char *name = rep->counters[i].name;
		size_t len = strlen(name);
		if (strncmp(name, "cell.", 5) != 0 || len < 10 || strcmp(name + len - 5, ".reps"))
			continue;
		char key[64];
		if (len - 10 >= sizeof(key))
			continue;
		memcpy(key, name + 5, len - 10);
		key[len - 10] = '\0';
		e = cell_read(rep, key, slo_ns, &v[n++]);
	}
	if (e) {
		free(v);
		return e;
	}
	qsort(v, n, sizeof(*v), cmp_cell);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		long knee = -1;
		bool ok = true;
		for (; j < n && same_config(&v[i], &v[j]); j++) {
			ok &= v[j].within_slo;
			if (ok)
				knee = (long)j;
		}
		if (knee >= 0)
			v[knee].knee = true;
		i = j;
	}
	*cells = v;
	*ncells = n;
	return NULL;
}

/* ---- the page ------------------------------------------------------------------------- */

#define NCOLS 11

static void fmt_ms(int64_t ns, char *buf, size_t cap)
{
	fl_report_format_ns((double)ns, false, buf, cap);
}

/* The table's row of cell c, as NCOLS strings of 32 bytes at t. */
static void table_row(const fl_bench_cell *c, char *t)
{
	snprintf(t, 32, "w=%d b=%d lim=%d%s", c->workers, c->buffer, c->limit,
		 c->knee ? " (knee)" : "");
	snprintf(t + 32, 32, "%.0f", c->offered);
	snprintf(t + 64, 32, "%.0f", c->throughput);
	fmt_ms(c->p50, t + 96, 32);
	fmt_ms(c->p99, t + 128, 24);
	if (!c->within_slo)
		strcat(t + 128, " !");
	fmt_ms(c->p999, t + 160, 32);
	snprintf(t + 192, 32, "%.1f%%", 100 * c->utilisation);
	snprintf(t + 224, 32, "%.2f", c->queue);
	snprintf(t + 256, 32, "%.2f", c->little_l);
	snprintf(t + 288, 32, "%.2f", c->little_lw);
	snprintf(t + 320, 32, "%+.1f%%", 100 * c->little_dev);
}

fl_err *fl_bench_sweep_write_html(const fl_bench_cell *cells, size_t n, int64_t slo_ns,
				  const char *title, const char *dir)
{
	static const char *const head[NCOLS] = {"config", "offered/s", "achieved/s", "p50",
						"p99",    "p99.9",     "util",       "queue",
						"L",      "\xce\xbbW", "L dev"};
	fl_report_curve *curves = calloc(n + 1, sizeof(*curves));
	double *xs = calloc(n + 1, sizeof(double)), *ys = calloc(n + 1, sizeof(double));
	char *text = calloc(n + 1, NCOLS * 32);
	const char **cellp = calloc((n + 1) * NCOLS, sizeof(char *));
	bool *marked = calloc(n + 1, sizeof(bool));
	char(*names)[64] = calloc(n + 1, 64);
	fl_err *e = NULL;
	if (!curves || !xs || !ys || !text || !cellp || !marked || !names) {
		e = FL_ERR_NOMEM;
		goto out;
	}
	size_t nc = 0;
	for (size_t i = 0; i < n; i++) {
		const fl_bench_cell *c = &cells[i];
		if (i == 0 || !same_config(c, &cells[i - 1])) {
			snprintf(names[nc], 64, "w=%d b=%d lim=%d", c->workers, c->buffer,
				 c->limit);
			curves[nc] = (fl_report_curve){names[nc], xs + i, ys + i, 0, -1};
			nc++;
		}
		fl_report_curve *cv = &curves[nc - 1];
		xs[i] = c->throughput;
		ys[i] = (double)c->p99;
		if (c->knee)
			cv->mark = (long)cv->n;
		cv->n++;
		char *t = text + i * NCOLS * 32;
		for (int k = 0; k < NCOLS; k++)
			cellp[i * NCOLS + (size_t)k] = t + k * 32;
		table_row(c, t);
		marked[i] = c->knee;
	}
	char sub[256], slo[64];
	snprintf(sub, sizeof(sub),
		 "p99 response time (from the intended start) against achieved throughput, one "
		 "curve per configuration; the hollow point is the knee: the highest offered "
		 "rate whose p99 (and every lower rate's) stays within the SLO of %.3g ms",
		 (double)slo_ns / 1e6);
	snprintf(slo, sizeof(slo), "SLO p99 %.3g ms", (double)slo_ns / 1e6);
	fl_report_curves page = {
		.title = title,
		.subtitle = sub,
		.x_label = "achieved throughput",
		.y_label = "p99 response time",
		.hline_ns = slo_ns,
		.hline_label = slo,
		.mark_label = "knee",
		.curves = curves,
		.ncurves = nc,
		.head = head,
		.ncols = NCOLS,
		.cells = cellp,
		.nrows = n,
		.row_marked = marked,
	};
	e = fl_report_write_curves_html(&page, dir);
out:
	free(curves);
	free(xs);
	free(ys);
	free(text);
	free(cellp);
	free(marked);
	free(names);
	return e;
}
