/*
 * report_demo.c - fl-report-demo OUTDIR: writes a sample run report.
 *
 * Stands in for real scenarios until they exist: simulates ten seconds of a
 * three-stage pipeline (parse -> transform -> write) at a nominal 20k items
 * per second, with lognormal stage latencies plus a rare heavy tail, and a
 * fault plan that delays disk writes twice, resets network sends in a burst
 * and makes the transform stage panic once. Faults slow the affected items
 * and dip the throughput for a moment, so every panel of the HTML page has
 * something to show. Everything derives from a fixed seed, so the data are
 * the same on every run; only the start time and host are real.
 *
 * Output: OUTDIR/report.json, junit.xml, summary.md and index.html.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fl/hdr.h>
#include <fl/report.h>

#include "fl_version_internal.h"

#define SEED 0x5eedf00dULL
#define SECONDS 10
#define RATE 20000 /* nominal items per second */
#define NS_PER_S 1000000000LL

enum { PARSE, TRANSFORM, WRITE, E2E, NHIST };
static const char *const hist_names[NHIST] = {"stage.parse", "stage.transform", "stage.write",
					      "e2e"};

/* A fault window: items finishing inside it are slowed and thinned. */
typedef struct window {
	double at_s, len_s;
	const char *point, *action;
	int stage;       /* stage it slows */
	double delay_ns; /* added at the start, decaying linearly */
	double keep;     /* fraction of items that still complete */
	int events;      /* fault events logged across the window */
} window;

static const window plan[] = {
	{2.30, 0.25, "disk.write", "delay 4ms", WRITE, 4e6, 0.55, 3},
	{5.10, 0.12, "net.send", "error ECONNRESET", WRITE, 9e5, 0.80, 5},
	{7.00, 0.05, "stage.transform", "panic (recovered)", TRANSFORM, 2e7, 0.30, 1},
	{7.80, 0.40, "disk.write", "delay 12ms", WRITE, 1.2e7, 0.45, 4},
};
#define NPLAN (sizeof(plan) / sizeof(plan[0]))

static uint64_t rng_state = SEED;

/* splitmix64: small, fast and good enough for synthetic data. */
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double uniform(void) { return (double)(rng_next() >> 11) * 0x1.0p-53; }

