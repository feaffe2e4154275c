/*
 * rng.c - the Go peer's stateless randomness (its rng.go, README
 * "Randomness"), transcribed so both suites make exactly the same draws.
 *
 * Every value is a pure function of (tag, item, index): no state, no seed,
 * nothing shared between threads. Golden values are checked by
 * `fl-bench selftest` (selftest.c). W10's backoff (flb_backoff) lives here
 * too, as a pure function of its draws, so selftest and timers.c share it.
 */
#include "peer_internal.h"

uint64_t flb_mix64(uint64_t x)
{
	uint64_t z = x + 0x9E3779B97F4A7C15u;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
	return z ^ (z >> 31);
}

uint64_t flb_draw(uint64_t tag, uint64_t i, uint64_t j)
{
	return flb_mix64((tag << 48) ^ (i << 8) ^ j);
}

double flb_unit(uint64_t x) { return (double)(x >> 11) / 9007199254740992.0; /* 2^53 */ }

uint64_t flb_xorshift(uint64_t v, int rounds)
{
	uint64_t x = (v * 0x9E3779B97F4A7C15u) | 1;
	for (int i = 0; i < rounds; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	return x;
}

uint64_t flb_fanout_checksum(int64_t n, int rounds)
{
	uint64_t sum = 0;
	for (int64_t v = 0; v < n; v++)
		sum += flb_xorshift((uint64_t)v, rounds);
	return sum;
}

int64_t flb_backoff(int64_t base_ns, int64_t i, int64_t a)
{
	int64_t d = base_ns << a;
	return d + (int64_t)(flb_unit(flb_draw(FLB_TAG_RETRY, (uint64_t)i, (uint64_t)a)) *
			     (double)d / 2);
}
