/*
 * fl/report.h - the run report: one run of a scenario or benchmark, and the
 * files written from it (JSON summary, JUnit XML, Markdown, HTML).
 *
 * A report is a plain struct that a scenario or benchmark fills through the
 * builder functions below and then hands to the writers. The fields are
 * public so that writers, comparers and tests can read them; change them
 * only through the builders, which copy every string and keep the arrays
 * consistent.
 *
 * Units: every time is int64_t nanoseconds. Run-relative times (interval
 * starts, fault events) are offsets from the run's start, taken from the
 * monotonic clock; only start_unix_ns is a wall-clock time.
 *
 * A report built in memory usually carries live histograms (fl_hdr). The
 * JSON summary stores each histogram's summary and its full encoding, so a
 * report loaded back carries decoded histograms (owned) again; an entry
 * added as a summary only (fl_report_add_hist_stats) stays one, with
 * hdr == NULL. Every writer and fl_report_compare accept both; use
 * fl_report_hist_stats and fl_report_interval_stats rather than reading
 * the hdr directly.
 *
 * Repetitions: a run may be one of several repetitions of the same
 * configuration (repetition / repetitions below). Comparison takes single
 * reports today; a later statistical gate will take lists of them.
 *
 * Thread safety: none. A report belongs to one thread at a time; borrowed
 * histograms must not be recorded into while a writer runs.
 */
#ifndef FL_REPORT_H
#define FL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <fl/err.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fl_hdr fl_hdr; /* fl/hdr.h */

/* The number of standard percentiles every summary carries. */
#define FL_REPORT_NPCT 6

/*
 * The standard percentiles, in percent: 50, 90, 99, 99.9, 99.99 and 100
 * (the maximum). fl_report_stats.pct[i] is the value at fl_report_pcts[i].
 */
extern const double fl_report_pcts[FL_REPORT_NPCT];

/*
 * The label of standard percentile i as used in every output: "p50", "p90",
 * "p99", "p99.9", "p99.99", "max". Returns a static string.
 */
const char *fl_report_pct_label(int i);

/* The outcome of one check. */
enum fl_report_verdict {
	FL_REPORT_PASS = 0, /* the check held */
	FL_REPORT_FAIL = 1, /* the check was evaluated and did not hold */
	FL_REPORT_SKIP = 2, /* the check was not evaluated (say why) */
};

/* Returns "pass", "fail" or "skip". */
const char *fl_report_verdict_name(enum fl_report_verdict v);

/* Who frees a histogram handed to the report. */
enum fl_report_own {
	FL_REPORT_BORROW = 0, /* the caller frees it, after the report */
	FL_REPORT_TAKE = 1,   /* fl_report_free frees it */
};

/* A summary of one histogram: what the JSON carries and compare reads. */
typedef struct fl_report_stats {
	int64_t count;               /* total recorded samples */
	int64_t min;                 /* ns; 0 when empty */
	int64_t max;                 /* ns; 0 when empty */
	double mean;                 /* ns; 0 when empty */
	double stddev;               /* ns, population; 0 when empty */
	int64_t pct[FL_REPORT_NPCT]; /* ns at fl_report_pcts[i] */
	int64_t out_of_range;        /* recordings the histogram rejected */
} fl_report_stats;

/* A service-level objective on one histogram: pct must stay <= threshold. */
typedef struct fl_report_slo {
	double percentile;    /* in percent, 0 < p <= 100; 100 is the max */
	int64_t threshold_ns; /* the largest acceptable value */
} fl_report_slo;

/* One named latency histogram (a stage, or end to end). */
typedef struct fl_report_hist {
	char *name;            /* owned; unique within the report */
	fl_hdr *hdr;           /* NULL for a summary-only entry */
	bool owned;            /* fl_report_free frees hdr */
	fl_report_stats stats; /* valid when hdr == NULL */
	fl_report_slo *slos;   /* owned array, in the order added */
	size_t nslos;
} fl_report_hist;

/* One interval of a series: a histogram of what completed in it. */
typedef struct fl_report_interval {
	int64_t start_ns;      /* offset from the run start */
	int64_t length_ns;     /* > 0 */
	fl_hdr *hdr;           /* NULL for a summary-only entry */
	bool owned;            /* fl_report_free frees hdr */
	fl_report_stats stats; /* valid when hdr == NULL */
} fl_report_interval;

