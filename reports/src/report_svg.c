/*
 * report_svg.c - the inline SVG plots of index.html, generated in C.
 *
 * Four panels, each one <svg> with a viewBox (the page scales it to the
 * column width) and no external references:
 *   - latency by percentile: x is log10(1/(1-p)), so 90%, 99%, 99.9%...
 *     are equally spaced, as in HdrHistogram's plotter; y is a log time
 *     axis with 1-2-5 grid lines. One path per histogram (from the fl_hdr
 *     percentile walk, or from the six stored percentiles of a loaded
 *     report), dots with hover titles at the standard percentiles, and each
 *     SLO as a dashed horizontal line from its percentile to the right edge;
 *   - throughput over time and p99 over time: one path per series, one
 *     point per interval at its middle, fault events as faint red rules;
 *   - the fault timeline: one lane per fault point, one tick per event,
 *     coloured by the action's first word.
 * The three time-based panels share their width and margins so their time
 * axes line up when stacked.
 *
 * Coordinates: an axis maps a domain [lo, hi] (log10 of it when log) onto a
 * pixel range [p0, p1]; y axes run bottom-up (p0 > p1). Values outside the
 * domain are clamped to the frame. Every string from the report passes
 * through fl__report_xml_escape; <title> children give hover text without
 * JavaScript.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fl/hdr.h>
#include <fl/report.h>

#include "report_internal.h"

#define PLOT_W 960.0
#define MAX_RULES 400 /* fault rules drawn on the time plots */

typedef struct axis {
	bool log;
	double lo, hi; /* domain; > 0 when log */
	double p0, p1; /* pixels */
} axis;

/* A plot area inside an SVG of width w and height h. */
typedef struct frame {
	double w, h;
	double l, r, t, b; /* margins */
} frame;

/* A path under construction, skipping points that do not move. */
typedef struct pen {
	FILE *out;
	bool down;
	double x, y;
} pen;

static const char *const palette[] = {
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2",
    "#edc948", "#9c755f", "#ff9da7", "#e15759", "#bab0ac"};
static const char *const action_palette[] = {
    "#d62728", "#9467bd", "#ff7f0e", "#1f77b4", "#2ca02c", "#8c564b", "#e377c2"};

const char *fl__svg_color(size_t i)
{
	return palette[i % (sizeof(palette) / sizeof(palette[0]))];
}

static double ax_pos(const axis *a, double v)
{
	double t;
	if (a->log) {
		double lv = v > 0 ? log10(v) : log10(a->lo);
		t = (lv - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
	} else {
		t = (v - a->lo) / (a->hi - a->lo);
	}
	t = t < 0 ? 0 : t > 1 ? 1 : t;
	return a->p0 + t * (a->p1 - a->p0);
}

/* A 1, 2, 2.5 or 5 times 10^k step giving about target steps over range. */
static double nice_step(double range, int target)
{
	double raw = range / target;
	double mag = pow(10.0, floor(log10(raw)));
	double f = raw / mag;
	double m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
	return m * mag;
}

/* The largest 1/2/5 x 10^k <= v (down) or smallest >= v (up). */
static double round125(double v, bool up)
{
	static const double m[] = {1, 2, 5, 10};
	double mag = pow(10.0, floor(log10(v)));
	if (up) {
		for (int i = 0; i < 4; i++)
			if (m[i] * mag >= v * (1 - 1e-9))
				return m[i] * mag;
		return 10 * mag;
	}
	for (int i = 3; i >= 0; i--)
		if (m[i] * mag <= v * (1 + 1e-9))
			return m[i] * mag;
	return mag;
}

/* A tick label for a time in ns: "0", "500 µs", "1.5 ms", "2 s". */
static char *tick_ns(double v, char *buf, size_t cap)
{
	return fl__report_fmt_ns_g(v, false, buf, cap);
}

/* A tick label on a time axis: as tick_ns, but "0 s" at the origin. */
static char *tick_t(double v, char *buf, size_t cap)
{
	return v == 0 ? (snprintf(buf, cap, "0 s"), buf) : tick_ns(v, buf, cap);
}

static void svg_open(FILE *out, const frame *f, const char *label)
{
	fprintf(out, "<svg class=\"plot\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
		     "aria-label=\"%s\">\n", f->w, f->h, label);
	fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		     "fill=\"#fff\" stroke=\"#d0d7de\"/>\n",
		f->l, f->t, f->w - f->l - f->r, f->h - f->t - f->b);
}

