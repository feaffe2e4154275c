/*
 * annotate.h - happens-before annotations for the lock-free parts of faults/.
 *
 * The same idea as the runtime's private annotate.h (which faults/ may not
 * include): TSan understands C11 atomics, Helgrind and DRD do not. Each
 * release/acquire edge that frees memory is marked with FL_HAPPENS_BEFORE
 * and FL_HAPPENS_AFTER; each atomic read without a lock whose value is only
 * a hint or a counter (the fast-path state word, a site's cache, statistics
 * counters) is registered with FL_BENIGN_RACE. The macros compile to nothing
 * unless the build is for valgrind (FL_VALGRIND).
 */
#ifndef FL_FAULT_ANNOTATE_H
#define FL_FAULT_ANNOTATE_H

#if defined(FL_VALGRIND)
#include <valgrind/helgrind.h>
#define FL_HAPPENS_BEFORE(addr) ANNOTATE_HAPPENS_BEFORE(addr)
#define FL_HAPPENS_AFTER(addr) ANNOTATE_HAPPENS_AFTER(addr)
#define FL_BENIGN_RACE(addr, why) ANNOTATE_BENIGN_RACE_SIZED((addr), sizeof(*(addr)), why)
#define FL_BENIGN_RACE_SIZED(addr, size, why) ANNOTATE_BENIGN_RACE_SIZED((addr), (size), why)
#else
#define FL_HAPPENS_BEFORE(addr) ((void)(addr))
#define FL_HAPPENS_AFTER(addr) ((void)(addr))
#define FL_BENIGN_RACE(addr, why) ((void)(addr))
#define FL_BENIGN_RACE_SIZED(addr, size, why) ((void)(addr))
#endif

#endif
