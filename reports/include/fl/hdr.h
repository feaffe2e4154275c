/*
 * fl/hdr.h - HDR histograms: recording, queries, iterators and recorders.
 *
 * An fl_hdr counts int64_t values (by convention nanoseconds) in slots whose
 * width grows with the value, so that every value in
 * [lowest_discernible, highest_trackable] is kept to `sigfigs` significant
 * decimal digits. The layout, the percentile rule and every number printed
 * or serialized follow Gil Tene's HdrHistogram (the Java library is the
 * normative one); see fl/hdr_log.h for the encodings and text formats.
 *
 * Conventions:
 *   - Values are >= 0. A value below 0 or above highest_trackable is never
 *     clamped: recording it returns false and adds to the out-of-range count
 *     (fl_hdr_out_of_range), which reports show.
 *   - "Equivalent" values share a slot; queries answer at slot granularity.
 *   - A plain fl_hdr is not thread-safe: one thread at a time may call any
 *     function on it, and readers (const functions) may run concurrently
 *     only with other readers. For concurrent recording use fl_hdr_recorder.
 */
#ifndef FL_HDR_H
#define FL_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <fl/err.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fl_hdr fl_hdr;

/* ------------------------------------------------------------------------
 * Lifecycle
 */

/*
 * Creates an empty histogram for values in [lowest_discernible,
 * highest_trackable] kept to sigfigs significant digits.
 * Returns NULL and sets *out on success.
 * Errors: FL_ERR_INVAL (wrapped with the reason) when lowest_discernible < 1,
 *   highest_trackable < 2 * lowest_discernible, sigfigs outside 1..5 or the
 *   layout would need more than 63 bits; FL_ERR_NOMEM. Nothing is allocated
 *   on failure.
 * Ownership: the caller frees the histogram with fl_hdr_free.
 */
FL_MUST_CHECK fl_err *fl_hdr_new(int64_t lowest_discernible, int64_t highest_trackable, int sigfigs,
				 fl_hdr **out);

/* Frees a histogram made by fl_hdr_new, fl_hdr_clone or a decoder.
 * Accepts NULL. Aborts if h was made by fl_hdr_init. */
void fl_hdr_free(fl_hdr *h);

/*
 * Returns the number of bytes fl_hdr_init needs for this configuration, or
 * 0 if the configuration is invalid (see fl_hdr_new).
 */
size_t fl_hdr_memory_size(int64_t lowest_discernible, int64_t highest_trackable, int sigfigs);

/*
 * Creates an empty histogram inside caller memory, without allocating.
 * mem must be aligned to 8 bytes and hold fl_hdr_memory_size(...) bytes;
 * it is zeroed here.
 * Returns NULL and sets *out (which points into mem) on success.
 * Errors: FL_ERR_INVAL for an invalid configuration, a misaligned mem or a
 *   size that is too small.
 * Ownership: mem stays the caller's; release with fl_hdr_destroy, then reuse
 *   or free mem.
 */
FL_MUST_CHECK fl_err *fl_hdr_init(void *mem, size_t size, int64_t lowest_discernible,
				  int64_t highest_trackable, int sigfigs, fl_hdr **out);

/* Ends the life of a histogram made by fl_hdr_init. Accepts NULL. It owns
 * nothing, so this only marks the end of use. */
void fl_hdr_destroy(fl_hdr *h);

/*
 * Makes an independent copy of src (configuration, counts, tracking,
 * timestamps, out-of-range count).
 * Errors: FL_ERR_NOMEM. Ownership: free the copy with fl_hdr_free.
 */
FL_MUST_CHECK fl_err *fl_hdr_clone(const fl_hdr *src, fl_hdr **out);

/* Zeroes every count, the min/max tracking, the out-of-range count and the
 * timestamps. The configuration is kept. */
void fl_hdr_reset(fl_hdr *h);

/* ------------------------------------------------------------------------
 * Recording. Not thread-safe (see the file comment); cost: a few ns, no
 * division, no allocation.
 */

/* Records one occurrence of value. Returns false (and counts it as out of
 * range) if value < 0 or value > highest_trackable. */
bool fl_hdr_record(fl_hdr *h, int64_t value);

/* Records count occurrences of value. Returns false if value is out of
 * range (count is added to the out-of-range count) or if count < 0 (nothing
 * is counted). A count of 0 updates min/max like Java does. */
bool fl_hdr_record_n(fl_hdr *h, int64_t value, int64_t count);

/*
 * Records value, then corrects for coordinated omission: when value exceeds
 * expected_interval (> 0), also records value - k * expected_interval for
 * k = 1, 2, ... while that stays >= expected_interval. Returns false if the
 * first recording was rejected (nothing else is recorded then).
 */
