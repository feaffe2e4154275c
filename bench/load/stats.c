/*
 * stats.c - the statistics of the regression gate: medians, the
 * Mann-Whitney U test, Holm's correction and a percentile bootstrap.
 *
 * Mann-Whitney: ranks with midranks for ties; U_a = R_a - na(na+1)/2.
 * Without ties and with both samples of at most EXACT_MAX values, the
 * two-sided p-value comes from the exact null distribution of U, counted by
 * the recurrence c(i, j, u) = c(i-1, j, u-j) + c(i, j-1, u) (the largest of
 * i + j values is an a, beating j b's, or a b). Otherwise the normal
 * approximation with the tie-corrected variance
 *   var = na nb / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1)))
 * and a 0.5 continuity correction.
 *
 * The bootstrap resamples both sides with replacement from a splitmix64
 * stream (seeded: the same inputs give the same interval) and takes the
 * (1-conf)/2 and (1+conf)/2 quantiles of the resampled relative change.
 */
#include <fl/bench.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EXACT_MAX 20

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median of a sorted array. */
static double median_sorted(const double *v, size_t n)
{
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double fl_bench_median(const double *v, size_t n)
{
	if (n == 0)
		return NAN;
	double small[64], *s = n <= 64 ? small : malloc(n * sizeof(*s));
	if (!s)
		return NAN;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	double m = median_sorted(s, n);
	if (s != small)
		free(s);
	return m;
}

typedef struct tagged {
	double v;
	int side; /* 0: a, 1: b */
} tagged;

static int cmp_tagged(const void *a, const void *b)
{
	return cmp_double(&((const tagged *)a)->v, &((const tagged *)b)->v);
}

/* P(U <= u) under the null for sizes m, n without ties, exactly. Returns a
 * negative value when out of memory. */
static double exact_cdf(size_t m, size_t n, double u)
{
	size_t umax = m * n, stride = umax + 1;
	double *c = calloc((m + 1) * (n + 1) * stride, sizeof(double));
	if (!c)
		return -1;
#define C(i, j, k) c[((i) * (n + 1) + (j)) * stride + (k)]
	for (size_t i = 0; i <= m; i++)
		for (size_t j = 0; j <= n; j++) {
			if (i == 0 || j == 0) {
				C(i, j, 0) = 1;
				continue;
			}
			for (size_t k = 0; k <= i * j; k++)
				C(i, j, k) = (k >= j ? C(i - 1, j, k - j) : 0) + C(i, j - 1, k);
		}
	double le = 0, total = 0;
	for (size_t k = 0; k <= umax; k++) {
		total += C(m, n, k);
		if ((double)k <= u + 1e-9)
			le += C(m, n, k);
	}
#undef C
	free(c);
	return le / total;
}

fl_bench_mwu fl_bench_mann_whitney(const double *a, size_t na, const double *b, size_t nb)
{
	fl_bench_mwu r = {0, 0, 0, 1, false};
	size_t n = na + nb;
	if (na == 0 || nb == 0)
		return r;
	tagged *t = malloc(n * sizeof(*t));
	if (!t)
		return r;
	for (size_t i = 0; i < na; i++)
		t[i] = (tagged){a[i], 0};
	for (size_t i = 0; i < nb; i++)
		t[na + i] = (tagged){b[i], 1};
	qsort(t, n, sizeof(*t), cmp_tagged);
	double ra = 0, ties = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && t[j + 1].v == t[i].v)
			j++;
		double rank = 0.5 * (double)(i + j) + 1, tn = (double)(j - i + 1);
		ties += tn * tn * tn - tn;
		for (size_t k = i; k <= j; k++)
			if (t[k].side == 0)
				ra += rank;
		i = j + 1;
	}
	free(t);
	double fa = (double)na, fb = (double)nb, fn = (double)n;
	r.u_a = ra - fa * (fa + 1) / 2;
	r.u = fmin(r.u_a, fa * fb - r.u_a);
	double mu = fa * fb / 2;
	double var = fa * fb / 12 * ((fn + 1) - ties / (fn * (fn - 1)));
	double d = fabs(r.u_a - mu);
	r.z = var > 0 ? (r.u_a - mu >= 0 ? 1 : -1) * fmax(d - 0.5, 0) / sqrt(var) : 0;
	r.p = var > 0 ? erfc(fabs(r.z) / sqrt(2)) : 1;
	if (ties == 0 && na <= EXACT_MAX && nb <= EXACT_MAX) {
		double cdf = exact_cdf(na, nb, r.u);
		if (cdf >= 0) {
			r.p = fmin(1, 2 * cdf);
			r.exact = true;
		}
	}
	return r;
}

void fl_bench_holm(const double *p, size_t n, double *adj)
{
	size_t idx[64];
	double in[64];
	if (n > 64)
		n = 64; /* the gate has four metrics; the cap keeps this allocation-free */
	for (size_t i = 0; i < n; i++) {
		idx[i] = i;
		in[i] = p[i];
	}
	for (size_t i = 1; i < n; i++) /* insertion sort by p, stable */
		for (size_t j = i; j > 0 && in[idx[j]] < in[idx[j - 1]]; j--) {
			size_t x = idx[j];
			idx[j] = idx[j - 1];
			idx[j - 1] = x;
		}
	double run = 0;
	for (size_t k = 0; k < n; k++) {
		double v = fmin(1, (double)(n - k) * in[idx[k]]);
		run = fmax(run, v);
		adj[idx[k]] = run;
	}
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double resample_median(const double *v, size_t n, double *tmp, uint64_t *s)
{
	for (size_t i = 0; i < n; i++)
		tmp[i] = v[splitmix(s) % n];
	qsort(tmp, n, sizeof(*tmp), cmp_double);
	return median_sorted(tmp, n);
}

void fl_bench_bootstrap_rel(const double *a, size_t na, const double *b, size_t nb, int resamples,
			    double conf, uint64_t seed, double *est, double *lo, double *hi)
{
	double ma = fl_bench_median(a, na), mb = fl_bench_median(b, nb);
	*est = mb / ma - 1;
	*lo = *hi = *est;
	if (resamples < 2 || na == 0 || nb == 0)
		return;
	double *rel = malloc((size_t)resamples * sizeof(*rel));
	double *tmp = malloc((na > nb ? na : nb) * sizeof(*tmp));
	if (!rel || !tmp) {
		free(rel);
		free(tmp);
		return;
	}
	uint64_t s = seed;
	for (int i = 0; i < resamples; i++) {
		double ra = resample_median(a, na, tmp, &s);
		double rb = resample_median(b, nb, tmp, &s);
		rel[i] = rb / ra - 1;
	}
	qsort(rel, (size_t)resamples, sizeof(*rel), cmp_double);
	double q = (1 - conf) / 2;
	size_t il = (size_t)floor(q * (resamples - 1));
	size_t ih = (size_t)ceil((1 - q) * (resamples - 1));
	*lo = rel[il];
	*hi = rel[ih];
	free(rel);
	free(tmp);
}
