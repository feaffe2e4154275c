/*
 * fl_test_kill.h - random SIGKILLs driven by progress, not by wall time.
 *
 * The test re-executes itself as a child (kill_spawn) with a pipe on
 * file descriptor KILL_PROGRESS_FD; the child writes one byte per unit of
 * progress (an action call, an event processed). The parent draws a count
 * from a seeded generator, reads that many bytes and SIGKILLs the child
 * (kill_after). The kill lands somewhere after the drawn event: where
 * exactly depends on scheduling, which is what a crash is like, while the
 * draw sequence, and so the mix of early and late kills, is reproducible
 * from the seed. No sleep and no timer is involved.
 *
 * The number of kills is FL_KILLS from the environment if set (the
 * `stress` ctest label sets a large one), else the caller's default.
 * The seed is FL_KILL_SEED if set; both are printed for a replay.
 */
#ifndef FL_TEST_KILL_H
#define FL_TEST_KILL_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fl_test.h"

extern char **environ;

enum { KILL_PROGRESS_FD = 3 };

/* xorshift64*: the draw sequence from a seed. */
static inline uint64_t kill_rand(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* A uniform draw in [lo, hi]. */
static inline long kill_draw(uint64_t *s, long lo, long hi)
{
	return lo + (long)(kill_rand(s) % (uint64_t)(hi - lo + 1));
}

static inline uint64_t kill_seed(void)
{
	const char *v = getenv("FL_KILL_SEED");
	uint64_t s = v && *v ? strtoull(v, NULL, 0) : 0x5eed17ULL;
	return s ? s : 1;
}

/* FL_KILLS if set, else def. Sanitized builds pass a smaller def (their
 * children start slowly); the caller says so next to its number. */
static inline long kill_count(long def)
{
	const char *v = getenv("FL_KILLS");
	long n = v && *v ? atol(v) : def;
	return n > 0 ? n : def;
}

/* Child side: one unit of progress. A parent that stopped reading is gone
 * or about to kill us: a failed write is ignored. */
static inline void kill_progress(void)
{
	char b = 1;
	ssize_t r;
	do
		r = write(KILL_PROGRESS_FD, &b, 1);
	while (r < 0 && errno == EINTR);
}

typedef struct kill_child {
	pid_t pid;
	int rd; /* read end of the progress pipe */
} kill_child;

/* Starts argv[0] with argv, the pipe's write end as KILL_PROGRESS_FD. */
static inline kill_child kill_spawn(char *const argv[])
{
	int p[2];
	ASSERT_EQ(pipe(p), 0);
	ASSERT_EQ(fcntl(p[0], F_SETFD, FD_CLOEXEC), 0);
	ASSERT_EQ(fcntl(p[1], F_SETFD, FD_CLOEXEC), 0);
	posix_spawn_file_actions_t fa;
	ASSERT_EQ(posix_spawn_file_actions_init(&fa), 0);
	ASSERT_EQ(posix_spawn_file_actions_adddup2(&fa, p[1], KILL_PROGRESS_FD), 0);
	kill_child c = {0, p[0]};
	ASSERT_EQ(posix_spawn(&c.pid, argv[0], &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	ASSERT_EQ(close(p[1]), 0);
	return c;
}

/* Reads n (> 0) progress bytes, waits delay_ns (0: not at all), then
 * SIGKILLs the child if it is still there. The delay spreads kills over a
 * stretch of work that writes no progress (a library call); it is drawn
 * from the seed too, and no check depends on how long it really was. Returns true if the kill ended it, false if
 * it exited by itself first (then it must have exited 0). */
static inline bool kill_after_ns(kill_child c, long n, long delay_ns)
{
	long got = 0;
	char buf[256];
	ASSERT_GT(n, 0);
	while (got < n) {
		size_t want = n - got > (long)sizeof buf ? sizeof buf : (size_t)(n - got);
		ssize_t r = read(c.rd, buf, want);
		if (r < 0 && errno == EINTR)
			continue;
		ASSERT(r >= 0);
		if (r == 0)
			break; /* the child ended */
		got += r;
	}
	if (delay_ns > 0) {
		struct timespec ts = {delay_ns / 1000000000, delay_ns % 1000000000};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	ASSERT_EQ(kill(c.pid, SIGKILL), 0); /* a zombie takes it too */
	int st;
	ASSERT_EQ(waitpid(c.pid, &st, 0), c.pid);
	ASSERT_EQ(close(c.rd), 0);
	if (WIFSIGNALED(st)) {
		ASSERT_EQ(WTERMSIG(st), SIGKILL);
		return true;
	}
	ASSERT(WIFEXITED(st));
	if (WEXITSTATUS(st) != 0)
		FL_FAIL("child exited %d", WEXITSTATUS(st));
	return false;
}

static inline bool kill_after(kill_child c, long n) { return kill_after_ns(c, n, 0); }

/* Runs a child to its end, with no kill: it must exit 0. */
static inline void kill_run_clean(char *const argv[])
{
	kill_child c = kill_spawn(argv);
	char buf[256];
	ssize_t r;
	while ((r = read(c.rd, buf, sizeof buf)) != 0)
		ASSERT(r > 0 || errno == EINTR);
	int st;
	ASSERT_EQ(waitpid(c.pid, &st, 0), c.pid);
	ASSERT_EQ(close(c.rd), 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		FL_FAIL("clean child run ended with status %#x", st);
}

/* The default kill budget: sanitized children start several times slower
 * (measured on 2 cores: a TSan child about 10x, an ASan child about 3x),
 * so the tests pick their count with KILL_BUDGET(release, asan, tsan). */
#if defined(__SANITIZE_THREAD__)
#define KILL_BUDGET(rel, asan, tsan) (tsan)
#elif defined(__SANITIZE_ADDRESS__)
#define KILL_BUDGET(rel, asan, tsan) (asan)
#else
#define KILL_BUDGET(rel, asan, tsan) (rel)
#endif

#endif
