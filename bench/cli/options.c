/*
 * options.c - faultline-bench's flags: one table for every verb, the usage
 * text and sweep-report's few arguments.
 *
 * Every option of run, sweep and gate is a row of `options` below: its
 * name, whether it is a LOAD option (LOAD options are also recorded as
 * given, so the gate can pass them on to a baseline binary), how its value
 * is parsed (into a field of fl__bench_cli_opts, with bounds) and, for the
 * four sweep axes, the list parser a sweep uses instead, and for a
 * deprecated spelling (--fault-plan, --out) the name to use, printed on
 * stderr when it is used. Values come as "--opt value" or "--opt=value".
 * Bare words are gate's BASELINE (unless --save) and then a user load's
 * NAME, which is passed on to a baseline binary as "--load NAME". --job is
 * applied before every other option, so that they refine the job's
 * pipeline. Parsing stops at the first error, printed as "PROG: CMD: why",
 * and the command exits 2; -h or --help anywhere prints the verb's usage.
 */
#include "cli_internal.h"

#include <fl/task.h>

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const synopsis[][2] = {
	{"run", "run   [NAME] [LOAD] [--slo DUR] [--max-failures F] [--report DIR]\n"
		"              [--json FILE] [--junit FILE]\n"},
	{"sweep", "sweep [NAME] [LOAD] [--limit L,..] [--buffer B,..] [--workers W,..]\n"
		  "              [--rate R,..] [--reps N] [--cell DUR] [--shard I/N] [--slo DUR]\n"
		  "              [--report DIR] [--json FILE] [--junit FILE]\n"},
	{"sweep-report", "sweep-report SWEEP.json [--slo DUR] [--report DIR]\n"},
	{"gate", "gate BASELINE [NAME] [LOAD] [--reps N] [--warmup-reps K]\n"
		 "              [--json FILE] [--md FILE] [--junit FILE]\n"},
	{"gate", "gate --save FILE [NAME] [LOAD] [--reps N] [--warmup-reps K]\n"},
	{"loads", "loads   (the loads registered with FL_LOAD)\n"},
};

void fl__bench_cli_usage(FILE *out, const char *cmd)
{
	const char *p = fl__bench_cli_prog();
	bool any = false;
	for (size_t i = 0; i < sizeof(synopsis) / sizeof(synopsis[0]); i++) {
		if (cmd && strcmp(cmd, synopsis[i][0]))
			continue;
		fprintf(out, "%s %s ", any ? "      " : "usage:", p);
		fputs(synopsis[i][1], out);
		any = true;
	}
	if (cmd && !any) {
		fprintf(out, "%s: no command '%s'\n", p, cmd);
		return;
	}
	if (cmd && (!strcmp(cmd, "sweep-report") || !strcmp(cmd, "loads")))
		return;
	fputs("\n"
	      "NAME: a load registered with FL_LOAD (also --load NAME); `loads` lists them.\n"
	      "LOAD: [--job FILE[:SECTION]] (a job file's pipeline, then the options below)\n"
	      "      --rate R | --schedule 'R@DUR,R..R@DUR,..'  [--poisson] [--warmup DUR]\n"
	      "      [--duration DUR] [--items N] [--stages N] [--workers N] [--buffer N]\n"
	      "      [--limit N] [--service 'exp(50us)'] [--work spin|sleep]\n"
	      "      [--clock real|virtual] [--seed N] [--faults PLAN] [--interval DUR]\n"
	      "      [--backend threads|fibers] [--timeout DUR] (a user load's deadline)\n"
	      "Options take --opt VALUE or --opt=VALUE; FILE '-' is standard output.\n"
	      "--out and --fault-plan are deprecated spellings of --report and --faults.\n"
	      "A user load (NAME) runs on the real clock only, one stage of --workers\n"
	      "servers; a request that returns an error counts as failed, and a run\n"
	      "with more than --max-failures (a fraction or a percentage, default 0)\n"
	      "failed requests exits 1.\n"
	      "BASELINE: a JSON file written by gate --save, or a faultline-bench binary\n"
	      "(then A/B repetitions are interleaved). Exit: 0 ok / no regression,\n"
	      "1 failed verdict or regression, 2 usage or environment error.\n",
	      out);
}

typedef fl__bench_cli_opts opts;

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

/* ---- the table ---------------------------------------------------------------------- */

enum kind {
	FLAG, /* no value */
	STR,  /* const char * at off */
	INT,  /* int at off, in lo..hi */
	I64,  /* int64_t at off, in lo..hi */
	U64,  /* uint64_t at off, in lo..hi */
	DUR,  /* int64_t ns at off */
	CALL, /* set() does it */
};

