/* fl-test-labels: memcheck */
/*
 * test_hdr_log.c - the .hlog interval logs: the writer's lines and tags,
 * the reader's round trip, its tolerance, its base-time inference, and
 * errors that name the line. The encodings are in test_hdr_codec.c.
 */
#include <fl/hdr.h>
#include <fl/hdr_log.h>

#include "fl_test.h"
#include "fl_test_hdr.h"
#include "hdr_test_util.h"

/* ------------------------------------------------------------------------
 * .hlog writer
 */

#define T0 (INT64_C(1700000000) * 1000000000)

static char *write_log(int64_t base_ns, const char *tag)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	fl_hdr_log_writer *w;
	check_err(fl_hdr_log_writer_new(out, NULL, &w));
	check_err(fl_hdr_log_write_comment(w, "[test log]"));
	check_err(fl_hdr_log_write_header(w, T0, base_ns));
	for (int i = 0; i < 3; i++) {
		fl_hdr *h = mk(1, 3600000000000, 3);
		fl_hdr_record(h, 1000000 * (i + 1));
		fl_hdr_set_start_ns(h, T0 + i * INT64_C(1500000000));
		fl_hdr_set_end_ns(h, T0 + (i + 1) * INT64_C(1500000000));
		check_err(fl_hdr_log_write(w, h, i == 1 ? tag : NULL));
		fl_hdr_free(h);
	}
	fl_hdr_log_writer_free(w);
	fclose(out);
	return text;
}

FL_TEST(hlog_writer_lines)
{
	char *text = write_log(T0, "phase2");
	static const char want[] =
		"#[test log]\n#[Histogram log format version 1.3]\n"
		"#[StartTime: 1700000000.000 (seconds since epoch), Tue Nov 14 22:13:20 UTC 2023]\n"
		"#[BaseTime: 1700000000.000 (seconds since epoch)]\n"
		"\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n"
		"0.000,1.500,1.000,HISTFAAA";
	if (strncmp(text, want, strlen(want)) != 0)
		FL_FAIL("log starts differently:\n%s", text);
	ASSERT(strstr(text, "\nTag=phase2,1.500,1.500,2.001,HISTFAAA"));
	ASSERT(strstr(text, "\n3.000,1.500,3.000,HISTFAAA")); /* 3000319 ns */
	size_t n = strlen(text);
	ASSERT(text[n - 1] == '\n' && text[n - 2] != '\n'); /* final newline, no blank */
	ASSERT(!strstr(text, "\n\n"));
	free(text);
	text = write_log(0, NULL); /* no BaseTime: absolute timestamps */
	ASSERT(!strstr(text, "BaseTime"));
	ASSERT(strstr(text, "\n1700000001.500,1.500,2.001,HISTFAAA"));
	free(text);
}

FL_TEST(hlog_writer_rejects_bad_tags)
{
	fl_hdr_log_writer *w;
	FILE *out = fopen("/dev/null", "w");
	check_err(fl_hdr_log_writer_new(out, NULL, &w));
	fl_hdr *h = mk(1, 1000, 2);
	static const char *bad[] = {"", "a,b", "a b", "a\rb", "a\nb"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		fl_err *err = fl_hdr_log_write_interval(w, h, 0, 1, bad[i]);
		ASSERT(fl_err_is(err, FL_ERR_INVAL));
		fl_err_drop(err);
	}
	char long_tag[FL_HDR_LOG_TAG_MAX + 2];
	memset(long_tag, 'x', sizeof long_tag - 1);
	long_tag[sizeof long_tag - 1] = '\0';
	ASSERT(!fl_hdr_log_tag_valid(long_tag));
	ASSERT(fl_hdr_log_tag_valid("ok-tag=1"));
	fl_err *err = fl_hdr_log_write_comment(w, "two\nlines");
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	struct fl_hdr_log_writer_opts o = {.compression_level = 11};
	fl_hdr_log_writer *w2 = NULL;
	err = fl_hdr_log_writer_new(out, &o, &w2);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	fl_hdr_free(h);
	fl_hdr_log_writer_free(w);
	fclose(out);
}

/* ------------------------------------------------------------------------
 * .hlog reader
 */

