/*
 * fiber_stack.c - fiber stacks: one private anonymous mapping per fiber,
 * a guard region below the stack, the fiber record at the top, pooled.
 *
 * Problem: 100,000 parked fibers at the default 256 KiB would be 25 GiB if
 * stacks were committed. They are not: the mapping is MAP_NORESERVE, so a
 * stack costs the pages it has touched (for a fiber parked on a channel,
 * one or two) plus page tables. The fiber record sits at the top of the
 * mapping, on the page the first frames touch anyway, so a fiber costs no
 * separate allocation.
 *
 * Guard: a PROT_NONE-like region below the stack turns an overflow into
 * SIGSEGV instead of silent corruption of the neighbouring mapping. It is
 * GUARD_BYTES, larger than a page, so a frame with a big local array
 * cannot jump over it. mprotect(PROT_NONE) splits the mapping in two, and
 * vm.max_map_count (65530 by default) would then cap the process at about
 * 32,000 fibers; so where the kernel has it (Linux 6.13+) the guard is
 * installed with madvise(MADV_GUARD_INSTALL), which makes the pages fault
 * without creating a mapping, and adjacent stacks merge into one VMA. The
 * first EINVAL switches the process to mprotect for good.
 *
 * Pool: freed stacks go on a LIFO free list (pool.mu, a leaf lock) up to
 * POOL_MAX, beyond that they are unmapped; the scheduler keeps a small
 * per-worker cache in front of this. A pooled stack keeps its touched
 * pages, which is what makes reuse cheap.
 */
#define _GNU_SOURCE /* MAP_NORESERVE, MAP_STACK */
#include "fiber_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sync_internal.h"

#ifdef FL_VALGRIND
#include <valgrind/valgrind.h>
#endif

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102 /* Linux 6.13 uapi; older headers lack it */
#endif

#define GUARD_BYTES (64 * 1024)
#define MIN_STACK (16 * 1024)
#define DEFAULT_STACK (256 * 1024)
#define POOL_MAX 1024

enum { GUARD_UNKNOWN, GUARD_MADVISE, GUARD_MPROTECT };

static struct {
	fl__mutex mu;
	fl__fiber *free;    /* mu: LIFO of pooled fibers (via next) */
	long nfree;         /* mu */
	size_t map_size;    /* set once at init: guard + stack + record */
	size_t stack_size;  /* set once at init: usable bytes */
	_Atomic int guard;  /* GUARD_*: decided by the first install */
	atomic_long mapped; /* live mappings, pooled included */
} pool = {.mu = FL__MUTEX_INITIALIZER};

static size_t page_size(void)
{
	long p = sysconf(_SC_PAGESIZE);
	return p > 0 ? (size_t)p : 4096;
}

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

static size_t record_size(void) { return round_up(sizeof(fl__fiber), 64); }

void fl__fiber_stack_config(size_t stack_size)
{
	size_t page = page_size();
	if (stack_size == 0)
		stack_size = DEFAULT_STACK;
	if (stack_size < MIN_STACK)
		stack_size = MIN_STACK;
	size_t guard = round_up(GUARD_BYTES, page);
	pool.map_size = round_up(guard + stack_size + record_size(), page);
	pool.stack_size = pool.map_size - guard - record_size();
}

size_t fl__fiber_stack_size(void) { return pool.stack_size; }

const char *fl__fiber_guard_kind(void)
{
	return atomic_load(&pool.guard) == GUARD_MPROTECT ? "mprotect" : "madvise";
}

long fl__fiber_stacks_mapped(void) { return atomic_load(&pool.mapped); }

static int guard_install(void *p, size_t n)
{
	if (atomic_load_explicit(&pool.guard, memory_order_relaxed) != GUARD_MPROTECT) {
		if (madvise(p, n, MADV_GUARD_INSTALL) == 0) {
			atomic_store_explicit(&pool.guard, GUARD_MADVISE, memory_order_relaxed);
			return 0;
		}
		if (errno != EINVAL)
			return -1;
		atomic_store_explicit(&pool.guard, GUARD_MPROTECT, memory_order_relaxed);
	}
	return mprotect(p, n, PROT_NONE);
}

static fl__fiber *stack_map(void)
{
	size_t guard = pool.map_size - pool.stack_size - record_size();
	void *map = mmap(NULL, pool.map_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (map == MAP_FAILED)
		return NULL;
	if (guard_install(map, guard) != 0) {
		int e = errno;
		munmap(map, pool.map_size);
		errno = e;
		return NULL;
	}
	fl__fiber *f = (fl__fiber *)((char *)map + pool.map_size - record_size());
	f->map = map;
	f->map_size = pool.map_size;
	f->stack_lo = (char *)map + guard;
	f->stack_size = pool.stack_size;
#ifdef FL_VALGRIND
	f->vg_stack = VALGRIND_STACK_REGISTER(f->stack_lo, (char *)f->stack_lo + f->stack_size);
#else
	f->vg_stack = 0;
#endif
	atomic_fetch_add(&pool.mapped, 1);
	return f;
}

static void stack_unmap(fl__fiber *f)
{
#ifdef FL_VALGRIND
	VALGRIND_STACK_DEREGISTER(f->vg_stack);
#endif
	atomic_fetch_sub(&pool.mapped, 1);
	FL_ASSERT(munmap(f->map, f->map_size) == 0);
}

fl__fiber *fl__fiber_stack_get(void)
{
	fl__mutex_lock(&pool.mu);
	fl__fiber *f = pool.free;
	if (f) {
		pool.free = f->next;
		pool.nfree--;
	}
	fl__mutex_unlock(&pool.mu);
	if (!f && !(f = stack_map()))
		return NULL;
	f->next = NULL;
	f->task = NULL;
	f->tsan = NULL;
	f->asan_fake = NULL;
	f->timer.heap_index = -1;
	atomic_init(&f->state, FIBER_READY);
	return f;
}

void fl__fiber_stack_put(fl__fiber *f)
{
	fl__mutex_lock(&pool.mu);
	bool keep = pool.nfree < POOL_MAX;
	if (keep) {
		f->next = pool.free;
		pool.free = f;
		pool.nfree++;
	}
	fl__mutex_unlock(&pool.mu);
	if (!keep)
		stack_unmap(f);
}
