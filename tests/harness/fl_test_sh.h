/*
 * fl_test_sh.h - running a command line from a test, for the tests that
 * drive the built programs (faultline, users' binaries) as a user would.
 */
#ifndef FL_TEST_SH_H
#define FL_TEST_SH_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "fl_test.h"

/* Runs cmd through sh with standard error joined to standard output; the
 * first cap - 1 bytes of that output go into out (NUL-terminated), the
 * rest is read and dropped. Returns the exit status; a command killed by
 * a signal fails the test. */
static inline int fl_test_sh(const char *cmd, char *out, size_t cap)
{
	char full[4096];
	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	FILE *p = popen(full, "r");
	ASSERT(p != NULL);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	while (n == cap - 1 && fread(full, 1, sizeof(full), p) > 0)
		; /* drain the rest */
	int st = pclose(p);
	ASSERT(WIFEXITED(st));
	return WEXITSTATUS(st);
}

/* Runs "bin args[i]" for each of the n argument lines and fails the test,
 * naming the line and showing its output, unless each exits 2 (usage). */
static inline void fl_test_usage_errors(const char *bin, const char *const *args, size_t n)
{
	char cmd[1024], out[8192];
	for (size_t i = 0; i < n; i++) {
		snprintf(cmd, sizeof(cmd), "%s %s", bin, args[i]);
		int rc = fl_test_sh(cmd, out, sizeof(out));
		if (rc != 2)
			FL_FAIL("`%s`: exit %d, expected 2:\n%s", args[i], rc, out);
	}
}

/* A fresh directory under $TMPDIR (or /tmp), its path into buf. */
static inline void fl_test_tmpdir(char *buf, size_t cap)
{
	const char *t = getenv("TMPDIR");
	snprintf(buf, cap, "%s/fl-test-XXXXXX", t && *t ? t : "/tmp");
	ASSERT(mkdtemp(buf) != NULL);
}

#endif
