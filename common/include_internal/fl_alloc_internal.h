/*
 * fl_alloc_internal.h - the allocation wrappers every library uses.
 *
 * fl__malloc, fl__calloc, fl__realloc, fl__strdup and fl__strndup behave as the libc
 * calls they wrap, except that they return NULL (leaving a realloc'd block
 * untouched) when the process's allocation-failure hook (fl/alloc.h) says
 * this allocation fails. The hook lives once, in the runtime (the lowest
 * library): fl__alloc_armed is its flag, read inline so that the hook off
 * costs one relaxed load; fl__alloc_fail_now takes one step of the
 * countdown. Both are exported internals (cmake/fl_exports.map).
 * Memory handed to or from other libraries' allocators (jansson, SQLite,
 * inih) does not go through these.
 */
#ifndef FL_ALLOC_INTERNAL_H
#define FL_ALLOC_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

extern atomic_bool fl__alloc_armed;
bool fl__alloc_fail_now(void);
/* Notes an allocation failure absorbed by design (fl_alloc_absorbed). */
void fl__alloc_absorbed(void);

static inline bool fl__alloc_fail_next(void)
{
	return atomic_load_explicit(&fl__alloc_armed, memory_order_relaxed) && fl__alloc_fail_now();
}

static inline void *fl__malloc(size_t n) { return fl__alloc_fail_next() ? NULL : malloc(n); }

static inline void *fl__calloc(size_t n, size_t size)
{
	return fl__alloc_fail_next() ? NULL : calloc(n, size);
}

static inline void *fl__realloc(void *p, size_t n)
{
	return fl__alloc_fail_next() ? NULL : realloc(p, n);
}

static inline char *fl__strdup(const char *s) { return fl__alloc_fail_next() ? NULL : strdup(s); }

static inline char *fl__strndup(const char *s, size_t n)
{
	return fl__alloc_fail_next() ? NULL : strndup(s, n);
}

#endif
