/*
 * fl/bench.h - open-loop load generation, capacity sweeps and the
 * statistical regression gate (the fl_bench library behind
 * `faultline-bench`, docs/bench.md).
 *
 * The load model: items arrive at intended times drawn from a rate
 * schedule (constant spacing or Poisson), enter a pipeline of `stages`
 * stages with `workers` workers each and channels of `buffer` slots
 * between them, at most `limit` items in flight (0: no limit), and every
 * stage works a duration drawn per (item, stage) from a seeded service-time
 * distribution, stretched by the fault injector's slow(x) at the point
 * "stage<N>" (1-based) or the stage's name (stage_names). Response time is measured from the intended start,
 * so a stalled pipeline or generator cannot hide (no coordinated omission);
 * service time from the first stage's actual start; scheduling error is
 * the generator's lateness (actual issue - intended).
 *
 * Two clocks run the same model:
 *   - real: a generator thread spins to each intended time and feeds real
 *     runtime tasks and channels; stage work is spun or slept.
 *   - virtual: a deterministic discrete-event run of the same arrivals and
 *     service draws through the same pipeline (channels of `buffer` slots
 *     whose full sends block, the generator's backlog, the limit), taking
 *     no wall time. Same seed, same histograms, on any machine.
 *
 * Thread safety: the functions here are not reentrant with respect to the
 * process-wide fault plan; run one load at a time per process.
 */
#ifndef FL_BENCH_H
#define FL_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <fl/err.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fl_hdr fl_hdr;
typedef struct fl_report fl_report;
typedef struct fl_ctx fl_ctx;

/* ---- load model ---------------------------------------------------------- */

enum fl_bench_dist_kind {
	FL_BENCH_CONST = 0, /* const(D) */
	FL_BENCH_EXP,       /* exp(MEAN) */
	FL_BENCH_LOGNORMAL, /* lognormal(MEDIAN,SIGMA) */
	FL_BENCH_UNIFORM,   /* uniform(LO,HI) */
};

/* A service-time distribution; a and b are ns (b is sigma for lognormal). */
typedef struct fl_bench_dist {
	enum fl_bench_dist_kind kind;
	double a, b;
} fl_bench_dist;

/*
 * Parses "const(200us)", "exp(1ms)", "lognormal(1ms,0.5)" or
 * "uniform(100us,300us)". Durations take ns, us, ms or s.
 * Errors: FL_ERR_INVAL naming the text and what was expected.
 */
FL_MUST_CHECK fl_err *fl_bench_dist_parse(const char *text, fl_bench_dist *out);

/* The draw number i of stream from d under seed: a pure function, >= 0. */
int64_t fl_bench_dist_draw(const fl_bench_dist *d, uint64_t seed, uint64_t stream, uint64_t i);

/* Mean of d in ns. */
double fl_bench_dist_mean(const fl_bench_dist *d);

/* Parses a duration ("250us", "2s", "1.5ms"; a bare number is seconds).
 * Errors: FL_ERR_INVAL naming what (e.g. "--warmup") and the text. */
FL_MUST_CHECK fl_err *fl_bench_parse_duration(const char *what, const char *text, int64_t *ns);

#define FL_BENCH_MAX_SEGMENTS 32

/* One piece of a rate schedule: the rate goes linearly from rate0 to rate1
 * (items/s) over dur_ns; a step has rate0 == rate1. */
typedef struct fl_bench_segment {
	double rate0, rate1;
	int64_t dur_ns;
} fl_bench_segment;

typedef struct fl_bench_schedule {
	fl_bench_segment seg[FL_BENCH_MAX_SEGMENTS];
	size_t n;
} fl_bench_schedule;

/*
 * Parses "1000@10s" (a step), "1000..5000@20s" (a ramp) or a comma list of
 * them, e.g. "1000@5s,1000..4000@10s,4000@5s".
 * Errors: FL_ERR_INVAL naming the segment and what was expected.
 */
FL_MUST_CHECK fl_err *fl_bench_schedule_parse(const char *text, fl_bench_schedule *out);

