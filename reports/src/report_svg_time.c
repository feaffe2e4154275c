/*
 * report_svg_time.c - the time-based panels of index.html.
 *
 * Throughput over time and p99 over time: one path per series, one point
 * per interval at its middle, fault events as faint red rules; over the
 * whole run's axis, or over one scenario's span (fl__svg_sel). The fault
 * timeline: one lane per fault point, one tick per event, coloured by the
 * action's first word. The three panels share their width, margins and
 * time axis (fl__svg_time_axis) so their time axes line up when stacked.
 *
 * Layering: draws with the primitives of report_svg.c only; no state.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fl/hdr.h>
#include <fl/report.h>

#include "report_internal.h"
#include "report_svg_internal.h"
#include "fl_alloc_internal.h"

#define MAX_RULES 400 /* fault rules drawn on the time plots */

static const char *const action_palette[] = {"#d62728", "#9467bd", "#ff7f0e", "#1f77b4",
					     "#2ca02c", "#8c564b", "#e377c2"};

/* ---- over time ------------------------------------------------------- */

static void fault_rules(FILE *out, const fl_report *r, const fl__svg_axis *x,
			const fl__svg_frame *f)
{
	for (size_t i = 0, drawn = 0; i < r->nfaults && drawn < MAX_RULES; i++) {
		double at = (double)r->faults[i].at_ns;
		if (at < x->lo || at > x->hi)
			continue;
		drawn++;
		double px = fl__svg_pos(x, at);
		fprintf(out,
			"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#cf222e\" stroke-opacity=\"0.28\"><title>fault ",
			px, px, f->t, f->h - f->b);
		fl__report_xml_escape(out, r->faults[i].point);
		fputs(": ", out);
		fl__report_xml_escape(out, r->faults[i].action);
		fputs("</title></line>\n", out);
	}
}

/*
 * The colour of series i: that of the histogram of the same name, so "e2e"
 * looks the same in every plot; otherwise the next colours after the
 * histograms'.
 */
static const char *series_color(const fl_report *r, size_t i)
{
	for (size_t j = 0; j < r->nhists; j++)
		if (strcmp(r->hists[j].name, r->series[i].name) == 0)
			return fl__svg_color(j);
	return fl__svg_color(r->nhists + i);
}

/* The width a legend entry takes. */
static double entry_w(const char *name) { return 40 + 8.0 * fmin(22, (double)strlen(name)); }

#define LEGEND_ROWS 4     /* rows of legend at most above a time plot */
#define LEGEND_ROW_H 18.0 /* px per row */
#define LEGEND_MORE_W 200.0

/*
 * The legend of the time plots, above the plot area: the fault rules'
 * entry, then one per series, wrapping over up to LEGEND_ROWS rows. A
 * suite's report has a series per histogram of every scenario, more than
 * that holds: the rest are "+N more" (every point names its series when
 * hovered). Returns the rows used; draws only when out is not NULL, the
 * rows ending just above the plot area (f->t).
 */
static int series_legend(FILE *out, const fl_report *r, const fl__svg_sel *sel, bool faults,
			 const fl__svg_frame *f, int rows)
{
	double right = f->w - f->r, x = f->l;
	int row = 0;
#define LEGEND_Y (f->t - 14 - (double)(rows - 1 - row) * LEGEND_ROW_H)
	if (faults) {
		if (out)
			fl__svg_legend_entry(out, x, LEGEND_Y, "#f0a8ad", "fault fired", false);
		x += entry_w("fault fired");
	}
	size_t k = 0;
	for (; k < sel->n; k++) {
		size_t i = sel->idx[k];
		const char *name = r->series[i].name + sel->strip;
		double w = entry_w(name);
		double need = w + (row + 1 == LEGEND_ROWS && k + 1 < sel->n ? LEGEND_MORE_W : 0);
		if (x + need > right) {
			if (row + 1 == LEGEND_ROWS)
				break;
			row++;
			x = f->l;
		}
		if (out)
			fl__svg_legend_entry(out, x, LEGEND_Y, series_color(r, i), name, false);
		x += w;
	}
	if (k < sel->n && out)
		fprintf(out,
			"<text x=\"%.1f\" y=\"%.1f\" class=\"legend\">+%zu more (hover a "
			"point)</text>\n",
			x, LEGEND_Y + 4, sel->n - k);
#undef LEGEND_Y
	return row + 1;
}

