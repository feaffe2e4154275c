/* fl-test-labels: concurrency */
/*
 * test_hdr_recorder.c - the interval recorder under concurrent writers.
 *
 * Writers record known values while the reader samples intervals as fast
 * as it can; the sum of every interval must equal a sequential oracle that
 * recorded the same values, slot for slot (no recording lost or counted
 * twice, whatever the interleaving). Threads start together on a barrier;
 * nothing sleeps.
 */
#include <fl/hdr.h>

#include "fl_test.h"
#include "fl_test_hdr.h"

#include <pthread.h>
#include <stdatomic.h>

#define LO 1
#define HI INT64_C(3600000000000)
#define SIG 3
#define MAX_WRITERS 64

/* Unit-test sizes; a stress run raises them through the environment:
 * FL_HDR_RECORDER_THREADS (1..64, default 4) and FL_HDR_RECORDER_OPS
 * (records per writer, default 20000). */
static int WRITERS = 4;
static int PER_WRITER = 20000;

static void read_env(void)
{
	const char *t = getenv("FL_HDR_RECORDER_THREADS"), *o = getenv("FL_HDR_RECORDER_OPS");
	if (t && atoi(t) >= 1 && atoi(t) <= MAX_WRITERS)
		WRITERS = atoi(t);
	if (o && atoi(o) >= 1)
		PER_WRITER = atoi(o);
}

enum mode { VIA_WRITER, VIA_SHARED, VIA_BOTH };

struct shared {
	fl_hdr_recorder *rec;
	pthread_barrier_t start;
	atomic_int done;
	enum mode mode;
};

struct writer_arg {
	struct shared *s;
	int id;
};

static void check_err(fl_err *err)
{
	if (err) {
		char msg[256];
		fl_err_format(err, msg, sizeof msg);
		FL_FAIL("unexpected error: %s", msg);
	}
}

/* The k-th value of writer id: spread over many buckets, some out of range. */
static int64_t value_of(int id, int k)
{
	uint64_t x = (uint64_t)id * 1000003u + (uint64_t)k * 2654435761u;
	if (k % 1000 == 999)
		return -1; /* out of range */
	return (int64_t)(x % 50000000u) >> (k % 17);
}

/* Records writer id's values into h (the oracle) exactly as a thread would. */
static void oracle_record(fl_hdr *h, int id, enum mode mode)
{
	for (int k = 0; k < PER_WRITER; k++) {
		int64_t v = value_of(id, k);
		if (mode == VIA_BOTH && k % 5 == 0)
			fl_hdr_record_corrected(h, v, 1000000);
		else
			fl_hdr_record(h, v);
	}
}

static void *writer_main(void *p)
{
	struct writer_arg *a = p;
	struct shared *s = a->s;
	fl_hdr_writer *w = NULL;
	if (s->mode != VIA_SHARED)
		check_err(fl_hdr_writer_new(s->rec, &w));
	pthread_barrier_wait(&s->start);
	for (int k = 0; k < PER_WRITER; k++) {
		int64_t v = value_of(a->id, k);
		bool use_writer = s->mode == VIA_WRITER || (s->mode == VIA_BOTH && a->id % 2 == 0);
		if (s->mode == VIA_BOTH && k % 5 == 0)
			use_writer ? fl_hdr_writer_record_corrected(w, v, 1000000)
				   : fl_hdr_recorder_record_corrected(s->rec, v, 1000000);
		else
			use_writer ? fl_hdr_writer_record(w, v) : fl_hdr_recorder_record(s->rec, v);
	}
	/* Half the writers leave before the end: their counts must survive. */
	if (a->id % 2 == 1) {
		fl_hdr_writer_free(w);
		w = NULL;
	}
	atomic_fetch_add(&s->done, 1);
	fl_hdr_writer_free(w);
	return NULL;
}

/* Samples until every writer is done, then once more; sums into sum. */
static int read_intervals(struct shared *s, fl_hdr *sum)
{
	int samples = 0;
	int64_t prev_end = 0;
	pthread_barrier_wait(&s->start);
	for (bool last = false; !last; samples++) {
		last = atomic_load(&s->done) == WRITERS;
		const fl_hdr *iv = fl_hdr_recorder_sample(s->rec);
		if (prev_end)
			ASSERT_EQ(fl_hdr_start_ns(iv), prev_end);
		ASSERT_LE(fl_hdr_start_ns(iv), fl_hdr_end_ns(iv));
		prev_end = fl_hdr_end_ns(iv);
		ASSERT_EQ(fl_hdr_add(sum, iv), 0);
	}
	return samples;
}

