/*
 * report_svg_latency.c - the latency panels of index.html.
 *
 * Latency by percentile: x is log10(1/(1-p)), so 90%, 99%, 99.9%... are
 * equally spaced, as in HdrHistogram's plotter; y is a log time axis with
 * 1-2-5 grid lines. One path per histogram (from the fl_hdr percentile
 * walk, or from the six stored percentiles of a loaded report), dots with
 * hover titles at the standard percentiles, and each SLO as a dashed
 * horizontal line from its percentile to the right edge. Rate vs latency:
 * one curve per percentile over the offered rates of a sweep.
 *
 * Layering: draws with the primitives of report_svg.c only; no state.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fl/hdr.h>
#include <fl/report.h>

#include "report_internal.h"
#include "report_svg_internal.h"

/* ---- latency by percentile ------------------------------------------- */

/* The x coordinate of percentile p (in percent) in nines: log10(1/(1-p)). */
static double nines(double p, double max_nines)
{
	if (p >= 100.0)
		return max_nines;
	double n = log10(100.0 / (100.0 - p));
	return n > max_nines ? max_nines : n;
}

/* The y domain of the percentile plot; false when nothing was recorded. */
static bool pct_domain(const fl_report *r, const size_t *sel, size_t n, fl__svg_axis *y,
		       double *max_nines)
{
	double lo = INFINITY, hi = 0;
	int64_t maxcount = 0;
	for (size_t k = 0; k < n; k++) {
		size_t i = sel[k];
		fl_report_stats st;
		fl_report_hist_stats(&r->hists[i], &st);
		if (st.count <= 0)
			continue;
		maxcount = st.count > maxcount ? st.count : maxcount;
		double low = st.min > 0 ? (double)st.min : st.pct[0] > 0 ? (double)st.pct[0] : 1;
		lo = fmin(lo, low);
		hi = fmax(hi, (double)st.max);
		for (size_t j = 0; j < r->hists[i].nslos; j++) {
			double t = (double)r->hists[i].slos[j].threshold_ns;
			hi = fmax(hi, t);
			lo = t > 0 ? fmin(lo, t) : lo;
		}
	}
	if (maxcount == 0 || hi <= 0)
		return false;
	y->log = true;
	y->lo = fl__svg_round125(fmax(lo, 1), false);
	y->hi = fl__svg_round125(fmax(hi, y->lo * 2), true);
	double need = ceil(log10((double)maxcount));
	*max_nines = need > 5 ? fmin(need, 7) : 5;
	return true;
}

static void pct_x_axis(FILE *out, const fl__svg_axis *x, const fl__svg_frame *f, double max_nines)
{
	static const char *const lbl[] = {"0%",     "90%",     "99%",      "99.9%",
					  "99.99%", "99.999%", "99.9999%", "99.99999%"};
	double y0 = f->t, y1 = f->h - f->b;
	for (int k = 0; k <= (int)max_nines; k++) {
		double px = fl__svg_pos(x, k);
		fprintf(out,
			"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#d8dee4\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
			"text-anchor=\"middle\" class=\"tick\">%s</text>\n",
			px, px, y0, y1, px, y1 + 18, lbl[k]);
	}
	fprintf(out,
		"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
		"class=\"axis\">percentile (log scale of 1/(1\xe2\x88\x92p))</text>\n",
		(f->l + f->w - f->r) / 2, f->h - 8);
}

/* How far into the tail (in nines) count samples can speak: with n
 * samples the largest is the 1 - 1/n quantile, so log10(n) nines. */
static double resolved(const fl_report_stats *st, double max_nines)
{
	double r = st->count > 1 ? log10((double)st->count) : 0;
	return r < max_nines ? r : max_nines;
}

/* One histogram's curve: the fine percentile walk, or the stored points,
 * up to the percentile its sample count resolves. */
static void pct_curve(FILE *out, const fl_report_hist *h, const fl_report_stats *st,
		      const fl__svg_axis *x, const fl__svg_axis *y, const char *color)
{
	fl__svg_pen p = {.out = out};
	fl__svg_path_open(out, color, 2.2);
	if (h->hdr) {
		fl_hdr_iter it;
		fl_hdr_iter_percentile_init(&it, h->hdr, 8);
		while (fl_hdr_iter_next(&it)) {
			double nx = nines(it.percentile_level, x->hi);
			if (nx > resolved(st, x->hi))
				break;
			fl__svg_pen_to(&p, fl__svg_pos(x, nx), fl__svg_pos(y, (double)it.value));
		}
	} else {
		fl__svg_pen_to(&p, fl__svg_pos(x, 0), fl__svg_pos(y, (double)st->min));
		for (int i = 0; i < FL_REPORT_NPCT; i++)
			if (nines(fl_report_pcts[i], x->hi) <= resolved(st, x->hi))
				fl__svg_pen_to(&p, fl__svg_pos(x, nines(fl_report_pcts[i], x->hi)),
					       fl__svg_pos(y, (double)st->pct[i]));
	}
	fputs("\"/>\n", out);
}

