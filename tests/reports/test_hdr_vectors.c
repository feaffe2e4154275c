/* fl-test-labels: memcheck */
/*
 * test_hdr_vectors.c - conformance against the Java reference vectors.
 *
 * Every directory of FL_SHARED_DIR/specs/hdr-vectors is one histogram made
 * with HdrHistogram Java 2.1.11. For each we check (spec §11): the derived
 * layout, the counts after replaying values.txt, the uncompressed V2 bytes,
 * decoding histogram.b64, the statistics, the .hgrm and .csv text byte for
 * byte, reading intervals.hlog, and writing the same log ourselves (equal
 * except the payload column, which depends on the zlib build).
 */
#include <fl/hdr.h>
#include <fl/hdr_log.h>

#include "fl_test.h"
#include "fl_test_hdr.h"

#include <math.h>

#define VEC_DIR FL_SHARED_DIR "/specs/hdr-vectors/"

/* ------------------------------------------------------------------------
 * Small file helpers
 */

static char *slurp(const char *vec, const char *file, size_t *len)
{
	char path[512];
	snprintf(path, sizeof path, VEC_DIR "%s/%s", vec, file);
	FILE *f = fopen(path, "rb");
	if (!f)
		FL_FAIL("cannot open %s", path);
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	size_t got;
	while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (cap - n - 1 == 0)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* Value of "key=" in params.txt (static buffer). */
static const char *param(const char *vec, const char *key)
{
	static char out[256];
	char *text = slurp(vec, "params.txt", NULL), pat[64];
	snprintf(pat, sizeof pat, "\n%s=", key);
	char *p = strstr(text, pat);
	if (!p)
		FL_FAIL("%s: no %s in params.txt", vec, key);
	p += strlen(pat);
	size_t n = strcspn(p, "\n");
	snprintf(out, sizeof out, "%.*s", (int)n, p);
	free(text);
	return out;
}

static int64_t param_i64(const char *vec, const char *key)
{
	return strtoll(param(vec, key), NULL, 0);
}

static void check_err(fl_err *err)
{
	if (err) {
		char msg[512];
		fl_err_format(err, msg, sizeof msg);
		fl_err_drop(err);
		FL_FAIL("unexpected error: %s", msg);
	}
}

static fl_hdr *new_hist(const char *vec)
{
	fl_hdr *h;
	check_err(fl_hdr_new(param_i64(vec, "lowest_discernible_value"),
			     param_i64(vec, "highest_trackable_value"),
			     (int)param_i64(vec, "significant_figures"), &h));
	return h;
}

/* Replays record operations [from, to) of values.txt into h. */
static int replay(const char *vec, fl_hdr *h, int from, int to)
{
	char method[64];
	snprintf(method, sizeof method, "%s", param(vec, "record_method"));
	int64_t interval = param_i64(vec, "expected_interval");
	char *text = slurp(vec, "values.txt", NULL), *save = NULL;
	int op = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		long long v, c = 1;
		int n = sscanf(line, "%lld %lld", &v, &c);
		ASSERT(n >= 1);
		if (op >= from && op < to) {
			bool ok = strcmp(method, "record_corrected_value") == 0
					  ? fl_hdr_record_corrected(h, v, interval)
					  : fl_hdr_record_n(h, v, c);
			ASSERT(ok);
		}
		op++;
	}
	free(text);
	return op;
}

static fl_hdr *recorded(const char *vec)
{
	fl_hdr *h = new_hist(vec);
	replay(vec, h, 0, 1 << 30);
	return h;
}

/* Compares h with counts.txt: every listed slot and nothing else. */
static void check_counts_file(const char *vec, const fl_hdr *h)
{
	char *text = slurp(vec, "counts.txt", NULL), *save = NULL;
	int64_t listed = 0, total = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		long long idx, lo, hi, c;
		ASSERT_EQ(sscanf(line, "%lld %lld %lld %lld", &idx, &lo, &hi, &c), 4);
		ASSERT_EQ(fl_hdr_count_at_index(h, (int32_t)idx), c);
		ASSERT_EQ(fl_hdr_value_at_index(h, (int32_t)idx), lo);
		ASSERT_EQ(fl_hdr_highest_equivalent(h, lo), hi);
		listed++;
		total += c;
	}
	free(text);
	int64_t nonzero = 0;
	for (int32_t i = 0; i < fl_hdr_counts_len(h); i++)
		nonzero += fl_hdr_count_at_index(h, i) != 0;
	ASSERT_EQ(nonzero, listed);
	ASSERT_EQ(fl_hdr_total_count(h), total);
}

