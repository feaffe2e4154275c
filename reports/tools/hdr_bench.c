/*
 * hdr_bench.c - micro benchmark of the HDR histogram (fl-hdr-bench).
 *
 * Prints one "name: X ns/op" line per operation, each the median of five
 * repetitions, for a 3-significant-figure histogram over 1 ns .. 1 h:
 *   record                single-threaded fl_hdr_record of varied values
 *   writer_record         the same through a per-thread recorder writer
 *   value_at_percentile   on a histogram of 1M samples
 *   encode_compressed     V2 + zlib of that histogram
 *   decode_compressed     its inverse
 * and the same encode/decode for a "dense" histogram with every slot in use
 * (the worst case). It measures and never fails on timing.
 */
#include <fl/hdr.h>
#include <fl/hdr_log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOUR_NS INT64_C(3600000000000)
#define REPS 5
#define NVALUES 65536

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(fl_err *err)
{
	if (err) {
		fl_err_print(stderr, err);
		exit(1);
	}
}

/* Latency-like values: log-uniform from 100 ns to 10 s. */
static void make_values(int64_t *v, int n)
{
	uint64_t s = 0x5eed;
	for (int i = 0; i < n; i++) {
		s = s * 6364136223846793005u + 1442695040888963407u;
		int shift = (int)(s >> 59) % 27; /* 2^7 .. 2^33 */
		v[i] = (int64_t)((s >> 20) & ((UINT64_C(1) << (shift + 7)) - 1)) + 100;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *x)
{
	qsort(x, REPS, sizeof *x, cmp_double);
	return x[REPS / 2];
}

static void report(const char *name, double *ns) { printf("%s: %.2f ns/op\n", name, median(ns)); }

static void bench_record(const int64_t *v)
{
	fl_hdr *h;
	die(fl_hdr_new(1, HOUR_NS, 3, &h));
	double ns[REPS];
	const int64_t ops = 50 * 1000 * 1000;
	for (int r = 0; r < REPS; r++) {
		int64_t t0 = now_ns();
		for (int64_t i = 0; i < ops; i++)
			fl_hdr_record(h, v[i & (NVALUES - 1)]);
		ns[r] = (double)(now_ns() - t0) / (double)ops;
	}
	if (fl_hdr_total_count(h) != ops * REPS)
		fprintf(stderr, "record: unexpected total\n");
	report("record", ns);
	fl_hdr_free(h);
}

static void bench_writer(const int64_t *v)
{
	fl_hdr_recorder *rec;
	fl_hdr_writer *w;
	die(fl_hdr_recorder_new(1, HOUR_NS, 3, &rec));
	die(fl_hdr_writer_new(rec, &w));
	double ns[REPS];
	const int64_t ops = 20 * 1000 * 1000;
	for (int r = 0; r < REPS; r++) {
		int64_t t0 = now_ns();
		for (int64_t i = 0; i < ops; i++)
			fl_hdr_writer_record(w, v[i & (NVALUES - 1)]);
		ns[r] = (double)(now_ns() - t0) / (double)ops;
		fl_hdr_recorder_sample(rec);
	}
	report("writer_record", ns);
	fl_hdr_writer_free(w);
	fl_hdr_recorder_free(rec);
}

static void bench_percentile(const fl_hdr *h)
{
	static const double ps[] = {50, 90, 99, 99.9, 99.99, 100};
	double ns[REPS];
	const int ops = 20000;
	int64_t sink = 0;
	for (int r = 0; r < REPS; r++) {
		int64_t t0 = now_ns();
		for (int i = 0; i < ops; i++)
			sink += fl_hdr_value_at_percentile(h, ps[i % 6]);
		ns[r] = (double)(now_ns() - t0) / ops;
	}
	if (sink == 42)
		puts("");
	report("value_at_percentile", ns);
}

static void bench_codec(const char *name, const fl_hdr *h)
{
	double enc[REPS], dec[REPS];
	const int ops = 50;
	uint8_t *buf = NULL;
	size_t len = 0;
	for (int r = 0; r < REPS; r++) {
		int64_t t0 = now_ns();
		for (int i = 0; i < ops; i++) {
			free(buf);
			die(fl_hdr_encode_compressed(h, -1, &buf, &len));
		}
		enc[r] = (double)(now_ns() - t0) / ops;
		t0 = now_ns();
		for (int i = 0; i < ops; i++) {
			fl_hdr *d;
			die(fl_hdr_decode(buf, len, &d));
			fl_hdr_free(d);
		}
		dec[r] = (double)(now_ns() - t0) / ops;
	}
	char label[64];
	snprintf(label, sizeof label, "encode_compressed%s (%zu bytes)", name, len);
	report(label, enc);
	snprintf(label, sizeof label, "decode_compressed%s", name);
	report(label, dec);
	free(buf);
}

int main(void)
{
	int64_t *v = malloc(NVALUES * sizeof *v);
	make_values(v, NVALUES);
	bench_record(v);
	bench_writer(v);
	fl_hdr *h, *dense;
	die(fl_hdr_new(1, HOUR_NS, 3, &h));
	for (int i = 0; i < 1000000; i++)
		fl_hdr_record(h, v[i & (NVALUES - 1)] + i);
	bench_percentile(h);
	bench_codec("", h);
	die(fl_hdr_new(1, HOUR_NS, 3, &dense));
	for (int32_t i = 0; i < fl_hdr_counts_len(dense); i++)
		fl_hdr_record_n(dense, fl_hdr_value_at_index(dense, i), 1 + i % 1000);
	bench_codec("_dense", dense);
	fl_hdr_free(dense);
	fl_hdr_free(h);
	free(v);
	return 0;
}
