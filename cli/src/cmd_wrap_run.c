/*
 * cmd_wrap_run.c - one run of a program under the preload, for `faultline
 * wrap` (cmd_wrap.c) and its sweep (cmd_wrap_sweep.c): finding the
 * preload, the accounting file, fork and exec with LD_PRELOAD, the wait;
 * and the words for what came back (outcome, action, leak checks, a
 * frame symbolised with addr2line).
 */
#include "cli_internal.h"
#include "cmd_wrap_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PRELOAD_NAME "libfaultline-preload.so"

/* The preload: $FAULTLINE_PRELOAD, else beside this program in the build
 * tree (cli/../wrap/), else where the package installs it (relative to
 * the installed command, FL_WRAP_INSTALL_REL). */
bool fl__wrap_find_preload(char *out, size_t cap)
{
	const char *env = getenv("FAULTLINE_PRELOAD");
	if (env && *env) {
		snprintf(out, cap, "%s", env);
		return access(out, R_OK) == 0;
	}
	char exe[PATH_MAX - 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	const char *rel[] = {"../wrap", FL_WRAP_INSTALL_REL};
	for (size_t i = 0; i < 2; i++) {
		int w = snprintf(out, cap, "%s/%s/%s", exe, rel[i], PRELOAD_NAME);
		if (w > 0 && (size_t)w < cap && access(out, R_OK) == 0)
			return true;
	}
	return false;
}

/* In the child: the environment, then exec; on failure errno to fd. */
static void child(char **prog, const char *preload, const char *plan, const char *acct, int fd)
{
	const char *old = getenv("LD_PRELOAD");
	char lp[PATH_MAX * 2];
	snprintf(lp, sizeof(lp), "%s%s%s", preload, old && *old ? ":" : "", old ? old : "");
	setenv("LD_PRELOAD", lp, 1);
	setenv(FL_WRAP_ENV_PLAN, plan, 1);
	setenv(FL_WRAP_ENV_OUT, acct, 1);
	execvp(prog[0], prog);
	int e = errno;
	(void)!write(fd, &e, sizeof(e));
	_exit(127);
}

/* Each thread of pid: "tid (name) in wait-channel", into out. */
static void thread_waits(pid_t pid, char *out, size_t cap)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	DIR *d = opendir(dir);
	size_t k = 0;
	out[0] = '\0';
	for (struct dirent *e; d && (e = readdir(d)) && k < cap;) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char path[384], comm[64] = "?", wchan[64] = "?";
		for (int i = 0; i < 2; i++) {
			snprintf(path, sizeof(path), "%s/%s/%s", dir, e->d_name,
				 i ? "wchan" : "comm");
			FILE *f = fopen(path, "r");
			char *dst = i ? wchan : comm;
			if (f && fgets(dst, 64, f))
				dst[strcspn(dst, "\n")] = '\0';
			if (f)
				fclose(f);
		}
		k += (size_t)snprintf(out + k, cap - k, "%s%s (%s) in %s", k ? "; " : "", e->d_name,
				      comm, wchan);
	}
	if (d)
		closedir(d);
}

/* Prints the latest leak snapshot if it is newer than *printed. */
static void print_snapshot(int afd, uint32_t *printed)
{
	uint32_t n = 0;
	if (pread(afd, &n, sizeof(n), offsetof(struct fl__wrap_acct, snapshots)) != sizeof(n) ||
	    n == *printed)
		return;
	struct fl__wrap_leaks L;
	if (pread(afd, &L, sizeof(L), offsetof(struct fl__wrap_acct, snap)) != sizeof(L))
		return;
	*printed = n;
	leak_check c[3];
	fl__wrap_leak_checks(&L, c);
	printf("snapshot %" PRIu32 " (signal %s):\n", n, getenv(FL_WRAP_ENV_SIGNAL));
	for (int i = 0; i < 3; i++)
		printf("  %s: %s (%s)\n", c[i].name, c[i].n ? "FAIL" : "pass", c[i].msg);
	fflush(stdout);
}

/* Waits for pid; with hang_ns, watches the evaluation counts the preload
 * updates in the accounting file and kills a program that stops making
 * wrapped calls for that long. */
