/*
 * fuzz_hdr_decode.c - libFuzzer target for the histogram decoders.
 *
 * Feeds the input to fl_hdr_decode (binary: V2/V1/V0, compressed or not)
 * and to fl_hdr_decode_base64. Whatever decodes must satisfy the codec's
 * invariants: re-encoding and decoding again gives identical counts and
 * identical bytes, and the queries and the percentile printer run cleanly.
 * Built by run.sh with clang -fsanitize=fuzzer,address,undefined.
 */
#include <fl/hdr.h>
#include <fl/hdr_log.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "invariant broken: %s\n", what);
		abort();
	}
}

static void exercise(fl_hdr *h)
{
	static FILE *devnull;
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	uint8_t *a, *b;
	size_t alen, blen;
	fl_hdr *d;
	must(fl_hdr_encode(h, &a, &alen) == NULL, "encode");
	must(fl_hdr_decode(a, alen, &d) == NULL, "decode of our encoding");
	must(fl_hdr_encode(d, &b, &blen) == NULL, "re-encode");
	must(alen == blen && memcmp(a, b, alen) == 0, "encoding is stable");
	must(fl_hdr_total_count(d) == fl_hdr_total_count(h), "total count");
	must(fl_hdr_max(d) == fl_hdr_max(h) && fl_hdr_min(d) == fl_hdr_min(h), "min/max");
	(void)fl_hdr_value_at_percentile(h, 99.9);
	(void)fl_hdr_stddev(h);
	fl_err_drop(fl_hdr_percentiles_print(h, devnull, 5, 1.0, FL_HDR_TEXT_CLASSIC));
	free(a);
	free(b);
	fl_hdr_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fl_hdr *h = NULL;
	fl_err *err = fl_hdr_decode(data, size, &h);
	if (!err) {
		exercise(h);
		fl_hdr_free(h);
	}
	fl_err_drop(err);
	err = fl_hdr_decode_base64((const char *)data, size, &h);
	if (!err) {
		exercise(h);
		fl_hdr_free(h);
	}
	fl_err_drop(err);
	return 0;
}