/* The per-interval value plotted: throughput (items/s) or p99 (ns). */
static double series_value(const fl_report_interval *iv, bool p99, bool *valid)
{
	fl_report_stats st;
	fl_report_interval_stats(iv, &st);
	*valid = !p99 || st.count > 0;
	if (p99)
		return (double)st.pct[2];
	return (double)st.count / ((double)iv->length_ns / 1e9);
}

static void series_path(FILE *out, const fl_report_series *s, bool p99, const fl__svg_axis *x,
			const fl__svg_axis *y, const char *color)
{
	char buf[32];
	fl__svg_pen p = {.out = out};
	fl__svg_path_open(out, color, 2.2);
	for (size_t j = 0; j < s->nivs; j++) {
		bool ok;
		double v = series_value(&s->ivs[j], p99, &ok);
		double mid = (double)s->ivs[j].start_ns + (double)s->ivs[j].length_ns / 2;
		if (!ok) {
			p.down = false; /* a gap: start a new subpath */
			continue;
		}
		fl__svg_pen_to(&p, fl__svg_pos(x, mid), fl__svg_pos(y, v));
	}
	fputs("\"/>\n", out);
	for (size_t j = 0; j < s->nivs; j++) {
		bool ok;
		double v = series_value(&s->ivs[j], p99, &ok);
		double mid = (double)s->ivs[j].start_ns + (double)s->ivs[j].length_ns / 2;
		if (!ok)
			continue;
		fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>",
			fl__svg_pos(x, mid), fl__svg_pos(y, v), color);
		char val[32];
		if (p99)
			fl_report_format_ns(v, false, val, sizeof(val));
		else
			strcat(fl__report_fmt_si(v, val, sizeof(val) - 3), "/s");
		fl__report_xml_escape(out, s->name);
		fprintf(out, " at %s: %s%s</title></circle>\n",
			fl__svg_tick_ns((double)s->ivs[j].start_ns, buf, sizeof(buf)),
			p99 ? "p99 " : "", val);
	}
}

/* The p99 SLO of the histogram named like series s, or NULL. */
static const fl_report_slo *series_slo(const fl_report *r, const fl_report_series *s,
				       const fl_report_hist **h)
{
	*h = fl_report_find_hist(r, s->name);
	for (size_t j = 0; *h && j < (*h)->nslos; j++)
		if ((*h)->slos[j].percentile == 99.0)
			return &(*h)->slos[j];
	return NULL;
}

/* Draws the p99 SLO of each series across the p99-over-time plot. */
static void series_slos(FILE *out, const fl_report *r, const fl__svg_sel *sel,
			const fl__svg_axis *x, const fl__svg_axis *y)
{
	for (size_t k = 0; k < sel->n; k++) {
		size_t i = sel->idx[k];
		const fl_report_hist *h;
		const fl_report_slo *slo = series_slo(r, &r->series[i], &h);
		bool broken = false;
		if (!slo)
			continue;
		for (size_t j = 0; j < r->series[i].nivs; j++) {
			bool ok;
			double v = series_value(&r->series[i].ivs[j], true, &ok);
			broken |= ok && v > (double)slo->threshold_ns;
		}
		fl__svg_slo_line(out, h, slo, broken, x->p0, x->p1,
				 fl__svg_pos(y, (double)slo->threshold_ns), series_color(r, i));
	}
}

