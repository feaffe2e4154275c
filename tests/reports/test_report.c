/* fl-test-labels: memcheck */
/*
 * test_report.c - the run report model, the JSON summary and its loader,
 * and the comparison of two runs.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>

#include <fl/hdr.h>
#include <fl/report.h>

#include "test_report_util.h"

#define NASTY "q\"b\\s/n\nt\tc\x01\x1f del\x7f e\xc3\xa9 \xe6\xbc\xa2 \xf0\x9f\x99\x82"

/* Asserts that expr fails with FL_ERR_INVAL, and drops the error. */
#define ASSERT_INVAL(expr)                               \
	do {                                             \
		fl_err *inval_ = (expr);                 \
		ASSERT(fl_err_is(inval_, FL_ERR_INVAL)); \
		fl_err_drop(inval_);                     \
	} while (0)

static fl_hdr *ramp_hist(int64_t from, int64_t to, int64_t step)
{
	fl_hdr *h = NULL;
	ASSERT_OK(fl_hdr_new(1, 3600000000000LL, 3, &h));
	for (int64_t v = from; v <= to; v += step)
		ASSERT(fl_hdr_record(h, v));
	return h;
}

FL_TEST(builders_validate_and_copy)
{
	fl_report *r = NULL;
	ASSERT_INVAL(fl_report_new("", NULL, &r));
	struct fl_report_opts bad = {.repetition = 2, .repetitions = 2};
	fl_err *err = fl_report_new("x", &bad, &r);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	ASSERT_NULL(r);

	char name[] = "run";
	ASSERT_OK(fl_report_new(name, NULL, &r));
	name[0] = 'X'; /* the report keeps its own copy */
	ASSERT_STR_EQ(r->name, "run");
	ASSERT_EQ(r->repetitions, 1);
	ASSERT_GT(r->start_unix_ns, 0);
	ASSERT_STR_EQ(r->fault_plan, "");

	fl_hdr *h = ramp_hist(1, 100, 1);
	ASSERT_OK(fl_report_add_hist(r, "e2e", h, FL_REPORT_TAKE));
	fl_hdr *h2 = ramp_hist(1, 10, 1);
	err = fl_report_add_hist(r, "e2e", h2, FL_REPORT_TAKE);
	ASSERT(fl_err_is(err, FL_ERR_INVAL)); /* on error h2 stays ours */
	fl_err_drop(err);
	fl_hdr_free(h2);
	ASSERT_INVAL(fl_report_add_hist(r, "none", NULL, FL_REPORT_BORROW));

	ASSERT_OK(fl_report_add_counter(r, "items", 5));
	ASSERT_INVAL(fl_report_add_counter(r, "items", 6));
	ASSERT_EQ(fl_report_find_counter(r, "items")->value, 5);
	ASSERT_NULL(fl_report_find_counter(r, "nope"));
	ASSERT_INVAL(fl_report_add_fault_event(r, -1, "p", "a"));
	ASSERT_INVAL(fl_report_add_slo(r, "nope", 99, 1));
	ASSERT_INVAL(fl_report_add_slo(r, "e2e", 0, 1));
	ASSERT_INVAL(fl_report_add_check(r, "c", (enum fl_report_verdict)7, 0, 0, NULL, NULL));
	ASSERT_INVAL(fl_report_set_duration(r, -5));
	ASSERT_INVAL(fl_report_add_series_interval_stats(r, "s", 0, 0, NULL));
	ASSERT_EQ(r->nhists, 1);
	ASSERT_EQ(r->ncounters, 1);
	ASSERT_EQ(r->nfaults, 0);
	ASSERT_EQ(r->nchecks, 0);
	fl_report_free(r);
	fl_report_free(NULL);
}

FL_TEST(stats_from_hdr)
{
	fl_report *r = fixed_report("stats");
	fl_hdr *h = ramp_hist(1, 10000, 1);
	ASSERT_OK(fl_report_add_hist(r, "ramp", h, FL_REPORT_BORROW));
	fl_report_stats st;
	fl_report_hist_stats(&r->hists[0], &st);
	ASSERT_EQ(st.count, 10000);
	ASSERT_EQ(st.min, 1);
	ASSERT_EQ(st.max, 10007);
	ASSERT_EQ(st.pct[0], fl_hdr_value_at_percentile(h, 50));
	ASSERT_EQ(st.pct[2], fl_hdr_value_at_percentile(h, 99));
	ASSERT_EQ(st.pct[5], 10007);
	ASSERT_DBL_NEAR(st.mean, 5000.898, 1e-3);
	ASSERT(!fl_hdr_record(h, -1)); /* a borrowed hdr is read at write time */
	fl_report_hist_stats(&r->hists[0], &st);
	ASSERT_EQ(st.out_of_range, 1);
	fl_report_free(r);
	fl_hdr_free(h); /* borrowed: still ours */
}

