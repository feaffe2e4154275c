/*
 * hdr_internal.h - the fl_hdr layout, shared by the hdr*.c files.
 *
 * The layout maths of HdrHistogram (spec §1-§2) as inline functions over a
 * small struct, so the histogram, the recorder's atomic histograms and the
 * decoders compute slots identically. Nothing here allocates.
 */
#ifndef FL_HDR_INTERNAL_H
#define FL_HDR_INTERNAL_H

#include <fl/hdr.h>

#include <stdlib.h>

#define FL__HDR_LIKELY(x) __builtin_expect(!!(x), 1)
#define FL__HDR_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* FL_ASSERT: the always-on assert for misuse (STYLE: misuse aborts, it is
 * never returned), shared by every library (fl_internal). */
#include "fl_assert_internal.h"

/* Derived layout of one configuration. Immutable after fl__hdr_layout_init. */
struct fl__hdr_layout {
	int64_t lowest;          /* L, lowest discernible value */
	int64_t highest;         /* H, highest trackable value */
	int64_t sub_bucket_mask; /* (sub_bucket_count - 1) << unit_magnitude */
	int64_t unit_mask;       /* (1 << unit_magnitude) - 1 */
	int32_t sigfigs;         /* S */
	int32_t unit_magnitude;  /* floor(log2(L)), the reference's way */
	int32_t half_magnitude;  /* log2(sub_bucket_half_count) */
	int32_t bucket_base;     /* 64 - unit_magnitude - (half_magnitude + 1) */
	int32_t sub_bucket_count;
	int32_t sub_bucket_half_count;
	int32_t bucket_count;
	int32_t counts_len;
};

/*
 * The histogram. Single-threaded: whoever owns it may touch every field.
 * counts points just past the struct (one allocation) for _new and _init.
 */
struct fl_hdr {
	struct fl__hdr_layout lay; /* configuration, immutable */
	int64_t total_count;       /* sum of counts */
	int64_t max_value;         /* raw max: v | unit_mask; 0 when none */
	int64_t min_non_zero;      /* raw: v & ~unit_mask; INT64_MAX when none */
	int64_t out_of_range;      /* rejected recordings (counts) */
	int64_t start_ns;          /* interval start, 0 = unset */
	int64_t end_ns;            /* interval end, 0 = unset */
	bool owned;                /* made by _new (fl_hdr_free allowed) */
	int64_t *counts;           /* counts_len slots, logical order */
};

/* Validates a configuration and computes its layout.
 * Errors: FL_ERR_INVAL wrapped with the reason. */
FL_MUST_CHECK fl_err *fl__hdr_layout_init(struct fl__hdr_layout *lay, int64_t lowest,
					  int64_t highest, int sigfigs);

/* Bytes of struct fl_hdr plus its counts, rounded for alignment. */
size_t fl__hdr_struct_size(void);

/* Resets tracking to "empty" without touching counts. */
void fl__hdr_clear_tracking(fl_hdr *h);

/* Folds one recorded value into min/max tracking. */
static inline void fl__hdr_track(fl_hdr *h, int64_t v)
{
	int64_t hi = v | h->lay.unit_mask;
	if (hi > h->max_value)
		h->max_value = hi;
	if (v > h->lay.unit_mask) {
		int64_t lo = v & ~h->lay.unit_mask;
		if (lo < h->min_non_zero)
			h->min_non_zero = lo;
	}
}

/* Bucket of v >= 0 (spec §2): no division, one count-leading-zeros. */
static inline int32_t fl__hdr_bucket(const struct fl__hdr_layout *l, int64_t v)
{
	return l->bucket_base - __builtin_clzll((uint64_t)v | (uint64_t)l->sub_bucket_mask);
}

/* Slot of v >= 0; may be >= counts_len for values past the array. */
static inline int64_t fl__hdr_index(const struct fl__hdr_layout *l, int64_t v)
{
	int32_t b = fl__hdr_bucket(l, v);
	int64_t s = v >> (b + l->unit_magnitude);
	return ((int64_t)(b + 1) << l->half_magnitude) + (s - l->sub_bucket_half_count);
}

/* Lowest value of slot i (0 <= i < counts_len). */
static inline int64_t fl__hdr_value_at(const struct fl__hdr_layout *l, int64_t i)
{
	int64_t b = (i >> l->half_magnitude) - 1;
	int64_t s = (i & (l->sub_bucket_half_count - 1)) + l->sub_bucket_half_count;
	if (b < 0) {
		s -= l->sub_bucket_half_count;
		b = 0;
	}
	return (int64_t)((uint64_t)s << (b + l->unit_magnitude));
}

static inline int64_t fl__hdr_lowest_eq(const struct fl__hdr_layout *l, int64_t v)
{
	int32_t b = fl__hdr_bucket(l, v);
	int32_t shift = b + l->unit_magnitude;
	return (v >> shift) << shift;
}

static inline int64_t fl__hdr_range_size(const struct fl__hdr_layout *l, int64_t v)
{
	return (int64_t)1 << (l->unit_magnitude + fl__hdr_bucket(l, v));
}

/* Highest equivalent value; never overflows for values in the array. */
static inline int64_t fl__hdr_highest_eq(const struct fl__hdr_layout *l, int64_t v)
{
	return fl__hdr_lowest_eq(l, v) + (fl__hdr_range_size(l, v) - 1);
}

static inline int64_t fl__hdr_median_eq(const struct fl__hdr_layout *l, int64_t v)
{
	return fl__hdr_lowest_eq(l, v) + (fl__hdr_range_size(l, v) >> 1);
}

/* Lowest value of slot i + 1, saturating at INT64_MAX past the array. */
static inline int64_t fl__hdr_next_value_at(const struct fl__hdr_layout *l, int64_t i)
{
	if (i + 1 < l->counts_len)
		return fl__hdr_value_at(l, i + 1);
	int64_t hi = fl__hdr_highest_eq(l, fl__hdr_value_at(l, i));
	return hi == INT64_MAX ? INT64_MAX : hi + 1;
}

/* a + b for b >= 0, saturating at INT64_MAX: counts and sums never
 * overflow into undefined behaviour, whatever a caller or a decoded file
 * throws at them (the branch is never taken in practice). */
static inline int64_t fl__hdr_sat_add(int64_t a, int64_t b)
{
	int64_t r;
	return FL__HDR_UNLIKELY(__builtin_add_overflow(a, b, &r)) ? INT64_MAX : r;
}

/* Adds n to slot i and the total, and tracks v (the caller checked range). */
static inline void fl__hdr_add_at(fl_hdr *h, int64_t i, int64_t v, int64_t n)
{
	h->counts[i] = fl__hdr_sat_add(h->counts[i], n);
	h->total_count = fl__hdr_sat_add(h->total_count, n);
	fl__hdr_track(h, v);
}

/* Index of the last slot that can be non-zero (from the raw max). */
static inline int64_t fl__hdr_max_index(const fl_hdr *h)
{
	int64_t i = fl__hdr_index(&h->lay, h->max_value);
	return i < h->lay.counts_len ? i : h->lay.counts_len - 1;
}

#endif
