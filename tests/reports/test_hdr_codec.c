/* fl-test-labels: memcheck */
/*
 * test_hdr_codec.c - the HDR encodings: varints, V2/V1/V0 and their round
 * trips, Java number formatting, and one test per kind of bad input (each
 * must fail cleanly with a clear message). The .hlog files are in
 * test_hdr_log.c.
 */
#include <fl/hdr.h>
#include <fl/hdr_log.h>

#include "hdr_codec_internal.h" /* white-box: varints */
#include "fl_test.h"
#include "fl_test_hdr.h"
#include "hdr_test_util.h"

#include <zlib.h>

/* ------------------------------------------------------------------------
 * Encoding
 */

FL_TEST(varint_examples)
{
	static const struct {
		int64_t n;
		const char *hex;
	} t[] = {
		{0, "00"},
		{1, "02"},
		{-1, "01"},
		{-4, "07"},
		{147, "a602"},
		{647, "8e0a"},
		{INT64_C(50000000000), "80d0dbc3f402"},
		{INT64_MAX, "feffffffffffffffff"},
		{INT64_MIN, "ffffffffffffffffff"},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		uint8_t buf[9];
		char hex[19];
		size_t n = fl__hdr_put_varint(buf, t[i].n);
		for (size_t k = 0; k < n; k++)
			sprintf(hex + 2 * k, "%02x", buf[k]);
		ASSERT_STR_EQ(hex, t[i].hex);
		const uint8_t *p = buf;
		int64_t back;
		ASSERT(fl__hdr_get_varint(&p, buf + n, &back));
		ASSERT_EQ(back, t[i].n);
		ASSERT(p == buf + n);
		p = buf;
		ASSERT(!fl__hdr_get_varint(&p, buf + n - 1, &back)); /* truncated */
	}
}

/* Encodes h and returns the payload bytes as hex (after the header). */
static void payload_hex(const fl_hdr *h, char *out)
{
	uint8_t *b;
	size_t n;
	check_err(fl_hdr_encode(h, &b, &n));
	for (size_t i = 40; i < n; i++)
		sprintf(out + 2 * (i - 40), "%02x", b[i]);
	out[2 * (n - 40)] = '\0';
	free(b);
}

FL_TEST(payload_zero_runs)
{
	fl_hdr *h = mk(1, 1000, 1);
	char hex[64];
	payload_hex(h, hex);
	ASSERT_STR_EQ(hex, "00"); /* empty: one lone zero */
	fl_hdr_record(h, 0);
	fl_hdr_record(h, 2);
	payload_hex(h, hex);
	ASSERT_STR_EQ(hex, "020002"); /* a lone zero is 00, as Java */
	fl_hdr_record(h, 5);
	payload_hex(h, hex);
	ASSERT_STR_EQ(hex, "0200020302"); /* run of two zeros is -2 (03) */
	fl_hdr_free(h);
}

static void round_trip(int64_t lo, int64_t hi, int sig, int n, uint64_t seed)
{
	fl_hdr *h = mk(lo, hi, sig), *d, *c;
	for (int i = 0; i < n; i++) {
		uint64_t r = rng_next(&seed);
		int64_t v = (int64_t)(r % (uint64_t)hi) >> (r % 40);
		fl_hdr_record_n(h, v, (int64_t)(r >> 60) + 1);
	}
	uint8_t *raw, *raw2, *z;
	size_t raw_len, raw2_len, z_len;
	check_err(fl_hdr_encode(h, &raw, &raw_len));
	check_err(fl_hdr_decode(raw, raw_len, &d));
	fl_test_assert_same_hdr("decoded vs written", h, d);
	ASSERT_EQ(fl_hdr_sigfigs(d), sig);
	ASSERT_EQ(fl_hdr_lowest(d), lo);
	ASSERT_EQ(fl_hdr_highest(d), hi);
	check_err(fl_hdr_encode(d, &raw2, &raw2_len)); /* byte-identical again */
	ASSERT_EQ(raw_len, raw2_len);
	ASSERT(memcmp(raw, raw2, raw_len) == 0);
	check_err(fl_hdr_encode_compressed(h, 9, &z, &z_len));
	check_err(fl_hdr_decode(z, z_len, &c));
	fl_test_assert_same_hdr("decoded vs written", h, c);
	free(raw);
	free(raw2);
	free(z);
	fl_hdr_free(c);
	fl_hdr_free(d);
	fl_hdr_free(h);
}

FL_TEST(round_trip_sigfigs_1_to_5)
{
	for (int sig = 1; sig <= 5; sig++) {
		round_trip(1, INT64_C(3600000000000), sig, 20000, (uint64_t)sig);
		round_trip(1000, INT64_C(10000000000), sig, 3000, (uint64_t)sig + 10);
		round_trip(1, 2, sig, 10, (uint64_t)sig + 20);
	}
	round_trip(1, INT64_MAX, 3, 5000, 99);
	round_trip(7, INT64_C(1) << 40, 2, 100, 98);
}

