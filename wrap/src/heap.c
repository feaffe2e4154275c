/*
 * heap.c - the preload's table of live heap blocks, for the leak check:
 * every block the program allocated after start-up (from its own code or
 * a library of its own, not from inside libc) with its size and the
 * caller's address, until it is freed. What is left at exit leaked.
 *
 * Linear probing in static arrays (no allocation of its own), deletion by
 * backward shift (no tombstones), one spin lock. A program with more live
 * blocks than the table holds makes the check incomplete, not wrong: the
 * overflow is counted and reported.
 */
#include "preload_internal.h"

#include <pthread.h>
#include <stdint.h>

#define CAP (1u << 20) /* slots; a power of two */

static uintptr_t keys[CAP]; /* 0: empty */
static uint64_t sizes[CAP];
static uintptr_t sites[CAP];
static uint64_t live_blocks, live_bytes, overflow;
static char lock;

static void take(void)
{
	while (__atomic_test_and_set(&lock, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
}

static void give(void) { __atomic_clear(&lock, __ATOMIC_RELEASE); }

/* A fork while another thread holds the lock would leave the child's copy
 * locked forever: fork takes it first and both sides let go. */
void fl__wrap_heap_atfork(void) { pthread_atfork(take, give, give); }

static uint32_t slot(uintptr_t p)
{
	uint64_t h = (uint64_t)p * 0x9e3779b97f4a7c15ULL;
	return (uint32_t)(h >> 44) & (CAP - 1);
}

void fl__wrap_heap_add(void *p, size_t size, const void *site)
{
	if (!p)
		return;
	take();
	if (live_blocks >= CAP - CAP / 4) {
		overflow++;
		give();
		return;
	}
	uint32_t i = slot((uintptr_t)p);
	while (keys[i] && keys[i] != (uintptr_t)p)
		i = (i + 1) & (CAP - 1);
	if (!keys[i]) {
		live_blocks++;
		live_bytes += size;
	} else {
		live_bytes += size - sizes[i];
	}
	keys[i] = (uintptr_t)p;
	sizes[i] = size;
	sites[i] = (uintptr_t)site;
	give();
}

void fl__wrap_heap_del(void *p)
{
	if (!p)
		return;
	take();
	uint32_t i = slot((uintptr_t)p);
	while (keys[i] && keys[i] != (uintptr_t)p)
		i = (i + 1) & (CAP - 1);
	if (!keys[i]) {
		give();
		return;
	}
	live_blocks--;
	live_bytes -= sizes[i];
	/* backward shift: move later members of the run into the hole */
	uint32_t hole = i, j = i;
	for (;;) {
		j = (j + 1) & (CAP - 1);
		if (!keys[j])
			break;
		uint32_t home = slot(keys[j]);
		/* j may move to the hole unless its home lies in (hole, j] */
		bool stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
		if (stays)
			continue;
		keys[hole] = keys[j];
		sizes[hole] = sizes[j];
		sites[hole] = sites[j];
		hole = j;
	}
	keys[hole] = 0;
	give();
}

void fl__wrap_heap_summary(uint64_t *blocks, uint64_t *bytes, uint64_t *lost,
			   void (*each)(void *arg, uint64_t size, const void *site), void *arg)
{
	take();
	*blocks = live_blocks;
	*bytes = live_bytes;
	*lost = overflow;
	for (uint32_t i = 0; i < CAP && live_blocks; i++)
		if (keys[i])
			each(arg, sizes[i], (const void *)sites[i]);
	give();
}
