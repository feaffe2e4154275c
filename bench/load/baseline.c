/*
 * baseline.c - stored gate baselines and the verdict as JSON.
 *
 * A baseline is a run report (fl_report JSON, so fl_report_load_json reads
 * it and `faultline report merge` can add two of them): one series
 * "gate.response" with an interval per repetition whose length is the
 * repetition's measured window and whose histogram holds every measured
 * response time, so each repetition's throughput (count / length) and
 * percentiles come back exactly. The fingerprint is the report's host
 * (CPU model, cores, kernel), backend and revision, plus a skipped check
 * named "fingerprint" whose message carries the compiler.
 */
#include <fl/bench.h>
#include <fl/hdr.h>
#include <fl/report.h>
#include <fl/task.h>

#include "load_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SERIES "gate.response"

const char *fl_bench_compiler(void)
{
#ifdef __clang__
	return "clang " __clang_version__;
#elif defined(__GNUC__)
	return "gcc " __VERSION__;
#else
	return "unknown";
#endif
}

fl_err *fl_bench_baseline_new(const char *revision, fl_report **out)
{
	struct fl_report_opts ro = {.backend = fl_sched_backend(), .git_rev = revision};
	fl_report *r;
	fl_err *e = fl_report_new("gate baseline", &ro, &r);
	if (e)
		return e;
	char msg[160];
	snprintf(msg, sizeof(msg), "compiler=%s", fl_bench_compiler());
	if ((e = fl_report_detect_host(r)) ||
	    (e = fl_report_add_check(r, "fingerprint", FL_REPORT_SKIP, NAN, NAN, NULL, msg))) {
		fl_report_free(r);
		return e;
	}
	*out = r;
	return NULL;
}

fl_err *fl_bench_baseline_add(fl_report *b, const fl_bench_result *res)
{
	const fl_report_series *s = fl_report_find_series(b, SERIES);
	int64_t at = 0;
	if (s && s->nivs)
		at = s->ivs[s->nivs - 1].start_ns + s->ivs[s->nivs - 1].length_ns;
	fl_hdr *c;
	fl_err *e = fl_hdr_clone(res->response, &c);
	if (e)
		return e;
	if ((e = fl_report_add_series_interval(b, SERIES, at, res->window_ns > 0 ? res->window_ns : 1,
					       c, FL_REPORT_TAKE)))
		fl_hdr_free(c);
	return e;
}

fl_err *fl_bench_baseline_samples(const fl_report *b, fl_bench_sample **out, size_t *n)
{
	const fl_report_series *s = fl_report_find_series(b, SERIES);
	if (!s || !s->nivs)
		return fl_err_wrap(FL_ERR_INVAL, "baseline %s: no series \"" SERIES "\" (not a "
				   "baseline written by faultline-bench gate --save?)", b->name);
	fl_bench_sample *v = calloc(s->nivs, sizeof(*v));
	if (!v)
		return FL_ERR_NOMEM;
	for (size_t i = 0; i < s->nivs; i++) {
		const fl_hdr *h = s->ivs[i].hdr;
		if (!h) {
			free(v);
			return fl_err_wrap(FL_ERR_INVAL, "baseline: repetition %zu has no histogram "
					   "encoding", i + 1);
		}
		v[i].v[0] = (double)fl_hdr_total_count(h) * 1e9 / (double)s->ivs[i].length_ns;
		v[i].v[1] = (double)fl_hdr_value_at_percentile(h, 50);
		v[i].v[2] = (double)fl_hdr_value_at_percentile(h, 99);
		v[i].v[3] = (double)fl_hdr_value_at_percentile(h, 99.9);
	}
	*out = v;
	*n = s->nivs;
	return NULL;
}

static const char *compiler_of(const fl_report *r)
{
	for (size_t i = 0; i < r->nchecks; i++)
		if (strcmp(r->checks[i].name, "fingerprint") == 0 &&
		    strncmp(r->checks[i].message, "compiler=", 9) == 0)
			return r->checks[i].message + 9;
	return "";
}

