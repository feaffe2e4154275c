/*
 * report_set.c - the report directory written as a set (fl_report_write_all).
 *
 * Problem: report.json, junit.xml, summary.md and index.html describe one
 * run. Renamed into place one by one, a SIGKILL between two renames leaves
 * a new report.json beside an old index.html.
 *
 * Design: the set is built in a staging directory beside the target,
 * "<parent>/.<name>.set-<pid>-XXXXXX", which gets hard links to the
 * target's other files, the four new files (each written and fsynced as
 * any report file) and the target's mode; renameat2(RENAME_EXCHANGE) then
 * swaps the two directories in one step, and the staging name, which now
 * holds the old set, is removed. A reader opening the files by path sees
 * the old set or the new one, never a mix. A kill before the exchange
 * leaves the old set and a staging directory, after it the new set and a
 * staging directory holding the old one; every write_all first removes
 * the staging directories of dead writers (by the pid in the name; never
 * a live writer's), and every report file open removes the dead writers'
 * "<file>.tmp.<pid>.XXXXXX" (report_file.c).
 *
 * Chosen over a symbolic link swapped between generations (the target
 * stays a plain directory, as users and CI artifact steps expect) and over
 * a manifest written last (it protects only readers that check it, not a
 * browser or a CI step reading junit.xml).
 *
 * The set is written file by file as before (each file whole, the set not)
 * when the exchange cannot be had: the target holds something other than
 * regular files (a subdirectory cannot be hard-linked), is the working
 * directory or one of its parents, is a mount point, or its file system
 * lacks RENAME_EXCHANGE or hard links.
 *
 * Layering: above report_file.c and the four writers' emitters.
 */
#define _GNU_SOURCE /* renameat2, RENAME_EXCHANGE */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fl/report.h>

#include "fl_alloc_internal.h"
#include "report_internal.h"

static const struct {
	const char *name;
	fl__report_emit_fn emit;
} outs[] = {{"report.json", fl__report_emit_json},
	    {"junit.xml", fl__report_emit_junit},
	    {"summary.md", fl__report_emit_markdown},
	    {"index.html", fl__report_emit_html}};
enum { NOUTS = sizeof(outs) / sizeof(outs[0]) };

struct set {
	char dir[PATH_MAX]; /* the target, resolved */
	char parent[PATH_MAX];
	char prefix[NAME_MAX]; /* ".<name>.set-" */
	char staging[PATH_MAX + 32];
};

static fl_err *write_each(const fl_report *r, const char *dir)
{
	char path[PATH_MAX + 32];
	fl_err *err = NULL;
	for (size_t i = 0; i < NOUTS && !err; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, outs[i].name) >= (int)sizeof(path))
			return fl_err_wrap(FL_ERR_INVAL, "directory name too long: %s", dir);
		err = fl__report_write_with(r, path, outs[i].emit);
	}
	return err;
}

/* One of the set, or a temporary file of one ("<name>.tmp.<pid>.XXXXXX"). */
static bool is_output(const char *name)
{
	for (size_t i = 0; i < NOUTS; i++) {
		size_t n = strlen(outs[i].name);
		if (strncmp(name, outs[i].name, n) == 0 &&
		    (name[n] == '\0' || strncmp(name + n, ".tmp.", 5) == 0))
			return true;
	}
	return false;
}

/* Removes the regular files of dir, then dir (which fails if anything
 * else is left in it: nothing but what this file put there goes). */
static void unlink_file(int dfd, const char *name, const struct stat *st, void *arg)
{
	(void)arg;
	if (S_ISREG(st->st_mode))
		unlinkat(dfd, name, 0);
}

static void remove_dir(int pfd, const char *name)
{
	fl__report_dir_each(openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
			    unlink_file, NULL);
	unlinkat(pfd, name, AT_REMOVEDIR);
}

static void remove_stale_dir(int pfd, const char *name, const struct stat *st, void *prefix)
{
	if (S_ISDIR(st->st_mode) && st->st_uid == geteuid() &&
	    fl__report_stale_name(name, prefix, '-'))
		remove_dir(pfd, name);
}

/* Removes the staging directories of dead writers of this target. */
static void sweep_stale(const struct set *s)
{
	fl__report_dir_each(open(s->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC), remove_stale_dir,
			    (void *)s->prefix);
}

/* True if dir holds only regular files and is not the working directory
 * or above it. */
