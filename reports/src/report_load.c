/*
 * report_load.c - reads a JSON summary (report_json.c) back into a report.
 *
 * Two passes: report_jsonparse.c turns the text into a tree (syntax errors
 * carry line and column), then this file walks the tree against the schema
 * of docs/reports.md and rebuilds the report through the public builders,
 * so a loaded report obeys the same invariants as a built one. Histograms
 * and intervals written with their "hdr" encoding come back whole (decoded
 * into an owned fl_hdr, checked against the summary); the others come back
 * as summaries only (hdr == NULL).
 *
 * Schema errors name the value at fault ("report.json:12:5: \"count\" must
 * be an integer"). Required members must be present with the right type;
 * unknown members are ignored so that additions in later minor revisions
 * still load; an unknown schema name or a newer major version is refused.
 * Derived members (fault counts, the verdict summary) are checked against
 * the data they summarise, which catches hand-edited files.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <fl/hdr.h>
#include <fl/hdr_log.h>
#include <fl/report.h>

#include "report_jsonparse_internal.h"
#include "report_internal.h"
#include "fl_alloc_internal.h"

typedef struct loader {
	int line, col;
	char msg[240];
} loader;

static bool bad(loader *ld, const fl__json *at, const char *fmt, ...) FL_PRINTF(3, 4);

static bool bad(loader *ld, const fl__json *at, const char *fmt, ...)
{
	va_list ap;
	ld->line = at->line;
	ld->col = at->col;
	va_start(ap, fmt);
	vsnprintf(ld->msg, sizeof(ld->msg), fmt, ap);
	va_end(ap);
	return false;
}

/* Turns a builder's error into a schema error at node at. */
static bool bad_err(loader *ld, const fl__json *at, fl_err *err)
{
	char buf[200];
	fl_err_format(err, buf, sizeof(buf));
	fl_err_drop(err);
	return bad(ld, at, "%s", buf);
}

static const char *kind_name(enum fl__json_kind k)
{
	static const char *const names[] = {"null",   "boolean", "number",
					    "string", "array",   "object"};
	return names[k];
}

static const fl__json *member(loader *ld, const fl__json *obj, const char *key,
			      enum fl__json_kind kind)
{
	const fl__json *v = fl__json_get(obj, key);
	if (!v) {
		bad(ld, obj, "missing member \"%s\"", key);
		return NULL;
	}
	if (v->kind != kind) {
		bad(ld, v, "\"%s\" must be a%s %s", key,
		    kind == FL__JSON_ARR || kind == FL__JSON_OBJ ? "n" : "", kind_name(kind));
		return NULL;
	}
	return v;
}

static bool get_str(loader *ld, const fl__json *obj, const char *key, const char **out)
{
	const fl__json *v = member(ld, obj, key, FL__JSON_STR);
	if (v)
		*out = v->str;
	return v != NULL;
}

/* Copies a number token into buf; false when it is not an integer. */
static bool int_token(const fl__json *v, char *buf, size_t cap)
{
	if (v->numlen >= cap || memchr(v->num, '.', v->numlen) || memchr(v->num, 'e', v->numlen) ||
	    memchr(v->num, 'E', v->numlen))
		return false;
	memcpy(buf, v->num, v->numlen);
	buf[v->numlen] = '\0';
	return true;
}

static bool get_i64(loader *ld, const fl__json *obj, const char *key, int64_t *out)
{
	char buf[32];
	const fl__json *v = member(ld, obj, key, FL__JSON_NUM);
	if (!v)
		return false;
	if (!int_token(v, buf, sizeof(buf)))
		return bad(ld, v, "\"%s\" must be an integer", key);
	errno = 0;
	long long x = strtoll(buf, NULL, 10);
	if (errno == ERANGE)
		return bad(ld, v, "\"%s\" does not fit in 64 bits", key);
	*out = (int64_t)x;
	return true;
}

static bool get_i32(loader *ld, const fl__json *obj, const char *key, int32_t *out)
{
	int64_t x;
	if (!get_i64(ld, obj, key, &x))
		return false;
	if (x < INT32_MIN || x > INT32_MAX)
		return bad(ld, fl__json_get(obj, key), "\"%s\" does not fit in 32 bits", key);
	*out = (int32_t)x;
	return true;
}

