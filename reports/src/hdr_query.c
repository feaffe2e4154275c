/*
 * hdr_query.c - read-only queries over an fl_hdr.
 *
 * Every query walks counts in slot order and never past the max slot (see
 * the invariants in hdr.c). Floating-point results are computed in the same
 * order and with the same operations as the Java reference (spec §4), so
 * the numbers printed in reports agree digit for digit.
 */
#include "hdr_internal.h"

#include <math.h>

int64_t fl_hdr_total_count(const fl_hdr *h) { return h->total_count; }
int64_t fl_hdr_out_of_range(const fl_hdr *h) { return h->out_of_range; }
int64_t fl_hdr_lowest(const fl_hdr *h) { return h->lay.lowest; }
int64_t fl_hdr_highest(const fl_hdr *h) { return h->lay.highest; }
int fl_hdr_sigfigs(const fl_hdr *h) { return h->lay.sigfigs; }
int32_t fl_hdr_unit_magnitude(const fl_hdr *h) { return h->lay.unit_magnitude; }
int32_t fl_hdr_sub_bucket_count(const fl_hdr *h) { return h->lay.sub_bucket_count; }
int32_t fl_hdr_bucket_count(const fl_hdr *h) { return h->lay.bucket_count; }
int32_t fl_hdr_counts_len(const fl_hdr *h) { return h->lay.counts_len; }
int64_t fl_hdr_start_ns(const fl_hdr *h) { return h->start_ns; }
int64_t fl_hdr_end_ns(const fl_hdr *h) { return h->end_ns; }
void fl_hdr_set_start_ns(fl_hdr *h, int64_t start_ns) { h->start_ns = start_ns; }
void fl_hdr_set_end_ns(fl_hdr *h, int64_t end_ns) { h->end_ns = end_ns; }

int64_t fl_hdr_largest_recordable(const fl_hdr *h)
{
	return fl__hdr_highest_eq(&h->lay, fl__hdr_value_at(&h->lay, h->lay.counts_len - 1));
}

int64_t fl_hdr_count_at_index(const fl_hdr *h, int32_t index)
{
	return index >= 0 && index < h->lay.counts_len ? h->counts[index] : 0;
}

int64_t fl_hdr_value_at_index(const fl_hdr *h, int32_t index)
{
	if (index < 0)
		index = 0;
	if (index >= h->lay.counts_len)
		index = h->lay.counts_len - 1;
	return fl__hdr_value_at(&h->lay, index);
}

static int64_t clamp_value(int64_t v) { return v < 0 ? 0 : v; }

int64_t fl_hdr_index_of(const fl_hdr *h, int64_t value)
{
	return fl__hdr_index(&h->lay, clamp_value(value));
}

/* Slot of value, clamped into the array. */
static int64_t clamped_index(const fl_hdr *h, int64_t value)
{
	int64_t i = fl__hdr_index(&h->lay, clamp_value(value));
	return i < h->lay.counts_len ? i : h->lay.counts_len - 1;
}

/* ------------------------------------------------------------------------
 * Equivalence ranges
 */

int64_t fl_hdr_lowest_equivalent(const fl_hdr *h, int64_t v)
{
	return fl__hdr_lowest_eq(&h->lay, clamp_value(v));
}

int64_t fl_hdr_highest_equivalent(const fl_hdr *h, int64_t v)
{
	return fl__hdr_highest_eq(&h->lay, clamp_value(v));
}

int64_t fl_hdr_median_equivalent(const fl_hdr *h, int64_t v)
{
	return fl__hdr_median_eq(&h->lay, clamp_value(v));
}

int64_t fl_hdr_size_of_equivalent_range(const fl_hdr *h, int64_t v)
{
	return fl__hdr_range_size(&h->lay, clamp_value(v));
}

int64_t fl_hdr_next_non_equivalent(const fl_hdr *h, int64_t v)
{
	int64_t hi = fl__hdr_highest_eq(&h->lay, clamp_value(v));
	return hi == INT64_MAX ? INT64_MAX : hi + 1;
}

bool fl_hdr_values_are_equivalent(const fl_hdr *h, int64_t a, int64_t b)
{
	return fl_hdr_lowest_equivalent(h, a) == fl_hdr_lowest_equivalent(h, b);
}