FL_TEST(slo_checks)
{
	fl_report *r = fixed_report("slo");
	ASSERT_OK(fl_report_add_hist(r, "e2e", ramp_hist(1000, 1000000, 1000), FL_REPORT_TAKE));
	fl_hdr *empty = NULL;
	ASSERT_OK(fl_hdr_new(1, 1000000, 2, &empty));
	ASSERT_OK(fl_report_add_hist(r, "idle", empty, FL_REPORT_TAKE));
	ASSERT_OK(fl_report_add_slo(r, "e2e", 50, 600000));   /* p50 ~ 500 us */
	ASSERT_OK(fl_report_add_slo(r, "e2e", 99, 900000));   /* p99 ~ 990 us */
	ASSERT_OK(fl_report_add_slo(r, "e2e", 100, 2000000)); /* max ~ 1 ms */
	ASSERT_OK(fl_report_add_slo(r, "idle", 99, 1));
	ASSERT_OK(fl_report_eval_slos(r));
	ASSERT_EQ(r->nchecks, 4);
	ASSERT_STR_EQ(r->checks[0].name, "e2e p50 <= 600 us");
	ASSERT_EQ(r->checks[0].verdict, FL_REPORT_PASS);
	ASSERT_STR_EQ(r->checks[1].name, "e2e p99 <= 900 us");
	ASSERT_EQ(r->checks[1].verdict, FL_REPORT_FAIL);
	ASSERT_STR_EQ(r->checks[1].unit, "ns");
	ASSERT_DBL_NEAR(r->checks[1].threshold, 900000, 0);
	ASSERT_GT(r->checks[1].measured, 900000);
	ASSERT_STR_EQ(r->checks[2].name, "e2e max <= 2 ms");
	ASSERT_EQ(r->checks[2].verdict, FL_REPORT_PASS);
	ASSERT_EQ(r->checks[3].verdict, FL_REPORT_SKIP);
	ASSERT_EQ(fl_report_count_verdict(r, FL_REPORT_PASS), 2);
	ASSERT_EQ(fl_report_count_verdict(r, FL_REPORT_FAIL), 1);
	ASSERT_EQ(fl_report_count_verdict(r, FL_REPORT_SKIP), 1);
	fl_report_free(r);
}

FL_TEST(format_helpers)
{
	char b[40];
	ASSERT_STR_EQ(fl_report_format_time(1700000000123000000LL, b, sizeof(b)),
		      "2023-11-14T22:13:20.123Z");
	ASSERT_STR_EQ(fl_report_format_time(0, b, sizeof(b)), "1970-01-01T00:00:00.000Z");
	ASSERT_STR_EQ(fl_report_format_ns(850, true, b, sizeof(b)), "850 ns");
	ASSERT_STR_EQ(fl_report_format_ns(12345, true, b, sizeof(b)), "12.3 us");
	ASSERT_STR_EQ(fl_report_format_ns(12345, false, b, sizeof(b)), "12.3 \xc2\xb5s");
	ASSERT_STR_EQ(fl_report_format_ns(4560000, true, b, sizeof(b)), "4.56 ms");
	ASSERT_STR_EQ(fl_report_format_ns(1.2e9, true, b, sizeof(b)), "1.20 s");
	ASSERT_STR_EQ(fl_report_format_ns(999999, true, b, sizeof(b)), "1.00 ms");
	ASSERT_STR_EQ(fl_report_format_ns(NAN, true, b, sizeof(b)), "-");
	ASSERT_STR_EQ(fl_report_format_num(2000000, b, sizeof(b)), "2000000");
	ASSERT_STR_EQ(fl_report_format_num(-42, b, sizeof(b)), "-42");
	ASSERT_STR_EQ(fl_report_format_num(0.125, b, sizeof(b)), "0.125");
	ASSERT_STR_EQ(fl_report_format_num(3.14159265, b, sizeof(b)), "3.14159");
	ASSERT_STR_EQ(fl_report_format_num(1e300, b, sizeof(b)), "1e+300");
	ASSERT_STR_EQ(fl_report_format_num(INFINITY, b, sizeof(b)), "inf");
	ASSERT_STR_EQ(fl_report_pct_label(3), "p99.9");
	ASSERT_STR_EQ(fl_report_pct_label(5), "max");
}