/* A schedule of one step: rate items/s for dur_ns. */
void fl_bench_schedule_const(fl_bench_schedule *s, double rate, int64_t dur_ns);

/*
 * A user's load: serves request number index (0-based, warm-up included)
 * and returns NULL, or an error that counts the request as failed (the run
 * goes on). ctx is cancelled when the run is abandoned (a generator error)
 * or, with a timeout_ns, at the request's deadline; return promptly then.
 * Called from `workers` runtime tasks at once: must be thread-safe.
 */
typedef fl_err *(*fl_bench_serve_fn)(fl_ctx *ctx, int64_t index, void *arg);

/* Options of one load run; fl_bench_load_defaults fills sensible values. */
struct fl_bench_load_opts {
	fl_bench_schedule schedule;     /* after the warm-up */
	bool poisson;                   /* exponential gaps, else constant */
	int64_t warmup_ns;              /* at the schedule's first rate, not recorded */
	int64_t max_items;              /* measured items; 0: until the schedule ends */
	int stages;                     /* >= 1 */
	int workers;                    /* per stage, >= 1 */
	int buffer;                     /* channel slots between stages, >= 0 */
	int limit;                      /* items in flight; 0: no limit */
	fl_bench_dist service;          /* per stage */
	bool sleep_work;                /* real clock: sleep the work, else spin */
	bool virtual_clock;             /* the deterministic discrete-event run */
	uint64_t seed;                  /* arrivals and service draws */
	int64_t interval_ns;            /* interval histograms; 0: 1 s */
	const char *const *stage_names; /* fault point per stage; NULL: "stage<N>" */
	FILE *hlog;                     /* interval log (flushed per line); NULL: none */
	const char *tag;                /* hlog tag prefix; NULL: untagged names */
	/* A user's load instead of the synthetic stages: each item is one
	 * call of serve on one of `workers` tasks (stages must be 1, service
	 * and sleep_work are unused; the real clock only). NULL: synthetic. */
	fl_bench_serve_fn serve;
	void *serve_arg; /* passed to serve; borrowed */
	/* A user load's per-request deadline, from the intended start (0:
	 * none): serve's context is cancelled with FL_ERR_DEADLINE then, and a
	 * request that ends later fails with FL_ERR_DEADLINE whatever it returns. */
	int64_t timeout_ns;
};

/* Fills o with a 1-stage, 1-worker, buffer 64 pipeline, exp(50us) work,
 * constant arrivals at 1000/s for 5 s after a 1 s warm-up, seed 1. */
void fl_bench_load_defaults(struct fl_bench_load_opts *o);

/* Checks o. A user load (serve set) with the virtual clock is refused: the
 * user's function runs in real time, which a virtual clock cannot measure.
 * Errors: FL_ERR_INVAL naming the option. */
FL_MUST_CHECK fl_err *fl_bench_load_check(const struct fl_bench_load_opts *o);

/* One interval of a run: what completed in [start_ns, start_ns + length). */
typedef struct fl_bench_interval {
	int64_t start_ns, length_ns; /* from the end of the warm-up */
	fl_hdr *response;            /* owned */
	fl_hdr *service;             /* owned */
} fl_bench_interval;

/* What a load run measured (measured items only: after the warm-up). */
typedef struct fl_bench_result {
	fl_hdr *response;       /* ns from intended start to completion */
	fl_hdr *service;        /* ns from first stage start to completion */
	fl_hdr *sched_error;    /* ns actual issue - intended (real clock) */
	int64_t items;          /* measured items completed (all of them) */
	int64_t issued;         /* every item issued, warm-up included */
	int64_t window_ns;      /* end of warm-up to last measured completion */
	int64_t busy_ns;        /* stage work of measured items, all stages */
	int64_t servers;        /* stages x workers */
	double mean_in_system;  /* time-averaged items in flight in the window */
	double offered_rate;    /* measured items / scheduled span, items/s */
	int64_t backlog_max;    /* largest generator backlog, items */
	int64_t failed;         /* user load: measured requests that returned an
				  * error: counted in items, not timed (response
				  * and service hold the successful ones) */
	fl_err *first_failure;  /* owned: the first failed request's error, or NULL */
	fl_bench_interval *ivs; /* owned, in time order */
	size_t nivs;
} fl_bench_result;

