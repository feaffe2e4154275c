/*
 * report_html.c - index.html: the one page a person opens after a run.
 *
 * The page is a single self-contained file: inline CSS, inline SVG plots
 * (report_svg.c), no scripts, fonts, images or links that would make a
 * browser fetch anything, so it opens the same from a CI artifact, a mail
 * attachment or an air-gapped machine. It reads top-down in the order a
 * capacity planner asks questions: did it pass (verdict banner, key
 * numbers, the checks table), how slow is the tail (latency by percentile
 * with SLO lines, and the percentile table), did it hold up over time
 * (throughput and p99 per interval, with fault events overlaid), and what
 * was injected when (fault timeline). Counters close the page.
 *
 * Escaping: every string that comes from the report goes through
 * fl__report_xml_escape (& < > " ' and invalid UTF-8), in text and in
 * attribute values alike; the fixed markup around it is ours.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fl/report.h>

#include "report_internal.h"
#include "fl_alloc_internal.h"

static const char css[] =
	":root{--pass:#1a7f37;--fail:#cf222e;--skip:#6e7781;--ink:#1f2328;"
	"--muted:#59636e;--line:#d8dee4;--bg:#f4f6f8}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.45 "
	"system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,"
	"\"DejaVu Sans\",sans-serif}\n"
	"main{max-width:1080px;margin:0 auto;padding:20px 24px 40px}\n"
	"h1{font-size:26px;margin:0;word-break:break-word}\n"
	"h2{font-size:17px;margin:0 0 4px}\n"
	".sub{color:var(--muted);font-size:13px;margin:0 0 10px}\n"
	".banner{display:flex;align-items:center;gap:16px;flex-wrap:wrap;"
	"margin:4px 0 14px}\n"
	".verdict{padding:6px 14px;border-radius:6px;color:#fff;font-weight:700;"
	"letter-spacing:.04em}\n"
	".verdict.pass{background:var(--pass)}.verdict.fail{background:var(--fail)}"
	".verdict.none{background:var(--skip)}\n"
	".tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));"
	"gap:12px;margin:12px 0}\n"
	".tile{background:#fff;border:1px solid var(--line);border-radius:8px;"
	"padding:10px 14px}\n"
	".tile b{display:block;font-size:22px;font-variant-numeric:tabular-nums}\n"
	".tile.bad b{color:var(--fail)}\n"
	".tile span{color:var(--muted);font-size:12px;text-transform:uppercase;"
	"letter-spacing:.05em}\n"
	".card{background:#fff;border:1px solid var(--line);border-radius:8px;"
	"padding:16px 20px;margin:14px 0;overflow-x:auto}\n"
	"dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:3px 18px;"
	"margin:0;font-size:14px}\n"
	"dl.meta dt{color:var(--muted)}dl.meta dd{margin:0;word-break:break-word}\n"
	"code{font:13px ui-monospace,\"DejaVu Sans Mono\",monospace}\n"
	"table{border-collapse:collapse;width:100%;font-size:14px;"
	"font-variant-numeric:tabular-nums}\n"
	"th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;"
	"vertical-align:top}\n"
	"th{color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;"
	"letter-spacing:.04em}\n"
	"td.n,th.n{text-align:right;white-space:nowrap}\n"
	"td.v,th.v{text-align:right}\n"
	"td{overflow-wrap:anywhere}\n"
	"td.bad{color:var(--fail);font-weight:700}\n"
	"tr.fail td{background:#fff5f5}\n"
	".pill{display:inline-block;min-width:48px;text-align:center;padding:1px 8px;"
	"border-radius:10px;color:#fff;font-size:12px;font-weight:700}\n"
	".pill.pass{background:var(--pass)}.pill.fail{background:var(--fail)}"
	".pill.skip{background:var(--skip)}\n"
	".sw{display:inline-block;width:11px;height:11px;border-radius:2px;"
	"margin-right:7px;vertical-align:-1px}\n"
	"svg.plot{width:100%;height:auto;display:block;margin:6px 0 10px}\n"
	"svg text{fill:#444c56;font-size:12px}\n"
	"svg text.axis{fill:var(--muted);font-size:12px}\n"
	"svg text.legend{fill:var(--ink);font-size:13px}\n"
	"svg text.lane{fill:var(--ink);font-size:12.5px}\n"
	"svg text.slo{font-size:11.5px;font-weight:600;paint-order:stroke;"
	"stroke:#fff;stroke-width:3px;stroke-linejoin:round}\n"
	".empty{color:var(--muted);font-style:italic}\n"
	"footer{color:var(--muted);font-size:12px;text-align:center;margin-top:24px}\n";

static void esc(FILE *out, const char *s) { fl__report_xml_escape(out, s); }

static void meta_row(FILE *out, const char *label, const char *value, bool code)
{
	fprintf(out, "<dt>%s</dt><dd>%s", label, code ? "<code>" : "");
	esc(out, *value ? value : "\xe2\x80\x94");
	fprintf(out, "%s</dd>\n", code ? "</code>" : "");
}

static void page_head(FILE *out, const fl_report *r)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>",
	      out);
	esc(out, r->name);
	fprintf(out,
		" \xe2\x80\x94 faultline run report</title>\n<style>\n%s</style>\n"
		"</head>\n<body>\n<main>\n",
		css);
}

/* A key number: label above, value big. value is ours (not escaped). */
static void tile(FILE *out, const char *label, const char *value, bool bad)
{
	fprintf(out, "<div class=\"tile%s\"><span>%s</span><b>%s</b></div>\n", bad ? " bad" : "",
		label, value);
}

