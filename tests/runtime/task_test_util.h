/*
 * task_test_util.h - shared helpers for the group and panic tests: a live
 * count baseline, a channel-backed semaphore that parks through the seam,
 * a hang bound, and running one case in a fresh child process (for cases
 * that must abort).
 */
#ifndef FL_TASK_TEST_UTIL_H
#define FL_TASK_TEST_UTIL_H

#include <fl/chan.h>
#include <fl/task.h>

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fl_test.h"

static fl_stats base;

static inline void baseline(void) { base = fl_stats_get(); }

/* Everything the test created is gone (tasks were checked right after
 * wait, where it matters). */
static inline void assert_baseline(void)
{
	fl_stats now = fl_stats_get();
	ASSERT_EQ(now.tasks, base.tasks);
	ASSERT_EQ(now.groups, base.groups);
	ASSERT_EQ(now.chans, base.chans);
	ASSERT_EQ(now.ctxs, base.ctxs);
	ASSERT_EQ(now.errs, base.errs);
}

static inline void check(fl_err *err)
{
	if (err) {
		fl_err_print(stderr, err);
		FL_FAIL("unexpected error");
	}
}

/*
 * A counting semaphore on a buffered channel, so a blocked test task parks
 * through the scheduler seam (and frees its worker under M:N backends)
 * instead of blocking an OS thread.
 */
typedef struct sem {
	fl_chan *ch;
} sem;

static inline void sem_init_(sem *s)
{
	if (fl_chan_new(sizeof(char), 64, &(struct fl_chan_opts){.name = "test-sem"}, &s->ch))
		FL_FAIL("fl_chan_new");
}

static inline void sem_destroy_(sem *s) { fl_chan_free(s->ch); }

static inline void sem_post_(sem *s)
{
	char token = 1;
	ASSERT_EQ(fl_chan_send(s->ch, &token, NULL, FL_TRY), FL_OK);
}

static inline void sem_wait_(sem *s)
{
	ASSERT_EQ(fl_chan_recv(s->ch, NULL, NULL, FL_FOREVER), FL_OK);
}

/* A bound that only turns a hang into a failure. */
static inline int64_t hang_deadline(void) { return fl_deadline_in(fl_test_hang_ns()); }

/*
 * Runs case `name` of this binary in a fresh child process (fork + exec, so
 * the child starts with no runtime threads) with FL_TEST_CHILD=1 in its
 * environment. Collects its stderr into buf; returns its wait status.
 */
static inline int run_child(const char *name, char *buf, size_t cap)
{
	extern char **environ;
	static char child_env[] = "FL_TEST_CHILD=1";
	char exe[4096], arg1[128];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ASSERT_GT(n, 0);
	exe[n] = '\0';
	snprintf(arg1, sizeof(arg1), "%s", name);
	size_t ne = 0;
	while (environ[ne])
		ne++;
	char **env = calloc(ne + 2, sizeof(*env));
	ASSERT_NOT_NULL(env);
	memcpy(env, environ, ne * sizeof(*env));
	env[ne] = child_env;
	char *argv[] = {exe, arg1, NULL};
	int fds[2];
	ASSERT_EQ(pipe(fds), 0);
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core);
		dup2(fds[1], 2);
		close(fds[0]);
		close(fds[1]);
		execve(exe, argv, env);
		_exit(127);
	}
	free(env);
	close(fds[1]);
	size_t len = 0;
	ssize_t r;
	while ((r = read(fds[0], buf + len, cap - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = '\0';
	close(fds[0]);
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	return status;
}

static inline bool in_child(void) { return getenv("FL_TEST_CHILD") != NULL; }

static inline void assert_aborted_with(int status, const char *out, const char *needle)
{
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
		FL_FAIL("child did not abort (status 0x%x); stderr:\n%s", status, out);
	if (!strstr(out, needle))
		FL_FAIL("child stderr lacks \"%s\":\n%s", needle, out);
}

#endif
