/*
 * main.c - faultline-bench: open-loop runs, capacity sweeps and the
 * regression gate (docs/bench.md). `faultline bench ARGS` runs it.
 *
 *   faultline-bench run   [LOAD] [--out DIR] [--json PATH]
 *   faultline-bench sweep [LOAD] [--limit L,..] [--buffer B,..] [--workers W,..]
 *                         [--rate R,..] [--reps N] [--cell DUR] [--shard I/N]
 *                         [--slo DUR] [--out DIR]
 *   faultline-bench sweep-report SWEEP.json [--slo DUR] [--out DIR]
 *   faultline-bench gate BASELINE [LOAD] [--reps N] [--warmup-reps K]
 *                        [--json PATH] [--md PATH]
 *   faultline-bench gate --save PATH [LOAD] [--reps N] [--warmup-reps K]
 *
 * Exit status: 0 success (gate: no regression), 1 gate: regression,
 * 2 usage, input or environment error.
 */
#include <fl/bench.h>
#include <fl/fault.h>
#include <fl/hdr.h>
#include <fl/job.h>
#include <fl/report.h>
#include <fl/task.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "flb_revision.h"

extern char **environ;

enum { EXIT_OK = 0, EXIT_REGRESSION = 1, EXIT_USAGE = 2 };

static void usage(FILE *out)
{
	fputs("usage: faultline-bench run   [LOAD] [--out DIR] [--json PATH]\n"
	      "       faultline-bench sweep [LOAD] [--limit L,..] [--buffer B,..] [--workers W,..]\n"
	      "                             [--rate R,..] [--reps N] [--cell DUR] [--shard I/N]\n"
	      "                             [--slo DUR] [--out DIR]\n"
	      "       faultline-bench sweep-report SWEEP.json [--slo DUR] [--out DIR]\n"
	      "       faultline-bench gate BASELINE [LOAD] [--reps N] [--warmup-reps K]\n"
	      "                            [--json PATH] [--md PATH]\n"
	      "       faultline-bench gate --save PATH [LOAD] [--reps N] [--warmup-reps K]\n"
	      "\n"
	      "LOAD: [--job FILE[:SECTION]] (a job file's pipeline, then the options below)\n"
	      "      --rate R | --schedule 'R@DUR,R..R@DUR,..'  [--poisson] [--warmup DUR]\n"
	      "      [--duration DUR] [--items N] [--stages N] [--workers N] [--buffer N]\n"
	      "      [--limit N] [--service 'exp(50us)'] [--work spin|sleep]\n"
	      "      [--clock real|virtual] [--seed N] [--fault-plan PLAN] [--interval DUR]\n"
	      "      [--backend threads|fibers]\n"
	      "BASELINE: a JSON file written by gate --save, or a faultline-bench binary\n"
	      "(then A/B repetitions are interleaved). Exit: 0 ok / no regression,\n"
	      "1 regression, 2 usage or environment error.\n",
	      out);
}

static void print_err(const char *what, fl_err *e)
{
	fprintf(stderr, "faultline-bench: %s: ", what);
	fl_err_print(stderr, e);
	fl_err_drop(e);
}

/* ---- options ----------------------------------------------------------------------- */

typedef struct opts {
	struct fl_bench_load_opts load;
	bool have_rate, have_schedule;
	double rate;
	int64_t duration_ns;
	const char *fault_plan, *backend;
	/* sweep */
	fl_bench_grid grid;
	int reps, warmup_reps, shard, shards;
	int64_t cell_ns, slo_ns;
	/* outputs */
	const char *out_dir, *json, *md, *save;
	/* --job FILE[:SECTION] */
	fl_jobs *jobs;
	const char *stage_names[6];
	bool job_has_rate;
	/* LOAD arguments as given, for a baseline binary */
	char **fwd;
	int nfwd;
} opts;

static fl_err *parse_int(const char *what, const char *s, long lo, long hi, long *v)
{
	char *end;
	errno = 0;
	long x = strtol(s, &end, 10);
	if (errno || end == s || *end || x < lo || x > hi)
		return fl_err_wrap(FL_ERR_INVAL, "%s: not an integer in %ld..%ld: '%s'", what, lo,
				   hi, s);
	*v = x;
	return NULL;
}

