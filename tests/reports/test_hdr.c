/* fl-test-labels: memcheck */
/*
 * test_hdr.c - the HDR histogram core: layout, recording, queries, merging,
 * lifecycles and iterators, against the worked examples of the spec.
 */
#include <fl/hdr.h>

#include "fl_test.h"

#include <math.h>

static fl_hdr *mk(int64_t lo, int64_t hi, int sig)
{
	fl_hdr *h = NULL;
	fl_err *err = fl_hdr_new(lo, hi, sig, &h);
	if (err) {
		char msg[256];
		fl_err_format(err, msg, sizeof msg);
		FL_FAIL("fl_hdr_new(%lld, %lld, %d): %s", (long long)lo, (long long)hi, sig, msg);
	}
	return h;
}

static void expect_inval(int64_t lo, int64_t hi, int sig)
{
	fl_hdr *h = NULL;
	fl_err *err = fl_hdr_new(lo, hi, sig, &h);
	ASSERT_NOT_NULL(err);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	ASSERT_NULL(h);
	fl_err_drop(err);
	ASSERT_EQ(fl_hdr_memory_size(lo, hi, sig), 0);
}

FL_TEST(config_invalid)
{
	expect_inval(0, 1000, 3);
	expect_inval(-5, 1000, 3);
	expect_inval(1, 1000, 0);
	expect_inval(1, 1000, 6);
	expect_inval(10, 19, 3);
	expect_inval(INT64_MAX / 2 + 1, INT64_MAX, 3);
	expect_inval(INT64_C(1) << 50, INT64_MAX, 5); /* 50 + 18 > 62 bits */
}

FL_TEST(layout_table)
{
	static const struct {
		int64_t lo, hi;
		int sig;
		int32_t unit, buckets, len;
		int64_t largest; /* 0 = not given */
	} t[] = {
		{1, 3600000000, 3, 0, 22, 23552, 4294967295},
		{1, 1000000000000, 2, 0, 33, 4352, 1099511627775},
		{1, 1000000, 1, 0, 16, 272, 1048575},
		{1000, 10000000000, 5, 9, 8, 1179648, 17179869183},
		{1000, 3600000000000, 2, 9, 26, 3456, 0},
		{20000, 3600000000000, 2, 14, 21, 2816, 0},
		{1, INT64_MAX, 3, 0, 53, 55296, INT64_MAX},
		{1, INT64_MAX, 5, 0, 46, 6160384, INT64_MAX},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		fl_hdr *h = mk(t[i].lo, t[i].hi, t[i].sig);
		ASSERT_EQ(fl_hdr_unit_magnitude(h), t[i].unit);
		ASSERT_EQ(fl_hdr_bucket_count(h), t[i].buckets);
		ASSERT_EQ(fl_hdr_counts_len(h), t[i].len);
		if (t[i].largest)
			ASSERT_EQ(fl_hdr_largest_recordable(h), t[i].largest);
		ASSERT_EQ(fl_hdr_lowest(h), t[i].lo);
		ASSERT_EQ(fl_hdr_highest(h), t[i].hi);
		ASSERT_EQ(fl_hdr_sigfigs(h), t[i].sig);
		fl_hdr_free(h);
	}
	static const int32_t sub[] = {0, 32, 256, 2048, 32768, 262144};
	for (int s = 1; s <= 5; s++) {
		fl_hdr *h = mk(1, 1000000, s);
		ASSERT_EQ(fl_hdr_sub_bucket_count(h), sub[s]);
		fl_hdr_free(h);
	}
}

FL_TEST(worked_example)
{
	fl_hdr *h = mk(1, 3600000000, 3);
	ASSERT_EQ(fl_hdr_index_of(h, 10007), 4322);
	ASSERT_EQ(fl_hdr_value_at_index(h, 4322), 10000);
	ASSERT_EQ(fl_hdr_size_of_equivalent_range(h, 10007), 8);
	ASSERT_EQ(fl_hdr_lowest_equivalent(h, 10007), 10000);
	ASSERT_EQ(fl_hdr_highest_equivalent(h, 10001), 10007);
	ASSERT_EQ(fl_hdr_median_equivalent(h, 10007), 10004);
	ASSERT_EQ(fl_hdr_next_non_equivalent(h, 10000), 10008);
	ASSERT(fl_hdr_values_are_equivalent(h, 10000, 10007));
	ASSERT(!fl_hdr_values_are_equivalent(h, 10007, 10008));
	ASSERT_EQ(fl_hdr_index_of(h, 2048), 2048);
	ASSERT_EQ(fl_hdr_highest_equivalent(h, 2048), 2049);
	ASSERT_EQ(fl_hdr_index_of(h, 2047), 2047);
	ASSERT_EQ(fl_hdr_size_of_equivalent_range(h, 2047), 1);
	fl_hdr_free(h);
}

