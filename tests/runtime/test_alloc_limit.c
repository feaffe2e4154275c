/* fl-test-labels: onebackend */
/*
 * test_alloc_limit.c - an address-space limit (`ulimit -v`) is an error,
 * never a crash. The allocator (jemalloc 5.3) makes an arena lazily, on a
 * new thread's first allocation, and when the limit refuses it that
 * allocation crashes on a NULL arena (faultline's children died with
 * SIGSEGV in realloc under `ulimit -v 50000`). The scheduler now makes
 * every arena when it starts (alloc_internal.h).
 *
 * Each case forks: the child starts the runtime before or after tightening
 * RLIMIT_AS to what it maps now plus a little, then starts a thread that
 * allocates. The child's exit says what happened; a signal is the failure.
 * onebackend: the child chooses the threads backend itself (a thread per
 * task, so the limit meets a new thread's first allocation).
 * Under ASan and TSan the cases say so and return: those runtimes map
 * their own shadow and clock memory and abort by design when a limit
 * refuses it, so they test nothing of ours there; the release gate runs
 * them on jemalloc.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fl/alloc.h>
#include <fl/ctx.h>
#include <fl/group.h>
#include <fl/task.h>

#include "fl_test.h"

enum { RAN = 0, REFUSED = 1, SETUP = 4 };

/* The process's mapped bytes now (VmSize), or 0. */
static size_t mapped_now(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long pages = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%lu", &pages) != 1)
		pages = 0;
	fclose(f);
	return pages * (size_t)sysconf(_SC_PAGESIZE);
}

/* Room for a small thread stack, not for an arena's first 2 MiB block. */
static bool tighten(void)
{
	size_t now = mapped_now();
	struct rlimit r = {.rlim_cur = now + 512 * 1024, .rlim_max = now + 512 * 1024};
	return now && setrlimit(RLIMIT_AS, &r) == 0;
}

static void *allocate_some(void *arg)
{
	(void)arg;
	for (int i = 0; i < 1000; i++) {
		void *p = malloc(64 + (size_t)i);
		if (!p)
			break; /* refused cleanly: what the limit should give */
		free(p);
	}
	return NULL;
}

/* Starts a 64 KiB-stack thread that allocates; false if it cannot start. */
static bool thread_allocates(void)
{
	pthread_attr_t a;
	pthread_t t;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	bool ok = pthread_create(&t, &a, allocate_some, NULL) == 0;
	pthread_attr_destroy(&a);
	if (ok)
		pthread_join(t, NULL);
	return ok;
}

static int start_runtime(void)
{
	fl_err *err = fl_sched_init(&(struct fl_sched_opts){.backend = "threads"});
	if (!err)
		return RAN;
	bool nomem = fl_err_is(err, FL_ERR_NOMEM);
	fl_err_drop(err);
	return nomem ? REFUSED : SETUP;
}

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SANITIZER_ALLOCATOR 1
#else
#define SANITIZER_ALLOCATOR 0
#endif

/* How a child ends: exit status, or 128 + signal; -1 when a sanitizer's
 * allocator makes the case meaningless (see above). */
static int child(bool runtime_first, bool runtime_after)
{
	if (SANITIZER_ALLOCATOR) {
		fprintf(stderr, "[ SKIP ] the sanitizer's allocator aborts under RLIMIT_AS\n");
		return -1;
	}
	fflush(NULL);
	pid_t pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		int st = RAN;
		if (runtime_first && (st = start_runtime()) != RAN)
			_exit(SETUP);
		if (!tighten())
			_exit(SETUP);
		if (runtime_after && (st = start_runtime()) != RAN)
			_exit(st); /* refused (out of memory) or something else */
		(void)thread_allocates();
		_exit(RAN);
	}
	int status;
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* The runtime started under the limit says out of memory, or runs. */
FL_TEST(runtime_started_under_a_limit_refuses_cleanly)
{
	int st = child(false, true);
	ASSERT(st == RAN || st == REFUSED || st == -1);
}

/* Started before the limit, its arenas are made: a new thread's first
 * allocation under the limit gets memory or NULL, never a crash. */
FL_TEST(thread_under_a_limit_allocates_or_is_refused)
{
	int st = child(true, false);
	ASSERT(st == RAN || st == -1);
}

/* Negative control: without the runtime having made the arenas, the same
 * thread under the same limit meets jemalloc's lazy arena and crashes. The
 * limit is tight enough to matter; glibc's allocator has no such arena. */
FL_TEST(without_the_arenas_the_thread_crashes)
{
	int st = child(false, false);
#ifdef FL_HAVE_JEMALLOC
	ASSERT_EQ(st, 128 + SIGSEGV);
#else
	ASSERT(st == RAN || st == -1);
#endif
}

FL_TEST_MAIN(FL_CASE(runtime_started_under_a_limit_refuses_cleanly),
	     FL_CASE(thread_under_a_limit_allocates_or_is_refused),
	     FL_CASE(without_the_arenas_the_thread_crashes))
