/*
 * hdr_recorder.c - lock-free interval recording (writer-reader phaser).
 *
 * Problem. Many threads record latencies while a reporter thread wants, once
 * per interval, a histogram of exactly what was recorded since its last
 * look, without making writers take a lock or ever wait.
 *
 * Data structure. Every recording target is a pair of histograms plus a
 * phaser (HdrHistogram's WriterReaderPhaser):
 *   - start_epoch: writers fetch_add 1 on entry. Its sign is the phase: >= 0
 *     is the even phase (histogram 0 active), < 0 the odd phase (histogram
 *     1). The value a writer gets back therefore names the histogram it may
 *     write, with no separate "active pointer" to race on.
 *   - even_end / odd_end: writers fetch_add 1 on exit, on the counter of
 *     the phase they entered in.
 * To take a sample the reader flips a target: it resets the next phase's
 * end counter to that phase's start value, exchanges start_epoch to the
 * same value (flipping the sign and learning how many writers entered the
 * old phase), then yields until the old end counter equals that count. From
 * then on no writer touches the old histogram, so the reader merges it into
 * the interval and resets it with plain memory accesses before it becomes
 * active again at the next flip.
 *
 * Targets. The recorder has one shared target recorded with atomic adds
 * (fl_hdr_recorder_record*, any thread) and one target per registered
 * fl_hdr_writer recorded with plain adds (only its owner writes it). A
 * sample flips the shared target and every writer in turn.
 *
 * Memory ordering. enter = acquire RMW (sees the reader's reset, published
 * by the release exchange of the flip that reactivated the histogram);
 * exit = release RMW (publishes the writer's counts); the reader's wait is
 * an acquire RMW on the end counter (RMW so that Helgrind, which does not
 * know C11 atomics, sees only locked accesses; the happens-before edges are
 * annotated for it). TSan needs no suppressions.
 *
 * Lock order. rec->lock (a mutex) protects the writer list, the retired
 * histogram, the interval/scratch histograms, last_ns and every phaser's
 * reader-side phase bit; it is the only lock. Writers never take it to
 * record, only to register and unregister.
 */
#include "hdr_internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "fl_annotate_internal.h"
#include "fl_alloc_internal.h"

#define CACHE_LINE 64

struct phaser {
	_Atomic int64_t start_epoch; /* writers: fetch_add; reader: exchange */
	_Atomic int64_t even_end;    /* exits of even-phase writers */
	_Atomic int64_t odd_end;     /* exits of odd-phase writers */
	bool odd;                    /* current phase; reader only, rec->lock */
};

/* A histogram recorded with atomic adds by any number of writers. */
struct atomic_hist {
	_Atomic int64_t *counts; /* counts_len slots */
	_Atomic int64_t total;
	_Atomic int64_t max_value;    /* raw, as fl_hdr.max_value */
	_Atomic int64_t min_non_zero; /* raw, as fl_hdr.min_non_zero */
	_Atomic int64_t out_of_range;
};

struct fl_hdr_writer {
	_Alignas(CACHE_LINE) struct phaser ph; /* own line: no false sharing */
	fl_hdr *h[2];                          /* h[phase]; owner writes the active one */
	fl_hdr_recorder *rec;                  /* immutable */
	fl_hdr_writer *next;                   /* rec->lock */
};

struct fl_hdr_recorder {
	_Alignas(CACHE_LINE) struct phaser ph; /* shared target's phaser */
	struct atomic_hist shared[2];          /* shared[phase] */
	struct fl__hdr_layout lay;             /* immutable */
	pthread_mutex_t lock;                  /* see "Lock order" */
	fl_hdr_writer *writers;                /* lock */
	fl_hdr *retired;                       /* lock: counts of freed writers */
	fl_hdr *scratch;                       /* lock: drained shared histogram */
	fl_hdr *interval;                      /* lock: returned by sample */
	int64_t last_ns;                       /* lock: end of the previous interval */
};

/* ------------------------------------------------------------------------
 * Phaser
 */

static void phaser_init(struct phaser *p)
{
	atomic_init(&p->start_epoch, 0);
	atomic_init(&p->even_end, 0);
	atomic_init(&p->odd_end, INT64_MIN);
	p->odd = false;
}