/* Dots with hover titles at the standard percentiles. */
static void pct_dots(FILE *out, const fl_report_hist *h, const fl_report_stats *st,
		     const fl__svg_axis *x, const fl__svg_axis *y, const char *color)
{
	char buf[32];
	for (int i = 0; i < FL_REPORT_NPCT; i++) {
		if (nines(fl_report_pcts[i], x->hi) > resolved(st, x->hi))
			break;
		fprintf(out,
			"<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\" "
			"stroke=\"#fff\"><title>",
			fl__svg_pos(x, nines(fl_report_pcts[i], x->hi)),
			fl__svg_pos(y, (double)st->pct[i]), color);
		fl__report_xml_escape(out, h->name);
		fprintf(out, " %s: %s</title></circle>\n", fl_report_pct_label(i),
			fl_report_format_ns((double)st->pct[i], false, buf, sizeof(buf)));
	}
}

static void pct_slos(FILE *out, const fl_report_hist *h, const fl_report_stats *st,
		     const fl__svg_axis *x, const fl__svg_axis *y, const char *color)
{
	for (size_t j = 0; j < h->nslos; j++) {
		const fl_report_slo *s = &h->slos[j];
		int64_t v;
		bool broken = fl__report_value_at(h, st, s->percentile, &v) && v > s->threshold_ns;
		double x0 = fl__svg_pos(x, nines(s->percentile, x->hi));
		fl__svg_slo_line(out, h, s, broken, x0, x->p1,
				 fl__svg_pos(y, (double)s->threshold_ns), color);
	}
}

bool fl__svg_percentile_plot(FILE *out, const fl_report *r, const size_t *sel, size_t n,
			     const char *prefix)
{
	fl__svg_frame f = {FL__SVG_PLOT_W, 440, 76, 220, 16, 46};
	fl__svg_axis y = {.p0 = f.h - f.b, .p1 = f.t};
	double max_nines;
	if (!pct_domain(r, sel, n, &y, &max_nines))
		return false;
	fl__svg_axis x = {false, 0, max_nines, f.l, f.w - f.r};
	fl__svg_open(out, &f, "latency by percentile");
	fl__svg_y_time_ticks(out, &y, &f);
	pct_x_axis(out, &x, &f, max_nines);
	bool any_slo = false;
	size_t skip = prefix ? strcspn(prefix, ".") + 1 : 0;
	for (size_t k = 0; k < n; k++) {
		const fl_report_hist *h = &r->hists[sel[k]];
		fl_report_stats st;
		fl_report_hist_stats(h, &st);
		char label[96];
		snprintf(label, sizeof(label), "%s (n=%" PRId64 ")",
			 strlen(h->name) > skip ? h->name + skip : h->name, st.count);
		fl__svg_legend_entry(out, f.w - f.r + 18, f.t + 12 + 22.0 * (double)k,
				     fl__svg_color(k), label, false);
		any_slo |= h->nslos > 0;
		if (st.count <= 0)
			continue;
		pct_slos(out, h, &st, &x, &y, fl__svg_color(k));
		pct_curve(out, h, &st, &x, &y, fl__svg_color(k));
		pct_dots(out, h, &st, &x, &y, fl__svg_color(k));
	}
	if (any_slo)
		fl__svg_legend_entry(out, f.w - f.r + 18, f.t + 12 + 22.0 * (double)n, "#6e7781",
				     "SLO threshold", true);
	fputs("</svg>\n", out);
	return true;
}

/* ---- rate vs latency curves ------------------------------------------------ */

/* Vertical grid lines and SI labels ("50k/s") of a linear rate axis. */
static void x_si_ticks(FILE *out, const fl__svg_axis *x, const fl__svg_frame *f)
{
	char buf[32];
	double step = fl__svg_nice_step(x->hi - x->lo, 8);
	for (int k = 0; k < 64; k++) {
		double v = x->lo + k * step;
		if (v > x->hi * (1 + 1e-9))
			break;
		double px = fl__svg_pos(x, v);
		fprintf(out,
			"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#eef1f4\"/>\n",
			px, px, f->t, f->h - f->b);
		fprintf(out,
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
			"class=\"tick\">%s/s</text>\n",
			px, f->h - f->b + 18, fl__report_fmt_si(v, buf, sizeof(buf)));
	}
}

static bool curves_domain(const fl_report_curves *c, fl__svg_axis *x, fl__svg_axis *y)
{
	double xhi = 0, lo = INFINITY, hi = 0;
	for (size_t i = 0; i < c->ncurves; i++)
		for (size_t k = 0; k < c->curves[i].n; k++) {
			double xv = c->curves[i].x[k], yv = c->curves[i].y[k];
			xhi = fmax(xhi, xv);
			if (yv > 0) {
				lo = fmin(lo, yv);
				hi = fmax(hi, yv);
			}
		}
	if (hi <= 0 || xhi <= 0)
		return false;
	if (c->hline_ns > 0) {
		lo = fmin(lo, (double)c->hline_ns);
		hi = fmax(hi, (double)c->hline_ns);
	}
	double step = fl__svg_nice_step(xhi, 8);
	x->lo = 0;
	x->hi = ceil(xhi * 1.02 / step) * step;
	y->log = true;
	y->lo = fl__svg_round125(lo, false);
	y->hi = fl__svg_round125(hi, true);
	if (y->hi <= y->lo)
		y->hi = y->lo * 10;
	return true;
}