/* A report with every kind of data, nasty strings and extreme numbers. */
static fl_report *full_report(void)
{
	struct fl_report_opts o = {.seed = UINT64_MAX,
				   .fault_plan = NASTY,
				   .backend = "b\xff"
					      "ad",
				   .git_rev = "deadbeef",
				   .start_unix_ns = 1700000000123456789LL,
				   .repetition = 2,
				   .repetitions = 5};
	fl_report *r = NULL;
	ASSERT_OK(fl_report_new("full " NASTY, &o, &r));
	ASSERT_OK(fl_report_set_host(r, "h\"1", "CPU \xc2\xae", 64, "Linux"));
	ASSERT_OK(fl_report_set_duration(r, INT64_MAX));
	ASSERT_OK(fl_report_add_hist(r, "stage " NASTY, ramp_hist(100, 100000, 7), FL_REPORT_TAKE));
	ASSERT_OK(fl_report_add_hist(r, "e2e", ramp_hist(3, 3000000, 997), FL_REPORT_TAKE));
	ASSERT(!fl_hdr_record(r->hists[1].hdr, -5)); /* counted out of range */
	ASSERT_OK(fl_report_add_slo(r, "e2e", 99.99, 123456789));
	ASSERT_OK(fl_report_add_slo(r, "e2e", 100, 0));
	for (int i = 0; i < 3; i++)
		ASSERT_OK(fl_report_add_series_interval(r, "e2e", (int64_t)i * 1000000000,
							1000000000,
							ramp_hist(10 + i, 10000 * (i + 1), 13),
							FL_REPORT_TAKE));
	fl_report_stats st = mk_stats(7, 100, 200, 300, 400);
	ASSERT_OK(fl_report_add_series_interval_stats(r, "q\\", 5, 6, &st));
	ASSERT_OK(fl_report_add_counter(r, "items", INT64_MAX));
	ASSERT_OK(fl_report_add_counter(r, "neg " NASTY, INT64_MIN));
	ASSERT_OK(fl_report_add_fault_event(r, 0, "disk.write", "delay 5ms"));
	ASSERT_OK(fl_report_add_fault_event(r, 1500000000, NASTY, NASTY));
	ASSERT_OK(fl_report_add_fault_event(r, 1600000000, "disk.write", ""));
	ASSERT_OK(fl_report_add_check(r, "pass", FL_REPORT_PASS, 0.1, 1e300, "ratio", "ok"));
	ASSERT_OK(fl_report_add_check(r, NASTY, FL_REPORT_FAIL, NAN, INFINITY, NULL, NASTY));
	ASSERT_OK(fl_report_add_check(r, "skip", FL_REPORT_SKIP, -0.0, 5e-324, "ns", NULL));
	return r;
}

/* The text of a string after a JSON round trip: invalid UTF-8 -> U+FFFD. */
static void assert_stats_eq(const fl_report_stats *a, const fl_report_stats *b)
{
	ASSERT_EQ(a->count, b->count);
	ASSERT_EQ(a->min, b->min);
	ASSERT_EQ(a->max, b->max);
	ASSERT(a->mean == b->mean);
	ASSERT(a->stddev == b->stddev);
	ASSERT_EQ(a->out_of_range, b->out_of_range);
	for (int i = 0; i < FL_REPORT_NPCT; i++)
		ASSERT_EQ(a->pct[i], b->pct[i]);
}

static void assert_meta_eq(const fl_report *a, const fl_report *b)
{
	ASSERT_STR_EQ(a->name, b->name);
	ASSERT_U64_EQ(a->seed, b->seed);
	ASSERT_STR_EQ(a->fault_plan, b->fault_plan);
	ASSERT_STR_EQ(b->backend, "b\xef\xbf\xbd"
				  "ad");
	ASSERT_STR_EQ(a->git_rev, b->git_rev);
	ASSERT_STR_EQ(a->host.hostname, b->host.hostname);
	ASSERT_STR_EQ(a->host.cpu_model, b->host.cpu_model);
	ASSERT_STR_EQ(a->host.kernel, b->host.kernel);
	ASSERT_EQ(a->host.cores, b->host.cores);
	ASSERT_EQ(a->start_unix_ns, b->start_unix_ns);
	ASSERT_EQ(a->duration_ns, b->duration_ns);
	ASSERT_EQ(a->repetition, b->repetition);
	ASSERT_EQ(a->repetitions, b->repetitions);
}