/* One LOAD option at argv[*i] (value at argv[*i + 1]); *used = false if it
 * is not one. In a sweep, --limit, --buffer, --workers and --rate are lists. */
static fl_err *parse_load(opts *o, int argc, char **argv, int *i, bool sweep, bool *used)
{
	const char *a = argv[*i];
	struct fl_bench_load_opts *l = &o->load;
	*used = true;
	if (strcmp(a, "--poisson") == 0) {
		l->poisson = true;
		return NULL;
	}
	static const char *const valued[] = {
	    "--job", "--rate", "--schedule", "--warmup", "--duration", "--items", "--stages",
	    "--workers", "--buffer", "--limit", "--service", "--work", "--clock",
	    "--seed", "--fault-plan", "--interval", "--backend", NULL};
	bool known = false;
	for (const char *const *k = valued; *k; k++)
		known |= strcmp(a, *k) == 0;
	if (!known) {
		*used = false;
		return NULL;
	}
	if (*i + 1 >= argc)
		return fl_err_wrap(FL_ERR_INVAL, "%s needs a value", a);
	const char *v = argv[++*i];
	long n;
	fl_err *e = NULL;
	fl_bench_grid *g = &o->grid;
	if (sweep && strcmp(a, "--limit") == 0)
		return fl_bench_axis_parse_int(a, v, g->limit, &g->nlimit);
	if (sweep && strcmp(a, "--buffer") == 0)
		return fl_bench_axis_parse_int(a, v, g->buffer, &g->nbuffer);
	if (sweep && strcmp(a, "--workers") == 0) {
		if (!(e = fl_bench_axis_parse_int(a, v, g->workers, &g->nworkers)))
			for (int k = 0; k < g->nworkers && !e; k++)
				if (g->workers[k] < 1)
					e = fl_err_wrap(FL_ERR_INVAL, "--workers: 0 workers");
		return e;
	}
	if (sweep && strcmp(a, "--rate") == 0)
		return fl_bench_axis_parse_rate(a, v, g->rate, &g->nrate);
	if (strcmp(a, "--job") == 0) {
		/* Applied in parse() before the other options. */
	} else if (strcmp(a, "--rate") == 0) {
		char *end;
		o->rate = strtod(v, &end);
		o->have_rate = true;
		if (end == v || *end || !(o->rate > 0) || o->rate > 1e8)
			e = fl_err_wrap(FL_ERR_INVAL, "--rate: not a rate in (0, 1e8]: '%s'", v);
	} else if (strcmp(a, "--schedule") == 0) {
		o->have_schedule = true;
		e = fl_bench_schedule_parse(v, &l->schedule);
	} else if (strcmp(a, "--warmup") == 0) {
		e = fl_bench_parse_duration(a, v, &l->warmup_ns);
	} else if (strcmp(a, "--duration") == 0) {
		e = fl_bench_parse_duration(a, v, &o->duration_ns);
	} else if (strcmp(a, "--interval") == 0) {
		if (!(e = fl_bench_parse_duration(a, v, &l->interval_ns)) && l->interval_ns < 1000000)
			e = fl_err_wrap(FL_ERR_INVAL, "--interval: at least 1ms");
	} else if (strcmp(a, "--items") == 0) {
		if (!(e = parse_int(a, v, 1, LONG_MAX, &n)))
			l->max_items = n;
	} else if (strcmp(a, "--stages") == 0) {
		if (!(e = parse_int(a, v, 1, 64, &n)))
			l->stages = (int)n;
	} else if (strcmp(a, "--workers") == 0) {
		if (!(e = parse_int(a, v, 1, 4096, &n)))
			l->workers = (int)n;
	} else if (strcmp(a, "--buffer") == 0) {
		if (!(e = parse_int(a, v, 0, 1 << 24, &n)))
			l->buffer = (int)n;
	} else if (strcmp(a, "--limit") == 0) {
		if (!(e = parse_int(a, v, 0, INT_MAX, &n)))
			l->limit = (int)n;
	} else if (strcmp(a, "--seed") == 0) {
		if (!(e = parse_int(a, v, 0, LONG_MAX, &n)))
			l->seed = (uint64_t)n;
	} else if (strcmp(a, "--service") == 0) {
		e = fl_bench_dist_parse(v, &l->service);
	} else if (strcmp(a, "--work") == 0) {
		if (strcmp(v, "spin") && strcmp(v, "sleep"))
			e = fl_err_wrap(FL_ERR_INVAL, "--work: 'spin' or 'sleep', not '%s'", v);
		l->sleep_work = strcmp(v, "sleep") == 0;
	} else if (strcmp(a, "--clock") == 0) {
		if (strcmp(v, "real") && strcmp(v, "virtual"))
			e = fl_err_wrap(FL_ERR_INVAL, "--clock: 'real' or 'virtual', not '%s'", v);
		l->virtual_clock = strcmp(v, "virtual") == 0;
	} else if (strcmp(a, "--fault-plan") == 0) {
		o->fault_plan = v;
		e = fl_fault_check(v);
	} else if (strcmp(a, "--backend") == 0) {
		o->backend = v;
	}
	return e;
}