static void wait_child(pid_t pid, int afd, int64_t hang_ns, wrap_run *r)
{
	uint64_t last = UINT64_MAX;
	struct timespec since;
	clock_gettime(CLOCK_MONOTONIC, &since);
	bool snaps = getenv(FL_WRAP_ENV_SIGNAL) != NULL;
	uint32_t printed = 0;
	for (;;) {
		pid_t w = waitpid(pid, &r->status, hang_ns > 0 || snaps ? WNOHANG : 0);
		if (snaps)
			print_snapshot(afd, &printed);
		if (w == pid || (w < 0 && errno != EINTR))
			return;
		if (hang_ns <= 0) {
			struct timespec tick = {0, 10 * 1000 * 1000};
			if (snaps)
				nanosleep(&tick, NULL);
			continue;
		}
		uint64_t ev[FL_WRAP_NPOINTS] = {0}, total = 0;
		if (pread(afd, ev, sizeof(ev), offsetof(struct fl__wrap_acct, evals)) > 0)
			for (int i = 0; i < FL_WRAP_NPOINTS; i++)
				total += ev[i];
		if (total != last) {
			last = total;
			clock_gettime(CLOCK_MONOTONIC, &since);
		} else if (fl__cli_since(&since) * 1e9 >= (double)hang_ns) {
			thread_waits(pid, r->threads, sizeof(r->threads));
			kill(pid, SIGKILL);
			while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
				;
			r->hung = true;
			return;
		}
		struct timespec tick = {0, 10 * 1000 * 1000};
		nanosleep(&tick, NULL);
	}
}

/* Runs the program once under the compiled plan. Returns 0 or EXIT_USAGE
 * after printing why (no temporary file, no fork). */
int fl__wrap_run_once(char **prog, const char *preload, const char *plan, int64_t hang_ns,
		      wrap_run *r)
{
	memset(r, 0, sizeof(*r));
	const char *t = getenv("TMPDIR");
	char acct[PATH_MAX];
	snprintf(acct, sizeof(acct), "%s/fl-wrap-XXXXXX", t && *t ? t : "/tmp");
	int afd = mkstemp(acct);
	int p[2] = {-1, -1};
	if (afd < 0 || pipe(p) != 0 || fcntl(p[1], F_SETFD, FD_CLOEXEC) != 0) {
		fprintf(stderr, "%s wrap: %s: %s\n", fl__cli_prog, afd < 0 ? acct : "pipe",
			strerror(errno));
		if (afd >= 0)
			close(afd), unlink(acct);
		return EXIT_USAGE;
	}
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(prog, preload, plan, acct, p[1]);
	}
	close(p[1]);
	if (pid < 0) {
		fprintf(stderr, "%s wrap: fork: %s\n", fl__cli_prog, strerror(errno));
		close(p[0]), close(afd), unlink(acct);
		return EXIT_USAGE;
	}
	if (read(p[0], &r->exec_errno, sizeof(r->exec_errno)) != sizeof(r->exec_errno))
		r->exec_errno = 0;
	close(p[0]);
	wait_child(pid, afd, hang_ns, r);
	r->secs = fl__cli_since(&t0);
	r->have_acct = pread(afd, &r->acct, sizeof(r->acct), 0) == (ssize_t)sizeof(r->acct) &&
		       r->acct.magic == FL_WRAP_MAGIC && r->acct.version == FL_WRAP_VERSION &&
		       r->acct.started;
	close(afd);
	unlink(acct);
	return 0;
}

/* "exited 0", "exited 3", "killed by signal 11 (Segmentation fault)". */
void fl__wrap_outcome_text(const wrap_run *r, char *out, size_t cap)
{
	if (r->hung) {
		snprintf(out, cap, "hung (no wrapped call for the --hang-after window), killed");
		return;
	}
	if (WIFSIGNALED(r->status))
		snprintf(out, cap, "killed by signal %d (%s)", WTERMSIG(r->status),
			 strsignal(WTERMSIG(r->status)));
	else
		snprintf(out, cap, "exited %d", WEXITSTATUS(r->status));
}

void fl__wrap_action_text(uint32_t action, int32_t err, char *out, size_t cap)
{
	if (action == FL_WRAP_ACT_ERROR)
		snprintf(out, cap, "error(%s)", fl__wrap_errno_name(err));
	else
		snprintf(out, cap, "%s",
			 action < FL_WRAP_NACT ? fl__wrap_action_names[action] : "?");
}

/* The three leak checks, judged at the program's exit against what was
 * there when its start-up ended. */
