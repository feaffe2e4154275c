/*
 * fl/alloc.h - the allocation-failure hook: fail the Nth allocation.
 *
 * Every allocation faultline's libraries make for themselves (runtime,
 * patterns, faults, reports, scenarios; not the memory jemalloc, SQLite,
 * jansson or inih manage on their own) goes through one process-wide
 * countdown. Armed with n, the nth allocation from then on returns NULL,
 * as malloc does when memory runs out, and the countdown is off again:
 * one failure per arming. `faultline sweep --alloc` arms it for n = 1, 2,
 * ... to prove every allocation's failure ends in a clean out-of-memory
 * error (docs/scenarios.md). Off, the check costs one relaxed atomic load
 * per allocation.
 */
#ifndef FL_ALLOC_H
#define FL_ALLOC_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Arms the hook: the nth allocation from now (1: the next one) fails once;
 * 0 turns it off. Re-arming replaces the countdown and resets the counts
 * fl_alloc_count and fl_alloc_failed return. Thread-safe (the countdown
 * is an atomic shared by every thread of the process), never blocks,
 * cannot fail.
 */
void fl_alloc_fail_after(uint64_t n);

/* Allocations counted since the last fl_alloc_fail_after, while armed
 * (the countdown stops counting when it is off). Thread-safe, never blocks. */
uint64_t fl_alloc_count(void);

/* Allocations failed by the hook since the last fl_alloc_fail_after (0 or
 * 1): 0 after a run means its nth allocation never came. Thread-safe,
 * never blocks. */
uint64_t fl_alloc_failed(void);

/* Allocation failures (injected or real) that faultline's libraries
 * absorbed by design instead of returning an error, since the process
 * started: an error created without its context (FL_ERR_NOMEM or the
 * unwrapped cause returned instead, fl/err.h), a fault point evaluated as
 * if no plan matched. fl_scenario_run fails FL_SCENARIO_CHECK_NOMEM when
 * the count moved during a scenario. Thread-safe, never blocks. */
uint64_t fl_alloc_absorbed(void);

#ifdef __cplusplus
}
#endif

#endif