/* ------------------------------------------------------------------------
 * The checks
 */

static void check_layout(const char *vec)
{
	fl_hdr *h = new_hist(vec);
	ASSERT_EQ(fl_hdr_unit_magnitude(h), param_i64(vec, "unit_magnitude"));
	ASSERT_EQ(fl_hdr_sub_bucket_count(h), param_i64(vec, "sub_bucket_count"));
	ASSERT_EQ(fl_hdr_bucket_count(h), param_i64(vec, "bucket_count"));
	ASSERT_EQ(fl_hdr_counts_len(h), param_i64(vec, "counts_len"));
	ASSERT_EQ(fl_hdr_largest_recordable(h), param_i64(vec, "largest_recordable_value"));
	int64_t mask = param_i64(vec, "sub_bucket_mask");
	ASSERT_EQ(fl_hdr_sub_bucket_count(h) - 1, mask >> fl_hdr_unit_magnitude(h));
	fl_hdr_free(h);
}

static void check_counts(const char *vec)
{
	fl_hdr *h = recorded(vec);
	check_counts_file(vec, h);
	ASSERT_EQ(fl_hdr_out_of_range(h), 0);
	fl_hdr_free(h);
}

static void to_hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = '\0';
}

static void check_hex(const char *vec)
{
	fl_hdr *h = recorded(vec);
	uint8_t *bin;
	size_t n;
	check_err(fl_hdr_encode(h, &bin, &n));
	char *hex = malloc(2 * n + 1), *want = slurp(vec, "uncompressed-v2.hex", NULL);
	to_hex(bin, n, hex);
	want[strcspn(want, "\r\n")] = '\0';
	ASSERT_STR_EQ(hex, want);
	/* And the hex decodes back to the same counts. */
	fl_hdr *d;
	check_err(fl_hdr_decode(bin, n, &d));
	fl_test_assert_same_hdr("decoded vs recorded", h, d);
	free(hex);
	free(want);
	free(bin);
	fl_hdr_free(d);
	fl_hdr_free(h);
}

static void check_b64(const char *vec)
{
	size_t n;
	char *text = slurp(vec, "histogram.b64", &n);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		n--;
	fl_hdr *d, *h = recorded(vec), *again;
	check_err(fl_hdr_decode_base64(text, n, &d));
	check_counts_file(vec, d);
	fl_test_assert_same_hdr("decoded vs recorded", h, d);
	ASSERT_EQ(fl_hdr_lowest(d), fl_hdr_lowest(h));
	ASSERT_EQ(fl_hdr_highest(d), fl_hdr_highest(h));
	ASSERT_EQ(fl_hdr_sigfigs(d), fl_hdr_sigfigs(h));
	/* Our compressed base64 decodes to the same counts too. */
	char *ours;
	check_err(fl_hdr_encode_base64(h, -1, &ours));
	ASSERT(strncmp(ours, "HISTFAAA", 8) == 0);
	check_err(fl_hdr_decode_base64(ours, strlen(ours), &again));
	fl_test_assert_same_hdr("decoded vs recorded", h, again);
	free(ours);
	free(text);
	fl_hdr_free(again);
	fl_hdr_free(d);
	fl_hdr_free(h);
}