void fl__wrap_leak_checks(const struct fl__wrap_leaks *L, leak_check c[3])
{
	c[0] = (leak_check){"no leaked fds", L->nfds, ""};
	c[1] = (leak_check){"no leaked heap", L->heap_bytes, ""};
	c[2] = (leak_check){"no leaked threads", L->threads, ""};
	size_t k =
		(size_t)snprintf(c[0].msg, sizeof(c[0].msg), "%u descriptors left open", L->nfds);
	for (uint32_t i = 0; i < L->nfds && i < FL_WRAP_LEAK_FDS && k < sizeof(c[0].msg); i++)
		k += (size_t)snprintf(c[0].msg + k, sizeof(c[0].msg) - k, "%s %d -> %.*s",
				      i ? "," : ":", L->fd[i], FL_WRAP_FRAME_LEN, L->fd_target[i]);
	k = (size_t)snprintf(c[1].msg, sizeof(c[1].msg),
			     "%" PRIu64 " bytes in %" PRIu64 " blocks not freed", L->heap_bytes,
			     L->heap_blocks);
	for (uint32_t i = 0; i < L->nsites && i < FL_WRAP_LEAK_SITES && k < sizeof(c[1].msg); i++)
		k += (size_t)snprintf(c[1].msg + k, sizeof(c[1].msg) - k,
				      "%s %" PRIu64 " bytes from %.*s", i ? "," : ":",
				      L->site_bytes[i], FL_WRAP_FRAME_LEN, L->site[i]);
	if (L->heap_untracked && k < sizeof(c[1].msg))
		snprintf(c[1].msg + k, sizeof(c[1].msg) - k,
			 " (%" PRIu64 " blocks not followed: the table was full)",
			 L->heap_untracked);
	snprintf(c[2].msg, sizeof(c[2].msg), "%u threads still alive at exit", L->threads);
}

bool fl__wrap_leaks_ok(const struct fl__wrap_leaks *L)
{
	return !L->judged || (!L->nfds && !L->heap_bytes && !L->threads);
}

/* The program's path as exec found it (argv[0] with a '/', else along
 * $PATH), into out; false when not found. */
static bool prog_path(const char *arg0, char *out, size_t cap)
{
	if (strchr(arg0, '/')) {
		snprintf(out, cap, "%s", arg0);
		return access(out, R_OK) == 0;
	}
	const char *path = getenv("PATH");
	for (const char *p = path ? path : ""; *p;) {
		const char *e = strchr(p, ':');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		int w = snprintf(out, cap, "%.*s/%s", (int)n, p, arg0);
		if (w > 0 && (size_t)w < cap && access(out, X_OK) == 0)
			return true;
		p += n + (e ? 1 : 0);
	}
	return false;
}

void fl__wrap_symbolise(char **prog, const char *frame, char *out, size_t cap)
{
	snprintf(out, cap, "%s", frame);
	const char *base = strrchr(prog[0], '/');
	base = base ? base + 1 : prog[0];
	size_t bl = strlen(base);
	const char *off = strstr(frame, " +0x");
	char path[PATH_MAX], q[PATH_MAX + 8], cmd[PATH_MAX + 96];
	if (!off || strncmp(frame, base, bl) != 0 || (frame[bl] != ' ' && frame[bl] != '(') ||
	    !prog_path(prog[0], path, sizeof(path)))
		return;
	fl__cli_shell_quote(path, q, sizeof(q));
	snprintf(cmd, sizeof(cmd), "addr2line -f -e %s %.20s 2>/dev/null", q, off + 2);
	FILE *p = popen(cmd, "r");
	if (!p)
		return;
	char fn[256] = "", where[512] = "";
	if (fgets(fn, sizeof(fn), p) && fgets(where, sizeof(where), p)) {
		fn[strcspn(fn, "\n")] = '\0';
		where[strcspn(where, "\n")] = '\0';
		const char *file = strrchr(where, '/');
		file = file ? file + 1 : where;
		if (strcmp(fn, "??") != 0 && file[0] != '?')
			snprintf(out, cap, "%s = %s at %s", frame, fn, file);
		else if (strcmp(fn, "??") != 0)
			snprintf(out, cap, "%s = %s", frame, fn);
	}
	pclose(p);
}

/* src into a frame slot, cut to fit. */
static void set_frame(char *dst, const char *src)
{
	size_t n = strnlen(src, FL_WRAP_FRAME_LEN - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void fl__wrap_symbolise_acct(char **prog, struct fl__wrap_acct *a)
{
	char buf[FL_WRAP_FRAME_LEN + 400];
	uint64_t n = a->nlog < FL_WRAP_LOG ? a->nlog : FL_WRAP_LOG;
	for (uint64_t i = 0; i < n && i < 8; i++) {
		if (!a->log[i].nframes)
			continue;
		fl__wrap_symbolise(prog, a->log[i].frames[0], buf, sizeof(buf));
		set_frame(a->log[i].frames[0], buf);
	}
	for (uint32_t i = 0; i < a->leaks.nsites && i < FL_WRAP_LEAK_SITES; i++) {
		fl__wrap_symbolise(prog, a->leaks.site[i], buf, sizeof(buf));
		set_frame(a->leaks.site[i], buf);
	}
}