bool fl_hdr_record_corrected(fl_hdr *h, int64_t value, int64_t expected_interval);

/* fl_hdr_record_corrected with count occurrences per recorded value. */
bool fl_hdr_record_corrected_n(fl_hdr *h, int64_t value, int64_t count, int64_t expected_interval);

/* ------------------------------------------------------------------------
 * Combining
 */

/*
 * Adds every count of src to dst. Configurations may differ: then each
 * non-empty slot of src is re-recorded at its lowest value at dst's
 * resolution. Counts whose slot value exceeds dst's highest_trackable are
 * dropped. src's out-of-range count and the dropped counts are added to
 * dst's out-of-range count. Timestamps merge as start = earliest set start,
 * end = latest end.
 * Returns the number of counts dropped (0 when everything fit).
 */
int64_t fl_hdr_add(fl_hdr *dst, const fl_hdr *src);

/*
 * Adds src to dst while correcting for coordinated omission: every
 * non-empty slot of src is recorded into dst with
 * fl_hdr_record_corrected_n at the slot's highest equivalent value (Java).
 * Returns the number of counts dropped as out of range.
 */
int64_t fl_hdr_add_corrected(fl_hdr *dst, const fl_hdr *src, int64_t expected_interval);

/* ------------------------------------------------------------------------
 * Queries (const; see the file comment for thread safety)
 */

/* Sum of all counts (not including out-of-range recordings). */
int64_t fl_hdr_total_count(const fl_hdr *h);
/* Number of recordings rejected as out of range (summed counts). */
int64_t fl_hdr_out_of_range(const fl_hdr *h);
/* Lowest recorded value at slot granularity; 0 when empty or when anything
 * fell into slot 0 (Java's getMinValue). */
int64_t fl_hdr_min(const fl_hdr *h);
/* Lowest value above slot 0, or INT64_MAX when there is none. */
int64_t fl_hdr_min_nonzero(const fl_hdr *h);
/* Highest recorded value: the highest equivalent of its slot; 0 if empty. */
int64_t fl_hdr_max(const fl_hdr *h);
/* Mean and population standard deviation, each sample counted at its slot's
 * median equivalent value; 0.0 for an empty histogram. */
double fl_hdr_mean(const fl_hdr *h);
double fl_hdr_stddev(const fl_hdr *h);

/*
 * Returns the value at percentile (0..100; clamped) by Java's rule: the
 * highest equivalent value of the first slot whose cumulative count reaches
 * ceil(p * total / 100) after a one-ulp nudge down; the lowest equivalent of
 * the first non-empty slot for p == 0; 0 when empty.
 */
int64_t fl_hdr_value_at_percentile(const fl_hdr *h, double percentile);

/* Count in value's slot (values past the array read the last slot). */
int64_t fl_hdr_count_at_value(const fl_hdr *h, int64_t value);
/* Sum of the counts of every slot up to and including value's slot. */
int64_t fl_hdr_count_at_or_below(const fl_hdr *h, int64_t value);
/* Sum of the counts of the slots strictly below value's slot: "below" is
 * exact only to the equivalence range of value (useful for SLO checks). */
int64_t fl_hdr_count_below(const fl_hdr *h, int64_t value);
/* Sum of the counts of slots from lo's slot to hi's slot, both inclusive. */
int64_t fl_hdr_count_between(const fl_hdr *h, int64_t lo, int64_t hi);
/* 100 * count_at_or_below(value) / total; 100.0 when empty. */
double fl_hdr_percentile_at_or_below(const fl_hdr *h, int64_t value);

/* Equivalence ranges: all values in one slot are equivalent. value >= 0
 * (negative values are treated as 0). next_non_equivalent saturates at
 * INT64_MAX. */
int64_t fl_hdr_lowest_equivalent(const fl_hdr *h, int64_t value);
int64_t fl_hdr_highest_equivalent(const fl_hdr *h, int64_t value);
int64_t fl_hdr_median_equivalent(const fl_hdr *h, int64_t value);
int64_t fl_hdr_next_non_equivalent(const fl_hdr *h, int64_t value);
int64_t fl_hdr_size_of_equivalent_range(const fl_hdr *h, int64_t value);
bool fl_hdr_values_are_equivalent(const fl_hdr *h, int64_t a, int64_t b);