FL_TEST(equivalence_at_int64_max)
{
	fl_hdr *h = mk(1, INT64_MAX, 3);
	ASSERT_EQ(fl_hdr_highest_equivalent(h, INT64_MAX), INT64_MAX);
	ASSERT_EQ(fl_hdr_next_non_equivalent(h, INT64_MAX), INT64_MAX);
	ASSERT_EQ(fl_hdr_index_of(h, INT64_MAX), fl_hdr_counts_len(h) - 1);
	ASSERT(fl_hdr_record(h, INT64_MAX));
	ASSERT_EQ(fl_hdr_max(h), INT64_MAX);
	ASSERT_EQ(fl_hdr_value_at_percentile(h, 100), INT64_MAX);
	ASSERT_EQ(fl_hdr_lowest_equivalent(h, -7), 0); /* negatives act as 0 */
	fl_hdr_free(h);
}

FL_TEST(record_and_out_of_range)
{
	fl_hdr *h = mk(1, 1000, 2);
	ASSERT(fl_hdr_record(h, 0));
	ASSERT(fl_hdr_record(h, 1000));
	ASSERT(!fl_hdr_record(h, 1001)); /* above H, though the array holds it */
	ASSERT(!fl_hdr_record(h, -1));
	ASSERT(!fl_hdr_record_n(h, 5000, 7));
	ASSERT(!fl_hdr_record_n(h, 5, -1)); /* negative count: rejected, not counted */
	ASSERT(fl_hdr_record_n(h, 5, 0));
	ASSERT_EQ(fl_hdr_out_of_range(h), 9);
	ASSERT_EQ(fl_hdr_total_count(h), 2);
	ASSERT_EQ(fl_hdr_count_at_value(h, 1000), 1);
	ASSERT_EQ(fl_hdr_count_at_value(h, 5), 0);
	fl_hdr_free(h);
}

FL_TEST(record_corrected)
{
	fl_hdr *h = mk(1, 3600000000, 3);
	ASSERT(fl_hdr_record_corrected(h, 55000, 10000));
	ASSERT_EQ(fl_hdr_total_count(h), 5);
	static const int64_t want[] = {55000, 45000, 35000, 25000, 15000};
	for (int i = 0; i < 5; i++)
		ASSERT_EQ(fl_hdr_count_at_value(h, want[i]), 1);
	ASSERT(fl_hdr_record_corrected(h, 9000, 10000)); /* below the interval */
	ASSERT(fl_hdr_record_corrected_n(h, 20000, 3, 10000));
	ASSERT_EQ(fl_hdr_total_count(h), 5 + 1 + 6);
	ASSERT(!fl_hdr_record_corrected(h, 3600000001, 1)); /* primary rejected */
	ASSERT_EQ(fl_hdr_total_count(h), 12);
	fl_hdr_free(h);
}

FL_TEST(percentile_java_rule)
{
	fl_hdr *h = mk(1, 1000, 3);
	for (int v = 1; v <= 10; v++)
		fl_hdr_record(h, v);
	ASSERT_EQ(fl_hdr_value_at_percentile(h, 33), 4); /* C rounds to 3 */
	ASSERT_EQ(fl_hdr_value_at_percentile(h, 50), 5);
	ASSERT_EQ(fl_hdr_value_at_percentile(h, 0), 1);
	ASSERT_EQ(fl_hdr_value_at_percentile(h, 100), 10);
	ASSERT_EQ(fl_hdr_value_at_percentile(h, 250), 10);
	ASSERT_EQ(fl_hdr_value_at_percentile(h, -3), 1);
	ASSERT_EQ(fl_hdr_value_at_percentile(h, NAN), 0);
	fl_hdr_reset(h);
	ASSERT_EQ(fl_hdr_value_at_percentile(h, 50), 0);
	fl_hdr_free(h);
}

