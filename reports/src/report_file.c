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
 * Layering: below report.c and the writers, above report_text.c (it copies
 * the path with fl__report_strdup); it calls nothing else of the library.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fl/report.h>

#include "report_internal.h"

struct fl_report_file {
	char *path; /* the target, owned */
	char *tmp;  /* the temporary file, owned */
	FILE *fp;   /* open on tmp */
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

static void file_release(fl_report_file *f)
{
	free(f->tmp);
	free(f->path);
	free(f);
}

fl_err *fl_report_file_open(const char *path, fl_report_file **out)
{
	static const char suffix[] = ".tmp.XXXXXX";
	size_t n = strlen(path);
	fl_err *err = FL_ERR_NOMEM;
	fl_report_file *f = calloc(1, sizeof(*f));
	if (!f)
		return FL_ERR_NOMEM;
	f->path = fl__report_strdup(path);
	f->tmp = malloc(n + sizeof(suffix));
	if (!f->path || !f->tmp)
		goto fail1;
	memcpy(f->tmp, path, n);
	memcpy(f->tmp + n, suffix, sizeof(suffix));
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

FILE *fl_report_file_stream(fl_report_file *f)
{
	return f->fp;
}

void fl_report_file_abort(fl_report_file *f)
{
	if (!f)
		return;
	if (f->fp)
		fclose(f->fp);
	unlink(f->tmp);
	file_release(f);
}

/* fsyncs the directory holding path, so a completed rename is durable. */
static int sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
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

fl_err *fl__report_write_with(const fl_report *r, const char *path,
			      fl__report_emit_fn emit)
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