static void banner(FILE *out, const fl_report *r)
{
	size_t fail = fl_report_count_verdict(r, FL_REPORT_FAIL);
	size_t pass = fl_report_count_verdict(r, FL_REPORT_PASS);
	const char *cls = !r->nchecks ? "none" : fail ? "fail" : "pass";
	fputs("<header>\n<div class=\"banner\"><h1>", out);
	esc(out, r->name);
	fprintf(out, "</h1><span class=\"verdict %s\">%s</span></div>\n", cls,
		!r->nchecks ? "NO CHECKS"
		: fail      ? "FAIL"
			    : "PASS");
	char buf[64], dur[32];
	fputs("<div class=\"tiles\">\n", out);
	snprintf(buf, sizeof(buf), "%zu / %zu passed", pass, r->nchecks);
	tile(out, "checks", buf, fail > 0);
	tile(out, "duration", fl_report_format_ns((double)r->duration_ns, false, dur, sizeof(dur)),
	     false);
	const fl_report_counter *items = fl_report_find_counter(r, "items");
	if (items && r->duration_ns > 0) {
		fl__report_fmt_si((double)items->value * 1e9 / (double)r->duration_ns, buf,
				  sizeof(buf) - 8);
		strcat(buf, " items/s");
		tile(out, "throughput", buf, false);
	}
	snprintf(buf, sizeof(buf), "%zu", r->nfaults);
	tile(out, "faults injected", buf, false);
	fputs("</div>\n", out);
}

static void meta(FILE *out, const fl_report *r)
{
	char buf[160], when[40], dur[32];
	fputs("<section class=\"card\"><dl class=\"meta\">\n", out);
	snprintf(buf, sizeof(buf), "%" PRIu64, r->seed);
	meta_row(out, "seed", buf, true);
	meta_row(out, "fault plan", r->fault_plan, true);
	meta_row(out, "backend", r->backend, false);
	meta_row(out, "revision", r->git_rev, true);
	fl_report_format_time(r->start_unix_ns, when, sizeof(when));
	snprintf(buf, sizeof(buf), "%s (%s)", when,
		 fl_report_format_ns((double)r->duration_ns, false, dur, sizeof(dur)));
	meta_row(out, "started", buf, false);
	fputs("<dt>host</dt><dd>", out);
	esc(out, *r->host.hostname ? r->host.hostname : "?");
	fputs(" \xc2\xb7 ", out);
	esc(out, *r->host.cpu_model ? r->host.cpu_model : "unknown CPU");
	fprintf(out, " \xc2\xb7 %" PRId32 " cores \xc2\xb7 ", r->host.cores);
	esc(out, r->host.kernel);
	fputs("</dd>\n", out);
	snprintf(buf, sizeof(buf), "%" PRId32 " of %" PRId32, r->repetition + 1, r->repetitions);
	meta_row(out, "repetition", buf, false);
	fputs("</dl></section>\n</header>\n", out);
}

