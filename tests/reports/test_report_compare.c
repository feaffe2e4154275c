/* fl-test-labels: memcheck */
/*
 * test_report_compare.c - fl_report_compare on two known reports: the
 * aligned table of percentile and counter changes, names found in one run
 * only, and the throughput line. (Loaded reports compare as live ones:
 * test_report.c.)
 */
#include <fl/report.h>

#include "test_report_util.h"

static void compare_pair(fl_report **base, fl_report **cur)
{
	*base = fixed_report("pipeline");
	*cur = fixed_report("pipeline");
	fl_report_stats b = mk_stats(1000, 1000000, 5000000, 9000000, 20000000);
	fl_report_stats c = mk_stats(1100, 1100000, 4000000, 9000000, 40000000);
	fl_report_stats x = mk_stats(10, 500, 900, 990, 1000);
	ASSERT_OK(fl_report_add_hist_stats(*base, "e2e", &b));
	ASSERT_OK(fl_report_add_hist_stats(*cur, "e2e", &c));
	ASSERT_OK(fl_report_add_hist_stats(*base, "stage.old", &x));
	ASSERT_OK(fl_report_add_hist_stats(*cur, "stage.new", &x));
	ASSERT_OK(fl_report_add_counter(*base, "items", 100000));
	ASSERT_OK(fl_report_add_counter(*cur, "items", 120000));
	ASSERT_OK(fl_report_add_counter(*base, "errors", 0));
	ASSERT_OK(fl_report_add_counter(*cur, "errors", 3));
	ASSERT_OK(fl_report_set_duration(*cur, 8000000000LL));
	ASSERT_OK(fl_report_add_check(*base, "c", FL_REPORT_FAIL, 1, 0, NULL, NULL));
	ASSERT_OK(fl_report_add_check(*cur, "c", FL_REPORT_PASS, 1, 0, NULL, NULL));
}

FL_TEST(compare_known_reports)
{
	static const char want[] =
		"base: pipeline  rev abc123  seed 42  started 2023-11-14T22:13:20.123Z  checks 0/1 passed\n"
		"new:  pipeline  rev abc123  seed 42  started 2023-11-14T22:13:20.123Z  checks 1/1 passed\n"
		"\n"
		"name                 metric      base      new   change\n"
		"-------------------  -------  -------  -------  -------\n"
		"e2e                  p50      1.00 ms  1.10 ms   +10.0%\n"
		"                     p99      5.00 ms  4.00 ms   -20.0%\n"
		"                     p99.9    9.00 ms  9.00 ms    +0.0%\n"
		"                     max      20.0 ms  40.0 ms  +100.0%\n"
		"stage.old (missing)  p50       500 ns        -  missing\n"
		"                     p99       900 ns        -  missing\n"
		"                     p99.9     990 ns        -  missing\n"
		"                     max      1.00 us        -  missing\n"
		"stage.new (new)      p50            -   500 ns      new\n"
		"                     p99            -   900 ns      new\n"
		"                     p99.9          -   990 ns      new\n"
		"                     max            -  1.00 us      new\n"
		"items                count     100000   120000   +20.0%\n"
		"errors               count          0        3      n/a\n"
		"throughput           items/s    10k/s    15k/s   +50.0%\n";
	fl_report *base, *cur;
	compare_pair(&base, &cur);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	ASSERT_NOT_NULL(m);
	ASSERT_OK(fl_report_compare(base, cur, m));
	fclose(m);
	ASSERT_STR_EQ(buf, want);
	free(buf);
	fl_report_free(base);
	fl_report_free(cur);
}

FL_TEST_MAIN(FL_CASE(compare_known_reports))
