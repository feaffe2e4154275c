/*
 * load_internal.h - what the load modules share: the counter-based random
 * draws, the arrival sequence, histogram configuration and result helpers.
 */
#ifndef FL_BENCH_LOAD_INTERNAL_H
#define FL_BENCH_LOAD_INTERNAL_H

#include <fl/bench.h>

#include <stdbool.h>
#include <stdint.h>

#define FL_BENCH_SEC(x) ((int64_t)(x)*1000000000)

/* Histograms: 1 ns .. 1 hour at 3 significant digits. */
#define FL__BENCH_HDR_LO 1
#define FL__BENCH_HDR_HI ((int64_t)3600 * 1000000000)
#define FL__BENCH_HDR_SIG 3

/* A 64-bit hash of (seed, stream, i), and a double in (0, 1) from it. */
uint64_t fl__bench_mix(uint64_t seed, uint64_t stream, uint64_t i);
double fl__bench_unit(uint64_t seed, uint64_t stream, uint64_t i);

/* The intended start times of a run, in order, from offset 0. */
typedef struct fl__bench_arrivals {
	const struct fl_bench_load_opts *o;
	int64_t next_ns;  /* the next intended start */
	int64_t end_ns;   /* warm-up plus the schedule */
	uint64_t index;   /* items handed out so far */
	int64_t measured; /* measured items handed out so far */
} fl__bench_arrivals;

void fl__bench_arrivals_init(fl__bench_arrivals *a, const struct fl_bench_load_opts *o);
/* The next intended start; false when the run is over. */
bool fl__bench_arrivals_next(fl__bench_arrivals *a, int64_t *at_ns, bool *measured);

/* Creates the three empty whole-run histograms of r. */
FL_MUST_CHECK fl_err *fl__bench_result_init(fl_bench_result *r);
/* Appends an interval (takes both histograms, also on error). */
FL_MUST_CHECK fl_err *fl__bench_result_push(fl_bench_result *r, int64_t start_ns, int64_t length_ns,
					    fl_hdr *resp, fl_hdr *svc);
/* The hlog tag of what ("response") under o->tag, into buf. */
const char *fl__bench_tag(const struct fl_bench_load_opts *o, const char *what, char *buf,
			  size_t cap);

/* The two clocks (clock_virtual.c, clock_real.c), called by run.c only. */
FL_MUST_CHECK fl_err *fl__bench_run_virtual(const struct fl_bench_load_opts *o, fl_bench_result *r);
FL_MUST_CHECK fl_err *fl__bench_run_real(const struct fl_bench_load_opts *o, fl_bench_result *r);

#endif