/* Writes s, cut to at most max code points with an ellipsis. */
static void text_trunc(FILE *out, const char *s, size_t max)
{
	size_t cps = 0, i = 0, cut = 0;
	while (s[i]) {
		uint32_t cp;
		size_t n = fl__report_utf8_next(s + i, &cp);
		i += n ? n : 1;
		if (++cps == max - 1)
			cut = i;
	}
	if (cps <= max) {
		fl__report_xml_escape(out, s);
		return;
	}
	char *head = strndup(s, cut);
	if (head)
		fl__report_xml_escape(out, head);
	free(head);
	fputs("\xe2\x80\xa6", out);
}

static void pen_to(pen *p, double x, double y)
{
	if (p->down && fabs(x - p->x) < 0.05 && fabs(y - p->y) < 0.05)
		return;
	fprintf(p->out, "%s%.1f %.1f", p->down ? " L" : "M", x, y);
	p->down = true;
	p->x = x;
	p->y = y;
}

static void path_open(FILE *out, const char *color, double width)
{
	fprintf(out, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" "
		     "stroke-linejoin=\"round\" d=\"", color, width);
}

/* Horizontal grid lines and labels of a y axis holding times in ns. */
static void y_time_ticks(FILE *out, const axis *y, const frame *f)
{
	char buf[32];
	double x0 = f->l, x1 = f->w - f->r;
	bool minor_labels = y->log && log10(y->hi / y->lo) <= 2.01;
	double step = y->log ? 0 : nice_step(y->hi - y->lo, 5);
	for (int k = 0; k < 64; k++) {
		double v;
		bool major = true;
		if (y->log) {
			static const double m[] = {1, 2, 5};
			v = pow(10.0, floor(log10(y->lo)) + k / 3) * m[k % 3];
			major = k % 3 == 0;
		} else {
			v = y->lo + k * step;
		}
		if (v > y->hi * (1 + 1e-9))
			break;
		if (v < y->lo * (1 - 1e-9))
			continue;
		double py = ax_pos(y, v);
		fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
			     "stroke=\"%s\"/>\n", x0, x1, py, py, major ? "#d8dee4" : "#eef1f4");
		if (major || minor_labels)
			fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
				     "class=\"tick\">%s</text>\n",
				x0 - 8, py + 4, tick_ns(v, buf, sizeof(buf)));
	}
}

/* Horizontal grid lines and SI labels ("50k") of a linear count axis. */
static void y_si_ticks(FILE *out, const axis *y, const frame *f)
{
	char buf[32];
	double step = nice_step(y->hi - y->lo, 4);
	for (int k = 0; k < 64; k++) {
		double v = y->lo + k * step;
		if (v > y->hi * (1 + 1e-9))
			break;
		double py = ax_pos(y, v);
		fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
			     "stroke=\"#d8dee4\"/>\n", f->l, f->w - f->r, py, py);
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
			     "class=\"tick\">%s/s</text>\n",
			f->l - 8, py + 4, fl__report_fmt_si(v, buf, sizeof(buf)));
	}
}