static inline int64_t phaser_enter(struct phaser *p)
{
	int64_t e = atomic_fetch_add_explicit(&p->start_epoch, 1, memory_order_acquire);
	FL_HAPPENS_AFTER(&p->start_epoch);
	return e;
}

static inline void phaser_exit(struct phaser *p, int64_t e)
{
	FL_HAPPENS_BEFORE(&p->even_end);
	atomic_fetch_add_explicit(e < 0 ? &p->odd_end : &p->even_end, 1, memory_order_release);
}

/* Flips the phase and waits for the old phase's writers to leave. Returns
 * the index (0/1) of the now quiescent histogram. Caller holds rec->lock. */
static int phaser_flip(struct phaser *p)
{
	bool next_odd = !p->odd;
	int64_t init = next_odd ? INT64_MIN : 0;
	/* An RMW rather than a store: Helgrind then sees only locked accesses. */
	atomic_exchange_explicit(next_odd ? &p->odd_end : &p->even_end, init, memory_order_relaxed);
	FL_HAPPENS_BEFORE(&p->start_epoch);
	int64_t entered = atomic_exchange_explicit(&p->start_epoch, init, memory_order_acq_rel);
	_Atomic int64_t *old_end = next_odd ? &p->even_end : &p->odd_end;
	while (atomic_fetch_add_explicit(old_end, 0, memory_order_acquire) != entered)
		sched_yield();
	FL_HAPPENS_AFTER(&p->even_end);
	p->odd = next_odd;
	return next_odd ? 0 : 1;
}

/* ------------------------------------------------------------------------
 * The shared atomic histograms
 */

#if defined(FL_VALGRIND)
/* A locked read, so Helgrind sees no plain access racing with the CAS. */
#define LOAD_RELAXED(x) atomic_fetch_add_explicit((x), 0, memory_order_relaxed)
#else
#define LOAD_RELAXED(x) atomic_load_explicit((x), memory_order_relaxed)
#endif

static void atomic_max(_Atomic int64_t *x, int64_t v)
{
	int64_t cur = LOAD_RELAXED(x);
	while (v > cur && !atomic_compare_exchange_weak_explicit(x, &cur, v, memory_order_relaxed,
								 memory_order_relaxed))
		;
}

static void atomic_min(_Atomic int64_t *x, int64_t v)
{
	int64_t cur = LOAD_RELAXED(x);
	while (v < cur && !atomic_compare_exchange_weak_explicit(x, &cur, v, memory_order_relaxed,
								 memory_order_relaxed))
		;
}

static bool ahist_record(const struct fl__hdr_layout *l, struct atomic_hist *a, int64_t v,
			 int64_t n)
{
	if (FL__HDR_UNLIKELY((uint64_t)v > (uint64_t)l->highest || n < 0)) {
		if (n > 0)
			atomic_fetch_add_explicit(&a->out_of_range, n, memory_order_relaxed);
		return false;
	}
	atomic_fetch_add_explicit(&a->counts[fl__hdr_index(l, v)], n, memory_order_relaxed);
	atomic_fetch_add_explicit(&a->total, n, memory_order_relaxed);
	atomic_max(&a->max_value, v | l->unit_mask);
	if (v > l->unit_mask)
		atomic_min(&a->min_non_zero, v & ~l->unit_mask);
	return true;
}

static void ahist_clear_tracking(struct atomic_hist *a)
{
	atomic_store_explicit(&a->total, 0, memory_order_relaxed);
	atomic_store_explicit(&a->max_value, 0, memory_order_relaxed);
	atomic_store_explicit(&a->min_non_zero, INT64_MAX, memory_order_relaxed);
	atomic_store_explicit(&a->out_of_range, 0, memory_order_relaxed);
}