/* The y domain of a time plot; false when there is nothing to draw. */
static bool series_domain(const fl_report *r, const fl__svg_sel *sel, bool p99, fl__svg_axis *y)
{
	double lo = INFINITY, hi = 0;
	for (size_t k = 0; k < sel->n; k++)
		for (size_t i = sel->idx[k], j = 0; j < r->series[i].nivs; j++) {
			bool ok;
			double v = series_value(&r->series[i].ivs[j], p99, &ok);
			if (ok && v > 0) {
				lo = fmin(lo, v);
				hi = fmax(hi, v);
			}
		}
	if (hi <= 0)
		return false;
	for (size_t k = 0; p99 && k < sel->n; k++) {
		const fl_report_hist *h;
		const fl_report_slo *slo = series_slo(r, &r->series[sel->idx[k]], &h);
		if (slo && slo->threshold_ns > 0) {
			lo = fmin(lo, (double)slo->threshold_ns);
			hi = fmax(hi, (double)slo->threshold_ns);
		}
	}
	y->log = p99 && hi / lo > 30;
	if (y->log) {
		y->lo = fl__svg_round125(lo, false);
		y->hi = fl__svg_round125(hi, true);
	} else {
		double step = fl__svg_nice_step(hi, p99 ? 5 : 4);
		y->lo = 0;
		y->hi = ceil(hi * 1.04 / step) * step;
	}
	return true;
}

/* The selection's span: from its first interval's start to its last
 * interval's end, a twentieth wider each side (at least 1 ms). */
static fl__svg_axis sel_axis(const fl_report *r, const fl__svg_sel *sel, const fl__svg_frame *f)
{
	double lo = INFINITY, hi = 0;
	for (size_t k = 0; k < sel->n; k++)
		for (size_t i = sel->idx[k], j = 0; j < r->series[i].nivs; j++) {
			const fl_report_interval *iv = &r->series[i].ivs[j];
			lo = fmin(lo, (double)iv->start_ns);
			hi = fmax(hi, (double)iv->start_ns + (double)iv->length_ns);
		}
	double pad = fmax((hi - lo) / 20, 1e6);
	return (fl__svg_axis){false, fmax(0, lo - pad), hi + pad, f->l, f->w - f->r};
}

static bool time_plot(FILE *out, const fl_report *r, const fl__svg_sel *sel, bool p99)
{
	fl__svg_frame f = {FL__SVG_PLOT_W, 250, 150, 40, 34, 34};
	fl__svg_axis x = sel->span ? sel_axis(r, sel, &f) : fl__svg_time_axis(r, &f);
	bool faults = false;
	for (size_t i = 0; i < r->nfaults && !faults; i++)
		faults = (double)r->faults[i].at_ns >= x.lo && (double)r->faults[i].at_ns <= x.hi;
	int rows = series_legend(NULL, r, sel, faults, &f, 1);
	f.t += (rows - 1) * LEGEND_ROW_H; /* the legend's rows above the plot */
	f.h += (rows - 1) * LEGEND_ROW_H;
	fl__svg_axis y = {.p0 = f.h - f.b, .p1 = f.t};
	if (!series_domain(r, sel, p99, &y))
		return false;
	fl__svg_open(out, &f, p99 ? "p99 latency over time" : "throughput over time");
	if (p99)
		fl__svg_y_time_ticks(out, &y, &f);
	else
		fl__svg_y_si_ticks(out, &y, &f);
	fl__svg_x_time_ticks(out, &x, &f, true);
	fault_rules(out, r, &x, &f);
	(void)series_legend(out, r, sel, faults, &f, rows);
	if (p99)
		series_slos(out, r, sel, &x, &y);
	for (size_t k = 0; k < sel->n; k++)
		series_path(out, &r->series[sel->idx[k]], p99, &x, &y,
			    series_color(r, sel->idx[k]));
	fputs("</svg>\n", out);
	return true;
}

bool fl__svg_throughput_plot(FILE *out, const fl_report *r, const fl__svg_sel *sel)
{
	return time_plot(out, r, sel, false);
}

bool fl__svg_p99_plot(FILE *out, const fl_report *r, const fl__svg_sel *sel)
{
	return time_plot(out, r, sel, true);
}

/* ---- fault timeline -------------------------------------------------- */