static void assert_data_eq(const fl_report *a, const fl_report *b)
{
	ASSERT_EQ(a->nhists, b->nhists);
	for (size_t i = 0; i < a->nhists; i++) {
		fl_report_stats sa, sb;
		fl_report_hist_stats(&a->hists[i], &sa);
		fl_report_hist_stats(&b->hists[i], &sb);
		ASSERT_EQ(a->hists[i].hdr != NULL, b->hists[i].hdr != NULL);
		ASSERT_STR_EQ(a->hists[i].name, b->hists[i].name);
		assert_stats_eq(&sa, &sb);
		ASSERT_EQ(a->hists[i].nslos, b->hists[i].nslos);
		for (size_t j = 0; j < a->hists[i].nslos; j++) {
			ASSERT(a->hists[i].slos[j].percentile == b->hists[i].slos[j].percentile);
			ASSERT_EQ(a->hists[i].slos[j].threshold_ns,
				  b->hists[i].slos[j].threshold_ns);
		}
	}
	ASSERT_EQ(a->nseries, b->nseries);
	for (size_t i = 0; i < a->nseries; i++) {
		ASSERT_STR_EQ(a->series[i].name, b->series[i].name);
		ASSERT_EQ(a->series[i].nivs, b->series[i].nivs);
		for (size_t j = 0; j < a->series[i].nivs; j++) {
			fl_report_stats sa, sb;
			fl_report_interval_stats(&a->series[i].ivs[j], &sa);
			fl_report_interval_stats(&b->series[i].ivs[j], &sb);
			ASSERT_EQ(a->series[i].ivs[j].hdr != NULL, b->series[i].ivs[j].hdr != NULL);
			assert_stats_eq(&sa, &sb);
			ASSERT_EQ(a->series[i].ivs[j].start_ns, b->series[i].ivs[j].start_ns);
			ASSERT_EQ(a->series[i].ivs[j].length_ns, b->series[i].ivs[j].length_ns);
		}
	}
}

static void assert_events_eq(const fl_report *a, const fl_report *b)
{
	ASSERT_EQ(a->ncounters, b->ncounters);
	for (size_t i = 0; i < a->ncounters; i++) {
		ASSERT_STR_EQ(a->counters[i].name, b->counters[i].name);
		ASSERT_EQ(a->counters[i].value, b->counters[i].value);
	}
	ASSERT_EQ(a->nfaults, b->nfaults);
	for (size_t i = 0; i < a->nfaults; i++) {
		ASSERT_EQ(a->faults[i].at_ns, b->faults[i].at_ns);
		ASSERT_STR_EQ(a->faults[i].point, b->faults[i].point);
		ASSERT_STR_EQ(a->faults[i].action, b->faults[i].action);
	}
	ASSERT_EQ(a->nchecks, b->nchecks);
	for (size_t i = 0; i < a->nchecks; i++) {
		const fl_report_check *x = &a->checks[i], *y = &b->checks[i];
		ASSERT_STR_EQ(x->name, y->name);
		ASSERT_EQ(x->verdict, y->verdict);
		ASSERT_STR_EQ(x->message, y->message);
		ASSERT_STR_EQ(x->unit, y->unit);
		ASSERT(isfinite(x->measured) ? x->measured == y->measured : isnan(y->measured));
		ASSERT(isfinite(x->threshold) ? x->threshold == y->threshold : isnan(y->threshold));
	}
}

FL_TEST(json_round_trip_every_field)
{
	char *dir = scratch_dir();
	fl_report *r = full_report(), *back = NULL, *again = NULL;
	ASSERT_OK(fl_report_write_json(r, path_in(dir, "a.json")));
	ASSERT_OK(fl_report_load_json(path_in(dir, "a.json"), &back));
	assert_meta_eq(r, back);
	assert_data_eq(r, back);
	assert_events_eq(r, back);
	/* Writing the loaded report gives the same bytes: nothing was lost. */
	ASSERT_OK(fl_report_write_json(back, path_in(dir, "b.json")));
	char *a = slurp_file(path_in(dir, "a.json"));
	char *b = slurp_file(path_in(dir, "b.json"));
	ASSERT_STR_EQ(a, b);
	ASSERT_OK(fl_report_parse_json(b, strlen(b), "b.json", &again));
	fl_report_free(again);
	free(a);
	free(b);
	fl_report_free(back);
	fl_report_free(r);
	scratch_free(dir);
}

