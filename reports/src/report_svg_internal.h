/*
 * report_svg_internal.h - the drawing primitives the SVG panels share.
 *
 * report_svg.c defines them (axes, ticks, paths, labels, legends, SLO
 * lines, the shared time axis); report_svg_latency.c and report_svg_time.c
 * draw the panels with them. Private to the reports library.
 */
#ifndef FL_REPORT_SVG_INTERNAL_H
#define FL_REPORT_SVG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <fl/report.h>

/* The width of every panel, so the time axes line up when stacked. */
#define FL__SVG_PLOT_W 960.0

typedef struct fl__svg_axis {
	bool log;
	double lo, hi; /* domain; > 0 when log */
	double p0, p1; /* pixels */
} fl__svg_axis;

/* A plot area inside an SVG of width w and height h. */
typedef struct fl__svg_frame {
	double w, h;
	double l, r, t, b; /* margins */
} fl__svg_frame;

/* A path under construction, skipping points that do not move. */
typedef struct fl__svg_pen {
	FILE *out;
	bool down;
	double x, y;
} fl__svg_pen;

/* The pixel position of v on a (log10 of v when a->log), clamped to the
 * pixel range. */
double fl__svg_pos(const fl__svg_axis *a, double v);

/* A 1, 2, 2.5 or 5 times 10^k step giving about target steps over range. */
double fl__svg_nice_step(double range, int target);

/* The largest 1/2/5 x 10^k <= v (down) or smallest >= v (up). */
double fl__svg_round125(double v, bool up);

/* A tick label for a time in ns: "0", "500 µs", "1.5 ms", "2 s". */
char *fl__svg_tick_ns(double v, char *buf, size_t cap);

/* Opens an <svg> element of f's size with an accessible label. */
void fl__svg_open(FILE *out, const fl__svg_frame *f, const char *label);

/* Writes s, cut to at most max code points with an ellipsis. */
void fl__svg_text_trunc(FILE *out, const char *s, size_t max);

/* Moves the pen to (x, y), drawing from its last point once it is down. */
void fl__svg_pen_to(fl__svg_pen *p, double x, double y);

/* Opens a <path> stroked with color and width; the pen writes its d. */
void fl__svg_path_open(FILE *out, const char *color, double width);

/* Horizontal grid lines and labels of a y axis holding times in ns. */
void fl__svg_y_time_ticks(FILE *out, const fl__svg_axis *y, const fl__svg_frame *f);

/* Horizontal grid lines and SI labels ("50k") of a linear count axis. */
void fl__svg_y_si_ticks(FILE *out, const fl__svg_axis *y, const fl__svg_frame *f);

/* Vertical grid lines and labels of an x axis holding times in ns. */
void fl__svg_x_time_ticks(FILE *out, const fl__svg_axis *x, const fl__svg_frame *f, bool labels);

/*
 * An SLO line from x0 to the right edge at its threshold, with a marker at
 * x0 and a label at the right end, "SLO p99 <= 5 ms", followed by a red
 * cross when h breaks it.
 */
void fl__svg_slo_line(FILE *out, const fl_report_hist *h, const fl_report_slo *s, bool broken,
		      double x0, double x1, double py, const char *color);

/* One legend entry at (x, y): a line in color (dashed or not) and the name,
 * truncated, with the full name as hover text. */
void fl__svg_legend_entry(FILE *out, double x, double y, const char *color, const char *name,
			  bool dashed);

/* The time axis shared by the time-based panels: [0, run end]. */
fl__svg_axis fl__svg_time_axis(const fl_report *r, const fl__svg_frame *f);

#endif