/* Vertical grid lines and labels of an x axis holding times in ns. */
static void x_time_ticks(FILE *out, const axis *x, const frame *f, bool labels)
{
	char buf[32];
	double step = nice_step(x->hi - x->lo, 8);
	double y0 = f->t, y1 = f->h - f->b;
	for (int k = 0; k < 64; k++) {
		double v = x->lo + k * step;
		if (v > x->hi * (1 + 1e-9))
			break;
		double px = ax_pos(x, v);
		fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
			     "stroke=\"#eef1f4\"/>\n", px, px, y0, y1);
		if (labels)
			fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
				     "class=\"tick\">%s</text>\n",
				px, y1 + 18, tick_t(v, buf, sizeof(buf)));
	}
}

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
static bool pct_domain(const fl_report *r, axis *y, double *max_nines)
{
	double lo = INFINITY, hi = 0;
	int64_t maxcount = 0;
	for (size_t i = 0; i < r->nhists; i++) {
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
	y->lo = round125(fmax(lo, 1), false);
	y->hi = round125(fmax(hi, y->lo * 2), true);
	double need = ceil(log10((double)maxcount));
	*max_nines = need > 5 ? fmin(need, 7) : 5;
	return true;
}

static void pct_x_axis(FILE *out, const axis *x, const frame *f, double max_nines)
{
	static const char *const lbl[] = {"0%", "90%", "99%", "99.9%", "99.99%",
					  "99.999%", "99.9999%", "99.99999%"};
	double y0 = f->t, y1 = f->h - f->b;
	for (int k = 0; k <= (int)max_nines; k++) {
		double px = ax_pos(x, k);
		fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
			     "stroke=\"#d8dee4\"/>\n<text x=\"%.1f\" y=\"%.1f\" "
			     "text-anchor=\"middle\" class=\"tick\">%s</text>\n",
			px, px, y0, y1, px, y1 + 18, lbl[k]);
	}
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
		     "class=\"axis\">percentile (log scale of 1/(1\xe2\x88\x92p))</text>\n",
		(f->l + f->w - f->r) / 2, f->h - 8);
}

/* One histogram's curve: the fine percentile walk, or the stored points. */
static void pct_curve(FILE *out, const fl_report_hist *h,
		      const fl_report_stats *st, const axis *x, const axis *y,
		      const char *color)
{
	pen p = {.out = out};
	path_open(out, color, 2.2);
	if (h->hdr) {
		fl_hdr_iter it;
		fl_hdr_iter_percentile_init(&it, h->hdr, 8);
		while (fl_hdr_iter_next(&it))
			pen_to(&p, ax_pos(x, nines(it.percentile_level, x->hi)),
			       ax_pos(y, (double)it.value));
	} else {
		pen_to(&p, ax_pos(x, 0), ax_pos(y, (double)st->min));
		for (int i = 0; i < FL_REPORT_NPCT; i++)
			pen_to(&p, ax_pos(x, nines(fl_report_pcts[i], x->hi)),
			       ax_pos(y, (double)st->pct[i]));
	}
	fputs("\"/>\n", out);
}

/* Dots with hover titles at the standard percentiles. */
static void pct_dots(FILE *out, const fl_report_hist *h,
		     const fl_report_stats *st, const axis *x, const axis *y,
		     const char *color)
{
	char buf[32];
	for (int i = 0; i < FL_REPORT_NPCT; i++) {
		fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\" "
			     "stroke=\"#fff\"><title>",
			ax_pos(x, nines(fl_report_pcts[i], x->hi)),
			ax_pos(y, (double)st->pct[i]), color);
		fl__report_xml_escape(out, h->name);
		fprintf(out, " %s: %s</title></circle>\n", fl_report_pct_label(i),
			fl_report_format_ns((double)st->pct[i], false, buf, sizeof(buf)));
	}
}

/* "p99" or "max" for an SLO's percentile. */
static void slo_label(const fl_report_slo *s, char *buf, size_t cap)
{
	if (s->percentile == 100.0)
		snprintf(buf, cap, "max");
	else
		snprintf(buf, cap, "p%g", s->percentile);
}

/*
 * An SLO line from x0 to the right edge at its threshold, with a marker at
 * x0 and a label at the right end, "SLO p99 <= 5 ms", followed by a red
 * cross when h breaks it.
 */
static void slo_line(FILE *out, const fl_report_hist *h,
		     const fl_report_slo *s, bool broken, double x0, double x1,
		     double py, const char *color)
{
	char pl[16], thr[32];
	slo_label(s, pl, sizeof(pl));
	fl__report_fmt_ns_g((double)s->threshold_ns, false, thr, sizeof(thr));
	if (x1 - x0 < 16)
		x0 = x1 - 16;
	fputs("<g><title>SLO: ", out);
	fl__report_xml_escape(out, h->name);
	fprintf(out, " %s \xe2\x89\xa4 %s%s</title>\n", pl, thr,
		broken ? " (broken)" : "");
	fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
		     "stroke=\"%s\" stroke-width=\"1.6\" stroke-dasharray=\"7 4\"/>\n",
		x0, x1, py, py, color);
	fprintf(out, "<path d=\"M%.1f %.1f l5 -7 l-10 0 z\" fill=\"%s\"/>\n",
		x0, py, color);
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
		     "class=\"slo\" style=\"fill:%s\">SLO %s \xe2\x89\xa4 %s%s</text>"
		     "</g>\n", x1 - 4, py - 5, color, pl, thr,
		broken ? "<tspan style=\"fill:#cf222e\"> \xe2\x9c\x97 broken</tspan>" : "");
}