/* Reads all intervals of text; returns how many, fills starts/tags. */
static int read_all(const char *text, int64_t *starts, char tags[][16], fl_err **err_out)
{
	FILE *in = fmemopen((void *)(uintptr_t)text, strlen(text), "r");
	fl_hdr_log_reader *r;
	check_err(fl_hdr_log_reader_new(in, &r));
	int n = 0;
	fl_hdr_log_entry e;
	fl_err *err;
	while (!(err = fl_hdr_log_read(r, &e)) && e.hist) {
		if (starts)
			starts[n] = e.start_ns;
		if (tags)
			snprintf(tags[n], 16, "%.15s", e.tag);
		fl_hdr_free(e.hist);
		n++;
	}
	fl_hdr_log_reader_free(r);
	fclose(in);
	if (err_out)
		*err_out = err;
	else
		check_err(err);
	return n;
}

FL_TEST(hlog_round_trip)
{
	char *text = write_log(T0, "phase2");
	int64_t starts[8];
	char tags[8][16];
	ASSERT_EQ(read_all(text, starts, tags, NULL), 3);
	ASSERT_EQ(starts[0], T0);
	ASSERT_EQ(starts[1], T0 + INT64_C(1500000000));
	ASSERT_STR_EQ(tags[0], "");
	ASSERT_STR_EQ(tags[1], "phase2");
	FILE *in = fmemopen(text, strlen(text), "r");
	fl_hdr *m;
	check_err(fl_hdr_log_read_merged(in, NULL, &m));
	ASSERT_EQ(fl_hdr_total_count(m), 2); /* untagged only */
	ASSERT_EQ(fl_hdr_start_ns(m), T0);
	fl_hdr_free(m);
	rewind(in);
	check_err(fl_hdr_log_read_merged(in, "phase2", &m));
	ASSERT_EQ(fl_hdr_total_count(m), 1);
	fl_hdr_free(m);
	rewind(in);
	check_err(fl_hdr_log_read_merged(in, "nope", &m));
	ASSERT_NULL(m);
	fclose(in);
	free(text);
	text = write_log(0, NULL);
	ASSERT_EQ(read_all(text, starts, NULL, NULL), 3);
	ASSERT_EQ(starts[2], T0 + INT64_C(3000000000));
	free(text);
}

/* One interval payload (compressed base64 of a histogram holding 42). */
static char *payload(void)
{
	fl_hdr *h = mk(1, 1000000, 2);
	fl_hdr_record(h, 42);
	char *b64;
	check_err(fl_hdr_encode_base64(h, 9, &b64));
	fl_hdr_free(h);
	return b64;
}

/* tmpl with every '@' replaced by p. */
static char *fmt_log(const char *tmpl, const char *p)
{
	char *out = malloc(strlen(tmpl) * (strlen(p) + 1) + 1), *o = out;
	for (; *tmpl; tmpl++) {
		if (*tmpl == '@') {
			strcpy(o, p);
			o += strlen(p);
		} else {
			*o++ = *tmpl;
		}
	}
	*o = '\0';
	return out;
}

FL_TEST(hlog_reader_tolerance)
{
	char *p = payload(), *text;
	int64_t starts[8];
	/* CRLF, a blank line, extra comments, C's legend and max column, no
	 * final newline. */
	text = fmt_log(
		"#[Histogram log format version 1.2]\r\n"
		"#[StartTime: 1700000000.000 (seconds since epoch), x]\r\n"
		"#[BaseTime: 1700000000.000 (seconds since epoch)]\r\n"
		"\"StartTimestamp\",\"EndTimestamp\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\r\n"
		"0.000,1.000,42.0,@\r\n"
		"\r\n#[another comment]\r\n"
		"1.000,1.000,42.0,@",
		p);
	ASSERT_EQ(read_all(text, starts, NULL, NULL), 2);
	ASSERT_EQ(starts[1], T0 + 1000000000);
	free(text);
	/* A trailing blank line is fine too. */
	text = fmt_log("0.000,1.000,0.0,@\n\n", p);
	ASSERT_EQ(read_all(text, NULL, NULL, NULL), 1);
	free(text);
	free(p);
}

