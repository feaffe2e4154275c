/*
 * calls.c - the interposed libc calls of libfaultline-preload.so, each a
 * fault point (wrap_internal.h names them): it asks fl__wrap_enter
 * (preload.c) and either fails with the errno the plan chose or makes the
 * real call, found with dlsym(RTLD_NEXT).
 *
 * malloc's first dlsym may itself allocate (dlerror's buffer): while the
 * allocation functions are being looked up, allocations come from a small
 * static arena, whose blocks free() ignores and realloc() copies out of.
 */
#define _GNU_SOURCE
#include "preload_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- allocation ------------------------------------------------------------------- */

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int resolving;
static _Alignas(16) char arena[16384];
static size_t arena_used;

static void *arena_alloc(size_t n)
{
	n = (n + 15) & ~(size_t)15;
	size_t at = __atomic_fetch_add(&arena_used, n, __ATOMIC_RELAXED);
	return at + n <= sizeof(arena) ? arena + at : NULL;
}

static int in_arena(const void *p)
{
	return (const char *)p >= arena && (const char *)p < arena + sizeof(arena);
}

/* The program's own blocks enter the leak table (not libc's, nor ours). */
static void *track(void *p, size_t n, const void *ra)
{
	if (p && !fl__wrap_guard && fl__wrap_counting() && !fl__wrap_from_libc(ra))
		fl__wrap_heap_add(p, n, ra);
	return p;
}

static void resolve_alloc(void)
{
	resolving = 1;
	real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	real_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	real_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	real_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	resolving = 0;
}

FL_EXPORT void *malloc(size_t n)
{
	if (!real_malloc) {
		if (resolving)
			return arena_alloc(n);
		resolve_alloc();
	}
	FL_WRAP_FAULT_RET(FL_WRAP_MALLOC, NULL);
	return track(real_malloc(n), n, FL_WRAP_RA);
}

FL_EXPORT void *calloc(size_t n, size_t size)
{
	if (!real_calloc) {
		if (resolving)
			return arena_alloc(n * size); /* static: already zero */
		resolve_alloc();
	}
	FL_WRAP_FAULT_RET(FL_WRAP_CALLOC, NULL);
	return track(real_calloc(n, size), n * size, FL_WRAP_RA);
}

FL_EXPORT void *realloc(void *p, size_t n)
{
	if (!real_realloc) {
		if (resolving)
			return arena_alloc(n);
		resolve_alloc();
	}
	if (in_arena(p)) {
		void *q = real_malloc(n);
		if (q) {
			size_t left = (size_t)(arena + sizeof(arena) - (char *)p);
			memcpy(q, p, n < left ? n : left);
		}
		return q;
	}
	FL_WRAP_FAULT_RET(FL_WRAP_REALLOC, NULL);
	void *q = real_realloc(p, n);
	if ((q || n == 0) && fl__wrap_counting())
		fl__wrap_heap_del(p);
	return track(q, n, FL_WRAP_RA);
}

FL_EXPORT void free(void *p)
{
	if (!p || in_arena(p))
		return;
	if (!real_free)
		resolve_alloc();
	if (fl__wrap_counting())
		fl__wrap_heap_del(p);
	real_free(p);
}

/* The aligned allocations: faulted as their own points, and tracked as
 * malloc's blocks are (free must find every block the program owns). */
FL_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	FL_WRAP_REAL(posix_memalign);
	int e = fl__wrap_enter(FL_WRAP_POSIX_MEMALIGN, FL_WRAP_RA);
	if (e)
		return e; /* posix_memalign reports, it does not set errno */
	int r = real_posix_memalign(out, align, n);
	if (r == 0)
		track(*out, n, FL_WRAP_RA);
	return r;
}

FL_EXPORT void *aligned_alloc(size_t align, size_t n)
{
	FL_WRAP_REAL(aligned_alloc);
	FL_WRAP_FAULT_RET(FL_WRAP_ALIGNED_ALLOC, NULL);
	return track(real_aligned_alloc(align, n), n, FL_WRAP_RA);
}

FL_EXPORT void *memalign(size_t align, size_t n)
{
	FL_WRAP_REAL(memalign);
	FL_WRAP_FAULT_RET(FL_WRAP_MEMALIGN, NULL);
	return track(real_memalign(align, n), n, FL_WRAP_RA);
}

