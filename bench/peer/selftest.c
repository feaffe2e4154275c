/*
 * selftest.c - `fl-bench selftest`: the facts both suites must agree on.
 *
 * Checks the Go peer's golden values (README "Randomness"), the fixed facts
 * of the draws (W5b's first k values, W9's 20 slow primaries of which one
 * has a slow hedge, W10's 3.755 s of requested sleep), the nearest-rank
 * percentile rule, the median rule, number formatting as the Go peer's
 * fmtFloat, and duration parsing. Pure computation: no scheduler, no timing.
 * Prints one line per failed check and exits 1 if any failed. Run by ctest
 * as bench.selftest.
 */
#include "peer_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int failures;

static void check_u64(const char *what, uint64_t got, uint64_t want)
{
	if (got == want)
		return;
	printf("FAIL %s = %016" PRIx64 ", want %016" PRIx64 "\n", what, got, want);
	failures++;
}

static void check_str(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return;
	printf("FAIL %s = \"%s\", want \"%s\"\n", what, got, want);
	failures++;
}

static void test_golden(void)
{
	check_u64("mix64(0)", flb_mix64(0), 0xe220a8397b1dcdafu);
	check_u64("draw(9,0,0)", flb_draw(FLB_TAG_HEDGE, 0, 0), 0x1106b91c22b73567u);
	check_u64("xorshift(0,100)", flb_xorshift(0, 100), 0x97dc64ea09dcaec8u);
	check_u64("checksum n=1000", flb_fanout_checksum(1000, 100), 0x2dff3c5f13889db3u);
	check_u64("checksum n=1e6", flb_fanout_checksum(1000000, 100), 0x560f711b35260c30u);
}

static void test_draw_facts(void)
{
	static const uint64_t ks[] = {4480, 4535, 3884, 2687, 2117};
	for (uint64_t r = 0; r < 5; r++)
		check_u64("W5b k(r)", 1000 + flb_draw(FLB_TAG_CANCEL_ERR, r, 0) % 4000, ks[r]);
	uint64_t slow = 0, both = 0;
	for (uint64_t i = 0; i < 2000; i++) {
		if (flb_draw(FLB_TAG_HEDGE, i, 0) % 10000 < 100) {
			slow++;
			both += flb_draw(FLB_TAG_HEDGE, i, 1) % 10000 < 100;
		}
	}
	check_u64("W9 slow primaries", slow, 20);
	check_u64("W9 slow primaries with a slow hedge", both, 1);
	int64_t sum = 0;
	for (int64_t i = 0; i < 1000; i++)
		for (int64_t a = 0; a < 2; a++)
			sum += flb_backoff(FL_MS(1), i, a);
	check_u64("W10 requested ms", (uint64_t)(sum / FL_MS(1)), 3755);
	char buf[32];
	check_str("W10 ideal_secs", flb_fmt_float("ideal_secs", (double)sum / 1e9 / 16, buf, 32),
		  "0.234728");
}

static void test_percentiles(void)
{
	static int64_t s[2000];
	static const struct {
		double q;
		uint64_t want;
	} qs[] = {
		{0.5, 1000}, {0.99, 1980}, {0.999, 1998}, {1, 2000}, {0, 1},
	};
	for (int i = 0; i < 2000; i++)
		s[i] = i + 1;
	for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
		check_u64("nearest rank n=2000", (uint64_t)flb_nearest_rank(s, 2000, qs[i].q),
			  qs[i].want);
	/* n = 1000: p50 = s[499], p99 = s[989], p999 = s[998] (values i+1). */
	check_u64("p50 n=1000", (uint64_t)flb_nearest_rank(s, 1000, 0.5), 500);
	check_u64("p99 n=1000", (uint64_t)flb_nearest_rank(s, 1000, 0.99), 990);
	check_u64("p999 n=1000", (uint64_t)flb_nearest_rank(s, 1000, 0.999), 999);
	struct flb_metrics m = {0};
	int64_t lat[5] = {50, 10, 40, 20, 30};
	flb_metrics_percentiles(&m, lat, 5);
	check_u64("percentiles sort: p50 of 5", (uint64_t)m.vals[0], 30);
	check_u64("percentiles sort: max of 5", (uint64_t)m.vals[4], 50);
	double odd[] = {3, 1, 2}, even[] = {4, 1, 3, 2};
	check_u64("median odd", (uint64_t)flb_median(odd, 3), 2);
	check_u64("median even x10", (uint64_t)(flb_median(even, 4) * 10), 25);
}