FL_TEST(min_max_and_empty_stats)
{
	fl_hdr *h = mk(1000, 1000000, 3);
	ASSERT_EQ(fl_hdr_min(h), 0);
	ASSERT_EQ(fl_hdr_max(h), 0);
	ASSERT_EQ(fl_hdr_min_nonzero(h), INT64_MAX);
	ASSERT(fl_hdr_mean(h) == 0.0 && fl_hdr_stddev(h) == 0.0);
	ASSERT(fl_hdr_percentile_at_or_below(h, 5) == 100.0);
	fl_hdr_record(h, 5); /* slot 0 (0..511): min reports 0 */
	ASSERT_EQ(fl_hdr_min(h), 0);
	ASSERT_EQ(fl_hdr_max(h), 511);
	ASSERT_EQ(fl_hdr_min_nonzero(h), INT64_MAX);
	fl_hdr_record(h, 5000);
	ASSERT_EQ(fl_hdr_min_nonzero(h), fl_hdr_lowest_equivalent(h, 5000));
	fl_hdr_free(h);
}

FL_TEST(mean_and_stddev_ramp)
{
	fl_hdr *h = mk(1, 3600000000, 3);
	for (int v = 1; v <= 10000; v++)
		fl_hdr_record(h, v);
	ASSERT_DBL_NEAR(fl_hdr_mean(h), 5000.898, 1e-9);
	ASSERT_DBL_NEAR(fl_hdr_stddev(h), 2886.892667, 1e-6);
	ASSERT_EQ(fl_hdr_min(h), 1);
	ASSERT_EQ(fl_hdr_max(h), 10007);
	fl_hdr_free(h);
}

FL_TEST(counting_queries)
{
	fl_hdr *h = mk(1, 100000, 3);
	for (int v = 1; v <= 5000; v++)
		fl_hdr_record(h, v);
	ASSERT_EQ(fl_hdr_count_at_or_below(h, 100), 100);
	ASSERT_EQ(fl_hdr_count_below(h, 100), 99);
	ASSERT_EQ(fl_hdr_count_below(h, 0), 0);
	ASSERT_EQ(fl_hdr_count_between(h, 10, 19), 10);
	ASSERT_EQ(fl_hdr_count_at_or_below(h, INT64_MAX), 5000);
	ASSERT_EQ(fl_hdr_count_at_value(h, 4096), 4); /* slot 4096..4099 */
	ASSERT_DBL_NEAR(fl_hdr_percentile_at_or_below(h, 1000), 20.0, 1e-12);
	ASSERT_DBL_NEAR(fl_hdr_percentile_at_or_below(h, 2500), 50.02, 1e-12); /* slot 2500..2501 */
	ASSERT_EQ(fl_hdr_count_at_index(h, -1), 0);
	ASSERT_EQ(fl_hdr_count_at_index(h, fl_hdr_counts_len(h)), 0);
	fl_hdr_free(h);
}

FL_TEST(add_same_layout)
{
	fl_hdr *a = mk(1, 3600000000, 3), *b = mk(1, 3600000000, 3);
	fl_hdr_record(a, 10);
	fl_hdr_record_n(b, 10, 4);
	fl_hdr_record(b, 0);
	fl_hdr_record(b, 123456);
	fl_hdr_record(b, -1);
	fl_hdr_set_start_ns(a, 2000);
	fl_hdr_set_end_ns(a, 3000);
	fl_hdr_set_start_ns(b, 1000);
	fl_hdr_set_end_ns(b, 2500);
	ASSERT_EQ(fl_hdr_add(a, b), 0);
	ASSERT_EQ(fl_hdr_total_count(a), 7);
	ASSERT_EQ(fl_hdr_count_at_value(a, 10), 5);
	ASSERT_EQ(fl_hdr_min(a), 0);
	ASSERT_EQ(fl_hdr_min_nonzero(a), 10);
	ASSERT_EQ(fl_hdr_max(a), fl_hdr_highest_equivalent(a, 123456));
	ASSERT_EQ(fl_hdr_out_of_range(a), 1);
	ASSERT_EQ(fl_hdr_start_ns(a), 1000);
	ASSERT_EQ(fl_hdr_end_ns(a), 3000);
	fl_hdr_free(a);
	fl_hdr_free(b);
}

