/*
 * fl_valgrind_internal.h - RUNNING_ON_VALGRIND where valgrind's client
 * header is installed, 0 where it is not: a build without the valgrind
 * package still works, it only cannot tell that it runs under valgrind
 * (then the fibers backend is not swapped for threads automatically; set
 * FAULTLINE_BACKEND=threads). The valgrind presets (FL_VALGRIND) require
 * the header (cmake/FlDeps.cmake).
 */
#ifndef FL_VALGRIND_INTERNAL_H
#define FL_VALGRIND_INTERNAL_H

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define FL_HAVE_VALGRIND_H 1
#endif
#endif

#ifndef FL_HAVE_VALGRIND_H
#define RUNNING_ON_VALGRIND 0
#endif

#endif
