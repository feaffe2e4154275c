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
 *
 * Files: this one holds the primitives every panel draws with (declared in
 * report_svg_internal.h); report_svg_latency.c draws the latency panels
 * (by percentile, rate vs latency) and report_svg_time.c the time-based
 * ones (throughput, p99, fault timeline). Both call down into this file,
 * never into each other. No state beyond constant tables.
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

static const char *const palette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2",
				      "#edc948", "#9c755f", "#ff9da7", "#e15759", "#bab0ac"};

const char *fl__svg_color(size_t i) { return palette[i % (sizeof(palette) / sizeof(palette[0]))]; }

double fl__svg_pos(const fl__svg_axis *a, double v)
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

double fl__svg_nice_step(double range, int target)
{
	double raw = range / target;
	double mag = pow(10.0, floor(log10(raw)));
	double f = raw / mag;
	double m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
	return m * mag;
}

double fl__svg_round125(double v, bool up)
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

char *fl__svg_tick_ns(double v, char *buf, size_t cap)
{
	return fl__report_fmt_ns_g(v, false, buf, cap);
}

/* A tick label on a time axis: as tick_ns, but "0 s" at the origin. */
static char *tick_t(double v, char *buf, size_t cap)
{
	return v == 0 ? (snprintf(buf, cap, "0 s"), buf) : fl__svg_tick_ns(v, buf, cap);
}

void fl__svg_open(FILE *out, const fl__svg_frame *f, const char *label)
{
	fprintf(out,
		"<svg class=\"plot\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
		"aria-label=\"%s\">\n",
		f->w, f->h, label);
	fprintf(out,
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		"fill=\"#fff\" stroke=\"#d0d7de\"/>\n",
		f->l, f->t, f->w - f->l - f->r, f->h - f->t - f->b);
}

void fl__svg_text_trunc(FILE *out, const char *s, size_t max)
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
	char *head = fl__strndup(s, cut);
	if (head)
		fl__report_xml_escape(out, head);
	free(head);
	fputs("\xe2\x80\xa6", out);
}

void fl__svg_pen_to(fl__svg_pen *p, double x, double y)
{
	if (p->down && fabs(x - p->x) < 0.05 && fabs(y - p->y) < 0.05)
		return;
	fprintf(p->out, "%s%.1f %.1f", p->down ? " L" : "M", x, y);
	p->down = true;
	p->x = x;
	p->y = y;
}

void fl__svg_path_open(FILE *out, const char *color, double width)
{
	fprintf(out,
		"<path fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" "
		"stroke-linejoin=\"round\" d=\"",
		color, width);
}

void fl__svg_y_time_ticks(FILE *out, const fl__svg_axis *y, const fl__svg_frame *f)
{
	char buf[32];
	double x0 = f->l, x1 = f->w - f->r;
	bool minor_labels = y->log && log10(y->hi / y->lo) <= 2.01;
	double step = y->log ? 0 : fl__svg_nice_step(y->hi - y->lo, 5);
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
		double py = fl__svg_pos(y, v);
		fprintf(out,
			"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"%s\"/>\n",
			x0, x1, py, py, major ? "#d8dee4" : "#eef1f4");
		if (major || minor_labels)
			fprintf(out,
				"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
				"class=\"tick\">%s</text>\n",
				x0 - 8, py + 4, fl__svg_tick_ns(v, buf, sizeof(buf)));
	}
}

void fl__svg_y_si_ticks(FILE *out, const fl__svg_axis *y, const fl__svg_frame *f)
{
	char buf[32];
	double step = fl__svg_nice_step(y->hi - y->lo, 4);
	for (int k = 0; k < 64; k++) {
		double v = y->lo + k * step;
		if (v > y->hi * (1 + 1e-9))
			break;
		double py = fl__svg_pos(y, v);
		fprintf(out,
			"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#d8dee4\"/>\n",
			f->l, f->w - f->r, py, py);
		fprintf(out,
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
			"class=\"tick\">%s/s</text>\n",
			f->l - 8, py + 4, fl__report_fmt_si(v, buf, sizeof(buf)));
	}
}

void fl__svg_x_time_ticks(FILE *out, const fl__svg_axis *x, const fl__svg_frame *f, bool labels)
{
	char buf[32];
	double step = fl__svg_nice_step(x->hi - x->lo, 8);
	double y0 = f->t, y1 = f->h - f->b, v0 = ceil(x->lo / step) * step;
	for (int k = 0; k < 64; k++) {
		double v = v0 + k * step;
		if (v > x->hi * (1 + 1e-9))
			break;
		double px = fl__svg_pos(x, v);
		fprintf(out,
			"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
			"stroke=\"#eef1f4\"/>\n",
			px, px, y0, y1);
		if (labels)
			fprintf(out,
				"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
				"class=\"tick\">%s</text>\n",
				px, y1 + 18, tick_t(v, buf, sizeof(buf)));
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

void fl__svg_slo_line(FILE *out, const fl_report_hist *h, const fl_report_slo *s, bool broken,
		      double x0, double x1, double py, const char *color)
{
	char pl[16], thr[32];
	slo_label(s, pl, sizeof(pl));
	fl__report_fmt_ns_g((double)s->threshold_ns, false, thr, sizeof(thr));
	if (x1 - x0 < 16)
		x0 = x1 - 16;
	fputs("<g><title>SLO: ", out);
	fl__report_xml_escape(out, h->name);
	fprintf(out, " %s \xe2\x89\xa4 %s%s</title>\n", pl, thr, broken ? " (broken)" : "");
	fprintf(out,
		"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"%s\" stroke-width=\"1.6\" stroke-dasharray=\"7 4\"/>\n",
		x0, x1, py, py, color);
	fprintf(out, "<path d=\"M%.1f %.1f l5 -7 l-10 0 z\" fill=\"%s\"/>\n", x0, py, color);
	fprintf(out,
		"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" "
		"class=\"slo\" style=\"fill:%s\">SLO %s \xe2\x89\xa4 %s%s</text>"
		"</g>\n",
		x1 - 4, py - 5, color, pl, thr,
		broken ? "<tspan style=\"fill:#cf222e\"> \xe2\x9c\x97 broken</tspan>" : "");
}

void fl__svg_legend_entry(FILE *out, double x, double y, const char *color, const char *name,
			  bool dashed)
{
	fprintf(out, "<g><title>");
	fl__report_xml_escape(out, name);
	fprintf(out,
		"</title><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
		"stroke=\"%s\" stroke-width=\"3\"%s/>"
		"<text x=\"%.1f\" y=\"%.1f\" class=\"legend\">",
		x, x + 20, y, y, color, dashed ? " stroke-dasharray=\"5 3\"" : "", x + 27, y + 4);
	fl__svg_text_trunc(out, name, 26);
	fputs("</text></g>\n", out);
}

fl__svg_axis fl__svg_time_axis(const fl_report *r, const fl__svg_frame *f)
{
	double end = (double)r->duration_ns;
	for (size_t i = 0; i < r->nseries; i++)
		for (size_t j = 0; j < r->series[i].nivs; j++) {
			const fl_report_interval *iv = &r->series[i].ivs[j];
			end = fmax(end, (double)iv->start_ns + (double)iv->length_ns);
		}
	for (size_t i = 0; i < r->nfaults; i++)
		end = fmax(end, (double)r->faults[i].at_ns);
	return (fl__svg_axis){false, 0, end > 0 ? end : 1e9, f->l, f->w - f->r};
}
