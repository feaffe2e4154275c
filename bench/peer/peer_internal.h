/*
 * peer_internal.h - private interface of fl-bench, the C mirror of the Go peer
 * suite (../shared/peers/go, README.md there defines every workload).
 *
 * Every workload file exposes one command (flb_cmd_*) that parses its flags,
 * describes its variants as struct flb_bench and hands each to
 * flb_measure(), which does the warm-up and timed runs, takes per-metric
 * medians and prints one JSON line in the Go peer's key order. A run that
 * produces a wrong result calls flb_must(), which exits non-zero.
 */
#ifndef FLB_PEER_INTERNAL_H
#define FLB_PEER_INTERNAL_H

#include <fl/chan.h>
#include <fl/ctx.h>
#include <fl/err.h>
#include <fl/group.h>
#include <fl/task.h>

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- randomness (rng.c): the Go peer's stateless draws ----------------- */

enum { FLB_TAG_CANCEL_ERR = 5, FLB_TAG_HEDGE = 9, FLB_TAG_RETRY = 10 };

/* SplitMix64's output function applied to x + the golden gamma. */
uint64_t flb_mix64(uint64_t x);
/* The j-th random word of item i in stream tag. */
uint64_t flb_draw(uint64_t tag, uint64_t i, uint64_t j);
/* Maps a random word to [0, 1). */
double flb_unit(uint64_t x);
/* rounds of xorshift64 (13, 7, 17) from a seed derived from v (W4's work). */
uint64_t flb_xorshift(uint64_t v, int rounds);
/* Sum of flb_xorshift(v, rounds) for v < n, wrapping (W4's checksum). */
uint64_t flb_fanout_checksum(int64_t n, int rounds);

/* W10's sleep after failed attempt a of item i (used by timers.c):
 * base*2^a + trunc(unit(draw(10, i, a)) * base*2^a / 2). */
int64_t flb_backoff(int64_t base_ns, int64_t i, int64_t a);

/* ---- verification and the clock (base.c): the lowest layer ------------- */

/* Exits with status 1 and a message if ok is false. */
void flb_must(bool ok, const char *fmt, ...) FL_PRINTF(2, 3);
/* Exits with status 1 if err is non-NULL (printing it); drops nothing. */
void flb_must_ok(fl_err *err, const char *what);

/* CLOCK_MONOTONIC in ns: every timed region and latency sample. */
int64_t flb_clock_ns(void);

/* ---- metrics and reporting (report.c) ---------------------------------- */

#define FLB_MAX_METRICS 24

/* The numeric results of one timed run, in insertion order. */
struct flb_metrics {
	int n;
	const char *keys[FLB_MAX_METRICS]; /* static strings */
	double vals[FLB_MAX_METRICS];
};

/* Sets metric k (appended on first use). */
void flb_metrics_set(struct flb_metrics *m, const char *k, double v);
/* Records secs and ns_per_op for ops operations in ns nanoseconds. */
void flb_metrics_timing(struct flb_metrics *m, int64_t ops, int64_t ns);
/* Sorts lat[0..n) and records p50/p90/p99/p999/max (nearest rank). */
void flb_metrics_percentiles(struct flb_metrics *m, int64_t *lat, size_t n);

/* s[ceil(q*n) - 1] of the ascending array s (clamped), as the Go peer. */
int64_t flb_nearest_rank(const int64_t *s, size_t n, double q);
/* Median of xs[0..n) (the mean of the middle two for even n); sorts xs. */
double flb_median(double *xs, size_t n);
/* Formats v as the Go peer's fmtFloat does for key k; returns buf. */
const char *flb_fmt_float(const char *k, double v, char *buf, size_t cap);

/* A JSON object under construction, in insertion order (jansson). All
 * zero is empty; out of memory exits the program. */
struct flb_json {
	json_t *obj; /* NULL until the first member; owned */
};
void flb_json_int(struct flb_json *j, const char *k, int64_t v);
/* v as Go's fmtFloat prints it for key k (flb_json_go_number). */
void flb_json_num(struct flb_json *j, const char *k, double v);
void flb_json_str(struct flb_json *j, const char *k, const char *v);
/* Frees the members; j is empty again. */
void flb_json_free(struct flb_json *j);
/* A new JSON number whose compact text is flb_fmt_float(k, v), but for a
 * non-zero |v| below 1e-4 (exponent form); NULL out of memory. */
json_t *flb_json_go_number(const char *k, double v);
/* v printed compact, as a line (malloc'd; the caller frees). */
char *flb_json_dump(json_t *v);

/* One variant of a workload. */
struct flb_bench {
	const char *workload;
	struct flb_json params; /* the variant's inputs */
	int64_t ops;            /* operations per run */
	int runs;               /* timed runs; medians are reported */
	int warmup;             /* discarded runs before the timed ones */
	struct flb_json info;   /* constant facts after the metrics */
	/* One complete run; verifies its own result (flb_must). */
	void (*run)(void *arg, struct flb_metrics *m);
	void *arg;
};

/* Runs b and prints one JSON line with per-metric medians to stdout;
 * frees b's params and info. */
void flb_measure(struct flb_bench *b);