FL_TEST(base64_round_trip)
{
	fl_hdr *h = mk(1, 3600000000, 3), *d;
	for (int v = 0; v < 1000; v++)
		fl_hdr_record(h, v * 997);
	for (int level = -1; level <= 9; level++) {
		char *text;
		check_err(fl_hdr_encode_base64(h, level, &text));
		ASSERT(strncmp(text, "HISTFAAA", 8) == 0);
		check_err(fl_hdr_decode_base64(text, strlen(text), &d));
		fl_test_assert_same_hdr("decoded vs written", h, d);
		fl_hdr_free(d);
		/* Padding is optional on input, as for Java's decoder. */
		size_t n = strlen(text);
		while (text[n - 1] == '=')
			n--;
		check_err(fl_hdr_decode_base64(text, n, &d));
		fl_hdr_free(d);
		free(text);
	}
	char *text;
	fl_err *err = fl_hdr_encode_base64(h, 10, &text);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	fl_hdr_free(h);
}

/* ------------------------------------------------------------------------
 * Older encodings, built by hand
 */

static size_t put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
	p[3] = (uint8_t)v;
	return 4;
}

static size_t put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	return 4 + put32(p + 4, (uint32_t)v);
}

static size_t put_word(uint8_t *p, int64_t v, int ws)
{
	for (int i = ws - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
	return (size_t)ws;
}

/* A V1 block (40-byte header) with counts[0..n) as ws-byte words. */
static size_t make_v1(uint8_t *b, const int64_t *counts, int n, int ws)
{
	size_t o = put32(b, 0x1c849301u | (uint32_t)ws << 4);
	o += put32(b + o, (uint32_t)(n * ws));
	o += put32(b + o, 0);
	o += put32(b + o, 2);
	o += put64(b + o, 1);
	o += put64(b + o, 1000000);
	o += put64(b + o, UINT64_C(0x3ff0000000000000));
	for (int i = 0; i < n; i++)
		o += put_word(b + o, counts[i], ws);
	return o;
}

/* A V0 block (32-byte header, payload to the end). */
static size_t make_v0(uint8_t *b, const int64_t *counts, int n, int ws)
{
	size_t o = put32(b, 0x1c849308u | (uint32_t)ws << 4);
	o += put32(b + o, 2);
	o += put64(b + o, 1);
	o += put64(b + o, 1000000);
	o += put64(b + o, 0);
	for (int i = 0; i < n; i++)
		o += put_word(b + o, counts[i], ws);
	return o;
}

/* Wraps a block in the compressed form with the given outer cookie. */
static size_t wrap_zlib(uint8_t *out, uint32_t cookie, const uint8_t *block, size_t n)
{
	uLongf zlen = compressBound((uLong)n);
	ASSERT_EQ(compress2(out + 8, &zlen, block, (uLong)n, 6), Z_OK);
	put32(out, cookie);
	put32(out + 4, (uint32_t)zlen);
	return 8 + zlen;
}

static void check_old(const uint8_t *buf, size_t n)
{
	fl_hdr *h;
	check_err(fl_hdr_decode(buf, n, &h));
	ASSERT_EQ(fl_hdr_sigfigs(h), 2);
	ASSERT_EQ(fl_hdr_count_at_index(h, 0), 3);
	ASSERT_EQ(fl_hdr_count_at_index(h, 2), 300);
	ASSERT_EQ(fl_hdr_count_at_index(h, 5), 7);
	ASSERT_EQ(fl_hdr_total_count(h), 310);
	ASSERT_EQ(fl_hdr_max(h), 5);
	ASSERT_EQ(fl_hdr_min(h), 0);
	fl_hdr_free(h);
}

FL_TEST(decode_v1_and_v0)
{
	static const int64_t counts[] = {3, 0, 300, 0, 0, 7, 0};
	uint8_t block[256], z[512];
	for (int ws = 2; ws <= 8; ws *= 2) {
		size_t n = make_v1(block, counts, 7, ws);
		check_old(block, n);
		check_old(z, wrap_zlib(z, 0x1c849302u | (uint32_t)ws << 4, block, n));
		n = make_v0(block, counts, 7, ws);
		check_old(block, n);
		check_old(z, wrap_zlib(z, 0x1c849309u | (uint32_t)ws << 4, block, n));
	}
}

/* ------------------------------------------------------------------------
 * Bad input: one test per kind, each with a message that says what.
 */

FL_TEST(bad_cookie)
{
	uint8_t b[64] = {0};
	expect_decode_fails(b, 3, "too short for a cookie");
	put32(b, 0xdeadbeef);
	expect_decode_fails(b, sizeof b, "unknown cookie 0xdeadbeef");
	put32(b, 0x0c72124e);
	expect_decode_fails(b, sizeof b, "DoubleHistogram");
	put32(b, 0x1c849301); /* V1 with word size 0 */
	expect_decode_fails(b, sizeof b, "invalid word size");
}

/* A valid V2 block of a small histogram into b; returns its length. */
static size_t small_v2(uint8_t *b)
{
	fl_hdr *h = mk(1, 1000000, 2);
	fl_hdr_record_n(h, 5, 3);
	fl_hdr_record(h, 900);
	uint8_t *raw;
	size_t n;
	check_err(fl_hdr_encode(h, &raw, &n));
	memcpy(b, raw, n);
	free(raw);
	fl_hdr_free(h);
	return n;
}

FL_TEST(bad_lengths)
{
	uint8_t b[512];
	size_t n = small_v2(b);
	expect_decode_fails(b, 39, "too short for the 40-byte header");
	expect_decode_fails(b, n - 1, "payload length");
	b[n] = 0;
	expect_decode_fails(b, n + 1, "1 trailing bytes");
	put32(b + 4, 0x7fffffff);
	expect_decode_fails(b, n, "payload length 2147483647 exceeds");
	put32(b + 4, 0x80000000u);
	expect_decode_fails(b, n, "payload length -2147483648");
}

FL_TEST(bad_configuration)
{
	uint8_t b[512];
	size_t n = small_v2(b);
	put32(b + 12, 9);
	expect_decode_fails(b, n, "significant figures 9");
	n = small_v2(b);
	put64(b + 16, 0);
	expect_decode_fails(b, n, "configuration invalid");
	n = small_v2(b);
	put64(b + 24, 1);
	expect_decode_fails(b, n, "configuration invalid");
}

FL_TEST(bad_payload)
{
	uint8_t b[512];
	size_t n = small_v2(b);
	b[n - 1] |= 0x80; /* last varint now claims another byte */
	expect_decode_fails(b, n, "truncated varint");
	n = small_v2(b);
	n = 40 + fl__hdr_put_varint(b + 40, -1000000); /* zero run past the end */
	put32(b + 4, (uint32_t)(n - 40));
	expect_decode_fails(b, n, "runs past");
	n = small_v2(b);
	fl_hdr *probe = mk(1, 1000000, 2);
	int32_t len = fl_hdr_counts_len(probe);
	fl_hdr_free(probe);
	size_t o = 40 + fl__hdr_put_varint(b + 40, -(len - 1));
	o += fl__hdr_put_varint(b + o, 1); /* the last slot */
	o += fl__hdr_put_varint(b + o, 1); /* one past the end */
	put32(b + 4, (uint32_t)(o - 40));
	char want[64];
	snprintf(want, sizeof want, "past the %d slots", len);
	expect_decode_fails(b, o, want);
	o = 40 + fl__hdr_put_varint(b + 40, INT64_MAX);
	o += fl__hdr_put_varint(b + o, INT64_MAX);
	put32(b + 4, (uint32_t)(o - 40));
	expect_decode_fails(b, o, "total count overflows");
	static const int64_t neg[] = {1, -5};
	o = make_v1(b, neg, 2, 4);
	expect_decode_fails(b, o, "negative count -5");
}

FL_TEST(bad_compressed_wrapper)
{
	fl_hdr *h = mk(1, 1000000, 2);
	fl_hdr_record(h, 77);
	uint8_t *z, b[1024];
	size_t n;
	check_err(fl_hdr_encode_compressed(h, 6, &z, &n));
	memcpy(b, z, n);
	free(z);
	fl_hdr_free(h);
	expect_decode_fails(b, 7, "too short for the compressed header");
	expect_decode_fails(b, n - 1, "compressed length");
	b[n] = 0;
	expect_decode_fails(b, n + 1, "1 trailing bytes after the compressed data");
	put32(b + 4, 0xffffffffu);
	expect_decode_fails(b, n, "compressed length -1");
	put32(b + 4, (uint32_t)(n - 8));
	uint8_t bad[1024];
	memcpy(bad, b, n);
	for (size_t i = 10; i < n; i++)
		bad[i] ^= 0x5a;
	expect_decode_fails(bad, n, "zlib");
	memcpy(bad, b, n);
	put32(bad + 4, (uint32_t)(n - 8 - 6)); /* cut the stream short */
	expect_decode_fails(bad, n - 6, "truncated");
	memcpy(bad, b, 8);
	put32(bad + 4, 20);
	memset(bad + 8, 0x00, 20);
	expect_decode_fails(bad, 28, "corrupt zlib data");
}

FL_TEST(bad_inflated_content)
{
	uint8_t block[512], z[1024];
	size_t n = small_v2(block);
	/* Inner cookie does not match the wrapper. */
	put32(block, 0x1c849301u | 0x20);
	expect_decode_fails(z, wrap_zlib(z, 0x1c849314, block, n), "inner cookie");
	/* The stream holds more than the header claims. */
	n = small_v2(block);
	block[n] = 0;
	expect_decode_fails(z, wrap_zlib(z, 0x1c849314, block, n + 1), "longer than its header");
	/* And less. */
	expect_decode_fails(z, wrap_zlib(z, 0x1c849314, block, n - 1),
			    "inflated 44 bytes, the header claims 45");
	/* An absurd length claim is refused before anything is allocated. */
	put32(block + 4, 0x7ffffff0);
	expect_decode_fails(z, wrap_zlib(z, 0x1c849314, block, n), "out of range");
	/* Only part of a header. */
	expect_decode_fails(z, wrap_zlib(z, 0x1c849314, block, 20), "ends inside the header");
}

FL_TEST(bad_base64)
{
	fl_hdr *h = NULL;
	expect_corrupt(fl_hdr_decode_base64("HISTFAAA%AAA", 12, &h),
		       "invalid character 0x25 at offset 8");
	expect_corrupt(fl_hdr_decode_base64("HISTF", 5, &h), "invalid length");
	expect_corrupt(fl_hdr_decode_base64("HIST=AAA", 8, &h), "invalid character 0x3d");
	expect_corrupt(fl_hdr_decode_base64("HISTFA=", 7, &h), "not a multiple of 4");
	expect_corrupt(fl_hdr_decode_base64("", 0, &h), "too short");
	expect_corrupt(fl_hdr_decode_base64("AAAAAAAAAAAA", 12, &h), "unknown cookie");
	ASSERT_NULL(h);
}

/* ------------------------------------------------------------------------
 * Java number formatting
 */

static void expect_fixed(double v, int dec, const char *want)
{
	char buf[128];
	size_t n = fl_hdr_format_fixed(buf, sizeof buf, v, dec);
	ASSERT_STR_EQ(buf, want);
	ASSERT_EQ(n, strlen(want));
}

FL_TEST(java_number_formatting)
{
	expect_fixed(0.125, 2, "0.13"); /* glibc: 0.12 */
	expect_fixed(1.0005, 3, "1.001");
	expect_fixed(12.3455, 3, "12.346");
	expect_fixed(99.97802734375 / 100, 12, "0.999780273438");
	expect_fixed(9.9995, 3, "10.000");
	expect_fixed(0.0005, 3, "0.001");
	expect_fixed(0.0004, 3, "0.000");
	expect_fixed(0.5, 0, "1");
	expect_fixed(0.0, 3, "0.000");
	expect_fixed(-1.25, 1, "-1.3");
	expect_fixed(1e20, 2, "100000000000000000000.00");
	expect_fixed(5000.898, 3, "5000.898");
	expect_fixed(1.0 / 0.0, 2, "Infinity");
	expect_fixed(-1.0 / 0.0, 2, "-Infinity");
	expect_fixed(0.0 / 0.0, 2, "NaN");
	char small[4];
	ASSERT_EQ(fl_hdr_format_fixed(small, sizeof small, 123.456, 2), 6);
	ASSERT_STR_EQ(small, "123");
}

FL_TEST(percentiles_print_options)
{
	fl_hdr *h = mk(1, 3600000000000, 3);
	fl_hdr_record(h, 1500000);
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	check_err(fl_hdr_percentiles_print(h, out, 5, 1000.0, FL_HDR_TEXT_CLASSIC));
	fl_err *err = fl_hdr_percentiles_print(h, out, 0, 1.0, FL_HDR_TEXT_CLASSIC);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	err = fl_hdr_percentiles_print(h, out, 5, 0.0, FL_HDR_TEXT_CSV);
	ASSERT(fl_err_is(err, FL_ERR_INVAL));
	fl_err_drop(err);
	fclose(out);
	ASSERT_EQ(fl_hdr_max(h), 1500159);
	ASSERT(strstr(text, "    1500.159 0.000000000000          1           1.00\n"));
	ASSERT(strstr(text, "    1500.159 1.000000000000          1\n#[Mean    ="));
	free(text);
	fl_hdr_free(h);
}

FL_TEST_MAIN(FL_CASE(varint_examples), FL_CASE(payload_zero_runs),
	     FL_CASE(round_trip_sigfigs_1_to_5), FL_CASE(base64_round_trip),
	     FL_CASE(decode_v1_and_v0), FL_CASE(bad_cookie), FL_CASE(bad_lengths),
	     FL_CASE(bad_configuration), FL_CASE(bad_payload), FL_CASE(bad_compressed_wrapper),
	     FL_CASE(bad_inflated_content), FL_CASE(bad_base64), FL_CASE(java_number_formatting),
	     FL_CASE(percentiles_print_options))