typedef fl_err *(*setter)(opts *o, const char *name, const char *v);

struct option {
	const char *name;
	bool load; /* a LOAD option, passed on to a baseline binary */
	enum kind kind;
	size_t off;      /* STR, INT, I64, U64, DUR: the field */
	long lo, hi;     /* INT, I64, U64: the bounds */
	setter set;      /* CALL: the parser */
	setter axis;     /* in a sweep: the list parser instead */
	const char *use; /* a deprecated spelling: the name to use instead */
};

static fl_err *set_job(opts *o, const char *a, const char *v)
{
	/* Applied in fl__bench_cli_parse() before the other options. */
	return NULL;
}

static fl_err *set_poisson(opts *o, const char *a, const char *v)
{
	o->load.poisson = true;
	return NULL;
}

static fl_err *set_rate(opts *o, const char *a, const char *v)
{
	char *end;
	o->rate = strtod(v, &end);
	o->have_rate = true;
	if (end == v || *end || !(o->rate > 0) || o->rate > 1e8)
		return fl_err_wrap(FL_ERR_INVAL, "--rate: not a rate in (0, 1e8]: '%s'", v);
	return NULL;
}

static fl_err *set_schedule(opts *o, const char *a, const char *v)
{
	o->have_schedule = true;
	return fl_bench_schedule_parse(v, &o->load.schedule);
}

static fl_err *set_interval(opts *o, const char *a, const char *v)
{
	fl_err *e = fl_bench_parse_duration(a, v, &o->load.interval_ns);
	if (!e && o->load.interval_ns < 1000000)
		e = fl_err_wrap(FL_ERR_INVAL, "--interval: at least 1ms");
	return e;
}

static fl_err *set_service(opts *o, const char *a, const char *v)
{
	return fl_bench_dist_parse(v, &o->load.service);
}

static fl_err *set_work(opts *o, const char *a, const char *v)
{
	fl_err *e = NULL;
	if (strcmp(v, "spin") && strcmp(v, "sleep"))
		e = fl_err_wrap(FL_ERR_INVAL, "--work: 'spin' or 'sleep', not '%s'", v);
	o->load.sleep_work = strcmp(v, "sleep") == 0;
	return e;
}

static fl_err *set_clock(opts *o, const char *a, const char *v)
{
	fl_err *e = NULL;
	if (strcmp(v, "real") && strcmp(v, "virtual"))
		e = fl_err_wrap(FL_ERR_INVAL, "--clock: 'real' or 'virtual', not '%s'", v);
	o->load.virtual_clock = strcmp(v, "virtual") == 0;
	return e;
}

static fl_err *set_fault_plan(opts *o, const char *a, const char *v)
{
	o->fault_plan = v;
	return fl_fault_check(v);
}

static fl_err *set_load(opts *o, const char *a, const char *v)
{
	const fl_bench_user_load *l;
	if (o->load_name)
		return fl_err_wrap(FL_ERR_INVAL, "two loads named: '%s' and '%s'", o->load_name, v);
	fl_err *e = fl_bench_load_find(v, &l);
	if (e)
		return e;
	o->load_name = l->name;
	o->load.serve = l->serve;
	o->load.serve_arg = l->arg;
	return NULL;
}

/* A fraction ("0.01") or a percentage ("1%") in [0, 1]. */
static fl_err *set_max_failures(opts *o, const char *a, const char *v)
{
	char *end;
	double x = strtod(v, &end);
	if (end != v && *end == '%' && !end[1]) {
		x /= 100;
		end++;
	}
	if (end == v || *end || !(x >= 0 && x <= 1))
		return fl_err_wrap(FL_ERR_INVAL,
				   "%s: not a fraction in [0, 1] or a percentage: "
				   "'%s'",
				   a, v);
	o->max_failures = x;
	return NULL;
}

static fl_err *set_cell(opts *o, const char *a, const char *v)
{
	fl_err *e = fl_bench_parse_duration(a, v, &o->cell_ns);
	if (!e && o->cell_ns <= 0)
		e = fl_err_wrap(FL_ERR_INVAL, "--cell: must be > 0");
	return e;
}

static fl_err *set_shard(opts *o, const char *a, const char *v)
{
	int s, t, end = 0;
	fl_err *e = NULL;
	if (sscanf(v, "%d/%d%n", &s, &t, &end) != 2 || v[end] || t < 1 || s < 1 || s > t)
		e = fl_err_wrap(FL_ERR_INVAL,
				"--shard: expected I/N with 1 <= I <= N, "
				"not '%s'",
				v);
	o->shard = s - 1;
	o->shards = t;
	return e;
}