FL_TEST(add_drops_what_does_not_fit)
{
	/* Same layout (22 buckets) but a lower H: slots above it are dropped. */
	fl_hdr *dst = mk(1, 3000000000, 3), *src = mk(1, 3600000000, 3);
	fl_hdr_record(src, 5);
	fl_hdr_record_n(src, 3500000000, 3);
	ASSERT_EQ(fl_hdr_bucket_count(dst), fl_hdr_bucket_count(src));
	ASSERT_EQ(fl_hdr_add(dst, src), 3);
	ASSERT_EQ(fl_hdr_total_count(dst), 1);
	ASSERT_EQ(fl_hdr_max(dst), 5);
	ASSERT_EQ(fl_hdr_out_of_range(dst), 3);
	/* Different layout: re-recorded at the lowest value, same rule. */
	fl_hdr *small = mk(1, 1000, 2);
	ASSERT_EQ(fl_hdr_add(small, src), 3);
	ASSERT_EQ(fl_hdr_total_count(small), 1);
	fl_hdr_free(small);
	fl_hdr_free(dst);
	fl_hdr_free(src);
}

FL_TEST(add_coarse_into_fine)
{
	fl_hdr *fine = mk(1, 1000000, 3), *coarse = mk(1, 1000000, 1);
	fl_hdr_record(coarse, 1000); /* coarse slot 992..1023 */
	fl_hdr_record(coarse, 0);
	ASSERT_EQ(fl_hdr_add(fine, coarse), 0);
	ASSERT_EQ(fl_hdr_count_at_value(fine, 992), 1);
	ASSERT_EQ(fl_hdr_count_at_value(fine, 0), 1);
	ASSERT_EQ(fl_hdr_max(fine), 992);
	fl_hdr_free(fine);
	fl_hdr_free(coarse);
}

FL_TEST(add_corrected_uses_highest_equivalent)
{
	fl_hdr *src = mk(1, 3600000000, 3), *dst = mk(1, 3600000000, 3);
	fl_hdr_record(src, 50000); /* slot 49984..50015 */
	ASSERT_EQ(fl_hdr_add_corrected(dst, src, 20000), 0);
	ASSERT_EQ(fl_hdr_total_count(dst), 2); /* 50015 and 30015 */
	ASSERT_EQ(fl_hdr_count_at_value(dst, 30015), 1);
	fl_hdr_free(src);
	fl_hdr_free(dst);
}

FL_TEST(reset_clears_everything)
{
	fl_hdr *h = mk(1, 3600000000, 3);
	for (int64_t v = 1; v < 3600000000; v = v * 3 + 1)
		fl_hdr_record_n(h, v, v % 7 + 1);
	fl_hdr_record(h, -4);
	fl_hdr_set_start_ns(h, 7);
	fl_hdr_reset(h);
	for (int32_t i = 0; i < fl_hdr_counts_len(h); i++)
		ASSERT_EQ(fl_hdr_count_at_index(h, i), 0);
	ASSERT_EQ(fl_hdr_total_count(h), 0);
	ASSERT_EQ(fl_hdr_max(h), 0);
	ASSERT_EQ(fl_hdr_out_of_range(h), 0);
	ASSERT_EQ(fl_hdr_start_ns(h), 0);
	fl_hdr_record(h, 42);
	ASSERT_EQ(fl_hdr_min(h), 42);
	fl_hdr_free(h);
}

FL_TEST(init_in_caller_memory)
{
	size_t need = fl_hdr_memory_size(1, 3600000000, 3);
	ASSERT_GT(need, 23552 * 8);
	int64_t *mem = malloc(need);
	fl_hdr *h = NULL;
	fl_err *err = fl_hdr_init(mem, need - 1, 1, 3600000000, 3, &h);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	err = fl_hdr_init((char *)mem + 4, need - 8, 1, 3600000000, 3, &h);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	err = fl_hdr_init(mem, need, 1, 3600000000, 0, &h);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	ASSERT_NULL(h);
	memset(mem, 0xab, need);
	ASSERT_NULL(fl_hdr_init(mem, need, 1, 3600000000, 3, &h));
	ASSERT((void *)h == (void *)mem);
	ASSERT(fl_hdr_record(h, 1234));
	ASSERT_EQ(fl_hdr_total_count(h), 1);
	ASSERT_EQ(fl_hdr_count_at_value(h, 99), 0);
	fl_hdr_destroy(h);
	free(mem);
}

