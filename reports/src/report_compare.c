/*
 * report_compare.c - a side-by-side text comparison of two runs.
 *
 * Lines the runs up by name: histograms (p50, p99, p99.9, max), counters
 * and the throughput ("items" per second of duration), each with the
 * relative change. Names in only one run are listed too, marked "(new)" or
 * "(missing)", so a renamed stage is visible rather than silently dropped.
 *
 * Design: rows are built into a table first and printed second, so every
 * column is exactly as wide as its widest cell (widths are counted in code
 * points, so UTF-8 names align). This is a descriptive diff, not a verdict:
 * the statistical gate over repetitions will live beside it and take lists
 * of reports.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fl/report.h>

#include "report_internal.h"

#define NCOL 5
#define CELL 112

typedef struct row {
	char cell[NCOL][CELL];
	bool rule; /* print as a line of dashes under the header */
} row;

typedef struct table {
	row *rows;
	size_t n, cap;
	bool nomem;
} table;

/* The percentiles compare shows, as indices into fl_report_pcts. */
static const int shown[] = {0, 2, 3, 5};

/* Copies s into a cell, cut at a code point boundary, controls as '?'. */
static void cell_copy(char *dst, const char *s)
{
	size_t w = 0;
	while (*s) {
		uint32_t cp;
		size_t n = fl__report_utf8_next(s, &cp);
		if (n == 0 || cp < 0x20 || cp == 0x7f)
			n = 1, cp = '?';
		if (w + n >= CELL)
			break;
		if (cp == '?')
			dst[w] = '?';
		else
			memcpy(dst + w, s, n);
		w += n;
		s += n;
	}
	dst[w] = '\0';
}

static row *add_row(table *t, const char *a, const char *b, const char *c, const char *d,
		    const char *e)
{
	if (!fl__report_grow((void **)&t->rows, &t->cap, t->n + 1, sizeof(row))) {
		t->nomem = true;
		return NULL;
	}
	row *r = &t->rows[t->n++];
	r->rule = false;
	const char *src[NCOL] = {a, b, c, d, e};
	for (int i = 0; i < NCOL; i++)
		cell_copy(r->cell[i], src[i] ? src[i] : "");
	return r;
}

static void change(double base, double cur, char *buf, size_t cap)
{
	if (!isfinite(base) || !isfinite(cur))
		snprintf(buf, cap, "-");
	else if (base == 0)
		snprintf(buf, cap, cur == 0 ? "0.0%%" : "n/a");
	else
		snprintf(buf, cap, "%+.1f%%", (cur - base) / base * 100.0);
}

/* "name", "name (new)" or "name (missing)". */
static void label(const char *name, const void *in_base, const void *in_cur, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s", name, !in_base ? " (new)" : !in_cur ? " (missing)" : "");
}

static void hist_rows(table *t, const char *name, const fl_report_hist *b, const fl_report_hist *c)
{
	fl_report_stats sb = {0}, sc = {0};
	char lbl[CELL], vb[32], vc[32], ch[32];
	if (b)
		fl_report_hist_stats(b, &sb);
	if (c)
		fl_report_hist_stats(c, &sc);
	label(name, b, c, lbl, sizeof(lbl));
	for (size_t k = 0; k < sizeof(shown) / sizeof(shown[0]); k++) {
		int i = shown[k];
		fl_report_format_ns(b ? (double)sb.pct[i] : NAN, true, vb, sizeof(vb));
		fl_report_format_ns(c ? (double)sc.pct[i] : NAN, true, vc, sizeof(vc));
		change(b ? (double)sb.pct[i] : NAN, c ? (double)sc.pct[i] : NAN, ch, sizeof(ch));
		add_row(t, k ? "" : lbl, fl_report_pct_label(i), vb, vc,
			!b   ? "new"
			: !c ? "missing"
			     : ch);
	}
}

static void hist_section(table *t, const fl_report *base, const fl_report *cur)
{
	for (size_t i = 0; i < base->nhists; i++)
		hist_rows(t, base->hists[i].name, &base->hists[i],
			  fl_report_find_hist(cur, base->hists[i].name));
	for (size_t i = 0; i < cur->nhists; i++)
		if (!fl_report_find_hist(base, cur->hists[i].name))
			hist_rows(t, cur->hists[i].name, NULL, &cur->hists[i]);
}

