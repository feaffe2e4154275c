/*
 * hdr.c - the HDR histogram core: layout, recording, merging, queries.
 *
 * Design. A histogram is one block: struct fl_hdr followed by counts_len
 * int64 slots in logical order (slot i holds the values equivalent to
 * fl__hdr_value_at(i)). Bucket 0 holds sub_bucket_count slots at the unit
 * resolution; every further bucket doubles the resolution and stores only
 * its upper half. Mapping a value to its slot is one count-leading-zeros,
 * two shifts and an add (hdr_internal.h), so recording never divides.
 *
 * Invariants:
 *   - total_count == sum of counts; every count and sum saturates at
 *     INT64_MAX instead of overflowing (fl__hdr_sat_add).
 *   - max_value is the raw tracked maximum (v | unit_mask); every slot
 *     above fl__hdr_index(max_value) is zero, which lets reset, add and the
 *     encoder stop early instead of walking the whole array.
 *   - min_non_zero is the raw lowest recorded value outside slot 0, or
 *     INT64_MAX.
 * The project deviates from the Java reference in one place on purpose:
 * values above highest_trackable are rejected (and counted) even when the
 * array could hold them, so a report never silently widens its range.
 */
#include "hdr_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include "fl_alloc_internal.h"

static int64_t pow10_i64(int n)
{
	int64_t r = 1;
	while (n-- > 0)
		r *= 10;
	return r;
}

static int32_t count_buckets(const struct fl__hdr_layout *l)
{
	int64_t limit = (int64_t)l->sub_bucket_count << l->unit_magnitude;
	int32_t buckets = 1;
	while (limit <= l->highest) {
		if (limit > INT64_MAX / 2) {
			buckets++;
			break;
		}
		limit <<= 1;
		buckets++;
	}
	return buckets;
}

static fl_err *check_config(int64_t lowest, int64_t highest, int sigfigs)
{
	if (lowest < 1)
		return fl_err_wrap(FL_ERR_INVAL, "hdr: lowest discernible value %lld < 1",
				   (long long)lowest);
	if (sigfigs < 1 || sigfigs > 5)
		return fl_err_wrap(FL_ERR_INVAL, "hdr: significant figures %d not in 1..5",
				   sigfigs);
	if (lowest > INT64_MAX / 2 || highest < 2 * lowest)
		return fl_err_wrap(FL_ERR_INVAL,
				   "hdr: highest trackable value %lld < 2 * lowest %lld",
				   (long long)highest, (long long)lowest);
	return NULL;
}

fl_err *fl__hdr_layout_init(struct fl__hdr_layout *l, int64_t lowest, int64_t highest, int sigfigs)
{
	fl_err *err = check_config(lowest, highest, sigfigs);
	if (err)
		return err;
	/* The reference computes these in floating point; so do we, so that
	 * enormous L round exactly as Java's do (spec §1.1). */
	double single_unit = (double)(2 * pow10_i64(sigfigs));
	int32_t count_mag = (int32_t)ceil(log(single_unit) / log(2));
	int32_t half_mag = (count_mag > 1 ? count_mag : 1) - 1;
	int32_t unit_mag = (int32_t)(log((double)lowest) / log(2));
	if (unit_mag + count_mag > 62)
		return fl_err_wrap(
			FL_ERR_INVAL,
			"hdr: lowest %lld with %d significant figures needs more than 63 bits",
			(long long)lowest, sigfigs);
	*l = (struct fl__hdr_layout){
		.lowest = lowest,
		.highest = highest,
		.sigfigs = sigfigs,
		.unit_magnitude = unit_mag,
		.half_magnitude = half_mag,
		.bucket_base = 64 - unit_mag - (half_mag + 1),
		.sub_bucket_count = (int32_t)1 << (half_mag + 1),
		.sub_bucket_half_count = (int32_t)1 << half_mag,
		.unit_mask = ((int64_t)1 << unit_mag) - 1,
	};
	l->sub_bucket_mask = (int64_t)(l->sub_bucket_count - 1) << unit_mag;
	l->bucket_count = count_buckets(l);
	l->counts_len = (l->bucket_count + 1) * l->sub_bucket_half_count;
	return NULL;
}

size_t fl__hdr_struct_size(void) { return (sizeof(struct fl_hdr) + 15) & ~(size_t)15; }