FL_TEST(json_escaping_and_numbers)
{
	char *dir = scratch_dir();
	fl_report *r = full_report();
	ASSERT_OK(fl_report_write_json(r, path_in(dir, "r.json")));
	char *j = slurp_file(path_in(dir, "r.json"));
	/* jansson's escapes: \u00XX in capitals; DEL (not a control
	 * character in RFC 8259) passes through raw. */
	ASSERT_CONTAINS(j, "\"name\": \"full q\\\"b\\\\s/n\\nt\\tc\\u0001\\u001F "
			   "del\x7f e\xc3\xa9 \xe6\xbc\xa2 \xf0\x9f\x99\x82\"");
	ASSERT_CONTAINS(j, "\"backend\": \"b\xef\xbf\xbd"
			   "ad\"");
	ASSERT_CONTAINS(j, "\"seed\": \"18446744073709551615\","); /* above INT64_MAX */
	ASSERT_CONTAINS(j, "\"duration_ns\": 9223372036854775807,");
	ASSERT_CONTAINS(j, ": -9223372036854775808");
	ASSERT_CONTAINS(j, "\"start_time\": \"2023-11-14T22:13:20.123Z\"");
	ASSERT_CONTAINS(j, "\"measured\": null,\n      \"threshold\": null,");
	/* Doubles: 17 significant digits; integral ones as integers. */
	ASSERT_CONTAINS(j, "\"measured\": 0.10000000000000001,\n"
			   "      \"threshold\": 1.0000000000000001e300,");
	ASSERT_CONTAINS(j, "\"measured\": -0.0,\n      \"threshold\": 4.9406564584124654e-324,");
	ASSERT_CONTAINS(j, "\"percentile\": 100,");
	ASSERT_CONTAINS(j, "\"summary\": {\n    \"passed\": 1,\n    \"failed\": 1,\n"
			   "    \"skipped\": 1\n  }\n}\n");
	ASSERT_CONTAINS(j, "\"counts\": {\n      \"disk.write\": 2,");
	ASSERT_LACKS(j, "nan");
	ASSERT_LACKS(j, "inf");
	for (const char *p = j; *p; p++) /* no raw control characters */
		ASSERT(*p == '\n' || (unsigned char)*p >= 0x20);
	free(j);
	fl_report_free(r);
	scratch_free(dir);
}

/* A report whose one check measures d: written, loaded, written again. */
static double json_double_trip(double d, char **text)
{
	char *dir = scratch_dir();
	fl_report *r = fixed_report("doubles"), *back = NULL;
	ASSERT_OK(fl_report_add_check(r, "d", FL_REPORT_PASS, d, 0, NULL, NULL));
	ASSERT_OK(fl_report_write_json(r, path_in(dir, "a.json")));
	ASSERT_OK(fl_report_load_json(path_in(dir, "a.json"), &back));
	ASSERT_OK(fl_report_write_json(back, path_in(dir, "b.json")));
	*text = slurp_file(path_in(dir, "a.json"));
	char *again = slurp_file(path_in(dir, "b.json"));
	ASSERT_STR_EQ(*text, again); /* byte-identical */
	double out = back->checks[0].measured;
	free(again);
	fl_report_free(back);
	fl_report_free(r);
	scratch_free(dir);
	return out;
}

FL_TEST(json_awkward_doubles_round_trip)
{
	const double ds[] = {0.1,
			     1e-7,
			     1.0 / 3,
			     5e-324,
			     2.2250738585072014e-308,
			     1e300,
			     1.7976931348623157e308,
			     -0.0,
			     9007199254740993.0 * 2,
			     123456789.125,
			     -2.5,
			     1.0000000000000002,
			     4503599627370495.5,
			     99.99};
	for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
		char *text;
		double back = json_double_trip(ds[i], &text);
		if (memcmp(&back, &ds[i], sizeof(double)) != 0)
			FL_FAIL("%.17g came back as %.17g", ds[i], back);
		free(text);
	}
	/* Negative control: with 15 digits (not what the writer uses), 1/3
	 * would not come back, so the comparison above can fail. */
	char b15[32];
	snprintf(b15, sizeof(b15), "%.15g", 1.0 / 3);
	ASSERT(strtod(b15, NULL) != 1.0 / 3);
}