/* A uint64: a number, or a string of decimal digits, which is how the
 * writer gives values above INT64_MAX (jansson's integers are int64). */
static bool get_u64(loader *ld, const fl__json *obj, const char *key, uint64_t *out)
{
	char buf[32];
	const fl__json *v = fl__json_get(obj, key);
	if (v && v->kind == FL__JSON_STR) {
		size_t n = strlen(v->str);
		if (n == 0 || n >= sizeof(buf) || strspn(v->str, "0123456789") != n)
			return bad(ld, v,
				   "\"%s\" must be an unsigned integer or a string of digits", key);
		memcpy(buf, v->str, n + 1);
	} else if (!(v = member(ld, obj, key, FL__JSON_NUM))) {
		return false;
	} else if (!int_token(v, buf, sizeof(buf)) || buf[0] == '-') {
		return bad(ld, v, "\"%s\" must be an unsigned integer", key);
	}
	errno = 0;
	unsigned long long x = strtoull(buf, NULL, 10);
	if (errno == ERANGE)
		return bad(ld, v, "\"%s\" does not fit in 64 bits", key);
	*out = (uint64_t)x;
	return true;
}

/* A number, or null for NaN (the writer's encoding of "no value"). */
static bool get_dbl(loader *ld, const fl__json *obj, const char *key, double *out)
{
	char buf[64];
	const fl__json *v = fl__json_get(obj, key);
	if (v && v->kind == FL__JSON_NULL) {
		*out = NAN;
		return true;
	}
	v = member(ld, obj, key, FL__JSON_NUM);
	if (!v)
		return false;
	if (v->numlen >= sizeof(buf))
		return bad(ld, v, "\"%s\" is too long a number", key);
	memcpy(buf, v->num, v->numlen);
	buf[v->numlen] = '\0';
	*out = strtod(buf, NULL);
	return true;
}

static bool load_stats(loader *ld, const fl__json *o, fl_report_stats *st)
{
	*st = (fl_report_stats){0};
	const fl__json *p;
	if (!get_i64(ld, o, "count", &st->count) || !get_i64(ld, o, "min", &st->min) ||
	    !get_i64(ld, o, "max", &st->max) || !get_dbl(ld, o, "mean", &st->mean) ||
	    !get_dbl(ld, o, "stddev", &st->stddev) ||
	    !get_i64(ld, o, "out_of_range", &st->out_of_range) ||
	    !(p = member(ld, o, "percentiles", FL__JSON_OBJ)))
		return false;
	if (st->count < 0)
		return bad(ld, fl__json_get(o, "count"), "negative count");
	for (int i = 0; i < FL_REPORT_NPCT; i++)
		if (!get_i64(ld, p, fl_report_pct_label(i), &st->pct[i]))
			return false;
	return true;
}

/*
 * The optional "hdr" member of o (the base64 V2 encoding): decodes it into
 * *out, or sets *out to NULL when absent, and checks it against the
 * summary st read from the same object.
 */
static bool load_hdr(loader *ld, const fl__json *o, const fl_report_stats *st, fl_hdr **out)
{
	const fl__json *v = fl__json_get(o, "hdr");
	fl_hdr *h = NULL;
	*out = NULL;
	if (!v || v->kind == FL__JSON_NULL)
		return true;
	if (v->kind != FL__JSON_STR)
		return bad(ld, v, "\"hdr\" must be a string");
	fl_err *err = fl_hdr_decode_base64(v->str, strlen(v->str), &h);
	if (err)
		return bad_err(ld, v, err);
	if (fl_hdr_total_count(h) != st->count || fl_hdr_max(h) != st->max) {
		fl_hdr_free(h);
		return bad(ld, v, "\"hdr\" disagrees with the summary");
	}
	/* The encoding has no out-of-range count. Recording the value -1,
	 * which is always out of range, restores it. */
	if (st->out_of_range > 0)
		(void)fl_hdr_record_n(h, -1, st->out_of_range);
	*out = h;
	return true;
}

static bool load_slos(loader *ld, fl_report *r, const fl__json *h, const char *name)
{
	const fl__json *slos = member(ld, h, "slos", FL__JSON_ARR);
	if (!slos)
		return false;
	for (size_t i = 0; i < slos->nkids; i++) {
		const fl__json *s = &slos->kids[i];
		double pct;
		int64_t thr;
		if (s->kind != FL__JSON_OBJ)
			return bad(ld, s, "an SLO must be an object");
		if (!get_dbl(ld, s, "percentile", &pct) || !get_i64(ld, s, "threshold_ns", &thr))
			return false;
		fl_err *err = fl_report_add_slo(r, name, pct, thr);
		if (err)
			return bad_err(ld, s, err);
	}
	return true;
}