static void counter_row(table *t, const char *name, const fl_report_counter *b,
			const fl_report_counter *c)
{
	char lbl[CELL], vb[32] = "-", vc[32] = "-", ch[32];
	label(name, b, c, lbl, sizeof(lbl));
	if (b)
		snprintf(vb, sizeof(vb), "%" PRId64, b->value);
	if (c)
		snprintf(vc, sizeof(vc), "%" PRId64, c->value);
	change(b ? (double)b->value : NAN, c ? (double)c->value : NAN, ch, sizeof(ch));
	add_row(t, lbl, "count", vb, vc, !b ? "new" : !c ? "missing" : ch);
}

static void counter_section(table *t, const fl_report *base, const fl_report *cur)
{
	for (size_t i = 0; i < base->ncounters; i++)
		counter_row(t, base->counters[i].name, &base->counters[i],
			    fl_report_find_counter(cur, base->counters[i].name));
	for (size_t i = 0; i < cur->ncounters; i++)
		if (!fl_report_find_counter(base, cur->counters[i].name))
			counter_row(t, cur->counters[i].name, NULL, &cur->counters[i]);
}

/* items per second, or NaN when the run has no "items" or no duration. */
static double throughput(const fl_report *r)
{
	const fl_report_counter *c = fl_report_find_counter(r, "items");
	if (!c || r->duration_ns <= 0)
		return NAN;
	return (double)c->value * 1e9 / (double)r->duration_ns;
}

static void throughput_row(table *t, const fl_report *base, const fl_report *cur)
{
	double b = throughput(base), c = throughput(cur);
	char vb[32] = "-", vc[32] = "-", ch[32];
	if (isfinite(b))
		strcat(fl__report_fmt_si(b, vb, sizeof(vb) - 3), "/s");
	if (isfinite(c))
		strcat(fl__report_fmt_si(c, vc, sizeof(vc) - 3), "/s");
	change(b, c, ch, sizeof(ch));
	add_row(t, "throughput", "items/s", vb, vc, ch);
}

/* Display width in code points. */
static size_t width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

static void print_table(FILE *out, const table *t)
{
	size_t w[NCOL] = {0};
	for (size_t i = 0; i < t->n; i++)
		for (int c = 0; c < NCOL; c++)
			if (width(t->rows[i].cell[c]) > w[c])
				w[c] = width(t->rows[i].cell[c]);
	for (size_t i = 0; i < t->n; i++) {
		const row *r = &t->rows[i];
		bool rule = r->rule;
		for (int c = 0; c < NCOL; c++) {
			const char *s = r->cell[c];
			size_t pad = w[c] - width(s);
			if (rule) {
				for (size_t k = 0; k < w[c]; k++)
					fputc('-', out);
			} else if (c < 2) { /* names left, numbers right */
				fprintf(out, "%s%*s", s, (int)pad, "");
			} else {
				fprintf(out, "%*s%s", (int)pad, "", s);
			}
			fputs(c + 1 < NCOL ? "  " : "\n", out);
		}
	}
}

static void print_heading(FILE *out, const char *which, const fl_report *r)
{
	char when[40], name[CELL], rev[CELL];
	cell_copy(name, r->name);
	cell_copy(rev, *r->git_rev ? r->git_rev : "?");
	fprintf(out, "%s %s  rev %s  seed %" PRIu64 "  started %s  checks %zu/%zu passed\n", which,
		name, rev, r->seed, fl_report_format_time(r->start_unix_ns, when, sizeof(when)),
		fl_report_count_verdict(r, FL_REPORT_PASS), r->nchecks);
}

fl_err *fl_report_compare(const fl_report *base, const fl_report *cur, FILE *out)
{
	table t = {0};
	add_row(&t, "name", "metric", "base", "new", "change");
	row *rule = add_row(&t, "", "", "", "", "");
	if (rule)
		rule->rule = true;
	hist_section(&t, base, cur);
	counter_section(&t, base, cur);
	throughput_row(&t, base, cur);
	if (t.nomem) {
		free(t.rows);
		return FL_ERR_NOMEM;
	}
	print_heading(out, "base:", base);
	print_heading(out, "new: ", cur);
	fputc('\n', out);
	print_table(out, &t);
	free(t.rows);
	return fl__report_stream_err(out, "comparison");
}
