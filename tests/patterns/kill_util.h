/*
 * kill_util.h - the pattern kill tests' additions to fl_test_kill.h: a
 * trial directory on tmpfs.
 */
#ifndef FL_KILL_UTIL_H
#define FL_KILL_UTIL_H

#include "fl_test_kill.h"
#include "pat_test_util.h"

/* A trial's directory: on tmpfs (/dev/shm) when there is one. A SIGKILL
 * loses nothing the page cache holds, so the stores' fsyncs (synchronous=
 * FULL) guard nothing here; on a disk they would cost most of the time. */
static inline void kill_tmp_init(pat_tmp *t)
{
	if (access("/dev/shm", W_OK | X_OK) != 0) {
		pat_tmp_init(t);
		return;
	}
	snprintf(t->dir, sizeof t->dir, "/dev/shm/fl-kill-XXXXXX");
	ASSERT_NOT_NULL(mkdtemp(t->dir));
}

#endif