static bool load_hists(loader *ld, fl_report *r, const fl__json *root)
{
	const fl__json *a = member(ld, root, "histograms", FL__JSON_ARR);
	if (!a)
		return false;
	for (size_t i = 0; i < a->nkids; i++) {
		const fl__json *h = &a->kids[i];
		const char *name;
		fl_report_stats st;
		if (h->kind != FL__JSON_OBJ)
			return bad(ld, h, "a histogram must be an object");
		fl_hdr *hdr = NULL;
		if (!get_str(ld, h, "name", &name) || !load_stats(ld, h, &st) ||
		    !load_hdr(ld, h, &st, &hdr))
			return false;
		fl_err *err = hdr ? fl_report_add_hist(r, name, hdr, FL_REPORT_TAKE)
				  : fl_report_add_hist_stats(r, name, &st);
		if (err) {
			fl_hdr_free(hdr); /* still ours when adding failed */
			return bad_err(ld, h, err);
		}
		if (!load_slos(ld, r, h, name))
			return false;
	}
	return true;
}

static bool load_intervals(loader *ld, fl_report *r, const fl__json *s, const char *name)
{
	const fl__json *a = member(ld, s, "intervals", FL__JSON_ARR);
	if (!a)
		return false;
	for (size_t i = 0; i < a->nkids; i++) {
		const fl__json *iv = &a->kids[i];
		int64_t start, len;
		fl_report_stats st;
		if (iv->kind != FL__JSON_OBJ)
			return bad(ld, iv, "an interval must be an object");
		fl_hdr *hdr = NULL;
		if (!get_i64(ld, iv, "start_ns", &start) || !get_i64(ld, iv, "length_ns", &len) ||
		    !load_stats(ld, iv, &st) || !load_hdr(ld, iv, &st, &hdr))
			return false;
		fl_err *err = hdr ? fl_report_add_series_interval(r, name, start, len, hdr,
								  FL_REPORT_TAKE)
				  : fl_report_add_series_interval_stats(r, name, start, len, &st);
		if (err) {
			fl_hdr_free(hdr);
			return bad_err(ld, iv, err);
		}
	}
	return true;
}

static bool load_series(loader *ld, fl_report *r, const fl__json *root)
{
	const fl__json *a = member(ld, root, "series", FL__JSON_ARR);
	if (!a)
		return false;
	for (size_t i = 0; i < a->nkids; i++) {
		const fl__json *s = &a->kids[i];
		const char *name;
		if (s->kind != FL__JSON_OBJ)
			return bad(ld, s, "a series must be an object");
		if (!get_str(ld, s, "name", &name))
			return false;
		if (fl_report_find_series(r, name))
			return bad(ld, s, "series \"%s\" appears twice", name);
		if (!load_intervals(ld, r, s, name))
			return false;
	}
	return true;
}

static bool load_counters(loader *ld, fl_report *r, const fl__json *root)
{
	const fl__json *o = member(ld, root, "counters", FL__JSON_OBJ);
	if (!o)
		return false;
	for (size_t i = 0; i < o->nkids; i++) {
		int64_t v;
		if (!get_i64(ld, o, o->kids[i].key, &v))
			return false;
		fl_err *err = fl_report_add_counter(r, o->kids[i].key, v);
		if (err)
			return bad_err(ld, &o->kids[i], err);
	}
	return true;
}

static bool load_faults(loader *ld, fl_report *r, const fl__json *root)
{
	const fl__json *f = member(ld, root, "faults", FL__JSON_OBJ), *ev;
	int64_t total;
	if (!f || !get_i64(ld, f, "total", &total) || !(ev = member(ld, f, "events", FL__JSON_ARR)))
		return false;
	for (size_t i = 0; i < ev->nkids; i++) {
		const fl__json *e = &ev->kids[i];
		int64_t at;
		const char *point, *action;
		if (e->kind != FL__JSON_OBJ)
			return bad(ld, e, "a fault event must be an object");
		if (!get_i64(ld, e, "at_ns", &at) || !get_str(ld, e, "point", &point) ||
		    !get_str(ld, e, "action", &action))
			return false;
		fl_err *err = fl_report_add_fault_event(r, at, point, action);
		if (err)
			return bad_err(ld, e, err);
	}
	if (total != (int64_t)r->nfaults)
		return bad(ld, fl__json_get(f, "total"), "fault total %" PRId64 " but %zu events",
			   total, r->nfaults);
	return true;
}