/* A check's measured or threshold value in its unit. */
static void check_value(FILE *out, double v, const char *unit)
{
	char buf[40];
	if (!isfinite(v)) {
		fputs("\xe2\x80\x94", out);
	} else if (strcmp(unit, "ns") == 0) {
		fputs(fl_report_format_ns(v, false, buf, sizeof(buf)), out);
	} else {
		fputs(fl_report_format_num(v, buf, sizeof(buf)), out);
		fputc(' ', out);
		esc(out, unit);
	}
}

static void checks(FILE *out, const fl_report *r)
{
	fputs("<section class=\"card\" id=\"checks\"><h2>Checks</h2>\n", out);
	if (!r->nchecks) {
		fputs("<p class=\"empty\">No checks were recorded.</p></section>\n", out);
		return;
	}
	fputs("<table><thead><tr><th>verdict</th><th>check</th>"
	      "<th class=\"v\">measured</th><th class=\"v\">threshold</th>"
	      "<th>message</th></tr></thead><tbody>\n",
	      out);
	for (size_t k = 0; k < 3 * r->nchecks; k++) { /* failures, skips, passes */
		const fl_report_check *c = &r->checks[k % r->nchecks];
		if (c->verdict != fl__report_verdict_order[k / r->nchecks])
			continue;
		const char *v = fl_report_verdict_name(c->verdict);
		fprintf(out, "<tr class=\"%s\"><td><span class=\"pill %s\">%s</span></td><td>", v,
			v, v);
		esc(out, c->name);
		fputs("</td><td class=\"v\">", out);
		check_value(out, c->measured, c->unit);
		fputs("</td><td class=\"v\">", out);
		check_value(out, c->threshold, c->unit);
		fputs("</td><td>", out);
		esc(out, c->message);
		fputs("</td></tr>\n", out);
	}
	fputs("</tbody></table></section>\n", out);
}

/* True when percentile column i of h breaks one of h's SLOs. */
static bool breaks_slo(const fl_report_hist *h, const fl_report_stats *st, int i)
{
	for (size_t j = 0; j < h->nslos; j++)
		if (h->slos[j].percentile == fl_report_pcts[i] &&
		    st->pct[i] > h->slos[j].threshold_ns)
			return true;
	return false;
}

static void pct_row(FILE *out, const fl_report_hist *h, size_t idx)
{
	fl_report_stats st;
	char buf[32];
	fl_report_hist_stats(h, &st);
	fprintf(out, "<tr><td><span class=\"sw\" style=\"background:%s\"></span>",
		fl__svg_color(idx));
	esc(out, h->name);
	fprintf(out, "</td><td class=\"n\">%" PRId64 "</td>", st.count);
	for (int i = 0; i < FL_REPORT_NPCT; i++)
		fprintf(out, "<td class=\"n%s\">%s</td>", breaks_slo(h, &st, i) ? " bad" : "",
			fl_report_format_ns((double)st.pct[i], false, buf, sizeof(buf)));
	fprintf(out, "<td class=\"n\">%s</td>",
		fl_report_format_ns(st.mean, false, buf, sizeof(buf)));
	fprintf(out, "<td class=\"n%s\">%" PRId64 "</td></tr>\n", st.out_of_range ? " bad" : "",
		st.out_of_range);
}

/* A plot needs this many samples to say anything about a tail, and more
 * curves than this in one plot cannot be told apart. */