static void run(enum mode mode)
{
	read_env();
	struct shared s = {.mode = mode};
	check_err(fl_hdr_recorder_new(LO, HI, SIG, &s.rec));
	atomic_init(&s.done, 0);
	ASSERT_EQ(pthread_barrier_init(&s.start, NULL, (unsigned)WRITERS + 1), 0);
	pthread_t t[MAX_WRITERS];
	struct writer_arg args[MAX_WRITERS];
	for (int i = 0; i < WRITERS; i++) {
		args[i] = (struct writer_arg){&s, i};
		ASSERT_EQ(pthread_create(&t[i], NULL, writer_main, &args[i]), 0);
	}
	fl_hdr *sum, *oracle;
	check_err(fl_hdr_new(LO, HI, SIG, &sum));
	check_err(fl_hdr_new(LO, HI, SIG, &oracle));
	int samples = read_intervals(&s, sum);
	for (int i = 0; i < WRITERS; i++)
		ASSERT_EQ(pthread_join(t[i], NULL), 0);
	const fl_hdr *tail = fl_hdr_recorder_sample(s.rec); /* nothing left */
	ASSERT_EQ(fl_hdr_total_count(tail), 0);
	for (int i = 0; i < WRITERS; i++)
		oracle_record(oracle, i, mode);
	fl_test_assert_same_hdr("histogram", sum, oracle);
	ASSERT_GE(samples, 1);
	if (getenv("FL_HDR_VERBOSE"))
		fprintf(stderr, "%d samples\n", samples);
	fl_hdr_free(sum);
	fl_hdr_free(oracle);
	pthread_barrier_destroy(&s.start);
	fl_hdr_recorder_free(s.rec);
}

FL_TEST(per_thread_writers_sum_to_oracle) { run(VIA_WRITER); }
FL_TEST(shared_recording_sums_to_oracle) { run(VIA_SHARED); }
FL_TEST(mixed_corrected_sums_to_oracle) { run(VIA_BOTH); }

FL_TEST(freed_writer_counts_survive)
{
	fl_hdr_recorder *rec;
	fl_hdr_writer *w;
	check_err(fl_hdr_recorder_new(LO, HI, SIG, &rec));
	check_err(fl_hdr_writer_new(rec, &w));
	fl_hdr_writer_record(w, 100);
	const fl_hdr *iv = fl_hdr_recorder_sample(rec);
	ASSERT_EQ(fl_hdr_count_at_value(iv, 100), 1);
	fl_hdr_writer_record_n(w, 200, 3);
	fl_hdr_writer_free(w);
	fl_hdr_recorder_record(rec, 300);
	fl_hdr *into;
	check_err(fl_hdr_new(1, 1000, 1, &into)); /* another configuration */
	ASSERT_EQ(fl_hdr_recorder_sample_into(rec, into), 0);
	ASSERT_EQ(fl_hdr_total_count(into), 4);
	ASSERT_EQ(fl_hdr_count_at_value(into, 200), 3);
	ASSERT_GT(fl_hdr_end_ns(into), 0);
	ASSERT_EQ(fl_hdr_total_count(fl_hdr_recorder_sample(rec)), 0);
	fl_hdr_free(into);
	fl_hdr_recorder_free(rec);
}

FL_TEST(recorder_rejects_like_fl_hdr)
{
	fl_hdr_recorder *rec;
	fl_err *err = fl_hdr_recorder_new(1, 1, 3, &rec);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	check_err(fl_hdr_recorder_new(1, 1000, 2, &rec));
	ASSERT(!fl_hdr_recorder_record(rec, 1001));
	ASSERT(!fl_hdr_recorder_record_n(rec, 5, -2));
	ASSERT(fl_hdr_recorder_record_corrected(rec, 900, 300)); /* 900, 600, 300 */
	const fl_hdr *iv = fl_hdr_recorder_sample(rec);
	ASSERT_EQ(fl_hdr_total_count(iv), 3);
	ASSERT_EQ(fl_hdr_out_of_range(iv), 1);
	ASSERT_EQ(fl_hdr_min(iv), 300);
	fl_hdr_recorder_free(rec);
}

FL_TEST_MAIN(FL_CASE(per_thread_writers_sum_to_oracle), FL_CASE(shared_recording_sums_to_oracle),
	     FL_CASE(mixed_corrected_sums_to_oracle), FL_CASE(freed_writer_counts_survive),
	     FL_CASE(recorder_rejects_like_fl_hdr))
