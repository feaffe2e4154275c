/*
 * fl/leak.h - leak checks for any C test: goleak's VerifyNone for this
 * runtime's objects, the process's OS threads, its open file descriptors
 * and its heap bytes.
 *
 * A test of any framework (cmocka, Unity, Criterion, plain asserts) calls
 * fl_leak_baseline at its start and fl_leak_verify_none at its end:
 *
 *     fl_leak_scope *s;
 *     assert(!fl_leak_baseline("my_test", &s));
 *     ... the test ...
 *     fl_err *leaks = fl_leak_verify_none(s, NULL);
 *     if (leaks) { fl_err_print(stderr, leaks); fl_err_drop(leaks); fail(); }
 *     fl_leak_scope_free(s);
 *
 * Attribution: the scope is current on the calling task (or thread) from
 * fl_leak_baseline until fl_leak_scope_free, and tasks spawned from it
 * inherit it, so the tasks, channels, contexts and groups created while it
 * is current belong to it. Two scopes current on different tasks or
 * threads never blame each other for these. Threads, descriptors and heap
 * bytes are process-wide: compared with the process's state at the
 * baseline, so scopes that run side by side should skip them (opts.skip).
 * Creating an object while no scope exists costs one relaxed atomic load.
 *
 * Thread safety: a scope is used by the task that made it (baseline,
 * verify, free); any task may create objects while it is current.
 */
#ifndef FL_LEAK_H
#define FL_LEAK_H

#include <fl/err.h>

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fl_leak_scope fl_leak_scope;

/* What fl_leak_verify_none compares (bits of fl_leak_opts.skip). */
enum {
	FL_LEAK_OBJECTS = 1 << 0, /* the scope's tasks, channels, contexts, groups */
	FL_LEAK_THREADS = 1 << 1, /* OS threads (/proc/self/task) */
	FL_LEAK_FDS = 1 << 2,     /* open file descriptors (/proc/self/fd) */
	FL_LEAK_HEAP = 1 << 3,    /* heap bytes in use (see fl_leak_heap_bytes) */
};

/*
 * Options of fl_leak_verify_none; the all-zero value means defaults.
 *   settle_ns       how long to retry before failing (goleak's VerifyNone
 *                   retries too): what a test joined may still be
 *                   unwinding. 0: one second; < 0: one look, no retry.
 *                   Measured with fl_now() (virtual time under sim).
 *   heap_tolerance  bytes of heap growth forgiven; 0: 64 KiB.
 *   skip            FL_LEAK_* bits of the checks not to make.
 *   ignore_threads  NULL-terminated thread name prefixes that are not
 *                   leaks (a library's own pool); the runtime's own
 *                   threads (fl-w*, fl-fw*, fl-timers, fl-blocking) never
 *                   count. NULL: none besides.
 */
typedef struct fl_leak_opts {
	int64_t settle_ns;
	int64_t heap_tolerance;
	unsigned skip;
	const char *const *ignore_threads;
} fl_leak_opts;

/*
 * Records the baseline (threads, descriptors, heap bytes) and makes a new
 * scope current on the calling task or thread; name labels it in errors
 * (NULL: "leak scope"). Starts the default scheduler if none runs, so take
 * the baseline after fl_sched_init when a test picks its backend.
 * Errors: FL_ERR_INVAL (NULL out), FL_ERR_NOMEM, errno errors reading
 * /proc/self. *out only on success.
 * Ownership: the caller frees the scope with fl_leak_scope_free.
 * Thread safety: any task or thread. Blocks: no.
 */
FL_MUST_CHECK fl_err *fl_leak_baseline(const char *name, fl_leak_scope **out);

/*
 * Checks that everything the scope's code created is gone, retrying
 * until opts->settle_ns passes (opts may be NULL: defaults). Returns NULL
 * when nothing leaked, else one error listing every leak, one per line:
 *   task 'fetch.3' (group 'fetchers') created by 'main' [chan recv on 'jobs']
 *   chan 'jobs' created by 'main'
 *   ctx created by 'fetch.3'
 *   thread 48213 'worker-2'
 *   fd 7 -> socket:[1234]
 *   heap +393216 B (jemalloc stats.allocated)
 * Errors: FL_ERR_INVAL (NULL s), the leak error above (its text starts
 * "leak scope '<name>':"). Ownership: the caller owns the error.
 * Thread safety: the scope's own task or thread. Blocks: up to settle_ns
 * (sleeping through the runtime, so other tasks run meanwhile).
 */
FL_MUST_CHECK fl_err *fl_leak_verify_none(fl_leak_scope *s, const fl_leak_opts *opts);

/*
 * Ends the scope: it is no longer current (the one current before
 * fl_leak_baseline is again) and frees it. Objects it still tracks keep
 * their records until they are freed. Accepts NULL. Thread safety: the
 * scope's own task or thread.
 */
void fl_leak_scope_free(fl_leak_scope *s);

/*
 * The process's heap bytes in use, or -1 when this build cannot tell.
 * *source (may be NULL) receives where the number comes from:
 * "jemalloc stats.allocated" (jemalloc linked: allocated minus thread-cache
 * and internal bytes), "sanitizer allocated bytes" (ASan, TSan),
 * "glibc mallinfo2" (in-use plus mmapped bytes), or "none" (under
 * valgrind, whose allocator none of these see). Thread safety: any thread.
 */
int64_t fl_leak_heap_bytes(const char **source);

#ifdef __cplusplus
}
#endif
#endif
