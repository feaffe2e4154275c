/*
 * pat_test_util.h - helpers shared by the pattern tests: a temporary
 * directory for SQLite files (mkdtemp under TMPDIR, removed with its
 * files), and path building.
 */
#ifndef PAT_TEST_UTIL_H
#define PAT_TEST_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fl_test.h"

typedef struct pat_tmp {
	char dir[512];
} pat_tmp;

static inline void pat_tmp_init(pat_tmp *t)
{
	const char *base = getenv("TMPDIR");
	snprintf(t->dir, sizeof t->dir, "%s/fl-patterns-XXXXXX", base && *base ? base : "/tmp");
	ASSERT_NOT_NULL(mkdtemp(t->dir));
}

/* path = dir/name into buf. */
static inline const char *pat_tmp_path(const pat_tmp *t, const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s", t->dir, name);
	return buf;
}

static inline void pat_tmp_destroy(pat_tmp *t)
{
	DIR *d = opendir(t->dir);
	ASSERT_NOT_NULL(d);
	struct dirent *de;
	char p[1024];
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof p, "%s/%s", t->dir, de->d_name);
		ASSERT_EQ(unlink(p), 0);
	}
	closedir(d);
	ASSERT_EQ(rmdir(t->dir), 0);
}

/* The one-line text of err in a static buffer (tests are single-case
 * processes; not for use from several tasks at once). */
static inline const char *pat_errtext(const fl_err *err)
{
	static char buf[2048];
	fl_err_format(err, buf, sizeof buf);
	return buf;
}

#define ASSERT_CONTAINS(hay, needle)                                                       \
	do {                                                                               \
		const char *h_ = (hay), *n_ = (needle);                                    \
		if (!h_ || !strstr(h_, n_))                                                \
			FL_FAIL("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_); \
	} while (0)

#endif