/* Moves a quiescent atomic histogram into the (empty) scratch histogram. */
static void ahist_drain(struct atomic_hist *a, fl_hdr *dst)
{
	dst->max_value = atomic_load_explicit(&a->max_value, memory_order_relaxed);
	dst->min_non_zero = atomic_load_explicit(&a->min_non_zero, memory_order_relaxed);
	dst->total_count = atomic_load_explicit(&a->total, memory_order_relaxed);
	dst->out_of_range = atomic_load_explicit(&a->out_of_range, memory_order_relaxed);
	int64_t last = fl__hdr_max_index(dst);
	for (int64_t i = 0; i <= last; i++) {
		int64_t c = atomic_load_explicit(&a->counts[i], memory_order_relaxed);
		if (c != 0) {
			dst->counts[i] = c;
			atomic_store_explicit(&a->counts[i], 0, memory_order_relaxed);
		}
	}
	ahist_clear_tracking(a);
}

/* ------------------------------------------------------------------------
 * Recorder lifecycle
 */

static int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static fl_err *alloc_shared(fl_hdr_recorder *rec)
{
	for (int i = 0; i < 2; i++) {
		struct atomic_hist *a = &rec->shared[i];
		a->counts = fl__calloc((size_t)rec->lay.counts_len, sizeof(*a->counts));
		if (!a->counts)
			return FL_ERR_NOMEM;
		for (int32_t k = 0; k < rec->lay.counts_len; k++)
			atomic_init(&a->counts[k], 0);
		atomic_init(&a->total, 0);
		atomic_init(&a->max_value, 0);
		atomic_init(&a->min_non_zero, INT64_MAX);
		atomic_init(&a->out_of_range, 0);
	}
	return NULL;
}