/* --job FILE[:SECTION]: the job's pipeline as the starting point. */
static fl_err *load_job(opts *o, const char *arg)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s", arg);
	char *colon = strrchr(path, ':');
	const char *section = NULL;
	if (colon && access(path, R_OK) != 0) {
		*colon = '\0';
		section = colon + 1;
	}
	if (o->jobs)
		return fl_err_wrap(FL_ERR_INVAL, "--job given twice");
	const char *plan = NULL;
	fl_err *e = fl_bench_load_from_job(path, section, &o->load, o->stage_names, &plan,
					   &o->slo_ns, &o->jobs);
	if (e)
		return e;
	if (plan && !o->fault_plan)
		o->fault_plan = plan;
	o->job_has_rate = o->load.schedule.n > 0;
	return NULL;
}

/* Parses argv (after the subcommand) into o; extra names the options only
 * this subcommand takes. Returns EXIT_USAGE after printing why, else 0. */
static int parse(opts *o, int argc, char **argv, const char *cmd)
{
	bool sweep = strcmp(cmd, "sweep") == 0, gate = strcmp(cmd, "gate") == 0;
	fl_bench_load_defaults(&o->load);
	o->reps = sweep ? 1 : 9;
	o->warmup_reps = gate ? 1 : 0;
	o->shards = 1;
	o->cell_ns = FL_SEC(2);
	o->slo_ns = FL_MS(10);
	o->fwd = calloc((size_t)argc + 1, sizeof(char *));
	if (!o->fwd)
		return EXIT_USAGE;
	for (int i = 0; i + 1 < argc; i++)
		if (strcmp(argv[i], "--job") == 0) {
			fl_err *e = load_job(o, argv[i + 1]);
			if (e) {
				print_err("--job", e);
				return EXIT_USAGE;
			}
		}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool used;
		int first = i;
		fl_err *e = parse_load(o, argc, argv, &i, sweep, &used);
		if (!e && used) {
			for (int k = first; k <= i; k++)
				o->fwd[o->nfwd++] = argv[k];
			continue;
		}
		long n;
		const char **dst = strcmp(a, "--out") == 0    ? &o->out_dir
				   : strcmp(a, "--json") == 0 ? &o->json
				   : strcmp(a, "--md") == 0   ? &o->md
				   : strcmp(a, "--save") == 0 ? &o->save
							      : NULL;
		static const char *const own[] = {"--reps", "--warmup-reps", "--cell", "--slo",
						  "--shard", NULL};
		bool ours = dst != NULL;
		for (const char *const *k = own; *k; k++)
			ours |= strcmp(a, *k) == 0;
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (e)
			;
		else if (!ours)
			e = fl_err_wrap(FL_ERR_INVAL, "unknown %s '%s'",
					a[0] == '-' ? "option" : "argument", a);
		else if (!v)
			e = fl_err_wrap(FL_ERR_INVAL, "%s needs a value", a);
		else if ((i++, dst))
			*dst = v;
		else if (strcmp(a, "--reps") == 0) {
			if (!(e = parse_int(a, v, 1, 1000, &n)))
				o->reps = (int)n;
		} else if (strcmp(a, "--warmup-reps") == 0) {
			if (!(e = parse_int(a, v, 0, 100, &n)))
				o->warmup_reps = (int)n;
		} else if (strcmp(a, "--cell") == 0) {
			if (!(e = fl_bench_parse_duration(a, v, &o->cell_ns)) && o->cell_ns <= 0)
				e = fl_err_wrap(FL_ERR_INVAL, "--cell: must be > 0");
		} else if (strcmp(a, "--slo") == 0) {
			e = fl_bench_parse_duration(a, v, &o->slo_ns);
		} else {
			int s, t, end = 0;
			if (sscanf(v, "%d/%d%n", &s, &t, &end) != 2 || v[end] || t < 1 || s < 1 ||
			    s > t)
				e = fl_err_wrap(FL_ERR_INVAL, "--shard: expected I/N with 1 <= I <= N, "
						"not '%s'", v);
			o->shard = s - 1;
			o->shards = t;
		}
		if (e) {
			print_err(cmd, e);
			return EXIT_USAGE;
		}
	}
	if (o->have_rate && o->have_schedule) {
		fprintf(stderr, "faultline-bench: give --rate or --schedule, not both\n");
		return EXIT_USAGE;
	}
	if (o->jobs && !o->have_rate && !o->have_schedule && !o->job_has_rate) {
		fprintf(stderr, "faultline-bench: the job has no rate (closed loop): give --rate\n");
		return EXIT_USAGE;
	}
	if (!o->have_schedule && !(o->jobs && !o->have_rate && !o->duration_ns)) {
		int64_t d = o->duration_ns ? o->duration_ns : FL_SEC(5);
		fl_bench_schedule_const(&o->load.schedule, o->have_rate ? o->rate : 1000, d);
	}
	if (sweep) {
		fl_bench_grid *g = &o->grid;
		if (!g->nlimit)
			g->limit[g->nlimit++] = o->load.limit;
		if (!g->nbuffer)
			g->buffer[g->nbuffer++] = o->load.buffer;
		if (!g->nworkers)
			g->workers[g->nworkers++] = o->load.workers;
		if (!g->nrate)
			g->rate[g->nrate++] = o->have_rate ? o->rate : 1000;
	}
	fl_err *e = fl_bench_load_check(&o->load);
	if (e) {
		print_err(cmd, e);
		return EXIT_USAGE;
	}
	struct fl_sched_opts so = {.backend = o->backend};
	if ((e = fl_sched_init(&so))) {
		print_err("--backend", e);
		return EXIT_USAGE;
	}
	return 0;
}

