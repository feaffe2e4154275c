/*
 * annotate_internal.h - happens-before annotations for lock-free code.
 *
 * TSan understands C11 atomics on its own. Helgrind and DRD do not: a
 * reference count dropped with atomic_fetch_sub on one thread and freed on
 * another looks like a race to them. Every such edge is marked with
 * FL_HAPPENS_BEFORE(addr) on the releasing side and FL_HAPPENS_AFTER(addr)
 * on the acquiring side. FL_BENIGN_RACE marks a field whose unsynchronised
 * (but atomic) reads are diagnostics only, such as a task's wait state read
 * by a task dump. The macros compile to nothing unless the build is
 * for valgrind (FL_VALGRIND), where they become client requests.
 */
#ifndef FL_ANNOTATE_INTERNAL_H
#define FL_ANNOTATE_INTERNAL_H

#if defined(FL_VALGRIND)
#include <valgrind/helgrind.h>
#define FL_HAPPENS_BEFORE(addr) ANNOTATE_HAPPENS_BEFORE(addr)
#define FL_HAPPENS_AFTER(addr) ANNOTATE_HAPPENS_AFTER(addr)
#define FL_HAPPENS_FORGET(addr) ANNOTATE_HAPPENS_BEFORE_FORGET_ALL(addr)
#define FL_BENIGN_RACE(addr, why) ANNOTATE_BENIGN_RACE_SIZED((addr), sizeof(*(addr)), why)
#else
#define FL_HAPPENS_BEFORE(addr) ((void)(addr))
#define FL_HAPPENS_AFTER(addr) ((void)(addr))
#define FL_HAPPENS_FORGET(addr) ((void)(addr))
#define FL_BENIGN_RACE(addr, why) ((void)(addr))
#endif

#endif
