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

static fl_err *render(fl_report *r, int64_t slo_ns, const char *dir)
{
	fl_bench_cell *cells;
	size_t n;
	fl_err *e = fl_bench_sweep_cells(r, slo_ns, &cells, &n);
	if (e)
		return e;
	printf("%-22s %10s %10s %10s %10s %7s %7s %7s\n", "cell", "offered", "achieved",
	       "p50 ms", "p99 ms", "util", "queue", "L dev");
	for (size_t i = 0; i < n; i++)
		printf("%-22s %10.0f %10.0f %10.3f %10.3f %6.1f%% %7.2f %+6.1f%%%s\n", cells[i].key,
		       cells[i].offered, cells[i].throughput, (double)cells[i].p50 / 1e6,
		       (double)cells[i].p99 / 1e6, 100 * cells[i].utilisation, cells[i].queue,
		       100 * cells[i].little_dev, cells[i].knee ? "  <- knee" : "");
	e = fl_bench_sweep_write_html(cells, n, slo_ns, "capacity sweep", dir);
	free(cells);
	return e;
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
				    .backend = o->load.virtual_clock ? "virtual" : fl_sched_backend(),
				    .git_rev = FL_REVISION};
	fl_err *e = fl_report_mkdir_p(dir);
	if (!e) {
		snprintf(path, sizeof(path), "%s/sweep.hlog", dir);
		if (!(hlog = fopen(path, "w")))
			e = fl_err_errno(errno, "open %s", path);
	}
	if (!e && !(e = fl_report_new("capacity sweep", &ro, &r)) && !(e = fl_report_detect_host(r)) &&
	    !(e = fl__bench_cli_arm(o, &plan))) {
		o->load.hlog = hlog;
		printf("sweep: %zu cells, shard %d/%d, %d rep(s) of %.1f s each\n",
		       fl_bench_grid_cells(&o->grid), o->shard + 1, o->shards, o->reps,
		       (double)o->cell_ns / 1e9);
		e = fl_bench_sweep_run(&o->grid, o->reps, o->shard, o->shards, &o->load, o->cell_ns,
				       r, stdout);
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
	if (!e)
		e = render(r, o->slo_ns, dir);
	fl_report_free(r);
	if (e) {
		fl__bench_cli_print_err("sweep", e);
		return EXIT_USAGE;
	}
	printf("sweep: %s/index.html (also sweep.json, sweep.hlog)\n", dir);
	return EXIT_OK;
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
	if (fl__bench_cli_parse_report(argc, argv, &in, &dir, &slo))
		return EXIT_USAGE;
	if (!in) {
		fl__bench_cli_usage(stderr);
		return EXIT_USAGE;
	}
	fl_report *r;
	fl_err *e = fl_report_load_json(in, &r);
	if (!e) {
		if (!slo)
			slo = stored_slo(r) ? stored_slo(r) : FL_MS(10);
		if (!(e = fl_report_mkdir_p(dir)))
			e = render(r, slo, dir);
		fl_report_free(r);
	}
	if (e) {
		fl__bench_cli_print_err("sweep-report", e);
		return EXIT_USAGE;
	}
	printf("sweep: %s/index.html\n", dir);
	return EXIT_OK;
}