/*
 * Runs one load. Arms nothing: a fault plan acting on "stage<N>" must be
 * armed by the caller (fl_fault_arm). Every issued item is awaited; none is
 * dropped. Blocks for the run's length (real clock).
 * Errors: those of fl_bench_load_check; FL_ERR_NOMEM; runtime errors; an
 * errno error when the hlog cannot be written. *out is set only on success.
 * Ownership: release *out with fl_bench_result_destroy.
 */
FL_MUST_CHECK fl_err *fl_bench_load_run(const struct fl_bench_load_opts *o, fl_bench_result *out);

/* Frees what a result owns. Accepts a zeroed result. */
void fl_bench_result_destroy(fl_bench_result *r);

/*
 * Adds a result to a report under prefix (e.g. "" or "cell.w2_b16_l0_r1000."):
 * histograms <prefix>response, <prefix>service, <prefix>sched_error, the
 * series <prefix>response (the intervals) and counters <prefix>items,
 * <prefix>window_ns, <prefix>busy_ns, <prefix>capacity_ns (window x stages
 * x workers), <prefix>area_ns (mean_in_system x window), <prefix>offered_milli (offered items/s x 1000) and <prefix>reps
 * (1); adding a second result under the same prefix adds into them.
 * Errors: FL_ERR_NOMEM; FL_ERR_INVAL from the report builders.
 */
FL_MUST_CHECK fl_err *fl_bench_result_add_to_report(fl_report *rep, const char *prefix,
						    const fl_bench_result *res);

/*
 * Fills o from section (NULL: the first) of the job file at path
 * (fl/job.h): the middle stages become the stages (named after them, so the
 * job's fault plan applies; names is caller storage o points into), workers (linear, fan-in) or group_limit
 * (fan-out, per-item) become workers, buffer, rate (one step), items
 * (measured items), work (a constant service time) and the fault plan
 * (into *plan_out, borrowed from *jobs_out) are taken over; *slo_ns gets
 * slo_p99 if set. Keep *jobs_out until o is no longer used; free it with
 * fl_jobs_free. The diamond shape (a tee to parallel branches) has no
 * open-loop equivalent here and is refused.
 * Errors: those of fl_jobs_load; FL_ERR_INVAL for an unknown section, a
 * diamond. A job without a rate (closed loop) leaves o->schedule empty:
 * the caller must set one.
 */
typedef struct fl_jobs fl_jobs;
FL_MUST_CHECK fl_err *fl_bench_load_from_job(const char *path, const char *section,
					     struct fl_bench_load_opts *o, const char *names[6],
					     const char **plan_out, int64_t *slo_ns,
					     fl_jobs **jobs_out);

/* ---- users' loads ------------------------------------------------------------ */

/* A registered load. The registry borrows it: keep it alive (static). */
typedef struct fl_bench_user_load {
	const char *name;        /* [a-z0-9_]+, unique in the process */
	const char *description; /* one line; may be NULL */
	fl_bench_serve_fn serve; /* serves one request */
	void *arg;               /* its argument; borrowed */
} fl_bench_user_load;

/*
 * Registers a load under its name.
 * Errors: FL_ERR_INVAL naming the load (empty name or one outside
 * [a-z0-9_]+, no serve function, the name already registered);
 * FL_ERR_NOMEM.
 * Ownership: l is borrowed for the life of the process.
 * Thread-safe; does not block (beyond a short lock).
 */
FL_MUST_CHECK fl_err *fl_bench_load_register(const fl_bench_user_load *l);

/*
 * As fl_bench_load_register, for constructors (FL_LOAD): an error is kept
 * and returned by every later fl_bench_load_find and fl_bench_load_list, so
 * a failed registration is never silent. Thread-safe.
 */