/* A named series of intervals, for throughput and tail latency over time. */
typedef struct fl_report_series {
	char *name;              /* owned; unique within the report */
	fl_report_interval *ivs; /* owned array, in the order added */
	size_t nivs;
	size_t cap_; /* private */
} fl_report_series;

/* A named count (items processed, retries, drops...). */
typedef struct fl_report_counter {
	char *name; /* owned; unique within the report */
	int64_t value;
} fl_report_counter;

/* One injected fault: which point fired, when and what it did. */
typedef struct fl_report_fault {
	int64_t at_ns; /* offset from the run start */
	char *point;   /* owned: the fault point's name */
	char *action;  /* owned: what was injected ("delay 5ms", "error") */
} fl_report_fault;

/* One check result. measured and threshold are NaN when not applicable. */
typedef struct fl_report_check {
	char *name; /* owned */
	enum fl_report_verdict verdict;
	char *message;    /* owned; "" when none */
	double measured;  /* in unit; NaN: none */
	double threshold; /* in unit; NaN: none */
	char *unit;       /* owned; "ns" formats as time; "" */
	/* Wall time spent on the check, ns (JUnit's testcase time); 0 when
	 * unknown. fl_report_add_check sets 0: assign it after the call. */
	int64_t time_ns;
} fl_report_check;

/* The machine a run ran on. Strings are owned, "" when unknown. */
typedef struct fl_report_host {
	char *hostname;
	char *cpu_model;
	char *kernel;  /* "Linux 6.1.0-18-amd64 x86_64" */
	int32_t cores; /* online CPUs; 0 when unknown */
} fl_report_host;

/*
 * One run. Build with fl_report_new and the fl_report_add_* calls; read
 * freely; free with fl_report_free. Strings are owned and never NULL.
 */
typedef struct fl_report {
	char *name;       /* scenario or benchmark name */
	uint64_t seed;    /* the seed that reproduces the run */
	char *fault_plan; /* the fault plan text, "" when none */
	char *backend;    /* the scheduler backend, "" when unknown */
	char *git_rev;    /* the revision built, "" when unknown */
	fl_report_host host;
	int64_t start_unix_ns; /* wall clock at the start, ns since epoch */
	int64_t duration_ns;   /* run length; 0 until set */
	int32_t repetition;    /* 0-based index of this repetition */
	int32_t repetitions;   /* repetitions in the set; 1 for a single run */

	fl_report_hist *hists;
	size_t nhists;
	fl_report_series *series;
	size_t nseries;
	fl_report_counter *counters;
	size_t ncounters;
	fl_report_fault *faults;
	size_t nfaults;
	fl_report_check *checks;
	size_t nchecks;

	size_t caps_[5]; /* private: capacities of the arrays above */
} fl_report;

/* Options for fl_report_new; the all-zero value (or NULL) means defaults. */
struct fl_report_opts {
	uint64_t seed;
	const char *fault_plan; /* NULL: "" */
	const char *backend;    /* NULL: "" */
	const char *git_rev;    /* NULL: "" */
	int64_t start_unix_ns;  /* 0: the wall clock now */
	int32_t repetition;     /* 0-based */
	int32_t repetitions;    /* 0: 1 */
};

/*
 * Creates an empty report named name, with the metadata in opts (NULL for
 * defaults). The host fields start empty: see fl_report_detect_host.
 * Returns NULL and sets *out on success.
 * Errors: FL_ERR_INVAL (name NULL or empty, negative repetition, or
 * repetition >= repetitions), FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_report_new(const char *name, const struct fl_report_opts *opts,
				    fl_report **out);

/* Frees the report, its strings and the histograms it owns. Accepts NULL. */
void fl_report_free(fl_report *r);

/* Sets the run's length. Errors: FL_ERR_INVAL (negative). */
FL_MUST_CHECK fl_err *fl_report_set_duration(fl_report *r, int64_t duration_ns);

/*
 * Fills r->host from this machine: hostname, the CPU model from
 * /proc/cpuinfo (falling back to the architecture), online cores and the
 * kernel from uname. Missing pieces stay "".
 * Errors: FL_ERR_NOMEM; a failing uname is an errno error.
 */
FL_MUST_CHECK fl_err *fl_report_detect_host(fl_report *r);