/* mkdir -p. */
static fl_err *make_dirs(const char *path)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return fl_err_wrap(FL_ERR_INVAL, "directory name too long: %s", path);
	for (char *p = buf + 1;; p++) {
		bool end = *p == '\0';
		if (*p == '/' || end) {
			*p = '\0';
			if (mkdir(buf, 0777) != 0 && errno != EEXIST)
				return fl_err_errno(errno, "mkdir %s", buf);
			if (end)
				return NULL;
			*p = '/';
		}
	}
}

static fl_err *arm(const opts *o, fl_fault_plan **plan)
{
	*plan = NULL;
	return o->fault_plan ? fl_fault_arm(o->fault_plan, o->load.seed, plan) : NULL;
}

/* ---- run ----------------------------------------------------------------------------- */

static void print_hist(const char *name, const fl_hdr *h)
{
	printf("%-12s p50 %10.1f us  p99 %10.1f us  p99.9 %10.1f us  max %10.1f us  (n=%lld)\n",
	       name, (double)fl_hdr_value_at_percentile(h, 50) / 1e3,
	       (double)fl_hdr_value_at_percentile(h, 99) / 1e3,
	       (double)fl_hdr_value_at_percentile(h, 99.9) / 1e3, (double)fl_hdr_max(h) / 1e3,
	       (long long)fl_hdr_total_count(h));
}