static bool can_exchange(const struct set *s)
{
	char cwd[PATH_MAX];
	size_t n = strlen(s->dir);
	if (strcmp(s->dir, "/") == 0 || (getcwd(cwd, sizeof(cwd)) && strncmp(cwd, s->dir, n) == 0 &&
					 (cwd[n] == '\0' || cwd[n] == '/')))
		return false;
	DIR *d = opendir(s->dir);
	if (!d)
		return false;
	bool ok = true;
	struct dirent *de;
	struct stat st;
	while (ok && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			ok = fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			     S_ISREG(st.st_mode);
	closedir(d);
	return ok;
}

/* Hard-links the target's files other than the set and its temporary
 * files into the staging directory. Returns 0 or an errno. */
static int link_others(const struct set *s)
{
	int sfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sfd < 0)
		return errno;
	int dfd = open(s->staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd < 0 ? NULL : fdopendir(sfd);
	int rc = d ? 0 : errno;
	struct dirent *de;
	while (!rc && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    !is_output(de->d_name) && linkat(sfd, de->d_name, dfd, de->d_name, 0) != 0)
			rc = errno;
	if (d)
		closedir(d);
	else
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

static fl_err *resolve(const char *dir, struct set *s)
{
	if (!realpath(dir, s->dir))
		return fl_err_errno(errno, "open %s", dir);
	struct stat st;
	if (stat(s->dir, &st) != 0)
		return fl_err_errno(errno, "open %s", dir);
	if (!S_ISDIR(st.st_mode))
		return fl_err_errno(ENOTDIR, "open %s", dir);
	char *slash = strrchr(s->dir, '/');
	const char *name = slash + 1;
	snprintf(s->parent, sizeof(s->parent), "%.*s", slash == s->dir ? 1 : (int)(slash - s->dir),
		 s->dir);
	if (snprintf(s->prefix, sizeof(s->prefix), ".%s.set-", name) >= (int)sizeof(s->prefix))
		s->prefix[0] = '\0'; /* a name near NAME_MAX: no staging name fits */
	return NULL;
}

/* Builds the set in a staging directory and swaps it in. Returns NULL on
 * success; *fallback true when the exchange cannot be had here (nothing
 * changed in the target). */
static fl_err *exchange(const fl_report *r, struct set *s, bool *fallback)
{
	struct stat st;
	*fallback = true;
	if (!s->prefix[0] || stat(s->dir, &st) != 0 || !can_exchange(s) ||
	    snprintf(s->staging, sizeof(s->staging), "%s/%s%ld-XXXXXX", s->parent, s->prefix,
		     (long)getpid()) >= (int)sizeof(s->staging) ||
	    !mkdtemp(s->staging))
		return NULL;
	int pfd = open(s->parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *base = strrchr(s->staging, '/') + 1;
	fl_err *err = NULL;
	if (pfd < 0) {
		rmdir(s->staging); /* empty still */
		return NULL;
	}
	if (link_others(s) != 0 || chmod(s->staging, st.st_mode & 07777) != 0)
		goto out;
	if ((err = write_each(r, s->staging)))
		goto out;
	if (renameat2(AT_FDCWD, s->staging, AT_FDCWD, s->dir, RENAME_EXCHANGE) != 0) {
		if (errno != EINVAL && errno != ENOSYS && errno != EXDEV && errno != EBUSY &&
		    errno != EPERM && errno != ENOTSUP)
			err = fl_err_errno(errno, "rename into place %s", s->dir);
		goto out;
	}
	*fallback = false;
	if (fsync(pfd) != 0 && errno != EINVAL)
		err = fl_err_errno(errno, "fsync directory of %s", s->dir);
out:
	remove_dir(pfd, base); /* the partial new set, or the old set */
	close(pfd);
	if (err)
		*fallback = false;
	return err;
}

fl_err *fl_report_write_all(const fl_report *r, const char *dir)
{
	if (!r || !dir)
		return fl_err_wrap(FL_ERR_INVAL, "fl_report_write_all: NULL argument");
	struct set *s = fl__calloc(1, sizeof(*s));
	if (!s)
		return FL_ERR_NOMEM;
	fl_err *err = resolve(dir, s);
	bool fallback = false;
	if (!err) {
		if (s->prefix[0])
			sweep_stale(s);
		err = exchange(r, s, &fallback);
	}
	if (!err && fallback)
		err = write_each(r, dir);
	free(s);
	return err;
}