void fl__hdr_clear_tracking(fl_hdr *h)
{
	h->total_count = 0;
	h->max_value = 0;
	h->min_non_zero = INT64_MAX;
	h->out_of_range = 0;
	h->start_ns = 0;
	h->end_ns = 0;
}

/* Lays a zeroed histogram over mem (which holds at least the full size). */
static fl_hdr *place(void *mem, const struct fl__hdr_layout *l, bool owned)
{
	fl_hdr *h = mem;
	memset(h, 0, sizeof(*h));
	h->lay = *l;
	h->owned = owned;
	h->counts = (int64_t *)(void *)((char *)mem + fl__hdr_struct_size());
	fl__hdr_clear_tracking(h);
	return h;
}

size_t fl_hdr_memory_size(int64_t lowest, int64_t highest, int sigfigs)
{
	struct fl__hdr_layout l;
	fl_err *err = fl__hdr_layout_init(&l, lowest, highest, sigfigs);
	if (err) {
		fl_err_drop(err);
		return 0;
	}
	return fl__hdr_struct_size() + (size_t)l.counts_len * sizeof(int64_t);
}

fl_err *fl_hdr_new(int64_t lowest, int64_t highest, int sigfigs, fl_hdr **out)
{
	struct fl__hdr_layout l;
	fl_err *err = fl__hdr_layout_init(&l, lowest, highest, sigfigs);
	if (err)
		return err;
	/* calloc: large arrays come back as untouched zero pages. */
	void *mem = fl__calloc(1, fl__hdr_struct_size() + (size_t)l.counts_len * sizeof(int64_t));
	if (!mem)
		return FL_ERR_NOMEM;
	*out = place(mem, &l, true);
	return NULL;
}

fl_err *fl_hdr_init(void *mem, size_t size, int64_t lowest, int64_t highest, int sigfigs,
		    fl_hdr **out)
{
	struct fl__hdr_layout l;
	fl_err *err = fl__hdr_layout_init(&l, lowest, highest, sigfigs);
	if (err)
		return err;
	size_t need = fl__hdr_struct_size() + (size_t)l.counts_len * sizeof(int64_t);
	if (!mem || ((uintptr_t)mem & 7) != 0)
		return fl_err_wrap(FL_ERR_INVAL, "hdr: init memory is not 8-byte aligned");
	if (size < need)
		return fl_err_wrap(FL_ERR_INVAL, "hdr: init memory holds %zu bytes, needs %zu",
				   size, need);
	memset(mem, 0, need);
	*out = place(mem, &l, false);
	return NULL;
}

void fl_hdr_free(fl_hdr *h)
{
	if (!h)
		return;
	FL_ASSERT(h->owned && "fl_hdr_free on a histogram made by fl_hdr_init");
	free(h);
}

void fl_hdr_destroy(fl_hdr *h)
{
	if (h)
		FL_ASSERT(!h->owned && "fl_hdr_destroy on an allocated histogram");
}

fl_err *fl_hdr_clone(const fl_hdr *src, fl_hdr **out)
{
	fl_hdr *h;
	fl_err *err = fl_hdr_new(src->lay.lowest, src->lay.highest, src->lay.sigfigs, &h);
	if (err)
		return err;
	int64_t *counts = h->counts;
	*h = *src;
	h->owned = true;
	h->counts = counts;
	memcpy(counts, src->counts, (size_t)(fl__hdr_max_index(src) + 1) * sizeof(int64_t));
	*out = h;
	return NULL;
}

void fl_hdr_reset(fl_hdr *h)
{
	/* Slots above the max slot are zero already (file invariant). */
	memset(h->counts, 0, (size_t)(fl__hdr_max_index(h) + 1) * sizeof(int64_t));
	fl__hdr_clear_tracking(h);
}

/* ------------------------------------------------------------------------
 * Recording
 */

bool fl_hdr_record_n(fl_hdr *h, int64_t value, int64_t count)
{
	/* One unsigned compare rejects negative values and values above H. */
	if (FL__HDR_UNLIKELY((uint64_t)value > (uint64_t)h->lay.highest || count < 0)) {
		if (count > 0)
			h->out_of_range = fl__hdr_sat_add(h->out_of_range, count);
		return false;
	}
	fl__hdr_add_at(h, fl__hdr_index(&h->lay, value), value, count);
	return true;
}

