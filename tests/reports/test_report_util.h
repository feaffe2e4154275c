/*
 * test_report_util.h - helpers shared by the run report tests: scratch
 * directories, reading files back, and fixtures.
 */
#ifndef TEST_REPORT_UTIL_H
#define TEST_REPORT_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fl/err.h>
#include <fl/report.h>

#include "fl_test.h"

/* Fails the test with err's text when err is not NULL. */
#define ASSERT_OK(expr)                                                   \
	do {                                                              \
		fl_err *ok_err_ = (expr);                                 \
		if (ok_err_) {                                            \
			char ok_buf_[512];                                \
			fl_err_format(ok_err_, ok_buf_, sizeof(ok_buf_)); \
			FL_FAIL("%s failed: %s", #expr, ok_buf_);         \
		}                                                         \
	} while (0)

#define ASSERT_CONTAINS(hay, needle)                                         \
	do {                                                                 \
		if (!strstr((hay), (needle)))                                \
			FL_FAIL("expected \"%s\" in:\n%s", (needle), (hay)); \
	} while (0)

#define ASSERT_LACKS(hay, needle)                                                 \
	do {                                                                      \
		const char *lk_at_ = strstr((hay), (needle));                     \
		if (lk_at_)                                                       \
			FL_FAIL("unexpected \"%s\" at: %.80s", (needle), lk_at_); \
	} while (0)

/* A new empty scratch directory (malloc'ed path). */
static inline char *scratch_dir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[512];
	snprintf(tmpl, sizeof(tmpl), "%s/fl-report-test-XXXXXX", base && *base ? base : "/tmp");
	char *d = mkdtemp(tmpl);
	ASSERT_NOT_NULL(d);
	char *copy = strdup(d);
	ASSERT_NOT_NULL(copy);
	return copy;
}

/* The number of entries in dir (not . and ..); sets *tmp if any name
 * contains ".tmp.". */
static inline int dir_entries(const char *dir, bool *tmp)
{
	DIR *d = opendir(dir);
	ASSERT_NOT_NULL(d);
	int n = 0;
	*tmp = false;
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		*tmp |= strstr(e->d_name, ".tmp.") != NULL;
	}
	closedir(d);
	return n;
}

/* Removes dir and the files in it, then frees the path. */
static inline void scratch_free(char *dir)
{
	DIR *d = opendir(dir);
	ASSERT_NOT_NULL(d);
	for (struct dirent *e; (e = readdir(d));) {
		char p[1024];
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		ASSERT_EQ(unlink(p), 0);
	}
	closedir(d);
	ASSERT_EQ(rmdir(dir), 0);
	free(dir);
}

/* dir/name in a static buffer (one at a time). */
static inline const char *path_in(const char *dir, const char *name)
{
	static char p[1024];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

/* The whole file as a malloc'ed NUL-terminated string. */
static inline char *slurp_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		FL_FAIL("open %s: %s", path, strerror(errno));
	ASSERT_EQ(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	ASSERT_GE(n, 0);
	rewind(f);
	char *b = malloc((size_t)n + 1);
	ASSERT_NOT_NULL(b);
	ASSERT_EQ(fread(b, 1, (size_t)n, f), n);
	b[n] = '\0';
	fclose(f);
	return b;
}

/* Writes text to path (not atomically: a fixture). */
static inline void spit_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	ASSERT_NOT_NULL(f);
	ASSERT_EQ(fputs(text, f) >= 0, 1);
	ASSERT_EQ(fclose(f), 0);
}

/* A report named name with fixed metadata, so outputs are reproducible. */
static inline fl_report *fixed_report(const char *name)
{
	struct fl_report_opts o = {.seed = 42,
				   .fault_plan = "plan",
				   .backend = "threads",
				   .git_rev = "abc123",
				   .start_unix_ns = 1700000000123000000LL};
	fl_report *r = NULL;
	ASSERT_OK(fl_report_new(name, &o, &r));
	ASSERT_OK(fl_report_set_host(r, "host1", "Test CPU", 4, "Linux 6.1 x86_64"));
	ASSERT_OK(fl_report_set_duration(r, 10000000000LL));
	return r;
}

/* Stats with the given percentiles (p50, p99, p99.9 and max set). */
static inline fl_report_stats mk_stats(int64_t count, int64_t p50, int64_t p99, int64_t p999,
				       int64_t max)
{
	fl_report_stats st = {.count = count,
			      .min = p50 / 2,
			      .max = max,
			      .mean = (double)p50 * 1.1,
			      .stddev = (double)p50 / 3};
	int64_t pct[FL_REPORT_NPCT] = {p50, (p50 + p99) / 2, p99, p999, (p999 + max) / 2, max};
	memcpy(st.pct, pct, sizeof(pct));
	return st;
}

#endif