#define PLOT_MIN_SAMPLES 10
#define PLOT_MIN_INTERVALS 3 /* a scenario's series over time worth a plot */
#define PLOT_MAX_CURVES 8

/* The length of name's scenario prefix ("chaos_1pct" of
 * "chaos_1pct.latency"), 0 for a name without one. */
static size_t prefix_len(const char *name)
{
	const char *dot = strchr(name, '.');
	return dot ? (size_t)(dot - name) : 0;
}

/* One plot per scenario (histograms sharing a prefix), of those with
 * enough samples, the most sampled first when there are too many. */
static bool scenario_plots(FILE *out, const fl_report *r)
{
	size_t *sel = fl__malloc((r->nhists ? r->nhists : 1) * sizeof(*sel));
	bool *done = fl__calloc(r->nhists ? r->nhists : 1, sizeof(*done));
	bool any = false;
	for (size_t i = 0; sel && done && i < r->nhists; i++) {
		if (done[i])
			continue;
		size_t pl = prefix_len(r->hists[i].name), n = 0, few = 0;
		for (size_t j = i; j < r->nhists; j++) {
			const char *nm = r->hists[j].name;
			if (done[j] || prefix_len(nm) != pl || strncmp(nm, r->hists[i].name, pl))
				continue;
			done[j] = true;
			fl_report_stats st;
			fl_report_hist_stats(&r->hists[j], &st);
			if (st.count < PLOT_MIN_SAMPLES)
				few++;
			else
				sel[n++] = j;
		}
		if (!n)
			continue;
		char title[128];
		snprintf(title, sizeof(title), "%.*s", (int)pl, r->hists[i].name);
		fputs("<h3>", out);
		esc(out, pl ? title : "histograms");
		fputs("</h3>\n", out);
		size_t shown = n < PLOT_MAX_CURVES ? n : PLOT_MAX_CURVES;
		any |= fl__svg_percentile_plot(out, r, sel, shown, pl ? r->hists[i].name : NULL);
		if (n > shown || few)
			fprintf(out,
				"<p class=\"sub\">Left out of the plot (see the table): %zu "
				"with fewer than %d samples, %zu beyond the %d most "
				"sampled.</p>\n",
				few, PLOT_MIN_SAMPLES, n - shown, PLOT_MAX_CURVES);
	}
	free(sel);
	free(done);
	return any;
}

static void latency(FILE *out, const fl_report *r)
{
	fputs("<section class=\"card\" id=\"latency\"><h2>Latency by percentile</h2>\n"
	      "<p class=\"sub\">One plot per scenario; each line is one histogram (a "
	      "stage or end to end), drawn as far into the tail as its sample count "
	      "resolves. Further right is further into the tail; dashed lines are SLO "
	      "thresholds, which the line should stay under from the marked "
	      "percentile on.</p>\n",
	      out);
	if (!scenario_plots(out, r))
		fputs("<p class=\"empty\">No histogram has enough samples to plot.</p>\n", out);
	if (r->nhists) {
		fputs("<table><thead><tr><th>histogram</th><th class=\"n\">count</th>", out);
		for (int i = 0; i < FL_REPORT_NPCT; i++)
			fprintf(out, "<th class=\"n\">%s</th>", fl_report_pct_label(i));
		fputs("<th class=\"n\">mean</th><th class=\"n\">out of range</th>"
		      "</tr></thead><tbody>\n",
		      out);
		for (size_t i = 0; i < r->nhists; i++)
			pct_row(out, &r->hists[i], i);
		fputs("</tbody></table>\n", out);
	}
	fputs("</section>\n", out);
}

static void time_pair(FILE *out, const fl_report *r, const fl__svg_sel *sel)
{
	if (!fl__svg_throughput_plot(out, r, sel))
		fputs("<p class=\"empty\">No interval series were recorded.</p>\n", out);
	if (!fl__svg_p99_plot(out, r, sel))
		fputs("<p class=\"empty\">No interval has a sample for its p99.</p>\n", out);
}

