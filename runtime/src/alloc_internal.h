/*
 * alloc_internal.h - the runtime's view of the process's allocator.
 *
 * mallctl is jemalloc's control call, declared weak: in a program that
 * does not link jemalloc (sanitizer and valgrind builds, a user's program
 * on glibc malloc) it is NULL and every caller checks that first.
 */
#ifndef FL_RUNTIME_ALLOC_INTERNAL_H
#define FL_RUNTIME_ALLOC_INTERNAL_H

#include <stddef.h>

int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
	__attribute__((weak));

/*
 * Makes every one of jemalloc's automatic arenas now, so that a thread
 * started later never has to. jemalloc 5.3 makes an arena lazily, on a
 * new thread's first allocation, and when it cannot (mmap refused, as
 * under `ulimit -v`) that allocation dereferences a NULL arena and the
 * process dies with SIGSEGV instead of seeing NULL. Made up front, the
 * shortage shows here, as an error, and later allocations fail cleanly.
 * Returns 0, or the errno of the first arena that could not be made, with
 * *which set to its index and *total to the arena count. Without jemalloc
 * it does nothing and returns 0. Idempotent; not thread-safe (the
 * scheduler calls it once, under its selection lock).
 */
int fl__alloc_arenas_init(unsigned *which, unsigned *total);

#endif