static double stat_value(const char *text, const char *key)
{
	char pat[32];
	snprintf(pat, sizeof pat, "%s ", key);
	const char *p = text;
	while (p && strncmp(p, pat, strlen(pat)) != 0) {
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	if (!p)
		FL_FAIL("no stat %s", key);
	return strtod(p + strlen(pat), NULL);
}

/* expected-stats.txt prints mean/stddev with 6 decimals: allow half a unit
 * of the last printed digit plus 1e-9 relative. */
static void check_printed(double got, double want)
{
	ASSERT_DBL_NEAR(got, want, 5e-7 + 1e-9 * fabs(want));
}

static void check_stats(const char *vec)
{
	fl_hdr *h = recorded(vec);
	char *text = slurp(vec, "expected-stats.txt", NULL);
	ASSERT_EQ(fl_hdr_total_count(h), (int64_t)stat_value(text, "total_count"));
	ASSERT_EQ(fl_hdr_min(h), (int64_t)stat_value(text, "min"));
	ASSERT_EQ(fl_hdr_max(h), (int64_t)stat_value(text, "max"));
	check_printed(fl_hdr_mean(h), stat_value(text, "mean"));
	check_printed(fl_hdr_stddev(h), stat_value(text, "stddev"));
	static const struct {
		const char *key;
		double p;
	} ps[] = {
		{"p50", 50},     {"p90", 90},       {"p99", 99},
		{"p99.9", 99.9}, {"p99.99", 99.99}, {"p100", 100},
	};
	for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++)
		ASSERT_EQ(fl_hdr_value_at_percentile(h, ps[i].p),
			  (int64_t)stat_value(text, ps[i].key));
	free(text);
	fl_hdr_free(h);
}

static void check_text(const char *vec, const char *file, enum fl_hdr_text_format fmt)
{
	fl_hdr *h = recorded(vec);
	char *got = NULL;
	size_t got_len = 0;
	FILE *out = open_memstream(&got, &got_len);
	check_err(fl_hdr_percentiles_print(h, out, 5, 1.0, fmt));
	fclose(out);
	char *want = slurp(vec, file, NULL);
	ASSERT_STR_EQ(got, want);
	free(got);
	free(want);
	fl_hdr_free(h);
}

static FILE *open_vec(const char *vec, const char *file)
{
	char path[512];
	snprintf(path, sizeof path, VEC_DIR "%s/%s", vec, file);
	FILE *f = fopen(path, "rb");
	ASSERT_NOT_NULL(f);
	return f;
}

static const char *vec_tag(const char *vec)
{
	const char *t = param(vec, "hlog_tag");
	return strcmp(t, "(none)") == 0 ? "" : t;
}

static void check_hlog_read(const char *vec)
{
	char tag[64];
	snprintf(tag, sizeof tag, "%s", vec_tag(vec));
	int64_t base_ns = param_i64(vec, "hlog_base_time_msec") * 1000000;
	FILE *f = open_vec(vec, "intervals.hlog");
	fl_hdr_log_reader *r;
	check_err(fl_hdr_log_reader_new(f, &r));
	fl_hdr *sum = new_hist(vec);
	fl_hdr_log_entry e;
	int n = 0;
	for (;; n++) {
		check_err(fl_hdr_log_read(r, &e));
		if (!e.hist)
			break;
		ASSERT_STR_EQ(e.tag, tag);
		ASSERT_EQ(e.start_ns, base_ns + n * INT64_C(1000000000));
		ASSERT_EQ(e.end_ns, base_ns + (n + 1) * INT64_C(1000000000));
		ASSERT_EQ(fl_hdr_start_ns(e.hist), e.start_ns);
		ASSERT_EQ(fl_hdr_add(sum, e.hist), 0);
		fl_hdr_free(e.hist);
	}
	ASSERT_EQ(n, 3);
	ASSERT_EQ(fl_hdr_log_reader_start_ns(r), base_ns);
	ASSERT_EQ(fl_hdr_log_reader_base_ns(r), base_ns);
	check_counts_file(vec, sum);
	fl_hdr_log_reader_free(r);
	fclose(f);
	fl_hdr_free(sum);
}

/* Drops the payload column (after the last comma) of interval lines. */
static void strip_payloads(char *text)
{
	char *out = text;
	for (char *line = text; *line;) {
		size_t n = strcspn(line, "\n");
		bool interval = line[0] != '#' && line[0] != '"';
		char *end = line + n;
		if (interval)
			while (end > line && end[-1] != ',')
				end--;
		memmove(out, line, (size_t)(end - line));
		out += end - line;
		line += n;
		if (*line == '\n')
			*out++ = *line++;
	}
	*out = '\0';
}