/* jansson's allocator for the test below: fails once `left` hits 0. */
static long alloc_left = -1;
static void *limited_malloc(size_t n)
{
	if (alloc_left == 0)
		return NULL;
	alloc_left -= alloc_left > 0;
	return malloc(n);
}

FL_TEST(json_writer_out_of_memory)
{
	char *dir = scratch_dir();
	fl_report *r = full_report();
	ASSERT_OK(fl_report_write_json(r, path_in(dir, "want.json")));
	json_set_alloc_funcs(limited_malloc, free);
	long failed = 0;
	for (long k = 0;; k++) { /* the k-th allocation fails, for every k */
		alloc_left = k;
		fl_err *err = fl_report_write_json(r, path_in(dir, "m.json"));
		if (!err)
			break;
		ASSERT(fl_err_is(err, FL_ERR_NOMEM));
		fl_err_drop(err);
		failed++;
	}
	json_set_alloc_funcs(malloc, free);
	ASSERT(failed > 100); /* control: the limit really made writes fail */
	char *want = slurp_file(path_in(dir, "want.json")),
	     *got = slurp_file(path_in(dir, "m.json"));
	ASSERT_STR_EQ(got, want);
	free(want);
	free(got);
	fl_report_free(r);
	scratch_free(dir);
}

/* A report with seed as text, loaded: NULL error and *seed, or the error. */
static fl_err *load_seed(const char *seed, uint64_t *out)
{
	char doc[1024];
	snprintf(
		doc, sizeof(doc),
		"{\"schema\": \"faultline-report\", \"version\": 1,\n"
		" \"run\": {\"name\": \"s\", \"seed\": %s, \"fault_plan\": \"\", \"backend\": \"\","
		" \"git_rev\": \"\", \"start_unix_ns\": 0, \"duration_ns\": 0, \"repetition\": 0,"
		" \"repetitions\": 1, \"host\": {\"hostname\": \"\", \"cpu_model\": \"\","
		" \"cores\": 0, \"kernel\": \"\"}},\n \"histograms\": [], \"series\": [],"
		" \"counters\": {}, \"faults\": {\"total\": 0, \"counts\": {}, \"events\": []},"
		" \"checks\": [], \"summary\": {\"passed\": 0, \"failed\": 0, \"skipped\": 0}}\n",
		seed);
	fl_report *r = NULL;
	fl_err *err = fl_report_parse_json(doc, strlen(doc), "s.json", &r);
	if (!err)
		*out = r->seed;
	fl_report_free(r);
	return err;
}

FL_TEST(json_seed_representation)
{
	static const struct {
		uint64_t seed;
		const char *text;
	} ws[] = {
		{0, "\"seed\": 0,"},
		{INT64_MAX, "\"seed\": 9223372036854775807,"},
		{(uint64_t)INT64_MAX + 1, "\"seed\": \"9223372036854775808\","},
		{UINT64_MAX, "\"seed\": \"18446744073709551615\","},
	};
	char *dir = scratch_dir();
	for (size_t i = 0; i < sizeof(ws) / sizeof(ws[0]); i++) {
		struct fl_report_opts o = {.seed = ws[i].seed};
		fl_report *r = NULL, *back = NULL;
		ASSERT_OK(fl_report_new("s", &o, &r));
		ASSERT_OK(fl_report_write_json(r, path_in(dir, "s.json")));
		char *j = slurp_file(path_in(dir, "s.json"));
		ASSERT_CONTAINS(j, ws[i].text);
		ASSERT_OK(fl_report_load_json(path_in(dir, "s.json"), &back));
		ASSERT_U64_EQ(back->seed, ws[i].seed);
		free(j);
		fl_report_free(back);
		fl_report_free(r);
	}
	scratch_free(dir);
	uint64_t seed = 0;
	ASSERT_OK(load_seed("18446744073709551615", &seed)); /* as older writers wrote it */
	ASSERT_U64_EQ(seed, UINT64_MAX);
	ASSERT_OK(load_seed("\"42\"", &seed));
	ASSERT_U64_EQ(seed, 42);
	static const char *const bad[] =
		{"\"\"", "\"-1\"", "\"12a\"", "\" 1\"", "\"18446744073709551616\"", "-1", "true"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fl_err *err = load_seed(bad[i], &seed);
		if (!err)
			FL_FAIL("seed %s loaded", bad[i]);
		char buf[256];
		fl_err_format(err, buf, sizeof(buf));
		ASSERT_CONTAINS(buf, "\"seed\"");
		fl_err_drop(err);
	}
}

