/*
 * report_internal.h - internals shared by the report_*.c files. Not installed.
 */
#ifndef FL_REPORT_INTERNAL_H
#define FL_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <fl/err.h>
#include <fl/report.h>

/* ---- report_text.c: text and memory helpers (a leaf) ---------------- */

/*
 * Makes room for need elements of elem bytes in *arr (capacity *cap),
 * growing geometrically. Returns false (and changes nothing) when out of
 * memory or when the size would overflow.
 */
bool fl__report_grow(void **arr, size_t *cap, size_t need, size_t elem);

/* strdup that maps NULL to "". Returns NULL only when out of memory. */
char *fl__report_strdup(const char *s);

/*
 * Decodes one UTF-8 sequence at s (NUL-terminated). Returns its length in
 * bytes and sets *cp, or returns 0 for an invalid, overlong or truncated
 * sequence, a surrogate or a code point above U+10FFFF.
 */
size_t fl__report_utf8_next(const char *s, uint32_t *cp);

/*
 * Writes s escaped for XML and HTML text and attribute values (& < > " '),
 * with invalid UTF-8 and control characters other than tab, LF and CR
 * replaced by U+FFFD, which XML 1.0 cannot carry.
 */
void fl__report_xml_escape(FILE *out, const char *s);

/*
 * Formats d with the fewest significant digits that read back as the same
 * double ("0.1", "5000.898..."), or "null" for NaN and infinities.
 * buf must hold 32 bytes. Returns buf.
 */
char *fl__report_fmt_double(double d, char *buf, size_t cap);

/*
 * Formats a time in ns with up to three significant digits and no trailing
 * zeros, for axis ticks and names: "0", "500 us", "1.5 ms", "20 s". With
 * ascii false the micro sign is UTF-8. Returns buf.
 */
char *fl__report_fmt_ns_g(double ns, bool ascii, char *buf, size_t cap);

/* Formats v with three significant digits and SI suffixes ("12.3k"). */
char *fl__report_fmt_si(double v, char *buf, size_t cap);

/* ---- report.c: the model ---------------------------------------------- */

/*
 * The value of h at percentile p: from the standard percentiles of st (h's
 * summary) when p is one of them, else from h's fl_hdr. False when neither
 * can answer (a loaded report and an unusual percentile).
 */
bool fl__report_value_at(const fl_report_hist *h, const fl_report_stats *st, double p, int64_t *v);

/* One fault point with its event count, in order of first firing. */
typedef struct fl__report_point {
	const char *name; /* borrowed from the report */
	int64_t count;
} fl__report_point;

/*
 * The distinct fault points of r. Sets *out to a malloc'ed array (NULL when
 * there are none) and returns its length; returns SIZE_MAX when out of
 * memory.
 */
size_t fl__report_fault_points(const fl_report *r, fl__report_point **out);

/* One (fault point, action) pair with its event count; action is the
 * first word of the events' action text ("sleep" of "sleep 1.2ms"). */
typedef struct fl__report_fault_kind {
	const char *point; /* borrowed from the report */
	char action[24];
	int64_t count;
} fl__report_fault_kind;

/* As fl__report_fault_points, per (point, action) pair. */
size_t fl__report_fault_kinds(const fl_report *r, fl__report_fault_kind **out);

/* The order the writers list checks in: failures, then skips, then
 * passes (index 0, 1, 2), so what needs a look comes first. */
extern const enum fl_report_verdict fl__report_verdict_order[3];

/* ---- report_file.c: atomic files (above report_text.c) -------------- */

/* An emitter writes one output format of r to a stream. */
/*
 * True if name is prefix, a pid, sep and six characters (a temporary or
 * staging name) and that pid is neither this process nor alive: what a
 * killed writer left. Never true for a live process's name.
 */
bool fl__report_stale_name(const char *name, const char *prefix, char sep);
/* Calls fn(dfd, name, st, arg) for each entry of the directory open as dfd
 * (not following a symlink in its lstat; entries it cannot stat are
 * skipped), then closes dfd. A dfd < 0 (the open failed) does nothing.
 * For the sweeps that clean up after killed writers. */
struct stat;
void fl__report_dir_each(int dfd,
			 void (*fn)(int dfd, const char *name, const struct stat *st, void *arg),
			 void *arg);

typedef fl_err *(*fl__report_emit_fn)(const fl_report *r, FILE *out);

/* Writes path atomically with emit (fl_report_file_*). */
FL_MUST_CHECK fl_err *fl__report_write_with(const fl_report *r, const char *path,
					    fl__report_emit_fn emit);

/* The error to return when writing to out failed (errno of ferror). */
FL_MUST_CHECK fl_err *fl__report_stream_err(FILE *out, const char *what);

/* ---- the writers, one file per format ---------------------------------- */

/* The emitters behind the fl_report_write_* calls. */
FL_MUST_CHECK fl_err *fl__report_emit_json(const fl_report *r, FILE *out);
FL_MUST_CHECK fl_err *fl__report_emit_junit(const fl_report *r, FILE *out);
FL_MUST_CHECK fl_err *fl__report_emit_markdown(const fl_report *r, FILE *out);
FL_MUST_CHECK fl_err *fl__report_emit_html(const fl_report *r, FILE *out);

/*
 * The SVG panels of the HTML page (report_svg.c). Each writes one <svg>
 * element, or nothing when r has no data for it, and returns whether it
 * wrote anything (false also when out of memory).
 */
/* The percentile plot of the histograms sel[0..n) of r (each drawn only as
 * far into the tail as its sample count resolves, its count in the
 * legend; prefix, when not NULL, is left out of the legend's names).
 * False when none has samples. */
bool fl__svg_percentile_plot(FILE *out, const fl_report *r, const size_t *sel, size_t n,
			     const char *prefix);
/* Which series a time plot draws (indices into r->series), and over what:
 * the whole run's time axis (span false, lined up with the fault
 * timeline) or the selection's own span (one scenario of a suite, its
 * name and dot left out of the legend: strip). */
typedef struct fl__svg_sel {
	const size_t *idx;
	size_t n;
	bool span;
	size_t strip; /* leading bytes of the names the legend leaves out */
} fl__svg_sel;
bool fl__svg_throughput_plot(FILE *out, const fl_report *r, const fl__svg_sel *sel);
bool fl__svg_p99_plot(FILE *out, const fl_report *r, const fl__svg_sel *sel);
bool fl__svg_fault_timeline(FILE *out, const fl_report *r);
bool fl__svg_curves_plot(FILE *out, const fl_report_curves *c);

/* The colour of histogram or series number i in every plot and legend. */
const char *fl__svg_color(size_t i);

#endif