/*
 * Sets r->host explicitly (for tests and for reports made elsewhere).
 * NULL strings mean "". Errors: FL_ERR_INVAL (cores < 0), FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_report_set_host(fl_report *r, const char *hostname, const char *cpu_model,
					 int32_t cores, const char *kernel);

/*
 * Adds a latency histogram (values in ns) under name, e.g. "stage.parse" or
 * "e2e". The histogram is read when a writer runs, so a borrowed one may
 * still be recorded into until then.
 * Ownership: with FL_REPORT_TAKE the report frees hdr, but only if this
 * call succeeds; on error the caller still owns it.
 * Errors: FL_ERR_INVAL (name empty, hdr NULL, or name already used),
 * FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_report_add_hist(fl_report *r, const char *name, fl_hdr *hdr,
					 enum fl_report_own own);

/*
 * Adds a histogram known only by its summary (no fl_hdr), as the JSON
 * loader does. Same errors as fl_report_add_hist (without the hdr rule).
 */
FL_MUST_CHECK fl_err *fl_report_add_hist_stats(fl_report *r, const char *name,
					       const fl_report_stats *stats);

/*
 * Attaches an SLO to the histogram named hist: its value at percentile
 * (0 < percentile <= 100; 100 means the max) must be <= threshold_ns.
 * Errors: FL_ERR_INVAL (no such histogram, percentile out of range,
 * negative threshold), FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_report_add_slo(fl_report *r, const char *hist, double percentile,
					int64_t threshold_ns);

/*
 * Adds one check per SLO of every histogram, named "<hist> p99 <= 5 ms",
 * passing when the measured value is within the threshold and skipped when
 * the histogram is empty. Call it once, after recording has finished.
 * Errors: FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_report_eval_slos(fl_report *r);

/*
 * Appends one interval to the series named series (created on first use):
 * the histogram of what completed in [start_ns, start_ns + length_ns),
 * both offsets from the run start. Intervals should be added in time order.
 * Ownership: as fl_report_add_hist.
 * Errors: FL_ERR_INVAL (series empty, hdr NULL, start_ns < 0,
 * length_ns <= 0), FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_report_add_series_interval(fl_report *r, const char *series,
						    int64_t start_ns, int64_t length_ns,
						    fl_hdr *hdr, enum fl_report_own own);

/* As fl_report_add_series_interval, with a summary instead of a histogram. */
FL_MUST_CHECK fl_err *fl_report_add_series_interval_stats(fl_report *r, const char *series,
							  int64_t start_ns, int64_t length_ns,
							  const fl_report_stats *stats);

/*
 * Adds a counter. The counter "items" is the run's unit of work: compare
 * divides it by the duration to get the throughput.
 * Errors: FL_ERR_INVAL (name empty or already used), FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_report_add_counter(fl_report *r, const char *name, int64_t value);

/*
 * Records that fault point point fired at at_ns (offset from the run start)
 * and injected action (free text such as "delay 5ms" or "error EIO").
 * Errors: FL_ERR_INVAL (point empty, at_ns < 0), FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_report_add_fault_event(fl_report *r, int64_t at_ns, const char *point,
						const char *action);

/*
 * Adds a check result. measured and threshold are in unit ("ns" makes the
 * writers print them as times) and may be NaN when not applicable; message
 * and unit may be NULL.
 * Errors: FL_ERR_INVAL (name empty, verdict out of range), FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_report_add_check(fl_report *r, const char *name,
					  enum fl_report_verdict verdict, double measured,
					  double threshold, const char *unit, const char *message);

/* The histogram named name, or NULL. Borrowed. */
const fl_report_hist *fl_report_find_hist(const fl_report *r, const char *name);

/* The counter named name, or NULL. Borrowed. */
const fl_report_counter *fl_report_find_counter(const fl_report *r, const char *name);

/* The series named name, or NULL. Borrowed. */
const fl_report_series *fl_report_find_series(const fl_report *r, const char *name);

/* The number of checks with verdict v. */
size_t fl_report_count_verdict(const fl_report *r, enum fl_report_verdict v);

/*
 * Summarises a histogram: computed from its fl_hdr when it has one, else
 * the stored summary. fl_report_interval_stats does the same for an
 * interval.
 */
void fl_report_hist_stats(const fl_report_hist *h, fl_report_stats *out);
void fl_report_interval_stats(const fl_report_interval *iv, fl_report_stats *out);

