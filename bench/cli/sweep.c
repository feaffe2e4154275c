/*
 * sweep.c - faultline-bench sweep and sweep-report: a capacity sweep over
 * the grid of limit x buffer x workers x rate (one shard of it), written
 * as sweep.json and sweep.hlog and drawn as a table and index.html; and
 * the drawing alone, from a (merged) sweep.json.
 *
 * A p99 SLO is stored with each cell's response histogram, so that
 * sweep-report finds it again when --slo is not given.
 */
#include "cli_internal.h"

#include <fl/hdr.h>
#include <fl/report.h>
#include <fl/task.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_version_internal.h"

typedef fl__bench_cli_opts opts;

static fl_err *render(fl_report *r, int64_t slo_ns, const char *dir, FILE *out)
{
	fl_bench_cell *cells;
	size_t n;
	fl_err *e = fl_bench_sweep_cells(r, slo_ns, &cells, &n);
	if (e)
		return e;
	fprintf(out, "%-22s %10s %10s %10s %10s %7s %7s %7s\n", "cell", "offered", "achieved",
		"p50", "p99", "util", "queue", "L dev");
	for (size_t i = 0; i < n; i++) {
		char p50[24], p99[24];
		fl_report_format_ns((double)cells[i].p50, true, p50, sizeof(p50));
		fl_report_format_ns((double)cells[i].p99, true, p99, sizeof(p99));
		fprintf(out, "%-22s %10.0f %10.0f %10s %10s %6.1f%% %7.2f %+6.1f%%%s\n",
			cells[i].key, cells[i].offered, cells[i].throughput, p50, p99,
			100 * cells[i].utilisation, cells[i].queue, 100 * cells[i].little_dev,
			cells[i].knee ? "  <- knee" : "");
	}
	e = fl_bench_sweep_write_html(cells, n, slo_ns, "capacity sweep", dir);
	free(cells);
	return e;
}

/* The cells whose failed fraction exceeds --max-failures, printed; their
 * number (a user load's failures fail a sweep as they fail a run). */
static int cells_over(const opts *o, const fl_report *r)
{
	int over = 0;
	for (size_t i = 0; i < r->ncounters; i++) {
		const char *n = r->counters[i].name;
		size_t l = strlen(n);
		if (l < 12 || strncmp(n, "cell.", 5) || strcmp(n + l - 7, ".failed") ||
		    r->counters[i].value <= 0)
			continue;
		char items[256];
		snprintf(items, sizeof(items), "%.*sitems", (int)(l - 6), n);
		const fl_report_counter *it = fl_report_find_counter(r, items);
		double frac = it && it->value > 0 ? (double)r->counters[i].value / (double)it->value
						  : 1.0;
		if (frac > o->max_failures) {
			fprintf(o->text,
				"%.*s: %lld failed requests (%.3g%%, allowed %.3g%%): FAIL\n",
				(int)(l - 7), n, (long long)r->counters[i].value, 100 * frac,
				100 * o->max_failures);
			over++;
		}
	}
	return over;
}

int fl__bench_cli_sweep(opts *o)
{
	const char *dir = o->out_dir ? o->out_dir : "out/sweep";
	char path[PATH_MAX];
	FILE *hlog = NULL;
	fl_report *r = NULL;
	fl_fault_plan *plan = NULL;
	struct fl_report_opts ro = {.seed = o->load.seed,
				    .fault_plan = o->fault_plan,
				    .backend =
					    o->load.virtual_clock ? "virtual" : fl_sched_backend(),
				    .git_rev = FL_REVISION};
	fl_err *e = fl_report_mkdir_p(dir);
	if (!e) {
		snprintf(path, sizeof(path), "%s/sweep.hlog", dir);
		if (!(hlog = fopen(path, "w")))
			e = fl_err_errno(errno, "open %s", path);
	}
	if (!e && !(e = fl_report_new("capacity sweep", &ro, &r)) &&
	    !(e = fl_report_detect_host(r)) && !(e = fl__bench_cli_arm(o, &plan))) {
		o->load.hlog = hlog;
		char cell[24];
		fl_report_format_ns((double)o->cell_ns, true, cell, sizeof(cell));
		fprintf(o->text, "sweep%s%s: %zu cells, shard %d/%d, %d rep(s) of %s each\n",
			o->load_name ? " of " : "", o->load_name ? o->load_name : "",
			fl_bench_grid_cells(&o->grid), o->shard + 1, o->shards, o->reps, cell);
		e = fl_bench_sweep_run(&o->grid, o->reps, o->shard, o->shards, &o->load, o->cell_ns,
				       r, o->text);
	}
	fl_fault_plan_free(plan);
	if (hlog && fclose(hlog) && !e)
		e = fl_err_errno(errno, "close %s", path);
	for (size_t i = 0; !e && r && i < r->nhists; i++) {
		size_t l = strlen(r->hists[i].name);
		if (l > 9 && strcmp(r->hists[i].name + l - 9, ".response") == 0)
			e = fl_report_add_slo(r, r->hists[i].name, 99, o->slo_ns);
	}
	if (!e) {
		snprintf(path, sizeof(path), "%s/sweep.json", dir);
		e = fl_report_write_json(r, path);
	}
	if (!e && o->json)
		e = fl_report_write_json(r, o->json);
	if (!e && o->junit)
		e = fl_report_write_junit(r, o->junit);
	if (!e)
		e = render(r, o->slo_ns, dir, o->text);
	int over = !e ? cells_over(o, r) : 0;
	fl_report_free(r);
	if (e) {
		fl__bench_cli_print_err("sweep", e);
		return EXIT_USAGE;
	}
	fprintf(o->text, "sweep: %s/index.html (also sweep.json, sweep.hlog)\n", dir);
	return over ? EXIT_REGRESSION : EXIT_OK;
}

/* The SLO stored with the cells (the first p99 SLO found), or 0. */
static int64_t stored_slo(const fl_report *r)
{
	for (size_t i = 0; i < r->nhists; i++)
		for (size_t k = 0; k < r->hists[i].nslos; k++)
			if (r->hists[i].slos[k].percentile == 99)
				return r->hists[i].slos[k].threshold_ns;
	return 0;
}

int fl__bench_cli_sweep_report(int argc, char **argv)
{
	const char *in = NULL, *dir = "out/sweep";
	int64_t slo = 0;
	int rc = fl__bench_cli_parse_report(argc, argv, &in, &dir, &slo);
	if (rc)
		return rc == CLI_DONE ? EXIT_OK : EXIT_USAGE;
	if (!in) {
		fl__bench_cli_usage(stderr, "sweep-report");
		return EXIT_USAGE;
	}
	fl_report *r;
	fl_err *e = fl_report_load_json(in, &r);
	if (!e) {
		if (!slo)
			slo = stored_slo(r) ? stored_slo(r) : FL_MS(10);
		if (!(e = fl_report_mkdir_p(dir)))
			e = render(r, slo, dir, stdout);
		fl_report_free(r);
	}
	if (e) {
		fl__bench_cli_print_err("sweep-report", e);
		return EXIT_USAGE;
	}
	printf("sweep: %s/index.html\n", dir);
	return EXIT_OK;
}
