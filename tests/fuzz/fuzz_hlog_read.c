/*
 * fuzz_hlog_read.c - libFuzzer target for the .hlog reader.
 *
 * Reads the input as an interval log until the end or the first error,
 * merging every interval like a report would. Any crash, leak, overflow
 * or undefined behaviour is a bug; errors are expected and ignored.
 * Built by run.sh with clang -fsanitize=fuzzer,address,undefined.
 */
#include <fl/hdr.h>
#include <fl/hdr_log.h>

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	FILE *in = fmemopen((void *)(uintptr_t)data, size, "r");
	if (!in)
		return 0;
	fl_hdr_log_reader *r;
	if (fl_hdr_log_reader_new(in, &r) != NULL) {
		fclose(in);
		return 0;
	}
	fl_hdr *sum = NULL;
	fl_hdr_log_entry e;
	fl_err *err;
	while (!(err = fl_hdr_log_read(r, &e)) && e.hist) {
		if (!sum) {
			sum = e.hist;
			continue;
		}
		(void)fl_hdr_add(sum, e.hist);
		fl_hdr_free(e.hist);
	}
	fl_err_drop(err);
	if (sum)
		(void)fl_hdr_value_at_percentile(sum, 50);
	fl_hdr_free(sum);
	fl_hdr_log_reader_free(r);
	fclose(in);
	return 0;
}