/*
 * Formats a wall-clock time (ns since the epoch) as ISO 8601 UTC with
 * milliseconds, "2024-05-01T12:00:00.123Z", into buf (cap >= 32 bytes).
 * Returns buf.
 */
char *fl_report_format_time(int64_t unix_ns, char *buf, size_t cap);

/*
 * Formats a duration for people, with three significant digits and the
 * largest fitting unit: "850 ns", "12.3 us", "4.56 ms", "1.20 s". With
 * ascii false the micro sign is "µ" (UTF-8). Returns buf (cap >= 24).
 */
char *fl_report_format_ns(double ns, bool ascii, char *buf, size_t cap);

/*
 * Formats a plain number for people: whole numbers up to 1e15 in full with
 * no exponent ("1000000", "-42"), anything else with six significant
 * digits ("0.125", "3.14159", "1.5e+20"). Returns buf (cap >= 32).
 */
char *fl_report_format_num(double v, char *buf, size_t cap);

/*
 * Writers. Each writes to a temporary file in the target's directory,
 * flushes and fsyncs it, then renames it over the target, so a crash or
 * error never leaves a partly written file at path.
 * Errors: an errno error naming the path for any failing system call;
 * FL_ERR_NOMEM.
 */

/* The JSON summary (format in docs/reports.md); fl_report_load_json reads it. */
FL_MUST_CHECK fl_err *fl_report_write_json(const fl_report *r, const char *path);

/* JUnit XML: one testsuite for the run, one testcase per check. */
FL_MUST_CHECK fl_err *fl_report_write_junit(const fl_report *r, const char *path);

/* A Markdown summary: metadata, verdicts, percentiles, counters, faults. */
FL_MUST_CHECK fl_err *fl_report_write_markdown(const fl_report *r, const char *path);

/*
 * dir/index.html: one self-contained page (inline CSS and SVG, no network
 * fetches, no JavaScript needed) with the verdicts, latency by percentile,
 * throughput and p99 over time, and the fault timeline. dir must exist.
 */
FL_MUST_CHECK fl_err *fl_report_write_html(const fl_report *r, const char *dir);

/*
 * Writes all four outputs into dir, which must exist: report.json,
 * junit.xml, summary.md and index.html, as a set: they are built in a
 * staging directory beside dir and swapped in with one
 * renameat2(RENAME_EXCHANGE), so after a crash at any point dir holds the
 * old four or the new four (docs/reports.md). dir's other files stay (hard
 * links); when dir holds a subdirectory, is the working directory or above
 * it, or its file system cannot exchange, the files are written one by one
 * instead. First removes staging directories and temporary files left by
 * dead writers. Stops at the first error; on error dir is unchanged when
 * the set was staged. Errors: as the writers (FL_ERR_INVAL for NULL).
 * Thread-safe for different dirs; blocks on file I/O.
 */
FL_MUST_CHECK fl_err *fl_report_write_all(const fl_report *r, const char *dir);

/* Prints the Markdown summary to out (for CI logs). Errors: as writers. */
FL_MUST_CHECK fl_err *fl_report_print_markdown(const fl_report *r, FILE *out);

/*
 * Reads a JSON summary written by fl_report_write_json into a new report.
 * Histograms and intervals stored with their encoding come back as owned
 * fl_hdr histograms; the others as summaries (hdr == NULL).
 * The reader is strict JSON (RFC 8259) and checks the schema; members it
 * does not know are ignored, so newer minor additions still load.
 * Errors: an errno error naming the path when it cannot be read;
 * FL_ERR_INVAL wrapped as "path:line:col: what" for malformed JSON or a
 * schema violation; FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_report_load_json(const char *path, fl_report **out);

/* As fl_report_load_json, from a buffer; name is used in error messages. */
FL_MUST_CHECK fl_err *fl_report_parse_json(const char *text, size_t len, const char *name,
					   fl_report **out);

/*
 * Prints a side-by-side comparison of two runs to out as an aligned text
 * table: for each histogram (matched by name) p50, p99, p99.9 and max with
 * the change in percent; then each counter; then the throughput ("items"
 * per second of duration). Names present in only one run are marked
 * "(new)" or "(missing)".
 * Errors: an errno error if writing to out fails; FL_ERR_NOMEM.
 */
FL_MUST_CHECK fl_err *fl_report_compare(const fl_report *base, const fl_report *cur, FILE *out);

