/*
 * fl_test_hdr.h - histogram equality for tests that link fl_reports.
 *
 * Two histograms are the same when every count slot matches, and with
 * them the total, the out-of-range count, min and max. Fails the test
 * naming what was compared and the first slot that differs.
 */
#ifndef FL_TEST_HDR_H
#define FL_TEST_HDR_H

#include <fl/hdr.h>

#include "fl_test.h"

static inline void fl_test_assert_same_hdr(const char *what, const fl_hdr *a, const fl_hdr *b)
{
	ASSERT(a && b);
	if (fl_hdr_counts_len(a) != fl_hdr_counts_len(b))
		FL_FAIL("%s: %d vs %d count slots", what, fl_hdr_counts_len(a),
			fl_hdr_counts_len(b));
	for (int32_t i = 0; i < fl_hdr_counts_len(a); i++)
		if (fl_hdr_count_at_index(a, i) != fl_hdr_count_at_index(b, i))
			FL_FAIL("%s: slot %d: %lld vs %lld (n %lld vs %lld, max %lld vs %lld)",
				what, i, (long long)fl_hdr_count_at_index(a, i),
				(long long)fl_hdr_count_at_index(b, i),
				(long long)fl_hdr_total_count(a), (long long)fl_hdr_total_count(b),
				(long long)fl_hdr_max(a), (long long)fl_hdr_max(b));
	ASSERT_EQ(fl_hdr_total_count(a), fl_hdr_total_count(b));
	ASSERT_EQ(fl_hdr_out_of_range(a), fl_hdr_out_of_range(b));
	ASSERT_EQ(fl_hdr_min(a), fl_hdr_min(b));
	ASSERT_EQ(fl_hdr_max(a), fl_hdr_max(b));
}

#endif
