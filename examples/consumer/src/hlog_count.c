/*
 * hlog_count.c - reads an HdrHistogram interval log (.hlog, as `bench run`
 * writes) with faultline's reader and prints how many values the tagged
 * intervals hold together, and their p99 in ns:
 *
 *   hlog-count run.hlog response      ->  4000 583679
 *
 * The consumer's check that a load's log decodes and holds what the run
 * measured. Exit 0, or 2 when the file cannot be read or holds no interval
 * with that tag.
 */
#include <fl/hdr.h>
#include <fl/hdr_log.h>

#include <inttypes.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: hlog-count FILE TAG\n");
		return 2;
	}
	FILE *in = fopen(argv[1], "r");
	if (!in) {
		perror(argv[1]);
		return 2;
	}
	fl_hdr *h = NULL;
	fl_err *err = fl_hdr_log_read_merged(in, argv[2], &h);
	fclose(in);
	if (err || !h) {
		fprintf(stderr, "hlog-count: %s: ", argv[1]);
		if (err)
			fl_err_print(stderr, err);
		else
			fprintf(stderr, "no interval tagged %s\n", argv[2]);
		fl_err_drop(err);
		return 2;
	}
	printf("%" PRId64 " %" PRId64 "\n", fl_hdr_total_count(h),
	       fl_hdr_value_at_percentile(h, 99.0));
	fl_hdr_free(h);
	return 0;
}