static bool parse_verdict(const char *s, enum fl_report_verdict *v)
{
	for (int i = FL_REPORT_PASS; i <= FL_REPORT_SKIP; i++) {
		if (strcmp(s, fl_report_verdict_name((enum fl_report_verdict)i)) == 0) {
			*v = (enum fl_report_verdict)i;
			return true;
		}
	}
	return false;
}

static bool load_check(loader *ld, fl_report *r, const fl__json *c)
{
	const char *name, *verdict, *unit, *message;
	double measured, threshold;
	enum fl_report_verdict v;
	if (c->kind != FL__JSON_OBJ)
		return bad(ld, c, "a check must be an object");
	if (!get_str(ld, c, "name", &name) || !get_str(ld, c, "verdict", &verdict) ||
	    !get_dbl(ld, c, "measured", &measured) || !get_dbl(ld, c, "threshold", &threshold) ||
	    !get_str(ld, c, "unit", &unit) || !get_str(ld, c, "message", &message))
		return false;
	if (!parse_verdict(verdict, &v))
		return bad(ld, fl__json_get(c, "verdict"),
			   "verdict must be \"pass\", \"fail\" or \"skip\"");
	fl_err *err = fl_report_add_check(r, name, v, measured, threshold, unit, message);
	if (err)
		return bad_err(ld, c, err);
	/* time_ns came with version 1's later files: optional */
	int64_t t = 0;
	if (fl__json_get(c, "time_ns") && !get_i64(ld, c, "time_ns", &t))
		return false;
	if (t < 0)
		return bad(ld, fl__json_get(c, "time_ns"), "\"time_ns\" must not be negative");
	r->checks[r->nchecks - 1].time_ns = t;
	return true;
}

static bool load_checks(loader *ld, fl_report *r, const fl__json *root)
{
	const fl__json *a = member(ld, root, "checks", FL__JSON_ARR), *sum;
	int64_t n[3];
	if (!a)
		return false;
	for (size_t i = 0; i < a->nkids; i++)
		if (!load_check(ld, r, &a->kids[i]))
			return false;
	if (!(sum = member(ld, root, "summary", FL__JSON_OBJ)) ||
	    !get_i64(ld, sum, "passed", &n[0]) || !get_i64(ld, sum, "failed", &n[1]) ||
	    !get_i64(ld, sum, "skipped", &n[2]))
		return false;
	for (int i = 0; i < 3; i++)
		if (n[i] != (int64_t)fl_report_count_verdict(r, (enum fl_report_verdict)i))
			return bad(ld, sum, "summary does not match the checks");
	return true;
}

static bool load_host(loader *ld, fl_report *r, const fl__json *run)
{
	const fl__json *h = member(ld, run, "host", FL__JSON_OBJ);
	const char *hn, *cpu, *kernel;
	int32_t cores;
	if (!h || !get_str(ld, h, "hostname", &hn) || !get_str(ld, h, "cpu_model", &cpu) ||
	    !get_i32(ld, h, "cores", &cores) || !get_str(ld, h, "kernel", &kernel))
		return false;
	fl_err *err = fl_report_set_host(r, hn, cpu, cores, kernel);
	return err ? bad_err(ld, h, err) : true;
}