FL_TEST(clone_is_independent)
{
	fl_hdr *h = mk(1, 100000, 2), *c;
	fl_hdr_record(h, 77);
	fl_hdr_record(h, 100001);
	ASSERT_NULL(fl_hdr_clone(h, &c));
	fl_hdr_record(h, 99);
	ASSERT_EQ(fl_hdr_total_count(c), 1);
	ASSERT_EQ(fl_hdr_out_of_range(c), 1);
	ASSERT_EQ(fl_hdr_max(c), 77);
	fl_hdr_free(h);
	fl_hdr_free(c);
}

FL_TEST(iter_recorded)
{
	fl_hdr *h = mk(1, 100000, 3);
	fl_hdr_record_n(h, 3, 2);
	fl_hdr_record(h, 5000); /* slot 5000..5003 */
	fl_hdr_iter it;
	fl_hdr_iter_recorded_init(&it, h);
	ASSERT(fl_hdr_iter_next(&it));
	ASSERT_EQ(it.value, 3);
	ASSERT_EQ(it.count_here, 2);
	ASSERT_EQ(it.count_to_here, 2);
	ASSERT_DBL_NEAR(it.percentile, 200.0 / 3, 1e-12);
	ASSERT(fl_hdr_iter_next(&it));
	ASSERT_EQ(it.value, 5003);
	ASSERT_EQ(it.lowest_equivalent, 5000);
	ASSERT_EQ(it.highest_equivalent, 5003);
	ASSERT_EQ(it.value_from, 3);
	ASSERT_EQ(it.count_added, 1);
	ASSERT_EQ(it.count_to_here, 3);
	ASSERT(!fl_hdr_iter_next(&it));
	fl_hdr_free(h);
}

FL_TEST(iter_all)
{
	fl_hdr *h = mk(1, 1000, 1);
	fl_hdr_record(h, 7);
	fl_hdr_iter it;
	fl_hdr_iter_all_init(&it, h);
	int steps = 0;
	int64_t sum = 0;
	while (fl_hdr_iter_next(&it)) {
		steps++;
		sum += it.count_here;
	}
	ASSERT_EQ(steps, fl_hdr_counts_len(h));
	ASSERT_EQ(sum, 1);
	fl_hdr_free(h);
}

FL_TEST(iter_linear)
{
	fl_hdr *h = mk(1, 3600000000, 3);
	for (int v = 1; v <= 10000; v++)
		fl_hdr_record(h, v);
	fl_hdr_iter it;
	fl_hdr_iter_linear_init(&it, h, 1000);
	int steps = 0;
	int64_t sum = 0, last = 0;
	while (fl_hdr_iter_next(&it)) {
		steps++;
		ASSERT_EQ(it.value, steps * 1000 - 1);
		sum += it.count_added;
		last = it.value;
		if (steps <= 2)
			ASSERT_EQ(it.count_added, steps == 1 ? 999 : 1000);
	}
	ASSERT_EQ(sum, 10000);
	ASSERT_GE(last, 10000);
	ASSERT_EQ(steps, 11);
	fl_hdr_free(h);
}

FL_TEST(iter_log)
{
	fl_hdr *h = mk(1, 3600000000, 3);
	for (int v = 1; v <= 10000; v++)
		fl_hdr_record(h, v);
	fl_hdr_iter it;
	fl_hdr_iter_log_init(&it, h, 1, 2.0);
	int steps = 0;
	int64_t sum = 0;
	while (fl_hdr_iter_next(&it)) {
		ASSERT_EQ(it.value, (INT64_C(1) << steps) - 1);
		steps++;
		sum += it.count_added;
	}
	ASSERT_EQ(sum, 10000);
	ASSERT_EQ(steps, 15); /* levels 0, 1, 3, ..., 16383 */
	fl_hdr_free(h);
}

