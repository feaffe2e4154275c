/*
 * run.c - faultline-bench run: one open-loop run of the LOAD (synthetic
 * stages, a job file's pipeline or a registered user load), printed as
 * counts and percentiles in human units, and with --report, --json or
 * --junit written as a report (fingerprint, histograms, counters, a p99
 * SLO and a user load's failures as checks) and an interval log.
 *
 * The exit status is the verdict the report shows: 1 when the SLO or the
 * failure allowance (--max-failures) is not met.
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

static void print_hist(FILE *out, const char *name, const fl_hdr *h)
{
	char p50[24], p99[24], p999[24], max[24];
	fl_report_format_ns((double)fl_hdr_value_at_percentile(h, 50), true, p50, sizeof(p50));
	fl_report_format_ns((double)fl_hdr_value_at_percentile(h, 99), true, p99, sizeof(p99));
	fl_report_format_ns((double)fl_hdr_value_at_percentile(h, 99.9), true, p999, sizeof(p999));
	fl_report_format_ns((double)fl_hdr_max(h), true, max, sizeof(max));
	fprintf(out, "%-12s p50 %9s  p99 %9s  p99.9 %9s  max %9s  (n=%lld)\n", name, p50, p99, p999,
		max, (long long)fl_hdr_total_count(h));
}

/* A user load's failures as a check: failed / items <= --max-failures. */
static fl_err *failure_check(const opts *o, const fl_bench_result *res, fl_report *r)
{
	if (!o->load.serve)
		return NULL;
	double frac = res->items > 0 ? (double)res->failed / (double)res->items : 0;
	char msg[256] = "no request failed";
	if (res->first_failure) {
		int n = snprintf(msg, sizeof(msg), "%lld failed, first: ", (long long)res->failed);
		if (n > 0 && (size_t)n < sizeof(msg))
			fl_err_format(res->first_failure, msg + n, sizeof(msg) - (size_t)n);
	}
	return fl_report_add_check(r, "failed requests",
				   frac > o->max_failures ? FL_REPORT_FAIL : FL_REPORT_PASS, frac,
				   o->max_failures, NULL, msg);
}

static fl_err *run_report(const opts *o, const fl_bench_result *res, const fl_fault_plan *plan,
			  fl_report **out)
{
	struct fl_report_opts ro = {.seed = o->load.seed,
				    .fault_plan = o->fault_plan,
				    .backend =
					    o->load.virtual_clock ? "virtual" : fl_sched_backend(),
				    .git_rev = FL_REVISION};
	fl_report *r;
	char name[96];
	snprintf(name, sizeof(name), "open-loop run%s%.64s", o->load_name ? " of " : "",
		 o->load_name ? o->load_name : "");
	fl_err *e = fl_report_new(name, &ro, &r);
	if (e)
		return e;
	char fp[160];
	snprintf(fp, sizeof(fp), "compiler=%s", fl_bench_compiler());
	if (!(e = fl_report_detect_host(r)) && !(e = fl_report_set_duration(r, res->window_ns)) &&
	    !(e = fl_report_add_check(r, "fingerprint", FL_REPORT_SKIP, NAN, NAN, NULL, fp)) &&
	    !(e = fl_bench_result_add_to_report(r, "", res)) && !(e = failure_check(o, res, r)) &&
	    !(e = fl__bench_cli_add_faults(r, o->load.virtual_clock ? NULL : plan,
					   o->load.warmup_ns)) &&
	    o->slo_ns > 0 && !(e = fl_report_add_slo(r, "response", 99, o->slo_ns))) {
		e = fl_report_eval_slos(r);
	}
	if (e) {
		fl_report_free(r);
		return e;
	}
	*out = r;
	return NULL;
}

int fl__bench_cli_run(opts *o)
{
	FILE *hlog = NULL;
	fl_err *e = NULL;
	char path[PATH_MAX];
	if (o->out_dir && !(e = fl_report_mkdir_p(o->out_dir))) {
		snprintf(path, sizeof(path), "%s/run.hlog", o->out_dir);
		if (!(hlog = fopen(path, "w")))
			e = fl_err_errno(errno, "open %s", path);
	}
	o->load.hlog = hlog;
	fl_fault_plan *plan = NULL;
	fl_bench_result res = {0};
	if (!e && !(e = fl__bench_cli_arm(o, &plan)))
		e = fl_bench_load_run(&o->load, &res);
	if (plan) /* no more fires; its log stays for the report */
		fl_fault_disarm(plan);
	if (hlog && fclose(hlog) && !e)
		e = fl_err_errno(errno, "close %s", path);
	if (e) {
		fl__bench_cli_print_err("run", e);
		fl_fault_plan_free(plan);
		fl_bench_result_destroy(&res);
		return EXIT_USAGE;
	}
	char win[24];
	fl_report_format_ns((double)res.window_ns, true, win, sizeof(win));
	if (o->load_name)
		fprintf(o->text, "load %s\n", o->load_name);
	fprintf(o->text,
		"items %lld measured (%lld issued), window %s, offered %.1f/s, achieved "
		"%.1f/s, backlog max %lld\n",
		(long long)res.items, (long long)res.issued, win, res.offered_rate,
		res.window_ns ? (double)res.items * 1e9 / (double)res.window_ns : 0.0,
		(long long)res.backlog_max);
	print_hist(o->text, "response", res.response);
	print_hist(o->text, "service", res.service);
	if (!o->load.virtual_clock)
		print_hist(o->text, "sched error", res.sched_error);
	bool failed = fl__bench_cli_failures_over(o, &res);
	fl_report *r = NULL;
	bool slo_failed = false;
	if ((o->out_dir || o->json || o->junit || o->slo_ns > 0) &&
	    !(e = run_report(o, &res, plan, &r)) && o->slo_ns > 0) {
		char slo[24], p99[24];
		fl_report_format_ns((double)o->slo_ns, true, slo, sizeof(slo));
		fl_report_format_ns((double)fl_hdr_value_at_percentile(res.response, 99), true, p99,
				    sizeof(p99));
		slo_failed = fl_report_count_verdict(r, FL_REPORT_FAIL) > 0;
		fprintf(o->text, "SLO response p99 <= %s: %s (p99 %s)\n", slo,
			slo_failed ? "FAIL" : "pass", p99);
	}
	if (r) {
		if (o->out_dir)
			e = fl_report_write_all(r, o->out_dir);
		if (!e && o->json)
			e = fl_report_write_json(r, o->json);
		if (!e && o->junit)
			e = fl_report_write_junit(r, o->junit);
		if (!e && o->out_dir)
			fprintf(o->text, "report: %s/index.html (also report.json, run.hlog)\n",
				o->out_dir);
	}
	fl_report_free(r);
	fl_fault_plan_free(plan);
	fl_bench_result_destroy(&res);
	if (e) {
		fl__bench_cli_print_err("writing the report", e);
		return EXIT_USAGE;
	}
	/* the exit status is the verdict */
	return slo_failed || failed ? EXIT_REGRESSION : EXIT_OK;
}