static void pct_slos(FILE *out, const fl_report_hist *h,
		     const fl_report_stats *st, const axis *x, const axis *y,
		     const char *color)
{
	for (size_t j = 0; j < h->nslos; j++) {
		const fl_report_slo *s = &h->slos[j];
		int64_t v;
		bool broken = fl__report_value_at(h, st, s->percentile, &v) &&
			      v > s->threshold_ns;
		slo_line(out, h, s, broken, ax_pos(x, nines(s->percentile, x->hi)),
			 x->p1, ax_pos(y, (double)s->threshold_ns), color);
	}
}

static void legend_entry(FILE *out, double x, double y, const char *color,
			 const char *name, bool dashed)
{
	fprintf(out, "<g><title>");
	fl__report_xml_escape(out, name);
	fprintf(out, "</title><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
		     "stroke=\"%s\" stroke-width=\"3\"%s/>"
		     "<text x=\"%.1f\" y=\"%.1f\" class=\"legend\">",
		x, x + 20, y, y, color, dashed ? " stroke-dasharray=\"5 3\"" : "",
		x + 27, y + 4);
	text_trunc(out, name, 22);
	fputs("</text></g>\n", out);
}

bool fl__svg_percentile_plot(FILE *out, const fl_report *r)
{
	frame f = {PLOT_W, 440, 76, 200, 16, 46};
	axis y = {.p0 = f.h - f.b, .p1 = f.t};
	double max_nines;
	if (!pct_domain(r, &y, &max_nines))
		return false;
	axis x = {false, 0, max_nines, f.l, f.w - f.r};
	svg_open(out, &f, "latency by percentile");
	y_time_ticks(out, &y, &f);
	pct_x_axis(out, &x, &f, max_nines);
	bool any_slo = false;
	for (size_t i = 0; i < r->nhists; i++) {
		const fl_report_hist *h = &r->hists[i];
		fl_report_stats st;
		fl_report_hist_stats(h, &st);
		legend_entry(out, f.w - f.r + 18, f.t + 12 + 22.0 * (double)i,
			     fl__svg_color(i), h->name, false);
		any_slo |= h->nslos > 0;
		if (st.count <= 0)
			continue;
		pct_slos(out, h, &st, &x, &y, fl__svg_color(i));
		pct_curve(out, h, &st, &x, &y, fl__svg_color(i));
		pct_dots(out, h, &st, &x, &y, fl__svg_color(i));
	}
	if (any_slo)
		legend_entry(out, f.w - f.r + 18, f.t + 12 + 22.0 * (double)r->nhists,
			     "#6e7781", "SLO threshold", true);
	fputs("</svg>\n", out);
	return true;
}

/* ---- over time ------------------------------------------------------- */

/* The time axis shared by the time-based panels: [0, run end]. */
static axis time_axis(const fl_report *r, const frame *f)
{
	double end = (double)r->duration_ns;
	for (size_t i = 0; i < r->nseries; i++)
		for (size_t j = 0; j < r->series[i].nivs; j++) {
			const fl_report_interval *iv = &r->series[i].ivs[j];
			end = fmax(end, (double)iv->start_ns + (double)iv->length_ns);
		}
	for (size_t i = 0; i < r->nfaults; i++)
		end = fmax(end, (double)r->faults[i].at_ns);
	return (axis){false, 0, end > 0 ? end : 1e9, f->l, f->w - f->r};
}