/* The colour of an action, by its first word among the kinds seen so far. */
static const char *action_color(const char **kinds, size_t *nkinds, const char *action)
{
	size_t n = sizeof(action_palette) / sizeof(action_palette[0]);
	size_t len = strcspn(action, " :(");
	for (size_t i = 0; i < *nkinds; i++)
		if (strncmp(kinds[i], action, len) == 0 && strcspn(kinds[i], " :(") == len)
			return action_palette[i % n];
	if (*nkinds >= 32)
		return "#6e7781";
	kinds[(*nkinds)++] = action;
	return action_palette[(*nkinds - 1) % n];
}

static void lane(FILE *out, const fl__svg_frame *f, double y, size_t i, const fl__report_point *pt)
{
	fprintf(out,
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"24\" "
		"fill=\"%s\"/>\n",
		f->l, y, f->w - f->l - f->r, i % 2 ? "#ffffff" : "#f3f5f7");
	fprintf(out,
		"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
		"class=\"lane\"><title>",
		f->l - 10, y + 16);
	fl__report_xml_escape(out, pt->name);
	fputs("</title>", out);
	fl__svg_text_trunc(out, pt->name, 19);
	fprintf(out,
		"</text>\n<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">"
		"\xc3\x97%" PRId64 "</text>\n",
		f->w - f->r + 6, y + 16, pt->count);
}

static void fault_marks(FILE *out, const fl_report *r, const fl__report_point *pts, size_t n,
			const fl__svg_axis *x, const fl__svg_frame *f, const char **kinds,
			size_t *nkinds)
{
	char buf[32];
	for (size_t i = 0; i < r->nfaults; i++) {
		const fl_report_fault *e = &r->faults[i];
		size_t k = 0;
		while (k < n && strcmp(pts[k].name, e->point) != 0)
			k++;
		fprintf(out,
			"<rect x=\"%.1f\" y=\"%.1f\" width=\"3\" height=\"16\" "
			"rx=\"1\" fill=\"%s\"><title>t = %s \xc2\xb7 ",
			fl__svg_pos(x, (double)e->at_ns) - 1.5, f->t + 24.0 * (double)k + 4,
			action_color(kinds, nkinds, e->action),
			fl__svg_tick_ns((double)e->at_ns, buf, sizeof(buf)));
		fl__report_xml_escape(out, e->point);
		fputs(" \xc2\xb7 ", out);
		fl__report_xml_escape(out, e->action);
		fputs("</title></rect>\n", out);
	}
}

static void action_legend(FILE *out, const fl__svg_frame *f, const char **kinds, size_t nkinds)
{
	size_t n = sizeof(action_palette) / sizeof(action_palette[0]);
	double x = f->l;
	for (size_t i = 0; i < nkinds && i < 12; i++) {
		size_t len = strcspn(kinds[i], " :(");
		char *word = fl__strndup(kinds[i], len ? len : 1);
		if (!word)
			return;
		fprintf(out,
			"<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" "
			"rx=\"2\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" "
			"class=\"legend\">",
			x, f->t - 22, action_palette[i % n], x + 15, f->t - 13);
		fl__svg_text_trunc(out, word, 16);
		fputs("</text>\n", out);
		x += 34 + 8.0 * fmin(16, (double)len);
		free(word);
	}
}

bool fl__svg_fault_timeline(FILE *out, const fl_report *r)
{
	fl__report_point *pts = NULL;
	size_t n = fl__report_fault_points(r, &pts);
	if (n == SIZE_MAX || n == 0)
		return false;
	fl__svg_frame f = {FL__SVG_PLOT_W, 34 + 24.0 * (double)n + 30, 150, 40, 34, 30};
	fl__svg_axis x = fl__svg_time_axis(r, &f);
	const char *kinds[32];
	size_t nkinds = 0;
	fl__svg_open(out, &f, "fault timeline");
	for (size_t i = 0; i < n; i++)
		lane(out, &f, f.t + 24.0 * (double)i, i, &pts[i]);
	fl__svg_x_time_ticks(out, &x, &f, true);
	fault_marks(out, r, pts, n, &x, &f, kinds, &nkinds);
	action_legend(out, &f, kinds, nkinds);
	fputs("</svg>\n", out);
	free(pts);
	return true;
}
