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

#define RA __builtin_return_address(0)

/* Looks up the next definition of name once (racing threads store the
 * same pointer). */
#define REAL(name)                            \
	static __typeof__(name) *real_##name; \
	if (!real_##name)                     \
		real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);

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
	int e = fl__wrap_enter(FL_WRAP_MALLOC, RA);
	if (e) {
		errno = e;
		return NULL;
	}
	return track(real_malloc(n), n, RA);
}

FL_EXPORT void *calloc(size_t n, size_t size)
{
	if (!real_calloc) {
		if (resolving)
			return arena_alloc(n * size); /* static: already zero */
		resolve_alloc();
	}
	int e = fl__wrap_enter(FL_WRAP_CALLOC, RA);
	if (e) {
		errno = e;
		return NULL;
	}
	return track(real_calloc(n, size), n * size, RA);
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
	int e = fl__wrap_enter(FL_WRAP_REALLOC, RA);
	if (e) {
		errno = e;
		return NULL;
	}
	void *q = real_realloc(p, n);
	if ((q || n == 0) && fl__wrap_counting())
		fl__wrap_heap_del(p);
	return track(q, n, RA);
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
	REAL(posix_memalign);
	int e = fl__wrap_enter(FL_WRAP_POSIX_MEMALIGN, RA);
	if (e)
		return e; /* posix_memalign reports, it does not set errno */
	int r = real_posix_memalign(out, align, n);
	if (r == 0)
		track(*out, n, RA);
	return r;
}

FL_EXPORT void *aligned_alloc(size_t align, size_t n)
{
	REAL(aligned_alloc);
	int e = fl__wrap_enter(FL_WRAP_ALIGNED_ALLOC, RA);
	if (e) {
		errno = e;
		return NULL;
	}
	return track(real_aligned_alloc(align, n), n, RA);
}

FL_EXPORT void *memalign(size_t align, size_t n)
{
	REAL(memalign);
	int e = fl__wrap_enter(FL_WRAP_MEMALIGN, RA);
	if (e) {
		errno = e;
		return NULL;
	}
	return track(real_memalign(align, n), n, RA);
}

/* ---- files ------------------------------------------------------------------------ */

FL_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	REAL(read);
	int e = fl__wrap_enter(FL_WRAP_READ, RA);
	if (e) {
		errno = e;
		return -1;
	}
	return real_read(fd, buf, n);
}

FL_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	REAL(write);
	int e = fl__wrap_enter(FL_WRAP_WRITE, RA);
	if (e) {
		errno = e;
		return -1;
	}
	return real_write(fd, buf, n);
}

/* open and open64 (the same call on 64-bit glibc; a program may name either). */
static int open_common(__typeof__(open) *real, const char *path, int flags, mode_t mode,
		       const void *ra)
{
	int e = fl__wrap_enter(FL_WRAP_OPEN, ra);
	if (e) {
		errno = e;
		return -1;
	}
	return real(path, flags, mode);
}

FL_EXPORT int open(const char *path, int flags, ...)
{
	REAL(open);
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return open_common(real_open, path, flags, mode, RA);
}

FL_EXPORT int open64(const char *path, int flags, ...)
{
	REAL(open64);
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	return open_common(real_open64, path, flags, mode, RA);
}

FL_EXPORT int close(int fd)
{
	REAL(close);
	int e = fl__wrap_enter(FL_WRAP_CLOSE, RA);
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
	REAL(fsync);
	int e = fl__wrap_enter(FL_WRAP_FSYNC, RA);
	if (e) {
		errno = e;
		return -1;
	}
	return real_fsync(fd);
}

/* ---- sockets ---------------------------------------------------------------------- */

FL_EXPORT int connect(int fd, const struct sockaddr *a, socklen_t len)
{
	REAL(connect);
	int e = fl__wrap_enter(FL_WRAP_CONNECT, RA);
	if (e) {
		errno = e;
		return -1;
	}
	return real_connect(fd, a, len);
}

FL_EXPORT int accept(int fd, struct sockaddr *a, socklen_t *len)
{
	REAL(accept);
	int e = fl__wrap_enter(FL_WRAP_ACCEPT, RA);
	if (e) {
		errno = e;
		return -1;
	}
	return real_accept(fd, a, len);
}

FL_EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	REAL(send);
	int e = fl__wrap_enter(FL_WRAP_SEND, RA);
	if (e) {
		errno = e;
		return -1;
	}
	return real_send(fd, buf, n, flags);
}

FL_EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	REAL(recv);
	int e = fl__wrap_enter(FL_WRAP_RECV, RA);
	if (e) {
		errno = e;
		return -1;
	}
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
	REAL(pthread_create);
	int e = fl__wrap_enter(FL_WRAP_THREAD_CREATE, RA);
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
	REAL(nanosleep);
	int e = fl__wrap_enter(FL_WRAP_NANOSLEEP, RA);
	if (e) {
		if (rem)
			*rem = *req; /* interrupted before any of it slept */
		errno = e;
		return -1;
	}
	return real_nanosleep(req, rem);
}