static void fault_rules(FILE *out, const fl_report *r, const axis *x,
			const frame *f)
{
	size_t n = r->nfaults < MAX_RULES ? r->nfaults : MAX_RULES;
	for (size_t i = 0; i < n; i++) {
		double px = ax_pos(x, (double)r->faults[i].at_ns);
		fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
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

/* The legend of the time plots: one row above the plot area. */
static void series_legend(FILE *out, const fl_report *r, const frame *f)
{
	double x = f->l;
	for (size_t i = 0; i < r->nseries; i++) {
		legend_entry(out, x, f->t - 14, series_color(r, i), r->series[i].name,
			     false);
		x += 40 + 8.0 * fmin(22, (double)strlen(r->series[i].name));
	}
	if (r->nfaults)
		legend_entry(out, x, f->t - 14, "#f0a8ad", "fault fired", false);
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

static void series_path(FILE *out, const fl_report_series *s, bool p99,
			const axis *x, const axis *y, const char *color)
{
	char buf[32];
	pen p = {.out = out};
	path_open(out, color, 2.2);
	for (size_t j = 0; j < s->nivs; j++) {
		bool ok;
		double v = series_value(&s->ivs[j], p99, &ok);
		double mid = (double)s->ivs[j].start_ns + (double)s->ivs[j].length_ns / 2;
		if (!ok) {
			p.down = false; /* a gap: start a new subpath */
			continue;
		}
		pen_to(&p, ax_pos(x, mid), ax_pos(y, v));
	}
	fputs("\"/>\n", out);
	for (size_t j = 0; j < s->nivs; j++) {
		bool ok;
		double v = series_value(&s->ivs[j], p99, &ok);
		double mid = (double)s->ivs[j].start_ns + (double)s->ivs[j].length_ns / 2;
		if (!ok)
			continue;
		fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>",
			ax_pos(x, mid), ax_pos(y, v), color);
		char val[32];
		if (p99)
			fl_report_format_ns(v, false, val, sizeof(val));
		else
			strcat(fl__report_fmt_si(v, val, sizeof(val) - 3), "/s");
		fl__report_xml_escape(out, s->name);
		fprintf(out, " at %s: %s%s</title></circle>\n",
			tick_ns((double)s->ivs[j].start_ns, buf, sizeof(buf)),
			p99 ? "p99 " : "", val);
	}
}

/* The p99 SLO of the histogram named like series s, or NULL. */
static const fl_report_slo *series_slo(const fl_report *r,
				       const fl_report_series *s,
				       const fl_report_hist **h)
{
	*h = fl_report_find_hist(r, s->name);
	for (size_t j = 0; *h && j < (*h)->nslos; j++)
		if ((*h)->slos[j].percentile == 99.0)
			return &(*h)->slos[j];
	return NULL;
}

/* Draws the p99 SLO of each series across the p99-over-time plot. */
static void series_slos(FILE *out, const fl_report *r, const axis *x,
			const axis *y)
{
	for (size_t i = 0; i < r->nseries; i++) {
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
		slo_line(out, h, slo, broken, x->p0, x->p1,
			 ax_pos(y, (double)slo->threshold_ns), series_color(r, i));
	}
}

/* The y domain of a time plot; false when there is nothing to draw. */
static bool series_domain(const fl_report *r, bool p99, axis *y)
{
	double lo = INFINITY, hi = 0;
	for (size_t i = 0; i < r->nseries; i++)
		for (size_t j = 0; j < r->series[i].nivs; j++) {
			bool ok;
			double v = series_value(&r->series[i].ivs[j], p99, &ok);
			if (ok && v > 0) {
				lo = fmin(lo, v);
				hi = fmax(hi, v);
			}
		}
	if (hi <= 0)
		return false;
	for (size_t i = 0; p99 && i < r->nseries; i++) {
		const fl_report_hist *h;
		const fl_report_slo *slo = series_slo(r, &r->series[i], &h);
		if (slo && slo->threshold_ns > 0) {
			lo = fmin(lo, (double)slo->threshold_ns);
			hi = fmax(hi, (double)slo->threshold_ns);
		}
	}
	y->log = p99 && hi / lo > 30;
	if (y->log) {
		y->lo = round125(lo, false);
		y->hi = round125(hi, true);
	} else {
		double step = nice_step(hi, p99 ? 5 : 4);
		y->lo = 0;
		y->hi = ceil(hi * 1.04 / step) * step;
	}
	return true;
}

static bool time_plot(FILE *out, const fl_report *r, bool p99)
{
	frame f = {PLOT_W, 250, 150, 40, 34, 34};
	axis y = {.p0 = f.h - f.b, .p1 = f.t};
	if (!series_domain(r, p99, &y))
		return false;
	axis x = time_axis(r, &f);
	svg_open(out, &f, p99 ? "p99 latency over time" : "throughput over time");
	if (p99)
		y_time_ticks(out, &y, &f);
	else
		y_si_ticks(out, &y, &f);
	x_time_ticks(out, &x, &f, true);
	fault_rules(out, r, &x, &f);
	series_legend(out, r, &f);
	if (p99)
		series_slos(out, r, &x, &y);
	for (size_t i = 0; i < r->nseries; i++)
		series_path(out, &r->series[i], p99, &x, &y, series_color(r, i));
	fputs("</svg>\n", out);
	return true;
}

bool fl__svg_throughput_plot(FILE *out, const fl_report *r)
{
	return time_plot(out, r, false);
}

bool fl__svg_p99_plot(FILE *out, const fl_report *r)
{
	return time_plot(out, r, true);
}

/* ---- fault timeline -------------------------------------------------- */

/* The colour of an action, by its first word among the kinds seen so far. */
static const char *action_color(const char **kinds, size_t *nkinds,
				const char *action)
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

static void lane(FILE *out, const frame *f, double y, size_t i,
		 const fl__report_point *pt)
{
	fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"24\" "
		     "fill=\"%s\"/>\n", f->l, y, f->w - f->l - f->r,
		i % 2 ? "#ffffff" : "#f3f5f7");
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
		     "class=\"lane\"><title>", f->l - 10, y + 16);
	fl__report_xml_escape(out, pt->name);
	fputs("</title>", out);
	text_trunc(out, pt->name, 19);
	fprintf(out, "</text>\n<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">"
		     "\xc3\x97%" PRId64 "</text>\n", f->w - f->r + 6, y + 16, pt->count);
}