int fl_bench_fingerprint_diff(const fl_report *a, const fl_report *b, FILE *warn)
{
	const struct {
		const char *what, *x, *y;
	} f[] = {
	    {"cpu model", a->host.cpu_model, b->host.cpu_model},
	    {"kernel", a->host.kernel, b->host.kernel},
	    {"compiler", compiler_of(a), compiler_of(b)},
	    {"backend", a->backend, b->backend},
	};
	int n = 0;
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (strcmp(f[i].x, f[i].y) != 0) {
			n++;
			if (warn)
				fprintf(warn, "warning: %s differs: baseline '%s', this run '%s'\n",
					f[i].what, f[i].x, f[i].y);
		}
	if (a->host.cores != b->host.cores) {
		n++;
		if (warn)
			fprintf(warn, "warning: cores differ: baseline %d, this run %d\n",
				a->host.cores, b->host.cores);
	}
	return n;
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void json_num(FILE *out, double v)
{
	if (isfinite(v))
		fprintf(out, "%.10g", v);
	else
		fputs("null", out);
}

fl_err *fl_bench_verdict_write_json(const fl_bench_verdict *v, const fl_report *base,
				    const fl_report *cand, int fingerprint_diffs, const char *path)
{
	fl_report_file *f;
	fl_err *e = fl_report_file_open(path, &f);
	if (e)
		return e;
	FILE *out = fl_report_file_stream(f);
	fprintf(out, "{\n  \"regression\": %s,\n  \"baseline_reps\": %zu,\n  \"candidate_reps\": "
		     "%zu,\n  \"fingerprint_differs\": %s,\n",
		v->regression ? "true" : "false", v->nbase, v->ncand,
		fingerprint_diffs ? "true" : "false");
	const fl_report *rs[2] = {base, cand};
	for (int k = 0; k < 2; k++) {
		const fl_report *r = rs[k];
		fprintf(out, "  \"%s\": {\"cpu_model\": ", k ? "candidate" : "baseline");
		json_str(out, r ? r->host.cpu_model : "");
		fprintf(out, ", \"cores\": %d, \"kernel\": ", r ? r->host.cores : 0);
		json_str(out, r ? r->host.kernel : "");
		fputs(", \"compiler\": ", out);
		json_str(out, r ? compiler_of(r) : "");
		fputs(", \"backend\": ", out);
		json_str(out, r ? r->backend : "");
		fputs(", \"revision\": ", out);
		json_str(out, r ? r->git_rev : "");
		fputs("},\n", out);
	}
	fputs("  \"metrics\": [\n", out);
	for (int m = 0; m < FL_BENCH_NMETRICS; m++) {
		const fl_bench_metric_verdict *x = &v->m[m];
		fprintf(out, "    {\"metric\": \"%s\", \"baseline_median\": ", fl_bench_metric_name(m));
		json_num(out, x->base_median);
		fputs(", \"candidate_median\": ", out);
		json_num(out, x->cand_median);
		fputs(", \"worse_rel\": ", out);
		json_num(out, x->worse);
		fputs(", \"ci\": [", out);
		json_num(out, x->ci_lo);
		fputs(", ", out);
		json_num(out, x->ci_hi);
		fputs("], \"p\": ", out);
		json_num(out, x->p);
		fputs(", \"p_holm\": ", out);
		json_num(out, x->p_holm);
		fputs(", \"floor\": ", out);
		json_num(out, x->floor);
		fprintf(out, ", \"significant\": %s, \"regression\": %s, \"improvement\": %s}%s\n",
			x->significant ? "true" : "false", x->regression ? "true" : "false",
			x->improvement ? "true" : "false", m + 1 < FL_BENCH_NMETRICS ? "," : "");
	}
	fputs("  ]\n}\n", out);
	return fl_report_file_commit(f);
}