FL_TEST(iter_percentile_levels)
{
	fl_hdr *h = mk(1, 3600000000, 3);
	for (int v = 1; v <= 10000; v++)
		fl_hdr_record(h, v);
	fl_hdr_iter it;
	fl_hdr_iter_percentile_init(&it, h, 5);
	static const double want[] = {0, 10, 20, 30, 40, 50, 55, 60, 65, 70, 75, 77.5};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		ASSERT(fl_hdr_iter_next(&it));
		ASSERT(it.percentile_level == want[i]);
	}
	double prev = 0;
	int64_t prev_count = 0;
	while (fl_hdr_iter_next(&it)) {
		prev = it.percentile_level;
		prev_count = it.count_to_here;
	}
	ASSERT(prev == 100.0);
	ASSERT_EQ(prev_count, 10000);
	fl_hdr_reset(h);
	fl_hdr_iter_percentile_init(&it, h, 5);
	ASSERT(!fl_hdr_iter_next(&it));
	fl_hdr_free(h);
}

FL_TEST(iter_percentile_terminates_on_huge_totals)
{
	/* Found by fuzzing: with totals beyond 2^53 the level step vanishes
	 * below one ulp; the walk must still end (with the final line). */
	fl_hdr *h = mk(1, 1000000, 1);
	fl_hdr_record_n(h, 500, INT64_C(1) << 62);
	fl_hdr_record_n(h, 900, 3);
	fl_hdr_record(h, 1000);
	fl_hdr_iter it;
	fl_hdr_iter_percentile_init(&it, h, 5);
	int steps = 0;
	while (fl_hdr_iter_next(&it))
		ASSERT_LT(++steps, 10000);
	ASSERT_EQ(it.count_to_here, fl_hdr_total_count(h));
	fl_hdr_free(h);
}

FL_TEST(counts_saturate_instead_of_overflowing)
{
	fl_hdr *h = mk(1, 1000, 2), *g = mk(1, 1000, 2);
	ASSERT(fl_hdr_record_n(h, 7, INT64_MAX));
	ASSERT(fl_hdr_record_n(h, 7, INT64_MAX));
	ASSERT(fl_hdr_record_n(h, 9, 5));
	ASSERT_EQ(fl_hdr_count_at_value(h, 7), INT64_MAX);
	ASSERT_EQ(fl_hdr_total_count(h), INT64_MAX);
	ASSERT_EQ(fl_hdr_value_at_percentile(h, 50), 7);
	ASSERT_EQ(fl_hdr_value_at_percentile(h, 100), 7); /* saturated */
	ASSERT_EQ(fl_hdr_max(h), 9);
	ASSERT_EQ(fl_hdr_count_at_or_below(h, 9), INT64_MAX);
	fl_hdr_record_n(g, 7, 1);
	ASSERT_EQ(fl_hdr_add(g, h), 0);
	ASSERT_EQ(fl_hdr_count_at_value(g, 7), INT64_MAX);
	fl_hdr_free(h);
	fl_hdr_free(g);
}

FL_TEST_MAIN(FL_CASE(config_invalid), FL_CASE(layout_table), FL_CASE(worked_example),
	     FL_CASE(equivalence_at_int64_max), FL_CASE(record_and_out_of_range),
	     FL_CASE(record_corrected), FL_CASE(percentile_java_rule),
	     FL_CASE(min_max_and_empty_stats), FL_CASE(mean_and_stddev_ramp),
	     FL_CASE(counting_queries), FL_CASE(add_same_layout),
	     FL_CASE(add_drops_what_does_not_fit), FL_CASE(add_coarse_into_fine),
	     FL_CASE(add_corrected_uses_highest_equivalent), FL_CASE(reset_clears_everything),
	     FL_CASE(init_in_caller_memory), FL_CASE(clone_is_independent), FL_CASE(iter_recorded),
	     FL_CASE(iter_all), FL_CASE(iter_linear), FL_CASE(iter_log),
	     FL_CASE(iter_percentile_levels), FL_CASE(iter_percentile_terminates_on_huge_totals),
	     FL_CASE(counts_saturate_instead_of_overflowing))
