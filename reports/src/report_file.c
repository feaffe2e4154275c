/*
 * report_file.c - atomic report files.
 *
 * A writer never touches its target until the content is complete and on
 * disk. fl_report_file_open creates "<path>.tmp.XXXXXX" with mkstemp in
 * the target's own directory (rename is only atomic within one file
 * system), the emitter writes through a stdio stream, and commit runs
 * fflush, fsync, fclose, rename and finally fsyncs the directory so the
 * rename itself survives a crash. Any failure unlinks the temporary file
 * and leaves the target as it was: absent, or the previous complete version.
 *
 * What is not a regular file is never replaced: "-" is standard output, a
 * FIFO or a device (/dev/stdout, a pipe to a CI step) is written in place,
 * and a symbolic link is followed, so its target is the file made anew
 * (the link stays a link).
 *
 * The temporary name carries the writer's pid ("<path>.tmp.<pid>.XXXXXX"):
 * a writer killed before its rename leaves the file behind, and the next
 * open of the same target removes those whose writer is dead, never a
 * live writer's (fl__report_stale_name). report_set.c builds on this to
 * write the four files of a run as one set.
 *
 * Layering: below report.c and the writers, above report_text.c (it copies
 * the path with fl__report_strdup); it calls nothing else of the library.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fl/report.h>

#include "report_internal.h"
#include "fl_alloc_internal.h"

struct fl_report_file {
	char *path;    /* the target, owned (a link's target, resolved) */
	char *tmp;     /* the temporary file, owned; NULL: writing in place */
	FILE *fp;      /* open on tmp, or on the target in place */
	bool borrowed; /* fp is stdout: flushed, never closed */
};

fl_err *fl_report_mkdir_p(const char *path)
{
	char buf[PATH_MAX];
	if (!path || snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return fl_err_wrap(FL_ERR_INVAL, "directory name too long: %s", path ? path : "");
	for (char *p = buf + 1;; p++) {
		bool end = *p == '\0';
		if (*p == '/' || end) {
			*p = '\0';
			if (mkdir(buf, 0777) != 0 && errno != EEXIST)
				return fl_err_errno(errno, "mkdir %s", buf);
			if (end)
				return NULL;
			*p = '/';
		}
	}
}

bool fl__report_stale_name(const char *name, const char *prefix, char sep)
{
	size_t n = strlen(prefix);
	if (strncmp(name, prefix, n) != 0 || !isdigit((unsigned char)name[n]))
		return false;
	char *end;
	errno = 0;
	long pid = strtol(name + n, &end, 10);
	if (errno || pid <= 0 || pid > INT_MAX || *end != sep || strlen(end + 1) != 6)
		return false;
	return pid != (long)getpid() && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

void fl__report_dir_each(int dfd,
			 void (*fn)(int dfd, const char *name, const struct stat *st, void *arg),
			 void *arg)
{
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	struct dirent *de;
	struct stat st;
	while ((de = readdir(d)))
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
			fn(dfd, de->d_name, &st, arg);
	closedir(d);
}

static void unlink_stale_tmp(int dfd, const char *name, const struct stat *st, void *prefix)
{
	if (S_ISREG(st->st_mode) && fl__report_stale_name(name, prefix, '.'))
		unlinkat(dfd, name, 0);
}

/* Removes "<base>.tmp.<pid>.XXXXXX" files of dead writers beside path. */
static void sweep_stale_tmp(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX], prefix[NAME_MAX + 8];
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
	if (snprintf(prefix, sizeof(prefix), "%s.tmp.", slash ? slash + 1 : path) >=
	    (int)sizeof(prefix))
		return;
	fl__report_dir_each(open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), unlink_stale_tmp,
			    prefix);
}

static void file_release(fl_report_file *f)
{
	free(f->tmp);
	free(f->path);
	free(f);
}

/* "-", a FIFO or a device: opened for writing where it is. */
static fl_err *open_in_place(fl_report_file *f, const char *path)
{
	if (strcmp(path, "-") == 0) {
		f->fp = stdout;
		f->borrowed = true;
		return NULL;
	}
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || !(f->fp = fdopen(fd, "w"))) {
		fl_err *err = fl_err_errno(errno, "open %s", path);
		if (fd >= 0)
			close(fd);
		return err;
	}
	return NULL;
}

