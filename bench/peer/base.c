/*
 * base.c - the lowest layer of fl-bench: the monotonic clock of every timed
 * region and the exits of a failed verification.
 *
 * Every other file of fl-bench may call these; they call only libc and the
 * runtime's error printing, so no file below the workloads has to reach up
 * into report.c or main.c for them.
 */
#include "peer_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int64_t flb_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void flb_must(bool ok, const char *fmt, ...)
{
	if (ok)
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("fl-bench: verification failed: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fflush(stdout);
	exit(1);
}

void flb_must_ok(fl_err *err, const char *what)
{
	if (!err)
		return;
	fprintf(stderr, "fl-bench: %s: ", what);
	fl_err_print(stderr, err);
	fflush(stdout);
	exit(1);
}
