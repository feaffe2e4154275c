/* fl_test.c - case dispatch and failure reporting for the test harness. */
#include "fl_test.h"

#include <stdarg.h>

void fl_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: FAIL: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	abort();
}

int64_t fl_test_time_scale(void)
{
	const char *s = getenv("FL_TEST_TIME_SCALE");
	long long v = s ? atoll(s) : 1;
	return v > 0 ? v : 1;
}

bool fl_test_virtual_time(void)
{
	const char *s = getenv("FAULTLINE_BACKEND");
	return s && strcmp(s, "sim") == 0;
}

int64_t fl_test_hang_ns(void) { return INT64_C(60000000000) * fl_test_time_scale(); }

const char *fl_test_backend(void)
{
	const char *s = getenv("FL_TEST_BACKEND");
	return s && *s ? s : NULL;
}

static int run_case(const fl_test_case *c)
{
	fprintf(stderr, "[ RUN  ] %s\n", c->name);
	c->fn();
	fprintf(stderr, "[  OK  ] %s\n", c->name);
	return 0;
}

int fl_test_main(int argc, char **argv, const fl_test_case *cases)
{
	if (argc < 2) {
		int n = 0;
		for (const fl_test_case *c = cases; c->name; c++, n++)
			run_case(c);
		fprintf(stderr, "%d passed, 0 failed\n", n);
		return 0;
	}
	if (strcmp(argv[1], "--list") == 0) {
		for (const fl_test_case *c = cases; c->name; c++)
			printf("%s\n", c->name);
		return 0;
	}
	for (const fl_test_case *c = cases; c->name; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return run_case(c);
	fprintf(stderr, "no such test case: %s\n", argv[1]);
	return 2;
}
