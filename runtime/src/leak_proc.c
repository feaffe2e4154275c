/*
 * leak_proc.c - what the process holds, for leak checks: its OS threads
 * (/proc/self/task, with each one's name), its open descriptors
 * (/proc/self/fd, with what each points to) and its heap bytes in use.
 *
 * The heap number comes from the first source that sees the program's
 * allocator: jemalloc's mallctl (weak, so a program that does not link
 * jemalloc simply has none), the sanitizer allocator's own statistics
 * (weak as well), glibc's mallinfo2 (in-use plus mmapped chunk bytes).
 * Under valgrind none of them sees valgrind's replacement allocator, so
 * there is no number. Nothing here keeps state; every probe allocates only
 * the array it returns.
 */
#define _GNU_SOURCE /* mallinfo2 */
#include <fl/leak.h>

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fl_valgrind_internal.h"
#include "alloc_internal.h"
#include "leak_internal.h"
#include "fl_alloc_internal.h"

size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

#define ARENAS_ALL 4096u /* jemalloc's MALLCTL_ARENAS_ALL */

static size_t jemalloc_stat(const char *name)
{
	size_t v = 0, sz = sizeof(v);
	if (mallctl(name, &v, &sz, NULL, 0) != 0)
		return 0;
	return v;
}

/* stats.allocated minus what is not the program's live data: freed blocks
 * parked in thread caches, and jemalloc's internal allocations (every
 * pooled thread's tcache), refreshed by an "epoch" write. */
static int64_t jemalloc_allocated(void)
{
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch);
	(void)mallctl("thread.tcache.flush", NULL, NULL, NULL, 0);
	if (mallctl("epoch", &epoch, &sz, &epoch, sz) != 0)
		return -1;
	size_t allocated, sza = sizeof(allocated);
	if (mallctl("stats.allocated", &allocated, &sza, NULL, 0) != 0)
		return -1;
	char name[64];
	snprintf(name, sizeof(name), "stats.arenas.%u.tcache_bytes", ARENAS_ALL);
	size_t cached = jemalloc_stat(name);
	if (cached > allocated)
		cached = 0;
	snprintf(name, sizeof(name), "stats.arenas.%u.internal", ARENAS_ALL);
	size_t internal = jemalloc_stat(name);
	if (internal > allocated - cached)
		internal = 0;
	return (int64_t)(allocated - cached - internal);
}

int64_t fl_leak_heap_bytes(const char **source)
{
	const char *src_dummy;
	if (!source)
		source = &src_dummy;
	if (mallctl) {
		*source = "jemalloc stats.allocated";
		return jemalloc_allocated();
	}
	if (__sanitizer_get_current_allocated_bytes) {
		*source = "sanitizer allocated bytes";
		return (int64_t)__sanitizer_get_current_allocated_bytes();
	}
	if (RUNNING_ON_VALGRIND) {
		*source = "none";
		return -1;
	}
	struct mallinfo2 mi = mallinfo2();
	*source = "glibc mallinfo2";
	return (int64_t)(mi.uordblks + mi.hblkhd);
}

/* Grows *arr (of elem bytes each) to hold n + 1; false out of memory. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 1;
	size_t c = *cap ? *cap * 2 : 64;
	void *a = fl__realloc(*arr, c * elem);
	if (!a)
		return 0;
	*arr = a;
	*cap = c;
	return 1;
}

int fl__leak_threads(fl__leak_thread **out, size_t *n)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return errno;
	fl__leak_thread *a = NULL;
	size_t cap = 0, len = 0;
	int rc = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		if (!grow((void **)&a, &cap, len, sizeof(*a))) {
			rc = ENOMEM;
			break;
		}
		fl__leak_thread *t = &a[len++];
		t->tid = strtol(e->d_name, NULL, 10);
		t->name[0] = '\0';
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/task/%ld/comm", t->tid);
		FILE *f = fopen(path, "re");
		if (f) {
			if (fgets(t->name, sizeof(t->name), f))
				t->name[strcspn(t->name, "\n")] = '\0';
			fclose(f);
		}
	}
	closedir(d);
	if (rc) {
		free(a);
		return rc;
	}
	*out = a;
	*n = len;
	return 0;
}

int fl__leak_fds(fl__leak_fd **out, size_t *n)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return errno;
	int self = dirfd(d);
	fl__leak_fd *a = NULL;
	size_t cap = 0, len = 0;
	int rc = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		int fd = (int)strtol(e->d_name, NULL, 10);
		if (fd == self)
			continue;
		if (!grow((void **)&a, &cap, len, sizeof(*a))) {
			rc = ENOMEM;
			break;
		}
		fl__leak_fd *f = &a[len++];
		f->fd = fd;
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ssize_t k = readlink(path, f->target, sizeof(f->target) - 1);
		f->target[k < 0 ? 0 : k] = '\0';
	}
	closedir(d);
	if (rc) {
		free(a);
		return rc;
	}
	*out = a;
	*n = len;
	return 0;
}

int fl__leak_runtime_thread(const char *name)
{
	static const char *const own[] = {"fl-w", "fl-fw", "fl-timers", "fl-blocking"};
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strncmp(name, own[i], strlen(own[i])) == 0)
			return 1;
	return 0;
}