/* Loads text and expects an error whose text contains want. */
static void expect_load_error(const char *text, const char *want)
{
	fl_report *r = NULL;
	fl_err *err = fl_report_parse_json(text, strlen(text), "t.json", &r);
	if (!err)
		FL_FAIL("loaded, expected an error with \"%s\" from:\n%s", want, text);
	char buf[512];
	fl_err_format(err, buf, sizeof(buf));
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	ASSERT_CONTAINS(buf, want);
	ASSERT_NULL(r);
	fl_err_drop(err);
}

FL_TEST(json_syntax_errors_have_positions)
{
	expect_load_error("", "t.json:1:1: unexpected end of input");
	expect_load_error("{\n  \"a\": 1,\n  x\n}", "t.json:3:3: expected a member name");
	expect_load_error("[1, 2,]", "t.json:1:7: trailing comma");
	expect_load_error("{\"a\": 01}", "t.json:1:7: leading zero");
	expect_load_error("{\"a\": 1.}", "1:7: bad fraction");
	expect_load_error("{\"a\": \"\\x\"}", "1:8: bad escape");
	expect_load_error("{\"a\": \"\\ud800\"}", "unpaired high surrogate");
	expect_load_error("{\"a\": \"\\udc00\"}", "unpaired low surrogate");
	expect_load_error("{\"a\": \"\\u0000\"}", "\\u0000 is not allowed");
	expect_load_error("{\"a\": \"x\ty\"}", "1:9: control character");
	expect_load_error("{\"a\": \"\xc3\x28\"}", "invalid UTF-8");
	expect_load_error("{\"a\": \"abc", "1:7: unterminated string");
	expect_load_error("{\"a\": 1, \"a\": 2}", "1:10: duplicate key \"a\"");
	expect_load_error("{} x", "1:4: trailing characters");
	expect_load_error("{\"a\" 1}", "expected ':'");
	expect_load_error("[1 2]", "expected ',' or ']'");
	expect_load_error("nul", "unexpected character 'n'");
	char deep[200];
	memset(deep, '[', 100);
	deep[100] = '\0';
	expect_load_error(deep, "nesting deeper than 64");
	static const char with_nul[] = "{\n \0}";
	fl_report *r = NULL;
	fl_err *err = fl_report_parse_json(with_nul, sizeof(with_nul) - 1, "n.json", &r);
	char buf[256];
	fl_err_format(err, buf, sizeof(buf));
	ASSERT_CONTAINS(buf, "n.json:2:2: NUL byte");
	fl_err_drop(err);
}

FL_TEST(json_schema_errors_have_positions)
{
	expect_load_error("[]", "1:1: a report must be a JSON object");
	expect_load_error("{\"schema\": \"other\", \"version\": 1}",
			  "1:12: not a faultline report");
	expect_load_error("{\"schema\": \"faultline-report\", \"version\": 2}",
			  "1:43: unsupported report version 2");
	expect_load_error("{\"schema\": \"faultline-report\", \"version\": 1}",
			  "1:1: missing member \"run\"");
	expect_load_error("{\"schema\": \"faultline-report\",\n\"version\": 1.5}",
			  "2:12: \"version\" must be an integer");
	expect_load_error("{\"schema\": \"faultline-report\", \"version\": "
			  "99999999999999999999}",
			  "does not fit in 64 bits");
	expect_load_error("{\"schema\": \"faultline-report\", \"version\": 1, "
			  "\"run\": []}",
			  "\"run\" must be an object");

	/* Corrupt one member of a valid report at a time. */
	fl_report *r = full_report();
	char *dir = scratch_dir();
	ASSERT_OK(fl_report_write_json(r, path_in(dir, "r.json")));
	char *j = slurp_file(path_in(dir, "r.json"));
	char *at = strstr(j, "\"verdict\": \"fail\"");
	ASSERT_NOT_NULL(at);
	memcpy(at + 12, "FAIL", 4);
	expect_load_error(j, "verdict must be \"pass\", \"fail\" or \"skip\"");
	memcpy(at + 12, "fail", 4);
	at = strstr(j, "\"total\": 3");
	ASSERT_NOT_NULL(at);
	at[9] = '4';
	expect_load_error(j, "fault total 4 but 3 events");
	at[9] = '3';
	at = strstr(j, "\"passed\": 1");
	at[10] = '2';
	expect_load_error(j, "summary does not match the checks");
	at[10] = '1';
	at = strstr(j, "\"count\": 3010,"); /* e2e: 3010 samples */
	ASSERT_NOT_NULL(at);
	at[12] = '2';
	expect_load_error(j, "\"hdr\" disagrees with the summary");
	at[12] = '0';
	at = strstr(j, "\"hdr\": \"HISTFAAA");
	ASSERT_NOT_NULL(at);
	at[9] = '*';
	expect_load_error(j, "corrupt histogram data");
	free(j);
	fl_report_free(r);
	scratch_free(dir);
}

