/*
 * fifo.c - the remote control plane: line commands over a named pipe.
 *
 * Problem: an operator (or a test) wants to arm and disarm faults in a
 * running process without restarting it, and without opening a socket.
 *
 * Design: fl_fault_fifo_start makes a private directory (mkdtemp: 0700)
 * with two FIFOs (0600): "ctl" for commands, "reply" for answers. One
 * control thread - a plain OS thread, because it blocks in poll(2), which
 * must never stall a scheduler backend's workers - owns both ends:
 *   - ctl is opened O_RDWR, so the thread's own write end keeps read() from
 *     ever seeing end-of-file and clients' opens never block;
 *   - reply is opened O_RDWR | O_NONBLOCK, so writing never blocks and never
 *     raises SIGPIPE; a client opens it for reading and gets the lines in
 *     order. Replies nobody reads stay in the pipe buffer and are dropped
 *     when it is full.
 * Stopping writes one byte to a self-pipe the thread also polls. The
 * directory is named after the owner's pid, so that the next start can
 * remove the directories of processes killed before they could.
 *
 * Commands are lines of at most 4095 bytes ("arm <plan>", "disarm",
 * "list"); partial lines are buffered until their newline. The FIFO arms at
 * most one plan at a time (process-wide), owned by the control thread and
 * disarmed when the thread exits.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "fault_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fl_alloc_internal.h"

#define LINE_MAX_LEN 4096

struct fl_fault_fifo {
	char dir[PATH_MAX - 16]; /* immutable; room for "/reply" below */
	char ctl[PATH_MAX];      /* immutable */
	char reply[PATH_MAX];    /* immutable */
	int ctl_fd, reply_fd;    /* immutable while the thread runs */
	int stop_fd[2];          /* self-pipe: [0] polled, [1] written by stop */
	pthread_t thread;
	fl_fault_plan *plan;     /* the control thread's */
	char line[LINE_MAX_LEN]; /* the control thread's partial line */
	size_t len;              /* the control thread's */
	bool skipping;           /* the control thread's: dropping an over-long line */
};

/* ---- replies ------------------------------------------------------------------- */