static void check_hlog_write(const char *vec)
{
	char *want = slurp(vec, "intervals.hlog", NULL), *got = NULL;
	size_t got_len = 0;
	int64_t base_ns = param_i64(vec, "hlog_base_time_msec") * 1000000;
	const char *tag = vec_tag(vec);
	char tagbuf[64], comment[256];
	snprintf(tagbuf, sizeof tagbuf, "%s", tag);
	snprintf(comment, sizeof comment, "%.*s", (int)strcspn(want + 1, "\n"), want + 1);
	FILE *out = open_memstream(&got, &got_len);
	fl_hdr_log_writer *w;
	check_err(fl_hdr_log_writer_new(out, NULL, &w));
	check_err(fl_hdr_log_write_comment(w, comment));
	check_err(fl_hdr_log_write_header(w, base_ns, base_ns));
	fl_hdr *probe = new_hist(vec);
	int ops = replay(vec, probe, 0, 0);
	fl_hdr_free(probe);
	for (int i = 0; i < 3; i++) {
		fl_hdr *h = new_hist(vec);
		replay(vec, h, ops * i / 3, ops * (i + 1) / 3);
		int64_t s = base_ns + i * INT64_C(1000000000);
		check_err(fl_hdr_log_write_interval(w, h, s, s + 1000000000,
						    tagbuf[0] ? tagbuf : NULL));
		fl_hdr_free(h);
	}
	fl_hdr_log_writer_free(w);
	fclose(out);
	/* Our log reads back to the whole histogram. */
	FILE *in = fmemopen(got, got_len, "r");
	fl_hdr *merged;
	check_err(fl_hdr_log_read_merged(in, tagbuf, &merged));
	fclose(in);
	ASSERT_NOT_NULL(merged);
	check_counts_file(vec, merged);
	fl_hdr_free(merged);
	ASSERT(got_len > 0 && got[got_len - 1] == '\n');
	strip_payloads(got);
	strip_payloads(want);
	ASSERT_STR_EQ(got, want);
	free(got);
	free(want);
}

#define V1 "01-ramp-3sig"
#define V2 "02-longtail-2sig"
#define V3 "03-sig1-counts"
#define V4 "04-sig5-unit1000"
#define V5 "05-corrected-3sig"
#define V6 "06-edge"

FL_TEST(v01_layout) { check_layout(V1); }
FL_TEST(v01_counts) { check_counts(V1); }
FL_TEST(v01_hex) { check_hex(V1); }
FL_TEST(v01_b64) { check_b64(V1); }
FL_TEST(v01_stats) { check_stats(V1); }
FL_TEST(v01_hgrm) { check_text(V1, "percentiles.hgrm", FL_HDR_TEXT_CLASSIC); }
FL_TEST(v01_csv) { check_text(V1, "percentiles.csv", FL_HDR_TEXT_CSV); }
FL_TEST(v01_hlog_read) { check_hlog_read(V1); }
FL_TEST(v01_hlog_write) { check_hlog_write(V1); }

FL_TEST(v02_layout) { check_layout(V2); }
FL_TEST(v02_counts) { check_counts(V2); }
FL_TEST(v02_hex) { check_hex(V2); }
FL_TEST(v02_b64) { check_b64(V2); }
FL_TEST(v02_stats) { check_stats(V2); }
FL_TEST(v02_hgrm) { check_text(V2, "percentiles.hgrm", FL_HDR_TEXT_CLASSIC); }
FL_TEST(v02_csv) { check_text(V2, "percentiles.csv", FL_HDR_TEXT_CSV); }
FL_TEST(v02_hlog_read) { check_hlog_read(V2); }
FL_TEST(v02_hlog_write) { check_hlog_write(V2); }

FL_TEST(v03_layout) { check_layout(V3); }
FL_TEST(v03_counts) { check_counts(V3); }
FL_TEST(v03_hex) { check_hex(V3); }
FL_TEST(v03_b64) { check_b64(V3); }
FL_TEST(v03_stats) { check_stats(V3); }
FL_TEST(v03_hgrm) { check_text(V3, "percentiles.hgrm", FL_HDR_TEXT_CLASSIC); }
FL_TEST(v03_csv) { check_text(V3, "percentiles.csv", FL_HDR_TEXT_CSV); }
FL_TEST(v03_hlog_read) { check_hlog_read(V3); }
FL_TEST(v03_hlog_write) { check_hlog_write(V3); }