/* The run object: creates *out. */
static bool load_run(loader *ld, const fl__json *root, fl_report **out)
{
	const fl__json *run = member(ld, root, "run", FL__JSON_OBJ);
	struct fl_report_opts o = {0};
	const char *name;
	int64_t start, dur;
	if (!run || !get_str(ld, run, "name", &name) || !get_u64(ld, run, "seed", &o.seed) ||
	    !get_str(ld, run, "fault_plan", &o.fault_plan) ||
	    !get_str(ld, run, "backend", &o.backend) || !get_str(ld, run, "git_rev", &o.git_rev) ||
	    !get_i64(ld, run, "start_unix_ns", &start) || !get_i64(ld, run, "duration_ns", &dur) ||
	    !get_i32(ld, run, "repetition", &o.repetition) ||
	    !get_i32(ld, run, "repetitions", &o.repetitions))
		return false;
	fl_err *err = fl_report_new(name, &o, out);
	if (err)
		return bad_err(ld, run, err);
	(*out)->start_unix_ns = start; /* may be 0, which opts read as "now" */
	err = fl_report_set_duration(*out, dur);
	if (err)
		return bad_err(ld, fl__json_get(run, "duration_ns"), err);
	return load_host(ld, *out, run);
}

static bool load_header(loader *ld, const fl__json *root)
{
	const char *schema;
	int64_t version;
	if (root->kind != FL__JSON_OBJ)
		return bad(ld, root, "a report must be a JSON object");
	if (!get_str(ld, root, "schema", &schema) || !get_i64(ld, root, "version", &version))
		return false;
	if (strcmp(schema, "faultline-report") != 0)
		return bad(ld, fl__json_get(root, "schema"), "not a faultline report");
	if (version != 1)
		return bad(ld, fl__json_get(root, "version"), "unsupported report version %" PRId64,
			   version);
	return true;
}

static bool load_tree(loader *ld, const fl__json *root, fl_report **out)
{
	*out = NULL;
	return load_header(ld, root) && load_run(ld, root, out) && load_hists(ld, *out, root) &&
	       load_series(ld, *out, root) && load_counters(ld, *out, root) &&
	       load_faults(ld, *out, root) && load_checks(ld, *out, root);
}

/* A NUL-terminated copy of text, or an error at the first NUL byte in it. */
static fl_err *copy_text(const char *text, size_t len, const char *name, char **out)
{
	const char *nul = memchr(text, '\0', len);
	if (nul) {
		int line = 1;
		const char *ls = text;
		for (const char *p = text; p < nul; p++)
			if (*p == '\n')
				line++, ls = p + 1;
		return fl_err_wrap(FL_ERR_INVAL, "%s:%d:%d: NUL byte in input", name, line,
				   (int)(nul - ls) + 1);
	}
	char *t = fl__malloc(len + 1);
	if (!t)
		return FL_ERR_NOMEM;
	memcpy(t, text, len);
	t[len] = '\0';
	*out = t;
	return NULL;
}

fl_err *fl_report_parse_json(const char *text, size_t len, const char *name, fl_report **out)
{
	char *t = NULL;
	fl_err *err = copy_text(text, len, name, &t);
	if (err)
		return err;
	fl__json_error perr;
	fl__json *root = fl__json_parse(t, &perr);
	if (!root) {
		free(t);
		return fl_err_wrap(FL_ERR_INVAL, "%s:%d:%d: %s", name, perr.line, perr.col,
				   perr.msg);
	}
	loader ld = {0};
	fl_report *r = NULL;
	if (!load_tree(&ld, root, &r)) {
		fl_report_free(r);
		err = fl_err_wrap(FL_ERR_INVAL, "%s:%d:%d: %s", name, ld.line, ld.col, ld.msg);
	} else {
		*out = r;
	}
	fl__json_free(root);
	free(t);
	return err;
}

/* Reads the whole file at path into a malloc'ed buffer. */
static fl_err *slurp(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fl_err_errno(errno, "open %s", path);
	size_t cap = 1 << 16, n = 0;
	char *b = fl__malloc(cap);
	while (b) {
		n += fread(b + n, 1, cap - n, f);
		if (n < cap)
			break;
		if (!fl__report_grow((void **)&b, &cap, cap + 1, 1)) {
			free(b);
			b = NULL;
		}
	}
	int rerr = ferror(f) ? (errno ? errno : EIO) : 0;
	fclose(f);
	if (!b)
		return FL_ERR_NOMEM;
	if (rerr) {
		free(b);
		return fl_err_errno(rerr, "read %s", path);
	}
	*buf = b;
	*len = n;
	return NULL;
}

fl_err *fl_report_load_json(const char *path, fl_report **out)
{
	char *buf = NULL;
	size_t len = 0;
	fl_err *err = slurp(path, &buf, &len);
	if (err)
		return err;
	err = fl_report_parse_json(buf, len, path, out);
	free(buf);
	return err;
}