/*
 * Throughput and p99 over time. One scenario's series (or a bench run's):
 * one pair of plots on the run's time axis, lined up with the fault
 * timeline. A suite's: a pair per scenario (series sharing a prefix), each
 * over that scenario's own span, so that no plot mixes unrelated
 * scenarios or hides them behind a legend's "+N more".
 */
static void over_time(FILE *out, const fl_report *r)
{
	fputs("<section class=\"card\" id=\"time\"><h2>Throughput and p99 latency over "
	      "time</h2>\n<p class=\"sub\">Completions per second and the 99th percentile "
	      "of each interval; red rules mark injected faults.</p>\n",
	      out);
	size_t *idx = fl__malloc((r->nseries ? r->nseries : 1) * sizeof(*idx));
	bool *done = fl__calloc(r->nseries ? r->nseries : 1, sizeof(*done));
	size_t groups = 0, brief = 0;
	for (size_t i = 0; idx && done && i < r->nseries; i++) {
		if (done[i])
			continue;
		size_t pl = prefix_len(r->series[i].name), n = 0, most = 0;
		for (size_t j = i; j < r->nseries; j++) {
			const char *nm = r->series[j].name;
			if (done[j] || prefix_len(nm) != pl || strncmp(nm, r->series[i].name, pl))
				continue;
			done[j] = true, idx[n++] = j;
			most = r->series[j].nivs > most ? r->series[j].nivs : most;
		}
		if (!groups++ && n == r->nseries) { /* one group: the whole axis */
			time_pair(out, r, &(fl__svg_sel){idx, n, false, 0});
			break;
		}
		if (most < PLOT_MIN_INTERVALS) {
			brief++;
			continue;
		}
		char title[128];
		snprintf(title, sizeof(title), "%.*s", (int)pl, r->series[i].name);
		fputs("<h3>", out);
		esc(out, pl ? title : "series");
		fputs("</h3>\n", out);
		time_pair(out, r, &(fl__svg_sel){idx, n, true, pl ? pl + 1 : 0});
	}
	if (!groups)
		fputs("<p class=\"empty\">No interval series were recorded.</p>\n", out);
	if (brief)
		fprintf(out,
			"<p class=\"sub\">Not plotted: %zu scenario%s whose series have "
			"fewer than %d intervals (see report.json).</p>\n",
			brief, brief == 1 ? "" : "s", PLOT_MIN_INTERVALS);
	free(idx);
	free(done);
	fputs("</section>\n", out);
}

static void faults(FILE *out, const fl_report *r)
{
	fputs("<section class=\"card\" id=\"faults\"><h2>Fault timeline</h2>\n"
	      "<p class=\"sub\">One lane per fault point; each tick is one injected "
	      "fault, coloured by action. Hover a tick for details.</p>\n",
	      out);
	if (!fl__svg_fault_timeline(out, r))
		fputs("<p class=\"empty\">No faults were injected.</p>\n", out);
	fl__report_fault_kind *k = NULL;
	size_t n = fl__report_fault_kinds(r, &k);
	if (n && n != SIZE_MAX) {
		fputs("<table id=\"fault-counts\"><thead><tr><th>point</th><th>action</th>"
		      "<th class=\"n\">injected</th></tr></thead><tbody>\n",
		      out);
		for (size_t i = 0; i < n; i++) {
			fputs("<tr><td>", out);
			esc(out, k[i].point);
			fputs("</td><td>", out);
			esc(out, k[i].action);
			fprintf(out, "</td><td class=\"n\">%" PRId64 "</td></tr>\n", k[i].count);
		}
		fputs("</tbody></table>\n", out);
	}
	free(k);
	fputs("</section>\n", out);
}

static void counters(FILE *out, const fl_report *r)
{
	if (!r->ncounters)
		return;
	fputs("<section class=\"card\" id=\"counters\"><h2>Counters</h2>\n<table>"
	      "<thead><tr><th>counter</th><th class=\"n\">value</th></tr></thead>"
	      "<tbody>\n",
	      out);
	for (size_t i = 0; i < r->ncounters; i++) {
		fputs("<tr><td>", out);
		esc(out, r->counters[i].name);
		fprintf(out, "</td><td class=\"n\">%" PRId64 "</td></tr>\n", r->counters[i].value);
	}
	fputs("</tbody></table></section>\n", out);
}