FL_TEST(v04_layout) { check_layout(V4); }
FL_TEST(v04_counts) { check_counts(V4); }
FL_TEST(v04_hex) { check_hex(V4); }
FL_TEST(v04_b64) { check_b64(V4); }
FL_TEST(v04_stats) { check_stats(V4); }
FL_TEST(v04_hgrm) { check_text(V4, "percentiles.hgrm", FL_HDR_TEXT_CLASSIC); }
FL_TEST(v04_csv) { check_text(V4, "percentiles.csv", FL_HDR_TEXT_CSV); }
FL_TEST(v04_hlog_read) { check_hlog_read(V4); }
FL_TEST(v04_hlog_write) { check_hlog_write(V4); }

FL_TEST(v05_layout) { check_layout(V5); }
FL_TEST(v05_counts) { check_counts(V5); }
FL_TEST(v05_hex) { check_hex(V5); }
FL_TEST(v05_b64) { check_b64(V5); }
FL_TEST(v05_stats) { check_stats(V5); }
FL_TEST(v05_hgrm) { check_text(V5, "percentiles.hgrm", FL_HDR_TEXT_CLASSIC); }
FL_TEST(v05_csv) { check_text(V5, "percentiles.csv", FL_HDR_TEXT_CSV); }
FL_TEST(v05_hlog_read) { check_hlog_read(V5); }
FL_TEST(v05_hlog_write) { check_hlog_write(V5); }

FL_TEST(v06_layout) { check_layout(V6); }
FL_TEST(v06_counts) { check_counts(V6); }
FL_TEST(v06_hex) { check_hex(V6); }
FL_TEST(v06_b64) { check_b64(V6); }
FL_TEST(v06_stats) { check_stats(V6); }
FL_TEST(v06_hgrm) { check_text(V6, "percentiles.hgrm", FL_HDR_TEXT_CLASSIC); }
FL_TEST(v06_csv) { check_text(V6, "percentiles.csv", FL_HDR_TEXT_CSV); }
FL_TEST(v06_hlog_read) { check_hlog_read(V6); }
FL_TEST(v06_hlog_write) { check_hlog_write(V6); }

FL_TEST_MAIN(FL_CASE(v01_layout), FL_CASE(v01_counts), FL_CASE(v01_hex), FL_CASE(v01_b64),
	     FL_CASE(v01_stats), FL_CASE(v01_hgrm), FL_CASE(v01_csv), FL_CASE(v01_hlog_read),
	     FL_CASE(v01_hlog_write), FL_CASE(v02_layout), FL_CASE(v02_counts), FL_CASE(v02_hex),
	     FL_CASE(v02_b64), FL_CASE(v02_stats), FL_CASE(v02_hgrm), FL_CASE(v02_csv),
	     FL_CASE(v02_hlog_read), FL_CASE(v02_hlog_write), FL_CASE(v03_layout),
	     FL_CASE(v03_counts), FL_CASE(v03_hex), FL_CASE(v03_b64), FL_CASE(v03_stats),
	     FL_CASE(v03_hgrm), FL_CASE(v03_csv), FL_CASE(v03_hlog_read), FL_CASE(v03_hlog_write),
	     FL_CASE(v04_layout), FL_CASE(v04_counts), FL_CASE(v04_hex), FL_CASE(v04_b64),
	     FL_CASE(v04_stats), FL_CASE(v04_hgrm), FL_CASE(v04_csv), FL_CASE(v04_hlog_read),
	     FL_CASE(v04_hlog_write), FL_CASE(v05_layout), FL_CASE(v05_counts), FL_CASE(v05_hex),
	     FL_CASE(v05_b64), FL_CASE(v05_stats), FL_CASE(v05_hgrm), FL_CASE(v05_csv),
	     FL_CASE(v05_hlog_read), FL_CASE(v05_hlog_write), FL_CASE(v06_layout),
	     FL_CASE(v06_counts), FL_CASE(v06_hex), FL_CASE(v06_b64), FL_CASE(v06_stats),
	     FL_CASE(v06_hgrm), FL_CASE(v06_csv), FL_CASE(v06_hlog_read), FL_CASE(v06_hlog_write))