/* The sweep axes: comma lists. */
static fl_err *axis_limit(opts *o, const char *a, const char *v)
{
	return fl_bench_axis_parse_int(a, v, o->grid.limit, &o->grid.nlimit);
}

static fl_err *axis_buffer(opts *o, const char *a, const char *v)
{
	return fl_bench_axis_parse_int(a, v, o->grid.buffer, &o->grid.nbuffer);
}

static fl_err *axis_workers(opts *o, const char *a, const char *v)
{
	fl_bench_grid *g = &o->grid;
	fl_err *e = fl_bench_axis_parse_int(a, v, g->workers, &g->nworkers);
	for (int k = 0; !e && k < g->nworkers; k++)
		if (g->workers[k] < 1)
			e = fl_err_wrap(FL_ERR_INVAL, "--workers: 0 workers");
	return e;
}

static fl_err *axis_rate(opts *o, const char *a, const char *v)
{
	return fl_bench_axis_parse_rate(a, v, o->grid.rate, &o->grid.nrate);
}

#define AT(field) offsetof(opts, field)

static const struct option options[] = {
	/* LOAD */
	{"--job", true, CALL, 0, 0, 0, set_job, NULL, NULL},
	{"--load", true, CALL, 0, 0, 0, set_load, NULL, NULL},
	{"--rate", true, CALL, 0, 0, 0, set_rate, axis_rate, NULL},
	{"--schedule", true, CALL, 0, 0, 0, set_schedule, NULL, NULL},
	{"--poisson", true, FLAG, 0, 0, 0, set_poisson, NULL, NULL},
	{"--warmup", true, DUR, AT(load.warmup_ns), 0, 0, NULL, NULL, NULL},
	{"--duration", true, DUR, AT(duration_ns), 0, 0, NULL, NULL, NULL},
	{"--items", true, I64, AT(load.max_items), 1, LONG_MAX, NULL, NULL, NULL},
	{"--stages", true, INT, AT(load.stages), 1, 64, NULL, NULL, NULL},
	{"--workers", true, INT, AT(load.workers), 1, 4096, NULL, axis_workers, NULL},
	{"--buffer", true, INT, AT(load.buffer), 0, 1 << 24, NULL, axis_buffer, NULL},
	{"--limit", true, INT, AT(load.limit), 0, INT_MAX, NULL, axis_limit, NULL},
	{"--service", true, CALL, 0, 0, 0, set_service, NULL, NULL},
	{"--work", true, CALL, 0, 0, 0, set_work, NULL, NULL},
	{"--clock", true, CALL, 0, 0, 0, set_clock, NULL, NULL},
	{"--seed", true, U64, AT(load.seed), 0, LONG_MAX, NULL, NULL, NULL},
	{"--faults", true, CALL, 0, 0, 0, set_fault_plan, NULL, NULL},
	{"--fault-plan", true, CALL, 0, 0, 0, set_fault_plan, NULL, "--faults"},
	{"--interval", true, CALL, 0, 0, 0, set_interval, NULL, NULL},
	{"--backend", true, STR, AT(backend), 0, 0, NULL, NULL, NULL},
	/* a repetition's verdict, passed on too (the baseline's runs judge it) */
	{"--max-failures", true, CALL, 0, 0, 0, set_max_failures, NULL, NULL},
	{"--timeout", true, DUR, AT(load.timeout_ns), 0, 0, NULL, NULL, NULL},
	/* outputs, repetitions, sweep */
	{"--report", false, STR, AT(out_dir), 0, 0, NULL, NULL, NULL},
	{"--out", false, STR, AT(out_dir), 0, 0, NULL, NULL, "--report"},
	{"--json", false, STR, AT(json), 0, 0, NULL, NULL, NULL},
	{"--junit", false, STR, AT(junit), 0, 0, NULL, NULL, NULL},
	{"--md", false, STR, AT(md), 0, 0, NULL, NULL, NULL},
	{"--save", false, STR, AT(save), 0, 0, NULL, NULL, NULL},
	{"--reps", false, INT, AT(reps), 1, 1000, NULL, NULL, NULL},
	{"--warmup-reps", false, INT, AT(warmup_reps), 0, 100, NULL, NULL, NULL},
	{"--cell", false, CALL, 0, 0, 0, set_cell, NULL, NULL},
	{"--slo", false, DUR, AT(slo_ns), 0, 0, NULL, NULL, NULL},
	{"--shard", false, CALL, 0, 0, 0, set_shard, NULL, NULL},
};

