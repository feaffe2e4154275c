/*
 * gate.c - the regression verdict from two sets of repetitions.
 *
 * Per metric: the relative change of the median, oriented so that > 0 is
 * worse (for throughput the drop 1 - cand / base, for latencies
 * cand / base - 1), its percentile
 * bootstrap interval, and a two-sided Mann-Whitney p-value; the four
 * p-values are Holm-adjusted together. A metric regresses only when all
 * three agree: the adjusted p is below alpha, the whole interval lies on
 * the worse side of zero, and the change reaches the metric's practical
 * floor. One metric regressing makes the verdict a regression.
 */
#include <fl/bench.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double default_floor[FL_BENCH_NMETRICS] = {0.01, 0.01, 0.03, 0.05};

fl_err *fl_bench_gate_eval(const fl_bench_sample *base, size_t nbase, const fl_bench_sample *cand,
			   size_t ncand, const struct fl_bench_gate_opts *opts,
			   fl_bench_verdict *out)
{
	if (nbase < 2 || ncand < 2)
		return fl_err_wrap(FL_ERR_INVAL,
				   "gate: %zu baseline and %zu candidate "
				   "repetitions; at least 2 each (9 recommended)",
				   nbase, ncand);
	struct fl_bench_gate_opts o = opts ? *opts : (struct fl_bench_gate_opts){0};
	o.alpha = o.alpha > 0 ? o.alpha : 0.05;
	o.conf = o.conf > 0 ? o.conf : 0.95;
	o.resamples = o.resamples > 0 ? o.resamples : 2000;
	o.seed = o.seed ? o.seed : 1;
	double *a = malloc(nbase * sizeof(*a)), *b = malloc(ncand * sizeof(*b));
	if (!a || !b) {
		free(a);
		free(b);
		return FL_ERR_NOMEM;
	}
	fl_bench_verdict v = {.nbase = nbase, .ncand = ncand};
	double p[FL_BENCH_NMETRICS], padj[FL_BENCH_NMETRICS];
	for (int m = 0; m < FL_BENCH_NMETRICS; m++) {
		fl_bench_metric_verdict *mv = &v.m[m];
		for (size_t i = 0; i < nbase; i++)
			a[i] = base[i].v[m];
		for (size_t i = 0; i < ncand; i++)
			b[i] = cand[i].v[m];
		mv->base_median = fl_bench_median(a, nbase);
		mv->cand_median = fl_bench_median(b, ncand);
		double est, lo, hi;
		fl_bench_bootstrap_rel(a, nbase, b, ncand, o.resamples, o.conf,
				       o.seed + (uint64_t)m, &est, &lo, &hi);
		if (m == 0) { /* throughput: a drop is worse */
			mv->worse = -est;
			mv->ci_lo = -hi;
			mv->ci_hi = -lo;
		} else {
			mv->worse = est;
			mv->ci_lo = lo;
			mv->ci_hi = hi;
		}
		mv->floor = o.floor[m] > 0 ? o.floor[m] : default_floor[m];
		p[m] = fl_bench_mann_whitney(a, nbase, b, ncand).p;
		mv->p = p[m];
	}
	free(a);
	free(b);
	fl_bench_holm(p, FL_BENCH_NMETRICS, padj);
	for (int m = 0; m < FL_BENCH_NMETRICS; m++) {
		fl_bench_metric_verdict *mv = &v.m[m];
		mv->p_holm = padj[m];
		mv->significant = padj[m] < o.alpha;
		mv->regression = mv->significant && mv->ci_lo > 0 && mv->worse >= mv->floor;
		mv->improvement = mv->significant && mv->ci_hi < 0 && -mv->worse >= mv->floor;
		v.regression |= mv->regression;
	}
	*out = v;
	return NULL;
}

static void fmt_metric(int m, double x, char *buf, size_t cap)
{
	if (m == 0)
		snprintf(buf, cap, "%.1f/s", x);
	else if (x >= 1e6)
		snprintf(buf, cap, "%.3g ms", x / 1e6);
	else if (x >= 1e3)
		snprintf(buf, cap, "%.3g us", x / 1e3);
	else
		snprintf(buf, cap, "%.0f ns", x);
}

void fl_bench_verdict_markdown(const fl_bench_verdict *v, FILE *out)
{
	fprintf(out, "**%s** (%zu baseline, %zu candidate repetitions; change > 0 is worse)\n\n",
		v->regression ? "REGRESSION" : "no regression", v->nbase, v->ncand);
	fprintf(out, "| metric | baseline | candidate | change | 95%% CI | p (Holm) | floor | "
		     "verdict |\n|---|---:|---:|---:|---:|---:|---:|---|\n");
	for (int m = 0; m < FL_BENCH_NMETRICS; m++) {
		const fl_bench_metric_verdict *x = &v->m[m];
		char b[32], c[32];
		fmt_metric(m, x->base_median, b, sizeof(b));
		fmt_metric(m, x->cand_median, c, sizeof(c));
		fprintf(out,
			"| %s | %s | %s | %+.2f%% | [%+.2f%%, %+.2f%%] | %.3g | %.0f%% | %s |\n",
			fl_bench_metric_name(m), b, c, 100 * x->worse, 100 * x->ci_lo,
			100 * x->ci_hi, x->p_holm, 100 * x->floor,
			x->regression    ? "**regression**"
			: x->improvement ? "improvement"
			: x->significant ? "below floor or CI spans 0"
					 : "no significant change");
	}
}