/* Writes all of s (dropping what does not fit in the pipe buffer). */
static void put(struct fl_fault_fifo *f, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(f->reply_fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void reply(struct fl_fault_fifo *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void reply(struct fl_fault_fifo *f, const char *fmt, ...)
{
	char buf[LINE_MAX_LEN + 512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n < sizeof(buf) - 1 ? (size_t)n : sizeof(buf) - 2;
	buf[len++] = '\n';
	put(f, buf, len);
}

/* ---- commands ------------------------------------------------------------------ */

static void cmd_arm(struct fl_fault_fifo *f, const char *text)
{
	if (!*text) {
		reply(f, "error: 1:4: expected plan after 'arm'");
		return;
	}
	fl_fault_plan *p;
	fl_err *e = fl_fault_arm(text, 0, &p);
	if (e) {
		char msg[1024];
		fl_err_format(e, msg, sizeof(msg));
		fl_err_drop(e);
		reply(f, "error: %s", msg);
		return;
	}
	fl_fault_plan_free(f->plan);
	f->plan = p;
	reply(f, "ok plan %llu seed %llu", (unsigned long long)fl_fault_plan_id(p),
	      (unsigned long long)fl_fault_plan_seed(p));
}

static void cmd_list(struct fl_fault_fifo *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (m) {
		fl_fault_list(m);
		fclose(m);
		put(f, buf, len);
		free(buf);
	}
	reply(f, "ok");
}

/* Runs one command line (NUL-terminated, no newline). */
static void command(struct fl_fault_fifo *f, char *line)
{
	size_t n = strlen(line);
	while (n && isspace((unsigned char)line[n - 1]))
		line[--n] = '\0';
	char *w = line;
	while (isspace((unsigned char)*w))
		w++;
	if (!*w)
		return;
	size_t wl = strcspn(w, " \t");
	char *rest = w + wl;
	while (isspace((unsigned char)*rest))
		rest++;
	if (wl == 3 && memcmp(w, "arm", 3) == 0) {
		cmd_arm(f, rest);
	} else if (wl == 6 && memcmp(w, "disarm", 6) == 0 && !*rest) {
		reply(f, f->plan ? "ok" : "error: nothing armed");
		fl_fault_plan_free(f->plan);
		f->plan = NULL;
	} else if (wl == 4 && memcmp(w, "list", 4) == 0 && !*rest) {
		cmd_list(f);
	} else {
		reply(f, "error: 1:%d: unknown command '%.*s' (expected arm, disarm or list)",
		      (int)(w - line) + 1, (int)(wl > 64 ? 64 : wl), w);
	}
}

/* Splits the buffered bytes into lines and runs each complete one. */
static void consume(struct fl_fault_fifo *f)
{
	char *nl;
	while ((nl = memchr(f->line, '\n', f->len))) {
		*nl = '\0';
		if (!f->skipping)
			command(f, f->line);
		f->skipping = false;
		size_t used = (size_t)(nl - f->line) + 1;
		memmove(f->line, nl + 1, f->len - used);
		f->len -= used;
	}
	if (f->len == sizeof(f->line) - 1) {
		if (!f->skipping)
			reply(f, "error: command longer than %d bytes", LINE_MAX_LEN - 1);
		f->skipping = true;
		f->len = 0;
	}
}

static void *control_main(void *arg)
{
	struct fl_fault_fifo *f = arg;
	pthread_setname_np(pthread_self(), "fl-fault-fifo");
	for (;;) {
		struct pollfd pf[2] = {{f->ctl_fd, POLLIN, 0}, {f->stop_fd[0], POLLIN, 0}};
		if (poll(pf, 2, -1) < 0 && errno == EINTR)
			continue;
		if (pf[1].revents)
			break;
		ssize_t n = read(f->ctl_fd, f->line + f->len, sizeof(f->line) - 1 - f->len);
		if (n > 0) {
			f->len += (size_t)n;
			consume(f);
		}
	}
	fl_fault_plan_free(f->plan);
	f->plan = NULL;
	return NULL;
}

/* ---- lifecycle ----------------------------------------------------------------- */

/* ---- stale directories --------------------------------------------------------
 * A process killed by SIGKILL never reaches fl_fault_fifo_stop, so its
 * directory stays. The directory's name carries its owner's pid
 * ("faultline-<pid>-XXXXXX"); every start sweeps its base directory and
 * removes those of dead owners. It never touches a directory whose owner
 * is alive (a reused pid only delays the removal until that process ends),
 * one of another user, a symbolic link, or one holding anything but the
 * two FIFOs: it unlinks only "ctl" and "reply", and rmdir fails otherwise. */

/* The owner pid of a name of the form "faultline-<pid>-XXXXXX", or 0. */
static pid_t owner_of(const char *name)
{
	if (strncmp(name, "faultline-", 10) != 0 || !isdigit((unsigned char)name[10]))
		return 0;
	char *end;
	errno = 0;
	long pid = strtol(name + 10, &end, 10);
	if (errno || pid <= 0 || pid > INT_MAX || *end != '-' || strlen(end + 1) != 6)
		return 0;
	return (pid_t)pid;
}

static bool owner_alive(pid_t pid)
{
	return pid == getpid() || kill(pid, 0) == 0 || errno == EPERM;
}

/* Removes the directory `name` in base (open as bfd) if it is stale. */
static void remove_if_stale(int bfd, const char *name)
{
	pid_t pid = owner_of(name);
	struct stat st;
	if (!pid || owner_alive(pid))
		return;
	if (fstatat(bfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid())
		return;
	int dfd = openat(bfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0)
		return;
	unlinkat(dfd, "ctl", 0);
	unlinkat(dfd, "reply", 0);
	close(dfd);
	unlinkat(bfd, name, AT_REMOVEDIR); /* fails if anything else is there */
}

static void sweep_stale(const char *base)
{
	int bfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return;
	DIR *d = fdopendir(bfd);
	if (!d) {
		close(bfd);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d)))
		remove_if_stale(bfd, de->d_name);
	closedir(d);
}

/* Makes the directory and both FIFOs, after sweeping stale ones. */
static fl_err *make_paths(struct fl_fault_fifo *f, const char *base)
{
	if (!base)
		base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	sweep_stale(base);
	if (snprintf(f->dir, sizeof(f->dir), "%s/faultline-%ld-XXXXXX", base, (long)getpid()) >=
	    (int)sizeof(f->dir))
		return fl_err_wrap(FL_ERR_INVAL, "fl_fault_fifo_start: directory name too long");
	if (!mkdtemp(f->dir))
		return fl_err_errno(errno, "fl_fault_fifo_start: mkdtemp %s", f->dir);
	snprintf(f->ctl, sizeof(f->ctl), "%s/ctl", f->dir);
	snprintf(f->reply, sizeof(f->reply), "%s/reply", f->dir);
	if (mkfifo(f->ctl, 0600) == 0 && mkfifo(f->reply, 0600) == 0)
		return NULL;
	fl_err *e = fl_err_errno(errno, "fl_fault_fifo_start: mkfifo in %s", f->dir);
	unlink(f->ctl);
	rmdir(f->dir);
	return e;
}

/* Opens both FIFOs and the self-pipe. */
static fl_err *open_fds(struct fl_fault_fifo *f)
{
	f->ctl_fd = open(f->ctl, O_RDWR | O_CLOEXEC);
	if (f->ctl_fd < 0)
		goto fail_ctl;
	f->reply_fd = open(f->reply, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (f->reply_fd < 0)
		goto fail_reply;
	if (pipe(f->stop_fd) < 0)
		goto fail_pipe;
	return NULL;
fail_pipe:
	close(f->reply_fd);
fail_reply:
	close(f->ctl_fd);
fail_ctl:
	return fl_err_errno(errno, "fl_fault_fifo_start: open in %s", f->dir);
}

static void close_fds(struct fl_fault_fifo *f)
{
	close(f->stop_fd[0]);
	close(f->stop_fd[1]);
	close(f->reply_fd);
	close(f->ctl_fd);
}

static void remove_paths(struct fl_fault_fifo *f)
{
	unlink(f->ctl);
	unlink(f->reply);
	rmdir(f->dir);
}

fl_err *fl_fault_fifo_start(const char *dir, fl_fault_fifo **out)
{
	if (!out)
		return fl_err_wrap(FL_ERR_INVAL, "fl_fault_fifo_start: NULL out");
	if (strcmp(fl_sched_backend(), "sim") == 0)
		return fl_err_wrap(FL_ERR_MISUSE, "fl_fault_fifo_start: the control thread would "
						  "call the runtime from a second OS thread, which "
						  "the sim backend does not allow");
	struct fl_fault_fifo *f = fl__calloc(1, sizeof(*f));
	if (!f)
		return FL_ERR_NOMEM;
	fl_err *e = make_paths(f, dir);
	if (e)
		goto fail_paths;
	if ((e = open_fds(f)))
		goto fail_fds;
	int rc = pthread_create(&f->thread, NULL, control_main, f);
	if (rc) {
		e = fl_err_errno(rc, "fl_fault_fifo_start: pthread_create");
		goto fail_thread;
	}
	*out = f;
	return NULL;
fail_thread:
	close_fds(f);
fail_fds:
	remove_paths(f);
fail_paths:
	free(f);
	return e;
}

const char *fl_fault_fifo_ctl_path(const fl_fault_fifo *f) { return f->ctl; }

const char *fl_fault_fifo_reply_path(const fl_fault_fifo *f) { return f->reply; }

void fl_fault_fifo_stop(fl_fault_fifo *f)
{
	if (!f)
		return;
	char b = 'x';
	while (write(f->stop_fd[1], &b, 1) < 0 && errno == EINTR)
		;
	FL_ASSERT(pthread_join(f->thread, NULL) == 0);
	close_fds(f);
	remove_paths(f);
	free(f);
}
