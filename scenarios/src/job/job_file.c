/*
 * job_file.c - job files from disk, and the questions asked of a parsed
 * set (count, find). Above job.c, which parses and frees (fl_jobs_parse,
 * fl_jobs_free).
 *
 * A file is opened without blocking and checked before it is read: only a
 * regular file up to FL__JOB_FILE_MAX bytes is a job file (a FIFO would
 * wait for a writer forever, /dev/zero would be read until memory ran
 * out), and a NUL byte makes it binary.
 */
#include "job_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fl_alloc_internal.h"

fl_err *fl_jobs_load(const char *path, fl_jobs **out)
{
	if (!path || !out)
		return fl_err_wrap(FL_ERR_INVAL, "fl_jobs_load: NULL argument");
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return fl_err_errno(errno, "%s", path);
	struct stat st;
	fl_err *bad = NULL;
	if (fstat(fd, &st) != 0)
		bad = fl_err_errno(errno, "%s", path);
	else if (!S_ISREG(st.st_mode))
		bad = fl_err_wrap(FL_ERR_INVAL, "%s: not a regular file", path);
	else if (st.st_size > FL__JOB_FILE_MAX)
		bad = fl_err_wrap(FL_ERR_INVAL, "%s: larger than %d MiB", path,
				  FL__JOB_FILE_MAX >> 20);
	if (bad) {
		close(fd);
		return bad;
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		int e = errno;
		close(fd);
		return fl_err_errno(e, "%s", path);
	}
	char *text = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len > FL__JOB_FILE_MAX) { /* it grew while we read */
			free(text);
			fclose(f);
			return fl_err_wrap(FL_ERR_INVAL, "%s: larger than %d MiB", path,
					   FL__JOB_FILE_MAX >> 20);
		}
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			char *t = fl__realloc(text, cap);
			if (!t) {
				free(text);
				fclose(f);
				return fl_err_wrap(FL_ERR_NOMEM, "%s", path);
			}
			text = t;
		}
		size_t k = fread(text + len, 1, cap - len - 1, f);
		len += k;
		if (k == 0)
			break;
	}
	int rerr = ferror(f) ? errno : 0;
	fclose(f);
	if (rerr) {
		free(text);
		return fl_err_errno(rerr ? rerr : EIO, "%s", path);
	}
	text[len] = '\0';
	if (strlen(text) != len) {
		free(text);
		return fl_err_wrap(FL_ERR_INVAL, "%s: binary file (NUL byte)", path);
	}
	fl_err *err = fl_jobs_parse(text, path, out);
	free(text);
	return err;
}

size_t fl_jobs_count(const fl_jobs *jobs) { return jobs ? jobs->n : 0; }

const fl_scenario *fl_jobs_scenario(const fl_jobs *jobs, size_t i)
{
	return jobs && i < jobs->n ? &jobs->jobs[i]->scn : NULL;
}

const fl_scenario *fl_jobs_find(const fl_jobs *jobs, const char *name)
{
	for (size_t i = 0; jobs && name && i < jobs->n; i++)
		if (strcmp(jobs->jobs[i]->name, name) == 0)
			return &jobs->jobs[i]->scn;
	return NULL;
}
