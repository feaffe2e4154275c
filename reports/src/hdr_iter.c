/*
 * hdr_iter.c - the histogram walks (recorded, all, linear, log, percentile).
 *
 * Design. One cursor walks slots in increasing order, exactly like Java's
 * AbstractHistogramIterator: on entering a slot its count is added to the
 * running total once ("fresh"), then the walk-specific reached() test says
 * whether the current reporting level is satisfied by this slot. If so a
 * step is emitted and the level advances, and the cursor stays on the slot,
 * so one slot can satisfy several levels (several report lines). The walks
 * differ only in has_next(), reached(), the value reported and how the
 * level advances; those are the four small switch functions below.
 *
 * Invariant: running == sum of counts[0 .. index] once the slot at index is
 * no longer fresh. Termination of the percentile walk: levels strictly
 * increase (by one ulp if the reference's step is too small to count) and a
 * slot is reported at most once at level 100, so pathological totals near
 * 2^63 cannot make it loop forever (the reference would). Level arithmetic is in double exactly as in the
 * reference, so percentile levels agree bit for bit with Java.
 */
#include "hdr_internal.h"

#include <math.h>
#include <string.h>

enum { ITER_RECORDED, ITER_ALL, ITER_LINEAR, ITER_LOG, ITER_PERCENTILE };

static void iter_start(fl_hdr_iter *it, const fl_hdr *h, int kind)
{
	memset(it, 0, sizeof(*it));
	it->h_ = h;
	it->kind_ = kind;
	it->fresh_ = true;
	it->total_ = h->total_count;
	it->visited_ = -1;
}

void fl_hdr_iter_recorded_init(fl_hdr_iter *it, const fl_hdr *h)
{
	iter_start(it, h, ITER_RECORDED);
}

void fl_hdr_iter_all_init(fl_hdr_iter *it, const fl_hdr *h) { iter_start(it, h, ITER_ALL); }

void fl_hdr_iter_linear_init(fl_hdr_iter *it, const fl_hdr *h, int64_t step)
{
	iter_start(it, h, ITER_LINEAR);
	it->step_ = step < 1 ? 1 : step;
	it->level_hi_ = it->step_ - 1;
	it->level_lo_ = fl__hdr_lowest_eq(&h->lay, it->level_hi_);
}

/* (int64)x for a level kept as a double, saturating at INT64_MAX. */
static int64_t level_to_i64(double x) { return x >= 9.2e18 ? INT64_MAX : (int64_t)x; }

void fl_hdr_iter_log_init(fl_hdr_iter *it, const fl_hdr *h, int64_t first_bucket, double base)
{
	iter_start(it, h, ITER_LOG);
	it->log_base_ = base > 1.0 ? base : 2.0;
	it->log_next_ = (double)(first_bucket < 1 ? 1 : first_bucket);
	it->level_hi_ = level_to_i64(it->log_next_) - 1;
	it->level_lo_ = fl__hdr_lowest_eq(&h->lay, it->level_hi_);
}

void fl_hdr_iter_percentile_init(fl_hdr_iter *it, const fl_hdr *h, int32_t ticks)
{
	iter_start(it, h, ITER_PERCENTILE);
	it->ticks_ = ticks < 1 ? 1 : ticks;
	it->pct_level_ = 0.0;
}

static bool has_next(fl_hdr_iter *it)
{
	const struct fl__hdr_layout *l = &it->h_->lay;
	if (it->count_to_here_ < it->total_)
		return true;
	switch (it->kind_) {
	case ITER_ALL: return it->index_ < l->counts_len - 1;
	case ITER_LINEAR:
		return it->level_hi_ < INT64_MAX &&
		       it->level_hi_ + 1 < fl__hdr_next_value_at(l, it->index_);
	case ITER_LOG:
		return fl__hdr_lowest_eq(l, level_to_i64(it->log_next_)) <
		       fl__hdr_next_value_at(l, it->index_);
	case ITER_PERCENTILE:
		if (!it->final_done_ && it->total_ > 0) {
			it->pct_level_ = 100.0;
			it->final_done_ = true;
			return true;
		}
		return false;
	default: return false;
	}
}

