/*
 * wrap_cost.c - the cost of `faultline wrap`'s interposition per call, a
 * plain program (no faultline headers) that bench/wrap/run.sh runs
 * unwrapped, wrapped with no plan, and wrapped with a plan that is armed
 * at the calls but never fires.
 *
 *   fl-wrap-cost N   N rounds of malloc(64)+free, then N writes of one
 *                    byte to /dev/null; prints
 *                    "malloc+free NS write NS" (ns per round, per call)
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 0;
	int fd = open("/dev/null", O_WRONLY);
	if (n <= 0 || fd < 0) {
		fprintf(stderr, "usage: fl-wrap-cost N (N > 0; needs /dev/null)\n");
		return 2;
	}
	/* volatile: the compiler may not pair the malloc with the free away */
	void *volatile p;
	double t0 = now_ns();
	for (long i = 0; i < n; i++) {
		p = malloc(64);
		free(p);
	}
	double t1 = now_ns();
	for (long i = 0; i < n; i++)
		if (write(fd, "x", 1) != 1)
			return 1;
	double t2 = now_ns();
	close(fd);
	printf("malloc+free %.1f write %.1f\n", (t1 - t0) / (double)n, (t2 - t1) / (double)n);
	return 0;
}
