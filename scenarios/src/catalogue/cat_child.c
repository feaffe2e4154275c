/*
 * cat_child.c - child processes for the kill/restart exercises (tasks 12
 * and 17), and the scratch directories and effect logs they share.
 *
 * A kill must be a real one: the process dies with SIGKILL in the middle
 * of its work, and a restarted process finds only what reached the disk.
 * The scenario cannot fork (the runtime's threads would not follow), so it
 * spawns its own executable again (/proc/self/exe, whatever binary links
 * this library: faultline or a test) with FAULTLINE_CAT_CHILD in the
 * environment. A constructor in the file of each kind of child (cat_saga.c,
 * cat_cursor.c) asks fl__cat_child_of whether this process is its child
 * before main runs, does the child's part and exits; in any other process
 * it does nothing. This file names no kind: the scenarios call down into
 * it (spawn, effect logs), never the other way.
 *
 * Effect logs: one line per side effect, appended with O_APPEND (a line
 * written before a SIGKILL is in the file for the next process). Actions
 * consult the log to stay idempotent, and the scenario reads it back to
 * count what happened exactly once, twice or never.
 */
#define _GNU_SOURCE /* environ */
#include "cat_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "fl_alloc_internal.h"

#define CHILD_ENV "FAULTLINE_CAT_CHILD"

extern char **environ;

bool fl__cat_child_of(const char *kind, char *dir, size_t cap, long *arg)
{
	const char *spec = getenv(CHILD_ENV);
	if (!spec)
		return false;
	char k[16] = "", d[4096] = "";
	long a = 0;
	if (sscanf(spec, "%15s %4095s %ld", k, d, &a) != 3)
		_exit(2);
	if (strcmp(k, kind) != 0)
		return false;
	/* The child's work is sequential and runs on this thread before main:
	 * the threads backend, whatever the parent ran (sim would refuse a
	 * runtime call from a thread it did not start). */
	fl_err *err = fl_sched_init(&(struct fl_sched_opts){.backend = "threads"});
	if (err) {
		fl_err_print(stderr, err);
		_exit(2);
	}
	snprintf(dir, cap, "%s", d);
	*arg = a;
	return true;
}

typedef struct spawn_job {
	char spec[4200];
	pid_t pid;
	int status;
	int err;
} spawn_job;

static void spawn_run(void *arg)
{
	spawn_job *j = arg;
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = fl__calloc(n + 2, sizeof(*env));
	char *var = fl__malloc(strlen(CHILD_ENV) + strlen(j->spec) + 2);
	if (!env || !var) {
		j->err = ENOMEM;
		goto out;
	}
	sprintf(var, "%s=%s", CHILD_ENV, j->spec);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], CHILD_ENV "=", strlen(CHILD_ENV) + 1) != 0)
			env[k++] = environ[i];
	env[k++] = var;
	env[k] = NULL;
	char *argv[] = {(char *)"faultline-child", NULL};
	j->err = posix_spawn(&j->pid, "/proc/self/exe", NULL, NULL, argv, env);
	if (j->err == 0) {
		while (waitpid(j->pid, &j->status, 0) < 0) {
			if (errno != EINTR) {
				j->err = errno;
				break;
			}
		}
	}
out:
	free(env);
	free(var);
}

fl_err *fl__cat_spawn(const char *kind, const char *dir, long arg, int *sig)
{
	spawn_job j = {0};
	snprintf(j.spec, sizeof(j.spec), "%s %s %ld", kind, dir, arg);
	fl_blocking(spawn_run, &j); /* spawn and waitpid block */
	if (j.err)
		return fl_err_errno(j.err, "spawn %s child", kind);
	if (WIFSIGNALED(j.status)) {
		*sig = WTERMSIG(j.status);
		return NULL;
	}
	*sig = 0;
	if (WEXITSTATUS(j.status) != 0)
		return fl_err_wrap(FL_ERR_SYSTEM, "%s child exited with status %d", kind,
				   WEXITSTATUS(j.status));
	return NULL;
}

/* ---- scratch directories ----------------------------------------------------- */

fl_err *fl__cat_tmpdir(const char *what, char *dir, size_t cap)
{
	const char *base = getenv("TMPDIR");
	if (!base || !base[0])
		base = "/tmp";
	if ((size_t)snprintf(dir, cap, "%s/faultline-%s-XXXXXX", base, what) >= cap)
		return fl_err_wrap(FL_ERR_INVAL, "scratch directory name too long");
	if (!mkdtemp(dir))
		return fl_err_errno(errno, "mkdtemp %s", dir);
	return NULL;
}

void fl__cat_rmdir(const char *dir)
{
	static const char *const files[] = {"store.db", "store.db-wal", "store.db-shm",
					    "store.db-journal", "effects.log"};
	char path[4200];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		(void)unlink(path);
	}
	(void)rmdir(dir);
}

/* ---- effect logs -------------------------------------------------------------------- */

typedef struct log_job {
	const char *dir;
	const char *line;
	char *buf; /* read: the file's text */
	size_t cap;
	int err;
} log_job;

static void log_append_run(void *arg)
{
	log_job *j = arg;
	char path[4200];
	snprintf(path, sizeof(path), "%s/effects.log", j->dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0) {
		j->err = errno;
		return;
	}
	size_t len = strlen(j->line);
	char line[512];
	snprintf(line, sizeof(line), "%s\n", j->line);
	if (write(fd, line, len + 1) != (ssize_t)(len + 1))
		j->err = errno ? errno : EIO;
	close(fd);
}

fl_err *fl__cat_log_add(const char *dir, const char *line)
{
	log_job j = {.dir = dir, .line = line};
	fl_blocking(log_append_run, &j);
	return j.err ? fl_err_errno(j.err, "effect log in %s", dir) : NULL;
}

static void log_read_run(void *arg)
{
	log_job *j = arg;
	char path[4200];
	snprintf(path, sizeof(path), "%s/effects.log", j->dir);
	j->buf[0] = '\0';
	FILE *f = fopen(path, "re");
	if (!f) {
		j->err = errno == ENOENT ? 0 : errno;
		return;
	}
	size_t n = fread(j->buf, 1, j->cap - 1, f);
	j->buf[n] = '\0';
	fclose(f);
}

fl_err *fl__cat_log_read(const char *dir, char *buf, size_t cap)
{
	log_job j = {.dir = dir, .buf = buf, .cap = cap};
	fl_blocking(log_read_run, &j);
	return j.err ? fl_err_errno(j.err, "effect log in %s", dir) : NULL;
}

long fl__cat_log_count(const char *text, const char *line)
{
	long n = 0;
	size_t len = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p += len)
		if ((p == text || p[-1] == '\n') && p[len] == '\n')
			n++;
	return n;
}