static void test_format(void)
{
	static const struct {
		const char *k;
		double v;
		const char *want;
	} fs[] = {
		{"ns_per_op", 399.944, "399.9"},
		{"ns_per_op", 314.0, "314"},
		{"ns_per_op", 0.04, "0"},
		{"secs", 0.399944, "0.399944"},
		{"secs", 2.0, "2"},
		{"wall_over_ideal_ratio", 1.334701, "1.3347"},
		{"extra_ratio", 0.013, "0.013"},
		{"p50", 6270, "6270"},
		{"items_per_sec", 1583061.94, "1583061.9"},
		{"seq_work_ns_per_item", 140.25, "140.2"},
	};
	char buf[64];
	for (size_t i = 0; i < sizeof fs / sizeof fs[0]; i++)
		check_str(fs[i].k, flb_fmt_float(fs[i].k, fs[i].v, buf, sizeof buf), fs[i].want);
}

/*
 * The line's numbers go through jansson: each must print as the Go text
 * (test_format's), except with more than 15 significant digits (a value
 * over 1e14 with a fraction) and below 1e-4, where jansson's %.15g takes
 * the exponent form. The last two rows are those known differences, so a
 * change in jansson's number printing shows here either way.
 */
static void test_json_numbers(void)
{
	static const struct {
		const char *k;
		double v;
		const char *want;
	} ns[] = {
		{"ns_per_op", 399.944, "399.9"},
		{"ns_per_op", 314.0, "314"},
		{"secs", 2.0, "2"},
		{"secs", 0.399944, "0.399944"},
		{"wall_over_ideal_ratio", 1.334701, "1.3347"},
		{"items_per_sec", 1583061.94, "1583061.9"},
		{"p99", 99999999999.5, "99999999999.5"},
		{"p99", 1e14 + 0.5, "100000000000000.0"}, /* Go: 100000000000000.5 */
		{"secs", 0.000012, "1.2e-5"},             /* Go: 0.000012 */
	};
	for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
		json_t *v = flb_json_go_number(ns[i].k, ns[i].v);
		char *t = flb_json_dump(v);
		check_str(ns[i].k, t, ns[i].want);
		free(t);
		json_decref(v);
	}
	struct flb_json j = {0};
	flb_json_str(&j, "workload", "a\"b");
	flb_json_int(&j, "n", -3);
	flb_json_num(&j, "secs", 0.5);
	char *t = flb_json_dump(j.obj);
	check_str("line", t, "{\"workload\":\"a\\\"b\",\"n\":-3,\"secs\":0.5}");
	free(t);
	flb_json_free(&j);
}

static void test_durations(void)
{
	static const struct {
		const char *s;
		int64_t ns;
	} ds[] = {
		{"2ms", FL_MS(2)},      {"50ms", FL_MS(50)}, {"1.5s", FL_MS(1500)},
		{"500us", FL_US(500)},  {"1m", FL_SEC(60)},  {"0", 0},
		{"1h1m", FL_SEC(3660)},
	};
	for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
		int64_t ns = -1;
		bool ok = flb_parse_dur(ds[i].s, &ns);
		check_u64(ds[i].s, ok ? (uint64_t)ns : UINT64_MAX, (uint64_t)ds[i].ns);
	}
	int64_t ns;
	check_u64("bad duration rejected", flb_parse_dur("5", &ns) || flb_parse_dur("ms", &ns), 0);
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{"golden", test_golden},
	{"draw_facts", test_draw_facts},
	{"percentiles", test_percentiles},
	{"format", test_format},
	{"json_numbers", test_json_numbers},
	{"durations", test_durations},
};

int flb_cmd_selftest(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int before = failures;
		cases[i].fn();
		printf("%s %s\n", failures == before ? "ok  " : "FAIL", cases[i].name);
	}
	printf("selftest: %s\n", failures ? "FAILED" : "passed");
	return failures ? 1 : 0;
}