static void fault_marks(FILE *out, const fl_report *r, const fl__report_point *pts,
			size_t n, const axis *x, const frame *f, const char **kinds,
			size_t *nkinds)
{
	char buf[32];
	for (size_t i = 0; i < r->nfaults; i++) {
		const fl_report_fault *e = &r->faults[i];
		size_t k = 0;
		while (k < n && strcmp(pts[k].name, e->point) != 0)
			k++;
		fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"3\" height=\"16\" "
			     "rx=\"1\" fill=\"%s\"><title>t = %s \xc2\xb7 ",
			ax_pos(x, (double)e->at_ns) - 1.5, f->t + 24.0 * (double)k + 4,
			action_color(kinds, nkinds, e->action),
			tick_ns((double)e->at_ns, buf, sizeof(buf)));
		fl__report_xml_escape(out, e->point);
		fputs(" \xc2\xb7 ", out);
		fl__report_xml_escape(out, e->action);
		fputs("</title></rect>\n", out);
	}
}

static void action_legend(FILE *out, const frame *f, const char **kinds,
			  size_t nkinds)
{
	size_t n = sizeof(action_palette) / sizeof(action_palette[0]);
	double x = f->l;
	for (size_t i = 0; i < nkinds && i < 12; i++) {
		size_t len = strcspn(kinds[i], " :(");
		char *word = strndup(kinds[i], len ? len : 1);
		if (!word)
			return;
		fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" "
			     "rx=\"2\" fill=\"%s\"/><text x=\"%.1f\" y=\"%.1f\" "
			     "class=\"legend\">", x, f->t - 22, action_palette[i % n],
			x + 15, f->t - 13);
		text_trunc(out, word, 16);
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
	frame f = {PLOT_W, 34 + 24.0 * (double)n + 30, 150, 40, 34, 30};
	axis x = time_axis(r, &f);
	const char *kinds[32];
	size_t nkinds = 0;
	svg_open(out, &f, "fault timeline");
	for (size_t i = 0; i < n; i++)
		lane(out, &f, f.t + 24.0 * (double)i, i, &pts[i]);
	x_time_ticks(out, &x, &f, true);
	fault_marks(out, r, pts, n, &x, &f, kinds, &nkinds);
	action_legend(out, &f, kinds, nkinds);
	fputs("</svg>\n", out);
	free(pts);
	return true;
}

/* ---- rate vs latency curves ------------------------------------------------ */

