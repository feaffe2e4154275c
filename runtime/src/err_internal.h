/*
 * err_internal.h - white-box hooks into err.c, for tests only.
 *
 * Not installed and not part of the public API. The hook is compiled into
 * every build because it costs one relaxed atomic load per allocation, and
 * that keeps the out-of-memory paths testable in the very binaries that ship.
 */
#ifndef FL_ERR_INTERNAL_H
#define FL_ERR_INTERNAL_H

/*
 * Makes error allocations fail on purpose: the next n_before_fail
 * allocations succeed and every one after them fails, until the hook is
 * set again. A negative value turns the hook off (the default).
 *
 * Thread safety: any thread may call it, but a test that relies on the
 * exact count must not allocate errors on other threads meanwhile.
 */
void fl__err_set_alloc_fail(int n_before_fail);

#endif