FL_TEST(json_loader_extras)
{
	static const char doc[] =
		"\xef\xbb\xbf{\"schema\": \"faultline-report\", \"version\": 1, \"future\": [1, {}],\n"
		" \"run\": {\"name\": \"\\u00e9\\ud83d\\ude42\\/\", \"seed\": 7, \"fault_plan\": \"\","
		" \"backend\": \"\", \"git_rev\": \"\", \"start_unix_ns\": 0, \"duration_ns\": 0,"
		" \"repetition\": 0, \"repetitions\": 1, \"host\": {\"hostname\": \"\","
		" \"cpu_model\": \"\", \"cores\": 0, \"kernel\": \"\"}},\n"
		" \"histograms\": [], \"series\": [], \"counters\": {},\n"
		" \"faults\": {\"total\": 0, \"counts\": {}, \"events\": []},\n"
		" \"checks\": [], \"summary\": {\"passed\": 0, \"failed\": 0, \"skipped\": 0}}\n";
	fl_report *r = NULL;
	ASSERT_OK(fl_report_parse_json(doc, sizeof(doc) - 1, "x", &r));
	ASSERT_STR_EQ(r->name, "\xc3\xa9\xf0\x9f\x99\x82/");
	ASSERT_EQ(r->start_unix_ns, 0);
	ASSERT_U64_EQ(r->seed, 7);
	fl_report_free(r);

	fl_err *err = fl_report_load_json("/nonexistent/dir/report.json", &r);
	char buf[256];
	fl_err_format(err, buf, sizeof(buf));
	ASSERT(fl_err_is(err, FL_ERR_SYSTEM));
	ASSERT_CONTAINS(buf, "/nonexistent/dir/report.json");
	ASSERT_EQ(*(const int *)fl_err_as(err, &fl_err_errno_type), ENOENT);
	fl_err_drop(err);
}

/* Two known runs: base and new differ in every way compare shows. */
FL_TEST(compare_loaded_reports)
{
	/* Compare works on summaries loaded from disk as on live data. */
	char *dir = scratch_dir();
	fl_report *base = full_report(), *lb = NULL;
	ASSERT_OK(fl_report_write_json(base, path_in(dir, "b.json")));
	ASSERT_OK(fl_report_load_json(path_in(dir, "b.json"), &lb));
	char *a = NULL, *b = NULL;
	size_t la = 0, lbn = 0;
	FILE *m = open_memstream(&a, &la);
	ASSERT_OK(fl_report_compare(base, base, m));
	fclose(m);
	m = open_memstream(&b, &lbn);
	ASSERT_OK(fl_report_compare(lb, lb, m));
	fclose(m);
	ASSERT_STR_EQ(a, b);
	ASSERT_CONTAINS(a, "+0.0%");
	ASSERT_LACKS(a, "(new)");
	free(a);
	free(b);
	fl_report_free(lb);
	fl_report_free(base);
	scratch_free(dir);
}

FL_TEST_MAIN(FL_CASE(builders_validate_and_copy), FL_CASE(stats_from_hdr), FL_CASE(slo_checks),
	     FL_CASE(format_helpers), FL_CASE(json_round_trip_every_field),
	     FL_CASE(json_escaping_and_numbers), FL_CASE(json_awkward_doubles_round_trip),
	     FL_CASE(json_seed_representation), FL_CASE(json_writer_out_of_memory),
	     FL_CASE(json_syntax_errors_have_positions), FL_CASE(json_schema_errors_have_positions),
	     FL_CASE(json_loader_extras), FL_CASE(compare_loaded_reports))