static void *alloc_aligned(size_t size)
{
	size_t rounded = (size + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
	void *p = aligned_alloc(CACHE_LINE, rounded);
	if (p)
		memset(p, 0, rounded);
	return p;
}

fl_err *fl_hdr_recorder_new(int64_t lowest, int64_t highest, int sigfigs, fl_hdr_recorder **out)
{
	struct fl__hdr_layout lay;
	fl_err *err = fl__hdr_layout_init(&lay, lowest, highest, sigfigs);
	if (err)
		return err;
	fl_hdr_recorder *rec = alloc_aligned(sizeof(*rec));
	if (!rec)
		return FL_ERR_NOMEM;
	rec->lay = lay;
	phaser_init(&rec->ph);
	FL_ASSERT(pthread_mutex_init(&rec->lock, NULL) == 0);
	err = alloc_shared(rec);
	if (!err)
		err = fl_hdr_new(lowest, highest, sigfigs, &rec->retired);
	if (!err)
		err = fl_hdr_new(lowest, highest, sigfigs, &rec->scratch);
	if (!err)
		err = fl_hdr_new(lowest, highest, sigfigs, &rec->interval);
	if (err) {
		fl_hdr_recorder_free(rec);
		return err;
	}
	rec->last_ns = wall_ns();
	*out = rec;
	return NULL;
}

void fl_hdr_recorder_free(fl_hdr_recorder *rec)
{
	if (!rec)
		return;
	FL_ASSERT(rec->writers == NULL && "fl_hdr_recorder_free with live writers");
	pthread_mutex_destroy(&rec->lock);
	free(rec->shared[0].counts);
	free(rec->shared[1].counts);
	fl_hdr_free(rec->retired);
	fl_hdr_free(rec->scratch);
	fl_hdr_free(rec->interval);
	free(rec);
}

/* ------------------------------------------------------------------------
 * Recording
 */

bool fl_hdr_recorder_record_n(fl_hdr_recorder *rec, int64_t value, int64_t count)
{
	int64_t e = phaser_enter(&rec->ph);
	bool ok = ahist_record(&rec->lay, &rec->shared[e < 0], value, count);
	phaser_exit(&rec->ph, e);
	return ok;
}

bool fl_hdr_recorder_record(fl_hdr_recorder *rec, int64_t value)
{
	return fl_hdr_recorder_record_n(rec, value, 1);
}

bool fl_hdr_recorder_record_corrected(fl_hdr_recorder *rec, int64_t value, int64_t interval)
{
	int64_t e = phaser_enter(&rec->ph);
	struct atomic_hist *a = &rec->shared[e < 0];
	bool ok = ahist_record(&rec->lay, a, value, 1);
	if (ok && interval > 0 && value > interval)
		for (int64_t m = value - interval; m >= interval; m -= interval)
			ahist_record(&rec->lay, a, m, 1);
	phaser_exit(&rec->ph, e);
	return ok;
}

fl_err *fl_hdr_writer_new(fl_hdr_recorder *rec, fl_hdr_writer **out)
{
	fl_hdr_writer *w = alloc_aligned(sizeof(*w));
	if (!w)
		return FL_ERR_NOMEM;
	const struct fl__hdr_layout *l = &rec->lay;
	fl_err *err = fl_hdr_new(l->lowest, l->highest, l->sigfigs, &w->h[0]);
	if (!err)
		err = fl_hdr_new(l->lowest, l->highest, l->sigfigs, &w->h[1]);
	if (err) {
		fl_hdr_free(w->h[0]);
		free(w);
		return err;
	}
	phaser_init(&w->ph);
	w->rec = rec;
	FL_ASSERT(pthread_mutex_lock(&rec->lock) == 0);
	w->next = rec->writers;
	rec->writers = w;
	FL_ASSERT(pthread_mutex_unlock(&rec->lock) == 0);
	*out = w;
	return NULL;
}

void fl_hdr_writer_free(fl_hdr_writer *w)
{
	if (!w)
		return;
	fl_hdr_recorder *rec = w->rec;
	FL_ASSERT(pthread_mutex_lock(&rec->lock) == 0);
	fl_hdr_writer **pp = &rec->writers;
	while (*pp != w)
		pp = &(*pp)->next;
	*pp = w->next;
	/* The owner has stopped recording: both halves are quiescent. */
	fl_hdr_add(rec->retired, w->h[0]);
	fl_hdr_add(rec->retired, w->h[1]);
	FL_ASSERT(pthread_mutex_unlock(&rec->lock) == 0);
	fl_hdr_free(w->h[0]);
	fl_hdr_free(w->h[1]);
	free(w);
}

bool fl_hdr_writer_record_n(fl_hdr_writer *w, int64_t value, int64_t count)
{
	int64_t e = phaser_enter(&w->ph);
	bool ok = fl_hdr_record_n(w->h[e < 0], value, count);
	phaser_exit(&w->ph, e);
	return ok;
}

bool fl_hdr_writer_record(fl_hdr_writer *w, int64_t value)
{
	return fl_hdr_writer_record_n(w, value, 1);
}

bool fl_hdr_writer_record_corrected(fl_hdr_writer *w, int64_t value, int64_t interval)
{
	int64_t e = phaser_enter(&w->ph);
	bool ok = fl_hdr_record_corrected(w->h[e < 0], value, interval);
	phaser_exit(&w->ph, e);
	return ok;
}

/* ------------------------------------------------------------------------
 * Sampling
 */

/* Adds src to dst, then resets src; returns the dropped count. */
static int64_t move_into(fl_hdr *dst, fl_hdr *src)
{
	int64_t dropped = fl_hdr_add(dst, src);
	fl_hdr_reset(src);
	return dropped;
}

/* One sample into dst. Caller holds rec->lock. */
static int64_t sample_locked(fl_hdr_recorder *rec, fl_hdr *dst)
{
	int64_t dropped = 0, now = wall_ns();
	ahist_drain(&rec->shared[phaser_flip(&rec->ph)], rec->scratch);
	dropped += move_into(dst, rec->scratch);
	for (fl_hdr_writer *w = rec->writers; w; w = w->next)
		dropped += move_into(dst, w->h[phaser_flip(&w->ph)]);
	dropped += move_into(dst, rec->retired);
	dst->start_ns = rec->last_ns;
	dst->end_ns = now;
	rec->last_ns = now;
	return dropped;
}

int64_t fl_hdr_recorder_sample_into(fl_hdr_recorder *rec, fl_hdr *dst)
{
	FL_ASSERT(pthread_mutex_lock(&rec->lock) == 0);
	int64_t dropped = sample_locked(rec, dst);
	FL_ASSERT(pthread_mutex_unlock(&rec->lock) == 0);
	return dropped;
}

const fl_hdr *fl_hdr_recorder_sample(fl_hdr_recorder *rec)
{
	FL_ASSERT(pthread_mutex_lock(&rec->lock) == 0);
	fl_hdr_reset(rec->interval);
	sample_locked(rec, rec->interval);
	FL_ASSERT(pthread_mutex_unlock(&rec->lock) == 0);
	return rec->interval;
}