/* ---- flags and process setup (flags.c) --------------------------------- */

enum flb_flag_kind { FLB_INT, FLB_U64, FLB_STR, FLB_DUR };

/* One command-line flag (Go's flag package syntax: -f v, -f=v, --f v). */
struct flb_flag {
	const char *name;
	const char *alias; /* another accepted name, or NULL */
	enum flb_flag_kind kind;
	void *dst; /* int64_t, uint64_t, const char * or ns */
	const char *help;
};

/*
 * Parses argv against flags plus the common ones (-runs, --backend,
 * --sched-workers), starts the scheduler and returns the timed runs.
 * Exits with status 2 on a bad flag. Integer flags left at -1 mean "the
 * backend's default" (see flb_default).
 */
int flb_setup(const char *cmd, struct flb_flag *flags, size_t n, int argc, char **argv,
	      int default_runs);
/*
 * The default of a size flag ("spawn.n", "pipeline.n", ...) for the running
 * backend: the Go peer's value, or a smaller one where a backend cannot run
 * the Go size within the time budget (docs/bench.md).
 */
int64_t flb_default(const char *key, int64_t go_value);
/* Resolves *v to flb_default(key, go_value) if it is -1. */
void flb_resolve(int64_t *v, const char *key, int64_t go_value);

/* Parses "1,2,8" / "2ms,50ms" into out (at most cap); returns the count. */
size_t flb_int_list(const char *s, int64_t *out, size_t cap);
size_t flb_dur_list(const char *s, int64_t *out, size_t cap);
/* Parses a Go duration ("1ms", "50ms", "1.5s", "0"); false if malformed. */
bool flb_parse_dur(const char *s, int64_t *out_ns);
/* ns as float milliseconds (the Go peer's ms()). */
double flb_ms(int64_t ns);

/* Common facts recorded on every line. */
const char *flb_version(void);
int flb_sched_workers(void);
/* true (the default, -driver task): each run's driver is a task, as the Go
 * peer's main is a goroutine; false (-driver thread): the main thread. */
bool flb_driver_task(void);

/* ---- workloads: the commands main.c's table runs ----------------------- */

int flb_cmd_spawn(int argc, char **argv);       /* W1 */
int flb_cmd_trygo(int argc, char **argv);       /* W2 */
int flb_cmd_pipeline(int argc, char **argv);    /* W3 */
int flb_cmd_fanout(int argc, char **argv);      /* W4 */
int flb_cmd_cancel(int argc, char **argv);      /* W5 */
int flb_cmd_cancel_err(int argc, char **argv);  /* W5b */
int flb_cmd_first_error(int argc, char **argv); /* W6 */
int flb_cmd_pingpong(int argc, char **argv);    /* W7 */
int flb_cmd_sync(int argc, char **argv);        /* W8 */
int flb_cmd_hedge(int argc, char **argv);       /* W9 */
int flb_cmd_retry(int argc, char **argv);       /* W10 */
int flb_cmd_hedge_demo(int argc, char **argv);  /* fl_hedge on a long tail */
int flb_cmd_selftest(int argc, char **argv);

/* Pipeline stages shared by W3, W4, W5 and W5b (stages.c). */
FL_ERR_DECLARE(flb_err_boom); /* "stage failed" */

struct flb_stage {
	fl_chan *in, *out;  /* either may be NULL for the ends */
	int64_t n;          /* producer: items to send (< 0: forever) */
	bool select;        /* receives watch ctx */
	int64_t fail_at;    /* relay: fail on this value (< 0: never) */
	int64_t fail_ns;    /* relay: clock when it failed */
	int64_t sum, count; /* consumer results */
};

fl_err *flb_produce(fl_ctx *ctx, void *arg);
fl_err *flb_relay(fl_ctx *ctx, void *arg);
fl_err *flb_consume(fl_ctx *ctx, void *arg);
/* A stage's error for a failed send or receive status (ctx.Err() when
 * cancelled), as a returned reference. */
fl_err *flb_status_err(fl_ctx *ctx, int st);
/* The current error of ctx as a returned reference (ctx.Err()). */
fl_err *flb_ctx_err(fl_ctx *ctx);
/* The 4-stage pipeline of W3/W5/W5b: producer, 2 relays, consumer. */
struct flb_pipe {
	fl_chan *c[3];         /* c1, c2, c3 */
	struct flb_stage s[4]; /* producer, relay 1, relay 2, consumer */
};
/*
 * Creates c1..c3 with capacity cap and starts the 4 stages in g: the
 * producer sends 0..n-1 (n < 0: forever), relay 1 fails at fail_at (< 0:
 * never), and select makes every receive watch ctx.
 */
void flb_pipe_start(struct flb_pipe *p, fl_group *g, int64_t n, size_t cap, bool select,
		    int64_t fail_at);
/* Frees the channels (after the group's wait). */
void flb_pipe_free(struct flb_pipe *p);
/* Starts fn(arg) in g, exiting on failure. */
void flb_go(fl_group *g, fl_task_fn fn, void *arg);
/* A new channel of 8-byte elements, exiting on failure. */
fl_chan *flb_chan(size_t cap);

#endif