void fl_bench_load_register_kept(const fl_bench_user_load *l);

/*
 * The load named name, in *out (borrowed).
 * Errors: a kept registration error (see above); FL_ERR_INVAL naming name
 * and listing the registered loads when none has that name.
 * Thread-safe.
 */
FL_MUST_CHECK fl_err *fl_bench_load_find(const char *name, const fl_bench_user_load **out);

/*
 * The registered loads in registration order: up to cap pointers (borrowed)
 * into out, their total number into *n (so cap 0 asks for the count).
 * Errors: a kept registration error. Thread-safe.
 */
FL_MUST_CHECK fl_err *fl_bench_load_list(const fl_bench_user_load **out, size_t cap, size_t *n);

/*
 * FL_LOAD(name, "description") { body } defines
 *   static fl_err *name(fl_ctx *ctx, int64_t index)
 * with the body, and registers it as the load "name" from a constructor
 * (before main). `faultline-bench run name` (fl_bench_main) then drives it.
 * A failed registration (a duplicate name) is reported by the registry's
 * first read: fl_bench_main exits 2 naming it.
 */
#define FL_LOAD(name, description)                                                         \
	static fl_err *name(fl_ctx *ctx __attribute__((unused)),                           \
			    int64_t index __attribute__((unused)));                        \
	static fl_err *fl_load_serve_##name(fl_ctx *ctx, int64_t index, void *arg)         \
	{                                                                                  \
		(void)arg;                                                                 \
		return name(ctx, index);                                                   \
	}                                                                                  \
	static const fl_bench_user_load fl_load_def_##name = {#name, description,          \
							      fl_load_serve_##name, NULL}; \
	__attribute__((constructor)) static void fl_load_ctor_##name(void)                 \
	{                                                                                  \
		fl_bench_load_register_kept(&fl_load_def_##name);                          \
	}                                                                                  \
	static fl_err *name(fl_ctx *ctx __attribute__((unused)),                           \
			    int64_t index __attribute__((unused)))

/*
 * faultline-bench's command line as a function: argv[0] is the program or
 * verb name used in messages ("faultline-bench", "bench"), argv[1] the
 * verb: run, sweep, sweep-report, gate, loads (the registered loads), help,
 * --version. man/faultline-bench.1 has the flags.
 * Returns the exit status: 0 success, 1 a failed verdict (SLO, failure
 * ratio, gate regression), 2 usage, input or environment error.
 * Starts the scheduler (--backend); prints to stdout and stderr.
 * Not reentrant: one call at a time per process (the fault plan and the
 * scheduler are process-wide). Blocks for the runs it makes.
 */
int fl_bench_main(int argc, char **argv);

/* ---- statistics ------------------------------------------------------------ */

/* The median of v (n >= 1; v is not changed). NaN when n == 0. */
double fl_bench_median(const double *v, size_t n);

/* A two-sided Mann-Whitney U test of a against b. */
typedef struct fl_bench_mwu {
	double u_a; /* rank sum of a minus na(na+1)/2 (midranks for ties) */
	double u;   /* min(u_a, na*nb - u_a) */
	double z;   /* normal approximation's z (tie- and continuity-corrected) */
	double p;   /* two-sided p-value */
	bool exact; /* p from the exact null distribution (no ties, n <= 20) */
} fl_bench_mwu;

/* Runs the test. na and nb >= 1; p is 1 when either is 0. */
fl_bench_mwu fl_bench_mann_whitney(const double *a, size_t na, const double *b, size_t nb);

/* Holm's step-down adjustment of n p-values into adj (may alias p). */
void fl_bench_holm(const double *p, size_t n, double *adj);

/*
 * Percentile-bootstrap confidence interval of the relative change of the
 * median, median(b) / median(a) - 1, from `resamples` resamples of both
 * sides drawn with a generator seeded by seed. conf in (0, 1), e.g. 0.95.
 * Sets *est (on the samples themselves), *lo and *hi.
 */
void fl_bench_bootstrap_rel(const double *a, size_t na, const double *b, size_t nb, int resamples,
			    double conf, uint64_t seed, double *est, double *lo, double *hi);

/* ---- regression gate -------------------------------------------------------- */

enum { FL_BENCH_NMETRICS = 4 }; /* throughput, p50, p99, p99.9 */

/* One repetition's metrics. */
typedef struct fl_bench_sample {
	double v[FL_BENCH_NMETRICS]; /* items/s, then response ns at p50/p99/p99.9 */
} fl_bench_sample;

/* "throughput", "p50", "p99", "p99.9". */
const char *fl_bench_metric_name(int m);

/* The sample of a result or a loaded run report (histogram "response",
 * counters "items" and "window_ns"). Errors: FL_ERR_INVAL naming what is
 * missing. */
void fl_bench_sample_of(const fl_bench_result *r, fl_bench_sample *out);
FL_MUST_CHECK fl_err *fl_bench_sample_of_report(const fl_report *r, const char *prefix,
						fl_bench_sample *out);

/* Gate options; zero fields take the defaults in brackets. */
struct fl_bench_gate_opts {
	double alpha;                    /* [0.05] family-wise, Holm */
	double conf;                     /* [0.95] bootstrap CI level */
	int resamples;                   /* [2000] */
	uint64_t seed;                   /* [1] bootstrap seed */
	double floor[FL_BENCH_NMETRICS]; /* [1%, 1%, 3%, 5%] as fractions */
};

/* The verdict on one metric. Relative changes are signed so that > 0 is
 * worse (slower or less throughput). */
typedef struct fl_bench_metric_verdict {
	double base_median, cand_median;
	double worse;        /* relative change, > 0: worse */
	double ci_lo, ci_hi; /* CI of `worse` */
	double p, p_holm;    /* Mann-Whitney p, Holm-adjusted */
	double floor;        /* practical-significance floor (fraction) */
	bool significant;    /* p_holm < alpha */
	bool regression;     /* significant, CI above 0, worse >= floor */
	bool improvement;    /* the mirror image */
} fl_bench_metric_verdict;

typedef struct fl_bench_verdict {
	fl_bench_metric_verdict m[FL_BENCH_NMETRICS];
	size_t nbase, ncand;
	bool regression; /* any metric regressed */
} fl_bench_verdict;

/* Decides. nbase, ncand >= 2. Errors: FL_ERR_INVAL (too few samples). */
FL_MUST_CHECK fl_err *fl_bench_gate_eval(const fl_bench_sample *base, size_t nbase,
					 const fl_bench_sample *cand, size_t ncand,
					 const struct fl_bench_gate_opts *opts,
					 fl_bench_verdict *out);

/* Writes the verdict as a Markdown table (for CI comments). */
void fl_bench_verdict_markdown(const fl_bench_verdict *v, FILE *out);

/* The compiler this library was built with ("gcc 12.2.0"). */
const char *fl_bench_compiler(void);

/*
 * Creates an empty baseline: a run report tagged with this host (CPU
 * model, cores, kernel), the running backend, revision (may be NULL) and
 * the compiler. Errors: those of fl_report_new and fl_report_detect_host.
 * Ownership: fl_report_free.
 */
FL_MUST_CHECK fl_err *fl_bench_baseline_new(const char *revision, fl_report **out);

/* Appends one repetition (its response histogram and measured window).
 * Errors: FL_ERR_NOMEM. */
FL_MUST_CHECK fl_err *fl_bench_baseline_add(fl_report *baseline, const fl_bench_result *res);

/* The repetitions of a (loaded) baseline as samples; *out is malloc'ed.
 * Errors: FL_ERR_INVAL naming what is missing; FL_ERR_NOMEM. */
FL_MUST_CHECK fl_err *fl_bench_baseline_samples(const fl_report *baseline, fl_bench_sample **out,
						size_t *n);

/* Counts the fingerprint fields (CPU model, cores, kernel, compiler,
 * backend) that differ, printing a warning line for each to warn (may be
 * NULL). */
int fl_bench_fingerprint_diff(const fl_report *a, const fl_report *b, FILE *warn);

/* Writes the verdict as JSON at path (atomically), with both fingerprints
 * (either report may be NULL). Errors: an errno error naming path. */
FL_MUST_CHECK fl_err *fl_bench_verdict_write_json(const fl_bench_verdict *v, const fl_report *base,
						  const fl_report *cand, int fingerprint_diffs,
						  const char *path);

/* ---- capacity sweeps ------------------------------------------------------------ */

#define FL_BENCH_MAX_AXIS 16

/* A grid: every combination of the four axes is one cell. */
typedef struct fl_bench_grid {
	int limit[FL_BENCH_MAX_AXIS], nlimit;
	int buffer[FL_BENCH_MAX_AXIS], nbuffer;
	int workers[FL_BENCH_MAX_AXIS], nworkers;
	double rate[FL_BENCH_MAX_AXIS];
	int nrate;
} fl_bench_grid;

/* Parses a comma list of non-negative integers ("1,2,4") or rates into an
 * axis. Errors: FL_ERR_INVAL naming what and the text. */
FL_MUST_CHECK fl_err *fl_bench_axis_parse_int(const char *what, const char *text, int *v, int *n);
FL_MUST_CHECK fl_err *fl_bench_axis_parse_rate(const char *what, const char *text, double *v,
					       int *n);

/* The number of cells of g. */
size_t fl_bench_grid_cells(const fl_bench_grid *g);

/* The cell key of cell c ("l0_b16_w2_r1000"), in buf (cap >= 64). */
char *fl_bench_cell_key(const fl_bench_grid *g, size_t c, char *buf, size_t cap);

/*
 * Runs the cells c of g with c % shards == shard (shard in 0..shards-1),
 * each reps times with base (its schedule replaced by one step at the
 * cell's rate for cell_ns), adding every repetition into rep under the
 * prefix "cell.<key>." (fl_bench_result_add_to_report). Repetition r of a
 * cell uses seed base->seed + r, so shards and whole runs draw the same.
 * progress (may be NULL) gets one line per cell.
 * Errors: those of fl_bench_load_run and the report builders.
 */
FL_MUST_CHECK fl_err *fl_bench_sweep_run(const fl_bench_grid *g, int reps, int shard, int shards,
					 const struct fl_bench_load_opts *base, int64_t cell_ns,
					 fl_report *rep, FILE *progress);

/* One cell as read back from a (merged) sweep report. */
typedef struct fl_bench_cell {
	char key[64];
	int limit, buffer, workers;
	double offered; /* items/s */
	int64_t reps;
	double throughput;      /* items/s achieved */
	int64_t p50, p99, p999; /* response, ns */
	double utilisation;     /* busy / capacity (window x stages x workers) */
	double queue;           /* mean items waiting (in flight minus in service) */
	double little_l;        /* measured mean items in flight */
	double little_lw;       /* throughput x mean response */
	double little_dev;      /* (L - lambda W) / lambda W */
	bool within_slo;        /* p99 <= slo */
	bool knee;              /* the knee of its configuration */
} fl_bench_cell;

/*
 * Reads every cell of a sweep report (sorted by configuration, then rate),
 * judges p99 against slo_ns and marks each configuration's knee: the
 * highest offered rate whose p99 is within the SLO with every lower rate
 * of that configuration within it too. *cells is malloc'ed (free()).
 * Errors: FL_ERR_INVAL for a cell with missing parts; FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_bench_sweep_cells(const fl_report *rep, int64_t slo_ns,
					   fl_bench_cell **cells, size_t *ncells);

/* Writes dir/index.html (throughput vs p99, one curve per configuration,
 * the SLO line, knees marked, and the cell table). */
FL_MUST_CHECK fl_err *fl_bench_sweep_write_html(const fl_bench_cell *cells, size_t n,
						int64_t slo_ns, const char *title, const char *dir);

#ifdef __cplusplus
}
#endif
#endif