/* ---- files ------------------------------------------------------------------------ */

FL_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	FL_WRAP_REAL(read);
	FL_WRAP_FAULT(FL_WRAP_READ);
	return real_read(fd, buf, n);
}

FL_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	FL_WRAP_REAL(write);
	FL_WRAP_FAULT(FL_WRAP_WRITE);
	return real_write(fd, buf, n);
}

/* open and open64 (the same call on 64-bit glibc; a program may name either). */
FL_EXPORT int open(const char *path, int flags, ...)
{
	FL_WRAP_REAL(open);
	mode_t mode = FL_WRAP_OPEN_MODE(flags, flags);
	FL_WRAP_FAULT(FL_WRAP_OPEN);
	return real_open(path, flags, mode);
}

FL_EXPORT int open64(const char *path, int flags, ...)
{
	FL_WRAP_REAL(open64);
	mode_t mode = FL_WRAP_OPEN_MODE(flags, flags);
	FL_WRAP_FAULT(FL_WRAP_OPEN);
	return real_open64(path, flags, mode);
}

FL_EXPORT int close(int fd)
{
	FL_WRAP_REAL(close);
	int e = fl__wrap_enter(FL_WRAP_CLOSE, FL_WRAP_RA);
	if (e) {
		/* the descriptor is released anyway, as Linux does when close fails */
		real_close(fd);
		errno = e;
		return -1;
	}
	return real_close(fd);
}

FL_EXPORT int fsync(int fd)
{
	FL_WRAP_REAL(fsync);
	FL_WRAP_FAULT(FL_WRAP_FSYNC);
	return real_fsync(fd);
}

/* ---- sockets ---------------------------------------------------------------------- */

FL_EXPORT int connect(int fd, const struct sockaddr *a, socklen_t len)
{
	FL_WRAP_REAL(connect);
	FL_WRAP_FAULT(FL_WRAP_CONNECT);
	return real_connect(fd, a, len);
}

FL_EXPORT int accept(int fd, struct sockaddr *a, socklen_t *len)
{
	FL_WRAP_REAL(accept);
	FL_WRAP_FAULT(FL_WRAP_ACCEPT);
	return real_accept(fd, a, len);
}

FL_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	FL_WRAP_REAL(send);
	FL_WRAP_FAULT(FL_WRAP_SEND);
	return real_send(fd, buf, n, flags);
}

FL_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	FL_WRAP_REAL(recv);
	FL_WRAP_FAULT(FL_WRAP_RECV);
	return real_recv(fd, buf, n, flags);
}

/* ---- threads and time ------------------------------------------------------------- */

struct start {
	void *(*fn)(void *);
	void *arg;
	long ordinal;
};

static void *trampoline(void *p)
{
	struct start s = *(struct start *)p;
	fl__wrap_guard = 1;
	real_free(p);
	fl__wrap_guard = 0;
	fl__wrap_thread = s.ordinal;
	return s.fn(s.arg);
}

FL_EXPORT int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
			     void *arg)
{
	FL_WRAP_REAL(pthread_create);
	int e = fl__wrap_enter(FL_WRAP_THREAD_CREATE, FL_WRAP_RA);
	if (e)
		return e;
	if (!real_malloc)
		resolve_alloc();
	int g = fl__wrap_guard;
	fl__wrap_guard = 1;
	struct start *s = real_malloc(sizeof(*s));
	fl__wrap_guard = g;
	if (!s)
		return real_pthread_create(t, attr, fn, arg);
	*s = (struct start){fn, arg, fl__wrap_next_thread()};
	int r = real_pthread_create(t, attr, trampoline, s);
	if (r)
		real_free(s);
	return r;
}

FL_EXPORT int nanosleep(const struct timespec *req, struct timespec *rem)
{
	FL_WRAP_REAL(nanosleep);
	int e = fl__wrap_enter(FL_WRAP_NANOSLEEP, FL_WRAP_RA);
	if (e) {
		if (rem)
			*rem = *req; /* interrupted before any of it slept */
		errno = e;
		return -1;
	}
	return real_nanosleep(req, rem);
}
