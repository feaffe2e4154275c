/*
 * test_bench_stats.c - the gate's statistics against known values.
 */
/* fl-test-labels: memcheck */
#include <fl/bench.h>

#include "fl_test.h"

#include <math.h>

FL_TEST(mwu_textbook_exact)
{
	/* a = 19 22 16 29 24, b = 20 11 17 12: ranks of a are 3 5 7 8 9,
	 * R_a = 32, U_a = 32 - 15 = 17, U = min(17, 20 - 17) = 3. Exact null
	 * for sizes 5 and 4: U <= 3 in 1 + 1 + 2 + 3 = 7 of C(9,4) = 126
	 * orderings, so p = 2 * 7 / 126 = 0.1111. */
	const double a[] = {19, 22, 16, 29, 24}, b[] = {20, 11, 17, 12};
	fl_bench_mwu r = fl_bench_mann_whitney(a, 5, b, 4);
	ASSERT(r.exact);
	ASSERT_DBL_NEAR(r.u_a, 17, 1e-12);
	ASSERT_DBL_NEAR(r.u, 3, 1e-12);
	ASSERT_DBL_NEAR(r.p, 14.0 / 126.0, 1e-12);
	/* Symmetric in its arguments. */
	fl_bench_mwu s = fl_bench_mann_whitney(b, 4, a, 5);
	ASSERT_DBL_NEAR(s.u_a, 3, 1e-12);
	ASSERT_DBL_NEAR(s.p, r.p, 1e-12);
}

FL_TEST(mwu_separated_nine_each)
{
	/* Complete separation of 9 and 9: U = 0, and only 1 of C(18,9) =
	 * 48620 orderings is as extreme on each side: p = 2 / 48620. */
	double a[9], b[9];
	for (int i = 0; i < 9; i++) {
		a[i] = 100 + i;
		b[i] = 200 + i;
	}
	fl_bench_mwu r = fl_bench_mann_whitney(a, 9, b, 9);
	ASSERT(r.exact);
	ASSERT_DBL_NEAR(r.u, 0, 1e-12);
	ASSERT_DBL_NEAR(r.p, 2.0 / 48620.0, 1e-15);
}

FL_TEST(mwu_ties_normal_approximation)
{
	/* a = 1 2 2 3 3 3, b = 3 4 4 5 5 6 (ties: no exact p). Pooled ranks:
	 * 1 -> 1, 2 2 -> 2.5, 3 x4 -> 5.5, 4 4 -> 8.5, 5 5 -> 10.5, 6 -> 12.
	 * R_a = 1 + 5 + 16.5 = 22.5, U_a = 22.5 - 21 = 1.5, mu = 18.
	 * Ties t = 2, 4, 2, 2: sum(t^3 - t) = 6 + 60 + 6 + 6 = 78.
	 * var = 36/12 * (13 - 78/132) = 3 * 12.40909 = 37.22727.
	 * z = -(16.5 - 0.5) / sqrt(37.22727) = -2.622342, p = erfc(|z|/sqrt 2)
	 * = 0.008733. */
	const double a[] = {1, 2, 2, 3, 3, 3}, b[] = {3, 4, 4, 5, 5, 6};
	fl_bench_mwu r = fl_bench_mann_whitney(a, 6, b, 6);
	ASSERT(!r.exact);
	ASSERT_DBL_NEAR(r.u_a, 1.5, 1e-12);
	ASSERT_DBL_NEAR(r.z, -16.0 / sqrt(3.0 * (13.0 - 78.0 / 132.0)), 1e-9);
	ASSERT_DBL_NEAR(r.p, 0.008733, 5e-6);
}

FL_TEST(mwu_identical_samples)
{
	const double a[] = {5, 5, 5, 5}, b[] = {5, 5, 5, 5};
	fl_bench_mwu r = fl_bench_mann_whitney(a, 4, b, 4);
	ASSERT_DBL_NEAR(r.p, 1, 1e-12);
}

FL_TEST(holm_known_set)
{
	/* Sorted: 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06,
	 * 0.04 x1 = 0.04 -> raised to the running max 0.06. */
	const double p[] = {0.01, 0.04, 0.03, 0.005};
	double adj[4];
	fl_bench_holm(p, 4, adj);
	ASSERT_DBL_NEAR(adj[0], 0.03, 1e-12);
	ASSERT_DBL_NEAR(adj[1], 0.06, 1e-12);
	ASSERT_DBL_NEAR(adj[2], 0.06, 1e-12);
	ASSERT_DBL_NEAR(adj[3], 0.02, 1e-12);
	const double big[] = {0.5, 0.9};
	fl_bench_holm(big, 2, adj);
	ASSERT_DBL_NEAR(adj[0], 1, 1e-12);
	ASSERT_DBL_NEAR(adj[1], 1, 1e-12);
}

FL_TEST(median_even_odd)
{
	const double odd[] = {3, 1, 2}, even[] = {4, 1, 3, 2};
	ASSERT_DBL_NEAR(fl_bench_median(odd, 3), 2, 0);
	ASSERT_DBL_NEAR(fl_bench_median(even, 4), 2.5, 0);
	ASSERT(isnan(fl_bench_median(odd, 0)));
}

/* xorshift normal-ish noise: the sum of 4 uniforms, centred. */
static double noise(uint64_t *s)
{
	double t = 0;
	for (int k = 0; k < 4; k++) {
		*s ^= *s << 13;
		*s ^= *s >> 7;
		*s ^= *s << 17;
		t += (double)(*s >> 11) * 0x1.0p-53;
	}
	return t - 2;
}

FL_TEST(bootstrap_covers_true_shift)
{
	/* b is a scaled 4% up, with independent noise: the 95% interval of
	 * median(b)/median(a) - 1 must contain 0.04 and exclude 0. */
	uint64_t s = 42;
	double a[15], b[15];
	for (int i = 0; i < 15; i++) {
		a[i] = 1000 * (1 + 0.01 * noise(&s));
		b[i] = 1040 * (1 + 0.01 * noise(&s));
	}
	double est, lo, hi;
	fl_bench_bootstrap_rel(a, 15, b, 15, 4000, 0.95, 7, &est, &lo, &hi);
	ASSERT(lo <= est && est <= hi);
	ASSERT(lo < 0.04 && 0.04 < hi);
	ASSERT(lo > 0);
	/* Same seed, same interval. */
	double est2, lo2, hi2;
	fl_bench_bootstrap_rel(a, 15, b, 15, 4000, 0.95, 7, &est2, &lo2, &hi2);
	ASSERT(lo == lo2 && hi == hi2);
	/* No shift: the interval straddles 0. */
	fl_bench_bootstrap_rel(a, 15, a, 15, 4000, 0.95, 7, &est, &lo, &hi);
	ASSERT(lo <= 0 && 0 <= hi);
}

FL_TEST_MAIN(FL_CASE(mwu_textbook_exact), FL_CASE(mwu_separated_nine_each),
	     FL_CASE(mwu_ties_normal_approximation), FL_CASE(mwu_identical_samples),
	     FL_CASE(holm_known_set), FL_CASE(median_even_odd),
	     FL_CASE(bootstrap_covers_true_shift))