static const struct option *option_find(const char *name)
{
	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

/* Stores value v of option op into o. */
static fl_err *option_set(opts *o, const struct option *op, const char *v)
{
	void *dst = (char *)o + op->off;
	long n;
	fl_err *e = NULL;
	if (o->sweep && op->axis)
		return op->axis(o, op->name, v);
	switch (op->kind) {
	case FLAG:
	case CALL: return op->set(o, op->name, v);
	case STR: *(const char **)dst = v; return NULL;
	case DUR: return fl_bench_parse_duration(op->name, v, (int64_t *)dst);
	case INT:
		if (!(e = parse_int(op->name, v, op->lo, op->hi, &n)))
			*(int *)dst = (int)n;
		return e;
	case I64:
		if (!(e = parse_int(op->name, v, op->lo, op->hi, &n)))
			*(int64_t *)dst = n;
		return e;
	case U64:
		if (!(e = parse_int(op->name, v, op->lo, op->hi, &n)))
			*(uint64_t *)dst = (uint64_t)n;
		return e;
	}
	return NULL;
}

/* Splits "--opt=value" into the name (into buf) and the value. */
static const char *split_eq(const char *a, char *buf, size_t cap, const char **v)
{
	const char *eq = strchr(a, '=');
	*v = NULL;
	if (strncmp(a, "--", 2) || !eq || (size_t)(eq - a) >= cap)
		return a;
	memcpy(buf, a, (size_t)(eq - a));
	buf[eq - a] = '\0';
	*v = eq + 1;
	return buf;
}

/* The option at argv[*i] (and its value, which *i then points at); a
 * bare word goes to pos (at most two of them). */
static fl_err *parse_one(opts *o, int argc, char **argv, int *i, const char **pos, int *npos)
{
	char buf[64];
	const char *v;
	const char *a = split_eq(argv[*i], buf, sizeof(buf), &v);
	const struct option *op = option_find(a);
	if (!op && a[0] != '-' && *npos < 2) {
		pos[(*npos)++] = a;
		return NULL;
	}
	if (!op)
		return fl_err_wrap(FL_ERR_INVAL, "unknown %s '%s' (-h lists them)",
				   a[0] == '-' ? "option" : "argument", a);
	if (op->use)
		fprintf(stderr, "%s: %s is deprecated, use %s\n", fl__bench_cli_prog(), a, op->use);
	int first = *i;
	if (op->kind == FLAG && v)
		return fl_err_wrap(FL_ERR_INVAL, "%s takes no value", a);
	if (op->kind != FLAG && !v) {
		if (*i + 1 >= argc)
			return fl_err_wrap(FL_ERR_INVAL, "%s needs a value", a);
		v = argv[++*i];
	}
	fl_err *e = option_set(o, op, v);
	for (int k = first; !e && op->load && k <= *i; k++)
		o->fwd[o->nfwd++] = argv[k];
	return e;
}

/* ---- the command line --------------------------------------------------------------- */

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

/* The schedule, the sweep's axes and the checks, once every option is in. */
static int finish(opts *o, const char *cmd)
{
	bool dash = (o->json && !strcmp(o->json, "-")) || (o->junit && !strcmp(o->junit, "-")) ||
		    (o->md && !strcmp(o->md, "-"));
	o->text = dash ? stderr : stdout;
	if (o->have_rate && o->have_schedule) {
		fprintf(stderr, "%s: give --rate or --schedule, not both\n", fl__bench_cli_prog());
		return EXIT_USAGE;
	}
	if (o->jobs && !o->have_rate && !o->have_schedule && !o->job_has_rate) {
		fprintf(stderr, "%s: the job has no rate (closed loop): give --rate\n",
			fl__bench_cli_prog());
		return EXIT_USAGE;
	}
	if (!o->have_schedule && !(o->jobs && !o->have_rate && !o->duration_ns)) {
		int64_t d = o->duration_ns ? o->duration_ns : FL_SEC(5);
		fl_bench_schedule_const(&o->load.schedule, o->have_rate ? o->rate : 1000, d);
	}
	if (o->sweep) {
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
		fl__bench_cli_print_err(cmd, e);
		return EXIT_USAGE;
	}
	/* no --backend: the one running (a test's), else FAULTLINE_BACKEND or
	 * the default */
	struct fl_sched_opts so = {.backend = o->backend};
	if ((e = fl_sched_init(o->backend ? &so : NULL))) {
		fl__bench_cli_print_err("--backend", e);
		return EXIT_USAGE;
	}
	return 0;
}

/* --job before every other option, so that they refine its pipeline. */
static fl_err *find_job(opts *o, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char buf[64];
		const char *v, *a = split_eq(argv[i], buf, sizeof(buf), &v);
		if (strcmp(a, "--job") == 0 && (v || i + 1 < argc)) {
			fl_err *e = load_job(o, v ? v : argv[i + 1]);
			if (e)
				return e;
		}
		if (option_find(a) && option_find(a)->kind != FLAG && !v)
			i++; /* skip the value */
	}
	return NULL;
}