/*
 * Merges src into dst losslessly, as shards of one run combine: histograms
 * of the same name add (fl_hdr_add) and new ones are copied, series
 * intervals with the same start and length add and new ones are inserted
 * in start order, counters of the same name add, SLOs (once each), fault
 * events and checks are appended, and the duration becomes the longer one.
 * Nothing is averaged. dst's metadata (name, seed, host...) is kept.
 * Errors: FL_ERR_INVAL naming a histogram or interval known only by its
 * summary (it cannot be added); FL_ERR_NOMEM. On error dst may hold part
 * of src.
 */
FL_MUST_CHECK fl_err *fl_report_merge(fl_report *dst, const fl_report *src);

/*
 * Merges the .hlog files in[0..n-1] into out (written atomically):
 * intervals with the same tag, start and end add; the others are kept;
 * the output is sorted by start time, then tag, and stamped with the
 * earliest StartTime. Errors: an errno error naming a file that cannot be
 * read or written; the reader's errors wrapped with the file name.
 */
FL_MUST_CHECK fl_err *fl_report_merge_hlogs(const char *out, const char *const *in, size_t n);

/* One curve of fl_report_write_curves_html: points (x[i], y[i]) in order. */
typedef struct fl_report_curve {
	const char *name; /* legend text */
	const double *x;  /* a rate, per second */
	const double *y;  /* a time, ns (> 0 to be drawn on the log axis) */
	size_t n;
	long mark; /* index of the highlighted point (the knee); -1: none */
} fl_report_curve;

/* A page of rate-vs-latency curves with a table under them. */
typedef struct fl_report_curves {
	const char *title;
	const char *subtitle;    /* one line under the title; NULL: none */
	const char *x_label;     /* e.g. "achieved throughput" */
	const char *y_label;     /* e.g. "p99 response time" */
	int64_t hline_ns;        /* a threshold drawn across (the SLO); 0: none */
	const char *hline_label; /* its legend text */
	const char *mark_label;  /* legend text of the marked points */
	const fl_report_curve *curves;
	size_t ncurves;
	const char *const *head; /* ncols table headers; NULL: no table */
	size_t ncols;
	const char *const *cells; /* nrows x ncols cells, row-major */
	size_t nrows;
	const bool *row_marked; /* nrows flags: highlight the row; may be NULL */
} fl_report_curves;

/*
 * dir/index.html: a self-contained page (same style as the run report: no
 * scripts, no fetches) with one SVG plot of the curves on a linear rate
 * axis and a log time axis, the threshold line, the marked points, and the
 * table. dir must exist. Every string is escaped.
 * Errors: as the writers above.
 */
FL_MUST_CHECK fl_err *fl_report_write_curves_html(const fl_report_curves *c, const char *dir);

/*
 * Atomic file writing, shared by the writers above and usable by other
 * writers (.hlog, .hgrm). Open creates a temporary file next to path;
 * commit flushes, fsyncs, renames it onto path, fsyncs the directory and
 * frees the handle; abort removes the temporary file and frees the handle.
 * Every opened handle must be committed or aborted exactly once.
 */
typedef struct fl_report_file fl_report_file;

/*
 * Creates directory path and its missing parents (mkdir -p, mode 0777
 * before the umask); an existing directory is fine. Returns NULL, or
 * FL_ERR_INVAL for a path longer than PATH_MAX, or an errno error naming
 * the component that could not be made. Thread-safe; blocks on the file
 * system.
 */
FL_MUST_CHECK fl_err *fl_report_mkdir_p(const char *path);

/* Errors: an errno error naming path (e.g. the directory does not exist). */
FL_MUST_CHECK fl_err *fl_report_file_open(const char *path, fl_report_file **out);
/* The stream to write to. Borrowed; do not fclose it. */
FILE *fl_report_file_stream(fl_report_file *f);
/*
 * Errors: an errno error naming path. A failure before the rename leaves
 * the target untouched; only a failing fsync of the directory comes after
 * it (the new file is then in place but its rename may not be durable).
 * Frees f in every case.
 */
FL_MUST_CHECK fl_err *fl_report_file_commit(fl_report_file *f);
/* Discards the temporary file. Accepts NULL. */
void fl_report_file_abort(fl_report_file *f);

#ifdef __cplusplus
}
#endif
#endif