/* ------------------------------------------------------------------------
 * Statistics
 */

int64_t fl_hdr_max(const fl_hdr *h)
{
	return h->max_value == 0 ? 0 : fl__hdr_highest_eq(&h->lay, h->max_value);
}

int64_t fl_hdr_min_nonzero(const fl_hdr *h)
{
	return h->min_non_zero == INT64_MAX ? INT64_MAX
					    : fl__hdr_lowest_eq(&h->lay, h->min_non_zero);
}

int64_t fl_hdr_min(const fl_hdr *h)
{
	if (h->counts[0] > 0 || h->total_count == 0)
		return 0;
	return fl_hdr_min_nonzero(h);
}

/* Median equivalent of slot i as a double. */
static double slot_median(const fl_hdr *h, int64_t i)
{
	return (double)fl__hdr_median_eq(&h->lay, fl__hdr_value_at(&h->lay, i));
}

double fl_hdr_mean(const fl_hdr *h)
{
	if (h->total_count == 0)
		return 0.0;
	int64_t last = fl__hdr_max_index(h);
	double sum = 0.0;
	for (int64_t i = 0; i <= last; i++)
		if (h->counts[i] != 0)
			sum += slot_median(h, i) * (double)h->counts[i];
	return sum / (double)h->total_count;
}

double fl_hdr_stddev(const fl_hdr *h)
{
	if (h->total_count == 0)
		return 0.0;
	double mean = fl_hdr_mean(h), sum = 0.0;
	int64_t last = fl__hdr_max_index(h);
	for (int64_t i = 0; i <= last; i++) {
		if (h->counts[i] == 0)
			continue;
		double d = slot_median(h, i) - mean;
		sum += (d * d) * (double)h->counts[i];
	}
	return sqrt(sum / (double)h->total_count);
}

/* The cumulative count a percentile must reach (spec §4.1, Java's rule). */
static int64_t percentile_target(const fl_hdr *h, double p)
{
	double q = nextafter(p, -INFINITY);
	q = q < 0.0 ? 0.0 : q > 100.0 ? 100.0 : q;
	double t = ceil(q * (double)h->total_count / 100.0);
	int64_t target = t >= 9.2e18 ? INT64_MAX : (int64_t)t; /* no UB cast */
	return target < 1 ? 1 : target;
}

int64_t fl_hdr_value_at_percentile(const fl_hdr *h, double p)
{
	if (h->total_count == 0 || isnan(p))
		return 0;
	int64_t target = percentile_target(h, p), running = 0;
	int64_t last = fl__hdr_max_index(h);
	for (int64_t i = 0; i <= last; i++) {
		running = fl__hdr_sat_add(running, h->counts[i]);
		if (running >= target) {
			int64_t v = fl__hdr_value_at(&h->lay, i);
			return p == 0.0 ? fl__hdr_lowest_eq(&h->lay, v)
					: fl__hdr_highest_eq(&h->lay, v);
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Counting
 */

static int64_t sum_slots(const fl_hdr *h, int64_t from, int64_t to)
{
	int64_t last = fl__hdr_max_index(h), sum = 0;
	if (to > last)
		to = last;
	for (int64_t i = from; i <= to; i++)
		sum = fl__hdr_sat_add(sum, h->counts[i]);
	return sum;
}

int64_t fl_hdr_count_at_value(const fl_hdr *h, int64_t value)
{
	return h->counts[clamped_index(h, value)];
}

int64_t fl_hdr_count_at_or_below(const fl_hdr *h, int64_t value)
{
	return sum_slots(h, 0, clamped_index(h, value));
}

int64_t fl_hdr_count_below(const fl_hdr *h, int64_t value)
{
	int64_t i = fl__hdr_index(&h->lay, clamp_value(value));
	return sum_slots(h, 0, i - 1);
}

int64_t fl_hdr_count_between(const fl_hdr *h, int64_t lo, int64_t hi)
{
	return sum_slots(h, clamped_index(h, lo), clamped_index(h, hi));
}

double fl_hdr_percentile_at_or_below(const fl_hdr *h, int64_t value)
{
	if (h->total_count == 0)
		return 100.0;
	return 100.0 * (double)fl_hdr_count_at_or_below(h, value) / (double)h->total_count;
}