bool fl_hdr_record(fl_hdr *h, int64_t value) { return fl_hdr_record_n(h, value, 1); }

bool fl_hdr_record_corrected_n(fl_hdr *h, int64_t value, int64_t count, int64_t interval)
{
	if (!fl_hdr_record_n(h, value, count))
		return false;
	if (interval <= 0 || value <= interval)
		return true;
	for (int64_t m = value - interval; m >= interval; m -= interval)
		fl_hdr_record_n(h, m, count);
	return true;
}

bool fl_hdr_record_corrected(fl_hdr *h, int64_t value, int64_t interval)
{
	return fl_hdr_record_corrected_n(h, value, 1, interval);
}

/* ------------------------------------------------------------------------
 * Combining
 */

static bool same_layout(const fl_hdr *a, const fl_hdr *b)
{
	return a->lay.unit_magnitude == b->lay.unit_magnitude &&
	       a->lay.sub_bucket_count == b->lay.sub_bucket_count &&
	       a->lay.bucket_count == b->lay.bucket_count;
}

/* Slot-by-slot add; slots whose value is above dst's H are dropped. */
static int64_t add_same_layout(fl_hdr *dst, const fl_hdr *src)
{
	int64_t last = fl__hdr_max_index(src);
	int64_t limit = fl__hdr_index(&dst->lay, dst->lay.highest);
	int64_t dropped = 0, first_nz = -1, last_nz = -1;
	for (int64_t i = 0; i <= last; i++) {
		int64_t c = src->counts[i];
		if (c == 0)
			continue;
		if (i > limit) {
			dropped = fl__hdr_sat_add(dropped, c);
			continue;
		}
		dst->counts[i] = fl__hdr_sat_add(dst->counts[i], c);
		dst->total_count = fl__hdr_sat_add(dst->total_count, c);
		if (first_nz < 0 && i > 0)
			first_nz = i;
		last_nz = i;
	}
	if (first_nz > 0)
		fl__hdr_track(dst, fl__hdr_value_at(&dst->lay, first_nz));
	if (last_nz >= 0)
		fl__hdr_track(dst,
			      fl__hdr_highest_eq(&dst->lay, fl__hdr_value_at(&dst->lay, last_nz)));
	return dropped;
}

/* Re-records each slot's lowest value at dst's resolution. */
static int64_t add_other_layout(fl_hdr *dst, const fl_hdr *src)
{
	int64_t last = fl__hdr_max_index(src), dropped = 0;
	for (int64_t i = 0; i <= last; i++) {
		int64_t c = src->counts[i];
		if (c == 0)
			continue;
		int64_t v = fl__hdr_value_at(&src->lay, i);
		if (v > dst->lay.highest) {
			dropped = fl__hdr_sat_add(dropped, c);
			continue;
		}
		fl__hdr_add_at(dst, fl__hdr_index(&dst->lay, v), v, c);
	}
	return dropped;
}

static void merge_times(fl_hdr *dst, const fl_hdr *src)
{
	if (src->start_ns != 0 && (dst->start_ns == 0 || src->start_ns < dst->start_ns))
		dst->start_ns = src->start_ns;
	if (src->end_ns > dst->end_ns)
		dst->end_ns = src->end_ns;
}

int64_t fl_hdr_add(fl_hdr *dst, const fl_hdr *src)
{
	int64_t dropped =
		same_layout(dst, src) ? add_same_layout(dst, src) : add_other_layout(dst, src);
	dst->out_of_range =
		fl__hdr_sat_add(fl__hdr_sat_add(dst->out_of_range, dropped), src->out_of_range);
	merge_times(dst, src);
	return dropped;
}

int64_t fl_hdr_add_corrected(fl_hdr *dst, const fl_hdr *src, int64_t interval)
{
	int64_t last = fl__hdr_max_index(src), dropped = 0;
	for (int64_t i = 0; i <= last; i++) {
		int64_t c = src->counts[i];
		if (c == 0)
			continue;
		int64_t v = fl__hdr_highest_eq(&src->lay, fl__hdr_value_at(&src->lay, i));
		if (!fl_hdr_record_corrected_n(dst, v, c, interval))
			dropped = fl__hdr_sat_add(dropped, c);
	}
	dst->out_of_range = fl__hdr_sat_add(dst->out_of_range, src->out_of_range);
	merge_times(dst, src);
	return dropped;
}