/* One point of a curve: a dot (a ring at the marked one) with hover text,
 * and the mark's label beside the marked point. */
static void curve_point(FILE *out, const fl_report_curves *c, const fl_report_curve *cv, size_t k,
			double px, double py, const char *color)
{
	char xb[32], yb[32];
	bool mark = (long)k == cv->mark;
	fprintf(out,
		"<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\" "
		"stroke=\"%s\" stroke-width=\"2\"><title>",
		px, py, mark ? "7" : "3.5", mark ? "#fff" : color, color);
	fl__report_xml_escape(out, cv->name);
	fprintf(out, ": %s/s, %s", fl__report_fmt_si(cv->x[k], xb, sizeof(xb)),
		fl__report_fmt_ns_g(cv->y[k], false, yb, sizeof(yb)));
	if (mark && c->mark_label) {
		fputs(" (", out);
		fl__report_xml_escape(out, c->mark_label);
		fputc(')', out);
	}
	fputs("</title></circle>\n", out);
	if (mark) {
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"slo\" fill=\"%s\">", px + 10,
			py - 10, color);
		fl__report_xml_escape(out, c->mark_label ? c->mark_label : "");
		fprintf(out, " %s/s</text>\n", fl__report_fmt_si(cv->x[k], xb, sizeof(xb)));
	}
}

/* Curve i of c: its legend entry at (lx, ly), its path, then its points. */
static void curve(FILE *out, const fl_report_curves *c, size_t i, const fl__svg_axis *x,
		  const fl__svg_axis *y, double lx, double ly)
{
	const fl_report_curve *cv = &c->curves[i];
	const char *color = fl__svg_color(i);
	fl__svg_legend_entry(out, lx, ly, color, cv->name, false);
	fl__svg_pen p = {out, false, 0, 0};
	fl__svg_path_open(out, color, 2);
	for (size_t k = 0; k < cv->n; k++)
		if (cv->y[k] > 0)
			fl__svg_pen_to(&p, fl__svg_pos(x, cv->x[k]), fl__svg_pos(y, cv->y[k]));
	fputs("\"/>\n", out);
	for (size_t k = 0; k < cv->n; k++)
		if (cv->y[k] > 0)
			curve_point(out, c, cv, k, fl__svg_pos(x, cv->x[k]),
				    fl__svg_pos(y, cv->y[k]), color);
}

bool fl__svg_curves_plot(FILE *out, const fl_report_curves *c)
{
	fl__svg_frame f = {FL__SVG_PLOT_W, 460, 76, 220, 16, 50};
	fl__svg_axis x = {.p0 = f.l, .p1 = f.w - f.r}, y = {.p0 = f.h - f.b, .p1 = f.t};
	if (!curves_domain(c, &x, &y))
		return false;
	fl__svg_open(out, &f, "latency against throughput");
	fl__svg_y_time_ticks(out, &y, &f);
	x_si_ticks(out, &x, &f);
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"axis\">",
		(f.l + f.w - f.r) / 2, f.h - 8);
	fl__report_xml_escape(out, c->x_label ? c->x_label : "");
	fprintf(out,
		"</text>\n<text transform=\"translate(14 %.1f) rotate(-90)\" "
		"text-anchor=\"middle\" class=\"axis\">",
		(f.t + f.h - f.b) / 2);
	fl__report_xml_escape(out, c->y_label ? c->y_label : "");
	fputs("</text>\n", out);
	double ly = f.t + 12;
	if (c->hline_ns > 0) {
		double py = fl__svg_pos(&y, (double)c->hline_ns);
		fprintf(out,
			"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			"stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>\n",
			f.l, f.w - f.r, py, py, "#cf222e");
		fl__svg_legend_entry(out, f.w - f.r + 18, ly, "#cf222e",
				     c->hline_label ? c->hline_label : "threshold", true);
		ly += 22;
	}
	for (size_t i = 0; i < c->ncurves; i++)
		curve(out, c, i, &x, &y, f.w - f.r + 18, ly + 22.0 * (double)i);
	if (c->mark_label) {
		double my = ly + 22.0 * (double)c->ncurves;
		fprintf(out,
			"<circle cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"#fff\" "
			"stroke=\"#444c56\" stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\" "
			"class=\"legend\">",
			f.w - f.r + 28, my, f.w - f.r + 45, my + 4);
		fl__report_xml_escape(out, c->mark_label);
		fputs("</text>\n", out);
	}
	fputs("</svg>\n", out);
	return true;
}