/* The bare words: gate's BASELINE (unless --save), then a load's NAME,
 * passed on to a baseline binary as --load NAME. */
static fl_err *positionals(opts *o, const char *cmd, const char **pos, int npos,
			   const char **baseline)
{
	static char s_load[] = "--load";
	int k = 0;
	if (strcmp(cmd, "gate") == 0 && !o->save && k < npos)
		*baseline = pos[k++];
	if (k < npos) {
		fl_err *e = set_load(o, "NAME", pos[k]);
		if (e)
			return e;
		o->fwd[o->nfwd++] = s_load;
		o->fwd[o->nfwd++] = (char *)pos[k++];
	}
	if (k < npos)
		return fl_err_wrap(FL_ERR_INVAL, "unexpected argument '%s'", pos[k]);
	if (o->load_name && o->jobs)
		return fl_err_wrap(FL_ERR_INVAL, "give a load (%s) or --job, not both",
				   o->load_name);
	return NULL;
}

static void defaults(opts *o, const char *cmd)
{
	o->sweep = strcmp(cmd, "sweep") == 0;
	fl_bench_load_defaults(&o->load);
	o->reps = o->sweep ? 1 : 9;
	o->warmup_reps = strcmp(cmd, "gate") == 0 ? 1 : 0;
	o->shards = 1;
	o->cell_ns = FL_SEC(2);
	/* sweeps mark each configuration's knee against an SLO, 10 ms unless
	 * given; a run judges one only when asked (--slo, or the job's slo_p99),
	 * and then its exit status says the verdict */
	o->slo_ns = o->sweep ? FL_MS(10) : 0;
}

int fl__bench_cli_parse(opts *o, int argc, char **argv, const char *cmd, const char **baseline)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fl__bench_cli_usage(stdout, cmd);
			return CLI_DONE;
		}
	defaults(o, cmd);
	/* room for every argument and the "--load" a bare NAME adds */
	o->fwd = calloc((size_t)argc + 2, sizeof(char *));
	if (!o->fwd)
		return EXIT_USAGE;
	fl_err *e = find_job(o, argc, argv);
	if (e) {
		fl__bench_cli_print_err("--job", e);
		return EXIT_USAGE;
	}
	const char *pos[2];
	int npos = 0;
	for (int i = 0; i < argc && !e; i++)
		e = parse_one(o, argc, argv, &i, pos, &npos);
	if (!e)
		e = positionals(o, cmd, pos, npos, baseline);
	if (e) {
		fl__bench_cli_print_err(cmd, e);
		return EXIT_USAGE;
	}
	return finish(o, cmd);
}

void fl__bench_cli_opts_destroy(opts *o)
{
	free(o->fwd);
	fl_jobs_free(o->jobs);
}

int fl__bench_cli_parse_report(int argc, char **argv, const char **in, const char **dir,
			       int64_t *slo_ns)
{
	for (int i = 0; i < argc; i++) {
		fl_err *e = NULL;
		char buf[64];
		const char *v, *a = split_eq(argv[i], buf, sizeof(buf), &v);
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			fl__bench_cli_usage(stdout, "sweep-report");
			return CLI_DONE;
		}
		if (!strcmp(a, "--out"))
			fprintf(stderr, "%s: --out is deprecated, use --report\n",
				fl__bench_cli_prog());
		if (!v && (!strcmp(a, "--out") || !strcmp(a, "--report") || !strcmp(a, "--slo")) &&
		    i + 1 < argc)
			v = argv[++i];
		if ((strcmp(a, "--out") == 0 || strcmp(a, "--report") == 0) && v)
			*dir = v;
		else if (strcmp(a, "--slo") == 0 && v)
			e = fl_bench_parse_duration("--slo", v, slo_ns);
		else if (argv[i][0] != '-' && !*in)
			*in = argv[i];
		else
			e = fl_err_wrap(FL_ERR_INVAL, "unexpected argument '%s'", argv[i]);
		if (e) {
			fl__bench_cli_print_err("sweep-report", e);
			return EXIT_USAGE;
		}
	}
	return 0;
}