/* Vertical grid lines and SI labels ("50k/s") of a linear rate axis. */
static void x_si_ticks(FILE *out, const axis *x, const frame *f)
{
	char buf[32];
	double step = nice_step(x->hi - x->lo, 8);
	for (int k = 0; k < 64; k++) {
		double v = x->lo + k * step;
		if (v > x->hi * (1 + 1e-9))
			break;
		double px = ax_pos(x, v);
		fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
			     "stroke=\"#eef1f4\"/>\n", px, px, f->t, f->h - f->b);
		fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
			     "class=\"tick\">%s/s</text>\n",
			px, f->h - f->b + 18, fl__report_fmt_si(v, buf, sizeof(buf)));
	}
}

static bool curves_domain(const fl_report_curves *c, axis *x, axis *y)
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
	double step = nice_step(xhi, 8);
	x->lo = 0;
	x->hi = ceil(xhi * 1.02 / step) * step;
	y->log = true;
	y->lo = round125(lo, false);
	y->hi = round125(hi, true);
	if (y->hi <= y->lo)
		y->hi = y->lo * 10;
	return true;
}

bool fl__svg_curves_plot(FILE *out, const fl_report_curves *c)
{
	frame f = {PLOT_W, 460, 76, 220, 16, 50};
	axis x = {.p0 = f.l, .p1 = f.w - f.r}, y = {.p0 = f.h - f.b, .p1 = f.t};
	if (!curves_domain(c, &x, &y))
		return false;
	svg_open(out, &f, "latency against throughput");
	y_time_ticks(out, &y, &f);
	x_si_ticks(out, &x, &f);
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" class=\"axis\">",
		(f.l + f.w - f.r) / 2, f.h - 8);
	fl__report_xml_escape(out, c->x_label ? c->x_label : "");
	fprintf(out, "</text>\n<text transform=\"translate(14 %.1f) rotate(-90)\" "
		     "text-anchor=\"middle\" class=\"axis\">", (f.t + f.h - f.b) / 2);
	fl__report_xml_escape(out, c->y_label ? c->y_label : "");
	fputs("</text>\n", out);
	double ly = f.t + 12;
	if (c->hline_ns > 0) {
		double py = ax_pos(&y, (double)c->hline_ns);
		fprintf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			     "stroke-width=\"1.5\" stroke-dasharray=\"5 3\"/>\n",
			f.l, f.w - f.r, py, py, "#cf222e");
		legend_entry(out, f.w - f.r + 18, ly, "#cf222e",
			     c->hline_label ? c->hline_label : "threshold", true);
		ly += 22;
	}
	for (size_t i = 0; i < c->ncurves; i++) {
		const fl_report_curve *cv = &c->curves[i];
		const char *color = fl__svg_color(i);
		legend_entry(out, f.w - f.r + 18, ly + 22.0 * (double)i, color, cv->name, false);
		pen p = {out, false, 0, 0};
		path_open(out, color, 2);
		for (size_t k = 0; k < cv->n; k++)
			if (cv->y[k] > 0)
				pen_to(&p, ax_pos(&x, cv->x[k]), ax_pos(&y, cv->y[k]));
		fputs("\"/>\n", out);
		for (size_t k = 0; k < cv->n; k++) {
			if (cv->y[k] <= 0)
				continue;
			char xb[32], yb[32];
			bool mark = (long)k == cv->mark;
			fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%s\" fill=\"%s\" "
				     "stroke=\"%s\" stroke-width=\"2\"><title>",
				ax_pos(&x, cv->x[k]), ax_pos(&y, cv->y[k]), mark ? "7" : "3.5",
				mark ? "#fff" : color, color);
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
				fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" class=\"slo\" fill=\"%s\">",
					ax_pos(&x, cv->x[k]) + 10, ax_pos(&y, cv->y[k]) - 10, color);
				fl__report_xml_escape(out, c->mark_label ? c->mark_label : "");
				fprintf(out, " %s/s</text>\n", fl__report_fmt_si(cv->x[k], xb, sizeof(xb)));
			}
		}
	}
	if (c->mark_label) {
		double my = ly + 22.0 * (double)c->ncurves;
		fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"#fff\" "
			     "stroke=\"#444c56\" stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\" "
			     "class=\"legend\">", f.w - f.r + 28, my, f.w - f.r + 45, my + 4);
		fl__report_xml_escape(out, c->mark_label);
		fputs("</text>\n", out);
	}
	fputs("</svg>\n", out);
	return true;
}
