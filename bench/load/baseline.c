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
 *
 * The verdict (fl_bench_verdict_write_json) is the one JSON this file
 * writes itself: verdict -> a jansson tree (json_pack; every json_t made
 * here goes to its parent through "o" or json_array_append_new, which take
 * the reference even on failure, so the root owns the whole tree and one
 * json_decref frees it) -> json_dumpf into an atomic report file,
 * two-space indented, members in insertion order, reals to 10 significant
 * digits. Baselines are read back by fl_report_load_json.
 */
#include <fl/bench.h>
#include <fl/hdr.h>
#include <fl/report.h>
#include <fl/task.h>

#include "load_internal.h"

#include <errno.h>
#include <jansson.h>
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
	if ((e = fl_report_add_series_interval(b, SERIES, at,
					       res->window_ns > 0 ? res->window_ns : 1, c,
					       FL_REPORT_TAKE)))
		fl_hdr_free(c);
	return e;
}

fl_err *fl_bench_baseline_samples(const fl_report *b, fl_bench_sample **out, size_t *n)
{
	const fl_report_series *s = fl_report_find_series(b, SERIES);
	if (!s || !s->nivs)
		return fl_err_wrap(FL_ERR_INVAL,
				   "baseline %s: no series \"" SERIES "\" (not a "
				   "baseline written by faultline-bench gate --save?)",
				   b->name);
	fl_bench_sample *v = calloc(s->nivs, sizeof(*v));
	if (!v)
		return FL_ERR_NOMEM;
	for (size_t i = 0; i < s->nivs; i++) {
		const fl_hdr *h = s->ivs[i].hdr;
		if (!h) {
			free(v);
			return fl_err_wrap(FL_ERR_INVAL,
					   "baseline: repetition %zu has no histogram "
					   "encoding",
					   i + 1);
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

/* A verdict number: null when not finite (JSON has no NaN), an integer
 * when integral (so a median of 120 ns reads "120", not "120.0"), else a
 * real that json_dumpf prints with JSON_REAL_PRECISION(10). */
static json_t *num(double v)
{
	if (!isfinite(v))
		return json_null();
	if (v == trunc(v) && fabs(v) < 9007199254740992.0) /* 2^53 */
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* The fingerprint of one side; r may be NULL. Fails (NULL, *je set) only
 * for text that is not UTF-8 or when out of memory. */
static json_t *side(const fl_report *r, json_error_t *je)
{
	return json_pack_ex(je, 0, "{s:s, s:i, s:s, s:s, s:s, s:s}", "cpu_model",
			    r ? r->host.cpu_model : "", "cores", r ? r->host.cores : 0, "kernel",
			    r ? r->host.kernel : "", "compiler", r ? compiler_of(r) : "", "backend",
			    r ? r->backend : "", "revision", r ? r->git_rev : "");
}

static json_t *metrics(const fl_bench_verdict *v, json_error_t *je)
{
	json_t *ms = json_array();
	for (int m = 0; ms && m < FL_BENCH_NMETRICS; m++) {
		const fl_bench_metric_verdict *x = &v->m[m];
		json_t *o =
			json_pack_ex(je, 0,
				     "{s:s, s:o, s:o, s:o, s:[o, o], s:o, s:o, s:o, s:b, s:b, s:b}",
				     "metric", fl_bench_metric_name(m), "baseline_median",
				     num(x->base_median), "candidate_median", num(x->cand_median),
				     "worse_rel", num(x->worse), "ci", num(x->ci_lo), num(x->ci_hi),
				     "p", num(x->p), "p_holm", num(x->p_holm), "floor",
				     num(x->floor), "significant", x->significant, "regression",
				     x->regression, "improvement", x->improvement);
		if (json_array_append_new(ms, o) != 0) { /* also when o is NULL */
			json_decref(ms);
			ms = NULL;
		}
	}
	return ms;
}

/* The whole verdict as one tree (the root owns every node), or NULL. */
static json_t *verdict_tree(const fl_bench_verdict *v, const fl_report *base, const fl_report *cand,
			    int fingerprint_diffs, json_error_t *je)
{
	json_t *b = side(base, je), *c = b ? side(cand, je) : NULL;
	json_t *ms = c ? metrics(v, je) : NULL;
	if (!ms) {
		json_decref(b); /* both accept NULL */
		json_decref(c);
		return NULL;
	}
	return json_pack_ex(je, 0, "{s:b, s:I, s:I, s:b, s:o, s:o, s:o}", "regression",
			    v->regression, "baseline_reps", (json_int_t)v->nbase, "candidate_reps",
			    (json_int_t)v->ncand, "fingerprint_differs", fingerprint_diffs != 0,
			    "baseline", b, "candidate", c, "metrics", ms);
}

fl_err *fl_bench_verdict_write_json(const fl_bench_verdict *v, const fl_report *base,
				    const fl_report *cand, int fingerprint_diffs, const char *path)
{
	json_error_t je = {0};
	json_t *tree = verdict_tree(v, base, cand, fingerprint_diffs, &je);
	if (!tree)
		return fl_err_wrap(FL_ERR_INVAL, "%s: %s", path,
				   je.text[0] ? je.text : "out of memory");
	fl_report_file *f;
	fl_err *e = fl_report_file_open(path, &f);
	if (!e) {
		FILE *out = fl_report_file_stream(f);
		if (json_dumpf(tree, out,
			       JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) !=
			    0 ||
		    fputc('\n', out) == EOF) {
			fl_report_file_abort(f);
			e = fl_err_errno(errno ? errno : EIO, "write %s", path);
		} else {
			e = fl_report_file_commit(f);
		}
	}
	json_decref(tree);
	return e;
}