static double running_percentile(const fl_hdr_iter *it)
{
	if (it->total_ == 0)
		return 100.0;
	return (100.0 * (double)it->count_to_here_) / (double)it->total_;
}

static bool reached(const fl_hdr_iter *it, int64_t c)
{
	const struct fl__hdr_layout *l = &it->h_->lay;
	switch (it->kind_) {
	case ITER_RECORDED: return c != 0 && it->visited_ != it->index_;
	case ITER_ALL: return it->visited_ != it->index_;
	case ITER_LINEAR:
	case ITER_LOG:
		return fl__hdr_value_at(l, it->index_) >= it->level_lo_ ||
		       it->index_ >= l->counts_len - 1;
	default:
		if (c == 0 || running_percentile(it) < it->pct_level_)
			return false;
		/* At level 100 a slot is reported once (see advance_level). */
		return it->pct_level_ < 100.0 || it->visited_ != it->index_;
	}
}

static void advance_level(fl_hdr_iter *it)
{
	const struct fl__hdr_layout *l = &it->h_->lay;
	switch (it->kind_) {
	case ITER_LINEAR:
		it->level_hi_ = it->level_hi_ > INT64_MAX - it->step_ ? INT64_MAX
								      : it->level_hi_ + it->step_;
		it->level_lo_ = fl__hdr_lowest_eq(l, it->level_hi_);
		break;
	case ITER_LOG:
		it->log_next_ *= it->log_base_;
		it->level_hi_ = level_to_i64(it->log_next_) - 1;
		it->level_lo_ = fl__hdr_lowest_eq(l, it->level_hi_);
		break;
	case ITER_PERCENTILE: {
		if (it->pct_level_ >= 100.0) {
			it->visited_ = it->index_;
			break;
		}
		int64_t e = (int64_t)(log(100.0 / (100.0 - it->pct_level_)) / log(2));
		double ticks = (double)it->ticks_ * pow(2, (double)(e + 1));
		double next = it->pct_level_ + 100.0 / ticks;
		/* With totals near 2^53 and more the step can vanish below one ulp
		 * of the level; force progress so the walk always ends. */
		it->pct_level_ = next > it->pct_level_ ? next : nextafter(it->pct_level_, INFINITY);
		break;
	}
	default: it->visited_ = it->index_; break;
	}
}

static void emit(fl_hdr_iter *it, int64_t c)
{
	const struct fl__hdr_layout *l = &it->h_->lay;
	int64_t lo = fl__hdr_value_at(l, it->index_);
	it->lowest_equivalent = lo;
	it->highest_equivalent = fl__hdr_highest_eq(l, lo);
	it->value_from = it->value;
	it->value = (it->kind_ == ITER_LINEAR || it->kind_ == ITER_LOG) ? it->level_hi_
									: it->highest_equivalent;
	it->count_here = c;
	it->count_added = it->count_to_here_ - it->prev_count_to_;
	it->prev_count_to_ = it->count_to_here_;
	it->count_to_here = it->count_to_here_;
	it->percentile = running_percentile(it);
	it->percentile_level = it->kind_ == ITER_PERCENTILE ? it->pct_level_ : it->percentile;
}

bool fl_hdr_iter_next(fl_hdr_iter *it)
{
	if (!has_next(it))
		return false;
	const fl_hdr *h = it->h_;
	while (it->index_ < h->lay.counts_len) {
		int64_t c = h->counts[it->index_];
		if (it->fresh_) {
			it->count_to_here_ = fl__hdr_sat_add(it->count_to_here_, c);
			it->fresh_ = false;
		}
		if (reached(it, c)) {
			emit(it, c);
			advance_level(it);
			return true;
		}
		it->index_++;
		it->fresh_ = true;
	}
	return false;
}