/* Configuration and layout. */
int64_t fl_hdr_lowest(const fl_hdr *h);  /* lowest_discernible */
int64_t fl_hdr_highest(const fl_hdr *h); /* highest_trackable */
int fl_hdr_sigfigs(const fl_hdr *h);
int32_t fl_hdr_unit_magnitude(const fl_hdr *h);
int32_t fl_hdr_sub_bucket_count(const fl_hdr *h);
int32_t fl_hdr_bucket_count(const fl_hdr *h);
/* Number of slots; slots are indexed 0 .. counts_len - 1. */
int32_t fl_hdr_counts_len(const fl_hdr *h);
/* Highest equivalent value of the last slot (usually above highest). */
int64_t fl_hdr_largest_recordable(const fl_hdr *h);
/* Count of slot index (0 if index is outside the array). */
int64_t fl_hdr_count_at_index(const fl_hdr *h, int32_t index);
/* Lowest value of slot index (index in 0 .. counts_len - 1). */
int64_t fl_hdr_value_at_index(const fl_hdr *h, int32_t index);
/* Slot of value (may be >= counts_len for values past the array). */
int64_t fl_hdr_index_of(const fl_hdr *h, int64_t value);

/*
 * Interval timestamps, in nanoseconds since the Unix epoch (wall clock);
 * 0 means "not set". The recorder sets them on interval histograms, the
 * .hlog reader on decoded intervals, and the .hlog writer reads them.
 * Setters are not thread-safe.
 */
int64_t fl_hdr_start_ns(const fl_hdr *h);
int64_t fl_hdr_end_ns(const fl_hdr *h);
void fl_hdr_set_start_ns(fl_hdr *h, int64_t start_ns);
void fl_hdr_set_end_ns(fl_hdr *h, int64_t end_ns);

/* ------------------------------------------------------------------------
 * Iterators. One struct; pick the walk with an init function, then call
 * fl_hdr_iter_next until it returns false. Fields above "private" are
 * read-only results of the last step. The histogram must not change while
 * an iterator walks it. No allocation; destroying is not needed.
 */
typedef struct fl_hdr_iter {
	int64_t value;              /* value iterated to (walk-specific) */
	int64_t value_from;         /* value of the previous step (0 at first) */
	int64_t count_here;         /* count of the current slot */
	int64_t count_added;        /* counts added since the previous step */
	int64_t count_to_here;      /* cumulative count up to this slot */
	double percentile;          /* 100 * count_to_here / total */
	double percentile_level;    /* level iterated to (percentile walk),
				       else equal to percentile */
	int64_t lowest_equivalent;  /* lowest value of the current slot */
	int64_t highest_equivalent; /* highest value of the current slot */
	/* private: */
	const fl_hdr *h_;
	int kind_;
	int32_t index_;
	int32_t ticks_;
	bool fresh_;
	bool final_done_;
	int64_t total_;
	int64_t count_to_here_;
	int64_t prev_count_to_;
	int64_t visited_;
	int64_t step_;
	int64_t level_hi_;
	int64_t level_lo_;
	double log_base_;
	double log_next_;
	double pct_level_;
} fl_hdr_iter;

/* One step per non-empty slot; value = the slot's highest equivalent. */
void fl_hdr_iter_recorded_init(fl_hdr_iter *it, const fl_hdr *h);
/* One step per slot of the whole array, empty or not (Java allValues). */
void fl_hdr_iter_all_init(fl_hdr_iter *it, const fl_hdr *h);
/* Steps at levels step-1, 2*step-1, ... (value = level) until the level
 * passes the last recorded value. step >= 1 (clamped). */
void fl_hdr_iter_linear_init(fl_hdr_iter *it, const fl_hdr *h, int64_t step);
/* Steps at levels first-1, first*base-1, first*base^2-1, ... (value =
 * level). first_bucket >= 1 and base > 1 (clamped to 2.0 otherwise). */
void fl_hdr_iter_log_init(fl_hdr_iter *it, const fl_hdr *h, int64_t first_bucket, double base);
/* The walk of the percentile report: levels 0, then halving steps toward
 * 100 with ticks_per_half_distance (>= 1) steps per halving, one final step
 * at level 100.0. value = highest equivalent of the slot. */
void fl_hdr_iter_percentile_init(fl_hdr_iter *it, const fl_hdr *h, int32_t ticks_per_half_distance);
/* Advances; returns false when the walk is over (then fields are stale). */
bool fl_hdr_iter_next(fl_hdr_iter *it);