fl_err *fl_report_file_open(const char *path, fl_report_file **out)
{
	char suffix[48];
	snprintf(suffix, sizeof(suffix), ".tmp.%ld.XXXXXX", (long)getpid());
	fl_err *err = FL_ERR_NOMEM;
	fl_report_file *f = fl__calloc(1, sizeof(*f));
	if (!f)
		return FL_ERR_NOMEM;
	struct stat st;
	bool exists = stat(path, &st) == 0; /* follows a link to what it names */
	if (strcmp(path, "-") == 0 || (exists && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))) {
		f->path = fl__report_strdup(path);
		if (!f->path || (err = open_in_place(f, path)))
			goto fail1;
		*out = f;
		return NULL;
	}
	char *real = NULL;
	struct stat lst;
	if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && exists)
		real = realpath(path, NULL); /* write the link's target anew */
	f->path = real ? real : fl__report_strdup(path);
	size_t n = f->path ? strlen(f->path) : 0, sn = strlen(suffix) + 1;
	f->tmp = fl__malloc(n + sn);
	if (!f->path || !f->tmp)
		goto fail1;
	memcpy(f->tmp, f->path, n);
	memcpy(f->tmp + n, suffix, sn);
	sweep_stale_tmp(f->path);
	int fd = mkstemp(f->tmp);
	if (fd < 0) {
		err = fl_err_errno(errno, "create %s", path);
		goto fail1;
	}
	(void)fchmod(fd, 0644); /* mkstemp's 0600 is too private for reports */
	f->fp = fdopen(fd, "w");
	if (!f->fp) {
		err = fl_err_errno(errno, "open %s", f->tmp);
		goto fail2;
	}
	*out = f;
	return NULL;
fail2:
	close(fd);
	unlink(f->tmp);
fail1:
	file_release(f);
	return err;
}

FILE *fl_report_file_stream(fl_report_file *f) { return f->fp; }

void fl_report_file_abort(fl_report_file *f)
{
	if (!f)
		return;
	if (f->borrowed)
		fflush(f->fp);
	else if (f->fp)
		fclose(f->fp);
	if (f->tmp)
		unlink(f->tmp);
	file_release(f);
}

/* Commit in place: what was written is flushed; nothing to rename. */
static fl_err *commit_in_place(fl_report_file *f)
{
	int bad = fflush(f->fp) != 0 || ferror(f->fp) ? (errno ? errno : EIO) : 0;
	if (!f->borrowed && fclose(f->fp) != 0 && !bad)
		bad = errno;
	fl_err *err = bad ? fl_err_errno(bad, "write %s", f->path) : NULL;
	file_release(f);
	return err;
}

/* fsyncs the directory holding path, so a completed rename is durable. */
static int sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? fl__strndup(path, (size_t)(slash - path) + 1) : fl__strdup(".");
	if (!dir)
		return ENOMEM;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return errno;
	int rc = fsync(fd) == 0 || errno == EINVAL ? 0 : errno;
	close(fd);
	return rc;
}

fl_err *fl_report_file_commit(fl_report_file *f)
{
	if (!f->tmp)
		return commit_in_place(f);
	const char *step = "write";
	int bad = 0;
	errno = 0;
	if (fflush(f->fp) != 0 || ferror(f->fp))
		bad = errno ? errno : EIO;
	else if ((step = "fsync", fsync(fileno(f->fp)) != 0))
		bad = errno;
	FILE *fp = f->fp;
	f->fp = NULL;
	if (fclose(fp) != 0 && !bad)
		step = "close", bad = errno;
	if (!bad && rename(f->tmp, f->path) != 0)
		step = "rename into place", bad = errno;
	if (!bad && (bad = sync_dir(f->path)) != 0)
		step = "fsync directory of";
	fl_err *err = bad ? fl_err_errno(bad, "%s %s", step, f->path) : NULL;
	if (err)
		unlink(f->tmp); /* harmless ENOENT after a successful rename */
	file_release(f);
	return err;
}

fl_err *fl__report_write_with(const fl_report *r, const char *path, fl__report_emit_fn emit)
{
	fl_report_file *f = NULL;
	fl_err *err = fl_report_file_open(path, &f);
	if (err)
		return err;
	err = emit(r, fl_report_file_stream(f));
	if (err) {
		fl_report_file_abort(f);
		return fl_err_wrap(err, "write %s", path);
	}
	return fl_report_file_commit(f);
}

fl_err *fl__report_stream_err(FILE *out, const char *what)
{
	errno = 0;
	if (fflush(out) == 0 && !ferror(out))
		return NULL;
	return fl_err_errno(errno ? errno : EIO, "write %s", what);
}
