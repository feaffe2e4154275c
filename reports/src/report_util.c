/*
 * report_util.c - text helpers shared by the writers, and atomic files.
 *
 * Atomic files: a writer never touches its target until the content is
 * complete and on disk. fl_report_file_open creates "<path>.tmp.XXXXXX" with
 * mkstemp in the target's own directory (rename is only atomic within one
 * file system), the emitter writes through a stdio stream, and commit runs
 * fflush, fsync, fclose, rename and finally fsyncs the directory so the
 * rename itself survives a crash. Any failure unlinks the temporary file
 * and leaves the target as it was: absent, or the previous complete version.
 *
 * Text helpers: UTF-8 decoding (so XML and JSON escapers can replace bytes
 * that are not valid UTF-8 instead of emitting invalid documents), XML/HTML
 * escaping, shortest round-trip formatting of doubles, and human formats
 * for durations, SI quantities and ISO 8601 times.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <fl/report.h>

#include "report_priv.h"

struct fl_report_file {
	char *path; /* the target, owned */
	char *tmp;  /* the temporary file, owned */
	FILE *fp;   /* open on tmp */
};

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

size_t fl__report_utf8_next(const char *str, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t c = s[0];
	size_t n;
	uint32_t min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL terminator */
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static const char *xml_entity(unsigned char c)
{
	switch (c) {
	case '&':
		return "&amp;";
	case '<':
		return "&lt;";
	case '>':
		return "&gt;";
	case '"':
		return "&quot;";
	case '\'':
		return "&#39;";
	default:
		return NULL;
	}
}

void fl__report_xml_escape(FILE *out, const char *s)
{
	static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
	while (*s) {
		unsigned char c = (unsigned char)*s;
		const char *ent = xml_entity(c);
		uint32_t cp;
		size_t n = fl__report_utf8_next(s, &cp);
		if (ent)
			fputs(ent, out);
		else if (n == 0 || (cp < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
			 cp == 0xfffe || cp == 0xffff)
			fputs(repl, out);
		else
			fwrite(s, 1, n, out);
		s += n ? n : 1;
	}
}

char *fl__report_fmt_double(double d, char *buf, size_t cap)
{
	if (!isfinite(d)) {
		snprintf(buf, cap, "null");
		return buf;
	}
	if (d == trunc(d) && fabs(d) < 9007199254740992.0) { /* 2^53: exact */
		snprintf(buf, cap, "%.0f", d);
		return buf;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return buf;
}

char *fl__report_fmt_si(double v, char *buf, size_t cap)
{
	static const char *const sfx[] = {"", "k", "M", "G", "T", "P"};
	double a = fabs(v);
	size_t u = 0;
	while (a >= 999.5 && u + 1 < sizeof(sfx) / sizeof(sfx[0])) {
		a /= 1000.0;
		u++;
	}
	snprintf(buf, cap, "%s%.3g%s", v < 0 ? "-" : "", a, sfx[u]);
	return buf;
}

char *fl_report_format_ns(double ns, bool ascii, char *buf, size_t cap)
{
	static const char *const unit[] = {"ns", "us", "ms", "s"};
	double a = fabs(ns);
	size_t u = 0;
	if (!isfinite(ns)) {
		snprintf(buf, cap, "-");
		return buf;
	}
	while (a >= 999.5 && u < 3) {
		a /= 1000.0;
		u++;
	}
	int dec = u == 0 || a >= 99.95 ? 0 : a >= 9.995 ? 1 : 2;
	const char *un = u == 1 && !ascii ? "\xc2\xb5s" : unit[u];
	snprintf(buf, cap, "%s%.*f %s", ns < 0 ? "-" : "", dec, a, un);
	return buf;
}

char *fl__report_fmt_ns_g(double ns, bool ascii, char *buf, size_t cap)
{
	static const char *const unit[] = {"ns", "us", "ms", "s"};
	double a = ns;
	size_t u = 0;
	if (ns == 0) {
		snprintf(buf, cap, "0");
		return buf;
	}
	while (fabs(a) >= 999.95 && u < 3) {
		a /= 1000.0;
		u++;
	}
	snprintf(buf, cap, "%.3g %s", a, u == 1 && !ascii ? "\xc2\xb5s" : unit[u]);
	return buf;
}

char *fl_report_format_time(int64_t unix_ns, char *buf, size_t cap)
{
	int64_t sec = unix_ns / 1000000000, rem = unix_ns % 1000000000;
	if (rem < 0) {
		sec--;
		rem += 1000000000;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	char day[24];
	if (!gmtime_r(&t, &tm) ||
	    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(day, sizeof(day), "1970-01-01T00:00:00");
	snprintf(buf, cap, "%s.%03dZ", day, (int)(rem / 1000000));
	return buf;
}

char *fl_report_format_num(double v, char *buf, size_t cap)
{
	if (isfinite(v) && v == floor(v) && fabs(v) < 1e15)
		snprintf(buf, cap, "%.0f", v);
	else
		snprintf(buf, cap, "%.6g", v);
	return buf;
}