/* ------------------------------------------------------------------------
 * Recorders: lock-free concurrent recording with interval sampling.
 *
 * An fl_hdr_recorder hands out consistent interval histograms while any
 * number of threads record. It has two recording paths:
 *   - fl_hdr_recorder_record*: any thread, no registration. Counts go into
 *     a shared pair of histograms with atomic adds (wait-free except for
 *     the min/max CAS loops).
 *   - fl_hdr_writer (per-thread recorder): a thread registers once and
 *     records into its own pair of histograms with plain (non-atomic)
 *     adds; only the phase counters are atomic and uncontended.
 * Both pairs are switched by a writer-reader phaser: a writer brackets each
 * recording with an atomic enter/exit whose epoch sign selects the active
 * histogram; the sampler flips the sign and waits (yielding) until the
 * writers that entered in the old phase have left, so the old histogram is
 * then quiescent and read without locks. Writers never wait.
 *
 * Every recording lands in exactly one interval: the sum of all samples
 * equals what was recorded. Each writer's part of an interval is a
 * consistent snapshot; different writers are flipped one after another
 * during one sample.
 */
typedef struct fl_hdr_recorder fl_hdr_recorder;
typedef struct fl_hdr_writer fl_hdr_writer;

/*
 * Creates a recorder whose histograms all have this configuration.
 * Errors: FL_ERR_INVAL (as fl_hdr_new), FL_ERR_NOMEM.
 * Ownership: free with fl_hdr_recorder_free after every writer is freed.
 */
FL_MUST_CHECK fl_err *fl_hdr_recorder_new(int64_t lowest_discernible, int64_t highest_trackable,
					  int sigfigs, fl_hdr_recorder **out);

/* Frees the recorder and the histogram last returned by sample. Accepts
 * NULL. Aborts if writers are still registered. No other call on rec may
 * run concurrently or afterwards. */
void fl_hdr_recorder_free(fl_hdr_recorder *rec);

/*
 * Record into the shared histograms. Same results as fl_hdr_record,
 * fl_hdr_record_n and fl_hdr_record_corrected (out-of-range values return
 * false and are counted in the next interval's out-of-range count).
 * Thread safety: any number of threads, concurrently with each other, with
 * every writer call and with fl_hdr_recorder_sample*. Never blocks.
 */
bool fl_hdr_recorder_record(fl_hdr_recorder *rec, int64_t value);
bool fl_hdr_recorder_record_n(fl_hdr_recorder *rec, int64_t value, int64_t count);
bool fl_hdr_recorder_record_corrected(fl_hdr_recorder *rec, int64_t value,
				      int64_t expected_interval);

/*
 * Registers a per-thread writer with its own histogram pair.
 * Errors: FL_ERR_NOMEM.
 * Thread safety: any thread, concurrently with everything except
 * fl_hdr_recorder_free (takes the recorder's internal mutex briefly).
 * Ownership: free with fl_hdr_writer_free before freeing the recorder.
 */
FL_MUST_CHECK fl_err *fl_hdr_writer_new(fl_hdr_recorder *rec, fl_hdr_writer **out);

/*
 * Unregisters and frees a writer. Its not yet sampled counts are kept and
 * reported by the next sample. Accepts NULL.
 * Thread safety: the owning thread, or any thread that synchronized with
 * the owner's last recording (e.g. joined it); concurrently with sample and
 * other writers.
 */
void fl_hdr_writer_free(fl_hdr_writer *w);

/*
 * Record through a writer; same results as the fl_hdr_record* functions.
 * Thread safety: one thread at a time per writer (the owner), concurrently
 * with other writers, fl_hdr_recorder_record* and fl_hdr_recorder_sample*.
 * Never blocks, never allocates.
 */
bool fl_hdr_writer_record(fl_hdr_writer *w, int64_t value);
bool fl_hdr_writer_record_n(fl_hdr_writer *w, int64_t value, int64_t count);
bool fl_hdr_writer_record_corrected(fl_hdr_writer *w, int64_t value, int64_t expected_interval);

/*
 * Takes the interval since the previous sample (or creation): resets the
 * recorder-owned interval histogram, moves everything recorded since into
 * it, stamps it with start/end wall-clock times and returns it.
 * Returns a histogram owned by the recorder, valid and unchanging until the
 * next call to fl_hdr_recorder_sample (which recycles it) or
 * fl_hdr_recorder_free.
 * Thread safety: may run concurrently with every recording call and with
 * writer registration; sample calls are serialized by an internal mutex,
 * but only one thread should consume the returned histogram. Blocks only
 * until in-flight recordings (a few ns each) finish.
 */
const fl_hdr *fl_hdr_recorder_sample(fl_hdr_recorder *rec);

/*
 * Like fl_hdr_recorder_sample, but adds the interval into dst (any
 * configuration; not reset first) and sets dst's timestamps to the
 * interval's. Returns the number of counts dropped because they did not
 * fit dst (see fl_hdr_add). Same thread safety as fl_hdr_recorder_sample;
 * dst belongs to the caller.
 */
int64_t fl_hdr_recorder_sample_into(fl_hdr_recorder *rec, fl_hdr *dst);

#ifdef __cplusplus
}
#endif
#endif