static fl_err *run_report(const opts *o, const fl_bench_result *res, fl_report **out)
{
	struct fl_report_opts ro = {.seed = o->load.seed,
				    .fault_plan = o->fault_plan,
				    .backend = o->load.virtual_clock ? "virtual" : fl_sched_backend(),
				    .git_rev = FLB_REVISION};
	fl_report *r;
	fl_err *e = fl_report_new("open-loop run", &ro, &r);
	if (e)
		return e;
	char fp[160];
	snprintf(fp, sizeof(fp), "compiler=%s", fl_bench_compiler());
	if (!(e = fl_report_detect_host(r)) && !(e = fl_report_set_duration(r, res->window_ns)) &&
	    !(e = fl_report_add_check(r, "fingerprint", FL_REPORT_SKIP, NAN, NAN, NULL, fp)) &&
	    !(e = fl_bench_result_add_to_report(r, "", res)) &&
	    !(e = fl_report_add_slo(r, "response", 99, o->slo_ns))) {
		e = fl_report_eval_slos(r);
	}
	if (e) {
		fl_report_free(r);
		return e;
	}
	*out = r;
	return NULL;
}

static int cmd_run(opts *o)
{
	FILE *hlog = NULL;
	fl_err *e = NULL;
	char path[PATH_MAX];
	if (o->out_dir && !(e = make_dirs(o->out_dir))) {
		snprintf(path, sizeof(path), "%s/run.hlog", o->out_dir);
		if (!(hlog = fopen(path, "w")))
			e = fl_err_errno(errno, "open %s", path);
	}
	o->load.hlog = hlog;
	fl_fault_plan *plan = NULL;
	fl_bench_result res = {0};
	if (!e && !(e = arm(o, &plan)))
		e = fl_bench_load_run(&o->load, &res);
	fl_fault_plan_free(plan);
	if (hlog && fclose(hlog) && !e)
		e = fl_err_errno(errno, "close %s", path);
	if (e) {
		print_err("run", e);
		fl_bench_result_destroy(&res);
		return EXIT_USAGE;
	}
	printf("items %lld measured (%lld issued), window %.3f s, offered %.1f/s, achieved "
	       "%.1f/s, backlog max %lld\n",
	       (long long)res.items, (long long)res.issued, (double)res.window_ns / 1e9,
	       res.offered_rate,
	       res.window_ns ? (double)res.items * 1e9 / (double)res.window_ns : 0.0,
	       (long long)res.backlog_max);
	print_hist("response", res.response);
	print_hist("service", res.service);
	if (!o->load.virtual_clock)
		print_hist("sched error", res.sched_error);
	fl_report *r = NULL;
	if ((o->out_dir || o->json) && !(e = run_report(o, &res, &r))) {
		if (o->out_dir)
			e = fl_report_write_all(r, o->out_dir);
		if (!e && o->json)
			e = fl_report_write_json(r, o->json);
		if (!e && o->out_dir)
			printf("report: %s/index.html (also report.json, run.hlog)\n", o->out_dir);
	}
	fl_report_free(r);
	fl_bench_result_destroy(&res);
	if (e) {
		print_err("writing the report", e);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* ---- sweep --------------------------------------------------------------------------- */

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

static int cmd_sweep(opts *o)
{
	const char *dir = o->out_dir ? o->out_dir : "out/sweep";
	char path[PATH_MAX];
	FILE *hlog = NULL;
	fl_report *r = NULL;
	fl_fault_plan *plan = NULL;
	struct fl_report_opts ro = {.seed = o->load.seed,
				    .fault_plan = o->fault_plan,
				    .backend = o->load.virtual_clock ? "virtual" : fl_sched_backend(),
				    .git_rev = FLB_REVISION};
	fl_err *e = make_dirs(dir);
	if (!e) {
		snprintf(path, sizeof(path), "%s/sweep.hlog", dir);
		if (!(hlog = fopen(path, "w")))
			e = fl_err_errno(errno, "open %s", path);
	}
	if (!e && !(e = fl_report_new("capacity sweep", &ro, &r)) && !(e = fl_report_detect_host(r)) &&
	    !(e = arm(o, &plan))) {
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
		print_err("sweep", e);
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

static int cmd_sweep_report(int argc, char **argv)
{
	const char *in = NULL, *dir = "out/sweep";
	int64_t slo = 0;
	for (int i = 0; i < argc; i++) {
		fl_err *e = NULL;
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--slo") == 0 && i + 1 < argc)
			e = fl_bench_parse_duration("--slo", argv[++i], &slo);
		else if (argv[i][0] != '-' && !in)
			in = argv[i];
		else
			e = fl_err_wrap(FL_ERR_INVAL, "unexpected argument '%s'", argv[i]);
		if (e) {
			print_err("sweep-report", e);
			return EXIT_USAGE;
		}
	}
	if (!in) {
		usage(stderr);
		return EXIT_USAGE;
	}
	fl_report *r;
	fl_err *e = fl_report_load_json(in, &r);
	if (!e) {
		if (!slo)
			slo = stored_slo(r) ? stored_slo(r) : FL_MS(10);
		if (!(e = make_dirs(dir)))
			e = render(r, slo, dir);
		fl_report_free(r);
	}
	if (e) {
		print_err("sweep-report", e);
		return EXIT_USAGE;
	}
	printf("sweep: %s/index.html\n", dir);
	return EXIT_OK;
}

/* ---- gate ------------------------------------------------------------------------------ */

/* Runs `bin run --json tmp LOAD --seed S` and reads its sample. */
static fl_err *run_binary(const char *bin, const opts *o, uint64_t seed, fl_bench_sample *s,
			  fl_report **fp)
{
	char tmp[PATH_MAX];
	const char *td = getenv("TMPDIR");
	snprintf(tmp, sizeof(tmp), "%s/faultline-gate-XXXXXX", td && *td ? td : "/tmp");
	int fd = mkstemp(tmp);
	if (fd < 0)
		return fl_err_errno(errno, "mkstemp");
	close(fd);
	char seedbuf[32];
	snprintf(seedbuf, sizeof(seedbuf), "%llu", (unsigned long long)seed);
	char **argv = calloc((size_t)o->nfwd + 8, sizeof(char *));
	if (!argv) {
		unlink(tmp);
		return FL_ERR_NOMEM;
	}
	static char s_run[] = "run", s_json[] = "--json", s_seed[] = "--seed";
	int n = 0;
	argv[n++] = (char *)bin;
	argv[n++] = s_run;
	argv[n++] = s_json;
	argv[n++] = tmp;
	for (int k = 0; k < o->nfwd; k++)
		argv[n++] = o->fwd[k];
	argv[n++] = s_seed;
	argv[n++] = seedbuf;
	pid_t pid;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	int rc = posix_spawn(&pid, bin, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	free(argv);
	fl_err *e = NULL;
	int status = 0;
	if (rc)
		e = fl_err_errno(rc, "spawn %s", bin);
	else if (waitpid(pid, &status, 0) < 0)
		e = fl_err_errno(errno, "waitpid %s", bin);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		e = fl_err_wrap(FL_ERR_INVAL, "%s run failed (status %d)", bin, status);
	fl_report *r = NULL;
	if (!e)
		e = fl_report_load_json(tmp, &r);
	unlink(tmp);
	if (!e)
		e = fl_bench_sample_of_report(r, "", s);
	if (!e && fp && !*fp)
		*fp = r;
	else
		fl_report_free(r);
	return e;
}

/* Runs reps in-process into *samples (and into base when saving). */
static fl_err *run_reps(opts *o, int reps, uint64_t seed0, fl_bench_sample *samples,
			fl_report *base)
{
	fl_fault_plan *plan;
	fl_err *e = arm(o, &plan);
	for (int r = -o->warmup_reps; r < reps && !e; r++) {
		struct fl_bench_load_opts l = o->load;
		l.seed = seed0 + (uint64_t)(r + o->warmup_reps);
		fl_bench_result res;
		if ((e = fl_bench_load_run(&l, &res)))
			break;
		if (r >= 0) {
			fl_bench_sample_of(&res, &samples[r]);
			if (base)
				e = fl_bench_baseline_add(base, &res);
		}
		fl_bench_result_destroy(&res);
	}
	fl_fault_plan_free(plan);
	return e;
}

static int gate_save(opts *o)
{
	fl_report *b;
	fl_bench_sample *s = calloc((size_t)o->reps, sizeof(*s));
	fl_err *e = s ? fl_bench_baseline_new(FLB_REVISION, &b) : FL_ERR_NOMEM;
	if (!e) {
		if (o->load.virtual_clock) {
			free(b->backend);
			b->backend = strdup("virtual");
		}
		if (!(e = run_reps(o, o->reps, o->load.seed, s, b)))
			e = fl_report_write_json(b, o->save);
		fl_report_free(b);
	}
	free(s);
	if (e) {
		print_err("gate --save", e);
		return EXIT_USAGE;
	}
	printf("baseline: %s (%d repetitions)\n", o->save, o->reps);
	return EXIT_OK;
}

static bool is_json(const char *p)
{
	size_t n = strlen(p);
	return n > 5 && strcmp(p + n - 5, ".json") == 0;
}

static int cmd_gate(opts *o, const char *baseline)
{
	if (o->save)
		return gate_save(o);
	if (!baseline) {
		fprintf(stderr, "faultline-bench: gate needs BASELINE (a .json or a binary)\n");
		return EXIT_USAGE;
	}
	fl_bench_sample *bs = NULL, *cs = calloc((size_t)o->reps, sizeof(*cs));
	size_t nb = 0;
	fl_report *base = NULL, *cand = NULL;
	fl_err *e = cs ? fl_bench_baseline_new(FLB_REVISION, &cand) : FL_ERR_NOMEM;
	if (!e && o->load.virtual_clock) {
		free(cand->backend);
		cand->backend = strdup("virtual");
	}
	if (!e && is_json(baseline)) {
		if (!(e = fl_report_load_json(baseline, &base)) &&
		    !(e = fl_bench_baseline_samples(base, &bs, &nb)))
			e = run_reps(o, o->reps, o->load.seed, cs, NULL);
	} else if (!e) {
		/* A/B interleaved, ABBA order, every repetition a fresh process. */
		char self[PATH_MAX];
		ssize_t l = readlink("/proc/self/exe", self, sizeof(self) - 1);
		bs = calloc((size_t)o->reps, sizeof(*bs));
		if (l < 0 || !bs)
			e = l < 0 ? fl_err_errno(errno, "readlink /proc/self/exe") : FL_ERR_NOMEM;
		else
			self[l] = '\0';
		nb = (size_t)o->reps;
		for (int r = -o->warmup_reps; r < o->reps && !e; r++) {
			fl_bench_sample sa, sb;
			uint64_t seed = o->load.seed + (uint64_t)(r + o->warmup_reps);
			bool a_first = (r & 1) == 0;
			for (int k = 0; k < 2 && !e; k++)
				e = (k == 0) == a_first ? run_binary(baseline, o, seed, &sa, &base)
							: run_binary(self, o, seed, &sb, NULL);
			if (!e && r >= 0) {
				bs[r] = sa;
				cs[r] = sb;
			}
		}
	}
	fl_bench_verdict v;
	if (!e)
		e = fl_bench_gate_eval(bs, nb, cs, (size_t)o->reps, NULL, &v);
	int diffs = 0;
	if (!e) {
		diffs = base ? fl_bench_fingerprint_diff(base, cand, stderr) : 0;
		fl_bench_verdict_markdown(&v, stdout);
		if (o->json)
			e = fl_bench_verdict_write_json(&v, base, cand, diffs, o->json);
		if (!e && o->md) {
			fl_report_file *f;
			if (!(e = fl_report_file_open(o->md, &f))) {
				fl_bench_verdict_markdown(&v, fl_report_file_stream(f));
				e = fl_report_file_commit(f);
			}
		}
	}
	fl_report_free(base);
	fl_report_free(cand);
	free(bs);
	free(cs);
	if (e) {
		print_err("gate", e);
		return EXIT_USAGE;
	}
	return v.regression ? EXIT_REGRESSION : EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(cmd, "sweep-report") == 0)
		return cmd_sweep_report(argc - 2, argv + 2);
	if (strcmp(cmd, "run") && strcmp(cmd, "sweep") && strcmp(cmd, "gate")) {
		fprintf(stderr, "faultline-bench: unknown command '%s'\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *baseline = NULL;
	int first = 2;
	if (strcmp(cmd, "gate") == 0 && argc > 2 && argv[2][0] != '-') {
		baseline = argv[2];
		first = 3;
	}
	opts o = {0};
	int rc = parse(&o, argc - first, argv + first, cmd);
	if (!rc)
		rc = strcmp(cmd, "run") == 0     ? cmd_run(&o)
		     : strcmp(cmd, "sweep") == 0 ? cmd_sweep(&o)
						 : cmd_gate(&o, baseline);
	free(o.fwd);
	fl_jobs_free(o.jobs);
	return rc;
}