fl_err *fl__report_emit_html(const fl_report *r, FILE *out)
{
	page_head(out, r);
	banner(out, r);
	meta(out, r);
	checks(out, r);
	latency(out, r);
	over_time(out, r);
	faults(out, r);
	counters(out, r);
	fputs("<footer>faultline run report \xc2\xb7 one self-contained file; "
	      "times are wall-clock UTC, latencies in the units shown</footer>\n"
	      "</main>\n</body>\n</html>\n",
	      out);
	return NULL;
}

fl_err *fl_report_write_html(const fl_report *r, const char *dir)
{
	size_t n = strlen(dir);
	char *path = fl__malloc(n + sizeof("/index.html"));
	if (!path)
		return FL_ERR_NOMEM;
	memcpy(path, dir, n);
	memcpy(path + n, "/index.html", sizeof("/index.html"));
	fl_err *err = fl__report_write_with(r, path, fl__report_emit_html);
	free(path);
	return err;
}

/* ---- a page of curves (capacity sweeps) ----------------------------------- */

static void curves_table(FILE *out, const fl_report_curves *c)
{
	fputs("<section class=\"card\"><table><thead><tr>", out);
	for (size_t j = 0; j < c->ncols; j++) {
		fputs("<th>", out);
		esc(out, c->head[j]);
		fputs("</th>", out);
	}
	fputs("</tr></thead><tbody>\n", out);
	for (size_t i = 0; i < c->nrows; i++) {
		bool marked = c->row_marked && c->row_marked[i];
		fputs(marked ? "<tr style=\"font-weight:700;background:#fff8c5\">" : "<tr>", out);
		for (size_t j = 0; j < c->ncols; j++) {
			fputs(j ? "<td class=\"n\">" : "<td>", out);
			esc(out, c->cells[i * c->ncols + j]);
			fputs("</td>", out);
		}
		fputs("</tr>\n", out);
	}
	fputs("</tbody></table></section>\n", out);
}

static fl_err *emit_curves(const fl_report_curves *c, FILE *out)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>",
	      out);
	esc(out, c->title ? c->title : "");
	fprintf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<header><h1>", css);
	esc(out, c->title ? c->title : "");
	fputs("</h1>", out);
	if (c->subtitle) {
		fputs("<p class=\"sub\">", out);
		esc(out, c->subtitle);
		fputs("</p>", out);
	}
	fputs("</header>\n<section class=\"card\"><h2>", out);
	esc(out, c->y_label ? c->y_label : "");
	fputs(" against ", out);
	esc(out, c->x_label ? c->x_label : "");
	fputs("</h2>\n", out);
	if (!fl__svg_curves_plot(out, c))
		fputs("<p class=\"empty\">no points to draw</p>\n", out);
	fputs("</section>\n", out);
	if (c->head && c->ncols)
		curves_table(out, c);
	fputs("<footer>faultline capacity sweep \xc2\xb7 one self-contained file</footer>\n"
	      "</main>\n</body>\n</html>\n",
	      out);
	return fl__report_stream_err(out, "index.html");
}

fl_err *fl_report_write_curves_html(const fl_report_curves *c, const char *dir)
{
	size_t n = strlen(dir);
	char *path = fl__malloc(n + sizeof("/index.html"));
	if (!path)
		return FL_ERR_NOMEM;
	memcpy(path, dir, n);
	memcpy(path + n, "/index.html", sizeof("/index.html"));
	fl_report_file *f;
	fl_err *err = fl_report_file_open(path, &f);
	free(path);
	if (err)
		return err;
	if ((err = emit_curves(c, fl_report_file_stream(f)))) {
		fl_report_file_abort(f);
		return err;
	}
	return fl_report_file_commit(f);
}