FL_TEST(hlog_reader_base_time_inference)
{
	char *p = payload(), *text;
	int64_t starts[4];
	/* No BaseTime, timestamps more than a year before StartTime: relative. */
	text = fmt_log("#[StartTime: 1700000000.000 (seconds since epoch), x]\n"
		       "5.250,1.000,0.0,@\n",
		       p);
	ASSERT_EQ(read_all(text, starts, NULL, NULL), 1);
	ASSERT_EQ(starts[0], T0 + 5250000000);
	free(text);
	/* No BaseTime, absolute timestamps: base 0. */
	text = fmt_log("#[StartTime: 1700000000.000 (seconds since epoch), x]\n"
		       "1700000003.000,1.000,0.0,@\n",
		       p);
	ASSERT_EQ(read_all(text, starts, NULL, NULL), 1);
	ASSERT_EQ(starts[0], T0 + 3000000000);
	free(text);
	/* Nothing at all: StartTime is the first timestamp, base 0. */
	text = fmt_log("1700000009.125,1.000,0.0,@\n", p);
	FILE *in = fmemopen(text, strlen(text), "r");
	fl_hdr_log_reader *r;
	check_err(fl_hdr_log_reader_new(in, &r));
	fl_hdr_log_entry e;
	check_err(fl_hdr_log_read(r, &e));
	ASSERT_EQ(e.start_ns, T0 + 9125000000);
	ASSERT_EQ(e.end_ns, T0 + 10125000000);
	ASSERT_EQ(e.line, 1);
	ASSERT_EQ(fl_hdr_log_reader_start_ns(r), T0 + 9125000000);
	ASSERT_EQ(fl_hdr_log_reader_base_ns(r), 0);
	fl_hdr_free(e.hist);
	check_err(fl_hdr_log_read(r, &e));
	ASSERT_NULL(e.hist);
	fl_hdr_log_reader_free(r);
	fclose(in);
	free(text);
	free(p);
}

static void expect_bad_log(const char *text, const char *want)
{
	fl_err *err;
	read_all(text, NULL, NULL, &err);
	expect_corrupt(err, want);
}

FL_TEST(hlog_reader_errors_name_the_line)
{
	char *p = payload(), *text;
	const char *head = "#[StartTime: 1700000000.000 (seconds since epoch), x]\n";
	char buf[4096];
#define BAD(line, want)                                                                 \
	do {                                                                            \
		snprintf(buf, sizeof buf, "%s0.000,1.000,0.0,%s\n%s\n", head, p, line); \
		expect_bad_log(buf, want);                                              \
	} while (0)
	BAD("x.000,1.000,0.0,HISTFAAA", "hlog line 3: start timestamp is not a number");
	BAD("1.000,abc,0.0,HISTFAAA", "hlog line 3: interval length");
	BAD("1.000,-1.000,0.0,HISTFAAA", "hlog line 3: interval length");
	BAD("1.000,1.000,0.0", "hlog line 3: expected start,length,max,histogram");
	BAD("1.000,1.000,0.0,HISTFAAA,extra", "hlog line 3: expected start,length,max");
	BAD("Tag=,1.000,1.000,0.0,HISTFAAA", "hlog line 3: tag is empty");
	BAD("1.000,1.000,0.0,HIST*AAA",
	    "hlog line 3: histogram payload: base64: invalid character");
	BAD("1.000,1.000,0.0,HISTFAAAAAAAAAAAeNoBAgA=", "hlog line 3: histogram payload");
	BAD("99999999999999999999.0,1.000,0.0,HISTFAAA", "hlog line 3: start timestamp");
#undef BAD
	expect_bad_log("#[StartTime: soon (seconds since epoch)]\n",
		       "hlog line 1: StartTime is not");
	expect_bad_log("#[BaseTime: ]\n", "hlog line 1: BaseTime is not");
	/* Corrupt zlib inside valid base64. */
	text = fmt_log("0.000,1.000,0.0,@\n", p);
	char *comma = strrchr(text, ',');
	comma[14] = comma[14] == 'A' ? 'B' : 'A';
	comma[15] = comma[15] == 'A' ? 'B' : 'A';
	expect_bad_log(text, "hlog line 1: histogram payload");
	free(text);
	static const char nul_line[] = "0.000,1.000\0,0.0,x\n";
	FILE *in = fmemopen((void *)(uintptr_t)nul_line, sizeof nul_line - 1, "r");
	fl_hdr_log_reader *r;
	check_err(fl_hdr_log_reader_new(in, &r));
	fl_hdr_log_entry e;
	expect_corrupt(fl_hdr_log_read(r, &e), "hlog line 1: line contains a NUL byte");
	fl_hdr_log_reader_free(r);
	fclose(in);
	free(p);
}

FL_TEST_MAIN(FL_CASE(hlog_writer_lines), FL_CASE(hlog_writer_rejects_bad_tags),
	     FL_CASE(hlog_round_trip), FL_CASE(hlog_reader_tolerance),
	     FL_CASE(hlog_reader_base_time_inference), FL_CASE(hlog_reader_errors_name_the_line))