static double normal(void)
{
	double u = uniform(), v = uniform();
	return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* A stage latency: lognormal body, 0.3% Pareto tail (alpha 1.5). */
static double stage_ns(double median_ns, double sigma)
{
	double v = median_ns * exp(sigma * normal());
	if (uniform() < 0.003)
		v *= 4.0 / pow(uniform() + 1e-12, 1.0 / 1.5);
	return v;
}

/* The extra latency fault windows add to stage st at time t, and the
 * chance that the item still completes. */
static double fault_effect(double t, int st, double *keep)
{
	double extra = 0;
	*keep = 1.0;
	for (size_t i = 0; i < NPLAN; i++) {
		const window *w = &plan[i];
		double into = t - w->at_s;
		if (into < 0 || into >= w->len_s)
			continue;
		*keep *= w->keep;
		if (w->stage == st)
			extra += w->delay_ns * (1.0 - into / w->len_s) * (0.5 + uniform());
	}
	return extra;
}

typedef struct sim {
	fl_hdr *h[NHIST];
	fl_hdr *iv_e2e[SECONDS], *iv_write[SECONDS];
	int64_t items, errors;
} sim;

static fl_err *new_hist(fl_hdr **out) { return fl_hdr_new(1, 60 * NS_PER_S, 3, out); }

static fl_err *sim_alloc(sim *s)
{
	fl_err *err = NULL;
	for (int i = 0; i < NHIST && !err; i++)
		err = new_hist(&s->h[i]);
	for (int i = 0; i < SECONDS && !err; i++) {
		err = new_hist(&s->iv_e2e[i]);
		if (!err)
			err = new_hist(&s->iv_write[i]);
	}
	return err;
}

/* Simulates one item finishing around time t (seconds). */
static void sim_item(sim *s, double t)
{
	static const double median[3] = {38e3, 115e3, 290e3};
	static const double sigma[3] = {0.45, 0.55, 0.70};
	double keep, total = 0;
	int sec = (int)t;
	for (int st = PARSE; st <= WRITE; st++) {
		double v = stage_ns(median[st], sigma[st]) + fault_effect(t, st, &keep);
		fl_hdr_record(s->h[st], (int64_t)v);
		if (st == WRITE)
			fl_hdr_record(s->iv_write[sec], (int64_t)v);
		total += v;
	}
	if (uniform() > keep) {
		s->errors++;
		return;
	}
	total += 25e3 * -log(uniform() + 1e-12); /* queueing between stages */
	fl_hdr_record(s->h[E2E], (int64_t)total);
	fl_hdr_record(s->iv_e2e[sec], (int64_t)total);
	s->items++;
}

static void sim_run(sim *s)
{
	for (int64_t i = 0; i < (int64_t)SECONDS * RATE; i++)
		sim_item(s, ((double)i + uniform()) / RATE);
}

static fl_err *add_faults(fl_report *r)
{
	for (size_t i = 0; i < NPLAN; i++) {
		const window *w = &plan[i];
		for (int k = 0; k < w->events; k++) {
			double at = w->at_s + w->len_s * k / w->events;
			fl_err *err = fl_report_add_fault_event(r, (int64_t)(at * 1e9), w->point,
								w->action);
			if (err)
				return err;
		}
	}
	return NULL;
}

/* Hands every histogram to the report (which then owns them). */
static fl_err *add_hists(fl_report *r, sim *s)
{
	fl_err *err = NULL;
	for (int i = 0; i < NHIST && !err; i++) {
		err = fl_report_add_hist(r, hist_names[i], s->h[i], FL_REPORT_TAKE);
		if (!err)
			s->h[i] = NULL;
	}
	for (int i = 0; i < SECONDS && !err; i++) {
		int64_t at = (int64_t)i * NS_PER_S;
		err = fl_report_add_series_interval(r, "e2e", at, NS_PER_S, s->iv_e2e[i],
						    FL_REPORT_TAKE);
		if (!err) {
			s->iv_e2e[i] = NULL;
			err = fl_report_add_series_interval(r, "stage.write", at, NS_PER_S,
							    s->iv_write[i], FL_REPORT_TAKE);
		}
		if (!err)
			s->iv_write[i] = NULL;
	}
	return err;
}

static fl_err *add_checks(fl_report *r, const sim *s)
{
	fl_err *err = fl_report_add_slo(r, "e2e", 50, 1000000);
	if (!err)
		err = fl_report_add_slo(r, "e2e", 99, 5000000);
	if (!err)
		err = fl_report_add_slo(r, "stage.write", 99.9, 20000000);
	if (!err)
		err = fl_report_eval_slos(r);
	if (err)
		return err;
	int64_t in = (int64_t)SECONDS * RATE;
	bool ok = s->items + s->errors == in;
	return fl_report_add_check(r, "every item accounted for",
				   ok ? FL_REPORT_PASS : FL_REPORT_FAIL,
				   (double)(s->items + s->errors), (double)in, "items",
				   "completed + failed == submitted");
}

static fl_err *build(fl_report *r, sim *s)
{
	fl_err *err = fl_report_detect_host(r);
	if (!err)
		err = fl_report_set_duration(r, SECONDS * NS_PER_S);
	if (!err)
		err = add_hists(r, s);
	if (!err)
		err = add_faults(r);
	if (!err)
		err = fl_report_add_counter(r, "items", s->items);
	if (!err)
		err = fl_report_add_counter(r, "errors", s->errors);
	if (!err)
		err = fl_report_add_counter(r, "submitted", (int64_t)SECONDS * RATE);
	if (!err)
		err = add_checks(r, s);
	return err;
}

static void sim_free(sim *s)
{
	for (int i = 0; i < NHIST; i++)
		fl_hdr_free(s->h[i]);
	for (int i = 0; i < SECONDS; i++) {
		fl_hdr_free(s->iv_e2e[i]);
		fl_hdr_free(s->iv_write[i]);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	if (mkdir(argv[1], 0755) != 0 && errno != EEXIST) {
		perror(argv[1]);
		return 1;
	}
	sim s = {0};
	fl_report *r = NULL;
	struct fl_report_opts o = {.seed = SEED,
				   .backend = "threads",
				   .git_rev = FL_REVISION,
				   .fault_plan = "disk.write@2.3s delay 4ms; net.send@5.1s "
						 "error x5; stage.transform@7s panic; "
						 "disk.write@7.8s delay 12ms"};
	fl_err *err = sim_alloc(&s);
	if (!err) {
		sim_run(&s);
		err = fl_report_new("demo.pipeline3", &o, &r);
	}
	if (!err)
		err = build(r, &s);
	if (!err)
		err = fl_report_write_all(r, argv[1]);
	fl_report_free(r);
	sim_free(&s);
	if (err) {
		fprintf(stderr, "fl-report-demo: ");
		fl_err_print(stderr, err);
		fl_err_drop(err);
		return 1;
	}
	printf("wrote %s/{report.json,junit.xml,summary.md,index.html}\n", argv[1]);
	return 0;
}
